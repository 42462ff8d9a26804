"""Approvals in the admin console of a real `stripe-mcp serve`, driven with httpx as a browser would: the form
offers approval, the Approvals page asks the same sentence with approve and deny forms (CSRF as every form),
and the server's page shows each decision and who made it. Upstream is localstripe.

The same flow in Chromium, with screenshots, is tests/web/test_console_approvals_browser.py.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mcp import Client
from tests.support.localstripe_server import localstripe
from tests.support.runtime_process import RunningServer, serve_managed
from tests.support.seeding import customer_with_card, stripe_client
from tests.web.test_console import ADMIN_TOKEN, API_KEY, Browser, add_account, admin_api, create_server

pytestmark = pytest.mark.integration  # a `stripe-mcp serve` process in front of localstripe

REFUND = "create_a_stripe_refund"


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    with localstripe() as url:
        yield url


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, stripe_url: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("console-approvals")
    with serve_managed(workdir, stripe_url, ADMIN_TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def browser(running: RunningServer) -> Iterator[Browser]:
    client = Browser(running.base_url)
    assert client.sign_in().status_code == 303
    yield client
    client.close()


@pytest.fixture(scope="module")
def account_id(browser: Browser) -> str:
    return add_account(browser, "finance")


@pytest.fixture(scope="module")
def gated(browser: Browser, account_id: str) -> tuple[str, str]:
    return create_server(browser, account_id, name="refund desk", approval="destructive")


@pytest.fixture
def charge(stripe_url: str) -> Any:
    stripe = stripe_client(stripe_url, API_KEY)
    customer = customer_with_card(stripe, email="sarah.jones@example.com")
    return stripe.v1.charges.create(params={"amount": 4900, "currency": "usd", "customer": customer})


async def ask_refund(url: str, arguments: dict[str, Any]) -> Any:
    async with Client(url, mode="legacy") as client:
        return await asyncio.wait_for(client.call_tool(REFUND, arguments), 30)


def refunds_of(stripe_url: str, charge: Any) -> int:
    return len(stripe_client(stripe_url, API_KEY).v1.refunds.list(params={"charge": charge.id}).data)


def approval_of(running: RunningServer, account_id: str, approval_id: str) -> dict[str, Any]:
    listed = admin_api(running.base_url, "GET", f"/integrated-account/{account_id}/approvals").json()["data"]
    return next(a for a in listed if a["id"] == approval_id)


def test_the_form_offers_approval_and_suggests_destructive(
    browser: Browser, account_id: str, running: RunningServer
) -> None:
    form = browser.get(f"/admin/accounts/{account_id}/servers/new").text
    assert re.search(r'value="destructive" id="approval-destructive" checked', form)
    assert 'id="approval-hint" class="warning" role="status" hidden' in form  # destructive chosen: nothing to suggest
    none_chosen = browser.post(
        f"/admin/accounts/{account_id}/servers",
        {"name": "p", "tool_exposure": "all", "expires": "never", "approval": "none", "action": "preview"},
    )
    assert 'id="approval-hint" class="warning" role="status">' in none_chosen.text  # writes allowed, no approval
    read_only = browser.post(
        f"/admin/accounts/{account_id}/servers",
        {
            "name": "p",
            "methods": "read",
            "tool_exposure": "all",
            "expires": "never",
            "approval": "none",
            "action": "preview",
        },
    )
    assert 'id="approval-hint" class="warning" role="status" hidden' in read_only.text
    assert browser.get("/admin/tool-count", params={"methods": "read"}).json()["writes"] is False
    assert browser.get("/admin/tool-count", params={"methods": "write"}).json()["writes"] is True
    bad = browser.post(
        f"/admin/accounts/{account_id}/servers",
        {"name": "x", "tool_exposure": "all", "expires": "never", "approval": "sometimes", "action": "create"},
    )
    assert bad.status_code == 400 and 'role="alert"' in bad.text


async def test_a_person_approves_in_the_console(
    running: RunningServer, browser: Browser, account_id: str, gated: tuple[str, str], charge: Any, stripe_url: str
) -> None:
    server_id, url = gated
    config = admin_api(running.base_url, "GET", f"/integrated-account/{account_id}/mcp").json()["data"]
    assert next(s for s in config if s["id"] == server_id)["config"]["approval"] == "destructive"
    arguments = {"charge": charge.id, "amount": 1500}
    approval_id = (await ask_refund(url, arguments)).structured_content["error"]["approval_id"]

    assert "1 approval waiting for a decision" in browser.get(f"/admin/accounts/{account_id}").text
    page = browser.get("/admin/approvals")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert approval_id in text and approval_of(running, account_id, approval_id)["question"] in text
    assert f"Refund 15.00 USD of charge {charge.id} (sarah.jones@example.com, paid 49.00 USD on " in text
    assert f'action="/admin/approvals/{approval_id}/approve"' in page.text
    assert f'action="/admin/approvals/{approval_id}/deny"' in page.text

    forged = browser.post(f"/admin/approvals/{approval_id}/approve", {}, csrf=False)
    assert forged.status_code == 403
    elsewhere = browser.post(f"/admin/approvals/{approval_id}/approve", {}, origin="http://evil.example")
    assert elsewhere.status_code == 403
    assert approval_of(running, account_id, approval_id)["status"] == "pending"

    browser.get("/admin/approvals")
    approved = browser.post(f"/admin/approvals/{approval_id}/approve", {})
    assert approved.status_code == 303 and approved.headers["location"] == "/admin/approvals?notice=approval-approved"
    assert "Approved: the agent" in browser.get(approved.headers["location"]).text
    decided = approval_of(running, account_id, approval_id)
    assert decided["status"] == "approved" and re.fullmatch(
        r"console: admin token \(session [\w-]{8}\)", decided["decided_by"]
    )
    again = browser.post(f"/admin/approvals/{approval_id}/deny", {})
    assert again.status_code == 409 and "is already approved" in again.text

    ran = await ask_refund(url, {**arguments, "approval_id": approval_id})
    assert ran.is_error is False and refunds_of(stripe_url, charge) == 1
    server_page = html.unescape(browser.get(f"/admin/accounts/{account_id}/servers/{server_id}").text)
    assert "destructive: refunds, payouts" in server_page
    row = re.search(
        rf'<tr class="decision">(?:(?!</tr>).)*{re.escape(charge.id)}(?:(?!</tr>).)*</tr>', server_page, re.S
    )
    assert row and "executed" in row.group(0) and decided["decided_by"] in row.group(0)


async def test_a_person_denies_with_an_api_token_session(
    running: RunningServer, account_id: str, gated: tuple[str, str], charge: Any, stripe_url: str
) -> None:
    token = admin_api(running.base_url, "POST", "/api-token", json={"admin": True}).json()
    operator = Browser(running.base_url)
    try:
        assert operator.sign_in(token["token"]).status_code == 303
        arguments = {"charge": charge.id, "amount": 2000}
        approval_id = (await ask_refund(gated[1], arguments)).structured_content["error"]["approval_id"]
        operator.get("/admin/approvals")
        denied = operator.post(f"/admin/approvals/{approval_id}/deny", {})
        assert denied.status_code == 303 and denied.headers["location"].endswith("notice=approval-denied")
        assert approval_id not in operator.get("/admin/approvals").text  # nothing left to decide
    finally:
        operator.close()
    decided = approval_of(running, account_id, approval_id)
    assert decided["status"] == "denied" and decided["decided_by"] == f"console: API token {token['id']}"
    refused = await ask_refund(gated[1], {**arguments, "approval_id": approval_id})
    assert refused.structured_content["error"]["code"] == "approval_denied"
    assert refunds_of(stripe_url, charge) == 0


def test_an_unknown_approval_is_not_found(browser: Browser) -> None:
    browser.get("/admin/approvals")
    answer = browser.post(f"/admin/approvals/apr_{'a' * 24}/approve", {})
    assert answer.status_code == 404 and "no approval" in answer.text
    assert httpx.get(f"{browser.base_url}/admin/approvals", timeout=10).status_code == 303  # no session: sign in
