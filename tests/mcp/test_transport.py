"""The MCP transports (Streamable HTTP, legacy HTTP+SSE, stdio), driven as clients see them.

The happy paths use the official `mcp` client (every protocol era, legacy SSE, stdio) over a
socket to uvicorn, or a spawned process: those tests are marked `integration`. The error rules
use raw HTTP against the same app in process. The toy server lives in tests/mcp/conformance/toyserver.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from starlette.testclient import TestClient

from mcp import Client
from stripe_mcp.mcp import sse
from stripe_mcp.mcp.security import MAX_BODY_BYTES
from stripe_mcp.mcp.sessions import SESSION_MAX_AGE_SECONDS, SessionSigner
from stripe_mcp.mcp.stdio import serve_stdio
from stripe_mcp.mcp.versions import SUPPORTED_VERSIONS
from tests.mcp.conformance.toyserver import (
    LOCKED_TOKEN,
    RATE_HEADERS,
    TOKEN,
    ToyServer,
    make_app,
    serve,
)
from tests.support.paths import REPO

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")  # ping, setLevel

MODERN = "2026-07-28"
IN_PROCESS = "http://127.0.0.1:8000"  # the app called in process, with the loopback Host a local client sends
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


# --------------------------------------------------------------------------- helpers


def rpc(method: str, params: dict[str, Any] | None = None, id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message = rpc(method, params)
    del message["id"]
    return message


def meta(version: str = MODERN) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "0"},
    }


def modern_rpc(method: str, params: dict[str, Any] | None = None, id: Any = 1, version: str = MODERN) -> dict:
    return rpc(method, {**(params or {}), "_meta": meta(version)}, id)


def modern_headers(method: str, name: str | None = None, version: str = MODERN) -> dict[str, str]:
    headers = {**JSON_HEADERS, "mcp-protocol-version": version, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    return headers


def legacy_headers(session: str, version: str = "2025-06-18") -> dict[str, str]:
    return {**JSON_HEADERS, "mcp-protocol-version": version, "mcp-session-id": session}


def initialize(http: httpx.Client, url: str, version: str = "2025-06-18") -> str:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "0"}}
    response = http.post(url, json=rpc("initialize", params), headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    assert "Traceback" not in response.text
    return response.json()["error"]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


async def legacy_session(transport_cm: Any, version: str, check: Callable[[ClientSession], Any]) -> Any:
    """Run `check` on an official ClientSession that initialized at `version`."""
    async with transport_cm as (read, write), ClientSession(read, write) as session:
        params = types.InitializeRequestParams(
            protocol_version=version,
            capabilities=types.ClientCapabilities(),
            client_info=types.Implementation(name="transport-test", version="0"),
        )
        result = await session.send_request(types.InitializeRequest(params=params), types.InitializeResult)
        assert result.protocol_version == version
        assert result.server_info.name == "toy-mcp"
        session.adopt(result)
        await session.send_notification(types.InitializedNotification())
        return await check(session)


async def list_and_call(session: Any) -> None:
    tools = await session.list_tools()
    assert [tool.name for tool in tools.tools] == ["echo", "fail"]
    echoed = await session.call_tool("echo", {"text": "hello"})
    assert echoed.is_error is False
    assert echoed.structured_content == {"text": "hello"}
    assert json.loads(echoed.content[0].text) == {"text": "hello"}
    failed = await session.call_tool("fail", {})
    assert failed.is_error is True
    assert "rate_limit_error" in failed.content[0].text


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app():
    return make_app()


@pytest.fixture(scope="module")
def base_url() -> str:
    return IN_PROCESS


@pytest.fixture(scope="module")
def url(base_url: str) -> str:
    return f"{base_url}/mcp/{TOKEN}"


@pytest.fixture
def http(app) -> Iterator[httpx.Client]:
    """The app in process: Starlette's TestClient is an httpx.Client that calls the ASGI app directly."""
    with TestClient(app, base_url=IN_PROCESS) as client:
        yield client


@pytest.fixture(scope="module")
def served(app) -> Iterator[str]:
    """The same app behind uvicorn on 127.0.0.1, for clients that need a socket."""
    with serve(app) as base:
        yield base


@pytest.fixture(scope="module")
def served_url(served: str) -> str:
    return f"{served}/mcp/{TOKEN}"


@pytest.fixture
def socket_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def session(http: httpx.Client, url: str) -> str:
    return initialize(http, url)


# --------------------------------------------------------------------------- the official client, every era


@pytest.mark.integration
@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
async def test_official_client_streamable_http_legacy_eras(served_url: str, version: str) -> None:
    await asyncio.wait_for(legacy_session(streamable_http_client(served_url), version, list_and_call), 30)


@pytest.mark.integration
async def test_official_client_legacy_mode(served_url: str) -> None:
    async def run() -> None:
        async with Client(served_url, mode="legacy") as client:
            assert client.protocol_version == "2025-11-25"
            assert client.server_info.name == "toy-mcp" and client.server_info.version == "1.2.3"
            assert client.instructions == "A toy server for transport tests."
            assert client.server_capabilities.tools is not None
            await client.send_ping()
            await client.set_logging_level("info")
            await list_and_call(client)

    await asyncio.wait_for(run(), 30)


@pytest.mark.integration
@pytest.mark.parametrize("mode", [MODERN, "auto"])
async def test_official_client_stateless_2026(served_url: str, mode: str) -> None:
    async def run() -> None:
        async with Client(served_url, mode=mode) as client:
            assert client.protocol_version == MODERN
            if mode == "auto":  # discovered, so the serverInfo stamp was read from _meta
                assert client.server_info.name == "toy-mcp"
                assert client.server_capabilities.logging is None
            await list_and_call(client)
            with pytest.raises(MCPError) as raised:
                await client.call_tool("no_such_tool", {})
            assert raised.value.code == -32602

    await asyncio.wait_for(run(), 30)


@pytest.mark.integration
@pytest.mark.parametrize("version", ["2024-11-05", "2025-11-25"])
async def test_official_client_legacy_sse(served_url: str, version: str) -> None:
    await asyncio.wait_for(legacy_session(sse_client(f"{served_url}/sse"), version, list_and_call), 30)


STDIO_SCRIPT = """
import asyncio, logging
from stripe_mcp.mcp.stdio import serve_stdio
from stripe_mcp.mcp.versions import SUPPORTED_VERSIONS
from tests.mcp.conformance.toyserver import ToyServer

class Noisy(ToyServer):
    async def call_tool(self, name, arguments, asker=None):
        print("a stray print must not reach stdout")
        logging.getLogger("toy").warning("a log line must not reach stdout")
        return await super().call_tool(name, arguments)

asyncio.run(serve_stdio(Noisy()))
"""


@pytest.mark.integration
async def test_official_client_stdio() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-c", STDIO_SCRIPT], cwd=str(REPO))

    async def run() -> None:
        async with Client(params, mode="legacy") as client:
            assert client.protocol_version == "2025-11-25"
            await client.send_ping()
            await list_and_call(client)

    await asyncio.wait_for(run(), 30)


@pytest.mark.integration
def test_stdio_stdout_carries_protocol_lines_only() -> None:
    lines = [
        rpc("initialize", {"protocolVersion": "2024-11-05"}, id=1),
        notification("notifications/initialized"),
        rpc("tools/call", {"name": "echo", "arguments": {"n": 1}}, id=2),
        rpc("ping", id=3),
    ]
    completed = subprocess.run(
        [sys.executable, "-c", STDIO_SCRIPT],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr
    replies = [json.loads(line) for line in completed.stdout.splitlines()]
    assert sorted(reply["id"] for reply in replies) == [1, 2, 3]
    assert "a stray print must not reach stdout" in completed.stderr
    assert "a log line must not reach stdout" in completed.stderr


# --------------------------------------------------------------------------- handshake eras over raw HTTP


def test_initialize_negotiates_and_issues_a_visible_ascii_session(http: httpx.Client, url: str) -> None:
    params = {"protocolVersion": "2099-01-01", "capabilities": {}, "clientInfo": {"name": "x", "version": "0"}}
    response = http.post(url, json=rpc("initialize", params), headers=JSON_HEADERS)
    result = response.json()["result"]
    assert result["protocolVersion"] == "2025-11-25"  # not supported -> our latest
    assert set(result["capabilities"]) == {"tools", "resources", "prompts", "completions", "logging"}
    session = response.headers["mcp-session-id"]
    assert all(0x21 <= ord(c) <= 0x7E for c in session)
    assert (
        http.post(url, json=notification("notifications/initialized"), headers=legacy_headers(session)).status_code
        == 202
    )


def test_initialized_notification_is_202_without_body(http: httpx.Client, url: str, session: str) -> None:
    response = http.post(url, json=notification("notifications/initialized"), headers=legacy_headers(session))
    assert response.status_code == 202 and response.content == b""


@pytest.mark.parametrize(
    "method, params, expected",
    [
        ("ping", None, {}),
        ("logging/setLevel", {"level": "warning"}, {}),
        (
            "completion/complete",
            {"ref": {"type": "ref/prompt", "name": "x"}, "argument": {"name": "a", "value": ""}},
            {"completion": {"values": [], "total": 0, "hasMore": False}},
        ),
        ("resources/list", {}, {"resources": []}),
        ("resources/templates/list", None, {"resourceTemplates": []}),
        ("prompts/list", {"cursor": None}, {"prompts": []}),
    ],
)
def test_stub_methods(http: httpx.Client, url: str, session: str, method: str, params: Any, expected: Any) -> None:
    response = http.post(url, json=rpc(method, params, id="s-1"), headers=legacy_headers(session))
    assert response.status_code == 200
    assert response.json() == {"jsonrpc": "2.0", "id": "s-1", "result": expected}


@pytest.mark.parametrize(
    "method, params, data",
    [
        ("resources/read", {"uri": "test://nothing"}, {"uri": "test://nothing"}),
        ("prompts/get", {"name": "nothing"}, {"name": "nothing"}),
        ("tools/list", {"cursor": "bogus"}, None),
        ("resources/list", {"cursor": "bogus"}, None),
        ("logging/setLevel", {"level": "loud"}, None),
        ("tools/call", {"name": 7}, None),
        ("tools/call", {"name": "echo", "arguments": [1, 2]}, None),
        ("tools/call", {"name": "no_such_tool"}, None),
        ("initialize", {"protocolVersion": 2025}, None),
    ],
)
def test_invalid_params_are_32602(
    http: httpx.Client, url: str, session: str, method: str, params: Any, data: Any
) -> None:
    response = http.post(url, json=rpc(method, params, id=9), headers=legacy_headers(session))
    assert response.status_code == 200
    assert response.json()["id"] == 9
    error = error_of(response)
    assert error["code"] == -32602
    assert error.get("data") == data


def test_params_of_the_wrong_type(http: httpx.Client, url: str, session: str) -> None:
    response = http.post(url, json=rpc("tools/list", [1, 2], id=3), headers=legacy_headers(session))  # type: ignore[arg-type]
    assert response.json()["id"] == 3 and error_of(response)["code"] == -32602


@pytest.mark.parametrize("method", ["server/discover", "nope/nothing", "resources/subscribe", "tasks/get"])
def test_unknown_method_legacy_is_200_with_32601(http: httpx.Client, url: str, session: str, method: str) -> None:
    response = http.post(url, json=rpc(method, {}, id=41), headers=legacy_headers(session))
    assert response.status_code == 200
    assert response.json()["id"] == 41 and error_of(response)["code"] == -32601


def test_malformed_json_is_400_parse_error(http: httpx.Client, url: str, session: str) -> None:
    for body in (b"{not json", b"", b"\xff\xfe", b"[" * 100_000):
        response = http.post(url, content=body, headers=legacy_headers(session))
        assert response.status_code == 400
        assert response.json()["id"] is None and error_of(response)["code"] == -32700


@pytest.mark.parametrize(
    "body",
    [
        42,
        "ping",
        None,
        {"id": 1, "method": "ping"},
        {"jsonrpc": "1.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": None, "method": "ping"},
        {"jsonrpc": "2.0", "id": True, "method": "ping"},
        {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
    ],
)
def test_wrong_jsonrpc_shape_is_32600(http: httpx.Client, url: str, session: str, body: Any) -> None:
    response = http.post(url, content=json.dumps(body), headers=legacy_headers(session))
    assert response.status_code == 400
    assert error_of(response)["code"] == -32600


def test_client_responses_and_notifications_get_202(http: httpx.Client, url: str, session: str) -> None:
    for body in ({"jsonrpc": "2.0", "id": 5, "result": {}}, notification("notifications/cancelled", {"requestId": 1})):
        response = http.post(url, json=body, headers=legacy_headers(session))
        assert response.status_code == 202 and response.content == b""


def test_batches_only_at_2025_03_26(http: httpx.Client, url: str) -> None:
    session = initialize(http, url, "2025-03-26")
    batch = [
        rpc("ping", id=1),
        notification("notifications/initialized"),
        rpc("tools/call", {"name": "fail"}, id=2),
        rpc("nope", id=3),
        rpc("initialize", {"protocolVersion": "2025-03-26"}, id=4),
        17,
    ]
    response = http.post(url, json=batch, headers=legacy_headers(session, "2025-03-26"))
    assert response.status_code == 200
    replies = response.json()
    assert [reply.get("id") for reply in replies] == [1, 2, 3, 4, None]
    assert replies[0]["result"] == {} and replies[1]["result"]["isError"] is True
    assert [reply.get("error", {}).get("code") for reply in replies[2:]] == [-32601, -32600, -32600]
    assert response.headers["retry-after"] == "1"  # CallOutcome headers survive batching
    # Without the header, the session's own version decides.
    no_header = {k: v for k, v in legacy_headers(session).items() if k != "mcp-protocol-version"}
    assert http.post(url, json=[rpc("ping")], headers=no_header).status_code == 200
    only_notifications = http.post(url, json=[notification("notifications/initialized")], headers=no_header)
    assert only_notifications.status_code == 202
    empty = http.post(url, json=[], headers=no_header)
    assert empty.status_code == 400 and error_of(empty)["code"] == -32600
    for version in ("2025-06-18", "2025-11-25"):
        refused = http.post(url, json=[rpc("ping")], headers=legacy_headers(session, version))
        assert refused.status_code == 400 and error_of(refused)["code"] == -32600


def test_session_rules(http: httpx.Client, url: str, session: str, base_url: str) -> None:
    no_session = {k: v for k, v in legacy_headers(session).items() if k != "mcp-session-id"}
    assert http.post(url, json=rpc("tools/list"), headers=no_session).status_code == 400
    tampered = session[:-1] + ("0" if session[-1] != "0" else "1")
    for bad in (tampered, "abc", "v1." + "0" * 32 + ".2025-06-18.1700000000." + "0" * 64):
        response = http.post(url, json=rpc("tools/list"), headers=legacy_headers(bad))
        assert response.status_code == 404, bad
    # An id is bound to the URL token that issued it.
    locked = {**legacy_headers(session), "authorization": "Bearer let-me-in"}
    assert http.post(f"{base_url}/mcp/{LOCKED_TOKEN}", json=rpc("tools/list"), headers=locked).status_code == 404
    # Any version we support is accepted inside a session (conformance sends 2025-03-26 in a 2025-11-25 one).
    assert http.post(url, json=rpc("ping"), headers=legacy_headers(session, "2025-03-26")).status_code == 200


@pytest.mark.integration
def test_session_ids_work_on_any_replica_with_the_same_secret(socket_http: httpx.Client, session: str) -> None:
    with serve(make_app()) as replica:
        response = socket_http.post(f"{replica}/mcp/{TOKEN}", json=rpc("tools/list"), headers=legacy_headers(session))
        assert response.status_code == 200 and response.json()["result"]["tools"][0]["name"] == "echo"
    with serve(make_app(secret=b"another secret")) as stranger:
        response = socket_http.post(f"{stranger}/mcp/{TOKEN}", json=rpc("tools/list"), headers=legacy_headers(session))
        assert response.status_code == 404


def test_signer_rejects_ids_that_are_too_old() -> None:
    signer = SessionSigner(b"k")
    issued = signer.issue("tok", "2025-06-18", now=1_000_000)
    assert signer.verify(issued, "tok", now=1_000_100) == "2025-06-18"
    assert signer.verify(issued, "tok", now=1_000_000 + SESSION_MAX_AGE_SECONDS + 1) is None
    assert signer.verify(issued, "other", now=1_000_100) is None


def test_signer_remembers_only_the_ids_it_verified() -> None:
    signer = SessionSigner(b"k")
    issued = signer.issue("tok", "2025-06-18")
    assert signer.verify(issued, "tok") == "2025-06-18"  # now remembered
    tampered = issued[:-1] + ("0" if issued[-1] != "0" else "1")
    assert signer.verify(tampered, "tok") is None
    assert signer.verify(issued, "tok") == "2025-06-18"
    assert signer.verify(issued, "other") is None
    assert SessionSigner(b"another secret").verify(issued, "tok") is None


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_are_405(http: httpx.Client, url: str, session: str, method: str) -> None:
    for headers in (legacy_headers(session), modern_headers("tools/list")):
        response = http.request(method, url, headers=headers)
        assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_unknown_and_locked_tokens(http: httpx.Client, base_url: str) -> None:
    body = rpc("initialize", {"protocolVersion": "2025-06-18"})
    assert http.post(f"{base_url}/mcp/tok_unknown", json=body, headers=JSON_HEADERS).status_code == 404
    assert http.get(f"{base_url}/mcp/tok_unknown/sse").status_code == 404
    assert http.post(f"{base_url}/mcp/{LOCKED_TOKEN}", json=body, headers=JSON_HEADERS).status_code == 401
    authorized = {**JSON_HEADERS, "authorization": "Bearer let-me-in"}
    assert http.post(f"{base_url}/mcp/{LOCKED_TOKEN}", json=body, headers=authorized).status_code == 200


def test_accept_and_content_type(http: httpx.Client, url: str, session: str) -> None:
    headers = legacy_headers(session)
    response = http.post(url, json=rpc("ping"), headers={**headers, "accept": "text/html"})
    assert response.status_code == 406
    response = http.post(url, content=json.dumps(rpc("ping")), headers={**headers, "content-type": "text/plain"})
    assert response.status_code == 415
    for accept in ("*/*", "application/json", "application/json;q=0.9, text/event-stream"):
        assert http.post(url, json=rpc("ping"), headers={**headers, "accept": accept}).status_code == 200
    response = http.post(url, json=rpc("ping"), headers={**headers, "content-type": "application/json; charset=utf-8"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"


def test_body_over_4_mib_is_413(http: httpx.Client, url: str, session: str) -> None:
    big = json.dumps(rpc("tools/call", {"name": "echo", "arguments": {"x": "a" * MAX_BODY_BYTES}}))
    response = http.post(url, content=big, headers=legacy_headers(session))
    assert response.status_code == 413 and error_of(response)["code"] == -32600

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for _ in range(5):
            yield b" " * (1024 * 1024)

    response = http.post(url, content=chunks(), headers=legacy_headers(session))
    assert response.status_code == 413 and error_of(response)["code"] == -32600
    just_under = json.dumps(rpc("tools/call", {"name": "echo", "arguments": {"x": "a" * (4 * 1024 * 1024 - 200)}}))
    assert http.post(url, content=just_under, headers=legacy_headers(session)).status_code == 200


def test_call_outcome_headers_reach_the_http_response(http: httpx.Client, url: str, session: str) -> None:
    response = http.post(
        url, json=rpc("tools/call", {"name": "fail", "arguments": {}}), headers=legacy_headers(session)
    )
    assert response.status_code == 200
    assert response.json()["result"]["isError"] is True
    for name, value in RATE_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["content-type"] == "application/json"
    modern = http.post(
        url, json=modern_rpc("tools/call", {"name": "fail"}), headers=modern_headers("tools/call", "fail")
    )
    assert modern.status_code == 200 and modern.headers["ratelimit-limit"] == "100"
    echo = http.post(url, json=rpc("tools/call", {"name": "echo", "arguments": {}}), headers=legacy_headers(session))
    assert "retry-after" not in echo.headers


def test_protocol_error_with_http_status_and_headers(http: httpx.Client, url: str, session: str) -> None:
    body = rpc("tools/call", {"name": "over_budget", "arguments": {}}, id=5)
    for response in (
        http.post(url, json=body, headers=legacy_headers(session)),
        http.post(
            url,
            json=modern_rpc("tools/call", body["params"], id=5),
            headers=modern_headers("tools/call", "over_budget"),
        ),
    ):
        assert response.status_code == 429 and response.headers["retry-after"] == "3"
        assert response.json()["id"] == 5
        assert error_of(response) == {"code": -32029, "message": "Request budget exceeded", "data": {"retry_after": 3}}


class Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record))


@pytest.fixture
def dispatch_errors() -> Iterator[list[str]]:
    """The dispatcher's error log, read from its own logger: what an operator's log collector would get."""
    log, handler = logging.getLogger("stripe_mcp.mcp.dispatch"), Recorded()
    log.addHandler(handler)
    yield handler.lines
    log.removeHandler(handler)


def test_server_exception_is_32603_without_details(
    http: httpx.Client, url: str, session: str, dispatch_errors: list[str]
) -> None:
    secret = "4242424242424242"
    body = rpc("tools/call", {"name": "explode", "arguments": {"card": secret}}, id=77)
    response = http.post(url, json=body, headers=legacy_headers(session))
    assert response.status_code == 200
    assert response.json()["id"] == 77
    assert error_of(response) == {"code": -32603, "message": "Internal error"}
    assert "exploded" not in response.text
    # The dispatcher logs before it answers: the line is there once the reply is.
    [line] = dispatch_errors
    assert line.startswith("MCP method tools/call failed") and "RuntimeError: the toy server exploded" in line
    assert secret not in line
    modern = http.post(
        url, json=modern_rpc("tools/call", {"name": "explode"}), headers=modern_headers("tools/call", "explode")
    )
    assert modern.status_code == 200 and error_of(modern)["code"] == -32603


# --------------------------------------------------------------------------- DNS-rebinding protection


def test_host_and_origin_checks(http: httpx.Client, url: str, base_url: str, session: str) -> None:
    port = base_url.rsplit(":", 1)[1]
    evil = {**legacy_headers(session), "host": "evil.example.com", "origin": "http://evil.example.com"}
    response = http.post(url, json=rpc("ping"), headers=evil)
    assert response.status_code == 421 and error_of(response)["code"] == -32600
    response = http.post(
        url, json=rpc("ping"), headers={**legacy_headers(session), "origin": "http://evil.example.com"}
    )
    assert response.status_code == 403
    assert http.post(url, json=rpc("ping"), headers={**legacy_headers(session), "origin": "null"}).status_code == 403
    for host in (f"localhost:{port}", "127.0.0.1", f"[::1]:{port}"):
        for origin in (f"http://{host}", "http://localhost:3000", "https://127.0.0.1:1"):
            headers = {**legacy_headers(session), "host": host, "origin": origin}
            assert http.post(url, json=rpc("ping"), headers=headers).status_code == 200, (host, origin)
    assert http.get(f"{url}/sse", headers={"host": "evil.example.com"}).status_code == 421
    assert (
        http.post(
            f"{url}/messages?session_id=" + "0" * 32,
            json=rpc("ping"),
            headers={**JSON_HEADERS, "origin": "http://evil.example.com"},
        ).status_code
        == 403
    )
    # The probe the conformance suite sends at 2026: bad Host+Origin -> 4xx.
    probe = {**modern_headers("server/discover"), "host": "evil.example.com", "origin": "http://evil.example.com"}
    assert http.post(url, json=modern_rpc("server/discover"), headers=probe).status_code == 421


def test_allowed_hosts_and_origins() -> None:
    app = make_app(allowed_hosts=["mcp.example.com"], allowed_origins=["https://chat.example.com"])
    with TestClient(app, base_url=IN_PROCESS) as http:
        target = f"{IN_PROCESS}/mcp/{TOKEN}"
        body = rpc("initialize", {"protocolVersion": "2025-06-18"})
        headers = {**JSON_HEADERS, "host": "mcp.example.com", "origin": "https://chat.example.com"}
        assert http.post(target, json=body, headers=headers).status_code == 200
        assert http.post(target, json=body, headers={**headers, "host": "mcp.example.com:443"}).status_code == 200
        assert (
            http.post(target, json=body, headers={**headers, "origin": "https://evil.example.com"}).status_code == 403
        )
        assert http.post(target, json=body, headers={**headers, "host": "other.example.com"}).status_code == 421


# --------------------------------------------------------------------------- the stateless 2026-07-28 era


def test_discover(http: httpx.Client, url: str) -> None:
    response = http.post(url, json=modern_rpc("server/discover", id="d"), headers=modern_headers("server/discover"))
    assert response.status_code == 200 and "mcp-session-id" not in response.headers
    result = response.json()["result"]
    assert result["supportedVersions"] == list(SUPPORTED_VERSIONS)
    assert set(result["capabilities"]) == {"tools", "resources", "prompts", "completions"}
    assert result["resultType"] == "complete"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"] == {"name": "toy-mcp", "version": "1.2.3"}
    assert result["cacheScope"] == "private" and isinstance(result["ttlMs"], int) and result["ttlMs"] >= 0
    assert result["instructions"] == "A toy server for transport tests."


@pytest.mark.parametrize("method", ["tools/list", "resources/list", "resources/templates/list", "prompts/list"])
def test_modern_lists_carry_cache_hints(http: httpx.Client, url: str, method: str) -> None:
    result = http.post(url, json=modern_rpc(method), headers=modern_headers(method)).json()["result"]
    assert result["resultType"] == "complete" and result["cacheScope"] == "private" and result["ttlMs"] >= 0
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "toy-mcp"


def test_modern_call_and_read(http: httpx.Client, url: str) -> None:
    response = http.post(
        url,
        json=modern_rpc("tools/call", {"name": "echo", "arguments": {"a": 1}}),
        headers=modern_headers("tools/call", "echo"),
    )
    result = response.json()["result"]
    assert result["structuredContent"] == {"a": 1} and result["resultType"] == "complete"
    assert "ttlMs" not in result
    response = http.post(
        url,
        json=modern_rpc("resources/read", {"uri": "test://x"}, id=5),
        headers=modern_headers("resources/read", "test://x"),
    )
    assert response.status_code == 400 and response.json()["id"] == 5
    assert error_of(response) == {"code": -32602, "message": "Resource not found", "data": {"uri": "test://x"}}


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "resources/subscribe", "unknown/method"])
def test_modern_unknown_method_is_404(http: httpx.Client, url: str, method: str) -> None:
    response = http.post(url, json=modern_rpc(method, id=601), headers=modern_headers(method))
    assert response.status_code == 404
    assert response.json()["id"] == 601 and error_of(response)["code"] == -32601


def _b64(text: str) -> str:
    return "=?base64?" + base64.b64encode(text.encode()).decode() + "?="


@pytest.mark.parametrize(
    "body, header_changes, status, code",
    [
        (rpc("tools/list", {}), {}, 400, -32602),
        (rpc("tools/list", {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}), {}, 400, -32602),
        (modern_rpc("tools/list"), {"mcp-protocol-version": "2099-01-01"}, 400, -32020),
        (modern_rpc("tools/list"), {"mcp-method": None}, 400, -32020),
        (modern_rpc("tools/list"), {"mcp-method": "TOOLS/LIST"}, 400, -32020),
        (modern_rpc("tools/call", {"name": "echo"}), {"mcp-method": "tools/call"}, 400, -32020),
        (modern_rpc("tools/call", {"name": "echo"}), {"mcp-method": "tools/call", "mcp-name": "fail"}, 400, -32020),
        # The decoded header matches, so the request reaches the server, which knows no such tool.
        (
            modern_rpc("tools/call", {"name": "é echo"}),
            {"mcp-method": "tools/call", "mcp-name": _b64("é echo")},
            400,
            -32602,
        ),
        (
            modern_rpc("tools/call", {"name": "echo"}),
            {"mcp-method": "tools/call", "mcp-name": "=?base64?!!?="},
            400,
            -32020,
        ),
        (modern_rpc("tools/list", version="2099-01-01"), {"mcp-protocol-version": "2099-01-01"}, 400, -32022),
        (rpc("tools/list"), {"mcp-protocol-version": "2099-01-01"}, 400, -32022),
        ([modern_rpc("tools/list")], {}, 400, -32600),
    ],
)
def test_modern_envelope_ladder(
    http: httpx.Client, url: str, body: Any, header_changes: dict, status: int, code: Any
) -> None:
    headers = modern_headers("tools/list")
    for name, value in header_changes.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    response = http.post(url, json=body, headers=headers)
    assert response.status_code == status, response.text
    if code is None:
        assert "result" in response.json()
        return
    error = error_of(response)
    assert error["code"] == code
    if isinstance(body, dict):
        assert response.json()["id"] == body["id"]  # errors keep the request id
    if code == -32022:
        assert error["data"]["supported"] == list(SUPPORTED_VERSIONS)
        assert error["data"]["requested"] == "2099-01-01"


def raw_post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST over a bare socket: httpx refuses header values with surrounding whitespace."""
    parts = httpx.URL(url)
    payload = json.dumps(body).encode()
    lines = [
        f"POST {parts.raw_path.decode()} HTTP/1.1",
        f"Host: {parts.host}:{parts.port}",
        "Connection: close",
        f"Content-Length: {len(payload)}",
    ] + [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((parts.host, parts.port), timeout=5) as sock:
        sock.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + payload)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, content = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(content)


@pytest.mark.integration
def test_modern_header_values_are_trimmed(served_url: str) -> None:
    headers = {
        **modern_headers("tools/call"),
        "mcp-method": "  tools/call ",
        "mcp-name": "  echo  ",
        "mcp-protocol-version": f" {MODERN} ",
    }
    status, body = raw_post(served_url, modern_rpc("tools/call", {"name": "echo", "arguments": {}}), headers)
    assert status == 200 and body["result"]["isError"] is False


def test_modern_duplicated_routing_header(http: httpx.Client, url: str) -> None:
    headers = list(modern_headers("tools/list").items()) + [("mcp-method", "tools/list")]
    response = http.post(url, json=modern_rpc("tools/list"), headers=headers)
    assert response.status_code == 400 and error_of(response)["code"] == -32020


def test_modern_notification_is_202(http: httpx.Client, url: str) -> None:
    response = http.post(
        url, json=notification("notifications/cancelled", {"requestId": 1}), headers=modern_headers("x")
    )
    assert response.status_code == 202
    headers = {**modern_headers("x"), "mcp-protocol-version": "2099-01-01"}
    response = http.post(url, json=notification("notifications/cancelled"), headers=headers)
    assert response.status_code == 400 and error_of(response)["code"] == -32022


@pytest.mark.integration
def test_modern_disconnect_cancels_the_call(app, socket_http: httpx.Client, served_url: str) -> None:
    toy = app.state.toy
    before = toy.cancelled
    body = modern_rpc("tools/call", {"name": "slow", "arguments": {"seconds": 30}})
    with pytest.raises(httpx.ReadTimeout):
        socket_http.post(served_url, json=body, headers=modern_headers("tools/call", "slow"), timeout=0.5)
    wait_until(lambda: toy.cancelled == before + 1)


# --------------------------------------------------------------------------- legacy HTTP+SSE details


def _sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    event, data = "", []
    for line in lines:
        if line.startswith(":"):
            yield "comment", line
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and event:
            yield event, "\n".join(data)
            event, data = "", []


def _sse_sessions(app) -> dict:
    return next(route.endpoint.__self__.transport.sessions for route in app.routes if route.path.endswith("/sse"))


@pytest.mark.integration
def test_legacy_sse_raw(app, socket_http: httpx.Client, served_url: str, served: str, monkeypatch) -> None:
    monkeypatch.setattr(sse, "SSE_KEEPALIVE_SECONDS", 0.2)
    with socket_http.stream("GET", f"{served_url}/sse", headers={"accept": "text/event-stream"}, timeout=5) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(stream.iter_lines())
        kind, endpoint = next(events)
        assert kind == "endpoint" and endpoint.startswith(f"/mcp/{TOKEN}/messages?session_id=")
        assert len(_sse_sessions(app)) == 1
        post_url = served + endpoint
        params = {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
        assert socket_http.post(post_url, json=rpc("initialize", params, id=1), headers=JSON_HEADERS).status_code == 202
        kind, data = next(events)
        assert kind == "message" and json.loads(data)["result"]["protocolVersion"] == "2024-11-05"
        assert (
            socket_http.post(post_url, json=rpc("tools/call", {"name": "fail"}, id=2), headers=JSON_HEADERS).status_code
            == 202
        )
        kind, data = next(events)
        assert json.loads(data)["id"] == 2 and json.loads(data)["result"]["isError"] is True
        assert next(events)[0] == "comment"  # keepalive while idle
        # Errors of the POST side.
        assert socket_http.post(post_url, content=b"{oops", headers=JSON_HEADERS).status_code == 400
        assert socket_http.post(post_url, json=[rpc("ping")], headers=JSON_HEADERS).status_code == 400
        messages = f"{served_url}/messages"
        assert socket_http.post(messages, json=rpc("ping"), headers=JSON_HEADERS).status_code == 400
        assert socket_http.post(f"{messages}?session_id=xyz", json=rpc("ping"), headers=JSON_HEADERS).status_code == 400
        assert (
            socket_http.post(f"{messages}?session_id={'a' * 32}", json=rpc("ping"), headers=JSON_HEADERS).status_code
            == 404
        )
        other = post_url.replace(f"/mcp/{TOKEN}/", f"/mcp/{LOCKED_TOKEN}/")
        assert socket_http.post(other, json=rpc("ping"), headers=JSON_HEADERS).status_code == 404
        assert socket_http.post(post_url, json=rpc("nope", id=3), headers=JSON_HEADERS).status_code == 202
        kind, data = next(e for e in events if e[0] == "message")
        assert json.loads(data)["error"]["code"] == -32601
    wait_until(lambda: not _sse_sessions(app))  # cleaned up on disconnect


# --------------------------------------------------------------------------- stdio framing, in process


class QueueReader:
    def __init__(self) -> None:
        self.lines: asyncio.Queue[bytes] = asyncio.Queue()

    def push(self, message: Any) -> None:
        self.lines.put_nowait((message if isinstance(message, bytes) else json.dumps(message).encode()) + b"\n")

    def end(self) -> None:
        self.lines.put_nowait(b"")

    async def readline(self) -> bytes:
        return await self.lines.get()


class QueueWriter:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.buffer = b""

    def write(self, data: bytes) -> None:
        self.buffer += data

    async def drain(self) -> None:
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            self.messages.put_nowait(json.loads(line))

    async def next(self) -> Any:
        return await asyncio.wait_for(self.messages.get(), 5)


async def test_stdio_batches_errors_and_cancellation() -> None:
    toy = ToyServer(tools=json.loads(ToyServer().tools_json()))
    reader, writer = QueueReader(), QueueWriter()
    serving = asyncio.ensure_future(serve_stdio(toy, reader, writer))
    try:
        reader.push(rpc("initialize", {"protocolVersion": "2025-03-26"}, id=1))
        assert (await writer.next())["result"]["protocolVersion"] == "2025-03-26"
        reader.push([rpc("ping", id=2), notification("notifications/initialized"), rpc("tools/list", id=3)])
        assert [reply["id"] for reply in await writer.next()] == [2, 3]
        reader.push(b"{broken")
        assert (await writer.next())["error"]["code"] == -32700
        reader.push(rpc("tools/call", {"name": "slow", "arguments": {"seconds": 30}}, id=7))
        deadline = time.monotonic() + 5
        while "slow" not in toy.calls:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        reader.push(notification("notifications/cancelled", {"requestId": 7}))
        reader.push(rpc("ping", id=8))
        assert await writer.next() == {"jsonrpc": "2.0", "id": 8, "result": {}}  # nothing for 7
        reader.push(rpc("initialize", {"protocolVersion": "2025-11-25"}, id=9))
        await writer.next()
        reader.push([rpc("ping", id=10)])
        assert (await writer.next())["error"]["code"] == -32600  # no batches after 2025-03-26
        reader.end()
        await asyncio.wait_for(serving, 5)
        assert toy.cancelled == 1
    finally:
        serving.cancel()


async def test_stdio_folds_multiline_tools_json() -> None:
    toy = ToyServer(indent=2)  # newlines between tokens
    reader, writer = QueueReader(), QueueWriter()
    serving = asyncio.ensure_future(serve_stdio(toy, reader, writer))
    try:
        reader.push(rpc("tools/list", id=1))
        assert [tool["name"] for tool in (await writer.next())["result"]["tools"]] == ["echo", "fail"]
        reader.end()
        await asyncio.wait_for(serving, 5)
    finally:
        serving.cancel()


# --------------------------------------------------------------------------- the tools/list hot path


def big_tools(count: int = 468, target_bytes: int = 1_500_000) -> list[dict[str, Any]]:
    filler = "x" * (target_bytes // count - 400)
    return [
        {
            "name": f"list_all_stripe_things_{i}",
            "description": f"Tool {i}. {filler}",
            "inputSchema": {"type": "object", "properties": {"limit": {"type": "integer"}, "id": {"type": "string"}}},
            "annotations": {
                "readOnlyHint": True,
                "destructiveHint": False,
                "idempotentHint": True,
                "openWorldHint": True,
            },
        }
        for i in range(count)
    ]


async def asgi_post(app, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Call the ASGI app directly: the server-side cost of a request, without sockets."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000")] + [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await never.wait()
        return {"type": "http.disconnect"}

    status, response_headers, chunks = 0, {}, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers.update({k.decode(): v.decode() for k, v in message["headers"]})
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, response_headers, b"".join(chunks)


async def test_tools_list_splices_the_cached_bytes() -> None:
    tools = big_tools()
    toy = ToyServer(tools=tools, indent=1)  # odd formatting proves there is no re-serialization
    app = make_app(toy)
    path = f"/mcp/{TOKEN}"
    status, headers, _ = await asgi_post(
        app, path, json.dumps(rpc("initialize", {"protocolVersion": "2025-06-18"})).encode(), JSON_HEADERS
    )
    legacy = legacy_headers(headers["mcp-session-id"])
    cases = [
        (json.dumps(rpc("tools/list")).encode(), legacy),
        (json.dumps(modern_rpc("tools/list")).encode(), modern_headers("tools/list")),
    ]
    for body, request_headers in cases:
        status, _, content = await asgi_post(app, path, body, request_headers)
        assert status == 200
        assert toy.tools_json() in content
        assert len(json.loads(content)["result"]["tools"]) == 468
