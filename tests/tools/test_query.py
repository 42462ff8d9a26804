"""fields and query_stripe end to end: the official MCP client -> `stripe-mcp serve` -> localstripe.

localstripe holds 230 customers (three pages of 100) with segments, companies and e-mail addresses, 40 charges
of known amounts, subscriptions on two plans and refunds; every expectation is computed from what was seeded
(through the official stripe SDK), never from what the server answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from mcp.client.stdio import StdioServerParameters

from mcp import Client
from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.managed.service import create_account, create_server
from stripe_mcp.managed.store.sqlite_store import SqliteStore
from stripe_mcp.tools.registry import Registry
from tests.support.runtime_process import serve
from tests.support.seeding import customer_with_card, stripe_client

pytestmark = pytest.mark.integration  # `stripe-mcp serve` processes in front of localstripe

API_KEY = "sk_test_query_4242"
CUSTOMERS = 230
SEGMENTS = ("enterprise", "smb", "mid")
COMPANIES = ("Globex", "Initech", "Umbrella", "Hooli", "Vandelay")


@pytest.fixture(scope="module")
def seeded(stripe_url: str) -> dict[str, Any]:
    client = stripe_client(stripe_url, API_KEY)
    rng = random.Random(12)
    customers = []
    for index in range(CUSTOMERS):
        params: dict[str, Any] = {
            "name": f"Customer {index}",
            "description": f"Buyer at {COMPANIES[index % len(COMPANIES)]} Corp",
            "metadata": {"segment": SEGMENTS[index % 3]},
        }
        if index % 10:  # every tenth customer has no e-mail address
            params["email"] = f"customer{index}@example.com"
        if index % 7 == 0:
            params["preferred_locales"] = ["fr", "en"]
        customers.append({**params, "id": client.v1.customers.create(params=params).id})
    payers = [customer_with_card(client, email=f"payer{i}@example.com", name=f"Payer {i}") for i in range(4)]
    customers += [
        {"id": p, "email": f"payer{i}@example.com", "name": f"Payer {i}", "metadata": {}} for i, p in enumerate(payers)
    ]
    charges = []
    for index in range(40):
        amount = rng.randrange(500, 20_000, 100)
        currency = "usd" if index % 4 else "eur"
        charge = client.v1.charges.create(
            params={"amount": amount, "currency": currency, "customer": payers[index % 4]}
        )
        charges.append({"id": charge.id, "amount": amount, "currency": currency, "customer": payers[index % 4]})
    refunds = [
        client.v1.refunds.create(params={"charge": charges[i]["id"], "amount": 300 + i}).amount for i in range(5)
    ]
    starter, pro = (
        client.v1.plans.create(
            params={
                "product": client.v1.products.create(params={"name": name}).id,
                "amount": amount,
                "currency": "usd",
                "interval": "month",
                "nickname": name.lower(),
            }
        )
        for name, amount in (("Starter", 900), ("Pro", 4900))
    )
    subscribers = {"starter": payers[:3], "pro": payers[3:]}
    for plan, who in ((starter, subscribers["starter"]), (pro, subscribers["pro"])):
        for customer in who:
            client.v1.subscriptions.create(params={"customer": customer, "items": [{"plan": plan.id}]})
    # The subscriptions' first invoices were charged too: every charge, as Stripe lists them.
    listed = client.v1.charges.list(params={"limit": 100})
    assert not listed.has_more
    charges = [{"id": c.id, "amount": c.amount, "currency": c.currency} for c in listed.data]
    return {
        "client": client,
        "customers": customers,
        "payers": payers,
        "charges": charges,
        "refunds": refunds,
        "subscribers": subscribers,
    }


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, stripe_url: str, seeded: dict[str, Any]
) -> Iterator[dict[str, str]]:
    workdir = tmp_path_factory.mktemp("query")
    encryption_key = Fernet.generate_key().decode()
    store_url = f"sqlite:///{workdir / 'store.sqlite3'}"
    env = {"STRIPE_API_KEY": API_KEY, "STRIPE_MCP_ENCRYPTION_KEY": encryption_key}
    # Every page of a scan is a call the budgets count: at the default 50 per 10 s, this module's scans would be
    # cut short when the machine runs them fast (test_query_limits.py checks budgets stopping a scan).
    budgets = ("--server-budget", "10000/10", "--account-budget", "10000/10")
    with serve(workdir, "--store", store_url, "--stripe-base-url", stripe_url, *budgets, env=env) as server:

        async def provision() -> dict[str, str]:
            store = SqliteStore(workdir / "store.sqlite3")
            try:
                account = await create_account(store, KeyBox(encryption_key.encode()), "query", API_KEY)
                urls = {}
                for name, config in {
                    "discovery": {"methods": ["read"], "tool_exposure": "discovery"},
                    "disputes_only": {"methods": ["read"], "tags": ["disputes"]},
                    "gets_only": {"methods": ["get"]},
                }.items():
                    created = await create_server(store, Registry(), account.id, name, config)
                    urls[name] = f"{server.base_url}/mcp/{created.token}"
                return urls
            finally:
                await store.close()

        yield {"read_only": server.printed_mcp_url(), "log": str(server.output), **asyncio.run(provision())}


def structured(result: Any) -> dict[str, Any]:
    assert result.is_error is False, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def query(url: str, **arguments: Any) -> dict[str, Any]:
    async with Client(url, mode="legacy") as client:
        return structured(await client.call_tool("query_stripe", arguments))


def customers_where(seeded: dict[str, Any], keep: Any) -> list[dict[str, Any]]:
    return [c for c in seeded["customers"] if keep(c)]


def segment(customer: dict[str, Any]) -> str | None:
    return customer["metadata"].get("segment")


# --- the tool itself ---------------------------------------------------------------------------------


async def test_query_stripe_is_listed_with_every_read_tools_fields(running: dict[str, str]) -> None:
    async with Client(running["read_only"], mode="legacy") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    query_tool = tools["query_stripe"]
    assert query_tool.annotations.read_only_hint is True
    assert query_tool.input_schema["required"] == ["tool"]
    ops = query_tool.input_schema["properties"]["where"]["items"]["properties"]["op"]["enum"]
    assert ops == ["eq", "ne", "gt", "gte", "lt", "lte", "contains", "in", "exists"]
    for name in ("list_all_stripe_customers", "search_stripe_customers", "get_single_stripe_customer_by_id"):
        assert tools[name].input_schema["properties"]["fields"]["type"] == "array", name
    assert "fields" not in tools["list_all_stripe_customers"].input_schema.get("required", [])


async def test_a_server_without_list_tools_has_no_query_stripe(running: dict[str, str]) -> None:
    async with Client(running["gets_only"], mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert names and "query_stripe" not in names
    async with Client(running["disputes_only"], mode="legacy") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert {"list_all_stripe_disputes", "query_stripe"} <= names


async def test_count_pages_through_every_customer(running: dict[str, str], seeded: dict[str, Any]) -> None:
    total = len(seeded["customers"])
    answer = await query(running["read_only"], tool="list_all_stripe_customers", aggregate="count")
    assert answer == {"result": [{"value": total}], "scanned": total, "complete": True, "next_cursor": None,
                      "matched": total}  # fmt: skip


@pytest.mark.parametrize(
    ("condition", "keep"),
    [
        (
            {"field": "metadata.segment", "op": "eq", "value": "enterprise"},
            lambda c: segment(c) == "enterprise",
        ),
        ({"field": "metadata.segment", "op": "ne", "value": "smb"}, lambda c: segment(c) != "smb"),
        (
            {"field": "metadata.segment", "op": "in", "value": ["smb", "mid"]},
            lambda c: segment(c) in ("smb", "mid"),
        ),
        ({"field": "description", "op": "contains", "value": "gLoBeX"}, lambda c: "Globex" in c.get("description", "")),
        (
            {"field": "preferred_locales", "op": "contains", "value": "fr"},
            lambda c: "fr" in c.get("preferred_locales", []),
        ),
        ({"field": "email", "op": "exists", "value": False}, lambda c: "email" not in c),
        ({"field": "email", "op": "exists", "value": True}, lambda c: "email" in c),
        ({"field": "name", "op": "gte", "value": "Customer 50"}, lambda c: c["name"] >= "Customer 50"),
    ],
    ids=lambda v: v["op"] + ":" + v["field"] if isinstance(v, dict) else "",
)
async def test_where_filters_customers(
    running: dict[str, str], seeded: dict[str, Any], condition: dict[str, Any], keep: Any
) -> None:
    expected = {c["id"] for c in customers_where(seeded, keep)}
    assert expected  # the seeding gives every condition something to find
    answer = await query(
        running["read_only"], tool="list_all_stripe_customers", where=[condition], fields=["id"], limit=1000
    )
    assert answer["complete"] is True
    assert {row["id"] for row in answer["result"]} == expected
    assert answer["matched"] == len(expected)


async def test_numeric_comparisons_on_charges(running: dict[str, str], seeded: dict[str, Any]) -> None:
    amounts = {c["id"]: c["amount"] for c in seeded["charges"]}
    for op, test in (("gt", int.__gt__), ("gte", int.__ge__), ("lt", int.__lt__), ("lte", int.__le__)):
        pivot = sorted(amounts.values())[len(amounts) // 2]
        answer = await query(
            running["read_only"], tool="list_all_stripe_charges", where=[{"field": "amount", "op": op, "value": pivot}],
            fields=["id"], limit=1000,
        )  # fmt: skip
        assert {row["id"] for row in answer["result"]} == {i for i, a in amounts.items() if test(a, pivot)}, op


async def test_conditions_are_anded_and_counted(running: dict[str, str], seeded: dict[str, Any]) -> None:
    keep = customers_where(seeded, lambda c: segment(c) == "smb" and "Hooli" in c.get("description", ""))
    answer = await query(
        running["read_only"],
        tool="list_all_stripe_customers",
        where=[
            {"field": "metadata.segment", "op": "eq", "value": "smb"},
            {"field": "description", "op": "contains", "value": "hooli"},
        ],
        aggregate="count",
    )
    assert answer["result"] == [{"value": len(keep)}] and answer["complete"] is True


async def test_group_by_segment(running: dict[str, str], seeded: dict[str, Any]) -> None:
    counts = Counter(segment(c) for c in seeded["customers"])
    answer = await query(running["read_only"], tool="list_all_stripe_customers", group_by="metadata.segment")
    assert counts[None] == len(seeded["payers"])  # the payers have no segment
    assert {row["key"]: row["value"] for row in answer["result"]} == counts
    values = [row["value"] for row in answer["result"]]
    assert values == sorted(values, reverse=True)  # biggest group first by default
    assert answer["groups"] == 4


async def test_sums_over_charges(running: dict[str, str], seeded: dict[str, Any]) -> None:
    amounts = [c["amount"] for c in seeded["charges"]]
    url = running["read_only"]
    assert (await query(url, tool="list_all_stripe_charges", aggregate="sum:amount"))["result"] == [
        {"value": sum(amounts)}
    ]
    assert (await query(url, tool="list_all_stripe_charges", aggregate="max:amount"))["result"] == [
        {"value": max(amounts)}
    ]
    assert (await query(url, tool="list_all_stripe_charges", aggregate="min:amount"))["result"] == [
        {"value": min(amounts)}
    ]
    average = (await query(url, tool="list_all_stripe_charges", aggregate="avg:amount"))["result"][0]["value"]
    assert average == round(sum(amounts) / len(amounts), 2)
    by_currency = await query(url, tool="list_all_stripe_charges", group_by="currency", aggregate="sum:amount")
    expected = Counter()
    for charge in seeded["charges"]:
        expected[charge["currency"]] += charge["amount"]
    assert {row["key"]: row["value"] for row in by_currency["result"]} == dict(expected)
    refunded = await query(url, tool="list_all_stripe_refunds", aggregate="sum:amount")
    assert refunded["result"] == [{"value": sum(seeded["refunds"])}]


async def test_sum_through_a_list_field(running: dict[str, str], seeded: dict[str, Any]) -> None:
    """refunds.data.amount of each charge: every refund of every charge counts once."""
    answer = await query(running["read_only"], tool="list_all_stripe_charges", aggregate="sum:refunds.data.amount")
    assert answer["result"] == [{"value": sum(seeded["refunds"])}]


async def test_order_by_and_limit(running: dict[str, str], seeded: dict[str, Any]) -> None:
    top = sorted(seeded["charges"], key=lambda c: -c["amount"])[:3]
    answer = await query(
        running["read_only"], tool="list_all_stripe_charges", order_by="-amount", limit=3, fields=["id", "amount"]
    )
    assert answer["result"] == [{"id": c["id"], "amount": c["amount"]} for c in top]
    assert answer["complete"] is True and answer["matched"] == len(seeded["charges"])
    ascending = await query(
        running["read_only"], tool="list_all_stripe_customers", order_by="email", limit=2, fields=["email"],
        where=[{"field": "email", "op": "exists", "value": True}],
    )  # fmt: skip
    emails = sorted(c["email"] for c in seeded["customers"] if "email" in c)
    assert [row["email"] for row in ascending["result"]] == emails[:2]


async def test_max_items_and_resume_cover_the_list_exactly(running: dict[str, str], seeded: dict[str, Any]) -> None:
    total = len(seeded["customers"])
    arguments: dict[str, Any] = {"tool": "list_all_stripe_customers", "group_by": "metadata.segment", "max_items": 90}
    scans = []
    async with Client(running["read_only"], mode="legacy") as client:
        answer = structured(await client.call_tool("query_stripe", arguments))
        for _ in range(10):  # bounded: 234 objects at 90 a call
            scans.append(answer["scanned"])
            if answer["complete"]:
                break
            assert answer["stopped_by"] == "max_items" and answer["next_cursor"]
            answer = structured(
                await client.call_tool("query_stripe", {**arguments, "next_cursor": answer["next_cursor"]})
            )
        other = await client.call_tool(
            "query_stripe", {**arguments, "group_by": "email", "next_cursor": "x" + "A" * 30}
        )
    assert scans == [90, 180, total]  # part way through the first page, then the second, then the end
    assert answer["complete"] is True and answer["next_cursor"] is None
    counts = Counter(segment(c) for c in seeded["customers"])
    assert {row["key"]: row["value"] for row in answer["result"]} == counts
    assert other.is_error is True and "next_cursor" in other.content[0].text


async def test_rows_stop_at_limit_and_resume_without_repeating(running: dict[str, str], seeded: dict[str, Any]) -> None:
    expected = {c["id"] for c in customers_where(seeded, lambda c: "Umbrella" in c.get("description", ""))}
    arguments: dict[str, Any] = {
        "tool": "list_all_stripe_customers",
        "where": [{"field": "description", "op": "contains", "value": "umbrella"}],
        "fields": ["id"],
        "limit": 7,
    }
    seen: list[str] = []
    async with Client(running["read_only"], mode="legacy") as client:
        answer = structured(await client.call_tool("query_stripe", arguments))
        for _ in range(20):  # bounded: 46 matches at 7 a call
            seen += [row["id"] for row in answer["result"]]
            if answer["complete"]:
                break
            assert answer["stopped_by"] == "limit" and len(answer["result"]) == 7
            answer = structured(
                await client.call_tool("query_stripe", {**arguments, "next_cursor": answer["next_cursor"]})
            )
    assert len(seen) == len(set(seen)) and set(seen) == expected


async def test_expand_reaches_the_customers_of_subscriptions(running: dict[str, str], seeded: dict[str, Any]) -> None:
    """Who is on the starter plan: one call, with the subscribers' e-mail addresses."""
    starters = {f"payer{i}@example.com" for i in range(3)}
    answer = await query(
        running["read_only"],
        tool="list_all_stripe_subscriptions",
        arguments={"expand": ["data.customer"]},
        where=[{"field": "items.data.plan.nickname", "op": "eq", "value": "starter"}],
        fields=["id", "customer.email"],
    )
    assert {row["customer"]["email"] for row in answer["result"]} == starters
    assert all(set(row) == {"id", "customer"} and set(row["customer"]) == {"email"} for row in answer["result"])


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"tool": "create_a_stripe_refund"}, "tool"),
        ({"tool": "get_single_stripe_customer_by_id"}, "tool"),
        ({"tool": "list_all_stripe_customer"}, "list_all_stripe_customers"),  # did you mean
        (
            {"tool": "list_all_stripe_customers", "where": [{"field": "email", "op": "like", "value": "x"}]},
            "where.0.op",
        ),
        ({"tool": "list_all_stripe_customers", "where": [{"field": "emial", "op": "eq", "value": "x"}]}, "email"),
        ({"tool": "list_all_stripe_customers", "aggregate": "sum:email"}, "numeric"),
        ({"tool": "list_all_stripe_charges", "where": [{"field": "amount", "op": "gt", "value": "15.00"}]}, "smallest"),
        (
            {"tool": "list_all_stripe_charges", "where": [{"field": "created", "op": "gte", "value": "2024-01-01"}]},
            "unix",
        ),
        ({"tool": "list_all_stripe_charges", "fields": ["customer.email"]}, "data.customer"),
        ({"tool": "list_all_stripe_customers", "arguments": {"limit": 5}}, "arguments.limit"),
        ({"tool": "list_all_stripe_customers", "max_items": 10_001}, "max_items"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_bad_input_is_a_tool_error_naming_it_and_nothing_is_fetched(
    running: dict[str, str], arguments: dict[str, Any], named: str
) -> None:
    log_before = open(running["log"]).read().count('"tool": "list_all_stripe_')  # noqa: SIM115
    async with Client(running["read_only"], mode="legacy") as client:
        result = await client.call_tool("query_stripe", arguments)
    assert result.is_error is True
    assert named in result.content[0].text, result.content[0].text
    assert "Traceback" not in result.content[0].text and "RangeQuerySpecs" not in result.content[0].text
    assert open(running["log"]).read().count('"tool": "list_all_stripe_') == log_before  # noqa: SIM115


async def test_a_read_only_server_refuses_to_query_a_write_tool(
    running: dict[str, str], seeded: dict[str, Any]
) -> None:
    before = len(seeded["client"].v1.refunds.list(params={"limit": 100}).data)
    async with Client(running["read_only"], mode="legacy") as client:
        result = await client.call_tool(
            "query_stripe", {"tool": "create_a_stripe_refund", "arguments": {"charge": seeded["charges"][0]["id"]}}
        )
    assert result.is_error is True and "only reads" in result.content[0].text
    assert len(seeded["client"].v1.refunds.list(params={"limit": 100}).data) == before


async def test_query_a_tool_the_filters_leave_out(running: dict[str, str]) -> None:
    async with Client(running["disputes_only"], mode="legacy") as client:
        result = await client.call_tool("query_stripe", {"tool": "list_all_stripe_customers", "aggregate": "count"})
    assert result.is_error is True and "does not allow list_all_stripe_customers" in result.content[0].text


# --- fields on the read tools -------------------------------------------------------------------------


async def test_fields_on_list_and_get(running: dict[str, str], seeded: dict[str, Any]) -> None:
    first = seeded["customers"][1]
    async with Client(running["read_only"], mode="legacy") as client:
        page = structured(
            await client.call_tool("list_all_stripe_customers", {"limit": 5, "fields": ["id", "metadata.segment"]})
        )
        one = structured(
            await client.call_tool(
                "get_single_stripe_customer_by_id", {"id": first["id"], "fields": ["email", "address", "metadata"]}
            )
        )
        bad = await client.call_tool("list_all_stripe_customers", {"limit": 5, "fields": ["id", "segment"]})
    assert len(page["result"]) == 5 and page["next_cursor"]
    assert all(set(row) == {"id", "metadata"} and set(row["metadata"]) <= {"segment"} for row in page["result"])
    assert one == {"email": first["email"], "address": None, "metadata": first["metadata"]}  # a null asked for stays
    assert bad.is_error is True and "fields.1" in bad.content[0].text and "segment" in bad.content[0].text


async def test_fields_with_expand_on_charges(running: dict[str, str], seeded: dict[str, Any]) -> None:
    async with Client(running["read_only"], mode="legacy") as client:
        refused = await client.call_tool("list_all_stripe_charges", {"limit": 3, "fields": ["customer.email"]})
        page = structured(
            await client.call_tool(
                "list_all_stripe_charges",
                {"limit": 3, "expand": ["data.customer"], "fields": ["amount", "customer.email"]},
            )
        )
    assert refused.is_error is True and "expand" in refused.content[0].text
    payers = {f"payer{i}@example.com" for i in range(4)}
    assert all(row["customer"]["email"] in payers and set(row) == {"amount", "customer"} for row in page["result"])


# --- discovery mode -------------------------------------------------------------------------------------


async def test_discovery_finds_describes_and_runs_query_stripe(running: dict[str, str], seeded: dict[str, Any]) -> None:
    async with Client(running["discovery"], mode="legacy") as client:
        # Two calls: search_tools gives the best match's schema, so no get_tool_schema is needed first.
        found = structured(await client.call_tool("search_tools", {"query": "How many customers do we have?"}))
        counted = structured(
            await client.call_tool(
                "call_tool",
                {
                    "tool_name": "query_stripe",
                    "arguments": {"tool": found["tools"][0]["use_with"], "aggregate": "count"},
                },
            )
        )
    assert found["tools"][0]["name"] == "query_stripe"
    assert found["tools"][0]["use_with"] == "list_all_stripe_customers"
    assert found["tools"][0]["inputSchema"]["required"] == ["tool"]
    assert set(found["tools"][0]["inputSchema"]["properties"]) >= {"tool", "where", "aggregate", "group_by"}
    assert counted["result"] == [{"value": len(seeded["customers"])}]


def test_every_page_is_in_the_access_log(running: dict[str, str]) -> None:
    lines = [json.loads(line) for line in open(running["log"]) if line.startswith("{")]  # noqa: SIM115
    pages = [line for line in lines if line.get("via") == "query_stripe"]
    assert pages and all(line["tool"].startswith(("list_all_stripe_", "search_stripe_")) for line in pages)
    assert API_KEY not in open(running["log"]).read()  # noqa: SIM115


# --- stdio ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("discovery", [False, True], ids=["all", "discovery"])
async def test_query_stripe_over_stdio(stripe_url: str, seeded: dict[str, Any], discovery: bool) -> None:
    command = ["-m", "stripe_mcp", "stdio", "--methods", "read", "--stripe-base-url", stripe_url]
    params = StdioServerParameters(
        command=sys.executable,
        args=command + (["--discovery"] if discovery else []),
        env={**os.environ, "STRIPE_API_KEY": API_KEY},
    )
    arguments = {"tool": "list_all_stripe_customers", "where": [{"field": "email", "op": "exists", "value": False}]}
    arguments |= {"aggregate": "count"}

    async def run() -> dict[str, Any]:
        async with Client(params, mode="legacy") as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            if not discovery:
                assert "query_stripe" in names
                return structured(await client.call_tool("query_stripe", arguments))
            found = structured(await client.call_tool("search_tools", {"query": "which customers have no email"}))
            assert found["tools"][0]["name"] == "query_stripe"
            call = {"tool_name": "query_stripe", "arguments": arguments}
            return structured(await client.call_tool("call_tool", call))

    answer = await asyncio.wait_for(run(), 60)
    assert answer["result"] == [{"value": len(customers_where(seeded, lambda c: "email" not in c))}]
