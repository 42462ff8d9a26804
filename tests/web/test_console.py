"""The admin console (/admin) of a real `stripe-mcp serve` process, driven with httpx as a browser would.

Sessions, CSRF and Origin checks, cookie flags, secrets never shown twice, usage after an MCP call, and
the pages working without JavaScript. The browser test is tests/test_console_browser.py.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from itsdangerous import URLSafeTimedSerializer

from mcp import Client
from stripe_mcp.managed.secrets import KeyBox
from tests.support.localstripe_server import localstripe
from tests.support.runtime_process import RunningServer, serve

pytestmark = pytest.mark.integration  # a `stripe-mcp serve` process in front of localstripe

ADMIN_TOKEN = "console-admin-token-3b8e61f2"
ENCRYPTION_KEY = Fernet.generate_key().decode()
API_KEY = "sk_test_ConsoleSecretKey51Zq9"
KEY_SECRET_PART = API_KEY.split("_", 2)[2][:-4]
SESSION_SECONDS = 8 * 3600
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SEEN_TOKENS: list[str] = []  # MCP and API tokens as they are created: never in any later page or the log


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    with localstripe() as url:
        yield url


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, stripe_url: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("console")
    env = {"STRIPE_MCP_ADMIN_TOKEN": ADMIN_TOKEN, "STRIPE_MCP_ENCRYPTION_KEY": ENCRYPTION_KEY, "STRIPE_API_KEY": ""}
    with serve(
        workdir, "--store", f"sqlite:///{workdir / 'store.sqlite3'}", "--stripe-base-url", stripe_url, env=env
    ) as server:
        yield server


class Browser:
    """An httpx client that keeps cookies, sends Origin on POSTs as browsers do, and keeps every page it saw."""

    def __init__(self, base_url: str, local_address: str | None = None) -> None:
        transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=15.0, follow_redirects=False, transport=transport)
        self.pages: list[tuple[str, str]] = []
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        self._keep(path, response)
        return response

    def post(
        self, path: str, data: dict[str, Any], *, csrf: bool = True, origin: str | None = "", **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if origin is not None:
            headers.setdefault("origin", origin or self.base_url)
        body = {"csrf": self.csrf, **data} if csrf else data
        response = self.http.post(path, data=body, headers=headers, **kwargs)
        self._keep(path, response)
        return response

    def _keep(self, path: str, response: httpx.Response) -> None:
        self.pages.append((path, response.text))
        found = CSRF.search(response.text)
        if found:
            self.csrf = html.unescape(found.group(1))

    def sign_in(self, token: str = ADMIN_TOKEN) -> httpx.Response:
        self.get("/admin/sign-in")
        return self.post("/admin/sign-in", {"token": token, "next": ""})

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def browser(running: RunningServer) -> Iterator[Browser]:
    client = Browser(running.base_url)
    assert client.sign_in().status_code == 303
    yield client
    client.close()


def admin_api(base_url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, base_url + path, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10.0, **kwargs
    )


def add_account(browser: Browser, name: str) -> str:
    browser.get("/admin/accounts")
    added = browser.post("/admin/accounts", {"name": name, "stripe_api_key": API_KEY})
    assert added.status_code == 303, added.text
    match = re.match(r"/admin/accounts/(acct_[0-9a-f]+)\?notice=account-added$", added.headers["location"])
    assert match, added.headers["location"]
    return match.group(1)


def create_server(browser: Browser, account_id: str, **fields: Any) -> tuple[str, str]:
    """Through the console's form: returns (server id, MCP URL shown once)."""
    browser.get(f"/admin/accounts/{account_id}/servers/new")
    data = {"name": "support", "tool_exposure": "all", "expires": "never", "action": "create", **fields}
    created = browser.post(f"/admin/accounts/{account_id}/servers", data)
    assert created.status_code == 200, created.text
    url = html.unescape(re.search(r'id="mcp-url"[^>]*value="([^"]+)"', created.text).group(1))
    SEEN_TOKENS.append(url.rsplit("/", 1)[1])
    servers = admin_api(browser.base_url, "GET", f"/integrated-account/{account_id}/mcp").json()["data"]
    return servers[-1]["id"], url


def snapshot(base_url: str) -> Any:
    accounts = admin_api(base_url, "GET", "/integrated-account").json()["data"]
    return accounts, {
        a["id"]: admin_api(base_url, "GET", f"/integrated-account/{a['id']}/mcp").json()["data"] for a in accounts
    }


@pytest.fixture(scope="module")
def account_id(browser: Browser) -> str:
    return add_account(browser, "acme")


@pytest.fixture(scope="module")
def server(browser: Browser, account_id: str) -> tuple[str, str]:
    return create_server(browser, account_id, name="readers", methods="read", expires="86400")


# --------------------------------------------------------------------------- sessions


def page_paths(account: str, server_id: str) -> list[str]:
    base = f"/admin/accounts/{account}"
    return [
        "/admin",
        "/admin/",
        "/admin/accounts",
        base,
        f"{base}/remove",
        f"{base}/servers/new",
        f"{base}/servers/{server_id}",
        f"{base}/servers/{server_id}/revoke",
        f"{base}/servers/{server_id}/tools",
        f"{base}/servers/{server_id}/tools?q=refund",
        f"{base}/servers/{server_id}/tools/list_all_stripe_charges",
        "/admin/tool-count?methods=read",
        "/admin/approvals",
    ]


def form_posts(account: str, server_id: str) -> list[tuple[str, dict[str, str]]]:
    base = f"/admin/accounts/{account}"
    return [
        ("/admin/accounts", {"name": "intruder", "stripe_api_key": API_KEY}),
        (f"{base}/remove", {}),
        (f"{base}/servers", {"name": "intruder", "action": "create", "expires": "never"}),
        (f"{base}/servers/{server_id}/revoke", {}),
        (f"/admin/approvals/apr_{'0' * 24}/approve", {}),
        (f"/admin/approvals/apr_{'0' * 24}/deny", {}),
    ]


def forged_cookie(key: str, seconds_ago: float, **payload: Any) -> str:
    class Then(URLSafeTimedSerializer):
        def get_timestamp(self) -> int:
            return int(time.time() - seconds_ago)

    secret = KeyBox(key.encode()).derive_token("console", "admin-console-session-cookies")
    return Then(secret, salt="stripe-mcp admin console session").dumps(payload)


def test_every_page_needs_a_session(
    running: RunningServer, browser: Browser, account_id: str, server: tuple[str, str]
) -> None:
    server_id = server[0]
    before = snapshot(running.base_url)
    cookies = {
        "none": None,
        "garbage": "not-a-session",
        "unsigned": "eyJ3aG8iOiJhZG1pbiJ9.abc.def",
        "other key": forged_cookie(Fernet.generate_key().decode(), 0, sid="s", csrf="c", who="admin", proof="x"),
        "expired": forged_cookie(ENCRYPTION_KEY, SESSION_SECONDS + 60, sid="s", csrf="c", who="admin", proof="x"),
        "anonymous": forged_cookie(ENCRYPTION_KEY, 0, sid="s", csrf="c", who=None, proof=""),
        "wrong proof": forged_cookie(ENCRYPTION_KEY, 0, sid="s", csrf="c", who="admin", proof="0" * 32),
    }
    for label, cookie in cookies.items():
        jar = {"stripe_mcp_console": cookie} if cookie else {}
        with httpx.Client(base_url=running.base_url, cookies=jar, timeout=10.0) as client:
            for path in page_paths(account_id, server_id):
                answer = client.get(path)
                assert answer.status_code == 303, (label, path, answer.status_code)
                assert answer.headers["location"].startswith("/admin/sign-in"), (label, path)
                assert "acme" not in answer.text and "readers" not in answer.text
            for path, data in form_posts(account_id, server_id):
                answer = client.post(path, data={"csrf": "c", **data}, headers={"origin": running.base_url})
                assert answer.status_code == 303 and answer.headers["location"] == "/admin/sign-in", (label, path)
    assert snapshot(running.base_url) == before
    # Signed in, every one of them answers.
    for path in page_paths(account_id, server_id):
        assert browser.get(path).status_code == (303 if path in ("/admin", "/admin/") else 200), path


def test_redirect_back_after_sign_in(running: RunningServer, account_id: str) -> None:
    client = Browser(running.base_url)
    try:
        wanted = f"/admin/accounts/{account_id}"
        first = client.get(wanted)
        assert first.headers["location"] == f"/admin/sign-in?next=%2Fadmin%2Faccounts%2F{account_id}"
        client.get(first.headers["location"])
        signed = client.post("/admin/sign-in", {"token": ADMIN_TOKEN, "next": wanted})
        assert signed.status_code == 303 and signed.headers["location"] == wanted
    finally:
        client.close()
    # Never to another site.
    client = Browser(running.base_url, local_address="127.0.0.7")
    try:
        for evil in (
            "//evil.example/admin/",
            "https://evil.example/",
            "/admin/../..//evil.example",
            "/admin/\\evil.example",
            "/admin//evil.example",
        ):
            client.http.cookies.clear()
            client.get("/admin/sign-in")
            answer = client.post("/admin/sign-in", {"token": ADMIN_TOKEN, "next": evil})
            assert answer.status_code == 303 and answer.headers["location"] == "/admin/accounts", evil
    finally:
        client.close()


def test_a_wrong_token_is_refused_without_saying_why(running: RunningServer) -> None:
    plain_token = admin_api(running.base_url, "POST", "/api-token").json()["token"]
    SEEN_TOKENS.append(plain_token)
    client = Browser(running.base_url, local_address="127.0.0.3")
    try:
        client.get("/admin/sign-in")
        bodies = []
        for wrong in (
            "wrong",
            "",
            ADMIN_TOKEN[:-1],
            ADMIN_TOKEN + "x",
            ADMIN_TOKEN.upper(),
            plain_token,
            "smcp_api_" + "A" * 43,
        ):
            answer = client.post("/admin/sign-in", {"token": wrong, "next": ""})
            assert answer.status_code == 401, wrong
            assert "set-cookie" not in answer.headers or "who" not in answer.headers["set-cookie"]
            assert "Sign-in failed." in answer.text
            bodies.append(re.sub(r'nonce="[^"]+"|nonce-[^;\']+', "", answer.text))
            assert client.get("/admin/accounts").status_code == 303
        assert len(set(bodies)) == 1, "the refusal differs with the kind of wrong token"
    finally:
        client.close()


def test_an_api_token_with_admin_rights_signs_in(running: RunningServer) -> None:
    admin_token = admin_api(running.base_url, "POST", "/api-token", json={"admin": True})
    assert admin_token.status_code == 201 and set(admin_token.json()) == {"id", "token"}
    token = admin_token.json()["token"]
    SEEN_TOKENS.append(token)
    client = Browser(running.base_url, local_address="127.0.0.4")
    try:
        assert client.sign_in(token).status_code == 303
        assert client.get("/admin/accounts").status_code == 200
    finally:
        client.close()


def test_sign_in_attempts_are_limited(running: RunningServer) -> None:
    client = Browser(running.base_url, local_address="127.0.0.5")
    try:
        client.get("/admin/sign-in")
        statuses = [client.post("/admin/sign-in", {"token": "guess", "next": ""}).status_code for _ in range(11)]
        assert statuses[:10] == [401] * 10 and statuses[10] == 429
        # Too early, even the right token waits: an attempt inside the wait is not looked at.
        early = client.post("/admin/sign-in", {"token": ADMIN_TOKEN, "next": ""})
        assert early.status_code == 429 and 1 <= int(early.headers["retry-after"]) <= 60
        # Then the owner who waits as told gets in: the lock stops guessers, not the owner.
        time.sleep(int(early.headers["retry-after"]))
        assert client.post("/admin/sign-in", {"token": ADMIN_TOKEN, "next": ""}).status_code == 303
        assert client.get("/admin/accounts").status_code == 200
    finally:
        client.close()


def test_sign_out(running: RunningServer) -> None:
    client = Browser(running.base_url)
    try:
        client.sign_in()
        assert client.get("/admin/accounts").status_code == 200
        signed_out = client.http.cookies["stripe_mcp_console"]
        out = client.post("/admin/sign-out", {})
        assert out.status_code == 303 and out.headers["location"] == "/admin/sign-in"
        cookie = out.headers["set-cookie"]
        assert "stripe_mcp_console=" in cookie and "Max-Age=0" in cookie and "Path=/admin" in cookie
        assert client.get("/admin/accounts").status_code == 303
        # Ended on the server too: the cookie of the signed-out session, sent again, opens nothing.
        with httpx.Client(base_url=running.base_url, cookies={"stripe_mcp_console": signed_out}, timeout=10.0) as copy:
            assert copy.get("/admin/accounts").status_code == 303
    finally:
        client.close()


def test_cookie_flags(running: RunningServer) -> None:
    for headers, secure in (({}, False), ({"x-forwarded-proto": "https"}, True)):
        anonymous = httpx.get(running.base_url + "/admin/sign-in", headers=headers, timeout=10.0)
        for cookie in [anonymous.headers["set-cookie"]]:
            attributes = [part.strip().lower() for part in cookie.split(";")]
            assert attributes[0].startswith("stripe_mcp_console=")
            assert "httponly" in attributes and "samesite=strict" in attributes and "path=/admin" in attributes
            assert f"max-age={SESSION_SECONDS}" in attributes
            assert ("secure" in attributes) is secure
    client = Browser(running.base_url)
    try:
        signed = client.sign_in()
        attributes = [part.strip().lower() for part in signed.headers["set-cookie"].split(";")]
        assert {"httponly", "samesite=strict", "path=/admin", f"max-age={SESSION_SECONDS}"} <= set(attributes)
        assert ADMIN_TOKEN.lower() not in signed.headers["set-cookie"].lower()
    finally:
        client.close()


def test_pages_carry_security_headers(browser: Browser, account_id: str) -> None:
    page = browser.get(f"/admin/accounts/{account_id}/servers/new")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp and "'unsafe-inline'" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<script nonce="{nonce}">' in page.text


# --------------------------------------------------------------------------- CSRF and Origin


@pytest.fixture(scope="module")
def other_csrf(running: RunningServer) -> str:
    """The CSRF token of another signed-in session."""
    other = Browser(running.base_url, local_address="127.0.0.8")
    other.sign_in()
    other.close()
    return other.csrf


@pytest.mark.parametrize(
    "attack",
    [
        "no csrf field",
        "wrong csrf",
        "csrf of another session",
        "other origin",
        "origin null",
        "no origin nor referer",
        "other referer",
        "other port",
    ],
)
def test_forged_forms_are_refused_and_change_nothing(
    running: RunningServer, browser: Browser, account_id: str, server: tuple[str, str], other_csrf: str, attack: str
) -> None:
    assert other_csrf != browser.csrf
    before = snapshot(running.base_url)
    port = int(running.base_url.rsplit(":", 1)[1])
    for path, data in [*form_posts(account_id, server[0]), ("/admin/sign-out", {})]:
        body = {"csrf": browser.csrf, **data}
        headers = {"origin": running.base_url}
        if attack == "no csrf field":
            body.pop("csrf")
        elif attack == "wrong csrf":
            body["csrf"] = browser.csrf[:-2] + "xx"
        elif attack == "csrf of another session":
            body["csrf"] = other_csrf
        elif attack == "other origin":
            headers = {"origin": "http://evil.example"}
        elif attack == "origin null":
            headers = {"origin": "null"}
        elif attack == "no origin nor referer":
            headers = {}
        elif attack == "other referer":
            headers = {"referer": "http://evil.example/page"}
        elif attack == "other port":  # same site for cookies (SameSite ignores ports), another origin
            headers = {"origin": f"http://127.0.0.1:{port + 1}"}
        answer = browser.http.post(path, data=body, headers=headers)
        assert answer.status_code == 403, (attack, path, answer.status_code)
        assert "refused" in answer.text
    assert snapshot(running.base_url) == before
    assert browser.get("/admin/accounts").status_code == 200  # still signed in: sign-out was refused too


def test_a_same_origin_referer_is_enough(running: RunningServer, browser: Browser) -> None:
    browser.get("/admin/accounts")
    answer = browser.post(
        "/admin/accounts",
        {"name": "via-referer", "stripe_api_key": API_KEY},
        origin=None,
        headers={"referer": running.base_url + "/admin/accounts"},
    )
    assert answer.status_code == 303, answer.text


def test_sign_in_form_needs_its_csrf_token_too(running: RunningServer) -> None:
    client = Browser(running.base_url, local_address="127.0.0.6")
    try:
        client.get("/admin/sign-in")
        assert client.post("/admin/sign-in", {"token": ADMIN_TOKEN, "next": ""}, csrf=False).status_code == 403
        assert (
            client.post("/admin/sign-in", {"token": ADMIN_TOKEN, "next": ""}, origin="http://evil.example").status_code
            == 403
        )
        with httpx.Client(base_url=running.base_url, timeout=10.0) as cookieless:  # no sign-in page seen first
            refused = cookieless.post(
                "/admin/sign-in", data={"token": ADMIN_TOKEN, "csrf": "x"}, headers={"origin": running.base_url}
            )
            assert refused.status_code == 403 and "set-cookie" not in refused.headers
    finally:
        client.close()


# --------------------------------------------------------------------------- accounts and servers


def test_adding_an_account_with_a_bad_key_echoes_nothing(running: RunningServer, browser: Browser) -> None:
    before = snapshot(running.base_url)
    bad_key = "pk_test_PublishableNotSecret77"
    browser.get("/admin/accounts")
    answer = browser.post("/admin/accounts", {"name": "bad", "stripe_api_key": bad_key})
    assert answer.status_code == 400
    assert "Stripe key:" in answer.text and bad_key not in answer.text and 'value="bad"' in answer.text
    assert snapshot(running.base_url) == before


def test_the_server_form_counts_tools_without_javascript(
    running: RunningServer, browser: Browser, account_id: str
) -> None:
    before = snapshot(running.base_url)
    page = browser.get(f"/admin/accounts/{account_id}/servers/new")
    assert (
        "468 tools match" in page.text and "128" in page.text
    )  # no filter yet: every tool, and the client-limit warning
    for label in ("Name", "Methods", "Tags", "Tool exposure", "Expiry"):
        assert label in page.text

    preview = browser.post(
        f"/admin/accounts/{account_id}/servers",
        {
            "name": "p",
            "methods": "read",
            "tags": "disputes",
            "tool_exposure": "all",
            "expires": "never",
            "action": "preview",
        },
    )
    assert preview.status_code == 200
    count = re.search(r"<output[^>]*>(\d+) tools match", preview.text)
    live = browser.get(
        "/admin/tool-count", params=[("methods", "read"), ("tags", "disputes"), ("tool_exposure", "all")]
    ).json()
    assert count and int(count.group(1)) == live["tools"] >= 3 and live["warnings"] == []
    assert 'value="read" id="method-read" checked' in preview.text  # the form keeps what was chosen

    discovery = browser.get("/admin/tool-count", params={"tool_exposure": "discovery"}).json()
    assert discovery["tools"] == 468 and discovery["listed"] == 3 and discovery["warnings"] == []
    assert "128" in browser.get("/admin/tool-count").json()["warnings"][0]

    nothing = browser.post(
        f"/admin/accounts/{account_id}/servers",
        {
            "name": "none",
            "methods": "delete",
            "tags": "disputes",
            "tool_exposure": "all",
            "expires": "never",
            "action": "create",
        },
    )
    assert nothing.status_code == 400 and "leave no tool" in nothing.text
    assert browser.get("/admin/tool-count", params={"methods": "delete", "tags": "disputes"}).status_code == 400
    for bad in (
        {"expires": "date", "expires_on": "next tuesday"},
        {"expires": "date", "expires_on": "2001-01-01T00:00"},
        {"expires": "42"},
        {"name": ""},
        {"tool_exposure": "some"},
        {"more_tags": "no-such-tag"},
    ):
        answer = browser.post(
            f"/admin/accounts/{account_id}/servers",
            {"name": "x", "tool_exposure": "all", "expires": "never", "action": "create", **bad},
        )
        assert answer.status_code == 400, bad
        assert 'role="alert"' in answer.text
    assert snapshot(running.base_url) == before


def test_created_server_has_every_option(running: RunningServer, browser: Browser, account_id: str) -> None:
    server_id, url = create_server(
        browser,
        account_id,
        name="auditors",
        methods=["read"],
        tags=["disputes"],
        more_tags="charge, refund",
        tool_exposure="discovery",
        full_results="on",
        require_api_token_auth="on",
        expires="604800",
    )
    listed = {
        s["id"]: s for s in admin_api(running.base_url, "GET", f"/integrated-account/{account_id}/mcp").json()["data"]
    }
    config = listed[server_id]["config"]
    assert config == {
        "auth": "url_token",
        "methods": ["read"],
        "tags": ["disputes", "charge", "refund"],
        "require_api_token_auth": True,
        "tool_exposure": "discovery",
        "full_results": True,
        "stripe_account": None,
        "approval": "none",
    }
    assert listed[server_id]["expires_at"] is not None
    assert httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, timeout=10.0).status_code == 401


def test_created_page_shows_url_once_with_snippets(running: RunningServer, browser: Browser, account_id: str) -> None:
    browser.get(f"/admin/accounts/{account_id}/servers/new")
    created = browser.post(
        f"/admin/accounts/{account_id}/servers",
        {"name": "snippets", "methods": "read", "tool_exposure": "all", "expires": "3600", "action": "create"},
    )
    url = html.unescape(re.search(r'id="mcp-url"[^>]*value="([^"]+)"', created.text).group(1))
    SEEN_TOKENS.append(url.rsplit("/", 1)[1])
    assert url.startswith(running.base_url + "/mcp/smcp_")
    assert f"npx mcp-remote {url}" in html.unescape(created.text)
    assert f"npx @modelcontextprotocol/inspector --cli {url} --transport http --method tools/list" in html.unescape(
        created.text
    )
    assert "ChatGPT" in created.text and 'data-copy="mcp-url"' in created.text
    assert created.headers["cache-control"] == "no-store"


def test_tool_browser(browser: Browser, account_id: str) -> None:
    server_id, _ = create_server(browser, account_id, name="refunds", tags="payments")
    base = f"/admin/accounts/{account_id}/servers/{server_id}/tools"
    everything = browser.get(base)
    assert everything.status_code == 200 and "create_a_stripe_refund" in everything.text
    found = browser.get(base, params={"q": "refund a charge"})
    names = re.findall(r"<code>([a-z0-9_]+)</code></a>", found.text)
    assert names and "create_a_stripe_refund" in names[:10]
    assert "list_all_stripe_customers" not in names  # not a payments tool
    detail = browser.get(f"{base}/create_a_stripe_refund")
    assert detail.status_code == 200
    assert "destructiveHint" in detail.text and "idempotency_key" in html.unescape(detail.text)
    assert browser.get(f"{base}/list_all_stripe_customers").status_code == 404  # outside this server's filters
    assert browser.get(f"{base}/no_such_tool").status_code == 404
    assert browser.get(f"/admin/accounts/{account_id}/servers/srv_nope/tools").status_code == 404
    assert browser.get("/admin/accounts/acct_nope").status_code == 404


async def test_usage_columns_show_a_call_made_through_mcp(
    running: RunningServer, browser: Browser, account_id: str
) -> None:
    server_id, url = create_server(browser, account_id, name="usage", methods="read")

    def usage_cells() -> tuple[str, str]:
        page = browser.get(f"/admin/accounts/{account_id}").text
        row = next(r for r in page.split("<tr>") if f"/servers/{server_id}/tools" in r)
        last = re.search(r'<td[^>]*class="last-used"[^>]*>(.*?)</td>', row, re.S).group(1)
        calls = re.search(r'<td[^>]*class="calls"[^>]*>(\d+)</td>', row).group(1)
        return last, calls

    assert usage_cells() == ("never", "0")
    async with Client(url, mode="legacy") as client:
        result = await client.call_tool("get_single_stripe_balance_by_id", {})
        assert result.is_error is False
        await client.call_tool("list_all_stripe_customers", {"limit": 1})
    last, calls = usage_cells()
    assert calls == "2" and "just now" in last and "<time datetime=" in last
    listed = {
        s["id"]: s for s in admin_api(running.base_url, "GET", f"/integrated-account/{account_id}/mcp").json()["data"]
    }
    assert listed[server_id]["calls_24h"] == 2 and listed[server_id]["last_used_at"] is not None


def test_revoke_and_remove_through_the_console(running: RunningServer, browser: Browser) -> None:
    account = add_account(browser, "leaving")
    server_id, url = create_server(browser, account, name="short-lived", methods="read")
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"}
    confirm = browser.get(f"/admin/accounts/{account}/servers/{server_id}/revoke")
    assert confirm.status_code == 200 and "Revoke server" in confirm.text
    revoked = browser.post(f"/admin/accounts/{account}/servers/{server_id}/revoke", {})
    assert revoked.status_code == 303
    assert "MCP server revoked" in browser.get(revoked.headers["location"]).text
    assert httpx.post(url, json=ping, headers=headers, timeout=10.0).status_code == 404
    assert browser.post(f"/admin/accounts/{account}/servers/{server_id}/revoke", {}).status_code == 404

    _, second = create_server(browser, account, name="goes-with-account", methods="read")
    assert browser.get(f"/admin/accounts/{account}/remove").status_code == 200
    removed = browser.post(f"/admin/accounts/{account}/remove", {})
    assert removed.status_code == 303 and removed.headers["location"] == "/admin/accounts?notice=account-removed"
    assert httpx.post(second, json=ping, headers=headers, timeout=10.0).status_code == 404
    assert account not in [a["id"] for a in admin_api(running.base_url, "GET", "/integrated-account").json()["data"]]


def test_tool_pages_read_as_words(browser: Browser, account_id: str, server: tuple[str, str]) -> None:
    """The schema without the generated file's mark, the annotations as words, an empty search that helps."""
    server_id, _ = server
    base = f"/admin/accounts/{account_id}/servers/{server_id}/tools"
    detail = browser.get(f"{base}/list_all_stripe_charges")
    assert detail.status_code == 200
    assert "$comment" not in detail.text and "Generated by stripe-mcp" not in detail.text
    cells = re.findall(r"<td>([^<]*)</td>", detail.text)
    assert "yes: it changes nothing in Stripe" in cells and "no: nothing it does is irreversible" in cells
    assert not {"True", "False"} & {c.strip() for c in re.findall(r">([^<]*)<", detail.text)}
    assert "can move money" not in detail.text

    empty = browser.get(base, params={"q": "zzzq qxjv"})
    assert empty.status_code == 200
    assert "No tool of this server matches" in html.unescape(empty.text)
    assert "0 results" not in empty.text and "best first" not in empty.text
    assert re.search(r'<a href="\?">Show all \d+ tools</a>', empty.text)


def test_servers_that_can_move_money_are_marked(browser: Browser) -> None:
    account = add_account(browser, "money")
    create_server(browser, account, name="refunds desk", methods=["read", "create"], tags="support")
    create_server(browser, account, name="read only", methods="read", tags="support")
    page = browser.get(f"/admin/accounts/{account}").text
    rows = {name: row for row in page.split("<tr>") for name in ("refunds desk", "read only") if f">{name}" in row}
    assert "can move money" in rows["refunds desk"] and "create_a_stripe_refund" in rows["refunds desk"]
    assert "can move money" not in rows["read only"]
    tools = browser.get(f"/admin/accounts/{account}/servers/new").text
    assert "can move money" in tools  # the default (every tool) can, and the form says so
    live = browser.get("/admin/tool-count", params=[("methods", "read"), ("tags", "support")]).json()
    assert live["money"] == ""
    writes = browser.get("/admin/tool-count", params=[("methods", "create"), ("tags", "support")]).json()
    moving = re.match(r"(\d+) of these tools can move money", writes["money"])
    assert moving and 0 < int(moving.group(1)) < writes["tools"]


def test_the_form_shows_which_tools_each_area_brings(browser: Browser, account_id: str) -> None:
    page = html.unescape(browser.get(f"/admin/accounts/{account_id}/servers/new").text)
    assert re.search(r'id="tag-support"[^>]*>\s*<label for="tag-support">support <span class="help">\d+</span>', page)
    brings = page[page.index("Which tools each area brings") :]
    disputes = re.search(r"<dt>disputes .*?</dt>\s*<dd>([^<]+)</dd>", brings, re.S)
    assert disputes, "no tool list for the disputes area"
    names = disputes.group(1).split(", ")
    assert {"list_all_stripe_disputes", "get_single_stripe_charge_by_id"} <= set(names)


def test_revoked_and_expired_servers_stay_visible_as_history(running: RunningServer, browser: Browser) -> None:
    account = add_account(browser, "history")
    revoked_id, url = create_server(browser, account, name="last year's auditors", methods="read")
    kept_id, _ = create_server(browser, account, name="still here", methods="read")
    browser.get(f"/admin/accounts/{account}/servers/{revoked_id}/revoke")
    assert browser.post(f"/admin/accounts/{account}/servers/{revoked_id}/revoke", {}).status_code == 303
    expiring = admin_api(
        running.base_url,
        "POST",
        f"/integrated-account/{account}/mcp",
        json={"name": "one-minute contractor", "config": {"methods": ["read"]}, "expires_at": time.time() + 61},
    )
    assert expiring.status_code == 201, expiring.text
    page = browser.get(f"/admin/accounts/{account}").text
    history = page[page.index("Revoked and expired servers") :]
    assert "last year&#39;s auditors" in history and "revoked" in history and revoked_id in history
    assert "still here" not in history and "one-minute contractor" not in history
    # The MCP URL of a history entry still answers 404, and the history never shows a token.
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert httpx.post(url, json=ping, headers=headers, timeout=10.0).status_code == 404
    assert url.rsplit("/", 1)[1] not in page
    assert kept_id in page


# --------------------------------------------------------------------------- secrets (runs late: scans what came before)


def test_no_secret_in_any_page_after_creation(
    running: RunningServer, browser: Browser, account_id: str, server: tuple[str, str]
) -> None:
    assert len(SEEN_TOKENS) >= 4
    # Visit every page once more (the creation pages, which show the URL once, are not among them).
    servers = admin_api(running.base_url, "GET", f"/integrated-account/{account_id}/mcp").json()["data"]
    for path in [
        "/admin/accounts",
        f"/admin/accounts/{account_id}",
        f"/admin/accounts/{account_id}/remove",
        f"/admin/accounts/{account_id}/servers/new",
        "/admin/tool-count",
        "/admin/sign-in",
    ]:
        assert browser.get(path).status_code in (200, 303)
    for entry in servers:
        for suffix in ("/revoke", "/tools", "/tools?q=balance", "/tools/get_single_stripe_balance_by_id"):
            browser.get(f"/admin/accounts/{account_id}/servers/{entry['id']}{suffix}")
    creation_pages = {i for i, (path, text) in enumerate(browser.pages) if 'id="mcp-url"' in text}
    assert creation_pages
    for i, (path, text) in enumerate(browser.pages):
        assert API_KEY not in text and KEY_SECRET_PART not in text, path
        if i not in creation_pages:
            for token in SEEN_TOKENS:
                assert token not in text, path
    assert "sk_test_...1Zq9" in browser.get("/admin/accounts").text  # the hint: sk_test_...last4
    log = running.printed
    for secret in (API_KEY, ADMIN_TOKEN, *SEEN_TOKENS):
        assert secret not in log


def test_console_closed_without_admin_token(tmp_path: Path) -> None:
    env = {"STRIPE_MCP_ADMIN_TOKEN": "", "STRIPE_MCP_ENCRYPTION_KEY": ENCRYPTION_KEY, "STRIPE_API_KEY": ""}
    with serve(tmp_path, "--store", f"sqlite:///{tmp_path / 'store.sqlite3'}", env=env) as closed:
        for path in ("/admin", "/admin/sign-in", "/admin/accounts"):
            answer = httpx.get(closed.base_url + path, timeout=10.0)
            assert answer.status_code == 403 and "STRIPE_MCP_ADMIN_TOKEN" in answer.text
        answer = httpx.post(
            closed.base_url + "/admin/sign-in", data={"token": ""}, headers={"origin": closed.base_url}, timeout=10.0
        )
        assert answer.status_code == 403


def test_every_input_has_a_label(browser: Browser) -> None:
    """Over every page seen so far: each visible input, select and textarea is named by a <label for>."""
    checked = 0
    for path, text in browser.pages:
        labels = set(re.findall(r'<label for="([^"]+)"', text))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", text):
            if 'type="hidden"' in tag:
                continue
            found = re.search(r'id="([^"]+)"', tag)
            assert found and found.group(1) in labels, (path, tag)
            checked += 1
    assert checked > 50
