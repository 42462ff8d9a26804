"""The admin console in a real browser: Debian's headless Chromium driven by Playwright.

Sign in, add an account, create a read-only expiring server, copy its URL, call a tool through it with
the official MCP client (upstream: localstripe), see the usage, browse its tools, revoke it, see 404.
Screenshots of each page go to .ci/work/screenshots/ (CI artifacts). Skipped only when /usr/bin/chromium
or Playwright is missing and CI is unset; never downloads a browser.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from mcp import Client
from tests.support.localstripe_server import localstripe
from tests.support.paths import REPO
from tests.support.runtime_process import RunningServer, serve_managed

pytestmark = pytest.mark.integration  # Chromium, localstripe and a `stripe-mcp serve` process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO / ".ci" / "work" / "screenshots"
ADMIN_TOKEN = "browser-admin-token-9c2d47ab"
API_KEY = "sk_test_BrowserConsoleKey8841"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


def _require(condition: bool, what: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: CI must run the browser test (see .ci/run)")
    pytest.skip(f"{what} is missing (set CI to make this a failure)")


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    with localstripe() as url:
        yield url


@pytest.fixture(scope="module")
def customer(stripe_url: str) -> str:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": stripe_url}, max_network_retries=0)
    return client.v1.customers.create(params={"email": "pat@example.com", "name": "Pat"}).id


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, stripe_url: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("console-browser")
    with serve_managed(workdir, stripe_url, ADMIN_TOKEN) as server:
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


class Pages:
    """One browser tab; screenshots numbered in the order taken; console errors (e.g. CSP) collected."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.shots: list[Path] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message: Any) -> None:
        # HTTP errors are answers this test provokes (401 on a wrong token, favicon 404); anything else is not.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    async def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{len(self.shots) + 1:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)

    async def no_horizontal_scroll(self) -> None:
        width = await self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page is wider than the screen: {width}"


async def test_console_end_to_end_in_chromium(browser: Any, running: RunningServer, customer: str) -> None:
    base = running.base_url
    context = await browser.new_context(viewport=LAPTOP)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    context.set_default_timeout(TIMEOUT_MS)
    tab = Pages(await context.new_page())
    page = tab.page

    # Sign in (a wrong token first).
    await page.goto(base + "/admin")
    assert page.url.startswith(base + "/admin/sign-in")
    await tab.shot("sign-in")
    await page.get_by_label("Token").fill("not-the-token")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="Sign-in failed.").wait_for()
    await tab.shot("sign-in-refused")
    await page.get_by_label("Token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(base + "/admin/accounts")
    await tab.shot("accounts-empty")

    # Add an account: the key is write-only.
    await page.get_by_label("Name").fill("Acme support")
    await page.get_by_label("Stripe secret or restricted key").fill(API_KEY)
    await page.get_by_role("button", name="Add account").click()
    await page.get_by_role("status").filter(has_text="Account added.").wait_for()
    assert API_KEY not in await page.content() and "sk_test_...8841" in await page.content()
    account_url = page.url.split("?")[0]
    await tab.shot("account")

    # Create a read-only server that expires in a day; the count follows the form live.
    await page.get_by_role("link", name="New MCP server").click()
    await page.get_by_label("Name").fill("support (read-only)")
    count = page.locator("#tool-count")
    assert "468 tools match" in await count.text_content()
    assert await page.locator("#tool-warning").is_visible()  # every tool: over the 128-tool client limit
    await page.locator("#method-read").check()
    await page.locator("#tag-customers").check()
    from playwright.async_api import expect

    # The count follows each box in turn (read alone is 216, over the limit): wait for the warning to go, which only
    # the two boxes together bring. The CSP forbids eval: no wait_for_function.
    await expect(page.locator("#tool-warning")).to_be_hidden()
    live = await count.text_content()
    expected = httpx.get(base + "/admin/tool-count", params={"methods": "read", "tags": "customers"}, timeout=10.0)
    assert expected.status_code == 303  # the count endpoint needs a session too
    assert live.split(" ")[0].isdigit() and int(live.split(" ")[0]) < 128
    await page.get_by_label("The URL stops working").select_option("86400")
    await tab.shot("new-server")
    # Compact on a phone: the whole form in under two and a half screens (it was ~2,700 px), nothing too wide.
    await page.set_viewport_size(PHONE)
    await tab.no_horizontal_scroll()
    height = await page.evaluate("document.documentElement.scrollHeight")
    assert height < 2000, f"the new-server form is {height} px tall on a phone"
    await tab.shot("new-server-on-a-phone")
    await page.set_viewport_size(LAPTOP)
    # Which tools each area brings, one click away.
    await page.get_by_text("Which tools each area brings").click()
    disputes = page.locator(".area-tools dt").filter(has_text="disputes").locator("xpath=following-sibling::dd[1]")
    assert "get_single_stripe_charge_by_id" in await disputes.text_content()
    await page.get_by_text("Which tools each area brings").click()
    await page.get_by_role("button", name="Create server").click()
    await page.get_by_role("heading", name='MCP server "support (read-only)" created').wait_for()
    await tab.shot("server-created")

    # Copy the URL with the button; the page shows the same URL.
    url = await page.get_by_label("MCP server URL").input_value()
    assert url.startswith(base + "/mcp/smcp_")
    await page.get_by_role("button", name="Copy URL").click()
    await page.locator("#copy-status").filter(has_text="Copied.").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == url
    snippets = await page.locator("pre").all_text_contents()
    assert f"npx mcp-remote {url}" in snippets
    assert f"npx @modelcontextprotocol/inspector --cli {url} --transport http --method tools/list" in snippets

    # Call a tool through it with the official MCP client.
    async with Client(url, mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "list_all_stripe_customers" in names and "create_a_stripe_refund" not in names
        result = await client.call_tool("get_single_stripe_customer_by_id", {"id": customer})
        assert result.is_error is False and result.structured_content["id"] == customer

    # The server list shows the call.
    await page.goto(account_url)
    row = page.get_by_role("row").filter(has_text="support (read-only)")
    assert (await row.locator("td.calls").text_content()).strip() == "1"
    assert "just now" in await row.locator("td.last-used").text_content()
    assert url.rsplit("/", 1)[1] not in await page.content()
    await tab.shot("servers-with-usage")

    # Readable on a phone: nothing wider than the screen but the scrollable table.
    await page.set_viewport_size(PHONE)
    await tab.no_horizontal_scroll()
    await tab.shot("servers-on-a-phone")
    await page.set_viewport_size(LAPTOP)

    # The tool browser: search, then one tool's schema and annotations.
    await row.get_by_role("link", name="Tools").click()
    await page.get_by_label("Search tools").fill("customer by id")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="get_single_stripe_customer_by_id").wait_for()
    await tab.shot("tools-search")
    await page.get_by_role("link", name="get_single_stripe_customer_by_id").click()
    await page.get_by_role("heading", name="Input schema").wait_for()
    assert "readOnlyHint" in await page.content()
    assert "yes: it changes nothing in Stripe" in await page.content()
    await tab.shot("tool")
    await page.set_viewport_size(PHONE)
    await tab.no_horizontal_scroll()
    await tab.shot("tool-on-a-phone")
    await page.set_viewport_size(LAPTOP)

    # Revoke: the URL answers 404 from then on.
    await page.goto(account_url)
    await page.get_by_role("row").filter(has_text="support (read-only)").get_by_role("link", name="Revoke").click()
    await tab.shot("revoke-confirm")
    await page.get_by_role("button", name="Revoke server").click()
    await page.get_by_role("status").filter(has_text="MCP server revoked").wait_for()
    await tab.shot("revoked")
    # Kept as history: who had which URL, until when.
    history = page.locator("table.history")
    assert "support (read-only)" in await history.text_content() and "revoked" in await history.text_content()
    await page.set_viewport_size(PHONE)
    await tab.no_horizontal_scroll()
    await tab.shot("history-on-a-phone")
    await page.set_viewport_size(LAPTOP)
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "get_single_stripe_customer_by_id", "arguments": {"id": customer}},
    }
    answer = httpx.post(
        url,
        json=call,
        headers={"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18"},
        timeout=10.0,
    )
    assert answer.status_code == 404
    with pytest.raises(Exception):  # noqa: B017  (the SDK wraps the 404 in an ExceptionGroup)
        async with Client(url, mode="legacy") as client:
            await client.call_tool("get_single_stripe_customer_by_id", {"id": customer})

    # Sign out: back to the sign-in page, and no page without signing in again.
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(base + "/admin/sign-in")
    await page.goto(account_url)
    assert page.url.startswith(base + "/admin/sign-in")
    await tab.shot("signed-out")

    assert tab.errors == [], tab.errors  # no CSP violation, no script error
    assert all(path.stat().st_size > 1000 for path in tab.shots)
    await context.close()
