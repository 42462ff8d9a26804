"""Budgets and usage counted in memory by `stripe-mcp serve`: nothing is lost on SIGTERM, and two processes on one
SQLite file share their calls within a second. Upstream: tests/fakes.py's FakeStripe, which counts requests."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from stripe_mcp.managed.store import open_store
from tests.support.fakes import FakeStripe, respond
from tests.support.redis_server import RunningRedis
from tests.support.runtime_process import RunningServer, serve

pytestmark = pytest.mark.integration  # `stripe-mcp serve` processes, on SQLite and redis-server

ADMIN_TOKEN = "admin-token-accounting-73a1"
API_KEY = "sk_test_accounting_4242"
AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}
VERSION = "2025-06-18"
MCP_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": VERSION,
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}},
}
REDIS_DB = 9
SHARE_SECONDS = 1.0 + 0.3  # two flush intervals (2 x 0.5 s), and scheduling slack


@pytest.fixture(params=["sqlite", pytest.param("redis")])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    running: RunningRedis = request.getfixturevalue("redis_service")
    running.flush(REDIS_DB)
    return running.url(REDIS_DB)


@pytest.fixture
def env() -> dict[str, str]:
    return {
        "STRIPE_MCP_ADMIN_TOKEN": ADMIN_TOKEN,
        "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "STRIPE_API_KEY": "",
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    stripe = FakeStripe()
    stripe.on("GET", "/v1/balance", respond(200, {"object": "balance", "available": [], "pending": []}))
    await stripe.start()
    try:
        yield stripe
    finally:
        await stripe.stop()


def serve_args(store_url: str, fake: FakeStripe) -> tuple[str, ...]:
    return ("--store", store_url, "--stripe-base-url", fake.base_url, "--server-budget", "5/600")


async def make_server(http: httpx.AsyncClient, running: RunningServer) -> dict[str, Any]:
    account = await http.post(
        f"{running.base_url}/integrated-account", headers=AUTH, json={"name": "counted", "stripe_api_key": API_KEY}
    )
    assert account.status_code == 201, account.text
    made = await http.post(
        f"{running.base_url}/integrated-account/{account.json()['id']}/mcp",
        headers=AUTH,
        json={"name": "agent", "config": {"methods": ["read"]}},
    )
    assert made.status_code == 201, made.text
    return {"account_id": account.json()["id"], **made.json()}


async def call_balance(http: httpx.AsyncClient, running: RunningServer, url: str, count: int) -> list[int]:
    """`count` tool calls in one session on `running`; their HTTP statuses."""
    url = f"{running.base_url}/mcp/{url.rsplit('/', 1)[1]}"
    started = await http.post(url, json=INITIALIZE, headers=MCP_HEADERS)
    assert started.status_code == 200, started.text
    session = {**MCP_HEADERS, "mcp-session-id": started.headers["mcp-session-id"]}
    statuses = []
    for index in range(count):
        body = {
            "jsonrpc": "2.0",
            "id": index + 1,
            "method": "tools/call",
            "params": {"name": "get_single_stripe_balance_by_id", "arguments": {}},
        }
        statuses.append((await http.post(url, json=body, headers=session)).status_code)
    return statuses


async def calls_24h(http: httpx.AsyncClient, running: RunningServer, made: dict[str, Any]) -> int:
    listed = await http.get(f"{running.base_url}/integrated-account/{made['account_id']}/mcp", headers=AUTH)
    return next(s["calls_24h"] for s in listed.json()["data"] if s["id"] == made["id"])


async def test_sigterm_loses_no_usage_and_no_budget_call(
    tmp_path: Path, store_url: str, env: dict[str, str], fake: FakeStripe
) -> None:
    async with httpx.AsyncClient(timeout=10.0) as http:
        with serve(tmp_path, *serve_args(store_url, fake), env=env) as first:
            made = await make_server(http, first)
            assert await call_balance(http, first, made["url"], 3) == [200, 200, 200]
            first.process.send_signal(signal.SIGTERM)  # at once: before the next periodic flush, most times
            first.process.wait(10)  # uvicorn shuts down in order, then re-raises the signal (exit status -15)
            assert "Traceback" not in first.printed
        store = open_store(store_url)
        try:
            now = time.time()
            last_used, calls = await store.server_usage(made["id"], now)
        finally:
            await store.close()
        assert calls == 3 and last_used is not None and now - 10 < last_used <= now
        with serve(tmp_path, *serve_args(store_url, fake), env=env) as second:
            # The budget of 5 per 600 s remembers the 3 calls made before the restart.
            assert await call_balance(http, second, made["url"], 3) == [200, 200, 429]
            assert await calls_24h(http, second, made) == 5
    assert len(fake.requests) == 5


async def test_two_processes_on_one_sqlite_file_share_their_calls_within_a_second(
    tmp_path: Path, env: dict[str, str], fake: FakeStripe
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    args = serve_args(store_url, fake)
    async with httpx.AsyncClient(timeout=10.0) as http:
        with serve(tmp_path, *args, env=env) as a, serve(tmp_path, *args, env=env) as b:
            made = await make_server(http, a)
            assert await call_balance(http, a, made["url"], 4) == [200, 200, 200, 200]
            await asyncio.sleep(SHARE_SECONDS)
            assert await calls_24h(http, b, made) == 4
            assert await call_balance(http, b, made["url"], 2) == [200, 429]
            await asyncio.sleep(SHARE_SECONDS)
            assert await call_balance(http, a, made["url"], 1) == [429]
            assert await calls_24h(http, a, made) == 5
    assert len(fake.requests) == 5
