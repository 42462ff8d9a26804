"""A realistic session, then a scan for every secret it used: none may appear in plain text where it should not.

The session, on a real `stripe-mcp serve` (SQLite or Redis store) in front of tests/fakes.py's FakeStripe:
the admin API creates accounts (a test key and a live restricted key), API tokens and servers (one needing an
API token, one revoked later), lists them and refuses bad input; agents call tools that succeed, fail with
Stripe errors that echo the key back, time out, hit Stripe 429s, go over the call budget (429 -32029), and
knock with a missing or wrong API token.

Then every place a secret could leak is read: the server's stdout and stderr, every MCP response (body and
headers), every admin response, and the store (the SQLite file with its -wal and -shm, or every Redis value).
The Stripe keys, the admin token, the encryption key, the MCP URL tokens and the API tokens may appear
nowhere, except: each creation response shows its own new token once (that is the API), and the startup line
prints the URL of the default server for STRIPE_API_KEY (by design; it is that line's purpose).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from starlette.requests import Request
from starlette.responses import Response

from tests.support.fakes import (  # noqa: F401  (fixture)
    FakeStripe,
    respond,
    sleep_then,
    stripe_error,
)
from tests.support.runtime_process import RunningServer, serve

pytestmark = pytest.mark.integration  # `stripe-mcp serve` processes on SQLite and redis-server

ADMIN_TOKEN = "admin-token-secrets-scan-Zq81xYw"
DEFAULT_KEY = "sk_test_51DefaultKeyOfTheRunSecretAAAA1111"
TEST_KEY = "sk_test_51AccountKeySecretBBBB2222cccc"
LIVE_KEY = "rk_live_51RestrictedLiveKeySecretDDDD3333"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
VERSION = "2025-06-18"
MODERN = "2026-07-28"
REDIS_DB = 8
SERVER_BUDGET = 25


def _echo_key(status: int, kind: str) -> Any:
    """A Stripe error that quotes the caller's whole key back (Stripe itself masks most of it)."""

    async def behaviour(request: Request) -> Response:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        body = {
            "error": {
                "type": kind,
                "code": "api_key_expired",
                "message": f"Expired API Key provided: {key}",
                "param": key,
            }
        }
        return Response(json.dumps(body), status, {"request-id": "req_echo", "x-echo": key}, "application/json")

    return behaviour


async def _html_echo(request: Request) -> Response:
    headers = "".join(f"{name}: {value}\n" for name, value in request.headers.items())
    return Response(f"<html><pre>{headers}</pre></html>", 502, media_type="text/html")


class Scan:
    """Every body and header the clients received, with the secrets each one may legitimately show."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, frozenset[str]]] = []  # (where, text, allowed secrets)

    def add(self, where: str, response: httpx.Response, allowed: frozenset[str] = frozenset()) -> httpx.Response:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.seen.append((where, f"{response.status_code}\n{headers}\n{response.text}", allowed))
        return response


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    running = request.getfixturevalue("redis_service")
    running.flush(REDIS_DB)
    return running.url(REDIS_DB)


def store_contents(store_url: str) -> list[tuple[str, bytes]]:
    if store_url.startswith("sqlite:///"):
        path = Path(store_url[len("sqlite:///") :])
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return [(str(f), f.read_bytes()) for f in files if f.exists()]
    import redis

    client = redis.Redis.from_url(store_url, socket_timeout=5)
    try:
        found = []
        for key in client.scan_iter(count=500):
            kind = client.type(key)
            if kind == b"string":
                value = client.get(key) or b""
            elif kind == b"hash":
                value = b"\n".join(k + b"=" + v for k, v in client.hgetall(key).items())
            elif kind == b"zset":
                value = b"\n".join(member for member, _ in client.zrange(key, 0, -1, withscores=True))
            elif kind == b"set":
                value = b"\n".join(client.smembers(key))
            elif kind == b"list":
                value = b"\n".join(client.lrange(key, 0, -1))
            else:
                value = b""
            found.append((key.decode(), key + b"\n" + value))
        return found
    finally:
        client.close()


async def test_no_secret_in_logs_responses_or_store(tmp_path: Path, store_url: str, fake_stripe: FakeStripe) -> None:
    encryption_key = Fernet.generate_key().decode()
    env = {
        "STRIPE_MCP_ADMIN_TOKEN": ADMIN_TOKEN,
        "STRIPE_MCP_ENCRYPTION_KEY": encryption_key,
        "STRIPE_API_KEY": DEFAULT_KEY,
    }
    fake_stripe.on(
        "GET", "/v1/customers/cus_ok", respond(200, {"id": "cus_ok", "object": "customer", "email": "pat@example.com"})
    )
    fake_stripe.on("GET", "/v1/customers/cus_expired", _echo_key(401, "invalid_request_error"))
    fake_stripe.on("POST", "/v1/refunds", _echo_key(402, "card_error"))
    fake_stripe.on("GET", "/v1/charges/ch_html", _html_echo)
    fake_stripe.on("GET", "/v1/charges/ch_slow", sleep_then(1.3, respond(200, {"id": "ch_slow"})))
    fake_stripe.on(
        "GET",
        "/v1/charges/ch_limited",
        stripe_error(
            429,
            type="invalid_request_error",
            code="rate_limit",
            message="Too many requests",
            headers={"Retry-After": "1", "Stripe-Rate-Limited-Reason": "global-rate"},
        ),
    )
    scan = Scan()
    secrets: dict[str, str] = {
        "admin token": ADMIN_TOKEN,
        "encryption key": encryption_key,
        "STRIPE_API_KEY": DEFAULT_KEY,
        "test key": TEST_KEY,
        "live key": LIVE_KEY,
    }
    args = (
        "--store",
        store_url,
        "--stripe-base-url",
        fake_stripe.base_url,
        "--upstream-timeout",
        "1",
        "--server-budget",
        f"{SERVER_BUDGET}/60",
    )
    with serve(tmp_path, *args, env=env) as running:
        default_url = running.printed_mcp_url()
        secrets["default server token"] = default_url.rsplit("/", 1)[1]
        admin = httpx.AsyncClient(
            base_url=running.base_url, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10.0
        )
        http = httpx.AsyncClient(timeout=10.0)
        try:
            await _session(running, admin, http, scan, secrets, default_url)
        finally:
            await admin.aclose()
            await http.aclose()
        live_store = store_contents(store_url)  # while serving: the WAL still holds the recent writes
    log = running.printed
    stored = live_store + store_contents(store_url)

    leaks = []
    for name, secret in secrets.items():
        for where, text, allowed in scan.seen:
            if secret in text and secret not in allowed:
                leaks.append(f"{name} in {where}")
        for where, content in stored:
            if secret.encode() in content:
                leaks.append(f"{name} in the store ({where})")
        lines = [line for line in log.splitlines() if secret in line]
        if name == "default server token":  # printed once at start, on purpose: the operator's ready URL
            lines = [line for line in lines if not line.startswith("read-only MCP server for STRIPE_API_KEY: ")]
        if lines:
            leaks.append(f"{name} in the server log: {lines[0][:200]}")
    assert leaks == [], leaks
    assert len(scan.seen) >= 40 and len(secrets) >= 10
    assert sum(1 for _, text, _ in scan.seen if '"isError":true' in text) >= 8  # the errors were seen, and scanned
    assert '"tools/call"' in log or "tools/call" in log  # the access log was written, and scanned
    print(
        f"\nscanned {len(scan.seen)} responses, {len(log.splitlines())} log lines, {len(stored)} store items "
        f"({sum(len(c) for _, c in stored)} bytes) for {len(secrets)} secrets: none leaked"
    )


async def _session(
    running: RunningServer,
    admin: httpx.AsyncClient,
    http: httpx.AsyncClient,
    scan: Scan,
    secrets: dict[str, str],
    default_url: str,
) -> None:
    async def admin_call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await admin.request(method, path, **kwargs)
        created: frozenset[str] = frozenset()
        if response.status_code == 201 and ("token" in response.json() or response.json().get("url")):
            body = response.json()
            created = frozenset({body.get("token") or "", (body.get("url") or "").rsplit("/", 1)[-1]} - {""})
            for secret in created:
                secrets[f"token {len(secrets)}"] = secret
        return scan.add(f"admin {method} {path}", response, created)

    # Provisioning, with bad input along the way.
    test_account = (
        await admin_call("POST", "/integrated-account", json={"name": "shop", "stripe_api_key": TEST_KEY})
    ).json()["id"]
    live_account = (
        await admin_call("POST", "/integrated-account", json={"name": "live", "stripe_api_key": LIVE_KEY})
    ).json()["id"]
    assert (
        await admin_call("POST", "/integrated-account", json={"name": "bad", "stripe_api_key": TEST_KEY + " !"})
    ).status_code == 400
    assert (
        await admin_call(
            "POST", "/integrated-account", json={"name": TEST_KEY, "stripe_api_key": TEST_KEY, "x": LIVE_KEY}
        )
    ).status_code == 400
    api_token = (await admin_call("POST", "/api-token")).json()["token"]
    await admin_call("POST", "/api-token")
    reader = (
        await admin_call(
            "POST", f"/integrated-account/{test_account}/mcp", json={"name": "reader", "config": {"methods": ["read"]}}
        )
    ).json()
    writer = (
        await admin_call(
            "POST",
            f"/integrated-account/{test_account}/mcp",
            json={"name": "writer", "config": {"methods": ["create"], "require_api_token_auth": True}},
        )
    ).json()
    live = (
        await admin_call(
            "POST",
            f"/integrated-account/{live_account}/mcp",
            json={"name": "live", "config": {"methods": ["read"], "tool_exposure": "discovery"}},
        )
    ).json()
    doomed = (
        await admin_call(
            "POST", f"/integrated-account/{live_account}/mcp", json={"name": "doomed", "config": {"methods": ["read"]}}
        )
    ).json()
    for path in (
        "/integrated-account",
        f"/integrated-account/{test_account}/mcp",
        f"/integrated-account/{live_account}/mcp",
    ):
        await admin_call("GET", path)
    assert (await admin_call("DELETE", f"/integrated-account/{live_account}/mcp/{doomed['id']}")).status_code == 204
    scan.add("admin without token", await http.get(f"{running.base_url}/integrated-account"))
    scan.add(
        "admin wrong token",
        await http.get(f"{running.base_url}/integrated-account", headers={"authorization": f"Bearer {TEST_KEY}"}),
    )
    scan.add("openapi", await http.get(f"{running.base_url}/openapi.json"))

    async def mcp(url: str, message: dict[str, Any], headers: dict[str, str], where: str) -> httpx.Response:
        return scan.add(where, await http.post(url, json=message, headers={**MCP_HEADERS, **headers}))

    async def session(url: str, **headers: str) -> dict[str, str]:
        params = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "scan", "version": "0"}}
        answer = await mcp(
            url, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}, headers, "initialize"
        )
        return {**headers, "mcp-session-id": answer.headers["mcp-session-id"], "mcp-protocol-version": VERSION}

    def call(name: str, arguments: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        }

    # Agents at work: successes, Stripe errors quoting the key, an HTML error page, a timeout, Stripe 429s.
    headers = await session(reader["url"])
    for customer in ("cus_ok", "cus_expired", "cus_missing"):
        await mcp(
            reader["url"], call("get_single_stripe_customer_by_id", {"id": customer}), headers, f"call {customer}"
        )
    for charge in ("ch_html", "ch_slow", "ch_limited", "ch_limited"):
        await mcp(reader["url"], call("get_single_stripe_charge_by_id", {"id": charge}), headers, f"call {charge}")
    await mcp(
        reader["url"],
        call("get_single_stripe_customer_by_id", {"id": "x", "secret": TEST_KEY}),
        headers,
        "bad arguments",
    )
    await mcp(reader["url"], call("create_a_stripe_refund", {"charge": "ch_1"}), headers, "filtered-out tool")
    default_headers = await session(default_url)
    await mcp(
        default_url, call("get_single_stripe_customer_by_id", {"id": "cus_expired"}), default_headers, "default server"
    )

    writer_headers = await session(writer["url"], authorization=f"Bearer {api_token}")
    refund = call("create_a_stripe_refund", {"charge": "ch_1", "amount": 100, "idempotency_key": "scan-1"})
    await mcp(writer["url"], refund, writer_headers, "refund declined")
    await mcp(writer["url"], refund, {}, "writer without API token")
    await mcp(writer["url"], refund, {"authorization": f"Bearer {ADMIN_TOKEN}"}, "writer with the admin token")
    await mcp(writer["url"], refund, {"authorization": f"Bearer {TEST_KEY}"}, "writer with a Stripe key")

    live_headers = await session(live["url"])
    inner = {"name": "get_single_stripe_customer_by_id", "arguments": {"id": "cus_expired"}}
    await mcp(live["url"], call("call_tool", inner), live_headers, "live key through discovery")
    await mcp(doomed["url"], call("get_single_stripe_customer_by_id", {"id": "cus_ok"}), {}, "revoked server")

    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    modern = {
        "mcp-protocol-version": MODERN,
        "mcp-method": "tools/call",
        "mcp-name": "get_single_stripe_customer_by_id",
    }
    message = call("get_single_stripe_customer_by_id", {"id": "cus_expired"})
    message["params"]["_meta"] = meta
    await mcp(reader["url"], message, modern, "modern era")

    # Past the server's call budget: 429 -32029 from the guard.
    answers = await asyncio.gather(
        *(
            mcp(reader["url"], call("get_single_stripe_customer_by_id", {"id": "cus_ok"}, i), headers, "budget")
            for i in range(SERVER_BUDGET)
        )
    )
    assert any(answer.status_code == 429 for answer in answers)
