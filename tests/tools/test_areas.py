"""Functional areas (tags) that fit how support and finance work: a server made from them can do the job.

A dispute triage reads the dispute, its charge and the customer; a partial refund finds the customer, the
subscription and the charge. Each area a server lists is named by the tools it brings.
"""

from __future__ import annotations

from stripe_mcp.tools.filters import ToolFilter, allowed_tools
from stripe_mcp.tools.registry import Registry

REGISTRY = Registry()
CLIENT_TOOL_LIMIT = 128

REFUND_READS = ("list_all_stripe_customers", "list_all_stripe_customer_subscriptions", "list_all_stripe_charges")
DISPUTE_READS = ("list_all_stripe_disputes", "get_single_stripe_dispute_by_id", "get_single_stripe_charge_by_id")
WRITES = ("create_a_stripe_refund", "update_a_stripe_dispute_by_id")


def tools(methods: tuple[str, ...], tags: tuple[str, ...]) -> set[str]:
    return set(allowed_tools(REGISTRY, ToolFilter(methods, tags)))


def test_a_read_only_server_on_disputes_and_customers_reads_what_both_workflows_need() -> None:
    example = tools(("read",), ("disputes", "customers"))
    assert set(REFUND_READS) | set(DISPUTE_READS) <= example
    assert len(example) < CLIENT_TOOL_LIMIT
    assert not set(WRITES) & example


def test_support_is_one_area_for_the_whole_desk_and_fits_a_client() -> None:
    desk = tools(("read", "create", "update"), ("support",))
    assert set(REFUND_READS) | set(DISPUTE_READS) | set(WRITES) <= desk
    assert {"list_all_stripe_invoices", "get_single_stripe_subscription_by_id", "list_all_stripe_refunds"} <= desk
    assert len(tools((), ("support",))) < CLIENT_TOOL_LIMIT  # every kind of support tool, still under the cap
    assert not {name for name in desk if REGISTRY.tools[name].path.startswith("/v1/issuing")}


def test_finance_reads_money_in_and_out() -> None:
    books = tools(("read",), ("finance",))
    assert {
        "get_single_stripe_balance_by_id",
        "list_all_stripe_balance_transactions",
        "list_all_stripe_payouts",
        "list_all_stripe_refunds",
        "list_all_stripe_disputes",
        "list_all_stripe_reporting_report_runs",
        "list_all_stripe_application_fees",
    } <= books
    assert len(books) < CLIENT_TOOL_LIMIT


def test_every_tool_has_areas_and_each_area_names_its_tools() -> None:
    areas = REGISTRY.areas
    assert {"support", "finance", "disputes", "customers", "payments", "billing"} <= set(areas)
    for name, tool in REGISTRY.tools.items():
        assert tool.areas and tool.tags[: len(tool.areas)] == tool.areas, name
        for area in tool.areas:
            assert name in areas[area]
    assert sum(len(members) for members in areas.values()) == sum(len(t.areas) for t in REGISTRY.tools.values())
    assert set(areas["disputes"]) == set(tools((), ("disputes",)))
