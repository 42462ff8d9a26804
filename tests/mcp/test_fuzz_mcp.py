"""Property tests of the MCP endpoint of a real `stripe-mcp serve` process, with bad input of every kind.

Two families, both against one all-tools server provisioned through the admin API, with a catch-all fake
Stripe (tests/fakes.py's FakeStripe, answering 200 to everything) on its own loop in a thread:

* the endpoint: malformed JSON, wrong JSON-RPC shapes and types, batches, huge and deeply nested bodies,
  invalid UTF-8, wrong content types and headers, wrong HTTP methods, the legacy SSE message endpoint;
* tool arguments: a valid value generated from each tool's JSON schema (generated/schemas), then broken
  (wrong types, extra keys, too-long strings, huge ints, nested junk, bad ids, lone surrogates, nulls).

Every answer must be a 4xx, a JSON-RPC error or a tool result (success or isError): never a 5xx, a hang
(each request has a 15 s timeout), a traceback in a body, or an internal error (-32603). Afterwards the
server still answers tools/list with every tool, and its log holds no traceback.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import Response

from tests.support.fakes import FakeStripe
from tests.support.paths import GENERATED
from tests.support.runtime_process import RunningServer, managed_env, serve

pytestmark = pytest.mark.integration  # a spawned `stripe-mcp serve`, driven over sockets

SCHEMAS = GENERATED / "schemas"
ADMIN_TOKEN = "admin-token-fuzz-mcp-8c1d"
API_KEY = "sk_test_fuzz_mcp_secret_13579"
LEGACY = "2025-06-18"
MODERN = "2026-07-28"
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
REQUEST_TIMEOUT = 15.0
ENDPOINT_EXAMPLES = 1500
ARGUMENT_EXAMPLES = 1500
MODERN_EXAMPLES = 300
TOOL_NAMES = sorted(path.stem for path in SCHEMAS.glob("*.json"))
CASES: Counter[str] = Counter()  # what was sent, by family (printed at the end)

FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


# --------------------------------------------------------------------------- the process under test


class AnythingStripe(FakeStripe):
    """Answers every request at once: a list for a GET of a collection, an object otherwise."""

    calls = 0

    async def _handle(self, request: Request) -> Response:
        await request.body()
        AnythingStripe.calls += 1
        last = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if request.method == "GET" and not any(char.isdigit() for char in last):
            body = {
                "object": "list",
                "data": [{"id": "obj_1", "object": "thing"}],
                "has_more": True,
                "next_page": "page_2",
            }
        else:
            body = {"id": "obj_1", "object": "thing", "metadata": {}, "nested": {"a": [1, None, {}]}}
        return Response(json.dumps(body), 200, {"request-id": "req_fuzz"}, "application/json")


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-fake-stripe", daemon=True)
    thread.start()
    fake = AnythingStripe()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake.base_url
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, upstream_url: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("fuzz-mcp")
    env = managed_env(ADMIN_TOKEN)
    args = (
        "--store",
        f"sqlite:///{workdir / 'store.sqlite3'}",
        "--stripe-base-url",
        upstream_url,
        "--server-budget",
        "1000000/1",
        "--account-budget",
        "1000000/1",
        "--upstream-timeout",
        "5",
    )
    with serve(workdir, *args, env=env) as server:
        yield server
        print(f"\nMCP fuzz cases sent: {dict(CASES)}; requests that reached the fake Stripe: {AnythingStripe.calls}")
    assert "Traceback" not in server.printed, server.printed[-3000:]
    assert '"level": "error"' not in server.printed, server.printed[-3000:]  # e.g. "MCP method ... failed"


@pytest.fixture(scope="module")
def url(running: RunningServer) -> str:
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    account = httpx.post(
        f"{running.base_url}/integrated-account",
        headers=admin,
        timeout=10,
        json={"name": "fuzz", "stripe_api_key": API_KEY},
    )
    assert account.status_code == 201, account.text
    created = httpx.post(
        f"{running.base_url}/integrated-account/{account.json()['id']}/mcp",
        headers=admin,
        timeout=10,
        json={"name": "everything", "config": {"methods": [], "tags": []}},
    )
    assert created.status_code == 201, created.text
    return created.json()["url"]


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        yield client


@pytest.fixture(scope="module")
def session(http: httpx.Client, url: str) -> str:
    params = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "0"}}
    response = http.post(
        url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}, headers=JSON_HEADERS
    )
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


def legacy_headers(session: str) -> dict[str, str]:
    return {**JSON_HEADERS, "mcp-protocol-version": LEGACY, "mcp-session-id": session}


# --------------------------------------------------------------------------- what every answer must be


def check_answer(response: httpx.Response) -> None:
    """A 4xx, a JSON-RPC error (not an internal one) or a result; never a 5xx or a traceback."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    text = response.text
    assert "Traceback" not in text and 'File "' not in text, text[:500]
    if response.status_code in (202, 204, 405) or not response.content:
        return
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    payload = response.json()
    for message in payload if isinstance(payload, list) else [payload]:
        if not isinstance(message, dict) or "jsonrpc" not in message:
            # not JSON-RPC: only the app's own refusals (unknown token: 404, API token missing: 401)
            assert 400 <= response.status_code < 500, payload
        elif "error" in message:
            error = message["error"]
            assert isinstance(error["code"], int) and error["code"] != -32603, error
            assert isinstance(error["message"], str) and error["message"]
        else:
            result = message["result"]
            if isinstance(result, dict) and "isError" in result:
                assert isinstance(result["content"], list) and result["content"][0]["type"] == "text"


def still_serving(http: httpx.Client, url: str, session: str) -> None:
    response = http.post(
        url, json={"jsonrpc": "2.0", "id": 99, "method": "tools/list"}, headers=legacy_headers(session)
    )
    assert response.status_code == 200, response.text[:500]
    listed = {tool["name"] for tool in response.json()["result"]["tools"]}
    assert listed == {*TOOL_NAMES, "query_stripe"}  # every generated tool, and the query tool over them


# --------------------------------------------------------------------------- strategies: the endpoint

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
methods = st.sampled_from(
    [
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "prompts/list",
        "prompts/get",
        "logging/setLevel",
        "completion/complete",
        "server/discover",
        "notifications/initialized",
        "notifications/cancelled",
        "no/such/method",
        "",
    ]
) | st.text(max_size=20)
params = (
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(TOOL_NAMES) | json_values,
            "arguments": json_values,
            "cursor": json_values,
            "protocolVersion": st.sampled_from(["2024-11-05", "2025-03-26", LEGACY, "2025-11-25", MODERN, "1999-01-01"])
            | json_values,
            "level": st.sampled_from(["debug", "info", "nope"]) | json_values,
            "uri": json_values,
            "requestId": json_values,
            "_meta": st.fixed_dictionaries(
                {},
                optional={
                    "io.modelcontextprotocol/protocolVersion": st.sampled_from([MODERN, LEGACY]) | json_values,
                    "io.modelcontextprotocol/clientCapabilities": json_values,
                },
            )
            | json_values,
        },
    )
    | json_values
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.just("2.0") | json_values,
        "id": st.integers() | st.text(max_size=12) | json_values,
        "method": methods | json_values,
        "params": params,
        "result": json_values,
        "error": json_values,
    },
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    envelopes.map(_dumps),
    st.lists(envelopes, max_size=4).map(_dumps),  # batches, empty ones included
    json_values.map(_dumps),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.tuples(envelopes.map(_dumps), st.integers(0, 200)).map(lambda pair: pair[0][: pair[1]]),  # truncated
    st.binary(min_size=1, max_size=20).map(lambda junk: b'{"jsonrpc":"2.0","id":1,"method":"ping\xff' + junk + b'"}'),
    st.integers(1, 3000).map(
        lambda d: b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":' + b"[" * d + b"]" * d + b"}}"
    ),
    st.integers(1, 3000).map(lambda d: b"{" * d),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b"[[]]",
            b"{}",
            b"NaN",
            b'{"jsonrpc":"2.0","id":NaN,"method":"ping"}',
            b'{"jsonrpc":"2.0","id":1e999,"method":"ping"}',
            b'{"jsonrpc":"2.0","id":1,"method":"ping"}\x00',
            b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"ping"}',
            b'{"jsonrpc":"2.0","id":1' + b"0" * 5000 + b',"method":"ping"}',
        ]
    ),
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
    str.strip
)  # what HTTP/1.1 can carry
content_types = (
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "",
            "application/jsonx",
        ]
    )
    | header_text
)
accepts = st.sampled_from(
    ["application/json, text/event-stream", "application/json", "*/*", "text/html", "text/event-stream", ""]
)
versions = (
    st.sampled_from(["2024-11-05", "2025-03-26", LEGACY, "2025-11-25", MODERN, "2025-06-18, 2025-03-26", "garbage", ""])
    | header_text
)


@st.composite
def http_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    verb = draw(st.sampled_from(["POST"] * 8 + ["GET", "DELETE", "PUT", "PATCH"]))
    where = draw(st.sampled_from(["mcp"] * 6 + ["messages", "other-token"]))
    headers: dict[str, str] = {}
    if draw(st.integers(0, 7)):
        headers["content-type"] = draw(content_types)
    if draw(st.integers(0, 5)):
        headers["accept"] = draw(accepts)
    if draw(st.booleans()):
        headers["mcp-protocol-version"] = draw(versions)
    session_kind = draw(st.sampled_from(["valid", "valid", "none", "garbage"]))
    if draw(st.booleans()):
        headers["mcp-method"] = draw(
            methods.map(str.strip).filter(lambda m: m.isascii() and m.isprintable()) | header_text
        )
    if draw(st.integers(0, 3)) == 0:
        headers["mcp-name"] = draw(
            st.sampled_from(["=?base64?Zm9v?=", "=?base64?***?=", "get_single_stripe_customer_by_id"]) | header_text
        )
    if draw(st.integers(0, 5)) == 0:
        headers["origin"] = draw(
            st.sampled_from(["http://127.0.0.1", "http://evil.example", "null", "http://[::1]:9"]) | header_text
        )
    return verb, where, headers | {"x-session": session_kind}, draw(bodies)


# --------------------------------------------------------------------------- the endpoint, fuzzed


def test_endpoint_answers_bad_input_with_4xx_or_json_rpc_errors(
    running: RunningServer, http: httpx.Client, url: str, session: str
) -> None:
    @settings(FUZZ_SETTINGS, max_examples=ENDPOINT_EXAMPLES)
    @given(request=http_requests())
    def check(request: tuple[str, str, dict[str, str], bytes]) -> None:
        verb, where, headers, body = request
        session_kind = headers.pop("x-session")
        if session_kind == "valid":
            headers["mcp-session-id"] = session
        elif session_kind == "garbage":
            headers["mcp-session-id"] = "v1.garbage"
        target = {
            "mcp": url,
            "messages": f"{url}/messages?session_id={'a' * 32}",
            "other-token": url.rsplit("/", 1)[0] + "/smcp_nope",
        }[where]
        response = http.request(verb, target, content=body, headers=headers)
        CASES["endpoint"] += 1
        check_answer(response)

    check()
    still_serving(http, url, session)


def test_huge_bodies(http: httpx.Client, url: str, session: str) -> None:
    headers = legacy_headers(session)
    mib = 1024 * 1024
    big_array = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "create_a_stripe_refund", "arguments": {"expand": ["nope"] * 400_000}},
    }
    cases = [
        (b" " * (4 * mib + 1), 413),  # over the limit
        (b"[" * (4 * mib + 1), 413),  # over it, and deep
        (b"[" * (4 * mib - 10), 400),  # under it, too deep
        (
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "y" * (4 * mib - 100)}}).encode(),
            200,
        ),
        (json.dumps(big_array).encode(), 200),  # 3.6 MB of arguments: a tool error
        (
            json.dumps([{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(50_000)]).encode(),
            400,
        ),  # batch, wrong era
    ]
    for body, status in cases:
        assert len(body) <= 4 * mib or status == 413
        response = http.post(url, content=body, headers=headers)
        CASES["huge"] += 1
        assert response.status_code == status, (len(body), response.status_code, response.text[:300])
        check_answer(response)
    streamed = http.post(url, content=iter([b" " * mib] * 5), headers=headers)  # chunked, no Content-Length
    CASES["huge"] += 1
    assert streamed.status_code == 413
    refused = http.post(url, content=json.dumps(big_array).encode(), headers=headers)
    assert refused.json()["result"]["isError"] is True
    assert len(refused.content) < 20_000  # it was a 141 MB answer, then 20 of 400,000 problems listed
    # Refused by the cheap walk, before the tool's model sees 400,000 items.
    assert refused.json()["result"]["structuredContent"]["errors"] == [
        {"field": "expand", "message": "400000 items, more than the limit of 1000"}
    ]
    still_serving(http, url, session)


# --------------------------------------------------------------------------- strategies: tool arguments


def schema_values(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values a JSON schema of generated/schemas accepts (close enough: Stripe's own rules may still refuse some)."""
    if "anyOf" in schema:
        return st.one_of([schema_values(branch, depth + 1) for branch in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        if depth > 4:
            return st.fixed_dictionaries(
                {k: schema_values(properties[k], depth + 1) for k in required if k in properties}
            )
        extra = schema.get("additionalProperties")
        fixed = st.fixed_dictionaries(
            {k: schema_values(v, depth + 1) for k, v in properties.items() if k in required},
            optional={k: schema_values(v, depth + 1) for k, v in properties.items() if k not in required},
        )
        if isinstance(extra, dict) and not properties:
            return st.dictionaries(st.text(min_size=1, max_size=10), schema_values(extra, depth + 1), max_size=3)
        return fixed
    if kind == "array":
        return st.lists(schema_values(schema.get("items", {}), depth + 1), max_size=3)
    if kind == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**9))
    if kind == "number":
        return st.floats(schema.get("minimum", -1e6), schema.get("maximum", 1e9), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if schema.get("format") == "decimal":
        return st.decimals(0, 10**6, places=2, allow_nan=False, allow_infinity=False).map(str)
    if schema.get("contentEncoding") == "base64":
        return st.binary(max_size=64).map(lambda b: __import__("base64").b64encode(b).decode())
    if kind == "string":
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30))
    return json_values


def minimal(schema: dict[str, Any]) -> Any:
    """The smallest value a schema accepts: required members only, first enum, first anyOf branch but `""`."""
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("enum") != [""]] or schema["anyOf"]
        return minimal(branches[0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            key: minimal(schema.get("properties", {}).get(key, {"type": "string"}))
            for key in schema.get("required", [])
        }
    if kind == "array":
        return [minimal(schema.get("items", {"type": "string"})) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("contentEncoding") == "base64":
        return "aGVsbG8="
    if schema.get("format") == "decimal":
        return "1"
    return "x_1"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


junk = st.one_of(
    json_values,
    st.integers(1, 70).map(lambda d: json.loads("[" * d + "]" * d)),  # nested junk, some past the limit
    st.sampled_from([10**30, -(10**30), 10**4000, 2**63, -(2**63) - 1, 1e308, -0.0]),  # huge ints
    st.sampled_from(["x" * 5001, "x" * 100_001, "\x00", "a/../b", "cus_1/..", "%2F", "\u202e", "\ud800", "\udfff" * 3]),
    st.dictionaries(st.text(max_size=5), json_values, min_size=1, max_size=3),
)
mutations = st.sampled_from(
    [
        "wrong_type",
        "extra_key",
        "long_string",
        "huge_int",
        "nested_junk",
        "null",
        "bad_id",
        "drop_required",
        "not_an_object",
        "surrogate_key",
    ]
)


def break_arguments(draw: st.DrawFn, schema: dict[str, Any], arguments: dict[str, Any]) -> Any:
    properties = list(schema.get("properties", {}))
    key = draw(st.sampled_from(properties)) if properties else "x"
    mutation = draw(mutations)
    if mutation == "wrong_type":
        arguments[key] = draw(junk)
    elif mutation == "extra_key":
        arguments[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in properties))] = draw(junk)
    elif mutation == "long_string":
        arguments[key] = draw(st.sampled_from(["y" * 5001, "y" * 100_001, "y" * 1_000_000]))
    elif mutation == "huge_int":
        arguments[key] = draw(st.sampled_from([10**30, 10**4000, -(2**64), 2**53 + 1]))
    elif mutation == "nested_junk":
        depth = draw(st.integers(1, 70))
        arguments[key] = json.loads('{"a":' * depth + "1" + "}" * depth)
    elif mutation == "null":
        arguments[key] = None
    elif mutation == "bad_id":
        arguments["id"] = draw(
            st.sampled_from(["", ".", "..", "a/b", "a\\b", "a\nb", "\x7f", "x" * 6000, 0, True, ["x"], {"a": 1}])
        )
    elif mutation == "drop_required":
        for name in schema.get("required", []):
            arguments.pop(name, None)
    elif mutation == "not_an_object":
        return draw(st.sampled_from([[], "x", 1, None, True, [{"a": 1}]]))
    elif mutation == "surrogate_key":
        arguments["\ud800"] = "x"
    return arguments


@st.composite
def broken_calls(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(TOOL_NAMES))
    schema = _schema(name)
    arguments = draw(schema_values(schema))
    if draw(st.integers(0, 4)):  # mostly broken, sometimes as generated
        arguments = break_arguments(draw, schema, dict(arguments))
    return name, arguments


def call_body(request_id: int, name: str, arguments: Any) -> bytes:
    message = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    try:
        return json.dumps(message).encode("utf-8", "surrogatepass")
    except ValueError:  # an int past Python's 4300-digit str limit: write it by hand, the server must refuse it
        text = json.dumps({**message, "params": {"name": name, "arguments": {"n": "HUGE"}}})
        return text.replace('"HUGE"', "1" + "0" * 5000).encode()


def check_tool_answer(response: httpx.Response) -> None:
    check_answer(response)
    assert response.status_code in (200, 400), response.text[:300]  # 400: nested past the JSON depth limit
    payload = response.json()
    if response.status_code == 200 and "result" in payload:
        assert isinstance(payload["result"]["isError"], bool)


# --------------------------------------------------------------------------- tool arguments, fuzzed


def test_every_tool_with_generated_then_broken_arguments(http: httpx.Client, url: str, session: str) -> None:
    """Each of the 468 tools once with a minimal valid value and once broken (deterministic sweep)."""
    headers = legacy_headers(session)
    outcomes: Counter[str] = Counter()
    for index, name in enumerate(TOOL_NAMES):
        schema = _schema(name)
        valid = minimal(schema)
        broken = {
            **valid,
            "unexpected_key": {"deep": [[[["junk"]]]]},
            **{k: [10**30] for k in list(schema["properties"])[:1]},
        }
        for arguments in (valid, broken):
            response = http.post(url, content=call_body(index, name, arguments), headers=headers)
            CASES["tool sweep"] += 1
            check_tool_answer(response)
            result = response.json().get("result", {})
            outcomes["tool error" if result.get("isError") else "success"] += 1
    print(f"\ntool sweep over {len(TOOL_NAMES)} tools: {dict(outcomes)}")
    assert outcomes["success"] > len(TOOL_NAMES) // 2  # most minimal calls reach the fake Stripe and come back
    still_serving(http, url, session)


def test_tool_arguments_fuzzed_from_their_schemas(http: httpx.Client, url: str, session: str) -> None:
    headers = legacy_headers(session)

    @settings(FUZZ_SETTINGS, max_examples=ARGUMENT_EXAMPLES)
    @given(call=broken_calls())
    def check(call: tuple[str, Any]) -> None:
        name, arguments = call
        response = http.post(url, content=call_body(1, name, arguments), headers=headers)
        CASES["tool arguments"] += 1
        check_tool_answer(response)

    check()
    still_serving(http, url, session)


def test_modern_era_tool_calls_with_broken_arguments(http: httpx.Client, url: str) -> None:
    """The same, stateless (2026-07-28): headers must agree with the body, or a 400 says which does not."""
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}

    @settings(FUZZ_SETTINGS, max_examples=MODERN_EXAMPLES)
    @given(call=broken_calls(), name_header=st.booleans())
    def check(call: tuple[str, Any], name_header: bool) -> None:
        name, arguments = call
        headers = {**JSON_HEADERS, "mcp-protocol-version": MODERN, "mcp-method": "tools/call"}
        if name_header:
            headers["mcp-name"] = name
        message = {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": meta},
        }
        try:
            body = json.dumps(message).encode("utf-8", "surrogatepass")
        except ValueError:
            return
        response = http.post(url, content=body, headers=headers)
        CASES["modern tool arguments"] += 1
        check_answer(response)
        if not name_header:  # the header mismatch, unless the body was refused first (too deep, not parseable)
            assert response.status_code == 400 and response.json()["error"]["code"] in (-32020, -32600, -32700)

    check()
