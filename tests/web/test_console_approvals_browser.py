"""Approving a refund in a real browser: Debian's headless Chromium driven by Playwright, as in
test_console_browser.py (same launch, same skip rules, never a browser download).

A person creates an approval server in the console (the form suggests "destructive"), an agent's refund
comes back approval_required (the official MCP client, no elicitation), the Approvals page asks the same
sentence, the person approves, the agent's call runs once, and the server's page shows the decision.
Screenshots go to .ci/work/screenshots/approvals-*.png.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp import Client
from tests.support.localstripe_server import localstripe
from tests.support.runtime_process import RunningServer, serve_managed
from tests.support.seeding import customer_with_card, stripe_client
from tests.web.test_console_browser import (
    LAPTOP,
    PHONE,
    SCREENSHOTS,
    TIMEOUT_MS,
    Pages,
    browser,  # noqa: F401  (the console test's Chromium fixture)
)

pytestmark = pytest.mark.integration  # Chromium, localstripe and a `stripe-mcp serve` process

ADMIN_TOKEN = "browser-approvals-token-51e0"
API_KEY = "sk_test_BrowserApprovalsKey7310"
REFUND = "create_a_stripe_refund"


class Shots(Pages):
    """Screenshots named approvals-NN-*, beside (never over) the console test's own."""

    async def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path: Path = SCREENSHOTS / f"approvals-{len(self.shots) + 1:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    with localstripe() as url:
        yield url


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, stripe_url: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("approvals-browser")
    with serve_managed(workdir, stripe_url, ADMIN_TOKEN) as server:
        yield server


async def refund(url: str, arguments: dict[str, Any]) -> Any:
    async with Client(url, mode="legacy") as client:
        return await asyncio.wait_for(client.call_tool(REFUND, arguments), 30)


async def test_a_refund_approved_in_chromium(browser: Any, running: RunningServer, stripe_url: str) -> None:  # noqa: F811
    from playwright.async_api import expect

    stripe = stripe_client(stripe_url, API_KEY)
    charge = stripe.v1.charges.create(
        params={
            "amount": 4900,
            "currency": "usd",
            "customer": customer_with_card(stripe, email="sarah.jones@example.com"),
        }
    )
    base = running.base_url
    context = await browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(TIMEOUT_MS)
    tab = Shots(await context.new_page())
    page = tab.page

    await page.goto(base + "/admin")
    await page.get_by_label("Token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(base + "/admin/accounts")
    await page.get_by_label("Name").fill("Finance")
    await page.get_by_label("Stripe secret or restricted key").fill(API_KEY)
    await page.get_by_role("button", name="Add account").click()
    await page.get_by_role("status").filter(has_text="Account added.").wait_for()
    account_url = page.url.split("?")[0]

    # The new-server form: approval "destructive" is chosen; choosing none brings the suggestion back.
    await page.get_by_role("link", name="New MCP server").click()
    await page.get_by_label("Name").fill("refund desk")
    destructive = page.get_by_role("radio", name="destructive: refunds, payouts, deletions wait for a yes")
    await expect(destructive).to_be_checked()
    hint = page.locator("#approval-hint")
    await expect(hint).to_be_hidden()
    await page.get_by_role("radio", name="none: calls reach Stripe as the agent makes them").check()
    await expect(hint).to_be_visible()
    await tab.shot("form-suggests-approval")
    await destructive.check()
    await page.get_by_role("button", name="Create server").click()
    await page.get_by_role("heading", name='MCP server "refund desk" created').wait_for()
    url = await page.get_by_label("MCP server URL").input_value()

    # The agent asks for a refund: nothing is sent, it is told to have a person approve.
    arguments = {"charge": charge.id, "amount": 1500}
    asked = await refund(url, arguments)
    error = asked.structured_content["error"]
    assert asked.is_error is True and error["code"] == "approval_required"
    assert stripe.v1.refunds.list(params={"charge": charge.id}).data == []

    # The account says something waits; the Approvals page asks the same sentence.
    await page.goto(account_url)
    await page.get_by_role("link", name="1 approval waiting for a decision").click()
    await page.wait_for_url(base + "/admin/approvals")
    item = page.locator(f"li#{error['approval_id']}")
    question = (await item.locator(".question").text_content() or "").strip()
    assert question.startswith(f"Refund 15.00 USD of charge {charge.id} (sarah.jones@example.com, paid 49.00 USD on ")
    assert question.endswith(") in TEST mode?")
    await expect(item.locator(".badge")).to_have_text("TEST")
    await item.get_by_text("Arguments sent to Stripe").click()
    await expect(item.locator("pre")).to_contain_text('"amount": 1500')
    await tab.shot("approvals-pending")
    await page.set_viewport_size(PHONE)
    await tab.no_horizontal_scroll()
    await tab.shot("approvals-on-a-phone")
    await page.set_viewport_size(LAPTOP)

    await item.get_by_role("button", name="Approve").click()
    await page.get_by_role("status").filter(has_text="Approved: the agent's next call").wait_for()
    await expect(page.get_by_text("Nothing waits for a decision.")).to_be_visible()
    await tab.shot("approved")

    # The agent calls again with the approval: the refund runs, once.
    ran = await refund(url, {**arguments, "approval_id": error["approval_id"]})
    assert ran.is_error is False and ran.structured_content["amount"] == 1500
    assert len(stripe.v1.refunds.list(params={"charge": charge.id}).data) == 1

    # The server's page keeps the decision: the question, the outcome, who decided.
    await page.goto(account_url)
    await page.get_by_role("link", name="refund desk", exact=True).click()
    row = page.locator("tr.decision").filter(has_text=charge.id)
    await expect(row.locator(".outcome")).to_have_text("executed")
    await expect(row).to_contain_text("console: admin token (session ")
    await tab.shot("server-decisions")

    assert tab.errors == [], tab.errors  # no CSP violation, no script error
    assert all(path.stat().st_size > 1000 for path in tab.shots)
    await context.close()
