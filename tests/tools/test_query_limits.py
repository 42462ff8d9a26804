"""query_stripe where a scan stops, end to end with the official MCP client and `stripe-mcp serve`:

- in front of a scripted fake Stripe (tests/support/fakes.py): Stripe's 429 part way, search pages resumed part
  way through, fields on search, and bad input that reaches nothing;
- in front of localstripe with a tight budget (`--server-budget`): the runaway-agent guard stops the scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from starlette.requests import Request
from starlette.responses import Response

from mcp import Client
from tests.support.fakes import FakeStripe
from tests.support.runtime_process import RunningServer, serve
from tests.support.seeding import stripe_client

pytestmark = pytest.mark.integration

API_KEY = "sk_test_query_limits_4242"


def customer(index: int) -> dict[str, Any]:
    return {
        "id": f"cus_{index:04d}",
        "object": "customer",
        "email": f"c{index}@example.com",
        "metadata": {"tier": "gold" if index % 2 == 0 else "basic"},
        "balance": index,
        "address": None,
    }


CUSTOMERS = [customer(i) for i in range(250)]


def listing(request: Request, rate_limit_at: set[str]) -> Response:
    """Stripe's list of CUSTOMERS, 429 for a page that starts after an id in `rate_limit_at` (once each)."""
    after = request.query_params.get("starting_after")
    limit = int(request.query_params.get("limit", "10"))
    if after in rate_limit_at:
        rate_limit_at.discard(after)
        body = {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}
        return Response(json.dumps(body), 429, {"Retry-After": "2"}, "application/json")
    start = next(i + 1 for i, c in enumerate(CUSTOMERS) if c["id"] == after) if after else 0
    page = CUSTOMERS[start : start + limit]
    body = {"object": "list", "data": page, "has_more": start + limit < len(CUSTOMERS), "url": "/v1/customers"}
    return Response(json.dumps(body), 200, media_type="application/json")


def searching(request: Request) -> Response:
    """Stripe's search over CUSTOMERS (gold tier), paged by an opaque next_page token."""
    gold = [c for c in CUSTOMERS if c["metadata"]["tier"] == "gold"]
    start = int(request.query_params.get("page", "page_0").removeprefix("page_"))
    limit = int(request.query_params.get("limit", "10"))
    more = start + limit < len(gold)
    body = {
        "object": "search_result",
        "data": gold[start : start + limit],
        "has_more": more,
        "next_page": f"page_{start + limit}" if more else None,
        "url": "/v1/customers/search",
    }
    return Response(json.dumps(body), 200, media_type="application/json")


@pytest.fixture
async def scripted(fake_stripe: FakeStripe, tmp_path: Path) -> Any:
    rate_limit_at: set[str] = set()

    async def customers(request: Request) -> Response:
        return listing(request, rate_limit_at)

    async def search(request: Request) -> Response:
        return searching(request)

    fake_stripe.on("GET", "/v1/customers", customers)
    fake_stripe.on("GET", "/v1/customers/search", search)
    env = {"STRIPE_API_KEY": API_KEY, "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    store = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    with serve(tmp_path, "--store", store, "--stripe-base-url", fake_stripe.base_url, env=env) as server:
        yield server.printed_mcp_url(), fake_stripe, rate_limit_at


def structured(result: Any) -> dict[str, Any]:
    assert result.is_error is False, result.content[0].text
    return result.structured_content


async def test_a_429_stops_the_scan_and_the_cursor_resumes_it(scripted: Any) -> None:
    url, fake, rate_limit_at = scripted
    rate_limit_at.add(CUSTOMERS[99]["id"])  # the second page answers 429 once
    arguments = {"tool": "list_all_stripe_customers", "aggregate": "sum:balance"}
    async with Client(url, mode="legacy") as client:
        stopped = structured(await client.call_tool("query_stripe", arguments))
        resumed = structured(
            await client.call_tool("query_stripe", {**arguments, "next_cursor": stopped["next_cursor"]})
        )
    assert (stopped["complete"], stopped["scanned"], stopped["stopped_by"]) == (False, 100, "rate_limit")
    assert stopped["retry_after"] == "2" and stopped["result"] == [{"value": sum(range(100))}]
    assert resumed["complete"] is True and resumed["scanned"] == 250
    assert resumed["result"] == [{"value": sum(range(250))}]  # the totals of both calls
    starts = [dict(r.query_pairs).get("starting_after") for r in fake.requests]
    assert starts == [None, CUSTOMERS[99]["id"], CUSTOMERS[99]["id"], CUSTOMERS[199]["id"]]


async def test_search_pages_resume_part_way_through_a_page(scripted: Any) -> None:
    url, fake, _ = scripted
    gold = [c["id"] for c in CUSTOMERS if c["metadata"]["tier"] == "gold"]  # 125: pages of 100 and 25
    arguments = {
        "tool": "search_stripe_customers",
        "arguments": {"query": "metadata['tier']:'gold'"},
        "fields": ["id"],
        "limit": 60,
    }
    seen: list[str] = []
    async with Client(url, mode="legacy") as client:
        answer = structured(await client.call_tool("query_stripe", arguments))
        for _ in range(5):  # bounded: 125 rows at 60 a call
            seen += [row["id"] for row in answer["result"]]
            if answer["complete"]:
                break
            answer = structured(
                await client.call_tool("query_stripe", {**arguments, "next_cursor": answer["next_cursor"]})
            )
    assert seen == gold  # Stripe's order, nothing twice, nothing left out
    # Each call stops after 60 rows, part way through a page, and the next fetches that page again and skips
    # what was taken: 60 of the first page, then its other 40 and 20 of the second, then the last 5.
    pages = [dict(r.query_pairs).get("page") for r in fake.requests]
    assert pages == [None, None, "page_100", "page_100"]


async def test_fields_on_search(scripted: Any) -> None:
    url, _, _ = scripted
    async with Client(url, mode="legacy") as client:
        page = structured(
            await client.call_tool(
                "search_stripe_customers",
                {"query": "metadata['tier']:'gold'", "limit": 3, "fields": ["email", "metadata.tier", "address"]},
            )
        )
    assert page["next_cursor"] == "page_3"
    assert (
        page["result"]
        == [
            {"email": c["email"], "metadata": {"tier": "gold"}, "address": None}
            for c in CUSTOMERS
            if c["metadata"]["tier"] == "gold"
        ][:3]
    )


BAD_QUERIES: list[dict[str, Any]] = [
    {"tool": "delete_a_stripe_customer_by_id"},
    {"tool": "no_such_tool"},
    {"tool": "list_all_stripe_customers", "where": [{"field": "email", "op": "matches", "value": "a"}]},
    {"tool": "list_all_stripe_customers", "where": [{"field": "e-mail", "op": "eq", "value": "a"}]},
    {"tool": "list_all_stripe_customers", "aggregate": "avg:email"},
    {"tool": "list_all_stripe_customers", "group_by": "metadata"},
    {"tool": "list_all_stripe_customers", "order_by": "-sources.data.id"},
    {"tool": "list_all_stripe_customers", "where": [{"field": "balance", "op": "in", "value": "1,2"}]},
    {"tool": "list_all_stripe_customers", "arguments": {"email": 5}},
    {"tool": "list_all_stripe_customers", "next_cursor": "not-a-cursor"},
    {"tool": "search_stripe_customers"},  # its query is required
]


async def test_bad_input_reaches_nothing(scripted: Any) -> None:
    url, fake, _ = scripted
    async with Client(url, mode="legacy") as client:
        for arguments in BAD_QUERIES:
            result = await client.call_tool("query_stripe", arguments)
            assert result.is_error is True, arguments
            assert result.structured_content["type"] == "invalid_arguments", arguments
    assert fake.requests == []


# --- budgets, against localstripe ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory: pytest.TempPathFactory, stripe_url: str) -> Iterator[RunningServer]:
    client = stripe_client(stripe_url, API_KEY)
    for index in range(230):
        client.v1.customers.create(params={"email": f"b{index}@example.com"})
    workdir = tmp_path_factory.mktemp("budget")
    env = {"STRIPE_API_KEY": API_KEY, "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    store = f"sqlite:///{workdir / 'store.sqlite3'}"
    args = ("--store", store, "--stripe-base-url", stripe_url, "--server-budget", "2/3600")
    with serve(workdir, *args, env=env) as server:
        yield server


async def test_a_budget_stops_the_scan_cleanly(budgeted: RunningServer) -> None:
    arguments = {"tool": "list_all_stripe_customers", "aggregate": "count"}
    async with Client(budgeted.printed_mcp_url(), mode="legacy") as client:
        stopped = structured(await client.call_tool("query_stripe", arguments))
        again = structured(await client.call_tool("query_stripe", {**arguments, "next_cursor": stopped["next_cursor"]}))
    # Two pages within the budget, the third refused: an answer for what was scanned, not an error.
    assert (stopped["complete"], stopped["scanned"], stopped["stopped_by"]) == (False, 200, "budget")
    assert stopped["result"] == [{"value": 200}] and stopped["retry_after"] > 0
    assert (again["complete"], again["scanned"], again["result"]) == (False, 200, [{"value": 200}])
    assert again["next_cursor"]
