"""A refund on an approval server never reaches Stripe without a person's yes: end to end, as users drive it.

An agent's client either asks its user (MCP elicitation: the official client's callback, in the 2025-11-25
and 2026-07-28 eras, over Streamable HTTP and stdio) or gets `approval_required`, and a person decides
through the admin API; the agent then calls again with `approval_id`. Upstream is localstripe (charges and
refunds, seeded through the stripe SDK); the exact count of upstream requests and their Idempotency-Key
are read at tests/support/fakes.py's FakeStripe, and expiry runs in process with an injected clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from cryptography.fernet import Fernet
from mcp.client.stdio import StdioServerParameters

from mcp import Client
from stripe_mcp.web.settings import Settings
from tests.support.fakes import FakeStripe, respond
from tests.support.in_process import in_process
from tests.support.runtime_process import RunningServer, free_port, serve_managed
from tests.support.seeding import customer_with_card, stripe_client

pytestmark = pytest.mark.integration  # a `stripe-mcp serve` process, localstripe, the official MCP client

ADMIN_TOKEN = "admin-token-approvals-7f3e"
API_KEY = "sk_test_approvals_4242"
MODERN = "2026-07-28"
REFUND = "create_a_stripe_refund"
CALL_TIMEOUT = 30.0


# --------------------------------------------------------------------------- the served product


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, stripe_url: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("approvals")
    with serve_managed(workdir, stripe_url, ADMIN_TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def stripe(stripe_url: str) -> Any:
    return stripe_client(stripe_url, API_KEY)


@pytest.fixture(scope="module")
def customer(stripe: Any) -> str:
    return customer_with_card(stripe, email="sarah.jones@example.com")


@pytest.fixture
def charge(stripe: Any, customer: str) -> Any:
    """A fresh 49.00 USD charge per test, so each test counts its own refunds."""
    return stripe.v1.charges.create(params={"amount": 4900, "currency": "usd", "customer": customer})


class Admin:
    """The admin API, asynchronously: an app served in the test's own loop must not be waited on by blocking."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10.0) as http:
            return await http.request(method, self.base_url + path, **kwargs)

    async def account(self, name: str) -> str:
        created = await self("POST", "/integrated-account", json={"name": name, "stripe_api_key": API_KEY})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def server(self, account: str, approval: str, **config: Any) -> dict[str, Any]:
        body = {"name": f"approval {approval}", "config": {"approval": approval, **config}}
        made = await self("POST", f"/integrated-account/{account}/mcp", json=body)
        assert made.status_code == 201, made.text
        assert made.json()["config"]["approval"] == approval
        return made.json()

    async def approvals(self, account: str) -> list[dict[str, Any]]:
        listed = await self("GET", f"/integrated-account/{account}/approvals")
        assert listed.status_code == 200, listed.text
        return listed.json()["data"]

    async def decide(self, approval_id: str, decision: str, status: int = 200) -> dict[str, Any]:
        answer = await self("POST", f"/approvals/{approval_id}/{decision}")
        assert answer.status_code == status, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def admin(running: RunningServer) -> Admin:
    return Admin(running.base_url)


@pytest.fixture(scope="module")
def account(running: RunningServer) -> str:
    created = httpx.post(
        f"{running.base_url}/integrated-account",
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        json={"name": "finance", "stripe_api_key": API_KEY},
        timeout=10.0,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def refunds_of(stripe: Any, charge: Any) -> list[Any]:
    return stripe.v1.refunds.list(params={"charge": charge.id}).data


def error_of(result: Any) -> dict[str, Any]:
    assert result.is_error is True, result.content[0].text
    return result.structured_content["error"]


def question_about(charge: Any, amount: str = "15.00 USD") -> str:
    paid_on = datetime.fromtimestamp(charge.created, tz=UTC).strftime("%Y-%m-%d")
    return f"Refund {amount} of charge {charge.id} (sarah.jones@example.com, paid 49.00 USD on {paid_on}) in TEST mode?"


def answering(action: str, approve: bool | None = None, asked: list[str] | None = None) -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if asked is not None:
            asked.append(params.message)
        assert params.requested_schema["required"] == ["approve"]
        return types.ElicitResult(action=action, content=None if approve is None else {"approve": approve})

    return callback


def never_asked(asked: list[str]) -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="decline")

    return callback


async def call(url: str, tool: str, arguments: dict[str, Any], mode: str = "legacy", callback: Any = None) -> Any:
    async with Client(url, mode=mode, elicitation_callback=callback) as client:
        return await asyncio.wait_for(client.call_tool(tool, arguments), CALL_TIMEOUT)


def approval_lines(running: RunningServer) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in running.printed.splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"].startswith("approval")]


# --------------------------------------------------------------------------- no elicitation: the console flow


async def test_approval_required_then_a_person_approves_and_it_runs_once(
    running: RunningServer, admin: Admin, account: str, stripe: Any, charge: Any
) -> None:
    server = await admin.server(account, "destructive")
    url = server["url"]
    async with Client(url, mode="legacy") as client:
        schemas = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
    assert "approval_id" in schemas[REFUND]["properties"]
    assert "approval_id" not in schemas["get_single_stripe_charge_by_id"]["properties"]
    assert "approval_id" not in schemas["create_a_stripe_customer"]["properties"]  # not destructive

    arguments = {"charge": charge.id, "amount": 1500, "metadata": {"ticket": "T-4242"}}
    required = error_of(await call(url, REFUND, arguments))
    assert required["code"] == "approval_required" and required["approval_id"].startswith("apr_")
    approval_id = required["approval_id"]
    assert approval_id in required["message"] and "/admin/approvals" in required["message"]
    assert refunds_of(stripe, charge) == []
    assert error_of(await call(url, REFUND, arguments))["approval_id"] == approval_id  # asked twice: one approval

    [listed] = [a for a in await admin.approvals(account) if a["id"] == approval_id]
    assert listed["status"] == "pending" and listed["server_id"] == server["id"] and listed["tool"] == REFUND
    assert listed["arguments"] == arguments and listed["question"] == question_about(charge)
    assert listed["livemode"] is False and listed["asked_via"] == "console"

    early = error_of(await call(url, REFUND, {**arguments, "approval_id": approval_id}))
    assert early["code"] == "approval_required" and "still waiting" in early["message"]
    assert refunds_of(stripe, charge) == []

    decided = await admin.decide(approval_id, "approve")
    assert decided["status"] == "approved" and decided["decided_by"] == "admin API (admin token)"
    first = await call(url, REFUND, {**arguments, "approval_id": approval_id})
    assert first.is_error is False, first.content[0].text
    refund = first.structured_content
    assert refund["object"] == "refund" and refund["amount"] == 1500 and refund["charge"] == charge.id
    again = await call(url, REFUND, {**arguments, "approval_id": approval_id}, mode=MODERN)
    assert again.is_error is False and again.structured_content == refund
    assert [r.id for r in refunds_of(stripe, charge)] == [refund["id"]]

    [done] = [a for a in await admin.approvals(account) if a["id"] == approval_id]
    assert done["status"] == "executed" and done["upstream_status"] == 200 and done["executed_at"]
    assert (await admin.decide(approval_id, "approve", 409))["error"]["code"] == "not_pending"
    assert (await admin.decide("apr_" + "0" * 24, "deny", 404))["error"]["code"] == "not_found"

    lines = [line for line in approval_lines(running) if line["approval_id"] == approval_id]
    assert [line["event"] for line in lines] == ["approval requested", "approval decided", "approval executed"]
    assert lines[1]["outcome"] == "approved" and lines[1]["decided_by"] == "admin API (admin token)"
    assert not any(charge.id in json.dumps(line) or "T-4242" in json.dumps(line) for line in lines)


async def test_denied_changed_foreign_and_unknown_are_refused(
    admin: Admin, account: str, stripe: Any, charge: Any
) -> None:
    url = (await admin.server(account, "destructive"))["url"]
    other = (await admin.server(account, "destructive"))["url"]
    arguments = {"charge": charge.id, "amount": 1000}

    denied_id = error_of(await call(url, REFUND, arguments))["approval_id"]
    assert (await admin.decide(denied_id, "deny"))["status"] == "denied"
    assert error_of(await call(url, REFUND, {**arguments, "approval_id": denied_id}))["code"] == "approval_denied"
    assert (await admin.decide(denied_id, "approve", 409))["error"]["code"] == "not_pending"

    approved_id = error_of(await call(url, REFUND, {**arguments, "amount": 1100}))["approval_id"]
    await admin.decide(approved_id, "approve")
    changed = error_of(await call(url, REFUND, {**arguments, "amount": 4900, "approval_id": approved_id}))
    assert changed["code"] == "approval_mismatch" and "(amount differ)" in changed["message"]
    assert "4900" not in changed["message"] and "1100" not in changed["message"]  # names, never values
    added = error_of(
        await call(url, REFUND, {**arguments, "amount": 1100, "metadata": {"a": "b"}, "approval_id": approved_id})
    )
    assert added["code"] == "approval_mismatch" and "(metadata differ)" in added["message"]
    foreign = error_of(await call(other, REFUND, {**arguments, "amount": 1100, "approval_id": approved_id}))
    assert foreign["code"] == "approval_not_found"
    unknown = error_of(await call(url, REFUND, {**arguments, "approval_id": "apr_" + "f" * 24}))
    assert unknown["code"] == "approval_not_found"
    assert refunds_of(stripe, charge) == []

    ran = await call(url, REFUND, {**arguments, "amount": 1100, "approval_id": approved_id})
    assert ran.is_error is False and ran.structured_content["amount"] == 1100  # the approval still works, once
    assert len(refunds_of(stripe, charge)) == 1


async def test_read_tools_never_ask_and_writes_mode_gates_every_write(
    admin: Admin, account: str, stripe: Any, charge: Any
) -> None:
    asked: list[str] = []
    url = (await admin.server(account, "writes"))["url"]
    for mode in ("legacy", MODERN):
        read = await call(url, "get_single_stripe_charge_by_id", {"id": charge.id}, mode, never_asked(asked))
        assert read.is_error is False and read.structured_content["id"] == charge.id
        listed = await call(url, "list_all_stripe_charges", {"limit": 1}, mode, never_asked(asked))
        assert listed.is_error is False
    assert asked == []
    created = error_of(await call(url, "create_a_stripe_customer", {"email": "new@example.com"}))
    assert created["code"] == "approval_required"  # not destructive, still a write
    question = [a for a in await admin.approvals(account) if a["id"] == created["approval_id"]][0]["question"]
    assert question == "Create customer: email new@example.com in TEST mode?"


# --------------------------------------------------------------------------- elicitation, both eras


@pytest.mark.parametrize("mode", ["legacy", MODERN])
async def test_a_client_that_can_be_asked_asks_its_user(
    admin: Admin, account: str, stripe: Any, charge: Any, mode: str
) -> None:
    url = (await admin.server(account, "destructive"))["url"]
    arguments = {"charge": charge.id, "amount": 1500}
    asked: list[str] = []

    for action, approve, code in (("decline", None, "approval_declined"), ("cancel", None, "approval_cancelled")):
        refused = error_of(await call(url, REFUND, arguments, mode, answering(action, approve, asked)))
        assert refused["code"] == code and "nothing was sent to Stripe" in refused["message"]
    not_ticked = error_of(await call(url, REFUND, arguments, mode, answering("accept", False, asked)))
    assert not_ticked["code"] == "approval_declined"  # accepting the form without ticking "approve" is a no
    assert refunds_of(stripe, charge) == []

    accepted = await call(url, REFUND, arguments, mode, answering("accept", True, asked))
    assert accepted.is_error is False, accepted.content[0].text
    assert accepted.structured_content["amount"] == 1500
    assert asked == [question_about(charge)] * 4
    assert [r.id for r in refunds_of(stripe, charge)] == [accepted.structured_content["id"]]

    decided = [
        a for a in await admin.approvals(account) if a["arguments"] == arguments and a["asked_via"] == "elicitation"
    ]
    assert sorted(a["status"] for a in decided) == ["denied", "denied", "executed"]  # cancel is no decision
    assert all(a["decided_by"] == "the client's user (MCP elicitation)" for a in decided)


async def test_discovery_mode_follows_the_same_rules(admin: Admin, account: str, stripe: Any, charge: Any) -> None:
    url = (await admin.server(account, "destructive", tool_exposure="discovery"))["url"]
    arguments = {"tool_name": REFUND, "arguments": {"charge": charge.id, "amount": 700}}
    async with Client(url, mode="legacy") as client:
        schema = await client.call_tool("get_tool_schema", {"tool_names": [REFUND]})
        assert "approval_id" in schema.structured_content["tools"][0]["inputSchema"]["properties"]
    required = error_of(await call(url, "call_tool", arguments))
    assert required["code"] == "approval_required"
    asked: list[str] = []
    accepted = await call(url, "call_tool", arguments, MODERN, answering("accept", True, asked))
    assert accepted.is_error is False and accepted.structured_content["amount"] == 700
    assert asked == [question_about(charge, "7.00 USD")]
    await admin.decide(required["approval_id"], "approve")
    again = {"tool_name": REFUND, "arguments": {**arguments["arguments"], "approval_id": required["approval_id"]}}
    assert (await call(url, "call_tool", again)).is_error is False
    assert len(refunds_of(stripe, charge)) == 2  # one per yes


STDIO_TIMEOUT = 60.0


def stdio_params(stripe_url: str) -> StdioServerParameters:
    env = {**os.environ, "STRIPE_API_KEY": API_KEY}
    command = ["-m", "stripe_mcp", "stdio", "--approval", "destructive", "--stripe-base-url", stripe_url]
    return StdioServerParameters(command=sys.executable, args=command, env=env)


async def test_stdio_asks_through_elicitation_only(stripe_url: str, stripe: Any, charge: Any) -> None:
    arguments = {"charge": charge.id, "amount": 900}

    async def run(callback: Any) -> Any:
        async with Client(stdio_params(stripe_url), mode="legacy", elicitation_callback=callback) as client:
            return await client.call_tool(REFUND, arguments)

    unavailable = error_of(await asyncio.wait_for(run(None), STDIO_TIMEOUT))
    assert unavailable["code"] == "approval_unavailable" and "cannot be asked" in unavailable["message"]
    asked: list[str] = []
    declined = error_of(await asyncio.wait_for(run(answering("decline", None, asked)), STDIO_TIMEOUT))
    assert declined["code"] == "approval_declined" and refunds_of(stripe, charge) == []
    accepted = await asyncio.wait_for(run(answering("accept", True, asked)), STDIO_TIMEOUT)
    assert accepted.is_error is False and accepted.structured_content["amount"] == 900
    assert asked == [question_about(charge, "9.00 USD")] * 2
    assert len(refunds_of(stripe, charge)) == 1


# --------------------------------------------------------------------------- in process: a fake Stripe, a clock


CHARGE = {
    "id": "ch_fake1",
    "object": "charge",
    "amount": 4900,
    "amount_refunded": 0,
    "currency": "usd",
    "created": 1793577600,
    "customer": None,
    "receipt_email": "pat@example.com",
}
REFUNDED = {"id": "re_fake1", "object": "refund", "amount": 1500, "currency": "usd", "charge": "ch_fake1"}


async def test_one_upstream_request_with_the_approvals_idempotency_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_MCP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    fake = FakeStripe()
    fake.on("GET", "/v1/charges/ch_fake1", respond(200, CHARGE))
    fake.on("POST", "/v1/refunds", respond(200, REFUNDED, {"Request-Id": "req_refund_1"}))
    await fake.start()
    port = free_port()
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'store.sqlite3'}",
        stripe_base_url=fake.base_url,
        public_url=f"http://127.0.0.1:{port}",
        admin_token=ADMIN_TOKEN,
    )
    try:
        async with in_process(settings, port) as base:
            admin = Admin(base)
            account = await admin.account("fake")
            url = (await admin.server(account, "destructive"))["url"]
            arguments = {"charge": "ch_fake1", "amount": 1500}
            approval_id = error_of(await call(url, REFUND, arguments))["approval_id"]
            assert [r.method for r in fake.requests] == ["GET"]  # the question's read; nothing written
            await admin.decide(approval_id, "approve")
            results = [await call(url, REFUND, {**arguments, "approval_id": approval_id}) for _ in range(3)]
            assert all(r.is_error is False and r.structured_content == REFUNDED for r in results)
            posts = [r for r in fake.requests if r.method == "POST"]
            assert len(posts) == 1
            assert posts[0].headers["idempotency-key"] == f"stripe-mcp-{approval_id}"
            assert dict(posts[0].form) == {"charge": "ch_fake1", "amount": "1500"}
            [done] = await admin.approvals(account)
            assert done["request_id"] == "req_refund_1" and done["status"] == "executed"
            assert (
                done["question"]
                == "Refund 15.00 USD of charge ch_fake1 (pat@example.com, paid 49.00 USD on 2026-11-02) in TEST mode?"
            )
    finally:
        await fake.stop()


async def test_approvals_expire(tmp_path: Path, stripe_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_MCP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    now = [time.time()]
    port = free_port()
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'store.sqlite3'}",
        stripe_base_url=stripe_url,
        public_url=f"http://127.0.0.1:{port}",
        admin_token=ADMIN_TOKEN,
        approval_ttl=600,
        clock=lambda: now[0],
    )
    stripe = stripe_client(stripe_url, API_KEY)
    charge = stripe.v1.charges.create(
        params={
            "amount": 4900,
            "currency": "usd",
            "customer": customer_with_card(stripe, email="sarah.jones@example.com"),
        }
    )
    async with in_process(settings, port) as base:
        admin = Admin(base)
        account = await admin.account("clock")
        url = (await admin.server(account, "destructive"))["url"]
        undecided = error_of(await call(url, REFUND, {"charge": charge.id, "amount": 100}))["approval_id"]
        unused = error_of(await call(url, REFUND, {"charge": charge.id, "amount": 200}))["approval_id"]
        late = error_of(await call(url, REFUND, {"charge": charge.id, "amount": 300}))["approval_id"]
        await admin.decide(late, "approve")
        now[0] += 599
        await admin.decide(unused, "approve")  # a yes at the last second: the agent gets the full 600 s again
        now[0] += 2
        assert (await admin.decide(undecided, "approve", 409))["error"]["message"].endswith("has expired")
        expired = error_of(await call(url, REFUND, {"charge": charge.id, "amount": 100, "approval_id": undecided}))
        assert expired["code"] == "approval_expired"
        fresh = error_of(await call(url, REFUND, {"charge": charge.id, "amount": 100}))
        assert fresh["code"] == "approval_required" and fresh["approval_id"] != undecided  # asked anew
        too_late = error_of(await call(url, REFUND, {"charge": charge.id, "amount": 300, "approval_id": late}))
        assert too_late["code"] == "approval_expired"  # approved, then not called within 600 s
        now[0] += 590  # 592 s after the yes
        assert (await call(url, REFUND, {"charge": charge.id, "amount": 200, "approval_id": unused})).is_error is False
        statuses = {a["id"]: a["status"] for a in await admin.approvals(account)}
        assert statuses[undecided] == statuses[late] == "expired" and statuses[unused] == "executed"
    assert [r.amount for r in refunds_of(stripe, charge)] == [200]
