"""Which tools can move money: what a person must know before handing an agent a server's URL.

A tool moves money when it creates or acts on an object that charges, pays out, refunds or transfers
(a refund, a charge, a payment intent's capture, an invoice's payment, a payout, a subscription that
bills). Reading never moves money, nor do test helpers (test mode's clocks and simulations).
"""

from __future__ import annotations

from collections.abc import Iterable

from stripe_mcp.tools.registry import ToolEntry

MONEY_RESOURCES = frozenset(
    {
        "charge",
        "payment_intent",
        "refund",
        "payout",
        "transfer",
        "transfer_reversal",
        "topup",
        "invoice",
        "credit_note",
        "fee_refund",
        "subscription",
        "subscription_item",
        "usage_record",
        "quote",
        "customer_balance_transaction",
        "issuing.authorization",
        "treasury.outbound_payment",
        "treasury.outbound_transfer",
        "treasury.inbound_transfer",
    }
)
MOVING_KINDS = ("create", "custom")


def moves_money(tool: ToolEntry) -> bool:
    resource = tool.tags[-1] if tool.tags else ""
    return tool.kind in MOVING_KINDS and resource in MONEY_RESOURCES and "test_helpers" not in tool.areas


def money_tools(tools: Iterable[ToolEntry]) -> tuple[str, ...]:
    """The names of those among `tools` that can move money, in their order."""
    return tuple(tool.name for tool in tools if moves_money(tool))
