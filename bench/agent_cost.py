"""What an agent pays for answers: calls and bytes of tool output for eight support and finance questions.

Run by hand from the repository root:  python bench/agent_cost.py  [--customers 500] [--no-write]

localstripe (in this process, on 127.0.0.1) is seeded through the official stripe SDK with customers (a
segment in metadata, the company they work at in the description, most with an e-mail address), products,
two plans, coupons, subscriptions and charges. A real `stripe-mcp serve` fronts it with one server (read and
create, all tools listed). A scripted agent (plain code, no language model) answers each question through
the official MCP client twice: with paging only, as an agent did before fields and query_stripe, and with
them. Every answer is checked against what was seeded. Bytes are those of the tool results' text content,
what a model reads (structuredContent repeats it); tools/list is not counted.

The table is printed and written to bench/results-agent-cost.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from mcp import Client  # noqa: E402
from stripe_mcp.managed.secrets import KeyBox  # noqa: E402
from stripe_mcp.managed.service import create_account, create_server  # noqa: E402
from stripe_mcp.managed.store.sqlite_store import SqliteStore  # noqa: E402
from stripe_mcp.tools.registry import Registry  # noqa: E402
from tests.support.localstripe_server import localstripe  # noqa: E402
from tests.support.runtime_process import serve  # noqa: E402
from tests.support.seeding import customer_with_card, stripe_client  # noqa: E402

API_KEY = "sk_test_agent_cost_4242"
SEGMENTS = ("enterprise", "smb", "mid-market", "startup")
COMPANIES = ("Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Acme")
TARGET_CALLS, TARGET_TASK_BYTES, TARGET_TOTAL_BYTES = 2, 5 * 1024, 30 * 1024
MAX_PAGES = 100  # every paging loop is bounded


# --- seeding ---------------------------------------------------------------------------------------------


def seed(base_url: str, customers: int) -> dict[str, Any]:
    client = stripe_client(base_url, API_KEY)
    people = []
    for index in range(customers):
        params: dict[str, Any] = {
            "name": f"Customer {index}",
            "description": f"Works at {COMPANIES[index % len(COMPANIES)]}",
            "metadata": {"segment": SEGMENTS[index % len(SEGMENTS)], "crm_id": str(10_000 + index)},
        }
        if index % 9:
            params["email"] = f"customer{index}@example.com"
        people.append({**params, "id": client.v1.customers.create(params=params).id})
    # One customer works at Globex: the lookup question.
    globex = client.v1.customers.create(
        params={"name": "Grace Globex", "email": "grace@globex.example", "description": "Works at Globex",
                "metadata": {"segment": "enterprise"}}
    )  # fmt: skip
    people.append({"id": globex.id, "email": "grace@globex.example", "metadata": {"segment": "enterprise"}})
    payers = [customer_with_card(client, email=f"payer{i}@example.com", name=f"Payer {i}") for i in range(6)]
    people += [{"id": p, "email": f"payer{i}@example.com", "metadata": {}} for i, p in enumerate(payers)]
    plans = {}
    for name, amount in (("Starter", 900), ("Pro", 4900), ("Team", 9900)):
        product = client.v1.products.create(params={"name": name, "description": f"The {name} plan"})
        plans[name.lower()] = client.v1.plans.create(
            params={"product": product.id, "amount": amount, "currency": "usd", "interval": "month",
                    "nickname": name.lower()}
        )  # fmt: skip
    for coupon, off in (("SPRING20", 20), ("LOYAL10", 10)):
        client.v1.coupons.create(params={"id": coupon, "percent_off": off, "duration": "once"})
    starters = payers[:4]
    for customer in starters:
        client.v1.subscriptions.create(params={"customer": customer, "items": [{"plan": plans["starter"].id}]})
    client.v1.subscriptions.create(params={"customer": payers[4], "items": [{"plan": plans["pro"].id}]})
    for index in range(60):
        amount = 500 + (index * 7919) % 19_500 // 100 * 100
        client.v1.charges.create(params={"amount": amount, "currency": "usd", "customer": payers[index % 5]})
    # payer5 has one charge: "latest" needs no tie-break (localstripe stamps whole seconds and lists oldest first).
    latest = client.v1.charges.create(params={"amount": 5000, "currency": "usd", "customer": payers[5]})
    charges = client.v1.charges.list(params={"limit": 100})
    assert not charges.has_more
    return {
        "customers": people,
        "globex": globex.id,
        "starter_emails": {f"payer{i}@example.com" for i in range(4)},
        "charges": [{"id": c.id, "amount": c.amount, "status": c.status, "customer": c.customer} for c in charges.data],
        "refund_customer": "payer5@example.com",
        "refund_charge": latest.id,  # both runs refund 15.00 of it
        "emails": {p: f"payer{i}@example.com" for i, p in enumerate(payers)},
    }


# --- the scripted agent ------------------------------------------------------------------------------------


@dataclass
class Tally:
    calls: int = 0
    bytes: int = 0
    answers: list[Any] = field(default_factory=list)


class Agent:
    """Calls tools, counting each call and the bytes of text it reads.

    In discovery mode (a server that lists search_tools, get_tool_schema and call_tool) it first asks
    search_tools for the question, reads a tool's schema with get_tool_schema the first time it uses a tool
    whose schema it has not seen (search_tools gives the best match's; `schemas_read` lasts the session) and
    runs tools through call_tool.
    """

    def __init__(self, client: Client, discovery: bool = False, schemas_read: set[str] | None = None) -> None:
        self.client = client
        self.discovery = discovery
        self.schemas_read = schemas_read if schemas_read is not None else set()
        self.tally = Tally()
        self.found: list[str] = []

    async def read(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(name, arguments)
        self.tally.calls += 1
        self.tally.bytes += sum(len(part.text.encode()) for part in result.content if hasattr(part, "text"))
        assert not result.is_error, result.content[0].text
        structured: dict[str, Any] = result.structured_content
        return structured

    async def search(self, question: str) -> None:
        if self.discovery:
            found = await self.read("search_tools", {"query": question, "limit": 3})
            self.found = [tool["name"] for tool in found["tools"]]
            self.schemas_read |= {tool["name"] for tool in found["tools"] if "inputSchema" in tool}

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if not self.discovery:
            return await self.read(name, arguments)
        if name not in self.schemas_read:
            await self.read("get_tool_schema", {"tool_names": [name]})
            self.schemas_read.add(name)
        return await self.read("call_tool", {"tool_name": name, "arguments": arguments})

    async def every_page(self, name: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(MAX_PAGES):
            page = await self.call(name, {**arguments, "limit": 100, **({"next_cursor": cursor} if cursor else {})})
            items += page["result"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError(f"{name}: more than {MAX_PAGES} pages")

    async def query(self, **arguments: Any) -> dict[str, Any]:
        """query_stripe's answer; a scan cut short (complete: false) is resumed, as its description says."""
        answer = await self.call("query_stripe", arguments)
        for _ in range(MAX_PAGES):
            if answer["complete"]:
                return answer
            rows = answer["result"] if not arguments.get("aggregate") and not arguments.get("group_by") else []
            answer = await self.call("query_stripe", {**arguments, "next_cursor": answer["next_cursor"]})
            answer["result"] = rows + answer["result"]
        raise AssertionError(f"query_stripe: more than {MAX_PAGES} resumptions")


Strategy = Callable[[Agent, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Task:
    question: str
    kind: str  # "count", "lookup" or "write"
    paging: Strategy
    querying: Strategy
    expected: Callable[[dict[str, Any]], Any]


async def count_paging(agent: Agent, seeded: dict[str, Any]) -> int:
    return len(await agent.every_page("list_all_stripe_customers", {}))


async def count_querying(agent: Agent, seeded: dict[str, Any]) -> int:
    return int((await agent.query(tool="list_all_stripe_customers", aggregate="count"))["result"][0]["value"])


async def globex_paging(agent: Agent, seeded: dict[str, Any]) -> list[str]:
    people = await agent.every_page("list_all_stripe_customers", {})
    return [p["id"] for p in people if "globex" in (p.get("description") or "").lower()]


async def globex_querying(agent: Agent, seeded: dict[str, Any]) -> list[str]:
    where = [{"field": "description", "op": "contains", "value": "globex"}]
    rows = await agent.query(tool="list_all_stripe_customers", where=where, fields=["id", "email", "name"])
    return [row["id"] for row in rows["result"]]


async def segment_paging(agent: Agent, seeded: dict[str, Any]) -> int:
    people = await agent.every_page("list_all_stripe_customers", {})
    return sum(1 for p in people if (p.get("metadata") or {}).get("segment") == "enterprise")


async def segment_querying(agent: Agent, seeded: dict[str, Any]) -> int:
    where = [{"field": "metadata.segment", "op": "eq", "value": "enterprise"}]
    answer = await agent.query(tool="list_all_stripe_customers", where=where, aggregate="count")
    return int(answer["result"][0]["value"])


async def segments_paging(agent: Agent, seeded: dict[str, Any]) -> dict[Any, int]:
    people = await agent.every_page("list_all_stripe_customers", {})
    return dict(Counter((p.get("metadata") or {}).get("segment") for p in people))


async def segments_querying(agent: Agent, seeded: dict[str, Any]) -> dict[Any, int]:
    answer = await agent.query(tool="list_all_stripe_customers", group_by="metadata.segment")
    return {row["key"]: row["value"] for row in answer["result"]}


async def starter_paging(agent: Agent, seeded: dict[str, Any]) -> set[str]:
    subscriptions = await agent.every_page("list_all_stripe_subscriptions", {"expand": ["data.customer"]})
    return {
        s["customer"]["email"]
        for s in subscriptions
        if any(item["plan"]["nickname"] == "starter" for item in s["items"]["data"])
    }


async def starter_querying(agent: Agent, seeded: dict[str, Any]) -> set[str]:
    answer = await agent.query(
        tool="list_all_stripe_subscriptions",
        arguments={"expand": ["data.customer"]},
        where=[{"field": "items.data.plan.nickname", "op": "eq", "value": "starter"}],
        fields=["customer.email"],
    )
    return {row["customer"]["email"] for row in answer["result"]}


async def revenue_paging(agent: Agent, seeded: dict[str, Any]) -> int:
    charges = await agent.every_page("list_all_stripe_charges", {})
    return sum(c["amount"] for c in charges if c["status"] == "succeeded")


async def revenue_querying(agent: Agent, seeded: dict[str, Any]) -> int:
    where = [{"field": "status", "op": "eq", "value": "succeeded"}]
    answer = await agent.query(tool="list_all_stripe_charges", where=where, aggregate="sum:amount")
    return int(answer["result"][0]["value"])


async def largest_paging(agent: Agent, seeded: dict[str, Any]) -> tuple[int, str]:
    charges = await agent.every_page("list_all_stripe_charges", {})
    top = max(charges, key=lambda c: c["amount"])
    customer = await agent.call("get_single_stripe_customer_by_id", {"id": top["customer"]})
    return top["amount"], customer["email"]


async def largest_querying(agent: Agent, seeded: dict[str, Any]) -> tuple[int, str]:
    answer = await agent.query(
        tool="list_all_stripe_charges",
        arguments={"expand": ["data.customer"]},
        order_by="-amount",
        limit=1,
        fields=["id", "amount", "customer.email"],
    )
    top = answer["result"][0]
    return top["amount"], top["customer"]["email"]


async def refund_paging(agent: Agent, seeded: dict[str, Any]) -> str:
    customer = (await agent.call("list_all_stripe_customers", {"email": seeded["refund_customer"]}))["result"][0]
    charges = (await agent.call("list_all_stripe_charges", {"customer": customer["id"], "limit": 10}))["result"]
    refund = await agent.call("create_a_stripe_refund", {"charge": charges[0]["id"], "amount": 1500})
    return str(refund["charge"])


async def refund_querying(agent: Agent, seeded: dict[str, Any]) -> str:
    found = await agent.call("list_all_stripe_customers", {"email": seeded["refund_customer"], "fields": ["id"]})
    latest = await agent.call(
        "list_all_stripe_charges",
        {"customer": found["result"][0]["id"], "limit": 1, "fields": ["id", "amount", "amount_refunded"]},
    )
    refund = await agent.call("create_a_stripe_refund", {"charge": latest["result"][0]["id"], "amount": 1500})
    return str(refund["charge"])


def largest(seeded: dict[str, Any]) -> tuple[int, str]:
    top = max(seeded["charges"], key=lambda c: c["amount"])
    return top["amount"], seeded["emails"][top["customer"]]


TASKS = [
    Task("How many customers do we have?", "count", count_paging, count_querying, lambda s: len(s["customers"])),
    Task("Which customer works at Globex?", "lookup", globex_paging, globex_querying, lambda s: [s["globex"]]),
    Task("How many customers are in the enterprise segment?", "count", segment_paging, segment_querying,
         lambda s: sum(1 for c in s["customers"] if c["metadata"].get("segment") == "enterprise")),
    Task("How many customers are in each segment?", "count", segments_paging, segments_querying,
         lambda s: dict(Counter(c["metadata"].get("segment") for c in s["customers"]))),
    Task("Who is on the starter plan?", "lookup", starter_paging, starter_querying, lambda s: s["starter_emails"]),
    Task("How much have we charged in total?", "count", revenue_paging, revenue_querying,
         lambda s: sum(c["amount"] for c in s["charges"] if c["status"] == "succeeded")),
    Task("What was our largest charge, and who paid it?", "lookup", largest_paging, largest_querying, largest),
    Task("Refund 15.00 of payer5@example.com's latest charge", "write", refund_paging, refund_querying,
         lambda s: s["refund_charge"]),
]  # fmt: skip


# --- the run -----------------------------------------------------------------------------------------------


async def provision(workdir: Path, key: str, base_url: str) -> dict[str, str]:
    store = SqliteStore(workdir / "store.sqlite3")
    try:
        account = await create_account(store, KeyBox(key.encode()), "bench", API_KEY)
        urls = {}
        for exposure in ("all", "discovery"):
            config = {"methods": ["read", "create"], "tool_exposure": exposure}
            created = await create_server(store, Registry(), account.id, f"agent ({exposure})", config)
            urls[exposure] = f"{base_url}/mcp/{created.token}"
        return urls
    finally:
        await store.close()


async def run_tasks(url: str, seeded: dict[str, Any]) -> list[tuple[Task, Tally, Tally]]:
    """Each question with paging only, then with fields and query_stripe, on a server listing all tools."""
    rows = []
    async with Client(url, mode="legacy") as client:
        for task in TASKS:
            tallies = []
            for strategy in (task.paging, task.querying):
                agent = Agent(client)
                answer = await strategy(agent, seeded)
                assert answer == task.expected(seeded), (task.question, strategy.__name__, answer)
                tallies.append(agent.tally)
            rows.append((task, tallies[0], tallies[1]))
    return rows


async def run_discovery(url: str, seeded: dict[str, Any]) -> list[tuple[Task, Tally, list[str]]]:
    """Each question with fields and query_stripe on a discovery-mode server, in one session (schemas read once)."""
    rows = []
    schemas_read: set[str] = set()
    async with Client(url, mode="legacy") as client:
        for task in TASKS:
            agent = Agent(client, discovery=True, schemas_read=schemas_read)
            await agent.search(task.question)
            answer = await task.querying(agent, seeded)
            assert answer == task.expected(seeded), (task.question, "discovery", answer)
            rows.append((task, agent.tally, agent.found))
    return rows


def kilobytes(count: int) -> str:
    return f"{count / 1024:,.1f} KB"


def verdict(task: Task, tally: Tally) -> str:
    if task.kind == "write":
        return "(a write: no target)"
    met = tally.calls <= TARGET_CALLS and tally.bytes <= TARGET_TASK_BYTES
    return f"≤ {TARGET_CALLS} calls, ≤ 5 KB: {'met' if met else f'not met ({tally.calls} calls, {tally.bytes:,} B)'}"


def total_verdict(tallies: list[Tally]) -> str:
    size = sum(t.bytes for t in tallies)
    return f"≤ 30 KB: {'met' if size <= TARGET_TOTAL_BYTES else f'not met ({size:,} B)'}"


def table(rows: list[tuple[Task, Tally, Tally]], seeded: dict[str, Any]) -> str:
    lines = [
        f"Eight questions over localstripe holding {len(seeded['customers'])} customers, {len(seeded['charges'])} "
        "charges (the subscriptions' first invoices among them), 5 subscriptions on 3 plans; a scripted "
        "agent through the official MCP client against `stripe-mcp serve` (all tools listed). Bytes: tool results' "
        "text, what a model reads. Every answer was checked against the seed.",
        "",
        "| question | kind | paging only: calls | bytes | with fields / query_stripe: calls | bytes | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, before, after in rows:
        lines.append(
            f"| {task.question} | {task.kind} | {before.calls} | {kilobytes(before.bytes)} | {after.calls} | "
            f"{kilobytes(after.bytes)} | {verdict(task, after)} |"
        )
    calls = [sum(t.calls for _, t, _ in rows), sum(t.calls for _, _, t in rows)]
    sizes = [sum(t.bytes for _, t, _ in rows), sum(t.bytes for _, _, t in rows)]
    lines.append(
        f"| **all eight** | | **{calls[0]}** | **{kilobytes(sizes[0])}** | **{calls[1]}** | **{kilobytes(sizes[1])}** "
        f"| {total_verdict([t for _, _, t in rows])} |"
    )
    return "\n".join(lines) + "\n"


def discovery_table(rows: list[tuple[Task, Tally, list[str]]]) -> str:
    lines = [
        "The same questions on a discovery-mode server (search_tools, get_tool_schema, call_tool), in one session: "
        "search_tools first (limit 3; it carries the best match's schema), any other tool's schema read once, then call_tool.",
        "",
        "| question | search_tools found | calls | bytes | target |",
        "|---|---|---|---|---|",
    ]
    for task, tally, found in rows:
        lines.append(
            f"| {task.question} | {', '.join(found)} | {tally.calls} | {kilobytes(tally.bytes)} | {verdict(task, tally)} |"
        )
    tallies = [t for _, t, _ in rows]
    lines.append(
        f"| **all eight** | | **{sum(t.calls for t in tallies)}** | **{kilobytes(sum(t.bytes for t in tallies))}** "
        f"| {total_verdict(tallies)} |"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=500, help="customers seeded besides the payers (500)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    options = parser.parse_args()
    with localstripe() as stripe_url, tempfile.TemporaryDirectory(prefix="agent-cost-") as folder:
        print(f"seeding localstripe with {options.customers} customers ...", flush=True)
        seeded = seed(stripe_url, options.customers)
        key = Fernet.generate_key().decode()
        workdir = Path(folder)
        env = {"STRIPE_MCP_ENCRYPTION_KEY": key}
        store = f"sqlite:///{workdir / 'store.sqlite3'}"
        # Budgets (the runaway-agent guard) are not what is measured: the paging runs alone would exhaust the
        # default 50 calls per 10 s and cut the next scans short.
        budgets = ("--server-budget", "10000/10", "--account-budget", "10000/10")
        with serve(workdir, "--store", store, "--stripe-base-url", stripe_url, *budgets, env=env) as server:
            urls = asyncio.run(provision(workdir, key, server.base_url))
            rows = asyncio.run(run_tasks(urls["all"], seeded))
            found = asyncio.run(run_discovery(urls["discovery"], seeded))
    text = table(rows, seeded) + "\n" + discovery_table(found)
    print(text)
    if not options.no_write:
        (Path(__file__).parent / "results-agent-cost.md").write_text("# Agent cost\n\n" + text, encoding="utf-8")


if __name__ == "__main__":
    main()
