"""Every generated tool, end to end against Stripe's own OpenAPI spec.

For each of the registry's tools, arguments are synthesized from the tool's generated JSON
input schema (a minimal variant with required properties only, and a richer one), validated
with the tool module's pydantic `Arguments` model and dumped exactly as runtime/server.py
does, turned into an HTTP request by stripe_mcp.stripe_api.request.build_request, and the request is then
decoded again (path, bracket-encoded query string and form body, multipart parts) and checked
against the operation's parameters in the spec, which only this test reads.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
from email import policy
from email.parser import BytesParser
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema
import pytest
import yaml

from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.stripe_api.pagination import encode_offset_cursor
from stripe_mcp.stripe_api.request import SPECIAL_ARGUMENTS, OutgoingRequest, build_request
from stripe_mcp.tools.registry import Registry
from tests.support.paths import SPEC

# Every tool of the pinned spec, twice: the slow lane.
pytestmark = pytest.mark.integration

SPEC_PATH = SPEC
BASE_URL = "https://api.stripe.com"
FORM = "application/x-www-form-urlencoded"
FILE_CONTENT = b"%PDF-1.4\n% every-tool test upload\n"
METADATA = {"order_id": "6735"}
VARIANTS = ("minimal", "rich")

REGISTRY = Registry()
TOOL_NAMES = sorted(REGISTRY.tools)

# (tool, variant) -> why it fails: real bugs in the runtime or the generated code, which this
# test must not paper over. Every entry is strict: a fix turns it into a failure to clean up.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

# Prefixes of real Stripe ids, for path arguments ("cus_123"); anything else gets "<name>_123".
ID_PREFIXES = {
    "account": "acct",
    "application_fee": "fee",
    "authorization": "iauth",
    "balance_transaction": "txn",
    "card": "card",
    "cardholder": "ich",
    "charge": "ch",
    "checkout_session": "cs",
    "coupon": "co",
    "credit_note": "cn",
    "customer": "cus",
    "dispute": "dp",
    "event": "evt",
    "file": "file",
    "invoice": "in",
    "invoiceitem": "ii",
    "mandate": "mandate",
    "payment_intent": "pi",
    "payment_link": "plink",
    "payment_method": "pm",
    "payout": "po",
    "plan": "plan",
    "price": "price",
    "product": "prod",
    "promotion_code": "promo",
    "quote": "qt",
    "refund": "re",
    "review": "prv",
    "session": "cs",
    "setup_intent": "seti",
    "source": "src",
    "subscription": "sub",
    "subscription_exposed_id": "sub",
    "subscription_item": "si",
    "subscription_schedule": "sub_sched",
    "tax_rate": "txr",
    "test_clock": "clock",
    "token": "tok",
    "topup": "tu",
    "transfer": "tr",
    "webhook_endpoint": "we",
}


# --- the spec (read by this test only) -------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=yaml.CSafeLoader)


def openapi_to_jsonschema(schema: Any) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema: `nullable` becomes a null branch, `x-*` goes."""
    if isinstance(schema, list):
        return [openapi_to_jsonschema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: openapi_to_jsonschema(sub) for name, sub in value.items()}
        elif key in ("enum", "required", "description", "title", "default", "example"):
            out[key] = value
        else:
            out[key] = openapi_to_jsonschema(value)
    if schema.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


_converted: dict[int, tuple[Any, Any]] = {}


def converted(schema: dict[str, Any]) -> dict[str, Any]:
    key = id(schema)
    if key not in _converted:
        _converted[key] = (schema, openapi_to_jsonschema(schema))  # keeps `schema` alive
    return _converted[key][1]


@cache
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft7Validator(json.loads(schema_json))


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    return _validator(json.dumps(schema, sort_keys=True))


def coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Form strings back to the JSON types the (JSON Schema) `schema` asks for."""
    if "anyOf" in schema:
        for branch in schema["anyOf"]:
            candidate = coerce(value, branch)
            if validator(branch).is_valid(candidate):
                return candidate
        return value
    kind = schema.get("type")
    if isinstance(value, str):
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            return int(value)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", value):
            return float(value)
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
        return value
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else {}
        return {key: coerce(item, properties.get(key, extra)) for key, item in value.items()}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [coerce(item, items) for item in value]
    return value


def spec_errors(value: Any, openapi_schema: dict[str, Any], where: str) -> list[str]:
    schema = converted(openapi_schema)
    candidate = coerce(value, schema)
    return [
        f"{where}{''.join(f'[{part}]' for part in error.absolute_path)}: {error.message} (sent {candidate!r})"
        for error in validator(schema).iter_errors(candidate)
    ]


# --- argument synthesis from the generated input schema --------------------------------


class Synthesizer:
    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def string(self, schema: dict[str, Any]) -> str:
        if schema.get("enum"):
            return schema["enum"][0]
        if schema.get("contentEncoding") == "base64":
            return base64.b64encode(FILE_CONTENT).decode("ascii")
        if schema.get("format") == "decimal":
            return "1.5"
        text = f"x_test_{next(self.counter)}"
        if "maxLength" in schema:
            text = text[: schema["maxLength"]]
        return text.ljust(schema.get("minLength", 0), "x")

    def value(self, schema: dict[str, Any]) -> Any:
        if "anyOf" in schema:
            branches = [b for b in schema["anyOf"] if b.get("enum") != [""]]
            return self.value(branches[0] if branches else schema["anyOf"][0])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next(k for k in kind if k != "null")
        if kind == "string":
            return self.string(schema)
        if kind == "integer":
            if schema.get("format") == "unix-time":
                number = 1_700_000_000
            else:
                number = max(1, schema.get("minimum", 1))
            return min(number, schema.get("maximum", number))
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        if kind == "array":
            return [self.value(schema.get("items", {"type": "string"}))]
        if kind == "object" or "properties" in schema:
            return self.object(schema)
        raise AssertionError(f"cannot synthesize a value for {schema!r}")

    def object(self, schema: dict[str, Any]) -> dict[str, Any]:
        properties = schema.get("properties", {})
        result = {name: self.value(properties[name]) for name in schema.get("required", [])}
        if not result:
            # A required object that would encode to nothing is not sent at all: give it
            # one member so that it reaches the wire.
            if properties:
                name = next(iter(properties))
                result[name] = self.value(properties[name])
            elif isinstance(schema.get("additionalProperties"), dict):
                result["key_1"] = self.value(schema["additionalProperties"])
        return result


def path_id(placeholder: str, rich: bool) -> str:
    text = f"{ID_PREFIXES.get(placeholder, placeholder)}_123"
    # The rich variant also checks percent-encoding: a space, a percent sign and non-ASCII.
    return text + " %é" if rich else text


def is_simple(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return (kind == "string" and bool(schema.get("enum"))) or kind in ("integer", "boolean")


def synthesize(module: ModuleType, schema: dict[str, Any], variant: str) -> dict[str, Any]:
    rich = variant == "rich"
    synth = Synthesizer()
    properties = schema["properties"]
    arguments: dict[str, Any] = {}
    for name in schema.get("required", []):
        if name in module.PATH_ARGUMENTS:
            arguments[name] = path_id(module.PATH_ARGUMENTS[name], rich)
        else:
            arguments[name] = synth.value(properties[name])
    if not rich:
        return arguments
    for name, sub in properties.items():
        if name in arguments or name in SPECIAL_ARGUMENTS:
            continue
        if name in module.PATH_ARGUMENTS:
            arguments[name] = path_id(module.PATH_ARGUMENTS[name], rich)
        elif name == "expand" and sub.get("items", {}).get("enum"):
            arguments[name] = [sub["items"]["enum"][0]]
        elif name == "metadata":
            arguments[name] = dict(METADATA)
        elif is_simple(sub):
            arguments[name] = synth.value(sub)
    if "idempotency_key" in properties:
        arguments["idempotency_key"] = "every-tool-test-1"
    if "next_cursor" in properties:
        arguments["next_cursor"] = encode_offset_cursor(10) if module.PAGINATION == "local" else "obj_cursor_1"
    return arguments


# --- decoding the request ----------------------------------------------------------------

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket encoding (`a[b][0][c]=v`) back to nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        tokens = [head, *_BRACKETS.findall(key[len(head) :])]
        assert head and head + "".join(f"[{t}]" for t in tokens[1:]) == key, f"malformed key {key!r}"
        node = root
        for token in tokens[:-1]:
            node = node.setdefault(token, {})
            assert isinstance(node, dict), f"{key!r} nests inside a scalar"
        assert tokens[-1] not in node, f"{key!r} sent twice or clashes with a nested key"
        node[tokens[-1]] = value
    return {key: _listify(value) for key, value in root.items()}


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    value = {key: _listify(item) for key, item in value.items()}
    if value and all(key.isdigit() for key in value):
        indexes = sorted(int(key) for key in value)
        assert indexes == list(range(len(value))), f"array indexes not 0..n-1: {sorted(value)}"
        assert list(value) == [str(i) for i in indexes], f"array items out of order: {list(value)}"
        return [value[str(i)] for i in indexes]
    return value


def parse_form(text: str) -> list[tuple[str, str]]:
    if not text:
        return []
    return parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")


def parse_multipart(body: bytes, content_type: str) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("ascii") + b"\r\n\r\n" + body
    )
    assert message.is_multipart(), "multipart body does not parse"
    fields: list[tuple[str, str]] = []
    files: list[dict[str, Any]] = []
    for part in message.iter_parts():
        assert part.get_content_disposition() == "form-data"
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        if filename is None:
            fields.append((name, payload.decode("utf-8")))
        else:
            files.append({"name": name, "filename": filename, "type": part.get_content_type(), "content": payload})
    return fields, files


def wire_form(value: Any) -> Any:
    """What decode_pairs gives back for a dumped argument value: every scalar as its form text."""
    if isinstance(value, dict):
        out = {key: wire_form(item) for key, item in value.items() if item is not None}
        return {key: item for key, item in out.items() if item not in ({}, [])}
    if isinstance(value, list):
        out = [wire_form(item) for item in value if item is not None]
        return [item for item in out if item not in ({}, [])]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^{}]+)\}", template)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(pattern)


# --- the test -------------------------------------------------------------------------------


def _cases() -> list[Any]:
    cases = []
    for name in TOOL_NAMES:
        for variant in VARIANTS:
            marks = []
            if (name, variant) in KNOWN_BUGS:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(name, variant)]))
            cases.append(pytest.param(name, variant, marks=marks, id=f"{name}-{variant}"))
    return cases


def prepare(name: str, variant: str) -> tuple[ModuleType, dict[str, Any], dict[str, Any], OutgoingRequest]:
    module = REGISTRY.module(name)
    schema = REGISTRY.input_schema(name)
    arguments = synthesize(module, schema, variant)
    # The arguments are valid by the generated JSON schema (what MCP clients see) ...
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(arguments)]
    assert not errors, f"synthesized arguments fail the generated input schema: {errors}"
    # ... and by the Arguments model, then dumped exactly as the server does.
    validated = module.Arguments.model_validate(copy.deepcopy(arguments))
    values = validated.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return module, arguments, values, build_request(module, values, base_url=BASE_URL)


@pytest.mark.parametrize(("name", "variant"), _cases())
def test_tool_request_matches_the_spec(spec: dict[str, Any], name: str, variant: str) -> None:
    entry = REGISTRY.tools[name]
    module, arguments, values, request = prepare(name, variant)
    problems: list[str] = []

    # Method and path template: the module's, the manifest's and the spec's agree.
    assert module.HTTP_METHOD == entry.method and module.PATH == entry.path
    assert module.PATH in spec["paths"], f"{module.PATH} is not a path of the spec"
    operation = spec["paths"][module.PATH].get(module.HTTP_METHOD.lower())
    assert operation is not None, f"the spec has no {module.HTTP_METHOD} {module.PATH}"
    docstring = Path(module.__file__).read_text(encoding="utf-8").split("\n")[1]
    declared_id = re.match(r'"""(\w+): ', docstring)
    assert declared_id and declared_id.group(1) == operation["operationId"], docstring
    assert request.method == module.HTTP_METHOD.upper()
    # The host: the operation's own `servers` (files.stripe.com for uploads), else the spec's.
    servers = operation.get("servers") or spec["paths"][module.PATH].get("servers") or spec["servers"]
    assert Upstream().base_url_for(module) == servers[0]["url"].rstrip("/")

    parameters = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
    query_params = {n: p for (where, n), p in parameters.items() if where == "query"}
    body_schema: dict[str, Any] = {"type": "object", "properties": {}}
    body_content_types = list(operation.get("requestBody", {}).get("content", {}))
    if body_content_types:
        body_schema = operation["requestBody"]["content"][body_content_types[0]]["schema"]
    body_props = body_schema.get("properties", {})

    # Path: every placeholder filled, percent-decoded back to the argument given.
    split = urlsplit(request.url)
    assert f"{split.scheme}://{split.netloc}" == BASE_URL
    match = template_regex(module.PATH).fullmatch(split.path)
    assert match, f"{split.path} does not match the spec template {module.PATH}"
    placeholders = set(re.findall(r"\{([^{}]+)\}", module.PATH))
    assert placeholders == {n for (where, n) in parameters if where == "path"}
    assert placeholders == set(module.PATH_ARGUMENTS.values())
    for argument, placeholder in module.PATH_ARGUMENTS.items():
        sent = unquote(match.group(placeholder), errors="strict")
        if sent != str(values[argument]):
            problems.append(f"path {{{placeholder}}} = {sent!r}, expected {values[argument]!r}")
        problems += spec_errors(sent, parameters[("path", placeholder)]["schema"], f"path {{{placeholder}}}")

    # Query string, read back from the URL itself.
    query_pairs = parse_form(split.query)
    assert query_pairs == request.query
    query = decode_pairs(query_pairs)

    # Body.
    files: list[dict[str, Any]] = []
    body_pairs: list[tuple[str, str]] = []
    body: dict[str, Any] = {}
    if module.HTTP_METHOD.upper() == "POST":
        assert request.body is not None
        if module.PATH == "/v1/files":
            assert body_content_types == ["multipart/form-data"]
            assert request.content_type and request.content_type.startswith("multipart/form-data; boundary=")
            body_pairs, files = parse_multipart(request.body, request.content_type)
            body = decode_pairs(body_pairs)
        else:
            assert request.content_type == FORM
            assert body_content_types == [FORM]
            body_pairs = parse_form(request.body.decode("ascii"))
            body = decode_pairs(body_pairs)
    else:
        assert request.body is None and request.content_type is None

    # Keys: declared by the spec; pagination controls never on the wire.
    for key in query:
        if key in SPECIAL_ARGUMENTS:
            problems.append(f"pagination control {key!r} sent in the query")
        elif key in query_params:
            problems += spec_errors(query[key], query_params[key]["schema"], f"query {key}")
        elif module.HTTP_METHOD.upper() == "DELETE" and key in body_props:
            problems += spec_errors(query[key], body_props[key], f"query {key}")
        else:
            problems.append(f"query key {key!r} is not a declared query parameter")
    for key in body:
        if key in SPECIAL_ARGUMENTS:
            problems.append(f"pagination control {key!r} sent in the body")
        elif key in body_props:
            problems += spec_errors(body[key], body_props[key], f"body {key}")
        else:
            problems.append(f"body key {key!r} is not a declared requestBody property")
    for part in files:
        if part["name"] not in body_props or body_props[part["name"]].get("format") != "binary":
            problems.append(f"file part {part['name']!r} is not a binary requestBody property")
        if part["content"] != FILE_CONTENT or (part["filename"], part["type"]) != ("upload.pdf", "application/pdf"):
            problems.append(f"file part {part['name']!r} does not carry the uploaded PDF: {part!r:.200}")
    file_names = {part["name"] for part in files}

    # Required parameters are present.
    for name_, parameter in query_params.items():
        if parameter.get("required") and name_ not in query:
            problems.append(f"required query parameter {name_!r} missing")
    if module.HTTP_METHOD.upper() == "POST":
        for name_ in body_schema.get("required", []):
            if name_ not in body and name_ not in file_names:
                problems.append(f"required body property {name_!r} missing")

    # Everything given reaches the wire unchanged, in the place the spec declares.
    wire = {**query, **body}
    for key, value in values.items():
        if key in module.PATH_ARGUMENTS or key in SPECIAL_ARGUMENTS:
            continue
        if key == "limit" and module.PAGINATION == "local":
            if key in query:
                problems.append("limit of a locally paginated tool sent to Stripe")
            continue
        if key in file_names:
            continue
        expected = wire_form(value)
        if expected in ({}, []):
            continue
        if key not in wire:
            problems.append(f"argument {key!r} = {value!r} not sent")
        elif wire[key] != expected:
            problems.append(f"argument {key!r}: sent {wire[key]!r}, expected {expected!r}")
        elif module.HTTP_METHOD.upper() == "POST" and key in query:
            problems.append(f"argument {key!r} of a POST sent in the query, not the body")
    if "limit" in values and module.PAGINATION in ("cursor", "search"):
        if query.get("limit") != str(values["limit"]):
            problems.append(f"limit {values['limit']!r} not in the query of a {entry.kind} tool")
    cursor = values.get("next_cursor")
    if cursor and module.PAGINATION == "cursor" and query.get("starting_after") != cursor:
        problems.append("next_cursor did not become starting_after")
    if cursor and module.PAGINATION == "search" and query.get("page") != cursor:
        problems.append("next_cursor did not become page")

    # Encodings of the raw pairs, where this tool has such fields.
    pairs = dict(query_pairs + body_pairs)
    for key, value in values.items():
        if isinstance(value, bool) and key not in SPECIAL_ARGUMENTS and key in wire:
            if pairs.get(key) != ("true" if value else "false"):
                problems.append(f"boolean {key!r} encoded as {pairs.get(key)!r}")
    if isinstance(values.get("metadata"), dict) and values["metadata"]:
        for meta_key, meta_value in values["metadata"].items():
            if pairs.get(f"metadata[{meta_key}]") != meta_value:
                problems.append(f"metadata not encoded as metadata[{meta_key}]")
    for key, value in values.items():
        if isinstance(value, list) and value and isinstance(value[0], str) and key in wire:
            if pairs.get(f"{key}[0]") != value[0]:
                problems.append(f"array {key!r} not encoded as {key}[0]")

    assert not problems, f"{name} ({variant}) arguments {arguments!r}:\n  " + "\n  ".join(problems)


# --- coverage of the encoding checks above -------------------------------------------------


def test_encoding_checks_have_real_fields() -> None:
    """The boolean, metadata and array checks above run on real generated fields."""
    counts = {"boolean": 0, "metadata": 0, "array": 0, "multipart": 0, "delete_query_body": 0}
    for name in TOOL_NAMES:
        schema = REGISTRY.input_schema(name)
        properties = schema["properties"]
        module = REGISTRY.module(name)
        counts["boolean"] += any(p.get("type") == "boolean" for p in properties.values())
        counts["metadata"] += "metadata" in properties
        counts["array"] += any(p.get("type") == "array" for p in properties.values())
        counts["multipart"] += module.BODY_ENCODING == "multipart"
        counts["delete_query_body"] += module.HTTP_METHOD == "DELETE" and bool(module.QUERY_ARGUMENTS)
    assert counts["boolean"] > 50 and counts["metadata"] > 50 and counts["array"] > 300, counts
    assert counts["multipart"] == 1 and counts["delete_query_body"] >= 1, counts
    assert len(TOOL_NAMES) == 468


def test_decoder_round_trip() -> None:
    """The test's own bracket decoder, on what the runtime encodes."""
    from stripe_mcp.stripe_api.encoding import encode_params

    params = {"a": {"b": [{"c": "v", "d": True}, {"c": "w"}]}, "expand": ["x", "y"], "metadata": METADATA, "n": 1}
    assert decode_pairs(encode_params(params)) == wire_form(params)
    assert dict(encode_params({"flag": False, "metadata": METADATA, "expand": ["customer"]})) == {
        "flag": "false",
        "metadata[order_id]": "6735",
        "expand[0]": "customer",
    }
