"""Two `stripe-mcp serve` replicas sharing one redis-server; and the SQLite store across a kill -9."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp import Client
from tests.support.redis_server import RunningRedis
from tests.support.runtime_process import RunningServer, managed_env, serve

pytestmark = pytest.mark.integration  # two `stripe-mcp serve` replicas on redis-server, and localstripe

ADMIN_TOKEN = "admin-token-replicas-8d21"
API_KEY = "sk_test_replicas_4242"
REPLICA_DB = 2
VERSION = "2025-06-18"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}},
}
REVOKE_LIMIT = 1.0 + 0.3  # the resolve cache holds 0.5 s; the CONTRACT-level promise is one second
AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def replicas(
    redis_service: RunningRedis, tmp_path_factory: pytest.TempPathFactory, stripe_url: str
) -> Iterator[tuple[RunningServer, RunningServer]]:
    redis_service.flush(REPLICA_DB)
    env = managed_env(ADMIN_TOKEN)
    args = ("--store", redis_service.url(REPLICA_DB), "--stripe-base-url", stripe_url, "--server-budget", "4/60")
    with (
        serve(tmp_path_factory.mktemp("replica-a"), *args, env=env) as a,
        serve(tmp_path_factory.mktemp("replica-b"), *args, env=env) as b,
    ):
        yield a, b
    redis_service.flush(REPLICA_DB)


@pytest.fixture(scope="module")
def account_id(replicas: tuple[RunningServer, RunningServer]) -> str:
    a, _ = replicas
    created = httpx.post(
        f"{a.base_url}/integrated-account", headers=AUTH, json={"name": "shop", "stripe_api_key": API_KEY}, timeout=10
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def create_on(replica: RunningServer, account: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    made = httpx.post(
        f"{replica.base_url}/integrated-account/{account}/mcp",
        headers=AUTH,
        json={"name": "replicated", "config": config or {"methods": ["read"]}},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    return made.json()


def on(replica: RunningServer, url: str) -> str:
    return f"{replica.base_url}/mcp/{url.rsplit('/', 1)[1]}"


async def start_session(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    started = await http.post(url, json=INITIALIZE, headers=MCP_HEADERS)
    assert started.status_code == 200, started.text
    return {**MCP_HEADERS, "mcp-session-id": started.headers["mcp-session-id"], "mcp-protocol-version": VERSION}


def call(request_id: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "list_all_stripe_customers", "arguments": {"limit": 1}},
    }


async def test_a_server_created_on_a_answers_on_b(
    replicas: tuple[RunningServer, RunningServer], account_id: str
) -> None:
    a, b = replicas
    made = create_on(a, account_id)
    assert made["url"].startswith(a.base_url)
    async with Client(on(b, made["url"]), mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "get_single_stripe_balance_by_id" in names and "create_a_stripe_refund" not in names
        result = await client.call_tool("list_all_stripe_customers", {"limit": 1})
        assert result.is_error is False, result.content[0].text


async def test_a_session_issued_by_a_is_accepted_by_b(
    replicas: tuple[RunningServer, RunningServer], account_id: str
) -> None:
    a, b = replicas
    made = create_on(a, account_id)
    async with httpx.AsyncClient(timeout=10.0) as http:
        session = await start_session(http, on(a, made["url"]))
        await http.post(
            on(a, made["url"]), json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session
        )
        listed = await http.post(
            on(b, made["url"]), json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=session
        )
        assert listed.status_code == 200, listed.text
        assert any(tool["name"] == "list_all_stripe_customers" for tool in listed.json()["result"]["tools"])
        # A session id is bound to its server: another server's URL does not take it.
        other = create_on(b, account_id)
        foreign = await http.post(
            on(b, other["url"]), json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=session
        )
        assert foreign.status_code == 404


async def test_a_revoke_on_a_holds_on_b_within_a_second(
    replicas: tuple[RunningServer, RunningServer], account_id: str
) -> None:
    a, b = replicas
    made = create_on(a, account_id)
    url_b = on(b, made["url"])
    async with httpx.AsyncClient(timeout=10.0) as http:
        assert (await http.post(url_b, json=INITIALIZE, headers=MCP_HEADERS)).status_code == 200  # in B's cache now
        revoked = await http.delete(f"{a.base_url}/integrated-account/{account_id}/mcp/{made['id']}", headers=AUTH)
        assert revoked.status_code == 204
        started = time.monotonic()
        assert (await http.post(on(a, made["url"]), json=INITIALIZE, headers=MCP_HEADERS)).status_code == 404
        while (status := (await http.post(url_b, json=INITIALIZE, headers=MCP_HEADERS)).status_code) != 404:
            assert status == 200
            assert time.monotonic() - started < REVOKE_LIMIT, "B still serves a server revoked on A"
            await asyncio.sleep(0.02)
        assert time.monotonic() - started < REVOKE_LIMIT


async def test_the_budget_is_shared(replicas: tuple[RunningServer, RunningServer], account_id: str) -> None:
    a, b = replicas
    made = create_on(a, account_id)
    url_a, url_b = on(a, made["url"]), on(b, made["url"])
    async with httpx.AsyncClient(timeout=10.0) as http:
        session = await start_session(http, url_a)
        statuses = [
            (await http.post(url, json=call(i), headers=session)).status_code
            for i, url in enumerate([url_a, url_a, url_b, url_b])
        ]
        assert statuses == [200, 200, 200, 200]
        for url in (url_a, url_b):
            blocked = await http.post(url, json=call(9), headers=session)
            assert blocked.status_code == 429, blocked.text
            assert (blocked.headers["ratelimit-limit"], blocked.headers["ratelimit-remaining"]) == ("4", "0")
            assert "retry-after" in blocked.headers


# --------------------------------------------------------------------------- SQLite and kill -9


async def test_sqlite_survives_kill_9(tmp_path: Path, stripe_url: str) -> None:
    env = managed_env(ADMIN_TOKEN)
    args = ("--store", f"sqlite:///{tmp_path / 'store.sqlite3'}", "--stripe-base-url", stripe_url)
    with serve(tmp_path, *args, env=env) as first:
        async with httpx.AsyncClient(base_url=first.base_url, headers=AUTH, timeout=10.0) as http:
            account = await http.post("/integrated-account", json={"name": "burst", "stripe_api_key": API_KEY})
            assert account.status_code == 201
            account_path = f"/integrated-account/{account.json()['id']}/mcp"
            made = await asyncio.gather(
                *(http.post(account_path, json={"name": f"s{i}", "config": {"methods": ["read"]}}) for i in range(24))
            )
        first.process.kill()  # SIGKILL right after the last acknowledgement
        first.process.wait(timeout=10)
    assert all(m.status_code == 201 for m in made)
    acknowledged = {m.json()["id"]: m.json()["url"].rsplit("/", 1)[1] for m in made}

    with serve(tmp_path, *args, env=env) as second:
        async with httpx.AsyncClient(base_url=second.base_url, timeout=10.0) as http:
            listed = await http.get(account_path, headers=AUTH)
            assert listed.status_code == 200
            assert set(acknowledged) <= {s["id"] for s in listed.json()["data"]}
            for token in acknowledged.values():
                answer = await http.post(f"/mcp/{token}", json=INITIALIZE, headers=MCP_HEADERS)
                assert answer.status_code == 200, answer.text
