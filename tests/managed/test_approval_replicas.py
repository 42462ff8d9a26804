"""Approvals across two `stripe-mcp serve` replicas sharing one redis-server: asked on one, decided and run on
the other, and the approved call still runs exactly once whichever replica the agent reaches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mcp import Client
from tests.support.redis_server import RunningRedis
from tests.support.runtime_process import RunningServer, managed_env, serve
from tests.support.seeding import customer_with_card, stripe_client

pytestmark = pytest.mark.integration  # two `stripe-mcp serve` replicas on redis-server, and localstripe

ADMIN_TOKEN = "admin-token-approval-replicas-2b7c"
API_KEY = "sk_test_approval_replicas_4242"
REPLICA_DB = 3
AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}
REFUND = "create_a_stripe_refund"


@pytest.fixture(scope="module")
def replicas(
    redis_service: RunningRedis, tmp_path_factory: pytest.TempPathFactory, stripe_url: str
) -> Iterator[tuple[RunningServer, RunningServer]]:
    redis_service.flush(REPLICA_DB)
    env = managed_env(ADMIN_TOKEN)
    args = ("--store", redis_service.url(REPLICA_DB), "--stripe-base-url", stripe_url)
    with (
        serve(tmp_path_factory.mktemp("replica-a"), *args, env=env) as a,
        serve(tmp_path_factory.mktemp("replica-b"), *args, env=env) as b,
    ):
        yield a, b
    redis_service.flush(REPLICA_DB)


def on(replica: RunningServer, url: str) -> str:
    return f"{replica.base_url}/mcp/{url.rsplit('/', 1)[1]}"


async def refund(url: str, arguments: dict[str, Any]) -> Any:
    async with Client(url, mode="legacy") as client:
        return await asyncio.wait_for(client.call_tool(REFUND, arguments), 30)


async def test_asked_on_one_replica_approved_and_run_on_the_other(
    replicas: tuple[RunningServer, RunningServer], stripe_url: str
) -> None:
    a, b = replicas
    stripe = stripe_client(stripe_url, API_KEY)
    charge = stripe.v1.charges.create(
        params={"amount": 4900, "currency": "usd", "customer": customer_with_card(stripe, email="sam@example.com")}
    )
    account = httpx.post(
        f"{a.base_url}/integrated-account", headers=AUTH, json={"name": "shop", "stripe_api_key": API_KEY}, timeout=10
    ).json()["id"]
    made = httpx.post(
        f"{a.base_url}/integrated-account/{account}/mcp",
        headers=AUTH,
        json={"name": "refunds", "config": {"approval": "destructive"}},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    arguments = {"charge": charge.id, "amount": 2500}

    asked = await refund(on(a, url), arguments)
    approval_id = asked.structured_content["error"]["approval_id"]
    listed = httpx.get(f"{b.base_url}/integrated-account/{account}/approvals", headers=AUTH, timeout=10).json()["data"]
    assert [x["id"] for x in listed if x["status"] == "pending"] == [approval_id]
    approved = httpx.post(f"{b.base_url}/approvals/{approval_id}/approve", headers=AUTH, timeout=10)
    assert approved.status_code == 200, approved.text

    first, second = await asyncio.gather(
        refund(on(b, url), {**arguments, "approval_id": approval_id}),
        refund(on(a, url), {**arguments, "approval_id": approval_id}),
    )
    ran = [r for r in (first, second) if r.is_error is False]
    busy = [r for r in (first, second) if r.is_error is True]
    assert ran, [r.content[0].text for r in (first, second)]
    assert all(r.structured_content["error"]["code"] == "approval_in_progress" for r in busy)  # the loser of the race
    for replica in (a, b):  # afterwards both replicas answer with the one stored result
        again = await refund(on(replica, url), {**arguments, "approval_id": approval_id})
        assert again.is_error is False and again.structured_content == ran[0].structured_content
    assert [r.amount for r in stripe.v1.refunds.list(params={"charge": charge.id}).data] == [2500]
