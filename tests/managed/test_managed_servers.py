"""Every MCP server config option, end to end: admin API -> `stripe-mcp serve` -> the official MCP client.

Upstream is localstripe (seeded through the official stripe SDK), except for the budget test, which counts
requests at tests/fakes.py's FakeStripe. Expiry runs the app in-process with an injected clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from mcp import Client
from stripe_mcp.managed.secrets import token_hash
from stripe_mcp.managed.store.sqlite_store import SqliteStore
from stripe_mcp.tools.registry import Registry
from stripe_mcp.web.runtime import NOT_FOUND_MESSAGE
from stripe_mcp.web.settings import Settings
from tests.support.fakes import FakeStripe, respond
from tests.support.in_process import in_process
from tests.support.runtime_process import RunningServer, free_port, managed_env, serve, serve_managed
from tests.support.seeding import customer_with_card, stripe_client

pytestmark = pytest.mark.integration  # `stripe-mcp serve` processes and localstripe

ADMIN_TOKEN = "admin-token-managed-servers-51c2"
API_KEY = "sk_test_managed_servers_4242"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
VERSION = "2025-06-18"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}},
}
WRITE_KINDS = {"create", "update", "delete", "custom"}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


@pytest.fixture(scope="module")
def seeded(stripe_url: str) -> dict[str, Any]:
    client = stripe_client(stripe_url, API_KEY)
    customer = customer_with_card(client, email="pat@example.com")
    charge = client.v1.charges.create(params={"amount": 4000, "currency": "usd", "customer": customer})
    return {"client": client, "customer": customer, "charge": charge.id}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, stripe_url: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("managed")
    with serve_managed(workdir, stripe_url, ADMIN_TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def account_id(running: RunningServer) -> str:
    created = admin_call(
        running.base_url, "POST", "/integrated-account", json={"name": "shop", "stripe_api_key": API_KEY}
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def admin_call(base_url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    return httpx.request(method, base_url + path, headers=headers, timeout=10.0, **kwargs)


def create_server(
    base_url: str, account: str, config: dict[str, Any], name: str = "server", **extra: Any
) -> dict[str, Any]:
    made = admin_call(
        base_url, "POST", f"/integrated-account/{account}/mcp", json={"name": name, "config": config, **extra}
    )
    assert made.status_code == 201, made.text
    return made.json()


def refunds_of(seeded: dict[str, Any]) -> int:
    return len(seeded["client"].v1.refunds.list(params={"charge": seeded["charge"]}).data)


def structured(result: Any) -> dict[str, Any]:
    assert result.is_error is False, result.content[0].text
    return result.structured_content


async def tool_names(url: str) -> set[str]:
    async with Client(url, mode="legacy") as client:
        return {tool.name for tool in (await client.list_tools()).tools}


# --------------------------------------------------------------------------- filters


async def test_read_only_server(
    running: RunningServer, account_id: str, seeded: dict[str, Any], registry: Registry
) -> None:
    url = create_server(running.base_url, account_id, {"methods": ["read"]})["url"]
    before = refunds_of(seeded)
    async with Client(url, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        names = {tool.name for tool in tools}
        # query_stripe comes with the list and search tools: one more read tool.
        assert names == {n for n, t in registry.tools.items() if t.kind in ("get", "list", "search")} | {"query_stripe"}
        assert not {n for n in names - {"query_stripe"} if registry.tools[n].kind in WRITE_KINDS}
        assert all(tool.annotations.read_only_hint for tool in tools)
        assert "create_a_stripe_refund" not in names
        with pytest.raises(MCPError) as refused:
            await client.call_tool("create_a_stripe_refund", {"charge": seeded["charge"], "amount": 100})
        assert refused.value.error.code == -32602
        # Reads still work.
        charge = structured(await client.call_tool("get_single_stripe_charge_by_id", {"id": seeded["charge"]}))
        assert charge["id"] == seeded["charge"]
    assert refunds_of(seeded) == before


async def test_tag_filter(running: RunningServer, account_id: str, registry: Registry) -> None:
    url = create_server(running.base_url, account_id, {"tags": ["disputes"]})["url"]
    names = await tool_names(url)
    expected = {n for n, t in registry.tools.items() if "disputes" in t.tags}
    assert names == expected | {"query_stripe"} and len(names) >= 3  # it lists disputes
    assert "list_all_stripe_disputes" in names and "create_a_stripe_refund" not in names


async def test_method_filter(
    running: RunningServer, account_id: str, seeded: dict[str, Any], registry: Registry
) -> None:
    url = create_server(running.base_url, account_id, {"methods": ["list"]})["url"]
    async with Client(url, mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {n for n, t in registry.tools.items() if t.kind == "list"} | {"query_stripe"}
        assert names and all(name.startswith("list_") for name in names - {"query_stripe"})
        customers = structured(await client.call_tool("list_all_stripe_customers", {"limit": 10}))
        assert seeded["customer"] in [c["id"] for c in customers["result"]]
        with pytest.raises(MCPError) as refused:
            await client.call_tool("get_single_stripe_customer_by_id", {"id": seeded["customer"]})
        assert refused.value.error.code == -32602


async def test_combined_filters(running: RunningServer, account_id: str, registry: Registry) -> None:
    made = create_server(running.base_url, account_id, {"methods": ["read"], "tags": ["disputes"]})
    expected = {n for n, t in registry.tools.items() if "disputes" in t.tags and t.kind in ("get", "list", "search")}
    assert made["tool_count"] == len(expected)  # the Stripe tools the filters leave
    assert await tool_names(made["url"]) == expected | {"query_stripe"}


# --------------------------------------------------------------------------- API token auth


async def test_require_api_token_auth(running: RunningServer, account_id: str, seeded: dict[str, Any]) -> None:
    url = create_server(running.base_url, account_id, {"methods": ["read"], "require_api_token_auth": True})["url"]
    async with httpx.AsyncClient(timeout=10.0) as http:
        for headers in (
            {},
            {"authorization": "Bearer smcp_api_wrong"},
            {"authorization": f"Bearer {ADMIN_TOKEN}"},
            {"authorization": "Basic dXNlcjpwYXNz"},
        ):
            refused = await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})
            assert refused.status_code == 401, (headers, refused.text)
            assert "error" in refused.json()

    issued = admin_call(running.base_url, "POST", "/api-token")
    assert issued.status_code == 201
    api_token = issued.json()["token"]
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {api_token}"}) as http_client:
        async with Client(streamable_http_client(url, http_client=http_client), mode="legacy") as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert "list_all_stripe_customers" in names
            customer = structured(
                await client.call_tool("get_single_stripe_customer_by_id", {"id": seeded["customer"]})
            )
            assert customer["id"] == seeded["customer"]


# --------------------------------------------------------------------------- revoke


async def test_revoke_through_the_admin_api(running: RunningServer, account_id: str) -> None:
    made = create_server(running.base_url, account_id, {"methods": ["read"]})
    assert "get_single_stripe_balance_by_id" in await tool_names(made["url"])
    revoked = admin_call(running.base_url, "DELETE", f"/integrated-account/{account_id}/mcp/{made['id']}")
    assert revoked.status_code == 204
    async with httpx.AsyncClient(timeout=10.0) as http:
        gone = await http.post(made["url"], json=INITIALIZE, headers=MCP_HEADERS)
    assert gone.status_code == 404
    with pytest.raises(Exception):  # noqa: B017  (the SDK wraps the 404 in an ExceptionGroup)
        await asyncio.wait_for(tool_names(made["url"]), 15)


# --------------------------------------------------------------------------- the runaway-agent guard


async def test_server_budget_stops_the_fourth_call(tmp_path: Path) -> None:
    fake = FakeStripe()
    fake.on(
        "GET", "/v1/customers", respond(200, {"object": "list", "data": [], "has_more": False, "url": "/v1/customers"})
    )
    await fake.start()
    env = managed_env(ADMIN_TOKEN)
    args = (
        "--store",
        f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "--stripe-base-url",
        fake.base_url,
        "--server-budget",
        "3/60",
    )
    try:
        with serve(tmp_path, *args, env=env) as server:
            async with httpx.AsyncClient(timeout=10.0) as http:
                auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
                account = await http.post(
                    f"{server.base_url}/integrated-account",
                    headers=auth,
                    json={"name": "runaway", "stripe_api_key": API_KEY},
                )
                assert account.status_code == 201, account.text
                made = await http.post(
                    f"{server.base_url}/integrated-account/{account.json()['id']}/mcp",
                    headers=auth,
                    json={"name": "agent", "config": {"methods": ["read"]}},
                )
                assert made.status_code == 201, made.text
                url = made.json()["url"]

                started = await http.post(url, json=INITIALIZE, headers=MCP_HEADERS)
                assert started.status_code == 200, started.text
                session = {
                    **MCP_HEADERS,
                    "mcp-session-id": started.headers["mcp-session-id"],
                    "mcp-protocol-version": VERSION,
                }
                answers = []
                for index in range(1, 5):
                    call = {
                        "jsonrpc": "2.0",
                        "id": index,
                        "method": "tools/call",
                        "params": {"name": "list_all_stripe_customers", "arguments": {"limit": 1}},
                    }
                    answers.append(await http.post(url, json=call, headers=session))

                assert [a.status_code for a in answers] == [200, 200, 200, 429]
                for answer in answers[:3]:
                    assert answer.json()["result"]["isError"] is False, answer.text
                blocked = answers[3]
                assert blocked.headers["ratelimit-limit"] == "3"
                assert blocked.headers["ratelimit-remaining"] == "0"
                reset = int(blocked.headers["ratelimit-reset"])
                assert 1 <= reset <= 60
                assert int(blocked.headers["retry-after"]) == reset
                assert "error" in blocked.json()
                # Listing tools is not a tool call: still answered.
                listed = await http.post(url, json={"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, headers=session)
                assert listed.status_code == 200
        assert len(fake.requests) == 3
        assert all(r.path == "/v1/customers" for r in fake.requests)
    finally:
        await fake.stop()


# --------------------------------------------------------------------------- expiry with an injected clock


async def not_found_answers(http: httpx.AsyncClient, url: str) -> list[tuple[int, str, bytes]]:
    answers = [
        await http.post(url, json=INITIALIZE, headers=MCP_HEADERS),
        await http.get(url, headers={"accept": "text/event-stream"}),
        await http.delete(url),
        await http.get(f"{url}/sse", headers={"accept": "text/event-stream"}),
    ]
    return [(a.status_code, a.headers.get("content-type", ""), a.content) for a in answers]


async def test_expiry_with_an_injected_clock(tmp_path: Path, stripe_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_MCP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    now = [time.time()]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'store.sqlite3'}",
        stripe_base_url=stripe_url,
        public_url=base,
        admin_token=ADMIN_TOKEN,
        clock=lambda: now[0],
    )
    async with (
        in_process(settings, port),
        httpx.AsyncClient(timeout=10.0, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}) as admin,
    ):
        account = await admin.post(f"{base}/integrated-account", json={"name": "clock", "stripe_api_key": API_KEY})
        assert account.status_code == 201, account.text
        servers = f"{base}/integrated-account/{account.json()['id']}/mcp"
        expiring = await admin.post(
            servers, json={"name": "soon", "config": {"methods": ["read"]}, "expires_at": now[0] + 120}
        )
        assert expiring.status_code == 201, expiring.text
        revoked = await admin.post(servers, json={"name": "revoked", "config": {"methods": ["read"]}})
        assert revoked.status_code == 201, revoked.text
        expiring_url, revoked_url = expiring.json()["url"], revoked.json()["url"]

        assert "get_single_stripe_balance_by_id" in await tool_names(expiring_url)
        assert (await admin.delete(f"{servers}/{revoked.json()['id']}")).status_code == 204

        now[0] += 119  # still one second to go
        assert "get_single_stripe_balance_by_id" in await tool_names(expiring_url)
        now[0] += 2  # past expires_at, with the server still in the resolve cache
        async with httpx.AsyncClient(timeout=10.0) as http:
            expired = await not_found_answers(http, expiring_url)
            unknown = await not_found_answers(http, f"{base}/mcp/smcp_{'x' * 43}")
            gone = await not_found_answers(http, revoked_url)
        assert all(status == 404 for status, _, _ in expired)
        assert expired == unknown == gone
        assert json.loads(expired[0][2])["error"] == {"code": "not_found", "message": NOT_FOUND_MESSAGE}
        assert "mistyped, revoked or expired" in NOT_FOUND_MESSAGE and "Ask the admin" in NOT_FOUND_MESSAGE

        listed = await admin.get(servers)
        assert [s["name"] for s in listed.json()["data"]] == []

    # No clean-up ran: the expired server is still in the store, refused by its expires_at alone.
    store = SqliteStore(tmp_path / "store.sqlite3")
    try:
        record = await store.server_by_token_hash(token_hash(expiring_url.rsplit("/", 1)[1]))
        assert record is not None and record.expires_at is not None and record.expires_at < now[0]
    finally:
        await store.close()
