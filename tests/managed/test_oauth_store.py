"""The OAuthStore interface (Store.oauth) on both backends: clients, grants, single-use tokens, and OAuth state
going with its server."""

from __future__ import annotations

import asyncio
import time

import pytest

from stripe_mcp.managed.secrets import token_hash
from stripe_mcp.managed.store.base import (
    AccountRecord,
    OAuthClientRecord,
    OAuthGrantRecord,
    OAuthTokenRecord,
    ServerRecord,
    Store,
)

WAIT_LIMIT = 5.0


def client(client_id: str = "smcp_client_1", expires_at: float | None = None) -> OAuthClientRecord:
    now = time.time()
    return OAuthClientRecord(
        client_id=client_id,
        name="Claude",
        redirect_uris=("https://claude.ai/api/mcp/auth_callback",),
        auth_method="none",
        secret_hash=None,
        grant_types=("authorization_code", "refresh_token"),
        client_uri=None,
        first_seen_at=now,
        expires_at=expires_at or now + 3600,
    )


def grant(grant_id: str, server_id: str = "srv_1", client_id: str = "smcp_client_1", **kw: float) -> OAuthGrantRecord:
    now = time.time()
    return OAuthGrantRecord(
        id=grant_id,
        server_id=server_id,
        client_id=client_id,
        resource=f"http://127.0.0.1:8000/mcp/{server_id}",
        scope="mcp",
        created_at=kw.get("created_at", now),
        expires_at=kw.get("expires_at", now + 3600),
    )


def token(secret: str, kind: str, grant_id: str | None, server_id: str = "srv_1", ttl: float = 3600):
    return OAuthTokenRecord(
        token_hash(secret), kind, server_id, "smcp_client_1", grant_id, time.time() + ttl, {"resource": "r"}
    )


async def with_servers(store: Store, *server_ids: str, account_id: str = "acct_1", expires_at: float | None = None):
    if await store.get_account(account_id) is None:
        await store.add_account(AccountRecord(account_id, "shop", b"ciphertext", "sk_test_...4242", 1000.0))
    for server_id in server_ids:
        config = {"auth": "oauth", "methods": ["read"], "tags": [], "tool_exposure": "all"}
        await store.add_server(
            ServerRecord(server_id, account_id, server_id, token_hash(server_id), config, expires_at, 2000.0)
        )


async def test_clients_are_put_read_and_replaced(store: Store) -> None:
    first = client()
    await store.oauth.put_client(first)
    assert await store.oauth.client("smcp_client_1") == first
    assert await store.oauth.client("smcp_client_unknown") is None
    renamed = OAuthClientRecord(**{**first.__dict__, "name": "Claude (renamed)", "document_stale_at": 5.0})
    await store.oauth.put_client(renamed)
    assert await store.oauth.client("smcp_client_1") == renamed


async def test_grants_are_listed_renewed_used_and_deleted(store: Store) -> None:
    await with_servers(store, "srv_1", "srv_2")
    now = time.time()
    await store.oauth.add_grant(grant("grant_b", created_at=now + 1))
    await store.oauth.add_grant(grant("grant_a", created_at=now))
    await store.oauth.add_grant(grant("grant_c", client_id="smcp_client_2", created_at=now + 2))
    await store.oauth.add_grant(grant("grant_other", server_id="srv_2"))
    assert [g.id for g in await store.oauth.grants("srv_1")] == ["grant_a", "grant_b", "grant_c"]
    assert [g.id for g in await store.oauth.grants("srv_2")] == ["grant_other"]

    await store.oauth.renew_grant("grant_a", now + 7200)
    await store.oauth.renew_grant("grant_a", now + 60)  # never earlier
    await store.oauth.grant_used("grant_a", now + 5)
    renewed = await store.oauth.grant("grant_a")
    assert renewed is not None and renewed.expires_at == now + 7200 and renewed.last_used_at == now + 5

    assert await store.oauth.delete_grants("srv_1", "smcp_client_2") == 1
    assert [g.id for g in await store.oauth.grants("srv_1")] == ["grant_a", "grant_b"]
    assert await store.oauth.delete_grant("grant_b") is True
    assert await store.oauth.delete_grant("grant_b") is False
    assert await store.oauth.delete_grants("srv_1") == 1
    assert await store.oauth.grants("srv_1") == []
    assert [g.id for g in await store.oauth.grants("srv_2")] == ["grant_other"]


async def test_a_token_is_used_once_even_when_raced(store: Store) -> None:
    await with_servers(store, "srv_1")
    await store.oauth.add_grant(grant("grant_1"))
    await store.oauth.add_token(token("smcp_rt_secret", "refresh", "grant_1"))
    found = await store.oauth.token(token_hash("smcp_rt_secret"))
    assert found is not None and found.kind == "refresh" and found.used_at is None and found.data == {"resource": "r"}
    results = await asyncio.gather(
        *(store.oauth.use_token(token_hash("smcp_rt_secret"), time.time()) for _ in range(20))
    )
    assert results.count(True) == 1
    used = await store.oauth.token(token_hash("smcp_rt_secret"))
    assert used is not None and used.used_at is not None
    assert await store.oauth.use_token(token_hash("smcp_rt_unknown"), time.time()) is False


async def test_deleting_a_grant_deletes_its_tokens(store: Store) -> None:
    await with_servers(store, "srv_1")
    await store.oauth.add_grant(grant("grant_1"))
    await store.oauth.add_grant(grant("grant_2"))
    await store.oauth.add_token(token("smcp_at_one", "access", "grant_1"))
    await store.oauth.add_token(token("smcp_rt_one", "refresh", "grant_1"))
    await store.oauth.add_token(token("smcp_at_two", "access", "grant_2"))
    await store.oauth.delete_grant("grant_1")
    assert await store.oauth.token(token_hash("smcp_at_one")) is None
    assert await store.oauth.token(token_hash("smcp_rt_one")) is None
    assert await store.oauth.token(token_hash("smcp_at_two")) is not None


async def test_revoking_a_server_deletes_its_grants_and_tokens(store: Store) -> None:
    await with_servers(store, "srv_1", "srv_2")
    await store.oauth.add_grant(grant("grant_1"))
    await store.oauth.add_grant(grant("grant_2", server_id="srv_2"))
    await store.oauth.add_token(token("smcp_at_one", "access", "grant_1"))
    await store.oauth.add_token(token("smcp_req_one", "request", None))
    await store.oauth.add_token(token("smcp_at_two", "access", "grant_2", server_id="srv_2"))
    assert await store.delete_server("acct_1", "srv_1") is True
    assert await store.oauth.grants("srv_1") == []
    assert await store.oauth.grant("grant_1") is None
    assert await store.oauth.token(token_hash("smcp_at_one")) is None
    assert await store.oauth.token(token_hash("smcp_at_two")) is not None
    assert [g.id for g in await store.oauth.grants("srv_2")] == ["grant_2"]


async def test_removing_an_account_deletes_the_grants_of_its_servers(store: Store) -> None:
    await with_servers(store, "srv_1")
    await store.oauth.add_grant(grant("grant_1"))
    await store.oauth.add_token(token("smcp_at_one", "access", "grant_1"))
    assert await store.delete_account("acct_1") is True
    assert await store.oauth.grant("grant_1") is None
    assert await store.oauth.token(token_hash("smcp_at_one")) is None


async def test_an_expired_server_takes_its_grants(store: Store) -> None:
    await with_servers(store, "srv_past", expires_at=time.time() - 1)
    await store.oauth.add_grant(grant("grant_1", server_id="srv_past"))
    await store.oauth.add_token(token("smcp_at_one", "access", "grant_1", server_id="srv_past"))
    await store.delete_expired_servers(time.time())
    assert await store.oauth.grant("grant_1") is None
    assert await store.oauth.token(token_hash("smcp_at_one")) is None


@pytest.mark.integration
async def test_expired_oauth_state_goes(store: Store) -> None:
    """Redis drops it by TTL alone; SQLite when the clean-up runs. Either way nothing expired is returned after."""
    await with_servers(store, "srv_1")
    soon = time.time() + 1.0
    await store.oauth.put_client(client("smcp_client_soon", expires_at=soon))
    await store.oauth.add_grant(grant("grant_soon", expires_at=soon))
    await store.oauth.add_token(token("smcp_at_soon", "access", None, ttl=1.0))
    deadline = time.monotonic() + WAIT_LIMIT
    while time.time() <= soon + 0.1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await store.oauth.delete_expired(time.time())
    assert await store.oauth.client("smcp_client_soon") is None
    assert await store.oauth.grant("grant_soon") is None
    assert await store.oauth.grants("srv_1") == []
    assert await store.oauth.token(token_hash("smcp_at_soon")) is None
