"""The code generator over the whole pinned Stripe spec: every tool, every schema, every module.

One generation in memory per module (stripe_mcp.codegen.generate.generate_files). Golden files in tests/golden/
pin the ten tools CONTRACT.md names; regenerate them with `UPDATE_GOLDEN=1 python -m pytest
tests/test_codegen_spec.py` and review the diff before committing.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from stripe_mcp.codegen.generate import generate_files, stale_files, write_tree
from tests.support.paths import GENERATED, SPEC

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
PACKAGE = "_codegen_spec_check"

TOOL_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
OPERATIONS_IN_PINNED_SPEC = 468
TOOLS_LIST_BUDGET = 2 * 1024 * 1024
CONTRACT_TOOLS = [
    "get_single_stripe_balance_by_id",
    "list_all_stripe_customers",
    "get_single_stripe_customer_by_id",
    "list_all_stripe_customer_subscriptions",
    "get_single_stripe_payment_intent_by_id",
    "list_all_stripe_charges",
    "get_single_stripe_charge_by_id",
    "list_all_stripe_disputes",
    "create_a_stripe_refund",
    "search_stripe_customers",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not SPEC.is_file(), reason=f"pinned spec not found at {SPEC}"),
]


# Fixtures -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generation():
    return generate_files(SPEC)


@pytest.fixture(scope="module")
def files(generation) -> dict[str, str]:
    return generation.files


@pytest.fixture(scope="module")
def manifest(files) -> dict[str, Any]:
    return json.loads(files["manifest.json"])


@pytest.fixture(scope="module")
def entries(manifest) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in manifest["tools"]}


@pytest.fixture(scope="module")
def schemas(files) -> dict[str, dict[str, Any]]:
    """Tool name -> input schema, as the schema files hold it (without the generated-file `$comment`)."""
    result = {}
    for path, text in files.items():
        if path.startswith("schemas/"):
            schema = json.loads(text)
            schema.pop("$comment", None)
            result[Path(path).stem] = schema
    return result


@pytest.fixture(scope="module")
def modules(files, tmp_path_factory) -> dict[str, types.ModuleType]:
    """Every tool module, imported from the rendered files as a real (temporary) package."""
    root = tmp_path_factory.mktemp("rendered")
    write_tree(files, root / PACKAGE)
    sys.path.insert(0, str(root))
    try:
        yield {
            Path(path).stem: importlib.import_module(f"{PACKAGE}.tools.{Path(path).stem}")
            for path in sorted(files)
            if path.startswith("tools/") and path != "tools/__init__.py"
        }
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            sys.modules.pop(name)


def subschemas(schema: Any, path: str = "#"):
    yield path, schema
    if not isinstance(schema, dict):
        return
    for key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
        for name, sub in (schema.get(key) or {}).items():
            yield from subschemas(sub, f"{path}/{key}/{name}")
    for key in (
        "items",
        "additionalProperties",
        "not",
        "contains",
        "if",
        "then",
        "else",
        "propertyNames",
        "unevaluatedProperties",
    ):
        if key in schema:
            yield from subschemas(schema[key], f"{path}/{key}")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key) or []):
            yield from subschemas(sub, f"{path}/{key}/{i}")


def example(schema: dict[str, Any]) -> Any:
    """A small value that the schema accepts (used for required arguments)."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            for variant in schema[key]:
                value = example(variant)
                if Draft202012Validator(schema).is_valid(value):
                    return value
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "string":
        if schema.get("contentEncoding") == "base64":
            return "aGVsbG8="
        if schema.get("format") == "decimal":
            return "1.5"
        size = max(schema.get("minLength", 1), 1)
        return "x" * min(size, schema.get("maxLength", size))
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return [example(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: example(properties.get(name, {})) for name in schema.get("required", [])}
    if kind == "null":
        return None
    return "x"


def location_of(module: types.ModuleType, argument: str) -> str:
    if argument in module.PATH_ARGUMENTS:
        return "path"
    if argument in module.QUERY_ARGUMENTS:
        return "query"
    if argument in module.BODY_ARGUMENTS:
        return "body"
    return "control"


def summary(module: types.ModuleType, schema: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """What a golden file pins about one tool (arguments in the tool's order, from the manifest)."""
    return {
        "name": entry["name"],
        "kind": entry["kind"],
        "method": module.HTTP_METHOD,
        "path": module.PATH,
        "arguments": [{"name": name, "location": location_of(module, name)} for name in entry["arguments"]],
        "path_arguments": dict(module.PATH_ARGUMENTS),
        "required": schema.get("required", []),
        "pagination": module.PAGINATION,
        "tags": entry["tags"],
        "annotations": entry["annotations"],
    }


# Counts and names -------------------------------------------------------------------------------------


def test_one_tool_per_operation(generation, manifest, schemas, files):
    assert generation.tool_count == OPERATIONS_IN_PINNED_SPEC
    assert len(manifest["tools"]) == OPERATIONS_IN_PINNED_SPEC
    assert len(schemas) == OPERATIONS_IN_PINNED_SPEC
    assert len([p for p in files if p.startswith("tools/") and p != "tools/__init__.py"]) == OPERATIONS_IN_PINNED_SPEC
    assert len({(t["method"], t["path"]) for t in manifest["tools"]}) == OPERATIONS_IN_PINNED_SPEC


def test_names_are_valid_and_unique(manifest):
    names = [t["name"] for t in manifest["tools"]]
    assert len(set(names)) == len(names)
    assert [n for n in names if not TOOL_NAME.match(n)] == []
    assert names == sorted(names)


def test_names_follow_the_contract_patterns(manifest):
    prefixes = {
        "list": "list_all_stripe_",
        "search": "search_stripe_",
        "get": "get_single_stripe_",
        "create": "create_a_stripe_",
        "update": "update_a_stripe_",
        "delete": "delete_a_stripe_",
    }
    for tool in manifest["tools"]:
        if tool["kind"] == "custom":
            assert "_a_stripe_" in tool["name"], tool["name"]
        else:
            assert tool["name"].startswith(prefixes[tool["kind"]]), tool["name"]
        if tool["kind"] in ("list", "search"):
            assert tool["method"] == "GET"


def test_contract_tools_exist(manifest):
    names = {t["name"] for t in manifest["tools"]}
    assert [n for n in CONTRACT_TOOLS if n not in names] == []


# Input schemas ----------------------------------------------------------------------------------------


def test_input_schemas_are_valid_json_schema_2020_12(schemas):
    for name, schema in schemas.items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as error:  # pragma: no cover - the message is what matters
            pytest.fail(f"{name}: {error}")


def test_input_schemas_are_client_safe(schemas):
    problems = []
    for name, schema in schemas.items():
        if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
            problems.append(f"{name}: root is not a closed object")
        for key in ("anyOf", "oneOf", "allOf", "$defs", "definitions"):
            if key in schema:
                problems.append(f"{name}: top-level {key}")
        if "$ref" in json.dumps(schema):
            problems.append(f"{name}: $ref")
        for where, sub in subschemas(schema):
            if where == "#/additionalProperties":
                continue
            if isinstance(sub, bool):
                problems.append(f"{name}: boolean subschema at {where}")
            elif "title" in sub:
                problems.append(f"{name}: title at {where}")
    assert problems == []


def test_every_path_placeholder_is_exactly_one_path_argument(modules, schemas):
    for name, module in modules.items():
        placeholders = re.findall(r"\{([^}]+)\}", module.PATH)
        assert sorted(module.PATH_ARGUMENTS.values()) == sorted(placeholders), name
        assert len(set(module.PATH_ARGUMENTS.values())) == len(placeholders), name
        for argument in module.PATH_ARGUMENTS:
            assert argument == "id" or argument.endswith("_id"), (name, argument)
            assert argument in schemas[name].get("required", []), (name, argument)


def test_arguments_are_placed_exactly_once(modules, schemas):
    for name, module in modules.items():
        placed = list(module.PATH_ARGUMENTS) + list(module.QUERY_ARGUMENTS) + list(module.BODY_ARGUMENTS)
        assert len(placed) == len(set(placed)), name
        properties = set(schemas[name]["properties"])
        assert set(placed) <= properties, name
        control = properties - set(placed)
        assert control <= {"limit", "next_cursor", "idempotency_key"}, (name, control)
        if module.HTTP_METHOD in ("GET", "DELETE"):
            assert module.BODY_ARGUMENTS == (), name


def test_list_and_search_tools_take_limit_and_next_cursor(modules, schemas, entries):
    for name, module in modules.items():
        properties = schemas[name]["properties"]
        if entries[name]["kind"] in ("list", "search"):
            assert module.PAGINATION in ("cursor", "local", "search"), name
            assert {"limit", "next_cursor"} <= set(properties), name
            assert not {"starting_after", "ending_before", "page"} & set(properties), name
        else:
            assert module.PAGINATION is None, name
            assert "next_cursor" not in properties, name
        if module.HTTP_METHOD == "POST":
            assert "idempotency_key" in properties, name


def test_expand_is_an_enum_of_paths(schemas, entries):
    for name, schema in schemas.items():
        expand = schema["properties"].get("expand")
        if expand is None:
            continue
        assert expand["type"] == "array", name
        values = expand["items"]["enum"]
        assert values and len(values) == len(set(values)), name
        if entries[name]["kind"] in ("list", "search"):
            assert all(v.startswith("data.") for v in values), name


def test_annotations(manifest):
    for tool in manifest["tools"]:
        a = tool["annotations"]
        assert a["readOnlyHint"] is (tool["method"] == "GET"), tool["name"]
        assert a["openWorldHint"] is True
        if tool["kind"] == "delete":
            assert a["destructiveHint"] and a["idempotentHint"], tool["name"]
        if tool["method"] == "GET":
            assert a["idempotentHint"] and not a["destructiveHint"], tool["name"]
        if tool["kind"] == "update":
            assert a["idempotentHint"] and not a["destructiveHint"], tool["name"]


def test_descriptions_are_plain_and_within_budget(manifest):
    for tool in manifest["tools"]:
        text = tool["description"]
        assert 0 < len(text) <= 1024, tool["name"]
        assert not re.search(r"<[a-zA-Z/][^>]*>", text), tool["name"]
        assert "Stripe" in text.split(". ")[0], tool["name"]


def test_tools_list_fits_the_budget(manifest, schemas):
    size = sum(
        len(
            json.dumps(
                {
                    "name": t["name"],
                    "description": t["description"],
                    "inputSchema": schemas[t["name"]],
                    "annotations": t["annotations"],
                },
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode("utf-8")
        )
        for t in manifest["tools"]
    )
    assert size <= TOOLS_LIST_BUDGET, f"tools/list is {size} bytes"


# Modules ----------------------------------------------------------------------------------------------


def test_modules_hold_the_request_facts_and_the_manifest_the_listing_facts(modules, manifest, schemas):
    request = {"HTTP_METHOD", "PATH", "SERVER_URL", "PATH_ARGUMENTS", "QUERY_ARGUMENTS", "BODY_ARGUMENTS"}
    request |= {"BODY_ENCODING", "PAGINATION"}
    for tool in manifest["tools"]:
        module = modules[tool["name"]]
        constants = {name for name in vars(module) if name.isupper()}
        assert constants == request, tool["name"]  # NAME, TITLE, DESCRIPTION, TAGS... live in the manifest only
        assert (module.HTTP_METHOD, module.PATH) == (tool["method"], tool["path"])
        assert sorted(tool["arguments"]) == sorted(schemas[tool["name"]]["properties"])


def test_every_arguments_model_accepts_minimal_valid_arguments(modules, schemas):
    failures = []
    for name, module in modules.items():
        schema = schemas[name]
        minimal = example(schema)
        if not Draft202012Validator(schema).is_valid(minimal):
            failures.append(f"{name}: test could not build valid arguments: {minimal}")
            continue
        try:
            module.Arguments.model_validate(minimal)
        except Exception as error:
            failures.append(f"{name}: {minimal} rejected: {str(error)[:200]}")
    assert failures == []


def test_every_arguments_model_forbids_unknown_and_missing_arguments(modules, schemas):
    failures = []
    for name, module in modules.items():
        minimal = example(schemas[name])
        try:
            module.Arguments.model_validate({**minimal, "not_an_argument": 1})
            failures.append(f"{name}: accepted an unknown argument")
        except Exception:
            pass
        if schemas[name].get("required"):
            try:
                module.Arguments.model_validate({})
                failures.append(f"{name}: accepted no arguments although some are required")
            except Exception:
                pass
    assert failures == []


# Stability --------------------------------------------------------------------------------------------


def test_rendering_twice_is_byte_identical(files):
    assert generate_files(SPEC).files == files


def test_output_equals_the_committed_generated_folder(files):
    assert stale_files(files, GENERATED) == []


def test_generated_files_are_marked(files):
    for path, text in files.items():
        assert "Do not edit: run `stripe-mcp generate`." in text.splitlines()[0], path
        assert text.endswith("\n"), path


# Golden files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONTRACT_TOOLS)
def test_golden(name, modules, schemas, entries):
    actual = summary(modules[name], schemas[name], entries[name])
    golden = GOLDEN / f"{name}.json"
    if UPDATE_GOLDEN:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(json.dumps(actual, indent=2) + "\n", encoding="utf-8")
    assert golden.is_file(), f"missing {golden}: run with UPDATE_GOLDEN=1"
    assert actual == json.loads(golden.read_text(encoding="utf-8"))


def names_at(summary_: dict[str, Any], location: str) -> list[str]:
    return [a["name"] for a in summary_["arguments"] if a["location"] == location]


def test_contract_semantics_of_the_golden_tools(modules, schemas, entries):
    """What CONTRACT.md says about these tools, independent of the golden bytes."""
    s = {name: summary(modules[name], schemas[name], entries[name]) for name in CONTRACT_TOOLS}
    read_only = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": True}

    balance = s["get_single_stripe_balance_by_id"]
    assert (balance["method"], balance["path"], balance["kind"]) == ("GET", "/v1/balance", "get")
    assert names_at(balance, "path") == [] and "id" not in [a["name"] for a in balance["arguments"]]

    for name in (
        "get_single_stripe_customer_by_id",
        "get_single_stripe_payment_intent_by_id",
        "get_single_stripe_charge_by_id",
    ):
        assert s[name]["kind"] == "get" and names_at(s[name], "path") == ["id"] and s[name]["required"] == ["id"], name

    subscriptions = s["list_all_stripe_customer_subscriptions"]
    assert subscriptions["path"] == "/v1/customers/{customer}/subscriptions"
    assert subscriptions["path_arguments"] == {"customer_id": "customer"}
    assert subscriptions["required"] == ["customer_id"]

    for name in (
        "list_all_stripe_customers",
        "list_all_stripe_charges",
        "list_all_stripe_disputes",
        "list_all_stripe_customer_subscriptions",
    ):
        names = [a["name"] for a in s[name]["arguments"]]
        assert s[name]["pagination"] == "cursor", name
        assert {"limit", "next_cursor", "expand"} <= set(names), name
        assert names_at(s[name], "control") == ["next_cursor"], name

    search = s["search_stripe_customers"]
    assert search["kind"] == "search" and search["pagination"] == "search"
    assert {"query", "limit", "next_cursor"} <= {a["name"] for a in search["arguments"]}
    assert search["required"] == ["query"]

    for name, summary_ in s.items():
        if summary_["method"] == "GET":
            assert {k: summary_["annotations"][k] for k in read_only} == read_only, name

    refund = s["create_a_stripe_refund"]
    assert (refund["method"], refund["path"], refund["kind"]) == ("POST", "/v1/refunds", "create")
    assert {"charge", "payment_intent", "amount", "metadata"} <= set(names_at(refund, "body"))
    assert names_at(refund, "control") == ["idempotency_key"]
    assert refund["annotations"]["destructiveHint"] is True
    assert refund["annotations"]["readOnlyHint"] is False
    assert refund["annotations"]["idempotentHint"] is False

    assert s["list_all_stripe_disputes"]["tags"] == ["disputes", "support", "finance", "dispute"]
    assert s["list_all_stripe_customer_subscriptions"]["tags"] == ["billing", "customers", "support", "subscription"]
    assert s["list_all_stripe_customers"]["tags"] == ["customers", "support", "customer"]


# Known wrong hints ------------------------------------------------------------------------------------


def test_own_id_hints_name_the_list_of_the_same_collection(modules, schemas, entries):
    list_tools = {module.PATH: name for name, module in modules.items() if entries[name]["kind"] == "list"}
    wrong = []
    for name, module in modules.items():
        for argument, placeholder in module.PATH_ARGUMENTS.items():
            if argument != "id":
                continue
            collection = module.PATH[: module.PATH.index("{" + placeholder + "}")].rstrip("/")
            expected = list_tools.get(collection)
            description = schemas[name]["properties"]["id"]["description"]
            hinted = re.search(r"Find one with (\w+)\.", description)
            if not (expected and hinted) or hinted.group(1) == expected:
                continue
            # Another list of the same kind of object (GET /v1/refunds for a charge's refund) is fine.
            if entries[hinted.group(1)]["tags"][-1:] != entries[expected]["tags"][-1:]:
                wrong.append(f"{name}: hints {hinted.group(1)}, the list at {collection} is {expected}")
    assert wrong == []


def test_no_served_schema_carries_the_generated_file_mark():
    """Each schema file opens with a `$comment` saying it is generated; clients never get it."""
    from stripe_mcp.tools.registry import Registry

    registry = Registry()
    names = sorted(registry.tools)
    assert all(registry.schema_text(n).startswith('{"additionalProperties"') for n in names)
    assert b"$comment" not in registry.tools_json(names)
    assert json.loads((GENERATED / "schemas" / f"{names[0]}.json").read_text())["$comment"].startswith("Generated")


def test_no_generated_line_is_wider_than_the_formatter_allows_but_for_a_lone_literal(files):
    """ruff wraps everything it can at LINE_LENGTH; what is left wider is one string literal it cannot split."""
    import io
    import tokenize

    from stripe_mcp.codegen.formatting import LINE_LENGTH

    wide = []
    for path, text in files.items():
        if not path.endswith(".py"):
            continue
        strings = {
            t.start[0]: t
            for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type == tokenize.STRING and t.start[0] == t.end[0]
        }
        for number, line in enumerate(text.splitlines(), 1):
            if len(line) <= LINE_LENGTH:
                continue
            literal = strings.get(number)
            if literal is None or len(line) - len(literal.string) > LINE_LENGTH:
                wide.append(f"{path}:{number}: {line[:80]}")
    assert wide == []
