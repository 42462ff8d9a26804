"""A customer-to-refund workflow through Upstream and results against localstripe.

localstripe speaks an old Stripe API: no Price (subscriptions take `items[n][plan]`), no
search, no disputes; see the assertions at the end for what it lacks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.tools.results import to_tool_result
from tests.support.localstripe_server import localstripe

pytestmark = pytest.mark.integration

API_KEY = "sk_test_localstripe_smoke"
VERSION = "2025-09-30.clover"
EMAIL = "sarah.jones@example.com"


def make_tool(name: str, method: str, path: str, names: tuple[str, ...] = (), **extra: Any) -> SimpleNamespace:
    fields: dict[str, Any] = dict(
        HTTP_METHOD=method,
        PATH=path,
        SERVER_URL=None,
        PATH_ARGUMENTS={},
        QUERY_ARGUMENTS=names if method != "POST" else (),
        BODY_ARGUMENTS=names if method == "POST" else (),
        BODY_ENCODING="form" if method == "POST" else None,
        PAGINATION=None,
    )
    return SimpleNamespace(**(fields | extra))


CREATE_CUSTOMER = make_tool(
    "create_a_stripe_customer",
    "POST",
    "/v1/customers",
    ("email", "name", "metadata", "payment_method", "invoice_settings"),
)
CREATE_PRODUCT = make_tool("create_a_stripe_product", "POST", "/v1/products", ("name",))
CREATE_PLAN = make_tool("create_a_stripe_plan", "POST", "/v1/plans", ("product", "amount", "currency", "interval"))
CREATE_PAYMENT_METHOD = make_tool("create_a_stripe_payment_method", "POST", "/v1/payment_methods", ("type", "card"))
CREATE_SUBSCRIPTION = make_tool("create_a_stripe_subscription", "POST", "/v1/subscriptions", ("customer", "items"))
CREATE_CHARGE = make_tool("create_a_stripe_charge", "POST", "/v1/charges", ("amount", "currency", "customer", "source"))
CREATE_REFUND = make_tool("create_a_stripe_refund", "POST", "/v1/refunds", ("charge", "amount", "metadata"))
GET_CHARGE = make_tool(
    "get_single_stripe_charge_by_id", "GET", "/v1/charges/{charge}", ("expand",), PATH_ARGUMENTS={"id": "charge"}
)
GET_BALANCE = make_tool("get_single_stripe_balance_by_id", "GET", "/v1/balance")
LIST_CUSTOMERS = make_tool(
    "list_all_stripe_customers", "GET", "/v1/customers", ("email", "limit", "starting_after"), PAGINATION="cursor"
)
LIST_CUSTOMER_SUBSCRIPTIONS = make_tool(
    "list_all_stripe_customer_subscriptions",
    "GET",
    "/v1/customers/{customer}/subscriptions",
    ("limit",),
    PATH_ARGUMENTS={"customer_id": "customer"},
    PAGINATION="cursor",
)
LIST_CHARGES = make_tool("list_all_stripe_charges", "GET", "/v1/charges", ("customer", "limit"), PAGINATION="cursor")
LIST_REFUNDS = make_tool("list_all_stripe_refunds", "GET", "/v1/refunds", ("charge", "limit"), PAGINATION="cursor")
LIST_DISPUTES = make_tool("list_all_stripe_disputes", "GET", "/v1/disputes", ("limit",), PAGINATION="cursor")
SEARCH_CUSTOMERS = make_tool(
    "search_stripe_customers", "GET", "/v1/customers/search", ("query", "limit"), PAGINATION="search"
)
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED_CARD = CARD | {"number": "4000000000000341"}  # localstripe declines only a few numbers


@pytest.fixture
def localstripe_url() -> Iterator[str]:
    with localstripe() as base_url:
        yield base_url


@pytest.fixture
async def upstream(localstripe_url: str) -> AsyncIterator[Upstream]:
    client = Upstream(localstripe_url)
    try:
        yield client
    finally:
        await client.aclose()


async def call(upstream: Upstream, tool: SimpleNamespace, **arguments: Any) -> dict[str, Any]:
    result = await upstream.call(tool, arguments, api_key=API_KEY, stripe_version=VERSION)
    return to_tool_result(tool, result, arguments).result


async def ok(upstream: Upstream, tool: SimpleNamespace, **arguments: Any) -> dict[str, Any]:
    result = await call(upstream, tool, **arguments)
    assert result["isError"] is False, result["content"][0]["text"]
    return result["structuredContent"]


async def seed_customer(upstream: Upstream, card: dict[str, Any] = CARD) -> tuple[str, str]:
    payment_method = (await ok(upstream, CREATE_PAYMENT_METHOD, type="card", card=card))["id"]
    customer = await ok(
        upstream,
        CREATE_CUSTOMER,
        email=EMAIL,
        name="Sarah Jones",
        metadata={"order_id": "6735", "tier": "gold"},
        payment_method=payment_method,
        invoice_settings={"default_payment_method": payment_method},
    )
    return customer["id"], payment_method


async def test_customer_subscription_charge_refund_workflow(upstream: Upstream) -> None:
    customer_id, _ = await seed_customer(upstream)
    product = await ok(upstream, CREATE_PRODUCT, name="Gold plan")
    plan = await ok(upstream, CREATE_PLAN, product=product["id"], amount=2000, currency="usd", interval="month")
    subscription = await ok(upstream, CREATE_SUBSCRIPTION, customer=customer_id, items=[{"plan": plan["id"]}])
    assert subscription["status"] == "active"
    charge = await ok(upstream, CREATE_CHARGE, amount=5000, currency="usd", customer=customer_id)
    assert (charge["status"], charge["paid"], charge["captured"]) == ("succeeded", True, True)

    customers = await ok(upstream, LIST_CUSTOMERS, email=EMAIL, limit=10)
    assert [c["id"] for c in customers["result"]] == [customer_id]
    assert customers["result"][0]["metadata"] == {"order_id": "6735", "tier": "gold"}
    assert customers["next_cursor"] is None

    subscriptions = await ok(upstream, LIST_CUSTOMER_SUBSCRIPTIONS, customer_id=customer_id)
    assert [s["id"] for s in subscriptions["result"]] == [subscription["id"]]

    charges = await ok(upstream, LIST_CHARGES, customer=customer_id)
    # The subscription's first invoice was charged too.
    assert sorted(c["amount"] for c in charges["result"]) == [2000, 5000]

    refund = await ok(upstream, CREATE_REFUND, charge=charge["id"], amount=1500, metadata={"reason": "partial"})
    assert (refund["amount"], refund["status"]) == (1500, "succeeded")
    refunds = await ok(upstream, LIST_REFUNDS, charge=charge["id"])
    assert [r["id"] for r in refunds["result"]] == [refund["id"]]
    refunded = await ok(upstream, GET_CHARGE, id=charge["id"])
    assert (refunded["amount_refunded"], refunded["refunded"]) == (1500, False)


async def test_cursor_pagination_follows_next_cursor(upstream: Upstream) -> None:
    for index in range(3):
        await ok(upstream, CREATE_CUSTOMER, email=f"customer{index}@example.com")
    seen, cursor = [], None
    while True:
        page = await ok(upstream, LIST_CUSTOMERS, limit=2, **({"next_cursor": cursor} if cursor else {}))
        seen += [c["email"] for c in page["result"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"customer{index}@example.com" for index in range(3)]


async def test_declined_card_is_a_tool_error(upstream: Upstream) -> None:
    customer_id, _ = await seed_customer(upstream, DECLINED_CARD)
    result = await call(upstream, CREATE_CHARGE, amount=5000, currency="usd", customer=customer_id)
    assert result["isError"] is True
    # localstripe labels declines invalid_request_error and sends no decline_code.
    assert result["structuredContent"]["code"] == "card_declined"
    assert result["structuredContent"]["http_status"] == 402


async def test_missing_resource_is_a_404_without_code(upstream: Upstream) -> None:
    result = await call(upstream, GET_CHARGE, id="ch_missing")
    assert result["isError"] is True
    assert result["structuredContent"] == {"type": "invalid_request_error", "message": "Not Found", "http_status": 404}


async def test_balance_is_supported(upstream: Upstream) -> None:
    balance = await ok(upstream, GET_BALANCE)
    assert "available" in balance and "pending" in balance


async def test_what_localstripe_lacks(upstream: Upstream) -> None:
    disputes = await call(upstream, LIST_DISPUTES)
    search = await call(upstream, SEARCH_CUSTOMERS, query=f"email:'{EMAIL}'")
    for result in (disputes, search):
        assert result["isError"] is True
        assert result["structuredContent"]["http_status"] == 404
