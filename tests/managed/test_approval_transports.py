"""No transport and no era lets a refund reach Stripe without a person's yes.

One approval server, one fake Stripe that records every request, and the refund asked for in each way a
client can ask: Streamable HTTP at 2025-03-26 (no elicitation in that era, even if declared; a batch too),
2025-06-18 (elicitation/create without `mode`), 2025-11-25 and 2026-07-28 (the official client), the legacy
HTTP+SSE transport, and stdio. Without a yes each answers a tool error; not one POST reaches Stripe. The
raw wire is driven with httpx where the official client cannot choose the protocol version.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from cryptography.fernet import Fernet
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters

from mcp import Client
from stripe_mcp.web.settings import Settings
from tests.support.fakes import FakeStripe, respond
from tests.support.in_process import in_process
from tests.support.runtime_process import free_port

pytestmark = pytest.mark.integration  # the app behind uvicorn, the official MCP client, a stdio subprocess

ADMIN_TOKEN = "admin-token-approval-transports-5d1a"
API_KEY = "sk_test_approval_transports_4242"
REFUND = "create_a_stripe_refund"
ARGUMENTS = {"charge": "ch_fake1", "amount": 1500}
CHARGE = {
    "id": "ch_fake1",
    "object": "charge",
    "amount": 4900,
    "amount_refunded": 0,
    "currency": "usd",
    "created": 1793577600,
    "customer": None,
    "receipt_email": "pat@example.com",
}
REFUNDED = {"id": "re_fake1", "object": "refund", "amount": 1500, "currency": "usd", "charge": "ch_fake1"}
QUESTION = "Refund 15.00 USD of charge ch_fake1 (pat@example.com, paid 49.00 USD on 2026-11-02) in TEST mode?"
ACCEPT = "application/json, text/event-stream"
TIMEOUT = 30.0


class Served:
    def __init__(self, fake: FakeStripe, url: str) -> None:
        self.fake = fake
        self.url = url  # the approval server's MCP URL

    def refunds_sent(self) -> int:
        return sum(1 for r in self.fake.requests if r.method == "POST" and r.path == "/v1/refunds")


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    monkeypatch.setenv("STRIPE_MCP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    fake = FakeStripe()
    fake.on("GET", "/v1/charges/ch_fake1", respond(200, CHARGE))
    fake.on("POST", "/v1/refunds", respond(200, REFUNDED, {"Request-Id": "req_refund_1"}))
    await fake.start()
    port = free_port()
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'store.sqlite3'}",
        stripe_base_url=fake.base_url,
        public_url=f"http://127.0.0.1:{port}",
        admin_token=ADMIN_TOKEN,
    )
    try:
        async with (
            in_process(settings, port) as base,
            httpx.AsyncClient(headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10.0) as admin,
        ):
            account = await admin.post(f"{base}/integrated-account", json={"name": "t", "stripe_api_key": API_KEY})
            assert account.status_code == 201, account.text
            # The refund tools only: the official SSE client reads tools/list as one event, and all 468 tools
            # make one over its 1 MiB limit.
            config = {"name": "refund desk", "config": {"approval": "destructive", "tags": ["refund"]}}
            server = await admin.post(f"{base}/integrated-account/{account.json()['id']}/mcp", json=config)
            assert server.status_code == 201, server.text
            yield Served(fake, server.json()["url"])
    finally:
        await fake.stop()


def refund_call(request_id: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": REFUND, "arguments": ARGUMENTS},
    }


async def handshake(http: httpx.AsyncClient, url: str, version: str) -> dict[str, str]:
    """Initialize at `version`, declaring form elicitation; the headers of the session's later requests."""
    params = {
        "protocolVersion": version,
        "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    message = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
    answer = await http.post(url, json=message, headers={"accept": ACCEPT})
    assert answer.status_code == 200 and answer.json()["result"]["protocolVersion"] == version
    return {"accept": ACCEPT, "mcp-session-id": answer.headers["mcp-session-id"], "mcp-protocol-version": version}


def error_code(result: dict[str, Any]) -> str:
    assert result["isError"] is True, result
    return str(result["structuredContent"]["error"]["code"])


async def test_2025_03_26_has_no_elicitation_so_it_gets_approval_required(served: Served) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        headers = await handshake(http, served.url, "2025-03-26")
        single = await http.post(served.url, json=refund_call(1), headers=headers)
        assert single.headers["content-type"].startswith("application/json")  # not asked: no event stream
        assert error_code(single.json()["result"]) == "approval_required"
        batch = await http.post(served.url, json=[refund_call(2)], headers=headers)
        [answer] = batch.json()
        assert error_code(answer["result"]) == "approval_required"
    assert served.refunds_sent() == 0


async def test_2025_06_18_asks_without_a_mode_and_a_no_sends_nothing(served: Served) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        headers = await handshake(http, served.url, "2025-06-18")
        events: list[dict[str, Any]] = []
        async with http.stream("POST", served.url, json=refund_call(1), headers=headers) as stream:
            assert stream.headers["content-type"] == "text/event-stream"
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                events.append(json.loads(line[5:]))
                if events[-1].get("method") == "elicitation/create":
                    asked = events[-1]
                    response = {"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "decline"}}
                    assert (await http.post(served.url, json=response, headers=headers)).status_code == 202
    asked, reply = events[0], events[-1]
    assert asked["params"] == {"message": QUESTION, "requestedSchema": asked["params"]["requestedSchema"]}  # no mode
    assert reply["id"] == 1 and error_code(reply["result"]) == "approval_declined"
    assert served.refunds_sent() == 0


def declining(asked: list[str], action: str = "decline") -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action=action)

    return callback


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_official_client_with_and_without_elicitation(served: Served, mode: str) -> None:
    asked: list[str] = []
    for callback, code in ((None, "approval_required"), (declining(asked, "cancel"), "approval_cancelled")):
        async with Client(served.url, mode=mode, elicitation_callback=callback) as client:
            result = await asyncio.wait_for(client.call_tool(REFUND, ARGUMENTS), TIMEOUT)
        assert result.is_error is True and result.structured_content["error"]["code"] == code
    assert asked == [QUESTION]
    assert served.refunds_sent() == 0


async def test_legacy_sse_asks_on_its_stream_and_runs_only_on_a_yes(served: Served) -> None:
    asked: list[str] = []

    async def refund(callback: Any) -> Any:
        async with (
            sse_client(f"{served.url}/sse") as (read, write),
            ClientSession(read, write, elicitation_callback=callback) as session,
        ):
            await session.initialize()
            return await session.call_tool(REFUND, ARGUMENTS)

    required = await asyncio.wait_for(refund(None), TIMEOUT)
    assert required.is_error is True and required.structured_content["error"]["code"] == "approval_required"
    declined = await asyncio.wait_for(refund(declining(asked)), TIMEOUT)
    assert declined.is_error is True and declined.structured_content["error"]["code"] == "approval_declined"
    assert served.refunds_sent() == 0

    async def yes(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    ran = await asyncio.wait_for(refund(yes), TIMEOUT)
    assert ran.is_error is False and ran.structured_content == REFUNDED
    assert asked == [QUESTION, QUESTION] and served.refunds_sent() == 1


async def test_stdio_refuses_a_client_it_cannot_ask(served: Served) -> None:
    command = ["-m", "stripe_mcp", "stdio", "--approval", "destructive", "--stripe-base-url", served.fake.base_url]
    params = StdioServerParameters(command=sys.executable, args=command, env={**os.environ, "STRIPE_API_KEY": API_KEY})
    async with Client(params, mode="legacy") as client:
        result = await asyncio.wait_for(client.call_tool(REFUND, ARGUMENTS), 60)
    assert result.is_error is True and result.structured_content["error"]["code"] == "approval_unavailable"
    assert served.refunds_sent() == 0
