"""The question a person answers before a write reaches Stripe: what a finance lead reads, word for word.

The target objects come from a reader standing in for Stripe's GET tools (the end-to-end approval tests
read them from localstripe); a reader that fails shows what a failed read does to the question.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from stripe_mcp.mcp.jsonrpc import JsonRpcError
from stripe_mcp.stripe_api.amounts import format_amount
from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.tools.approval_gate import ApprovalGate
from stripe_mcp.tools.approvals import needs_approval
from stripe_mcp.tools.questions import question_for
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from tests.support.fakes import unused_port_url

CREATED = 1793577600  # 2026-11-02 00:00 UTC
CHARGE = {
    "id": "ch_1",
    "object": "charge",
    "amount": 4900,
    "amount_refunded": 1000,
    "currency": "usd",
    "created": CREATED,
    "customer": "cus_1",
    "billing_details": {"email": None},
    "status": "succeeded",
}
CUSTOMER = {"id": "cus_1", "object": "customer", "email": "sarah.jones@example.com", "name": "Sarah Jones"}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


def reader(objects: dict[str, dict[str, Any]], reads: list[str] | None = None) -> Any:
    async def read(tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        if reads is not None:
            reads.append(f"{tool} {arguments['id']}")
        return objects.get(arguments["id"])

    return read


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1500, "usd", "15.00 USD"),
        (150000, "eur", "1,500.00 EUR"),
        (1500, "jpy", "1,500 JPY"),  # zero-decimal
        (1500, "KRW", "1,500 KRW"),
        (1500, "kwd", "1.500 KWD"),  # three decimals
        (1500, "isk", "15.00 ISK"),  # two decimals in the API, as Stripe counts it
        (5, "usd", "0.05 USD"),
    ],
)
def test_amounts_in_the_currency_units(amount: int, currency: str, shown: str) -> None:
    assert format_amount(amount, currency) == shown


async def test_a_refund_names_the_charge_its_customer_and_what_was_paid(registry: Registry) -> None:
    reads: list[str] = []
    text = await question_for(
        registry.tools["create_a_stripe_refund"],
        {"charge": "ch_1", "amount": 1500},
        livemode=False,
        read=reader({"ch_1": CHARGE, "cus_1": CUSTOMER}, reads),
    )
    assert (
        text == "Refund 15.00 USD of charge ch_1 (sarah.jones@example.com, paid 49.00 USD on 2026-11-02) in TEST mode?"
    )
    assert reads == ["get_single_stripe_charge_by_id ch_1", "get_single_stripe_customer_by_id cus_1"]


async def test_a_full_refund_says_how_much_is_left_and_live_mode_says_so(registry: Registry) -> None:
    charge = {**CHARGE, "currency": "jpy", "amount": 4900, "amount_refunded": 900, "receipt_email": "pay@example.com"}
    text = await question_for(
        registry.tools["refund_a_stripe_charge"], {"id": "ch_1"}, livemode=True, read=reader({"ch_1": charge})
    )
    assert (
        text
        == "Refund the full remaining 4,000 JPY of charge ch_1 (pay@example.com, paid 4,900 JPY on 2026-11-02) in LIVE mode?"
    )


async def test_a_failed_read_still_asks_and_never_guesses_the_currency(registry: Registry) -> None:
    tool = registry.tools["create_a_stripe_refund"]
    unknown = await question_for(tool, {"charge": "ch_gone", "amount": 1500}, livemode=False, read=reader({}))
    assert unknown == (
        "Refund 1500 in the smallest unit of a currency that could not be read of charge ch_gone "
        "(its details could not be read) in TEST mode?"
    )
    known = await question_for(
        tool, {"charge": "ch_gone", "amount": 1500, "currency": "eur"}, livemode=False, read=reader({})
    )
    assert known == "Refund 15.00 EUR of charge ch_gone (its details could not be read) in TEST mode?"


async def test_other_writes_name_their_target_and_arguments(registry: Registry) -> None:
    payout = await question_for(
        registry.tools["create_a_stripe_payout"],
        {"amount": 250000, "currency": "gbp", "method": "instant", "idempotency_key": "k"},
        livemode=True,
        read=reader({}),
    )
    assert payout == "Create payout: amount 2,500.00 GBP, method instant in LIVE mode?"
    deletion = await question_for(
        registry.tools["delete_a_stripe_customer_by_id"],
        {"id": "cus_1"},
        livemode=False,
        read=reader({"cus_1": CUSTOMER}),
    )
    assert deletion == "Delete customer cus_1 (sarah.jones@example.com) in TEST mode?"
    capture = await question_for(
        registry.tools["capture_a_stripe_charge"],
        {"id": "ch_1", "amount": 2000},
        livemode=False,
        read=reader({"ch_1": CHARGE, "cus_1": CUSTOMER}),
    )
    assert capture == (
        "Capture charge ch_1 (sarah.jones@example.com, paid 49.00 USD on 2026-11-02): amount 20.00 USD in TEST mode?"
    )


def test_which_tools_need_approval(registry: Registry) -> None:
    tools = registry.tools
    destructive = {n for n, t in tools.items() if needs_approval("destructive", t.annotations)}
    writes = {n for n, t in tools.items() if needs_approval("writes", t.annotations)}
    assert "create_a_stripe_refund" in destructive and "create_a_stripe_payout" in destructive
    assert "create_a_stripe_customer" not in destructive and "create_a_stripe_customer" in writes
    assert destructive < writes
    assert not any(t.annotations["readOnlyHint"] for n, t in tools.items() if n in writes)
    assert not {n for n, t in tools.items() if needs_approval("none", t.annotations)}


async def test_a_gated_tool_is_sent_only_past_the_gate(registry: Registry) -> None:
    """query_stripe and the discovery profile send through `send`: it refuses what needs a person's yes."""
    gate = ApprovalGate("destructive", ttl=60, clock=time.time)
    upstream = Upstream(unused_port_url())  # never reached: every path here stops before Stripe
    server = StripeMcpServer(registry, upstream, Account("sk_test_gate", registry.api_version), approvals=gate)
    try:
        with pytest.raises(JsonRpcError, match="needs a person's approval"):
            await server.send("create_a_stripe_refund", {"charge": "ch_1", "amount": 100})
        refused = await server.call_tool("create_a_stripe_refund", {"charge": "ch_1", "amount": 100})
        assert refused.result["structuredContent"]["error"]["code"] == "approval_unavailable"  # no book, no asking
        listed = {tool["name"]: tool for tool in json.loads(server.tools_json())}
        assert "approval_id" in listed["create_a_stripe_refund"]["inputSchema"]["properties"]
        assert (
            "query_stripe" in listed
            and "approval_id" not in listed["list_all_stripe_charges"]["inputSchema"]["properties"]
        )
        assert server.input_schema("query_stripe") == listed["query_stripe"]["inputSchema"]
    finally:
        await upstream.aclose()
