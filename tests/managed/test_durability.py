"""kill -9 of `stripe-mcp serve` in the middle of a burst, then a restart on the same store (SQLite and Redis).

Two bursts, each cut by SIGKILL while requests are in flight:
* provisioning: 8 threads creating integrated accounts, MCP servers and API tokens through the admin API;
* tool calls: 16 threads calling tools (each takes two budgets and records usage in the store).

After the restart, every server, token and account the admin API answered 201 for is there and works
(each server URL initializes and lists the tools its 201 promised; each API token opens a server that
requires one), and the store holds no half record: every account decrypts, every server row has a complete
config and an existing account, every index entry points at a record (SQLite also passes
`PRAGMA integrity_check` and `PRAGMA foreign_key_check`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.managed.store import open_store
from tests.support.runtime_process import RunningServer, serve

pytestmark = pytest.mark.integration  # `stripe-mcp serve` processes killed with -9, on SQLite and redis-server

ADMIN_TOKEN = "admin-token-durability-4d7e"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
VERSION = "2025-06-18"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "durability", "version": "0"}},
}
BURST_SECONDS = (0.8, 1.6)  # the kill lands at a random moment in this range
WORKER_DEADLINE = 20.0
REDIS_DB = 7
CONFIGS = [
    {"methods": ["read"]},
    {"methods": ["read"], "tags": ["disputes"]},
    {"methods": ["create"], "tags": ["payments"], "tool_exposure": "discovery"},
    {"methods": ["read"], "tags": ["customers"], "require_api_token_auth": True},
]


@dataclass
class Acked:
    """What the admin API acknowledged with a 201 before the kill."""

    accounts: dict[str, str] = field(default_factory=dict)  # id -> name
    servers: list[dict[str, Any]] = field(default_factory=list)  # 201 bodies (url holds the token)
    api_tokens: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    interrupted: int = 0  # requests cut by the kill


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    running = request.getfixturevalue("redis_service")
    running.flush(REDIS_DB)
    return running.url(REDIS_DB)


@pytest.fixture
def env() -> dict[str, str]:
    return {
        "STRIPE_MCP_ADMIN_TOKEN": ADMIN_TOKEN,
        "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "STRIPE_API_KEY": "",
    }


@contextmanager
def serving(tmp_path: Path, store_url: str, env: dict[str, str]) -> Iterator[RunningServer]:
    args = (
        "--store",
        store_url,
        "--stripe-base-url",
        "http://127.0.0.1:9",
        "--upstream-timeout",
        "2",
        "--server-budget",
        "1000000/1",
        "--account-budget",
        "1000000/1",
    )
    with serve(tmp_path, *args, env=env) as server:
        yield server


def admin(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10.0)


def kill_during(running: RunningServer, workers: list[Callable[[], None]]) -> None:
    """Start the workers, SIGKILL the server at a random moment, then wait (bounded) for the workers."""
    threads = [threading.Thread(target=work, daemon=True) for work in workers]
    for thread in threads:
        thread.start()
    time.sleep(random.uniform(*BURST_SECONDS))
    os.kill(running.process.pid, signal.SIGKILL)
    running.process.wait(10)
    for thread in threads:
        thread.join(WORKER_DEADLINE)
        assert not thread.is_alive()


def provisioning_worker(base_url: str, acked: Acked, seed: int) -> Callable[[], None]:
    chooser = random.Random(seed)
    expiry = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")

    def work() -> None:
        deadline = time.monotonic() + WORKER_DEADLINE
        with admin(base_url) as client:
            for index in itertools.count():
                if time.monotonic() > deadline:
                    return
                kind = chooser.choice(["account", "server", "server", "token"])
                try:
                    if kind == "account":
                        name = f"acct-{seed}-{index}"
                        response = client.post(
                            "/integrated-account",
                            json={"name": name, "stripe_api_key": f"sk_test_durable_{seed}_{index}_abcdef"},
                        )
                        if response.status_code == 201:
                            with acked.lock:
                                acked.accounts[response.json()["id"]] = name
                    elif kind == "server":
                        with acked.lock:
                            account_id = chooser.choice(sorted(acked.accounts))
                        body: dict[str, Any] = {"name": f"srv-{seed}-{index}", "config": chooser.choice(CONFIGS)}
                        if chooser.random() < 0.3:
                            body["expires_at"] = expiry
                        response = client.post(f"/integrated-account/{account_id}/mcp", json=body)
                        if response.status_code == 201:
                            with acked.lock:
                                acked.servers.append({**response.json(), "account_id": account_id})
                    else:
                        response = client.post("/api-token")
                        if response.status_code == 201:
                            with acked.lock:
                                acked.api_tokens.append(response.json()["token"])
                    assert response.status_code == 201, response.text
                except httpx.TransportError:
                    with acked.lock:
                        acked.interrupted += 1
                    return

    return work


def tool_call_worker(url: str, acked: Acked, seed: int) -> Callable[[], None]:
    def work() -> None:
        deadline = time.monotonic() + WORKER_DEADLINE
        with httpx.Client(timeout=10.0) as client:
            try:
                session = client.post(url, json=INITIALIZE, headers=MCP_HEADERS).headers["mcp-session-id"]
                headers = {**MCP_HEADERS, "mcp-session-id": session, "mcp-protocol-version": VERSION}
                for index in itertools.count():
                    if time.monotonic() > deadline:
                        return
                    message = {
                        "jsonrpc": "2.0",
                        "id": index,
                        "method": "tools/call",
                        "params": {
                            "name": "get_single_stripe_customer_by_id",
                            "arguments": {"id": f"cus_{seed}_{index}"},
                        },
                    }
                    response = client.post(url, json=message, headers=headers)
                    assert response.status_code == 200 and response.json()["result"]["isError"] is True  # nobody at :9
            except httpx.TransportError:
                with acked.lock:
                    acked.interrupted += 1

    return work


# --------------------------------------------------------------------------- after the restart


def check_acknowledged(base_url: str, acked: Acked, api_token_server_url: str) -> None:
    with admin(base_url) as client, httpx.Client(timeout=10.0) as http:
        listed = client.get("/integrated-account")
        assert listed.status_code == 200
        names = {account["id"]: account["name"] for account in listed.json()["data"]}
        for account_id, name in acked.accounts.items():
            assert names.get(account_id) == name, f"acknowledged account {account_id} lost"
        by_account: dict[str, set[str]] = {}
        for server in acked.servers:
            if server["account_id"] not in by_account:
                answer = client.get(f"/integrated-account/{server['account_id']}/mcp")
                assert answer.status_code == 200, answer.text
                by_account[server["account_id"]] = {s["id"] for s in answer.json()["data"]}
            assert server["id"] in by_account[server["account_id"]], f"acknowledged server {server['id']} not listed"
            url = base_url + "/mcp/" + server["url"].rsplit("/mcp/", 1)[1]
            auth = (
                {"authorization": f"Bearer {acked.api_tokens[0]}"} if server["config"]["require_api_token_auth"] else {}
            )
            answer = http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **auth})
            assert answer.status_code == 200, (server["id"], answer.status_code, answer.text)
            headers = {
                **MCP_HEADERS,
                **auth,
                "mcp-session-id": answer.headers["mcp-session-id"],
                "mcp-protocol-version": VERSION,
            }
            tools = http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers)
            expected = 3 if server["config"]["tool_exposure"] == "discovery" else server["tool_count"]
            listed = [tool["name"] for tool in tools.json()["result"]["tools"]]
            assert len([name for name in listed if name != "query_stripe"]) == expected  # tool_count: Stripe's tools
        for token in acked.api_tokens:
            answer = http.post(
                api_token_server_url.replace("BASE", base_url),
                json=INITIALIZE,
                headers={**MCP_HEADERS, "authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, f"acknowledged API token lost ({answer.status_code})"


def check_store(store_url: str, encryption_key: str) -> dict[str, int]:
    """No half record, read through the store's own interface, plus each backend's own checks."""
    keys = KeyBox(encryption_key.encode())

    async def run() -> dict[str, int]:
        store = open_store(store_url)
        try:
            accounts = await store.list_accounts()
            servers = 0
            for account in accounts:
                assert account.name and account.created_at > 0
                assert keys.decrypt(account.encrypted_key).startswith("sk_test_")
                assert account.key_hint.startswith("sk_test_...")
                for record in await store.list_servers(account.id):
                    servers += 1
                    assert record.account_id == account.id and record.name and record.created_at > 0
                    assert {"methods", "tags", "require_api_token_auth", "tool_exposure"} <= set(record.config)
                    again = await store.server_by_token_hash(record.token_hash)
                    assert again is not None and again.id == record.id
            return {"accounts": len(accounts), "servers": servers}
        finally:
            await store.close()

    counts = asyncio.run(run())
    if store_url.startswith("sqlite:///"):
        with sqlite3.connect(store_url[len("sqlite:///") :]) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
            assert db.execute("SELECT COUNT(*) FROM servers").fetchone()[0] == counts["servers"]  # no orphan row
            for (config,) in db.execute("SELECT config FROM servers"):
                assert isinstance(json.loads(config), dict)
    else:
        import redis

        from stripe_mcp.managed.store.redis_store import PREFIX

        client = redis.Redis.from_url(store_url, decode_responses=True, socket_timeout=5)
        try:
            indexed = {}
            for account_id in client.zrange(PREFIX + "accounts", 0, -1):
                assert client.hgetall(PREFIX + f"account:{account_id}").keys() >= {
                    "name",
                    "encrypted_key",
                    "key_hint",
                    "created_at",
                }
                for server_id, hashed in client.hgetall(PREFIX + f"servers:{account_id}").items():
                    indexed[hashed] = server_id
            for key in client.scan_iter(PREFIX + "server:*", count=500):
                data = json.loads(client.get(key))
                assert indexed.get(key.rsplit(":", 1)[1]) == data["id"], (
                    f"server record {data['id']} missing from its index"
                )
            for key in client.scan_iter(PREFIX + "account:*", count=500):
                assert client.zscore(PREFIX + "accounts", key.rsplit(":", 1)[1]) is not None, f"{key} not indexed"
            assert len(indexed) == counts["servers"]
        finally:
            client.close()
    return counts


# --------------------------------------------------------------------------- the two bursts


def _seed(base_url: str) -> tuple[str, str]:
    """An account, an API token and a server requiring one: (account id, that server's URL with BASE for its base)."""
    with admin(base_url) as client:
        account = client.post(
            "/integrated-account", json={"name": "seed", "stripe_api_key": "sk_test_durable_seed_0000"}
        )
        assert account.status_code == 201
        locked = client.post(
            f"/integrated-account/{account.json()['id']}/mcp",
            json={"name": "locked", "config": {"methods": ["read"], "require_api_token_auth": True}},
        )
        assert locked.status_code == 201
        return account.json()["id"], "BASE/mcp/" + locked.json()["url"].rsplit("/mcp/", 1)[1]


def test_kill_9_during_provisioning(tmp_path: Path, store_url: str, env: dict[str, str]) -> None:
    acked = Acked()
    with serving(tmp_path, store_url, env) as running:
        account_id, locked_url = _seed(running.base_url)
        acked.accounts[account_id] = "seed"
        with admin(running.base_url) as client:
            acked.api_tokens.append(client.post("/api-token").json()["token"])
        kill_during(running, [provisioning_worker(running.base_url, acked, seed) for seed in range(8)])
    assert len(acked.accounts) > 5 and len(acked.servers) > 5 and len(acked.api_tokens) > 2, acked
    assert acked.interrupted > 0  # the kill cut requests in flight
    with serving(tmp_path, store_url, env) as running:
        check_acknowledged(running.base_url, acked, locked_url)
    counts = check_store(store_url, env["STRIPE_MCP_ENCRYPTION_KEY"])
    assert counts["accounts"] >= len(acked.accounts) and counts["servers"] >= len(acked.servers) + 1
    print(
        f"\nprovisioning burst killed: acknowledged {len(acked.accounts)} accounts, {len(acked.servers)} servers, "
        f"{len(acked.api_tokens)} API tokens, {acked.interrupted} requests cut; store after restart: {counts}"
    )


def test_kill_9_during_tool_calls(tmp_path: Path, store_url: str, env: dict[str, str]) -> None:
    acked = Acked()
    with serving(tmp_path, store_url, env) as running:
        account_id, locked_url = _seed(running.base_url)
        acked.accounts[account_id] = "seed"
        with admin(running.base_url) as client:
            acked.api_tokens.append(client.post("/api-token").json()["token"])
            for index in range(4):
                made = client.post(
                    f"/integrated-account/{account_id}/mcp",
                    json={"name": f"busy-{index}", "config": {"methods": ["read"]}},
                )
                assert made.status_code == 201
                acked.servers.append({**made.json(), "account_id": account_id})
        urls = [server["url"] for server in acked.servers]
        kill_during(running, [tool_call_worker(urls[seed % len(urls)], acked, seed) for seed in range(16)])
    assert acked.interrupted > 0
    with serving(tmp_path, store_url, env) as running:
        check_acknowledged(running.base_url, acked, locked_url)
        url = running.base_url + "/mcp/" + acked.servers[0]["url"].rsplit("/mcp/", 1)[1]
        with httpx.Client(timeout=10.0) as http:
            session = http.post(url, json=INITIALIZE, headers=MCP_HEADERS).headers["mcp-session-id"]
            headers = {**MCP_HEADERS, "mcp-session-id": session, "mcp-protocol-version": VERSION}
            for index in range(5):  # budgets and usage keep counting after the restart
                message = {
                    "jsonrpc": "2.0",
                    "id": index,
                    "method": "tools/call",
                    "params": {"name": "get_single_stripe_customer_by_id", "arguments": {"id": "cus_1"}},
                }
                answer = http.post(url, json=message, headers=headers)
                assert answer.status_code == 200 and answer.json()["result"]["isError"] is True
    check_store(store_url, env["STRIPE_MCP_ENCRYPTION_KEY"])
