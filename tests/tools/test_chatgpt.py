"""ChatGPT's profile (tool_exposure "chatgpt"): exactly `search` and `fetch`, in the shapes of
docs/mcp-protocol.md section 7.

localstripe has no search endpoints, so the id path (search by object id, fetch) runs against it
through a real `stripe-mcp serve` process and the official MCP client; the Stripe-search path runs
in-process against FakeStripe, whose recorded requests show which search endpoint got which query.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from mcp.shared.exceptions import MCPError

from mcp import Client
from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.managed.service import create_account, create_server
from stripe_mcp.managed.store.sqlite_store import SqliteStore
from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.tools.chatgpt import ChatGptServer
from stripe_mcp.tools.filters import ToolFilter
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from tests.support.fakes import FakeStripe, respond
from tests.support.runtime_process import serve
from tests.support.seeding import customer_with_card, stripe_client

REGISTRY = Registry()
API_KEY = "sk_test_chatgpt_4242"
EMAIL = "cara.chatgpt@example.com"


def one_text_item(result: Any) -> dict[str, Any]:
    """The payload of a ChatGPT-shaped result: one text item whose JSON is also structuredContent."""
    assert len(result.content) == 1
    assert result.content[0].type == "text"
    payload = json.loads(result.content[0].text)
    assert payload == result.structured_content
    return payload


# --- against localstripe, through stripe-mcp serve ------------------------------------


@pytest.fixture(scope="module")
def seeded(stripe_url: str) -> dict[str, Any]:
    client = stripe_client(stripe_url, API_KEY)
    cara = customer_with_card(client, email=EMAIL, name="Cara ChatGPT", metadata={"order_id": "6735", "tier": "gold"})
    charge = client.v1.charges.create(
        params={"amount": 4200, "currency": "usd", "customer": cara, "description": "Order 6735"}
    )
    return {"client": client, "customer": cara, "charge": charge.id}


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory, stripe_url: str, seeded: dict[str, Any]) -> Iterator[dict[str, str]]:
    workdir = tmp_path_factory.mktemp("chatgpt")
    encryption_key = Fernet.generate_key().decode()
    env = {"STRIPE_MCP_ENCRYPTION_KEY": encryption_key}
    with serve(
        workdir, "--store", f"sqlite:///{workdir / 'store.sqlite3'}", "--stripe-base-url", stripe_url, env=env
    ) as server:

        async def provision() -> dict[str, str]:
            store = SqliteStore(workdir / "store.sqlite3")
            try:
                account = await create_account(store, KeyBox(encryption_key.encode()), "chatgpt", API_KEY)
                urls = {}
                for name, config in {
                    "chatgpt": {"methods": ["read"], "tool_exposure": "chatgpt"},
                    "chatgpt_full": {"methods": ["read"], "tool_exposure": "chatgpt", "full_results": True},
                    # Only charges readable: fetch of a customer is refused by the server's own filters.
                    "charges_only": {"methods": ["read"], "tags": ["charge"], "tool_exposure": "chatgpt"},
                }.items():
                    created = await create_server(store, REGISTRY, account.id, name, config)
                    urls[name] = f"{server.base_url}/mcp/{created.token}"
                return urls
            finally:
                await store.close()

        yield asyncio.run(provision())


@pytest.mark.integration
async def test_tools_list_is_exactly_search_and_fetch(urls: dict[str, str]) -> None:
    async with Client(urls["chatgpt"], mode="legacy") as client:
        tools = (await client.list_tools()).tools
    assert [tool.name for tool in tools] == ["search", "fetch"]
    for tool in tools:
        assert tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.annotations.idempotent_hint is True
        assert tool.annotations.open_world_hint is not None  # an app submission needs every hint
    by_name = {tool.name: tool for tool in tools}
    assert by_name["search"].input_schema["required"] == ["query"]
    assert by_name["fetch"].input_schema["required"] == ["id"]


@pytest.mark.integration
@pytest.mark.parametrize("which", ["customer", "charge"])
async def test_search_by_object_id(urls: dict[str, str], seeded: dict[str, Any], which: str) -> None:
    object_id = seeded[which]
    async with Client(urls["chatgpt"], mode="legacy") as client:
        result = await client.call_tool("search", {"query": object_id})
    assert result.is_error is False
    payload = one_text_item(result)
    assert list(payload) == ["results"]
    [entry] = payload["results"]
    assert set(entry) == {"id", "title", "url"}
    assert entry["id"] == object_id
    assert entry["title"] and object_id in entry["title"]
    assert entry["url"].startswith("https://dashboard.stripe.com/test/")
    assert entry["url"].endswith(f"/{object_id}")
    if which == "customer":
        assert "Cara ChatGPT" in entry["title"]
        assert entry["url"] == f"https://dashboard.stripe.com/test/customers/{object_id}"
    else:
        assert "42.00 USD" in entry["title"]
        assert entry["url"] == f"https://dashboard.stripe.com/test/payments/{object_id}"


@pytest.mark.integration
async def test_search_naming_two_ids_survives_missing_search_endpoints(
    urls: dict[str, str], seeded: dict[str, Any]
) -> None:
    """Two ids and a word: the ids are fetched; the free-text searches 404 at localstripe and are skipped."""
    query = f"{seeded['customer']} {seeded['charge']} refund"
    async with Client(urls["chatgpt"], mode="legacy") as client:
        result = await client.call_tool("search", {"query": query})
    assert result.is_error is False
    assert [r["id"] for r in one_text_item(result)["results"]] == [seeded["customer"], seeded["charge"]]


@pytest.mark.integration
async def test_search_for_an_unknown_id_finds_nothing(urls: dict[str, str]) -> None:
    async with Client(urls["chatgpt"], mode="legacy") as client:
        result = await client.call_tool("search", {"query": "cus_doesnotexist42"})
    assert result.is_error is False
    assert one_text_item(result) == {"results": []}


@pytest.mark.integration
async def test_fetch_customer(urls: dict[str, str], seeded: dict[str, Any]) -> None:
    customer_id = seeded["customer"]
    async with Client(urls["chatgpt"], mode="legacy") as client:
        result = await client.call_tool("fetch", {"id": customer_id})
    assert result.is_error is False
    document = one_text_item(result)
    assert set(document) == {"id", "title", "text", "url", "metadata"}
    assert document["id"] == customer_id
    assert "Cara ChatGPT" in document["title"]
    assert document["url"] == f"https://dashboard.stripe.com/test/customers/{customer_id}"
    assert f"email: {EMAIL}" in document["text"].splitlines()
    assert f"id: {customer_id}" in document["text"].splitlines()
    assert document["metadata"]["order_id"] == "6735"
    assert document["metadata"]["tier"] == "gold"
    assert all(isinstance(v, str) for v in document["metadata"].values())
    # The lean server leaves nulls out of the text; a full_results server keeps them.
    assert "description: null" not in document["text"].splitlines()
    async with Client(urls["chatgpt_full"], mode="legacy") as client:
        full = one_text_item(await client.call_tool("fetch", {"id": customer_id}))
    assert "description: null" in full["text"].splitlines()
    assert full["metadata"] == document["metadata"]


@pytest.mark.integration
async def test_fetch_charge(urls: dict[str, str], seeded: dict[str, Any]) -> None:
    async with Client(urls["chatgpt"], mode="legacy") as client:
        document = one_text_item(await client.call_tool("fetch", {"id": seeded["charge"]}))
    assert document["url"] == f"https://dashboard.stripe.com/test/payments/{seeded['charge']}"
    assert "amount: 4200" in document["text"].splitlines()
    assert document["metadata"]["object"] == "charge"


@pytest.mark.integration
@pytest.mark.parametrize("bad_id", ["xyz_1234567", "hello", "cus_1", "CUS_ABCDEFG", "cus_abcdefg extra"])
async def test_fetch_of_an_unknown_prefix_is_a_tool_error(urls: dict[str, str], bad_id: str) -> None:
    async with Client(urls["chatgpt"], mode="legacy") as client:
        result = await client.call_tool("fetch", {"id": bad_id})
    assert result.is_error is True
    assert "cannot tell what" in result.content[0].text


@pytest.mark.integration
async def test_fetch_errors(urls: dict[str, str], seeded: dict[str, Any]) -> None:
    async with Client(urls["chatgpt"], mode="legacy") as client:
        missing = await client.call_tool("fetch", {"id": "cus_doesnotexist42"})
        assert missing.is_error is True
        assert missing.structured_content["http_status"] == 404
        empty = await client.call_tool("fetch", {"id": "   "})
        assert empty.is_error is True
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("get_single_stripe_customer_by_id", {"id": seeded["customer"]})
        assert unknown.value.error.code == -32602
    async with Client(urls["charges_only"], mode="legacy") as client:
        refused = await client.call_tool("fetch", {"id": seeded["customer"]})
        assert refused.is_error is True
        assert "may not read cus_" in refused.content[0].text
        allowed = one_text_item(await client.call_tool("fetch", {"id": seeded["charge"]}))
        assert allowed["id"] == seeded["charge"]


# --- Stripe search, against FakeStripe, in process -----------------------------------


def customer(object_id: str, name: str, email: str) -> dict[str, Any]:
    return {"id": object_id, "object": "customer", "name": name, "email": email, "metadata": {}, "description": None}


def search_page(*objects: dict[str, Any], url: str) -> dict[str, Any]:
    return {
        "object": "search_result",
        "data": list(objects),
        "has_more": False,
        "next_page": None,
        "url": url,
        "total_count": len(objects),
    }


JANE = customer("cus_JaneDoe0001", "Jane Doe", "jane@example.com")
JANE_TWIN = customer("cus_JaneDoe0002", "Jane Doe", "jane.doe@example.org")
GOLD = {"id": "prod_GoldPlan001", "object": "product", "name": "Gold Jane plan", "description": None}
CHARGE = {
    "id": "ch_Order6735xyz",
    "object": "charge",
    "amount": 4200,
    "currency": "usd",
    "status": "succeeded",
    "description": "Order 6735",
}
INVOICE = {
    "id": "in_Order6735abc",
    "object": "invoice",
    "number": "INV-6735",
    "amount_due": 4200,
    "currency": "usd",
    "status": "paid",
}

SEARCH_PATHS = {
    "customers": "/v1/customers/search",
    "charges": "/v1/charges/search",
    "invoices": "/v1/invoices/search",
    "payment_intents": "/v1/payment_intents/search",
    "prices": "/v1/prices/search",
    "products": "/v1/products/search",
    "subscriptions": "/v1/subscriptions/search",
}


@pytest.fixture
async def chatgpt(fake_stripe: FakeStripe) -> AsyncIterator[ChatGptServer]:
    upstream = Upstream(fake_stripe.base_url)
    inner = StripeMcpServer(
        REGISTRY, upstream, Account("sk_test_fake_4242", REGISTRY.api_version), ToolFilter(("read",))
    )
    try:
        yield ChatGptServer(inner)
    finally:
        await upstream.aclose()


def searches(fake: FakeStripe) -> dict[str, list[dict[str, str]]]:
    """path -> the query parameters of each search request it got."""
    found: dict[str, list[dict[str, str]]] = {}
    for request in fake.requests:
        if request.path.endswith("/search"):
            assert request.method == "GET"
            found.setdefault(request.path, []).append(dict(request.query_pairs))
    return found


async def search(server: ChatGptServer, query: str) -> list[dict[str, str]]:
    outcome = await server.call_tool("search", {"query": query})
    result = outcome.result
    assert result["isError"] is False
    assert [item["type"] for item in result["content"]] == ["text"]
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    entries = result["structuredContent"]["results"]
    for entry in entries:
        assert set(entry) == {"id", "title", "url"}
        assert entry["url"].startswith("https://dashboard.stripe.com/test/") and entry["id"] in entry["url"]
    return entries


async def test_free_text_searches_customers_and_products_by_substring(
    fake_stripe: FakeStripe, chatgpt: ChatGptServer
) -> None:
    fake_stripe.on(
        "GET", SEARCH_PATHS["customers"], respond(200, search_page(JANE, JANE_TWIN, url=SEARCH_PATHS["customers"]))
    )
    fake_stripe.on("GET", SEARCH_PATHS["products"], respond(200, search_page(GOLD, url=SEARCH_PATHS["products"])))
    entries = await search(chatgpt, "Jane")
    assert [e["id"] for e in entries] == [JANE["id"], JANE_TWIN["id"], GOLD["id"]]
    assert entries[2]["url"] == f"https://dashboard.stripe.com/test/products/{GOLD['id']}"
    assert searches(fake_stripe) == {
        SEARCH_PATHS["customers"]: [{"query": "name~'Jane' OR email~'Jane'", "limit": "5"}],
        SEARCH_PATHS["products"]: [{"query": "name~'Jane' OR description~'Jane'", "limit": "5"}],
    }


async def test_free_text_quotes_are_escaped(fake_stripe: FakeStripe, chatgpt: ChatGptServer) -> None:
    for path in SEARCH_PATHS.values():
        fake_stripe.on("GET", path, respond(200, search_page(url=path)))
    assert await search(chatgpt, "O'Brien") == []
    assert searches(fake_stripe)[SEARCH_PATHS["customers"]] == [
        {"query": "name~'O\\'Brien' OR email~'O\\'Brien'", "limit": "5"}
    ]


async def test_an_email_searches_customers_by_exact_email(fake_stripe: FakeStripe, chatgpt: ChatGptServer) -> None:
    fake_stripe.on("GET", SEARCH_PATHS["customers"], respond(200, search_page(JANE, url=SEARCH_PATHS["customers"])))
    entries = await search(chatgpt, "jane@example.com")
    assert [e["id"] for e in entries] == [JANE["id"]]
    assert "Jane Doe" in entries[0]["title"]
    assert entries[0]["url"] == f"https://dashboard.stripe.com/test/customers/{JANE['id']}"
    assert searches(fake_stripe) == {SEARCH_PATHS["customers"]: [{"query": "email:'jane@example.com'", "limit": "5"}]}


async def test_stripe_syntax_goes_to_every_search_endpoint_unchanged(
    fake_stripe: FakeStripe, chatgpt: ChatGptServer
) -> None:
    query = "metadata['order_id']:'6735'"
    fake_stripe.on("GET", SEARCH_PATHS["customers"], respond(200, search_page(JANE, url=SEARCH_PATHS["customers"])))
    fake_stripe.on("GET", SEARCH_PATHS["charges"], respond(200, search_page(CHARGE, url=SEARCH_PATHS["charges"])))
    fake_stripe.on("GET", SEARCH_PATHS["invoices"], respond(200, search_page(INVOICE, url=SEARCH_PATHS["invoices"])))
    # payment_intents, prices, products, subscriptions: unscripted, the fake answers 404 and they are skipped.
    entries = await search(chatgpt, query)
    assert [e["id"] for e in entries] == [JANE["id"], CHARGE["id"], INVOICE["id"]]
    assert entries[1]["url"] == f"https://dashboard.stripe.com/test/payments/{CHARGE['id']}"
    assert entries[2]["url"] == f"https://dashboard.stripe.com/test/invoices/{INVOICE['id']}"
    assert "42.00 USD" in entries[1]["title"] and "INV-6735" in entries[2]["title"]
    assert searches(fake_stripe) == {path: [{"query": query, "limit": "5"}] for path in SEARCH_PATHS.values()}


async def test_results_merge_without_duplicates(fake_stripe: FakeStripe, chatgpt: ChatGptServer) -> None:
    """An id named in the query and found again by search, and one object on two endpoints, appear once."""
    fake_stripe.on("GET", f"/v1/customers/{JANE['id']}", respond(200, JANE))
    fake_stripe.on(
        "GET",
        SEARCH_PATHS["customers"],
        respond(200, search_page(JANE, JANE_TWIN, JANE, url=SEARCH_PATHS["customers"])),
    )
    fake_stripe.on("GET", SEARCH_PATHS["products"], respond(200, search_page(GOLD, url=SEARCH_PATHS["products"])))
    entries = await search(chatgpt, f"{JANE['id']} Jane")
    ids = [e["id"] for e in entries]
    assert ids == [JANE["id"], JANE_TWIN["id"], GOLD["id"]]
    assert len(ids) == len(set(ids))
    # The id was fetched once; the free text (the whole query) went to both substring searches.
    assert [r.path for r in fake_stripe.requests if not r.path.endswith("/search")] == [f"/v1/customers/{JANE['id']}"]
    assert searches(fake_stripe)[SEARCH_PATHS["customers"]] == [
        {"query": f"name~'{JANE['id']} Jane' OR email~'{JANE['id']} Jane'", "limit": "5"}
    ]


async def test_a_bare_id_never_reaches_a_search_endpoint(fake_stripe: FakeStripe, chatgpt: ChatGptServer) -> None:
    fake_stripe.on("GET", f"/v1/charges/{CHARGE['id']}", respond(200, CHARGE))
    entries = await search(chatgpt, CHARGE["id"])
    assert [e["id"] for e in entries] == [CHARGE["id"]]
    assert [r.path for r in fake_stripe.requests] == [f"/v1/charges/{CHARGE['id']}"]


async def test_search_errors_upstream_give_empty_results_not_errors(
    fake_stripe: FakeStripe, chatgpt: ChatGptServer
) -> None:
    for path in SEARCH_PATHS.values():
        fake_stripe.on("GET", path, respond(400, {"error": {"type": "invalid_request_error", "message": "bad query"}}))
    assert await search(chatgpt, "status:'active'") == []
    assert len(searches(fake_stripe)) == len(SEARCH_PATHS)


async def test_live_key_urls_have_no_test_segment(fake_stripe: FakeStripe) -> None:
    upstream = Upstream(fake_stripe.base_url)
    try:
        inner = StripeMcpServer(
            REGISTRY, upstream, Account("rk_live_fake_4242", REGISTRY.api_version), ToolFilter(("read",))
        )
        server = ChatGptServer(inner)
        fake_stripe.on("GET", SEARCH_PATHS["customers"], respond(200, search_page(JANE, url=SEARCH_PATHS["customers"])))
        outcome = await server.call_tool("search", {"query": "jane@example.com"})
    finally:
        await upstream.aclose()
    [entry] = outcome.result["structuredContent"]["results"]
    assert entry["url"] == f"https://dashboard.stripe.com/customers/{JANE['id']}"


@pytest.mark.parametrize("arguments", [{}, {"query": ""}, {"query": "  "}, {"query": 42}, {"query": "x" * 501}])
async def test_bad_search_arguments_are_tool_errors(
    fake_stripe: FakeStripe, chatgpt: ChatGptServer, arguments: dict[str, Any]
) -> None:
    outcome = await chatgpt.call_tool("search", arguments)
    assert outcome.result["isError"] is True
    assert fake_stripe.requests == []


SESSION = {
    "id": "cs_test_a1B2c3D4e5F6g7H8i9J0",
    "object": "checkout.session",
    "amount_total": 4200,
    "currency": "usd",
    "status": "complete",
    "metadata": {"order_id": "6735"},
}


async def test_fetch_a_checkout_session_by_its_real_id(fake_stripe: FakeStripe, chatgpt: ChatGptServer) -> None:
    fake_stripe.on("GET", f"/v1/checkout/sessions/{SESSION['id']}", respond(200, SESSION))
    outcome = await chatgpt.call_tool("fetch", {"id": SESSION["id"]})
    assert outcome.result["isError"] is False, outcome.result["content"][0]["text"]
    document = outcome.result["structuredContent"]
    assert document["url"] == f"https://dashboard.stripe.com/test/checkout/sessions/{SESSION['id']}"
    assert document["metadata"]["order_id"] == "6735"


async def test_search_a_checkout_session_by_its_real_id(fake_stripe: FakeStripe, chatgpt: ChatGptServer) -> None:
    fake_stripe.on("GET", f"/v1/checkout/sessions/{SESSION['id']}", respond(200, SESSION))
    entries = await search(chatgpt, SESSION["id"])
    assert [e["id"] for e in entries] == [SESSION["id"]]
    assert searches(fake_stripe) == {}


SEARCH_UNAVAILABLE = {
    "error": {
        "type": "invalid_request_error",
        "message": "Search is not available for this account.",
    }
}


async def test_a_failed_stripe_search_says_so_instead_of_finding_nothing(
    fake_stripe: FakeStripe, chatgpt: ChatGptServer
) -> None:
    for path in SEARCH_PATHS.values():
        fake_stripe.on("GET", path, respond(400, SEARCH_UNAVAILABLE))
    outcome = await chatgpt.call_tool("search", {"query": "Jane"})
    assert outcome.result["isError"] is False
    payload = outcome.result["structuredContent"]
    assert payload["results"] == []
    assert payload["note"] == (
        "Stripe's search failed for customers, products (Search is not available for this account.), so these "
        "results may be incomplete. fetch reads any object by its id (cus_..., ch_..., pi_..., in_...)."
    )
    assert json.loads(outcome.result["content"][0]["text"]) == payload  # the note is in what the model reads


async def test_an_email_is_looked_up_in_the_customer_list_when_search_is_unavailable(
    fake_stripe: FakeStripe, chatgpt: ChatGptServer
) -> None:
    fake_stripe.on("GET", SEARCH_PATHS["customers"], respond(400, SEARCH_UNAVAILABLE))
    listed = {"object": "list", "data": [JANE], "has_more": False, "url": "/v1/customers"}
    fake_stripe.on("GET", "/v1/customers", respond(200, listed))
    outcome = await chatgpt.call_tool("search", {"query": "jane@example.com"})
    payload = outcome.result["structuredContent"]
    assert [e["id"] for e in payload["results"]] == [JANE["id"]]
    assert "Customers were looked up by email in the customer list instead." in payload["note"]
    [lookup] = [r for r in fake_stripe.requests if r.path == "/v1/customers"]
    assert ("email", "jane@example.com") in lookup.query_pairs


SUBSCRIPTION = {
    "id": "sub_Reads1234567",
    "object": "subscription",
    "status": "active",
    "created": 1700000000,
    "current_period_end": 1702592000,
    "cancel_at_period_end": False,
    "quantity": 3,
    "items": {
        "object": "list",
        "data": [{"id": f"si_Item{n:07d}", "object": "subscription_item", "quantity": n} for n in range(1, 8)],
        "has_more": True,
        "total_count": 9,
        "url": "/v1/subscription_items?subscription=sub_Reads1234567",
    },
    "default_tax_rates": [],
    "payment_settings": {"payment_method_types": ["card", "link"], "save_default_payment_method": "off"},
    "metadata": {"order_id": "6735"},
}


async def test_fetch_reads_as_a_person_would_read_it(fake_stripe: FakeStripe, chatgpt: ChatGptServer) -> None:
    fake_stripe.on("GET", f"/v1/subscriptions/{SUBSCRIPTION['id']}", respond(200, SUBSCRIPTION))
    outcome = await chatgpt.call_tool("fetch", {"id": SUBSCRIPTION["id"]})
    lines = outcome.result["structuredContent"]["text"].splitlines()
    assert "created: 2023-11-14T22:13:20Z (1700000000)" in lines
    assert "current_period_end: 2023-12-14T22:13:20Z (1702592000)" in lines
    assert "quantity: 3" in lines and "cancel_at_period_end: false" in lines  # not every number is a time
    assert (
        "items: 9 items: Subscription item (si_Item0000001); Subscription item (si_Item0000002); "
        "Subscription item (si_Item0000003); Subscription item (si_Item0000004); "
        "Subscription item (si_Item0000005); and 2 more (more on Stripe)"
    ) in lines
    assert "payment_settings.payment_method_types: card, link" in lines
    assert "payment_settings.save_default_payment_method: off" in lines
    assert "metadata.order_id: 6735" in lines
    assert not any("{" in line for line in lines), lines  # no JSON left for a person to decode
