"""Hardening of the served app (issue "Hardening, round two"), in process: the Starlette app of `stripe-mcp serve` with
its lifespan, an SQLite store in tmp_path, an injected clock, and tests/support/fakes.py's FakeStripe.

API tokens (scope, expiry, list, revoke, last use; in the console too), the default server's revoke across
restarts, expiries that do not fit a datetime, the Host check before routing, the store failing, console sessions
ending on sign-out and the sign-in throttle, JSON 404/405, and refused calls counting against the budget.
"""

from __future__ import annotations

import html
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from stripe_mcp.managed.budgets import BudgetRule
from stripe_mcp.managed.store.base import ServerRecord
from stripe_mcp.web.app import create_app
from stripe_mcp.web.console.sign_in import SIGN_IN_THROTTLE
from stripe_mcp.web.oauth.metadata import AUTHORIZE, REGISTER
from stripe_mcp.web.runtime import Runtime
from stripe_mcp.web.settings import Settings
from tests.support.fakes import FakeStripe, respond
from tests.support.redis_server import require_redis_binary
from tests.support.runtime_process import free_port

ADMIN_TOKEN = "admin-token-hardening-web-7a1c"
API_KEY = "sk_test_hardening_web_4242"
BASE = "http://127.0.0.1:8000"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Clock:
    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


@dataclass
class App:
    transport: httpx.ASGITransport
    http: httpx.AsyncClient  # the admin API's token on every request
    runtime: Runtime
    clock: Clock

    async def account(self, name: str = "shop") -> str:
        made = await self.http.post("/integrated-account", json={"name": name, "stripe_api_key": API_KEY})
        assert made.status_code == 201, made.text
        return made.json()["id"]

    async def server(self, account: str, **config: Any) -> dict[str, Any]:
        body = {"name": "s", "config": {"methods": ["read"], **config}}
        made = await self.http.post(f"/integrated-account/{account}/mcp", json=body)
        assert made.status_code == 201, made.text
        return made.json()

    async def api_token(self, **body: Any) -> dict[str, Any]:
        made = await self.http.post("/api-token", json=body)
        assert made.status_code == 201, made.text
        return made.json()

    async def mcp(self, url: str, message: dict[str, Any] = LIST, **headers: str) -> httpx.Response:
        """A 2026-07-28 request: stateless, so each one resolves the URL (and its API token) anew."""
        modern = {"mcp-protocol-version": "2026-07-28", "mcp-method": message["method"]}
        meta = {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        params = {**message.get("params", {}), "_meta": meta}
        if "name" in params:
            modern["mcp-name"] = params["name"]
        body = {**message, "params": params}
        return await self.http.post(url, json=body, headers={"authorization": "", **MCP_HEADERS, **modern, **headers})


@asynccontextmanager
async def running(store: Path, clock: Clock | None = None, **options: Any) -> AsyncIterator[App]:
    clock = clock or Clock()
    settings = Settings(
        store_url=f"sqlite:///{store}", public_url=BASE, admin_token=ADMIN_TOKEN, clock=clock, **options
    )
    ready: list[Runtime] = []
    app = create_app(settings, on_ready=ready.append)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers, timeout=30) as http:
            yield App(transport, http, ready[0], clock)


@pytest.fixture(autouse=True)
def encryption_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_MCP_ENCRYPTION_KEY", Fernet.generate_key().decode())


@pytest.fixture
async def app(tmp_path: Path, fake_stripe: FakeStripe) -> AsyncIterator[App]:
    async with running(tmp_path / "store.sqlite3", stripe_base_url=fake_stripe.base_url) as started:
        yield started


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


# --------------------------------------------------------------------------- 3. API tokens


async def test_api_tokens_have_an_account_an_expiry_a_last_use_and_a_revoke(app: App, tmp_path: Path) -> None:
    """DELETE /api-token was 405, a token opened every account's servers, and none could expire."""
    shop, other = await app.account("shop"), await app.account("other")
    shop_url = (await app.server(shop, require_api_token_auth=True))["url"]
    other_url = (await app.server(other, require_api_token_auth=True))["url"]
    scoped = await app.api_token(account_id=shop)
    expiring = await app.api_token(expires_at=app.clock.now + 120)
    everywhere = await app.api_token()

    assert (await app.mcp(shop_url, **bearer(scoped["token"]))).status_code == 200
    assert (await app.mcp(other_url, **bearer(scoped["token"]))).status_code == 401  # another account's server
    for token in (expiring, everywhere):
        assert (await app.mcp(other_url, **bearer(token["token"]))).status_code == 200

    listed = await app.http.get("/api-token")
    assert listed.status_code == 200
    entries = {entry["id"]: entry for entry in listed.json()["data"]}
    assert set(entries) == {scoped["id"], expiring["id"], everywhere["id"]}
    assert entries[scoped["id"]]["account_id"] == shop and entries[everywhere["id"]]["account_id"] is None
    assert entries[expiring["id"]]["expires_at"] is not None and entries[scoped["id"]]["last_used_at"] is not None
    for token in (scoped, expiring, everywhere):
        assert token["token"] not in listed.text

    app.clock.now += 121  # past the expiry
    assert (await app.mcp(other_url, **bearer(expiring["token"]))).status_code == 401
    assert expiring["id"] not in [e["id"] for e in (await app.http.get("/api-token")).json()["data"]]

    # A revoke holds at once here and on another replica of the same store (tokens are looked up each time).
    async with running(tmp_path / "store.sqlite3", clock=app.clock) as replica:
        assert (await replica.mcp(shop_url, **bearer(everywhere["token"]))).status_code == 200
        assert (await app.http.delete(f"/api-token/{everywhere['id']}")).status_code == 204
        assert (await replica.mcp(shop_url, **bearer(everywhere["token"]))).status_code == 401
        assert (await app.mcp(shop_url, **bearer(everywhere["token"]))).status_code == 401
    error_of(await app.http.delete(f"/api-token/{everywhere['id']}"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"admin": True, "account_id": "acct_x"},
        {"account_id": "acct_does_not_exist"},
        {"expires_at": "2001-01-01T00:00:00Z"},
        {"expires_at": "2099-01-01T00:00:00"},
        {"expires_at": "9999-12-31T23:59:59-12:00"},
        {"expires_at": "soon"},
        {"account_id": 5},
    ],
)
async def test_bad_api_token_requests_are_400(app: App, body: dict[str, Any]) -> None:
    if body.get("account_id") == "acct_x":
        body = {**body, "account_id": await app.account()}
    error_of(await app.http.post("/api-token", json=body), 400)
    assert (await app.http.get("/api-token")).json()["data"] == []


async def test_revoking_an_admin_api_token_ends_its_console_sessions(app: App) -> None:
    token = await app.api_token(admin=True)
    console = Console(app)
    assert (await console.sign_in(token["token"])).status_code == 303
    assert (await console.get("/admin/accounts")).status_code == 200
    assert (await app.http.delete(f"/api-token/{token['id']}")).status_code == 204
    assert (await console.get("/admin/accounts")).headers["location"].startswith("/admin/sign-in")


async def test_the_console_creates_lists_and_revokes_api_tokens(app: App) -> None:
    shop = await app.account("shop")
    url = (await app.server(shop, require_api_token_auth=True))["url"]
    console = Console(app)
    await console.sign_in()
    page = await console.get(f"/admin/api-tokens?account_id={shop}")
    assert page.status_code == 200 and f'<option value="{shop}" selected>' in page.text
    made = await console.post("/admin/api-tokens", {"account_id": shop, "expires": "86400"})
    assert made.status_code == 200, made.text
    token = html.unescape(re.search(r'id="api-token"[^>]*value="([^"]+)"', made.text).group(1))
    assert token.startswith("smcp_api_") and "--header" in made.text  # how clients send it
    assert (await app.mcp(url, **bearer(token))).status_code == 200
    listing = await console.get("/admin/api-tokens")
    assert token not in listing.text and "servers of shop" in listing.text
    token_id = re.search(r"<code>(tok_[0-9a-f]+)</code>", listing.text).group(1)
    assert (await console.get(f"/admin/api-tokens/{token_id}/revoke")).status_code == 200
    revoked = await console.post(f"/admin/api-tokens/{token_id}/revoke", {})
    assert revoked.status_code == 303 and "api-token-revoked" in revoked.headers["location"]
    assert (await app.mcp(url, **bearer(token))).status_code == 401
    assert (await console.post("/admin/api-tokens", {"admin": "on", "account_id": shop})).status_code == 400


# --------------------------------------------------------------------------- 2. a revoked default server stays revoked


async def test_a_revoked_default_server_is_not_made_again(tmp_path: Path, fake_stripe: FakeStripe) -> None:
    store = tmp_path / "store.sqlite3"
    async with running(store, stripe_base_url=fake_stripe.base_url, default_api_key=API_KEY) as first:
        url = first.runtime.default_url
        assert url is not None and (await first.mcp(url)).status_code == 200
        account = first.runtime.default_account_id
        servers = (await first.http.get(f"/integrated-account/{account}/mcp")).json()["data"]
        assert (await first.http.delete(f"/integrated-account/{account}/mcp/{servers[0]['id']}")).status_code == 204
        assert (await first.mcp(url)).status_code == 404
    async with running(store, stripe_base_url=fake_stripe.base_url, default_api_key=API_KEY) as again:
        assert again.runtime.default_url is None and again.runtime.default_revoked_at is not None
        assert again.runtime.default_account_id == account
        assert (await again.mcp(url)).status_code == 404
        assert (await again.http.get(f"/integrated-account/{account}/mcp")).json()["data"] == []


# --------------------------------------------------------------------------- 7. expiries beyond what UTC can hold


async def test_an_expiry_in_year_10000_is_400_and_a_bad_stored_row_breaks_no_list(app: App, tmp_path: Path) -> None:
    """9999-12-31T23:59:59-12:00 answered 500 yet was stored; then the account's lists answered 500."""
    shop = await app.account()
    for expires_at in ("9999-12-31T23:59:59-12:00", "9999-12-31T12:00:00Z"):
        body = {"name": "far", "config": {"methods": ["read"]}, "expires_at": expires_at}
        error_of(await app.http.post(f"/integrated-account/{shop}/mcp", json=body), 400)
    assert (await app.http.get(f"/integrated-account/{shop}/mcp")).json()["data"] == []
    # A row stored by an earlier version, with that time in it:
    config = {"methods": ["read"], "tags": [], "require_api_token_auth": False, "tool_exposure": "all"}
    await app.runtime.store.add_server(ServerRecord("srv_far", shop, "far", "f" * 64, config, 253402343999.0, 1.0))
    listed = await app.http.get(f"/integrated-account/{shop}/mcp")
    assert listed.status_code == 200 and listed.json()["data"][0]["expires_at"].startswith("9999-12-31")
    console = Console(app)
    await console.sign_in()
    page = await console.get(f"/admin/accounts/{shop}")
    assert page.status_code == 200 and "9999-12-31" in page.text


# --------------------------------------------------------------------------- 10. Host before routing; 14. JSON 404/405


async def test_the_host_is_checked_before_any_route_or_redirect(app: App) -> None:
    """`/mcp/<token>/` with Host: evil.example answered 307 to http://evil.example/mcp/<token>."""
    url = (await app.server(await app.account()))["url"]
    evil = {"host": "evil.example"}
    for method, path in (("POST", url + "/"), ("POST", url), ("GET", "/integrated-account"), ("GET", "/admin")):
        answer = await app.http.request(method, path, headers=evil, json=PING)
        assert answer.status_code == 421, (path, answer.status_code)
        assert "location" not in answer.headers and "evil.example" not in answer.text
        assert answer.headers["content-type"].startswith("application/json")
    assert (await app.http.get("/healthz", headers=evil)).status_code == 200  # load balancers probe by address
    slash = await app.http.post(url + "/", json=PING, headers=MCP_HEADERS)
    assert error_of(slash, 404)["code"] == "not_found" and "location" not in slash.headers


async def test_unknown_paths_and_methods_answer_json(app: App) -> None:
    assert error_of(await app.http.get("/no/such/path"), 404)["code"] == "not_found"
    wrong = await app.http.put("/integrated-account", json={})
    assert error_of(wrong, 405)["code"] == "method_not_allowed"
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert error_of(await app.http.patch("/api-token/tok_x"), 405)["code"] == "method_not_allowed"


# --------------------------------------------------------------------------- 11. the store fails


async def test_a_store_that_cannot_be_written_is_503_json_and_recovers(app: App, fake_stripe: FakeStripe) -> None:
    """A full or read-only store answered tools/call 200/-32603, and admin writes a 500 text/plain."""
    fake_stripe.on("GET", "/v1/balance", respond(200, {"object": "balance", "available": []}))
    shop = await app.account()
    url = (await app.server(shop))["url"]
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_single_stripe_balance_by_id"}}
    assert (await app.mcp(url, call)).json()["result"]["isError"] is False
    database = app.runtime.store._db  # type: ignore[attr-defined]  # writes fail as on a read-only file
    database.execute("PRAGMA query_only = ON")
    with pytest.raises(app.runtime.store.unavailable):  # budgets and usage are written every 0.5 s
        await app.runtime.store.flush()
    sent = len(fake_stripe.requests)
    refused = await app.mcp(url, call)
    assert refused.status_code == 503
    assert refused.json()["error"]["message"] == "the store is unavailable; nothing was sent to Stripe"
    assert len(fake_stripe.requests) == sent
    write = await app.http.post("/integrated-account", json={"name": "x", "stripe_api_key": API_KEY})
    assert error_of(write, 503)["code"] == "store_unavailable"
    database.execute("PRAGMA query_only = OFF")  # the disk has room again
    assert (await app.mcp(url, call)).json()["result"]["isError"] is False
    assert (
        await app.http.post("/integrated-account", json={"name": "x", "stripe_api_key": API_KEY})
    ).status_code == 201


@pytest.mark.integration
async def test_a_full_disk_is_503_too(app: App, fake_stripe: FakeStripe) -> None:
    shop = await app.account()
    url = (await app.server(shop))["url"]
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_all_stripe_customers"}}
    database = app.runtime.store._db  # type: ignore[attr-defined]  # no room past its pages: SQLITE_FULL
    pages = database.execute("PRAGMA page_count").fetchone()[0]
    database.execute(f"PRAGMA max_page_count = {pages}")
    for index in range(100_000):  # counted in memory, then more budget rows than the file has room for
        await app.runtime.store.take_budget(f"server:srv_{index:016x}", 50, 10, app.clock.now)
    with pytest.raises(app.runtime.store.unavailable):  # "database or disk is full" at the next flush
        await app.runtime.store.flush()
    answer = await app.mcp(url, call)
    assert answer.status_code == 503 and "nothing was sent" in answer.json()["error"]["message"]
    assert fake_stripe.requests == []


async def test_the_oauth_endpoints_answer_503_too(app: App) -> None:
    """Registration and authorization take a per-address budget from the store: unavailable, they answer 503 in
    OAuth's shape (a page for the person's browser), never a 500; once the store is back they work again."""
    registration = {
        "client_name": "agent",
        "redirect_uris": ["http://127.0.0.1:45123/callback"],
        "token_endpoint_auth_method": "none",
    }
    await app.runtime.store.take_budget("server:srv_0000000000000000", 50, 10, app.clock.now)
    database = app.runtime.store._db  # type: ignore[attr-defined]  # writes fail as on a read-only file
    database.execute("PRAGMA query_only = ON")
    with pytest.raises(app.runtime.store.unavailable):
        await app.runtime.store.flush()
    refused = await app.http.post(REGISTER, json=registration)
    assert refused.status_code == 503
    assert refused.json() == {
        "error": "temporarily_unavailable",
        "error_description": "the store is unavailable; try again once it is back",
    }
    page = await app.http.get(AUTHORIZE, params={"client_id": "client_x", "response_type": "code"})
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html") and "the store is unavailable" in page.text
    database.execute("PRAGMA query_only = OFF")
    assert (await app.http.post(REGISTER, json=registration)).status_code == 201


# --------------------------------------------------------------------------- 13. console sessions and sign-in


class Console:
    """A browser on the console: cookies, Origin on POSTs, the CSRF token of the last page."""

    def __init__(self, app: App) -> None:
        self.http = httpx.AsyncClient(transport=app.transport, base_url=BASE, timeout=30)
        self.csrf = ""

    async def get(self, path: str) -> httpx.Response:
        return self._keep(await self.http.get(path))

    async def post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        return self._keep(await self.http.post(path, data={"csrf": self.csrf, **data}, headers={"origin": BASE}))

    async def sign_in(self, token: str = ADMIN_TOKEN) -> httpx.Response:
        await self.get("/admin/sign-in")
        return await self.post("/admin/sign-in", {"token": token, "next": ""})

    def _keep(self, response: httpx.Response) -> httpx.Response:
        if found := CSRF.search(response.text):
            self.csrf = html.unescape(found.group(1))
        return response


async def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(app: App) -> None:
    """Sign-out only deleted the browser's cookie: a copy of it worked for 8 hours."""
    console = Console(app)
    await console.sign_in()
    copied = dict(console.http.cookies)
    assert (await console.get("/admin/accounts")).status_code == 200
    assert (await console.post("/admin/sign-out", {})).status_code == 303
    thief = httpx.AsyncClient(transport=app.transport, base_url=BASE, cookies=copied)
    answer = await thief.get("/admin/accounts")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/sign-in")


async def test_the_sign_in_throttle_stops_guessers_not_the_owner(app: App) -> None:
    """After 19 bad sign-ins from one address the right token was refused too, for the rest of the minute."""
    console = Console(app)
    await console.get("/admin/sign-in")
    free = SIGN_IN_THROTTLE.free
    statuses = [(await console.post("/admin/sign-in", {"token": f"guess-{i}"})).status_code for i in range(free)]
    assert statuses == [401] * free
    early = await console.post("/admin/sign-in", {"token": ADMIN_TOKEN})  # too early: not even looked at
    assert early.status_code == 429 and int(early.headers["retry-after"]) >= 1
    assert "wait" in early.text
    app.clock.now += int(early.headers["retry-after"])
    owner = await console.post("/admin/sign-in", {"token": ADMIN_TOKEN})
    assert owner.status_code == 303 and (await console.get("/admin/accounts")).status_code == 200
    # The owner's success cleared the count: a later typo is a plain 401.
    other = Console(app)
    await other.get("/admin/sign-in")
    assert (await other.post("/admin/sign-in", {"token": "typo"})).status_code == 401


async def test_guessing_gains_nothing_from_the_wait(app: App) -> None:
    console = Console(app)
    await console.get("/admin/sign-in")
    for i in range(SIGN_IN_THROTTLE.free + 1):
        await console.post("/admin/sign-in", {"token": f"guess-{i}"})
    waits = []
    for _ in range(6):  # each wait honoured, each guess wrong: the waits double up to the cap
        answer = await console.post("/admin/sign-in", {"token": "guess"})
        if answer.status_code == 429:
            waits.append(int(answer.headers["retry-after"]))
            app.clock.now += waits[-1]
    assert waits == sorted(waits) and waits[-1] <= SIGN_IN_THROTTLE.max_delay and len(set(waits)) > 1


# --------------------------------------------------------------------------- 5. refused calls count


async def test_calls_refused_for_their_arguments_count_against_the_budget(
    tmp_path: Path, fake_stripe: FakeStripe
) -> None:
    """An agent sending invalid calls was never held back by the runaway-agent budget."""
    fake_stripe.on("GET", "/v1/balance", respond(200, {"object": "balance"}))
    async with running(
        tmp_path / "store.sqlite3", stripe_base_url=fake_stripe.base_url, server_budget=BudgetRule(3, 60)
    ) as app:
        url = (await app.server(await app.account()))["url"]
        bad = {"jsonrpc": "2.0", "id": 3, "method": "tools/call"}
        bad["params"] = {"name": "list_all_stripe_customers", "arguments": {"limit": "many"}}
        answers = [await app.mcp(url, bad) for _ in range(3)]
        assert all(a.json()["result"]["isError"] for a in answers)
        good = {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "get_single_stripe_balance_by_id"},
        }
        over = await app.mcp(url, good)
        assert over.status_code == 429 and over.json()["error"]["code"] == -32029
        assert fake_stripe.requests == []


@pytest.mark.integration
async def test_redis_down_is_503_json_and_a_restart_recovers(tmp_path: Path, fake_stripe: FakeStripe) -> None:
    """Redis down answered tools/call 200/-32603, and admin writes a 500 text/plain and a reset connection."""
    fake_stripe.on("GET", "/v1/balance", respond(200, {"object": "balance"}))
    port = free_port()
    redis = start_redis(tmp_path / "redis", port)
    try:
        async with running_on(f"redis://127.0.0.1:{port}/0", fake_stripe.base_url) as app:
            url = (await app.server(await app.account()))["url"]
            call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call"}
            call["params"] = {"name": "get_single_stripe_balance_by_id"}
            assert (await app.mcp(url, call)).json()["result"]["isError"] is False
            stop_redis(redis)
            for _ in range(2):  # with the server in the resolve cache, then after it
                refused = await app.mcp(url, call)
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["message"] == "the store is unavailable; nothing was sent to Stripe"
                app.runtime.forget_servers()
            write = await app.http.post("/integrated-account", json={"name": "x", "stripe_api_key": API_KEY})
            assert error_of(write, 503)["code"] == "store_unavailable"
            redis = start_redis(tmp_path / "redis", port)  # back, empty: nothing else to do
            account = await app.account("after")
            assert (await app.mcp((await app.server(account))["url"], call)).json()["result"]["isError"] is False
            assert len(fake_stripe.requests) == 2
    finally:
        stop_redis(redis)


@asynccontextmanager
async def running_on(store_url: str, stripe_base_url: str) -> AsyncIterator[App]:
    clock = Clock()
    settings = Settings(
        store_url=store_url, stripe_base_url=stripe_base_url, public_url=BASE, admin_token=ADMIN_TOKEN, clock=clock
    )
    ready: list[Runtime] = []
    app = create_app(settings, on_ready=ready.append)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers, timeout=30) as http:
            yield App(transport, http, ready[0], clock)


def start_redis(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    command = [require_redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            pass
        assert time.monotonic() < deadline and process.poll() is None, "redis-server did not start"
        time.sleep(0.05)


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)
