"""The hardening limits, each exceeded once and each answering a clear error that names it.

| limit | default | where | exceeded |
|---|---|---|---|
| request body | 4 MiB (`security.MAX_BODY_BYTES`) | every HTTP framing | HTTP 413, JSON-RPC -32600 naming the size |
| JSON nesting | 64 levels (`security.MAX_JSON_DEPTH`) | HTTP framings and `dispatch_message` (stdio) | HTTP 400, -32600 (-32700 when too deep to parse) naming the limit |
| argument string | 100,000 characters per string or key (`arguments.MAX_ARGUMENT_STRING_CHARS`) | `StripeMcpServer.call_tool` | tool error naming the field; nothing sent |
| concurrent upstream calls | 16 per MCP server, 5 s wait for a slot (`server.MAX_CONCURRENT_CALLS`, `CONCURRENCY_WAIT_SECONDS`) | `StripeMcpServer.call_tool` | tool error `too_many_concurrent_calls` + `retry-after: 1`; nothing sent |

The app runs in-process (httpx's ASGI transport) against tests/fakes.py's FakeStripe in the same loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stripe_mcp.mcp import security
from stripe_mcp.mcp.dispatch import dispatch_message
from stripe_mcp.mcp.routes import mcp_routes
from stripe_mcp.stripe_api.client import Timeouts, Upstream
from stripe_mcp.tools import arguments as arguments_module
from stripe_mcp.tools import server as server_module
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from tests.support.fakes import FakeStripe, respond

API_KEY = "sk_test_limits_secret_0123456789"
TOKEN = "tok_limits_0123456789abcdef"
VERSION = "2025-06-18"
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
CALL_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


def make_server(registry: Registry, base_url: str, **options: Any) -> StripeMcpServer:
    upstream = Upstream(base_url, timeout=Timeouts(5.0))
    return StripeMcpServer(registry, upstream, Account(API_KEY, registry.api_version), **options)


def make_app(server: StripeMcpServer) -> Starlette:
    async def resolve(request: Request, token: str) -> Any:
        return server if token == TOKEN else JSONResponse({"error": "not found"}, status_code=404)

    return Starlette(routes=mcp_routes(resolve, session_secret=b"limits-test-secret"))


class Mcp:
    """A legacy-era (2025-06-18) session on the in-process app."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.headers = dict(HEADERS)
        self.next_id = 1

    async def start(self) -> Mcp:
        params = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "limits", "version": "0"}}
        response = await self.post_json({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
        assert response.status_code == 200, response.text
        self.headers = {
            **HEADERS,
            "mcp-session-id": response.headers["mcp-session-id"],
            "mcp-protocol-version": VERSION,
        }
        return self

    async def post(self, body: bytes, **headers: str) -> httpx.Response:
        return await asyncio.wait_for(
            self.client.post(f"/mcp/{TOKEN}", content=body, headers={**self.headers, **headers}), CALL_TIMEOUT
        )

    async def post_json(self, message: Any) -> httpx.Response:
        return await self.post(json.dumps(message).encode())

    async def call(self, name: str, arguments: dict[str, Any]) -> httpx.Response:
        self.next_id += 1
        message = {
            "jsonrpc": "2.0",
            "id": self.next_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        }
        return await self.post_json(message)


@pytest.fixture
async def mcp(registry: Registry, fake_stripe: FakeStripe) -> AsyncIterator[Mcp]:
    server = make_server(registry, fake_stripe.base_url)
    transport_ = httpx.ASGITransport(app=make_app(server))
    async with httpx.AsyncClient(transport=transport_, base_url="http://127.0.0.1") as client:
        yield await Mcp(client).start()
    await server.upstream.aclose()


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert "Traceback" not in response.text
    return response.json()["error"]


def nested(depth: int) -> Any:
    """`depth` levels of arrays (this value itself being one level)."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


# --------------------------------------------------------------------------- request body size


async def test_body_over_4_mib_is_413_naming_the_limit(mcp: Mcp) -> None:
    limit = security.MAX_BODY_BYTES
    assert limit == 4 * 1024 * 1024
    ping = b'{"jsonrpc":"2.0","id":7,"method":"ping"}'
    exactly = ping + b" " * (limit - len(ping))
    accepted = await mcp.post(exactly)
    assert accepted.status_code == 200 and accepted.json()["result"] == {}
    refused = await mcp.post(exactly + b" ")
    assert refused.status_code == 413
    error = error_of(refused)
    assert error["code"] == -32600 and str(limit) in error["message"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(5):
            yield b" " * (1024 * 1024)

    streamed = await mcp.client.post(f"/mcp/{TOKEN}", content=chunks(), headers=mcp.headers)
    assert streamed.status_code == 413 and str(limit) in error_of(streamed)["message"]


# --------------------------------------------------------------------------- JSON nesting depth


async def test_json_nesting_over_64_levels_is_400_naming_the_limit(mcp: Mcp) -> None:
    assert security.MAX_JSON_DEPTH == 64

    def ping_with(depth: int) -> dict[str, Any]:
        # message (1) > params (2) > "x" array levels: the whole message nests `depth` levels
        return {"jsonrpc": "2.0", "id": 3, "method": "ping", "params": {"x": nested(depth - 2)}}

    assert (await mcp.post_json(ping_with(64))).status_code == 200
    refused = await mcp.post_json(ping_with(65))
    assert refused.status_code == 400
    error = error_of(refused)
    assert error["code"] == -32600 and "64" in error["message"] and error["data"] == {"limit": 64}

    unparsable = await mcp.post(b"[" * 200_000)  # deeper than the parser itself goes
    assert unparsable.status_code == 400
    error = error_of(unparsable)
    assert error["code"] == -32700 and "64" in error["message"]

    batch = await mcp.post_json([ping_with(70)])  # a batch is refused whole, before any member runs
    assert batch.status_code == 400 and error_of(batch)["code"] == -32600


async def test_nesting_limit_in_the_modern_era_and_in_dispatch(mcp: Mcp, registry: Registry) -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    message = {"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": meta, "x": nested(80)}}
    headers = {**HEADERS, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"}
    response = await mcp.client.post(f"/mcp/{TOKEN}", content=json.dumps(message).encode(), headers=headers)
    assert response.status_code == 400 and error_of(response)["code"] == -32600

    # stdio parses on its own and hands the message to dispatch_message, which applies the same limit.
    server = make_server(registry, "http://127.0.0.1:9")
    reply = await dispatch_message(
        server, {"jsonrpc": "2.0", "id": 4, "method": "ping", "params": {"x": nested(70)}}, VERSION
    )
    assert reply.status == 400 and json.loads(reply.body)["error"]["data"] == {"limit": 64}
    assert (
        await dispatch_message(server, {"jsonrpc": "2.0", "method": "x", "params": {"x": nested(70)}}, VERSION)
    ).body is None
    ok = await dispatch_message(
        server, {"jsonrpc": "2.0", "id": 5, "method": "ping", "params": {"x": nested(10)}}, VERSION
    )
    assert json.loads(ok.body)["result"] == {}


def test_nan_and_infinity_are_not_json() -> None:
    for text in (b'{"jsonrpc":"2.0","id":NaN,"method":"ping"}', b"[Infinity]", b"[-Infinity]"):
        with pytest.raises(ValueError):
            security.parse_json(text)


# --------------------------------------------------------------------------- argument string length


async def test_argument_string_over_100k_is_a_tool_error_naming_the_field(mcp: Mcp, fake_stripe: FakeStripe) -> None:
    limit = arguments_module.MAX_ARGUMENT_STRING_CHARS
    assert limit == 100_000
    fake_stripe.on("POST", "/v1/refunds", respond(200, {"id": "re_1", "object": "refund"}))
    response = await mcp.call("create_a_stripe_refund", {"charge": "ch_1", "metadata": {"note": "x" * (limit + 1)}})
    result = response.json()["result"]
    assert result["isError"] is True
    assert result["structuredContent"]["errors"] == [
        {"field": "metadata.note", "message": f"longer than the limit of {limit} characters"}
    ]
    assert "metadata.note" in result["content"][0]["text"] and str(limit) in result["content"][0]["text"]
    long_key = await mcp.call("create_a_stripe_refund", {"metadata": {"k" * (limit + 1): "v"}})
    assert "(key)" in long_key.json()["result"]["structuredContent"]["errors"][0]["field"]
    in_list = await mcp.call("create_a_stripe_refund", {"expand": ["charge", "y" * (limit + 1)]})
    assert in_list.json()["result"]["structuredContent"]["errors"][0]["field"] == "expand.1"
    assert fake_stripe.requests == []  # nothing was sent

    at_limit = await mcp.call("create_a_stripe_refund", {"charge": "ch_1", "metadata": {"note": "x" * limit}})
    assert at_limit.json()["result"]["isError"] is False
    assert len(fake_stripe.requests) == 1


async def test_base64_file_content_is_not_held_to_the_string_limit(mcp: Mcp, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("POST", "/v1/files", respond(200, {"id": "file_1", "object": "file"}))
    content = base64.b64encode(b"%PDF-1.4 " + b"0" * 150_000).decode()
    assert len(content) > arguments_module.MAX_ARGUMENT_STRING_CHARS
    response = await mcp.call("create_a_stripe_file", {"file": content, "purpose": "dispute_evidence"})
    assert response.json()["result"]["isError"] is False, response.text
    assert len(fake_stripe.requests) == 1 and len(fake_stripe.requests[0].body) > 150_000


# --------------------------------------------------------------------------- concurrent upstream calls


@pytest.mark.integration
async def test_concurrent_calls_over_the_limit_get_a_clear_tool_error(
    registry: Registry, fake_stripe: FakeStripe
) -> None:
    assert server_module.MAX_CONCURRENT_CALLS == 16 and server_module.CONCURRENCY_WAIT_SECONDS == 5.0
    in_flight, peak, finished = 0, 0, 0

    async def slow(request: Request) -> Response:
        nonlocal in_flight, peak, finished
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(1.0)
        finally:
            in_flight -= 1
            finished += 1
        return Response(json.dumps({"id": "cus_1", "object": "customer"}), 200, media_type="application/json")

    fake_stripe.on("GET", "/v1/customers/cus_1", slow)
    server = make_server(registry, fake_stripe.base_url, server_id="srv_limits_concurrency", concurrency_wait=0.3)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_app(server)), base_url="http://127.0.0.1"
    ) as client:
        mcp = await Mcp(client).start()

        async def one() -> tuple[int, httpx.Response]:
            response = await mcp.call("get_single_stripe_customer_by_id", {"id": "cus_1"})
            return finished, response  # how many upstream calls had ended when this one was answered

        answers = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(20))), CALL_TIMEOUT)
    await server.upstream.aclose()
    refused = [(s, r) for s, r in answers if r.json()["result"]["isError"]]
    served = [(s, r) for s, r in answers if not r.json()["result"]["isError"]]
    assert len(served) == 16 and len(refused) == 4 and peak == 16
    for upstream_calls_ended, response in refused:
        assert upstream_calls_ended == 0  # refused after the bounded wait, not once a slot came free
        assert response.status_code == 200 and response.headers["retry-after"] == "1"
        result = response.json()["result"]
        assert result["structuredContent"]["code"] == "too_many_concurrent_calls"
        assert result["structuredContent"]["limit"] == 16
        assert "Too many concurrent calls" in result["content"][0]["text"]
    assert len(fake_stripe.requests) == 16  # the refused calls sent nothing


@pytest.mark.integration
async def test_a_waiting_call_takes_a_freed_slot(registry: Registry, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("GET", "/v1/customers/cus_2", _sleeping_customer(0.3))
    server = make_server(registry, fake_stripe.base_url, max_concurrent_calls=2, concurrency_wait=2.0)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(server.call_tool("get_single_stripe_customer_by_id", {"id": "cus_2"}) for _ in range(5))),
            CALL_TIMEOUT,
        )
    finally:
        await server.upstream.aclose()
    assert [outcome.result["isError"] for outcome in results] == [False] * 5
    assert not server._gate.locked()  # every slot given back


@pytest.mark.integration
async def test_cached_instances_of_one_server_share_its_slots(registry: Registry, fake_stripe: FakeStripe) -> None:
    """The app rebuilds a server's object every 0.5 s (its resolve cache): the limit is per server id, not per object."""
    fake_stripe.on("GET", "/v1/customers/cus_3", _sleeping_customer(0.6))
    first = make_server(
        registry, fake_stripe.base_url, server_id="srv_limits_shared", max_concurrent_calls=2, concurrency_wait=0.1
    )
    second = make_server(
        registry, fake_stripe.base_url, server_id="srv_limits_shared", max_concurrent_calls=2, concurrency_wait=0.1
    )
    other = make_server(
        registry, fake_stripe.base_url, server_id="srv_limits_other", max_concurrent_calls=2, concurrency_wait=0.1
    )
    assert first._gate is second._gate and first._gate is not other._gate
    try:
        calls = [
            s.call_tool("get_single_stripe_customer_by_id", {"id": "cus_3"}) for s in (first, first, second, other)
        ]
        results = await asyncio.wait_for(asyncio.gather(*calls), CALL_TIMEOUT)
    finally:
        for s in (first, second, other):
            await s.upstream.aclose()
    assert [outcome.result["isError"] for outcome in results] == [False, False, True, False]


def _sleeping_customer(seconds: float):
    async def behaviour(request: Request) -> Response:
        await asyncio.sleep(seconds)
        return Response(json.dumps({"id": "cus", "object": "customer"}), 200, media_type="application/json")

    return behaviour
