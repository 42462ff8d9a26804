"""One suite for the Store interface, run on both backends (SQLite and Redis) through `store`."""

from __future__ import annotations

import asyncio
import base64
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet

from stripe_mcp.managed import service
from stripe_mcp.managed.budgets import BudgetRule, BudgetTake
from stripe_mcp.managed.secrets import KeyBox, token_hash
from stripe_mcp.managed.store import open_store, sqlite_path
from stripe_mcp.managed.store.base import (
    AccountRecord,
    ApiTokenRecord,
    ServerHistoryRecord,
    ServerRecord,
    Store,
)
from stripe_mcp.tools.registry import Registry
from tests.support.redis_server import RunningRedis

API_KEY = "sk_test_StoreSuiteSecretKey4242"
WAIT_LIMIT = 5.0


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


def account(account_id: str, name: str = "shop", created_at: float = 1000.0) -> AccountRecord:
    return AccountRecord(account_id, name, b"ciphertext-" + account_id.encode(), "sk_test_...4242", created_at)


def server(
    server_id: str, account_id: str, token: str, expires_at: float | None = None, created_at: float = 2000.0
) -> ServerRecord:
    config = {"methods": ["read"], "tags": [], "require_api_token_auth": False, "tool_exposure": "all"}
    return ServerRecord(server_id, account_id, f"server {server_id}", token_hash(token), config, expires_at, created_at)


async def test_accounts(store: Store) -> None:
    assert await store.count_accounts() == 0
    assert await store.list_accounts() == []
    first, second = account("acct_1", "alpha", 1000.0), account("acct_2", "beta", 1001.0)
    await store.add_account(first)
    await store.add_account(second)
    assert await store.get_account("acct_1") == first
    assert await store.get_account("acct_missing") is None
    assert await store.find_account_by_name("beta") == second
    assert await store.find_account_by_name("nobody") is None
    assert await store.list_accounts() == [first, second]
    assert await store.count_accounts() == 2
    assert await store.delete_account("acct_1") is True
    assert await store.delete_account("acct_1") is False
    assert await store.get_account("acct_1") is None
    assert await store.find_account_by_name("alpha") is None
    assert await store.list_accounts() == [second]
    assert await store.count_accounts() == 1


async def test_find_by_name_returns_the_newest(store: Store) -> None:
    older, newer = account("acct_old", "default", 1000.0), account("acct_new", "default", 2000.0)
    await store.add_account(older)
    await store.add_account(newer)
    assert await store.find_account_by_name("default") == newer


async def test_find_by_name_after_deleting_the_newest_of_two(store: Store) -> None:
    older, newer = account("acct_old", "default", 1000.0), account("acct_new", "default", 2000.0)
    await store.add_account(older)
    await store.add_account(newer)
    assert await store.delete_account("acct_new") is True
    assert await store.find_account_by_name("default") == older


async def test_servers(store: Store) -> None:
    await store.add_account(account("acct_1"))
    await store.add_account(account("acct_2", "other", 1001.0))
    one, two = (
        server("srv_1", "acct_1", "tok-one", created_at=2000.0),
        server("srv_2", "acct_1", "tok-two", created_at=2001.0),
    )
    elsewhere = server("srv_3", "acct_2", "tok-three")
    for record in (one, two, elsewhere):
        await store.add_server(record)
    assert await store.server_by_token_hash(token_hash("tok-one")) == one
    assert await store.server_by_token_hash(token_hash("tok-unknown")) is None
    assert await store.list_servers("acct_1") == [one, two]
    assert await store.list_servers("acct_2") == [elsewhere]
    assert await store.list_servers("acct_missing") == []
    # Another account's server id is not this account's to delete.
    assert await store.delete_server("acct_2", "srv_1") is False
    assert await store.server_by_token_hash(token_hash("tok-one")) == one
    assert await store.delete_server("acct_1", "srv_1") is True
    assert await store.delete_server("acct_1", "srv_1") is False
    assert await store.server_by_token_hash(token_hash("tok-one")) is None
    assert await store.list_servers("acct_1") == [two]


async def test_deleting_an_account_deletes_its_servers(store: Store) -> None:
    await store.add_account(account("acct_1"))
    await store.add_account(account("acct_2", "other", 1001.0))
    await store.add_server(server("srv_1", "acct_1", "tok-one"))
    await store.add_server(server("srv_2", "acct_1", "tok-two"))
    await store.add_server(server("srv_3", "acct_2", "tok-three"))
    assert await store.delete_account("acct_1") is True
    assert await store.server_by_token_hash(token_hash("tok-one")) is None
    assert await store.server_by_token_hash(token_hash("tok-two")) is None
    assert await store.list_servers("acct_1") == []
    assert [s.id for s in await store.list_servers("acct_2")] == ["srv_3"]


async def test_expired_servers_are_deleted(store: Store) -> None:
    now = time.time()
    await store.add_account(account("acct_1"))
    await store.add_server(server("srv_past", "acct_1", "tok-past", expires_at=now - 30))
    await store.add_server(server("srv_future", "acct_1", "tok-future", expires_at=now + 3600))
    await store.add_server(server("srv_forever", "acct_1", "tok-forever"))
    assert await store.delete_expired_servers(time.time()) == 1
    assert await store.server_by_token_hash(token_hash("tok-past")) is None
    assert sorted(s.id for s in await store.list_servers("acct_1")) == ["srv_forever", "srv_future"]
    assert await store.delete_expired_servers(time.time()) == 0


@pytest.mark.integration
async def test_expiry_without_a_clean_up_run(store: Store, store_backend: str) -> None:
    """Redis drops an expired server by its key TTL alone; SQLite keeps it until delete_expired_servers."""
    await store.add_account(account("acct_1"))
    expires_at = time.time() + 1.2
    await store.add_server(server("srv_soon", "acct_1", "tok-soon", expires_at=expires_at))
    assert await store.server_by_token_hash(token_hash("tok-soon")) is not None
    deadline = time.monotonic() + WAIT_LIMIT
    while time.time() <= expires_at + 0.05:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    if store_backend == "redis":
        while await store.server_by_token_hash(token_hash("tok-soon")) is not None:
            assert time.monotonic() < deadline, "Redis kept the server past its expires_at"
            await asyncio.sleep(0.05)
    else:
        assert await store.server_by_token_hash(token_hash("tok-soon")) is not None
    await store.delete_expired_servers(time.time())
    assert await store.server_by_token_hash(token_hash("tok-soon")) is None
    assert await store.list_servers("acct_1") == []


async def test_api_tokens(store: Store) -> None:
    record = ApiTokenRecord("tok_1", token_hash("api-secret"), 1234.5)
    await store.add_api_token(record)
    assert await store.api_token_by_hash(token_hash("api-secret")) == record
    assert await store.api_token_by_hash(token_hash("api-other")) is None


async def test_setting_keeps_the_first_value(store: Store, store_url: str) -> None:
    other = open_store(store_url)
    try:
        assert await store.setting("session-secret", "first") == "first"
        assert await other.setting("session-secret", "second") == "first"
        assert await store.setting("session-secret", "third") == "first"
        assert await other.setting("another", "x") == "x"
    finally:
        await other.close()


async def test_take_budget_counts_a_sliding_window(store: Store) -> None:
    t0 = 1_000_000.0
    answers = [await store.take_budget("server:srv_1", 3, 10, t0 + index * 0.1) for index in range(4)]
    assert [(b.allowed, b.limit, b.remaining) for b in answers] == [
        (True, 3, 2),
        (True, 3, 1),
        (True, 3, 0),
        (False, 3, 0),
    ]
    assert all(b.reset_seconds == 10 for b in answers)  # the oldest call (t0) leaves the window at t0 + 10
    late = await store.take_budget("server:srv_1", 3, 10, t0 + 6.5)
    assert (late.allowed, late.remaining, late.reset_seconds) == (False, 0, 4)
    # Other keys have their own budget.
    other = await store.take_budget("account:acct_1", 3, 10, t0 + 6.5)
    assert (other.allowed, other.remaining) == (True, 2)
    # At t0 + 10 the oldest call has left the window: one place, and only one.
    freed = await store.take_budget("server:srv_1", 3, 10, t0 + 10.0)
    assert (freed.allowed, freed.remaining) == (True, 0)
    still = await store.take_budget("server:srv_1", 3, 10, t0 + 10.05)
    assert (still.allowed, still.reset_seconds) == (False, 1)  # t0 + 0.1 leaves at t0 + 10.1
    # Refused calls were not counted: once the counted ones have left, every place is back.
    back = await store.take_budget("server:srv_1", 3, 10, t0 + 20.0)
    assert (back.allowed, back.limit, back.remaining, back.reset_seconds) == (True, 3, 2, 10)


async def test_a_burst_across_a_window_edge_gets_the_limit_and_no_more(store: Store) -> None:
    """The boundary burst: with fixed windows, 50 calls per 10 s let 99 calls through in 0.58 s, half of them
    just before a multiple of 10 s and half just after. Any 10 s may hold 50 calls, not more."""
    edge = 1_000_010.0
    times = [edge - 0.29 + index * 0.0058 for index in range(100)]  # 100 calls in 0.58 s, the edge in the middle
    allowed = [at for at in times if (await store.take_budget("server:burst", 50, 10, at)).allowed]
    assert len(allowed) == 50
    assert allowed == times[:50]


async def test_a_call_is_let_through_exactly_when_its_window_has_room(store: Store) -> None:
    """400 calls at random intervals (bursts and pauses) against 5 calls per 2 s: each answer is what counting
    the calls let through in the 2 s before it says, so no 2 s ever hold more than 5 and none is refused
    while there is room."""
    chooser = random.Random(15)
    now, allowed = 2_000_000.0, []
    for _ in range(400):
        now += chooser.choice((0.001, 0.01, 0.1, 0.5, 1.5))
        room = sum(1 for at in allowed if at > now - 2) < 5
        budget = await store.take_budget("server:random", 5, 2, now)
        assert budget.allowed == room, (now, allowed[-5:])
        if budget.allowed:
            allowed.append(now)
    assert 100 < len(allowed) < 400


async def test_a_call_takes_all_its_budgets_or_none(store: Store) -> None:
    now = 3_000_000.0
    server_a, server_b, account_rule = BudgetRule(2, 60), BudgetRule(2, 60), BudgetRule(3, 60)

    def takes(server: str, rule: BudgetRule) -> list[BudgetTake]:
        return [BudgetTake(f"server:{server}", rule), BudgetTake("account:acct_1", account_rule)]

    assert [b.allowed for b in await store.take_budgets(takes("a", server_a), now)] == [True, True]
    assert [b.allowed for b in await store.take_budgets(takes("a", server_a), now + 1)] == [True, True]
    refused = await store.take_budgets(takes("a", server_a), now + 2)  # server a is full
    assert [(b.allowed, b.remaining) for b in refused] == [(False, 0), (False, 1)]
    # The refused call took nothing from the account: server b still gets its one remaining place.
    let_through = await store.take_budgets(takes("b", server_b), now + 3)
    assert [(b.allowed, b.remaining) for b in let_through] == [(True, 1), (True, 0)]
    full = await store.take_budgets(takes("b", server_b), now + 4)
    assert [(b.allowed, b.remaining, b.reset_seconds) for b in full] == [(False, 1, 59), (False, 0, 56)]


async def test_budget_is_shared_by_two_connections(store: Store, store_url: str) -> None:
    """Redis shares every call at once; processes on one SQLite file share theirs at each flush."""
    other = open_store(store_url)
    try:
        now = 2_000_000.0
        assert (await store.take_budget("server:s", 2, 60, now)).allowed
        await store.flush()
        await other.flush()
        assert (await other.take_budget("server:s", 2, 60, now)).allowed
        await other.flush()
        await store.flush()
        assert not (await store.take_budget("server:s", 2, 60, now)).allowed
        assert not (await other.take_budget("server:s", 2, 60, now)).allowed
    finally:
        await other.close()


async def test_a_restart_keeps_everything(store_url: str) -> None:
    first = open_store(store_url)
    acct, srv = account("acct_1"), server("srv_1", "acct_1", "tok-one", expires_at=time.time() + 3600)
    api = ApiTokenRecord("tok_1", token_hash("api-secret"), 1.0)
    try:
        await first.add_account(acct)
        await first.add_server(srv)
        await first.add_api_token(api)
        assert await first.setting("k", "v1") == "v1"
        await first.take_budget("server:srv_1", 5, 3600, 7200.0)
        await first.record_call("srv_1", 7300.0)
    finally:
        await first.close()  # writes what was counted in memory
    second = open_store(store_url)
    try:
        assert await second.list_accounts() == [acct]
        assert await second.count_accounts() == 1
        assert await second.find_account_by_name("shop") == acct
        assert await second.server_by_token_hash(token_hash("tok-one")) == srv
        assert await second.list_servers("acct_1") == [srv]
        assert await second.api_token_by_hash(token_hash("api-secret")) == api
        assert await second.setting("k", "v2") == "v1"
        assert (await second.take_budget("server:srv_1", 5, 3600, 7200.0)).remaining == 3
        assert await second.server_usage("srv_1", 7400.0) == (7300.0, 1)
    finally:
        await second.close()


def _sqlite_bytes(url: str) -> bytes:
    path = sqlite_path(url)
    assert path is not None
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def _redis_bytes(url: str) -> bytes:
    """Every key of every database, and every value read by its type."""
    dump: list[bytes] = []
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        databases = {int(name[2:]) for name in client.info("keyspace")}
    finally:
        client.close()
    assert databases, "Redis holds no key at all"
    base = url.rsplit("/", 1)[0]
    for db in sorted(databases):
        client = redis.Redis.from_url(f"{base}/{db}", socket_timeout=5)
        try:
            for key in client.scan_iter(count=100):
                dump.append(key)
                kind = client.type(key)
                if kind == b"string":
                    dump.append(client.get(key) or b"")
                elif kind == b"hash":
                    for field, value in client.hgetall(key).items():
                        dump += [field, value]
                elif kind == b"zset":
                    for member, score in client.zrange(key, 0, -1, withscores=True):
                        dump += [member, repr(score).encode()]
                elif kind == b"set":
                    dump += list(client.smembers(key))
                elif kind == b"list":
                    dump += client.lrange(key, 0, -1)
                else:
                    raise AssertionError(f"unexpected Redis type {kind!r} at {key!r}")
        finally:
            client.close()
    return b"\n".join(dump)


async def test_no_plain_secret_at_rest(store: Store, store_url: str, store_backend: str, registry: Registry) -> None:
    keys = KeyBox(Fernet.generate_key())
    created_account = await service.create_account(store, keys, "shop", API_KEY)
    created = await service.create_server(store, registry, created_account.id, "support", {"methods": ["read"]})
    api_record, api_token = await service.create_api_token(store)
    stored = await store.get_account(created_account.id)
    assert stored is not None and keys.decrypt(stored.encrypted_key) == API_KEY

    dump = _sqlite_bytes(store_url) if store_backend == "sqlite" else _redis_bytes(store_url)
    for secret in (API_KEY, created.token, api_token):
        assert secret.encode() not in dump
    # The key's last characters are only shown as a hint; the secret part never is.
    assert API_KEY.split("_", 2)[2][:-4].encode() not in dump
    assert created.record.token_hash.encode() in dump
    assert api_record.token_hash.encode() in dump
    ciphertext = stored.encrypted_key
    assert ciphertext in dump or base64.b64encode(ciphertext) in dump


async def test_admin_flag_of_api_tokens(store: Store, store_url: str) -> None:
    plain, admin = (
        ApiTokenRecord("tok_1", token_hash("plain"), 1.0),
        ApiTokenRecord("tok_2", token_hash("admin"), 2.0, admin=True),
    )
    await store.add_api_token(plain)
    await store.add_api_token(admin)
    assert await store.api_token_by_hash(token_hash("plain")) == plain
    assert (await store.api_token_by_hash(token_hash("plain"))).admin is False
    assert (await store.api_token_by_hash(token_hash("admin"))).admin is True
    reopened = open_store(store_url)
    try:
        assert await reopened.api_token_by_hash(token_hash("admin")) == admin
    finally:
        await reopened.close()


async def test_usage_counts_the_calls_of_the_last_24_hours(store: Store) -> None:
    hour = 3600.0
    now = 500_000 * hour + 1800.0  # half past some hour
    await store.add_account(account("acct_1"))
    await store.add_server(server("srv_1", "acct_1", "tok-one"))
    await store.add_server(server("srv_2", "acct_1", "tok-two"))
    assert await store.server_usage("srv_1", now) == (None, 0)
    await store.record_call("srv_1", now - 30 * hour)  # outside the window
    await store.record_call("srv_1", now - 23 * hour)  # the oldest bucket still counted
    await store.record_call("srv_1", now - 2 * hour)
    await store.record_call("srv_1", now - 60)
    await store.record_call("srv_1", now - 120)  # out of order: last used stays the latest
    assert await store.server_usage("srv_1", now) == (now - 60, 4)
    assert await store.server_usage("srv_2", now) == (None, 0)
    # A day later the counts are gone but the time of the last call stays.
    assert await store.server_usage("srv_1", now + 25 * hour) == (now - 60, 0)
    await store.record_call("srv_2", now)
    assert await store.server_usage("srv_2", now) == (now, 1)
    assert await store.server_usage("srv_1", now) == (now - 60, 4)


async def test_usage_is_shared_by_two_connections(store: Store, store_url: str) -> None:
    other = open_store(store_url)
    try:
        now = 1_800_000_000.0
        await store.record_call("srv_1", now)
        await other.record_call("srv_1", now + 1)
        await store.record_call("srv_1", now + 2)
        # Each sees its own calls at once, the other's after that one flushes.
        assert await store.server_usage("srv_1", now + 3) == (now + 2, 2)
        await store.flush()
        await other.flush()
        assert await other.server_usage("srv_1", now + 3) == (now + 2, 3)
        assert await store.server_usage("srv_1", now + 3) == (now + 2, 3)
    finally:
        await other.close()


def history(record: ServerRecord, revoked_at: float | None = None) -> ServerHistoryRecord:
    return ServerHistoryRecord(
        record.id, record.account_id, record.name, record.config, record.created_at, record.expires_at, revoked_at
    )


@pytest.mark.integration
async def test_revoked_and_expired_servers_stay_in_the_history_and_stay_unresolvable(store: Store) -> None:
    now = time.time()
    await store.add_account(account("acct_1"))
    await store.add_account(account("acct_2", "other", 1001.0))
    revoked = server("srv_revoked", "acct_1", "tok-revoked", created_at=2000.0)
    expired = server("srv_expired", "acct_1", "tok-expired", expires_at=now + 0.5, created_at=2001.0)
    live = server("srv_live", "acct_1", "tok-live", created_at=2002.0)
    other = server("srv_other", "acct_2", "tok-other")
    for record in (revoked, expired, live, other):
        await store.add_server(record)
    assert await store.delete_server("acct_1", "srv_revoked", revoked_at=now) is True
    await asyncio.sleep(0.6)  # Redis drops the expired record by its TTL
    await store.delete_expired_servers(time.time())

    assert await store.list_server_history("acct_1") == [history(revoked, now), history(expired), history(live)]
    assert await store.list_server_history("acct_2") == [history(other)]
    # History is not a way back in: neither URL resolves, and only the live server is listed.
    assert await store.server_by_token_hash(token_hash("tok-revoked")) is None
    assert await store.server_by_token_hash(token_hash("tok-expired")) is None
    assert [s.id for s in await store.list_servers("acct_1")] == ["srv_live"]
    ended = await service.ended_servers(store, "acct_1", time.time())
    assert [h.id for h in ended] == ["srv_expired", "srv_revoked"]  # the latest to end first

    assert await store.delete_account("acct_1") is True
    assert await store.list_server_history("acct_1") == []
    assert await store.list_server_history("acct_2") == [history(other)]


async def test_a_sqlite_store_from_before_the_history_gets_its_servers_into_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    made = open_store(f"sqlite:///{path}")
    await made.add_account(account("acct_1"))
    old = server("srv_old", "acct_1", "tok-old")
    await made.add_server(old)
    await made.close()
    with sqlite3.connect(path) as db:  # as a store made before server_history existed
        db.execute("DROP TABLE server_history")

    reopened = open_store(f"sqlite:///{path}")
    try:
        assert await reopened.list_server_history("acct_1") == [history(old)]
        assert await reopened.delete_server("acct_1", "srv_old", revoked_at=3000.0) is True
        assert await reopened.list_server_history("acct_1") == [history(old, 3000.0)]
    finally:
        await reopened.close()


async def test_stored_setting_reads_without_storing(store: Store) -> None:
    assert await store.stored_setting("encryption-key-id") is None
    assert await store.stored_setting("encryption-key-id") is None
    assert await store.setting("encryption-key-id", "abc") == "abc"
    assert await store.stored_setting("encryption-key-id") == "abc"


async def test_usage_goes_with_its_server(store: Store) -> None:
    now = time.time()
    await store.add_account(account("acct_1"))
    await store.add_account(account("acct_2", "other", 1001.0))
    await store.add_server(server("srv_revoked", "acct_1", "tok-revoked"))
    await store.add_server(server("srv_expired", "acct_1", "tok-expired", expires_at=now - 10))
    await store.add_server(server("srv_kept", "acct_1", "tok-kept"))
    await store.add_server(server("srv_other", "acct_2", "tok-other"))
    for server_id in ("srv_revoked", "srv_expired", "srv_kept", "srv_other"):
        await store.record_call(server_id, now - 20)
    assert await store.delete_server("acct_1", "srv_revoked") is True
    assert await store.delete_expired_servers(now) == 1
    assert await store.server_usage("srv_revoked", now) == (None, 0)
    assert await store.server_usage("srv_expired", now) == (None, 0)
    assert await store.server_usage("srv_kept", now) == (now - 20, 1)
    assert await store.delete_account("acct_1") is True
    assert await store.server_usage("srv_kept", now) == (None, 0)
    assert await store.server_usage("srv_other", now) == (now - 20, 1)


USAGE_TEST_DB = 5  # a database of its own on the shared redis-server


@pytest.mark.integration
async def test_a_usage_read_during_a_flush_counts_the_calls_being_written(
    redis_service: RunningRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's calls in 24 h, read while a flush is writing the pending calls to Redis: for that moment they
    are in neither the pending counts nor Redis, and the read must still count them. (SQLite's flush does not
    await between the two.) The flush's commands are held back 50 ms, as a slow network would."""
    redis_service.flush(USAGE_TEST_DB)
    store = open_store(redis_service.url(USAGE_TEST_DB))
    real_pipeline = store._redis.pipeline  # type: ignore[attr-defined]
    flushing = [False]

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        made = real_pipeline(*args, **kwargs)
        if flushing[0]:  # the first pipeline of each round: the flush's, which gather starts first
            flushing[0] = False
            execute = made.execute

            async def late_execute(*a: Any, **k: Any) -> Any:
                await asyncio.sleep(0.05)
                return await execute(*a, **k)

            made.execute = late_execute
        return made

    monkeypatch.setattr(store._redis, "pipeline", pipeline)  # type: ignore[attr-defined]
    now = 1_700_000_000.0
    try:
        for calls in range(1, 6):
            await store.record_call("srv_1", now)
            flushing[0] = True
            _, usage = await asyncio.gather(store.flush(), store.server_usage("srv_1", now))
            assert usage == (now, calls)
    finally:
        await store.close()
