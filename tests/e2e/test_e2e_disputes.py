"""Dispute triage as a support lead does it: disputes -> their charge -> its customer.

localstripe has no disputes, so a loopback fake Stripe answers, through a real `stripe-mcp serve`
process and the official MCP client on the read-only URL it prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from mcp import Client
from tests.support.fakes import FakeStripe, respond
from tests.support.runtime_process import serve

pytestmark = pytest.mark.integration  # a `stripe-mcp serve` process

API_KEY = "sk_test_disputes_e2e_1234"
DISPUTE = {
    "id": "dp_1NkLs2Ab",
    "object": "dispute",
    "amount": 4200,
    "currency": "usd",
    "charge": "ch_3NkLs2Ab",
    "reason": "fraudulent",
    "status": "needs_response",
    "evidence_details": {"due_by": 1795000000, "has_evidence": False},
    "payment_intent": None,
    "metadata": {},
}
CHARGE = {
    "id": "ch_3NkLs2Ab",
    "object": "charge",
    "amount": 4200,
    "currency": "usd",
    "customer": "cus_Dispute1",
    "status": "succeeded",
    "disputed": True,
    "description": None,
    "refunds": {"object": "list", "data": [], "has_more": False},
}
CUSTOMER = {
    "id": "cus_Dispute1",
    "object": "customer",
    "email": "sarah.jones@example.com",
    "name": "Sarah Jones",
    "phone": None,
}


def page(*items: dict) -> dict:
    return {"object": "list", "data": list(items), "has_more": False, "url": "/v1/disputes"}


async def test_dispute_triage(fake_stripe: FakeStripe, tmp_path: Path) -> None:
    fake_stripe.on("GET", "/v1/disputes", respond(200, page(DISPUTE)))
    fake_stripe.on("GET", "/v1/charges/ch_3NkLs2Ab", respond(200, CHARGE))
    fake_stripe.on("GET", "/v1/customers/cus_Dispute1", respond(200, CUSTOMER))
    env = {"STRIPE_API_KEY": API_KEY, "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    with serve(tmp_path, "--stripe-base-url", fake_stripe.base_url, env=env) as server:
        async with Client(server.printed_mcp_url(), mode="legacy") as client:
            disputes = await client.call_tool("list_all_stripe_disputes", {"limit": 20})
            open_ones = [d for d in disputes.structured_content["result"] if d["status"] == "needs_response"]
            assert [d["id"] for d in open_ones] == ["dp_1NkLs2Ab"]
            charge = await client.call_tool("get_single_stripe_charge_by_id", {"id": open_ones[0]["charge"]})
            customer = await client.call_tool(
                "get_single_stripe_customer_by_id", {"id": charge.structured_content["customer"]}
            )

    assert customer.structured_content["email"] == "sarah.jones@example.com"
    # Lean results: Stripe's nulls and empty collections are left out, the rest is intact.
    assert "payment_intent" not in open_ones[0] and open_ones[0]["evidence_details"]["has_evidence"] is False
    assert "description" not in charge.structured_content and "refunds" in charge.structured_content
    assert json.loads(customer.content[0].text) == customer.structured_content

    sent = [(r.method, r.path, r.query) for r in fake_stripe.requests]
    assert sent == [
        ("GET", "/v1/disputes", "limit=20"),
        ("GET", "/v1/charges/ch_3NkLs2Ab", ""),
        ("GET", "/v1/customers/cus_Dispute1", ""),
    ]
    for request in fake_stripe.requests:
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        assert request.headers["stripe-version"] == "2023-08-16"
        assert "idempotency-key" not in request.headers  # GETs carry none


async def test_a_server_for_a_connected_account_sends_stripe_account(fake_stripe: FakeStripe, tmp_path: Path) -> None:
    """A Connect platform's server scoped to one connected account: every call carries Stripe-Account."""
    fake_stripe.on("GET", "/v1/disputes", respond(200, page(DISPUTE)))
    admin_token = "admin-token-for-connect-test-0123456789"
    env = {"STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "STRIPE_MCP_ADMIN_TOKEN": admin_token}
    with serve(tmp_path, "--stripe-base-url", fake_stripe.base_url, env=env) as server:
        async with httpx.AsyncClient(
            base_url=server.base_url, headers={"authorization": f"Bearer {admin_token}"}
        ) as admin:
            account = (
                await admin.post("/integrated-account", json={"name": "platform", "stripe_api_key": API_KEY})
            ).json()
            refused = await admin.post(
                f"/integrated-account/{account['id']}/mcp",
                json={"name": "bad", "config": {"stripe_account": "cus_notanaccount"}},
            )
            made = await admin.post(
                f"/integrated-account/{account['id']}/mcp",
                json={"name": "seller 42", "config": {"methods": ["read"], "stripe_account": "acct_1Seller42"}},
            )
        assert refused.status_code == 400
        assert made.status_code == 201 and made.json()["config"]["stripe_account"] == "acct_1Seller42"
        async with Client(made.json()["url"], mode="legacy") as client:
            disputes = await client.call_tool("list_all_stripe_disputes", {})
        assert disputes.is_error is False
    assert [r.headers.get("stripe-account") for r in fake_stripe.requests] == ["acct_1Seller42"]
