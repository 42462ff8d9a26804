"""The words agents read, as generated from the pinned spec: reviewed overrides, units, dates, deprecations.

Read from generated/ (manifest.json and schemas/), which `generate --check` keeps equal to the pinned spec.
"""

from __future__ import annotations

import re

import pytest

from stripe_mcp.codegen.descriptions import Descriptions
from stripe_mcp.tools.ranking import SearchIndex
from stripe_mcp.tools.registry import Registry

REGISTRY = Registry()
WORDS = Descriptions.load()
SCHEMAS = {name: REGISTRY.input_schema(name) for name in REGISTRY.tools}
HERO_TOOLS = (
    "get_single_stripe_balance_by_id",
    "list_all_stripe_customers",
    "get_single_stripe_payment_intent_by_id",
    "list_all_stripe_disputes",
    "create_a_stripe_refund",
    "search_stripe_customers",
)


def test_the_overrides_name_tools_and_arguments_that_exist() -> None:
    assert WORDS.problems({name: set(tool.arguments) for name, tool in REGISTRY.tools.items()}) == []


def test_every_argument_of_every_tool_is_described() -> None:
    bare = [(n, a) for n, s in SCHEMAS.items() for a, sub in s["properties"].items() if not sub.get("description")]
    assert bare == []


@pytest.mark.parametrize("name", HERO_TOOLS)
def test_the_hero_tools_have_reviewed_words(name: str) -> None:
    assert WORDS.tools[name].description
    assert REGISTRY.tools[name].description.startswith(WORDS.tools[name].description[:60])


def test_amounts_say_their_unit() -> None:
    for name, schema in SCHEMAS.items():
        for argument, sub in schema["properties"].items():
            integer = sub.get("type") == "integer" or any(b.get("type") == "integer" for b in sub.get("anyOf", []))
            if integer and re.search(r"(^|_)amount(_|$)", argument):
                assert "smallest" in sub["description"].lower(), (name, argument)
    refund = SCHEMAS["create_a_stripe_refund"]["properties"]["amount"]["description"]
    assert "1500 = 15.00 USD" in refund and "leave out to refund all" in refund
    assert "partial refund" in REGISTRY.tools["create_a_stripe_refund"].description


def test_range_filters_say_unix_seconds_or_the_amount_unit_and_the_range_keys() -> None:
    filters = [
        (n, a, sub["description"])
        for n, s in SCHEMAS.items()
        for a, sub in s["properties"].items()
        if any(set(b.get("properties") or {}) == {"gt", "gte", "lt", "lte"} for b in sub.get("anyOf", []))
    ]
    assert len(filters) > 40
    for name, argument, text in filters:
        unit = "smallest" if re.search(r"(^|_)amount(_|$)", argument) else "unix"  # a range of amounts, or of dates
        assert "gte" in text and unit in text.lower(), (name, argument, text)


def test_refund_arguments_the_spec_left_bare_are_described() -> None:
    properties = SCHEMAS["create_a_stripe_refund"]["properties"]
    assert "requested_by_customer" in properties["reason"]["description"]
    assert "application fee" in properties["refund_application_fee"]["description"]
    assert "transfer" in properties["reverse_transfer"]["description"]


def test_deleting_a_subscription_says_it_cancels() -> None:
    text = REGISTRY.tools["delete_a_stripe_subscription_by_id"].description
    assert text.startswith("Cancel a subscription") and "cancel_at_period_end" in text


def test_list_tools_point_to_query_stripe_and_search_tools_give_examples() -> None:
    for name, tool in REGISTRY.tools.items():
        if tool.kind in ("list", "search"):
            assert "query_stripe" in tool.description, name
            assert tool.description.endswith("pass next_cursor back for the next page."), name
        if tool.kind == "search":
            assert " AND " in SCHEMAS[name]["properties"]["query"]["description"], name


def test_charges_and_payment_intents_say_how_they_differ() -> None:
    assert "latest_charge" in REGISTRY.tools["get_single_stripe_payment_intent_by_id"].description
    assert "payment intent" in REGISTRY.tools["get_single_stripe_charge_by_id"].description


@pytest.mark.parametrize(
    ("deprecated", "successor", "query"),
    [
        ("create_a_stripe_charge_refund", "create_a_stripe_refund", "refund charge ch_123"),
        ("refund_a_stripe_charge", "create_a_stripe_refund", "refund the charge ch_123"),
        ("list_all_stripe_charge_refunds", "list_all_stripe_refunds", "list refunds of charge ch_123"),
        ("get_single_stripe_charge_refund_by_id", "get_single_stripe_refund_by_id", "get refund re_123 of charge ch_1"),
        ("list_all_stripe_balance_history", "list_all_stripe_balance_transactions", "balance history"),
        ("create_a_stripe_charge", "create_a_stripe_payment_intent", "create a payment for 20 dollars"),
    ],
)
def test_deprecated_tools_say_so_and_rank_below_their_successor(deprecated: str, successor: str, query: str) -> None:
    assert REGISTRY.tools[deprecated].description.startswith(f"Deprecated: use {successor} instead.")
    ranked = [name for name, _ in SearchIndex(REGISTRY).rank(query, tuple(REGISTRY.tools))]
    assert successor in ranked
    assert deprecated not in ranked or ranked.index(successor) < ranked.index(deprecated), ranked[:5]
