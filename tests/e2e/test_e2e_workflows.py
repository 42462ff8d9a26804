"""The support workflows of README, end to end: the official MCP client -> `stripe-mcp serve` -> localstripe.

Seeding goes through the official stripe SDK, so the emulator's state does not depend on our encoder.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from mcp.shared.exceptions import MCPError

from mcp import Client
from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.managed.service import create_account, create_server
from stripe_mcp.managed.store.sqlite_store import SqliteStore
from stripe_mcp.tools.registry import Registry
from tests.support.runtime_process import serve
from tests.support.seeding import customer_with_card, stripe_client

pytestmark = pytest.mark.integration  # a `stripe-mcp serve` process in front of localstripe

API_KEY = "sk_test_e2e_workflows_4242"
EMAIL = "sarah.jones@example.com"


@pytest.fixture(scope="module")
def seeded(stripe_url: str) -> dict[str, Any]:
    client = stripe_client(stripe_url, API_KEY)
    sarah = customer_with_card(client, email=EMAIL, name="Sarah Jones", metadata={"order_id": "6735"})
    for index in range(2):
        client.v1.customers.create(params={"email": f"other{index}@example.com"})
    product = client.v1.products.create(params={"name": "Gold plan"})
    plan = client.v1.plans.create(
        params={"product": product.id, "amount": 2000, "currency": "usd", "interval": "month"}
    )
    subscription = client.v1.subscriptions.create(params={"customer": sarah, "items": [{"plan": plan.id}]})
    charge = client.v1.charges.create(params={"amount": 5000, "currency": "usd", "customer": sarah})
    return {"client": client, "customer": sarah, "subscription": subscription.id, "charge": charge.id}


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, stripe_url: str, seeded: dict[str, Any]
) -> Iterator[dict[str, str]]:
    """A real `stripe-mcp serve` process with the default read-only server and a support server that may refund."""
    workdir = tmp_path_factory.mktemp("serve")
    encryption_key = Fernet.generate_key().decode()
    store_url = f"sqlite:///{workdir / 'store.sqlite3'}"
    env = {"STRIPE_API_KEY": API_KEY, "STRIPE_MCP_ENCRYPTION_KEY": encryption_key}
    with serve(workdir, "--store", store_url, "--stripe-base-url", stripe_url, env=env) as server:
        # Provision a second server the way the admin API does, through the shared store file.
        async def provision() -> str:
            store = SqliteStore(workdir / "store.sqlite3")
            account = await create_account(store, KeyBox(encryption_key.encode()), "support", API_KEY)
            created = await create_server(
                store, Registry(), account.id, "support", {"methods": ["read", "create"], "tags": []}
            )
            await store.close()
            return created.token

        token = asyncio.run(provision())
        yield {
            "read_only": server.printed_mcp_url(),
            "support": f"{server.base_url}/mcp/{token}",
            "log": str(server.output),
        }


def structured(result: Any) -> dict[str, Any]:
    assert result.is_error is False, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def test_printed_url_serves_read_only_tools(running: dict[str, str]) -> None:
    async with Client(running["read_only"], mode="legacy") as client:
        tools = (await client.list_tools()).tools
    names = {tool.name for tool in tools}
    # Every read tool, and query_stripe over the list and search tools.
    assert len(names) == sum(1 for t in Registry().tools.values() if t.kind in ("get", "list", "search")) + 1
    assert "query_stripe" in names
    assert {"list_all_stripe_customers", "get_single_stripe_balance_by_id"} <= names
    assert "create_a_stripe_refund" not in names
    assert all(tool.annotations.read_only_hint for tool in tools)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_refund_workflow(running: dict[str, str], seeded: dict[str, Any], mode: str) -> None:
    """Find the customer by email, check her subscription, find her charge, refund 1500."""
    async with Client(running["support"], mode=mode) as client:
        customers = structured(await client.call_tool("list_all_stripe_customers", {"email": EMAIL}))
        assert [c["id"] for c in customers["result"]] == [seeded["customer"]]
        customer_id = customers["result"][0]["id"]

        subscriptions = structured(
            await client.call_tool("list_all_stripe_customer_subscriptions", {"customer_id": customer_id})
        )
        assert [(s["id"], s["status"]) for s in subscriptions["result"]] == [(seeded["subscription"], "active")]

        charges = structured(await client.call_tool("list_all_stripe_charges", {"customer": customer_id, "limit": 10}))
        succeeded = [c for c in charges["result"] if c["status"] == "succeeded" and c["amount"] == 5000]
        assert [c["id"] for c in succeeded] == [seeded["charge"]]

        refund = structured(
            await client.call_tool(
                "create_a_stripe_refund",
                {"charge": succeeded[0]["id"], "amount": 1500, "metadata": {"ticket": f"support-{mode}"}},
            )
        )
        assert (refund["amount"], refund["charge"], refund["status"]) == (1500, seeded["charge"], "succeeded")

    at_stripe = seeded["client"].v1.refunds.retrieve(refund["id"])
    assert (at_stripe.amount, at_stripe.charge, at_stripe.metadata["ticket"]) == (
        1500,
        seeded["charge"],
        f"support-{mode}",
    )


async def test_pagination_over_three_customers(running: dict[str, str]) -> None:
    seen: list[str] = []
    cursor = None
    async with Client(running["support"], mode="legacy") as client:
        for _ in range(10):  # bounded: 3 customers at limit 1
            arguments: dict[str, Any] = {"limit": 1}
            if cursor:
                arguments["next_cursor"] = cursor
            page = structured(await client.call_tool("list_all_stripe_customers", arguments))
            assert len(page["result"]) == 1
            seen.append(page["result"][0]["id"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert len(seen) == 3 and len(set(seen)) == 3


async def test_invalid_argument_is_a_tool_error_and_nothing_is_sent(
    running: dict[str, str], seeded: dict[str, Any]
) -> None:
    async with Client(running["support"], mode="legacy") as client:
        result = await client.call_tool("create_a_stripe_refund", {"charge": seeded["charge"], "amount": "lots"})
    assert result.is_error is True
    assert "amount" in result.content[0].text
    refunds = seeded["client"].v1.refunds.list(params={"charge": seeded["charge"]})
    assert all(r.amount == 1500 for r in refunds.data)


async def test_read_only_server_refuses_a_refund(running: dict[str, str], seeded: dict[str, Any]) -> None:
    before = len(seeded["client"].v1.refunds.list(params={"charge": seeded["charge"]}).data)
    async with Client(running["read_only"], mode="legacy") as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("create_a_stripe_refund", {"charge": seeded["charge"], "amount": 100})
    # Outside the server's filters a tool is unknown, as the MCP spec words it: -32602.
    assert refused.value.error.code == -32602
    assert len(seeded["client"].v1.refunds.list(params={"charge": seeded["charge"]}).data) == before


async def test_stripe_error_carries_status_and_message(running: dict[str, str]) -> None:
    async with Client(running["support"], mode="legacy") as client:
        result = await client.call_tool("get_single_stripe_charge_by_id", {"id": "ch_does_not_exist"})
    assert result.is_error is True
    assert result.structured_content["http_status"] == 404


def test_unknown_token_is_404(running: dict[str, str]) -> None:
    import httpx

    base = running["support"].rsplit("/mcp/", 1)[0]
    response = httpx.post(f"{base}/mcp/smcp_not_a_real_token", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 404


def test_log_holds_no_secret(running: dict[str, str]) -> None:
    log = Path(running["log"]).read_text()
    assert API_KEY not in log
    assert running["support"].rsplit("/", 1)[1] not in log
