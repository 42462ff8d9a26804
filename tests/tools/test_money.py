"""Which tools can move money, as the console marks them."""

from __future__ import annotations

from stripe_mcp.tools.money import money_tools, moves_money
from stripe_mcp.tools.registry import Registry

REGISTRY = Registry()


def test_tools_that_charge_refund_pay_out_or_transfer_move_money() -> None:
    for name in (
        "create_a_stripe_refund",
        "create_a_stripe_charge",
        "capture_a_stripe_payment_intent",
        "pay_a_stripe_invoice",
        "create_a_stripe_payout",
        "create_a_stripe_transfer",
        "create_a_stripe_subscription",
    ):
        assert moves_money(REGISTRY.tools[name]), name


def test_reads_updates_and_test_helpers_do_not() -> None:
    for name in (
        "list_all_stripe_charges",
        "get_single_stripe_refund_by_id",
        "update_a_stripe_customer_by_id",
        "create_a_stripe_customer",
        "update_a_stripe_dispute_by_id",
    ):
        assert not moves_money(REGISTRY.tools[name]), name
    helpers = [t for t in REGISTRY.tools.values() if "test_helpers" in t.areas]
    assert helpers and money_tools(helpers) == ()
    reads = [t for t in REGISTRY.tools.values() if t.kind in ("get", "list", "search")]
    assert money_tools(reads) == ()
