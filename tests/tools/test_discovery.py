"""Discovery mode: the ranking of search_tools, and the three meta tools end to end.

Ranking is tested on SearchIndex directly with every tool allowed; the MCP part runs the official
MCP client against a real `stripe-mcp serve` process in front of localstripe, seeded through the
official stripe SDK.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.shared.exceptions import MCPError

from mcp import Client
from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.managed.service import create_account, create_server
from stripe_mcp.managed.store.sqlite_store import SqliteStore
from stripe_mcp.tools.discovery import META_TOOLS, SUMMARY_CHARS
from stripe_mcp.tools.filters import METHOD_GROUPS, ToolFilter, allowed_tools
from stripe_mcp.tools.ranking import SearchIndex
from stripe_mcp.tools.registry import Registry
from tests.support.runtime_process import serve
from tests.support.seeding import customer_with_card, stripe_client

REGISTRY = Registry()
INDEX = SearchIndex(REGISTRY)
ALL_TOOLS = tuple(REGISTRY.tools)
READ_ONLY = allowed_tools(REGISTRY, ToolFilter(("read",)))
READ_KINDS = set(METHOD_GROUPS["read"])


def top(query: str, allowed: tuple[str, ...] = ALL_TOOLS, limit: int = 3) -> list[str]:
    return [name for name, _ in INDEX.search(query, allowed, limit)]


# --- ranking -------------------------------------------------------------------------

SEED_PROMPTS = [
    ("Check our current Stripe balance", "get_single_stripe_balance_by_id"),
    ("Find the customer profile for user@example.com", "list_all_stripe_customers"),
    ("Why did payment intent pi_12345 fail", "get_single_stripe_payment_intent_by_id"),
    ("List all open disputes", "list_all_stripe_disputes"),
    ("Issue a partial refund for charge ch_999888", "create_a_stripe_refund"),
    ("find customers by order_id metadata", "search_stripe_customers"),
]

# Realistic finance / support tasks, each with the one tool a careful engineer would call.
OWN_PROMPTS = [
    # payouts and balance
    ("Show me all payouts sent to our bank this month", "list_all_stripe_payouts"),
    ("What is the status of payout po_1Nabc123", "get_single_stripe_payout_by_id"),
    ("Cancel the pending payout po_77aa88", "cancel_a_stripe_payout"),
    ("Which payouts failed last week", "list_all_stripe_payouts"),
    ("List balance transactions for last week", "list_all_stripe_balance_transactions"),
    ("Look up balance transaction txn_1AbCdE", "get_single_stripe_balance_transaction_by_id"),
    ("Exchange rate from USD to EUR", "get_single_stripe_exchange_rate_by_id"),
    ("Transfer funds to connected account acct_1032D82eZvKYlo2C", "create_a_stripe_transfer"),
    ("Reverse transfer tr_1MiN3gLkdIwHu7ixNCZvFdgA", "create_a_stripe_transfer_reversal"),
    # disputes and fraud
    ("Show details of dispute dp_1XyZ", "get_single_stripe_dispute_by_id"),
    ("Submit evidence for dispute dp_998877", "update_a_stripe_dispute_by_id"),
    ("Accept and close dispute dp_123456, we will not fight it", "close_a_stripe_dispute"),
    ("Upload dispute evidence file", "create_a_stripe_file"),
    ("Approve review prv_1Abc flagged by Radar", "approve_a_stripe_review"),
    # products, prices, coupons, tax
    ("Create a new product called Gold plan", "create_a_stripe_product"),
    ("List all products in our catalog", "list_all_stripe_products"),
    ("Create a monthly price of 20 USD for product prod_ABC123", "create_a_stripe_price"),
    ("List all prices", "list_all_stripe_prices"),
    ("Create a coupon for 25% off", "create_a_stripe_coupon"),
    ("List all coupons", "list_all_stripe_coupons"),
    ("Create a promotion code for coupon SUMMER", "create_a_stripe_promotion_code"),
    ("Create tax rate of 8.25% for Texas", "create_a_stripe_tax_rate"),
    # checkout and payment links
    ("Create a checkout session for a one-time payment", "create_a_stripe_checkout_session"),
    ("Expire checkout session cs_test_a1b2c3", "expire_a_stripe_checkout_session"),
    ("Show me recent checkout sessions", "list_all_stripe_checkout_sessions"),
    ("Create a payment link for the Gold plan price", "create_a_stripe_payment_link"),
    # invoices, credit notes, quotes
    ("List all unpaid invoices for customer cus_9s6XKzkNRiz8i3", "list_all_stripe_invoices"),
    ("Finalize draft invoice in_1MtHbELkdIwHu7ix", "finalize_a_stripe_invoice"),
    ("Void invoice in_1Abc234", "void_a_stripe_invoice"),
    ("Send invoice in_1QwErTy to the customer by email", "send_a_stripe_invoice"),
    ("Mark invoice in_1Zz9 as uncollectible", "mark_uncollectible_a_stripe_invoice"),
    ("Create an invoice for customer cus_4QFJOjw2pOmAGJ", "create_a_stripe_invoice"),
    ("Pay invoice in_1Abcdef now", "pay_a_stripe_invoice"),
    ("List the line items of invoice in_1MtHbE", "list_all_stripe_invoice_lines"),
    ("Show the upcoming invoice for customer cus_Q1w2E3", "get_single_stripe_invoice_upcoming_by_id"),
    ("Find the invoice with number ABC-0042", "search_stripe_invoices"),
    ("Search invoices with status open and amount over 1000", "search_stripe_invoices"),
    ("Issue a credit note for invoice in_1MxvRk", "create_a_stripe_credit_note"),
    ("Get the PDF of quote qt_1Abc", "get_single_stripe_quote_pdf_by_id"),
    ("Accept quote qt_1Mabc on behalf of the customer", "accept_a_stripe_quote"),
    # subscriptions
    ("Cancel subscription sub_1MowQVLkdIwHu7ix", "delete_a_stripe_subscription_by_id"),
    ("List all subscriptions", "list_all_stripe_subscriptions"),
    (
        "Create a subscription for customer cus_Na6dX7aXxi11N4 on price price_1Mr6rdLkdIwHu7ixwPmiybbR",
        "create_a_stripe_subscription",
    ),
    ("Resume paused subscription sub_1Pq2Rs", "resume_a_stripe_subscription"),
    ("Update subscription sub_1AbCd to a new quantity", "update_a_stripe_subscription_by_id"),
    ("Change the default payment method on subscription sub_1Q2w3E", "update_a_stripe_subscription_by_id"),
    ("List subscription schedules", "list_all_stripe_subscription_schedules"),
    # refunds
    ("List all refunds", "list_all_stripe_refunds"),
    ("Get refund re_3MtwBwLkdIwHu7ix28a3tqPa", "get_single_stripe_refund_by_id"),
    ("Cancel refund re_1Nispe", "cancel_a_stripe_refund"),
    ("Refund the full amount of payment intent pi_3Abc456", "create_a_stripe_refund"),
    # events
    ("List recent events from the webhook log", "list_all_stripe_events"),
    ("Retrieve event evt_1NG8Du2eZvKYlo2CUI79vXWy", "get_single_stripe_event_by_id"),
    ("List all webhook endpoints", "list_all_stripe_webhook_endpoints"),
    # customers, payments, payment methods
    ("Who is customer cus_NffrFeUfNV2Hib", "get_single_stripe_customer_by_id"),
    ("Update the email address of customer cus_NffrFeUfNV2Hib", "update_a_stripe_customer_by_id"),
    ("Delete customer cus_Ab12Cd34", "delete_a_stripe_customer_by_id"),
    ("Create a new customer", "create_a_stripe_customer"),
    ("Add a card to customer cus_Abc123", "create_a_stripe_customer_card"),
    ("Search charges by metadata order id", "search_stripe_charges"),
    ("Capture the authorized payment intent pi_3MtwBw", "capture_a_stripe_payment_intent"),
    ("Cancel payment intent pi_1AbC2dE", "cancel_a_stripe_payment_intent"),
    ("List all charges for customer cus_Abc123", "list_all_stripe_charges"),
    ("List all payment methods of customer cus_9s6XKzkNRiz8i3", "list_all_stripe_customer_payment_methods"),
    ("Attach payment method pm_123abc to customer cus_999", "attach_a_stripe_payment_method"),
    ("Detach payment method pm_1Q0PsIJvEtkwdCNY", "detach_a_stripe_payment_method"),
    # Known misses until the ranking weighed in the object named and the action asked.
    ("Show charge ch_3MmlLrLkdIwHu7ix0snN0B15", "get_single_stripe_charge_by_id"),
    ("How much money is available to pay out right now", "get_single_stripe_balance_by_id"),
    ("Give the customer cus_Q1w2E3 a 10 dollar account credit", "create_a_stripe_customer_balance_transaction"),
    ("Archive product prod_Old123 so it no longer shows", "update_a_stripe_product_by_id"),
    ("Which customers were charged more than 500 dollars", "search_stripe_charges"),
    ("Which webhook deliveries happened for invoice.paid", "list_all_stripe_events"),
    ("Which payment intents require action", "search_stripe_payment_intents"),
]

# Prompts whose expected tool is right but is not in the top 3 today, with why (see the report).
KNOWN_MISSES: list[tuple[str, str]] = []

EVERY_PROMPT = SEED_PROMPTS + OWN_PROMPTS + KNOWN_MISSES


def test_expected_tools_exist() -> None:
    for _, tool in EVERY_PROMPT:
        assert tool in REGISTRY.tools, tool
    assert len(ALL_TOOLS) == 468
    assert len(OWN_PROMPTS) + len(KNOWN_MISSES) >= 30


@pytest.mark.parametrize(("query", "tool"), SEED_PROMPTS + OWN_PROMPTS, ids=lambda v: v[:50])
def test_prompt_ranks_its_tool_in_top_3(query: str, tool: str) -> None:
    assert tool in top(query), (query, INDEX.search(query, ALL_TOOLS, 5))


def test_hit_rate_is_at_least_90_percent() -> None:
    misses = [(q, t, top(q)) for q, t in EVERY_PROMPT if t not in top(q)]
    hit_rate = 1 - len(misses) / len(EVERY_PROMPT)
    assert hit_rate >= 0.9, misses
    # The known misses are the only ones (a new miss belongs to the parametrized test above).
    assert {q for q, _, _ in misses} <= {q for q, _ in KNOWN_MISSES}


@pytest.mark.parametrize(
    ("query", "tool"),
    [
        ("list tax_rates", "list_all_stripe_tax_rates"),
        ("list all setup_intents", "list_all_stripe_setup_intents"),
        ("get the cash_balance of customer cus_Q1w2E3", "get_single_stripe_customer_cash_balance_by_id"),
    ],
)
def test_snake_case_resource_names_are_words_not_ids(query: str, tool: str) -> None:
    assert tool in top(query)


def test_same_query_same_ranking() -> None:
    for query, _ in EVERY_PROMPT:
        first = INDEX.search(query, ALL_TOOLS, 20)
        assert INDEX.search(query, ALL_TOOLS, 20) == first
        assert INDEX.search(query, list(reversed(ALL_TOOLS)), 20) == first  # the allowed set's order does not matter
        scores = [score for _, score in first]
        assert scores == sorted(scores, reverse=True)


WRITE_SOUNDING = [
    "Issue a partial refund for charge ch_999888",
    "delete customer cus_Ab12Cd34",
    "create a subscription",
    "cancel the payout po_1234",
    "update the product name",
    "void invoice in_1Abc234",
]


@pytest.mark.parametrize("query", WRITE_SOUNDING + [q for q, _ in SEED_PROMPTS])
def test_read_only_allowed_set_never_returns_write_tools(query: str) -> None:
    found = INDEX.search(query, READ_ONLY, 20)
    assert found, query  # something readable still matches
    for name, _ in found:
        assert name in READ_ONLY
        assert REGISTRY.tools[name].kind in READ_KINDS


def test_empty_allowed_set_finds_nothing() -> None:
    assert INDEX.search("refund a charge", (), 5) == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        " ",
        "\x00\x01\n\t",
        "a",
        "the of for",  # stopwords only
        "list show find",  # intent words only
        "refund " * 100_000,
        "x" * 1_000_000,
        "cus_" + "A" * 10_000,
        "Rückerstattung für Kunde Müller",
        "顧客の返金 🙂 ✓ ﷺ",
        "ｒｅｆｕｎｄ ｃｈ＿１２３",  # full-width
        "\u202eRTL refund\u202c",
        "ch_123 ch_123 ch_123 pi_1 sub_sched_1 xx_12345",
        "@@@.@.@ a@b.c foo@@example.com",
    ],
)
def test_odd_queries_do_not_raise(query: str) -> None:
    found = INDEX.search(query, ALL_TOOLS, 5)
    assert len(found) <= 5
    assert all(name in REGISTRY.tools for name, _ in found)


@pytest.mark.integration
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=st.text(max_size=600), limit=st.integers(1, 20), read_only=st.booleans())
def test_any_text_ranks_within_the_allowed_set(query: str, limit: int, read_only: bool) -> None:
    allowed = READ_ONLY if read_only else ALL_TOOLS
    found = INDEX.search(query, allowed, limit)
    assert len(found) <= limit
    assert {name for name, _ in found} <= set(allowed)
    assert found == INDEX.search(query, allowed, limit)


# --- end to end: the official MCP client -> stripe-mcp serve -> localstripe --------------

API_KEY = "sk_test_discovery_4242"
EMAIL = "dana.discovery@example.com"


@pytest.fixture(scope="module")
def seeded(stripe_url: str) -> dict[str, Any]:
    client = stripe_client(stripe_url, API_KEY)
    dana = customer_with_card(client, email=EMAIL, name="Dana Discovery")
    client.v1.customers.create(params={"email": "someone.else@example.com"})
    product = client.v1.products.create(params={"name": "Silver plan"})
    plan = client.v1.plans.create(
        params={"product": product.id, "amount": 1000, "currency": "usd", "interval": "month"}
    )
    subscription = client.v1.subscriptions.create(params={"customer": dana, "items": [{"plan": plan.id}]})
    charge = client.v1.charges.create(params={"amount": 5000, "currency": "usd", "customer": dana})
    return {"client": client, "customer": dana, "subscription": subscription.id, "charge": charge.id}


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory, stripe_url: str, seeded: dict[str, Any]) -> Iterator[dict[str, str]]:
    workdir = tmp_path_factory.mktemp("discovery")
    encryption_key = Fernet.generate_key().decode()
    store_url = f"sqlite:///{workdir / 'store.sqlite3'}"
    env = {"STRIPE_MCP_ENCRYPTION_KEY": encryption_key}
    with serve(workdir, "--store", store_url, "--stripe-base-url", stripe_url, env=env) as server:

        async def provision() -> dict[str, str]:
            store = SqliteStore(workdir / "store.sqlite3")
            try:
                account = await create_account(store, KeyBox(encryption_key.encode()), "support", API_KEY)
                tokens = {}
                for name, config in {
                    "support": {"methods": ["read", "create"], "tool_exposure": "discovery"},
                    "read_only": {"methods": ["read"], "tool_exposure": "discovery"},
                }.items():
                    created = await create_server(store, REGISTRY, account.id, name, config)
                    tokens[name] = f"{server.base_url}/mcp/{created.token}"
                return tokens
            finally:
                await store.close()

        yield asyncio.run(provision())


def structured(result: Any) -> dict[str, Any]:
    assert result.is_error is False, result.content[0].text
    assert len(result.content) == 1
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def find_tool(client: Client, query: str, expected: str) -> str:
    """search_tools, then the expected name must be among the first three."""
    found = structured(await client.call_tool("search_tools", {"query": query, "limit": 3}))
    names = [tool["name"] for tool in found["tools"]]
    assert expected in names, (query, names)
    for tool in found["tools"]:
        assert tool["title"] and tool["description"] and isinstance(tool["score"], (int, float))
    # The best match comes with its arguments, so it can be called at once; the others with a one-sentence summary.
    best, *others = found["tools"]
    assert best["inputSchema"] == await schema_of(client, best["name"])
    for tool in others:
        assert "inputSchema" not in tool
        assert len(tool["description"]) <= SUMMARY_CHARS and tool["description"].endswith((".", "…"))
    return names[names.index(expected)]


async def schema_of(client: Client, name: str) -> dict[str, Any]:
    schemas = structured(await client.call_tool("get_tool_schema", {"tool_names": [name]}))
    assert [tool["name"] for tool in schemas["tools"]] == [name]
    assert "unknown" not in schemas
    schema: dict[str, Any] = schemas["tools"][0]["inputSchema"]
    return schema


async def run(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return structured(await client.call_tool("call_tool", {"tool_name": name, "arguments": arguments}))


def refund_count(seeded: dict[str, Any]) -> int:
    return len(seeded["client"].v1.refunds.list(params={"charge": seeded["charge"]}).data)


@pytest.mark.integration
async def test_discovery_server_lists_exactly_the_three_meta_tools(urls: dict[str, str]) -> None:
    for url in urls.values():
        async with Client(url, mode="legacy") as client:
            tools = (await client.list_tools()).tools
        assert sorted(tool.name for tool in tools) == ["call_tool", "get_tool_schema", "search_tools"]
        by_name = {tool.name: tool for tool in tools}
        assert by_name["search_tools"].annotations.read_only_hint is True
        assert by_name["get_tool_schema"].annotations.read_only_hint is True
        assert by_name["call_tool"].input_schema["required"] == ["tool_name"]
        assert [t["name"] for t in META_TOOLS] == ["search_tools", "get_tool_schema", "call_tool"]


@pytest.mark.integration
async def test_refund_workflow_only_through_the_meta_tools(urls: dict[str, str], seeded: dict[str, Any]) -> None:
    before = refund_count(seeded)
    async with Client(urls["support"], mode="legacy") as client:
        # 1. the customer, by email
        list_customers = await find_tool(client, f"Find the customer profile for {EMAIL}", "list_all_stripe_customers")
        assert "email" in (await schema_of(client, list_customers))["properties"]
        customers = await run(client, list_customers, {"email": EMAIL})
        assert [c["id"] for c in customers["result"]] == [seeded["customer"]]
        customer_id = customers["result"][0]["id"]

        # 2. her subscription
        list_subscriptions = await find_tool(
            client, f"subscriptions of customer {customer_id}", "list_all_stripe_customer_subscriptions"
        )
        assert "customer_id" in (await schema_of(client, list_subscriptions))["properties"]
        subscriptions = await run(client, list_subscriptions, {"customer_id": customer_id})
        assert [(s["id"], s["status"]) for s in subscriptions["result"]] == [(seeded["subscription"], "active")]

        # 3. her charge
        list_charges = await find_tool(
            client, f"List all charges for customer {customer_id}", "list_all_stripe_charges"
        )
        assert {"customer", "limit"} <= set((await schema_of(client, list_charges))["properties"])
        charges = await run(client, list_charges, {"customer": customer_id, "limit": 10})
        succeeded = [c for c in charges["result"] if c["status"] == "succeeded" and c["amount"] == 5000]
        assert [c["id"] for c in succeeded] == [seeded["charge"]]

        # 4. refund 1500
        create_refund = await find_tool(
            client, f"Issue a partial refund for charge {succeeded[0]['id']}", "create_a_stripe_refund"
        )
        refund_schema = await schema_of(client, create_refund)
        assert {"charge", "amount"} <= set(refund_schema["properties"])
        refund = await run(client, create_refund, {"charge": succeeded[0]["id"], "amount": 1500})
        assert (refund["amount"], refund["charge"], refund["status"]) == (1500, seeded["charge"], "succeeded")

    at_stripe = seeded["client"].v1.refunds.retrieve(refund["id"])
    assert (at_stripe.amount, at_stripe.charge) == (1500, seeded["charge"])
    assert refund_count(seeded) == before + 1


@pytest.mark.integration
async def test_search_tools_respects_the_server_filters(urls: dict[str, str]) -> None:
    async with Client(urls["read_only"], mode="legacy") as client:
        found = structured(
            await client.call_tool(
                "search_tools", {"query": "Issue a partial refund for charge ch_999888", "limit": 20}
            )
        )
    names = [tool["name"] for tool in found["tools"]]
    assert names
    assert all(REGISTRY.tools[name].kind in READ_KINDS for name in names), names


@pytest.mark.integration
async def test_meta_tool_argument_errors_are_tool_errors(urls: dict[str, str]) -> None:
    async with Client(urls["support"], mode="legacy") as client:
        for name, arguments in [
            ("search_tools", {"query": "   "}),
            ("search_tools", {"query": "refund", "limit": 0}),
            ("get_tool_schema", {"tool_names": []}),
            ("call_tool", {"tool_name": "list_all_stripe_customers", "arguments": ["not", "an", "object"]}),
        ]:
            result = await client.call_tool(name, arguments)
            assert result.is_error is True, (name, arguments)


@pytest.mark.integration
async def test_wrong_tool_name_suggests_close_names(urls: dict[str, str]) -> None:
    async with Client(urls["support"], mode="legacy") as client:
        result = await client.call_tool("get_tool_schema", {"tool_names": ["list_all_stripe_customer"]})
        assert result.is_error is True
        unknown = result.structured_content["unknown"]
        assert unknown[0]["name"] == "list_all_stripe_customer"
        assert "list_all_stripe_customers" in unknown[0]["did_you_mean"]

        # One known and one misspelt name: the known one's schema, the other one flagged, not an error.
        mixed = await client.call_tool(
            "get_tool_schema", {"tool_names": ["list_all_stripe_charges", "create_a_stripe_refnd"]}
        )
        assert mixed.is_error is False
        assert [t["name"] for t in mixed.structured_content["tools"]] == ["list_all_stripe_charges"]
        assert "create_a_stripe_refund" in mixed.structured_content["unknown"][0]["did_you_mean"]

        called = await client.call_tool("call_tool", {"tool_name": "list_all_stripe_customer", "arguments": {}})
        assert called.is_error is True
        assert "list_all_stripe_customers" in called.structured_content["did_you_mean"]


@pytest.mark.integration
async def test_calling_a_real_tool_directly_points_to_call_tool(urls: dict[str, str]) -> None:
    async with Client(urls["support"], mode="legacy") as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("list_all_stripe_customers", {"email": EMAIL})
        assert refused.value.error.code == -32602
        assert "call_tool" in refused.value.error.message

        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert unknown.value.error.code == -32602
        assert "search_tools" in unknown.value.error.message


@pytest.mark.integration
async def test_call_tool_outside_the_filters_is_refused_and_nothing_is_sent(
    urls: dict[str, str], seeded: dict[str, Any]
) -> None:
    before = refund_count(seeded)
    async with Client(urls["read_only"], mode="legacy") as client:
        schema = await client.call_tool("get_tool_schema", {"tool_names": ["create_a_stripe_refund"]})
        assert schema.is_error is True
        assert schema.structured_content["tools"] == []

        refused = await client.call_tool(
            "call_tool",
            {"tool_name": "create_a_stripe_refund", "arguments": {"charge": seeded["charge"], "amount": 100}},
        )
        assert refused.is_error is True
        assert "create_a_stripe_refund" in refused.content[0].text

        # A direct call to it is refused as not allowed here (not as unknown, not as a pointer to call_tool).
        with pytest.raises(MCPError) as direct:
            await client.call_tool("create_a_stripe_refund", {"charge": seeded["charge"], "amount": 100})
        assert direct.value.error.code == -32602
        assert direct.value.error.message == (
            "This MCP server does not allow create_a_stripe_refund: it is read-only. Nothing was sent to Stripe; "
            "ask an admin for a write-enabled MCP URL."
        )
        assert refused.structured_content == {"error": direct.value.error.message}

        # Reads still work through call_tool on the same server.
        page = await run(client, "get_single_stripe_charge_by_id", {"id": seeded["charge"]})
        assert page["id"] == seeded["charge"]
    assert refund_count(seeded) == before
