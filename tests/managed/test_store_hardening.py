"""What the store gained for the hardening round, on both backends (`store`): API tokens listed, revoked and
touched, revocations that outlive a restart, the sign-in throttle; and the service rules on top of them."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from stripe_mcp.managed import service
from stripe_mcp.managed.secrets import KeyBox, token_hash
from stripe_mcp.managed.store import open_store
from stripe_mcp.managed.store.base import AccountRecord, ApiTokenRecord, Store, ThrottleRule
from stripe_mcp.managed.times import LATEST_TIMESTAMP
from stripe_mcp.tools.filters import PolicyError
from stripe_mcp.tools.registry import Registry

NOW = 1_800_000_000.0
RULE = ThrottleRule(free=3, max_delay=8.0, forget_after=100.0)


async def test_api_tokens_are_listed_revoked_and_touched(store: Store, store_url: str) -> None:
    first = ApiTokenRecord("tok_a", token_hash("a"), 1.0)
    scoped = ApiTokenRecord("tok_b", token_hash("b"), 2.0, account_id="acct_1", expires_at=NOW + 3600)
    await store.add_api_token(scoped)
    await store.add_api_token(first)
    assert await store.list_api_tokens() == [first, scoped]  # oldest first
    assert await store.api_token_by_hash(token_hash("b")) == scoped  # account and expiry kept
    await store.touch_api_token("tok_b", NOW)
    await store.touch_api_token("tok_b", NOW - 50)  # a replica's older use does not move it back
    reopened = open_store(store_url)
    try:
        assert await reopened.list_api_tokens() == [first, replace(scoped, last_used_at=NOW)]
        assert await reopened.delete_api_token("tok_b") is True
        assert await store.api_token_by_hash(token_hash("b")) is None  # gone for every connection
        assert await store.delete_api_token("tok_b") is False
        assert [t.id for t in await store.list_api_tokens()] == ["tok_a"]
    finally:
        await reopened.close()


async def test_revocations_hold_until_they_lapse_and_across_a_restart(store: Store, store_url: str) -> None:
    now = time.time()
    await store.add_revocation("server:forever", now, None)
    await store.add_revocation("session:s1", now, now + 3600)
    await store.add_revocation("session:gone", now - 10, now - 1)
    reopened = open_store(store_url)
    try:
        assert await reopened.revocation("server:forever", time.time()) == now
        assert await reopened.revocation("session:s1", time.time()) == now
        assert await reopened.revocation("session:gone", time.time()) is None
        assert await reopened.revocation("never", time.time()) is None
    finally:
        await reopened.close()


async def test_the_sign_in_throttle_lets_a_few_through_then_doubles_the_wait(store: Store) -> None:
    assert [await store.take_sign_in_attempt("ip", NOW, RULE) for _ in range(RULE.free)] == [0.0] * RULE.free
    assert await store.take_sign_in_attempt("ip", NOW, RULE) == pytest.approx(1.0)  # after the 3rd: wait 1 s
    assert await store.take_sign_in_attempt("ip", NOW + 0.5, RULE) == pytest.approx(0.5)  # not counted
    assert await store.take_sign_in_attempt("ip", NOW + 1, RULE) == 0.0  # the 4th: then wait 2 s
    assert await store.take_sign_in_attempt("ip", NOW + 2, RULE) == pytest.approx(1.0)
    assert await store.take_sign_in_attempt("ip", NOW + 3, RULE) == 0.0  # the 5th: then 4 s
    assert await store.take_sign_in_attempt("ip", NOW + 7, RULE) == 0.0  # the 6th: then 8 s (the cap)
    assert await store.take_sign_in_attempt("ip", NOW + 15, RULE) == 0.0  # the 7th: still 8 s
    assert await store.take_sign_in_attempt("ip", NOW + 16, RULE) == pytest.approx(7.0)
    assert await store.take_sign_in_attempt("other ip", NOW + 16, RULE) == 0.0  # per key
    await store.clear_sign_in_attempts("ip")  # a correct token
    assert await store.take_sign_in_attempt("ip", NOW + 16, RULE) == 0.0


async def test_the_sign_in_throttle_forgets_a_quiet_key(store: Store, store_backend: str) -> None:
    if store_backend == "redis":
        pytest.skip("Redis forgets by TTL in real time; the SQLite store compares the times it is given")
    for _ in range(RULE.free + 1):
        await store.take_sign_in_attempt("ip", NOW, RULE)
    assert await store.take_sign_in_attempt("ip", NOW, RULE) > 0
    assert await store.take_sign_in_attempt("ip", NOW + RULE.forget_after + 1, RULE) == 0.0


# --------------------------------------------------------------------------- the service's rules


async def test_api_token_scope_expiry_and_revocation(store: Store) -> None:
    await store.add_account(AccountRecord("acct_1", "shop", b"x", "sk_test_...1", 1.0))
    with pytest.raises(PolicyError, match="no integrated account"):
        await service.create_api_token(store, account_id="acct_nope")
    with pytest.raises(PolicyError, match="cannot be limited"):
        await service.create_api_token(store, admin=True, account_id="acct_1")
    for too_soon_or_late in (NOW + 30, NOW - 1, LATEST_TIMESTAMP + 1):
        with pytest.raises(PolicyError, match="expires_at"):
            await service.create_api_token(store, expires_at=too_soon_or_late, now=NOW)
    assert await store.list_api_tokens() == []  # nothing made by a refusal

    record, token = await service.create_api_token(store, account_id="acct_1", expires_at=NOW + 3600, now=NOW)
    assert (await service.api_token(store, token, NOW + 3599)) == record
    assert await service.api_token(store, token, NOW + 3600) is None  # expired: refused
    assert service.token_opens(record, "acct_1") and not service.token_opens(record, "acct_2")
    assert [t.id for t in await service.list_api_tokens(store, NOW)] == [record.id]
    assert await service.list_api_tokens(store, NOW + 3600) == []  # an expired token is not listed
    assert await service.revoke_api_token(store, record.id) is True
    assert await service.api_token(store, token, NOW) is None


async def test_deleting_an_account_deletes_its_tokens(store: Store) -> None:
    await store.add_account(AccountRecord("acct_1", "shop", b"x", "sk_test_...1", 1.0))
    scoped, _ = await service.create_api_token(store, account_id="acct_1")
    everywhere, _ = await service.create_api_token(store)
    assert await service.delete_account(store, "acct_1") is True
    assert [t.id for t in await store.list_api_tokens()] == [everywhere.id]
    assert scoped.id != everywhere.id


async def test_revoking_the_default_server_is_remembered(store: Store, tmp_path: Path) -> None:
    registry = Registry()
    keys = KeyBox.create_key_file(tmp_path / "key")
    account = await service.create_account(store, keys, "default", "sk_test_default_0000")
    token = service.default_server_token(keys, account.id)
    default = await service.create_server(store, registry, account.id, "default", {"methods": ["read"]}, token=token)
    other = await service.create_server(store, registry, account.id, "other", {"methods": ["read"]})
    key = service.default_server_revocation(account.id)
    assert await service.revoke_server(store, account.id, other.record.id, keys=keys) is True
    assert await store.revocation(key, time.time()) is None  # only the derived URL can come back
    assert await service.revoke_server(store, account.id, default.record.id, keys=keys) is True
    assert await store.revocation(key, time.time()) is not None


async def test_the_sqlite_store_says_which_errors_mean_unavailable(tmp_path: Path) -> None:
    corrupt = tmp_path / "store.sqlite3"
    corrupt.write_bytes(b"this is not a database" * 100)
    working = open_store(f"sqlite:///{tmp_path / 'ok.sqlite3'}")
    try:
        with pytest.raises(working.unavailable):
            open_store(f"sqlite:///{corrupt}")
        assert any(issubclass(sqlite3.OperationalError, kind) for kind in working.unavailable)
    finally:
        await working.close()
