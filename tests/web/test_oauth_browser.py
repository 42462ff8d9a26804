"""Consent in a real browser (Debian's headless Chromium through Playwright), as ChatGPT or Claude would start it:
from another site, a link to the authorization endpoint; the person signs in, sees who asks for what, allows, and
the browser lands on the client's redirect URI with the code (which the page's CSP must let it reach).

The client is played by a small app on http://localhost:<port>, another site than the server's 127.0.0.1.
Screenshots go to .ci/work/screenshots/. Skipped only when Chromium or Playwright is missing and CI is unset.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.mcp.conformance.toyserver import serve as serve_app
from tests.support.oauth import pkce, query_of
from tests.support.paths import REPO
from tests.support.runtime_process import RunningServer, managed_env, serve

pytestmark = pytest.mark.integration  # Chromium and a `stripe-mcp serve` process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SCREENSHOTS = REPO / ".ci" / "work" / "screenshots"
ADMIN_TOKEN = "oauth-browser-admin-token-2c8a"
TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}


def _require(condition: bool, what: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: CI must run the browser test (see .ci/run)")
    pytest.skip(f"{what} is missing (set CI to make this a failure)")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("oauth-browser")
    env = managed_env(ADMIN_TOKEN)
    store = f"sqlite:///{workdir / 'store.sqlite3'}"
    with serve(workdir, "--store", store, "--stripe-base-url", "http://127.0.0.1:9", env=env) as server:
        yield server


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _require(CHROMIUM.exists(), str(CHROMIUM))
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _require(False, "the playwright package")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        try:
            yield launched
        finally:
            await launched.close()


class ClientApp:
    """The app asking for access: a start page linking to the authorization URL, and its redirect URI."""

    def __init__(self) -> None:
        self.authorization_url = ""
        self.callbacks: list[str] = []
        self.app = Starlette(routes=[Route("/start", self.start), Route("/callback", self.callback)])

    async def start(self, request: Request) -> HTMLResponse:
        link = self.authorization_url.replace("&", "&amp;")
        return HTMLResponse(f'<!doctype html><title>Example app</title><a href="{link}">Connect Stripe</a>')

    async def callback(self, request: Request) -> HTMLResponse:
        self.callbacks.append(str(request.url))
        return HTMLResponse("<!doctype html><title>Connected</title><p>Connected.</p>")


async def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"oauth-{name}.png"), full_page=True)


async def test_consent_from_another_site_in_chromium(browser: Any, running: RunningServer) -> None:
    base = running.base_url
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    account = httpx.post(
        f"{base}/integrated-account", headers=auth, json={"name": "Browser shop", "stripe_api_key": "sk_test_browser1"}
    ).json()
    server = httpx.post(
        f"{base}/integrated-account/{account['id']}/mcp",
        headers=auth,
        json={"name": "assistant", "config": {"methods": ["read"], "tags": ["customers"], "auth": "oauth"}},
    ).json()
    client_app = ClientApp()
    with serve_app(client_app.app) as app_base:
        app_url = app_base.replace("127.0.0.1", "localhost")  # another site than the server's
        redirect_uri = f"{app_url}/callback"
        registered = httpx.post(
            f"{base}/oauth/register",
            json={
                "client_name": "Example assistant",
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "none",
            },
        ).json()
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": registered["client_id"],
            "redirect_uri": redirect_uri,
            "state": "browser-state",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": server["url"],
        }
        client_app.authorization_url = f"{base}/oauth/authorize?" + "&".join(
            f"{k}={quote(v, safe='')}" for k, v in params.items()
        )

        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        # The first time: the console asks the person to sign in, then shows the consent page.
        await page.goto(f"{app_url}/start")
        await page.get_by_role("link", name="Connect Stripe").click()
        await page.wait_for_url(f"{base}/admin/sign-in**")
        await page.get_by_label("Token").fill(ADMIN_TOKEN)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/admin/oauth/consent**")
        heading = await page.get_by_role("heading", level=1).inner_text()
        assert "Example assistant" in heading and "assistant" in heading
        body = await page.locator("main").inner_text()
        for shown in ("localhost", redirect_uri, "Browser shop", "read", "customers", "First seen"):
            assert shown in body, shown
        await shot(page, "consent")
        await page.set_viewport_size(PHONE)
        width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the consent page is wider than a phone: {width}"
        await shot(page, "consent-phone")
        await page.get_by_role("button", name="Allow").click()
        await page.wait_for_url(f"{redirect_uri}?**")
        await page.get_by_text("Connected.").wait_for()

        # Signed in now: coming from the other site again goes straight to the consent page (the session's
        # SameSite=Strict cookie comes along after the authorization endpoint's same-site hop).
        await page.set_viewport_size({"width": 1280, "height": 800})
        await page.goto(f"{app_url}/start")
        await page.get_by_role("link", name="Connect Stripe").click()
        await page.wait_for_url(f"{base}/admin/oauth/consent**")
        await page.get_by_role("button", name="Deny").click()
        await page.wait_for_url(f"{redirect_uri}?**")
        assert [e for e in errors if "Content Security Policy" in e] == []
        await context.close()

    landed, denied = client_app.callbacks
    assert query_of(denied) == {"error": "access_denied", "state": "browser-state", "iss": base}
    answer = query_of(landed)
    assert answer["state"] == "browser-state" and answer["iss"] == base
    tokens = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            "client_id": registered["client_id"],
        },
    )
    assert tokens.status_code == 200, tokens.text
    initialized = httpx.post(
        server["url"],
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        headers={"authorization": f"Bearer {tokens.json()['access_token']}", "accept": "application/json"},
    )
    assert initialized.status_code == 200, initialized.text
