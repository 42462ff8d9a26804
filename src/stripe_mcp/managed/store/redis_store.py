"""The store for several replicas: Redis through redis-py's asyncio client.

Keys (prefix `stripe-mcp:`):
- `account:<id>` hash, `accounts` and `account-name:<name>` sorted sets of ids by creation time;
- `server:<token hash>` JSON, expiring at the server's `expires_at` (Redis deletes it then);
  `servers:<account id>` hash server id -> token hash;
- `api-token:<hash>` JSON, `api-tokens` hash token id -> hash, `api-token-used` sorted set id -> time of last use;
  `setting:<key>`;
- `budget:<key>` sorted set of the calls a budget let through (member: replica and call number, score:
  its time) within its window, expiring a window after the latest;
- `server-history:<account id>` hash server id -> JSON of the server as made, plus `revoked_at` once revoked
  (never a token hash); kept when the server expires or is revoked, dropped with the account;
- `usage:<server id>` hash hour -> calls, expiring USAGE_HOURS + 1 hours after the latest call;
  `usage-last` sorted set server id -> time of its latest call;
- `revoked:<key>` the time of a revocation, expiring when it stops mattering; `sign-in:<key>` hash of a client's
  sign-in attempts (`attempts`, `next_at`), expiring `forget_after` seconds after the latest;
- `approval:<id>` hash (record JSON, revision), changed only by compare-and-set scripts;
  `approvals:<account id>` sorted set of approval ids by creation time;
- OAuth clients, grants and tokens: see `redis_oauth`.

A tool call takes its budgets in one round trip (a script: exact across replicas, managed/budgets.py);
its usage is counted in memory (usage.py) and written by `flush`, one pipeline for all servers.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace

import redis.asyncio as redis

from stripe_mcp.managed.budgets import Budget, BudgetRule, BudgetTake, budget_after
from stripe_mcp.managed.store.base import (
    LISTED_APPROVALS,
    USAGE_HOURS,
    AccountRecord,
    ApiTokenRecord,
    ServerHistoryRecord,
    ServerRecord,
    ThrottleRule,
)
from stripe_mcp.managed.store.redis_oauth import RedisOAuthStore
from stripe_mcp.managed.store.usage import PendingUsage
from stripe_mcp.tools.approvals import Approval

PREFIX = "stripe-mcp:"
# take_sign_in_attempt, atomically: refuse while the key must wait, else count the attempt and set the wait after
# it (ThrottleRule.delay). ARGV: now, free, max_delay, forget_after.
SIGN_IN_ATTEMPT = """
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts')) or 0
local next_at = tonumber(redis.call('HGET', KEYS[1], 'next_at')) or 0
local now, free = tonumber(ARGV[1]), tonumber(ARGV[2])
if attempts >= free and now < next_at then return tostring(next_at - now) end
attempts = attempts + 1
local delay = 0
if attempts >= free then delay = math.min(2 ^ math.min(attempts - free, 30), tonumber(ARGV[3])) end
redis.call('HSET', KEYS[1], 'attempts', attempts, 'next_at', tostring(now + delay))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return '0'
"""

# KEYS: the budgets' sorted sets. ARGV: now, this call's member, then per key its limit and window.
# Returns 1 or 0 (let through or not), then per key the calls counted before this one and the time of
# the counted call whose leaving frees a place (budgets.freeing_index; "" for none). Let through, the
# call is added to every set; refused, to none.
TAKE_BUDGETS = """
local now = tonumber(ARGV[1])
local used, allowed = {}, 1
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  used[i] = redis.call('ZCARD', key)
  if used[i] >= tonumber(ARGV[1 + 2 * i]) then allowed = 0 end
end
local answer = {allowed}
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local index = 0
  if allowed == 0 then index = math.max(0, used[i] - limit) end
  local freeing = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
  if allowed == 1 then
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('PEXPIRE', key, math.ceil(window * 1000))
  end
  table.insert(answer, used[i])
  table.insert(answer, freeing[2] or '')
end
return answer
"""
# KEYS: the approval, the account's index; ARGV: record, revision, created_at, id. 1 if added.
ADD_APPROVAL = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'revision', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""
# KEYS: the approval; ARGV: record, its revision, the revision it replaces. 1 if replaced.
REPLACE_APPROVAL = """
if redis.call('HGET', KEYS[1], 'revision') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'revision', ARGV[2])
return 1
"""


def _text(value: object) -> str:
    """A reply as the str it is: decode_responses=True decodes every reply, which redis-py's types cannot say."""
    if not isinstance(value, str):
        raise TypeError(f"redis replied {type(value).__name__}, not str")
    return value


class RedisStore:
    unavailable: tuple[type[Exception], ...] = (redis.RedisError, OSError)  # down, timing out, out of memory

    def __init__(self, url: str) -> None:
        self.url = url
        self._tokens_indexed = False  # api-tokens holds the tokens made before it existed too
        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, socket_timeout=5)
        self.oauth = RedisOAuthStore(self._redis, self._key)
        self._take_budgets = self._redis.register_script(TAKE_BUDGETS)
        self._calls = (f"{uuid.uuid4().hex}:{n}" for n in itertools.count())  # unique budget-set members
        self._usage = PendingUsage()
        # Held by a flush from taking the pending usage until Redis has it, and by a read of usage: a read in
        # between would find the calls in neither place.
        self._usage_written = asyncio.Lock()
        self._add_approval = self._redis.register_script(ADD_APPROVAL)
        self._replace_approval = self._redis.register_script(REPLACE_APPROVAL)

    def _key(self, *parts: str) -> str:
        return PREFIX + ":".join(parts)

    # Accounts -----------------------------------------------------------------------------------

    async def add_account(self, record: AccountRecord) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._key("account", record.id),
                mapping={
                    "name": record.name,
                    "encrypted_key": base64.b64encode(record.encrypted_key).decode(),
                    "key_hint": record.key_hint,
                    "created_at": repr(record.created_at),
                },
            )
            pipe.zadd(self._key("accounts"), {record.id: record.created_at})
            pipe.zadd(self._key("account-name", record.name), {record.id: record.created_at})
            await pipe.execute()

    async def get_account(self, account_id: str) -> AccountRecord | None:
        raw = await self._redis.hgetall(self._key("account", account_id))
        if not raw:
            return None
        return AccountRecord(
            id=account_id,
            name=_text(raw["name"]),
            encrypted_key=base64.b64decode(raw["encrypted_key"]),
            key_hint=_text(raw["key_hint"]),
            created_at=float(raw["created_at"]),
        )

    async def find_account_by_name(self, name: str) -> AccountRecord | None:
        newest = await self._redis.zrange(self._key("account-name", name), -1, -1)
        return await self.get_account(_text(newest[0])) if newest else None

    async def list_accounts(self) -> list[AccountRecord]:
        ids = await self._redis.zrange(self._key("accounts"), 0, -1)
        accounts = [await self.get_account(_text(account_id)) for account_id in ids]
        return [a for a in accounts if a is not None]

    async def count_accounts(self) -> int:
        return await self._redis.zcard(self._key("accounts"))

    async def delete_account(self, account_id: str) -> bool:
        account = await self.get_account(account_id)
        if account is None:
            return False
        entries = await self._redis.hgetall(self._key("servers", account_id))
        approvals = await self._redis.zrange(self._key("approvals", account_id), 0, -1)
        async with self._redis.pipeline(transaction=True) as pipe:
            for approval_id in approvals:
                pipe.delete(self._key("approval", _text(approval_id)))
            pipe.delete(self._key("approvals", account_id))
            for token_hash in entries.values():
                pipe.delete(self._key("server", _text(token_hash)))
            if entries:
                pipe.zrem(self._key("usage-last"), *entries)
                pipe.delete(*(self._key("usage", _text(server_id)) for server_id in entries))
            pipe.delete(
                self._key("servers", account_id),
                self._key("account", account_id),
                self._key("server-history", account_id),
            )
            pipe.zrem(self._key("accounts"), account_id)
            pipe.zrem(self._key("account-name", account.name), account_id)
            await pipe.execute()
        for server_id in entries:
            await self.oauth.forget_server(_text(server_id))
        self._usage.forget(map(_text, entries))
        return True

    # Servers ------------------------------------------------------------------------------------

    async def add_server(self, record: ServerRecord) -> None:
        value = json.dumps(
            {
                "id": record.id,
                "account_id": record.account_id,
                "name": record.name,
                "config": record.config,
                "expires_at": record.expires_at,
                "created_at": record.created_at,
            },
            sort_keys=True,
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key("server", record.token_hash), value)
            if record.expires_at is not None:
                pipe.pexpireat(self._key("server", record.token_hash), math.ceil(record.expires_at * 1000))
            pipe.hset(self._key("servers", record.account_id), record.id, record.token_hash)
            pipe.hset(self._key("server-history", record.account_id), record.id, _history_json(record, None))
            await pipe.execute()

    async def server_by_token_hash(self, token_hash: str) -> ServerRecord | None:
        raw = await self._redis.get(self._key("server", token_hash))
        if raw is None:
            return None
        data = json.loads(raw)
        return ServerRecord(
            id=data["id"],
            account_id=data["account_id"],
            name=data["name"],
            token_hash=token_hash,
            config=data["config"],
            expires_at=data["expires_at"],
            created_at=data["created_at"],
        )

    async def list_servers(self, account_id: str) -> list[ServerRecord]:
        hashes = await self._redis.hgetall(self._key("servers", account_id))
        servers = [await self.server_by_token_hash(_text(h)) for h in hashes.values()]
        return sorted((s for s in servers if s is not None), key=lambda s: (s.created_at, s.id))

    async def delete_server(self, account_id: str, server_id: str, revoked_at: float | None = None) -> bool:
        token_hash = await self._redis.hget(self._key("servers", account_id), server_id)
        if token_hash is None:
            return False
        record = await self.server_by_token_hash(_text(token_hash))
        async with self._redis.pipeline(transaction=True) as pipe:
            if record is not None:  # written again whole: a server made before the history was kept gets one too
                revoked = time.time() if revoked_at is None else revoked_at
                pipe.hset(self._key("server-history", account_id), server_id, _history_json(record, revoked))
            pipe.delete(self._key("server", _text(token_hash)))
            pipe.hdel(self._key("servers", account_id), server_id)
            pipe.zrem(self._key("usage-last"), server_id)
            pipe.delete(self._key("usage", server_id))
            await pipe.execute()
        await self.oauth.forget_server(server_id)
        self._usage.forget([server_id])
        return True

    async def list_server_history(self, account_id: str) -> list[ServerHistoryRecord]:
        entries = await self._redis.hgetall(self._key("server-history", account_id))
        history = []
        for server_id, raw in entries.items():
            data = json.loads(raw)
            history.append(
                ServerHistoryRecord(
                    id=_text(server_id),
                    account_id=account_id,
                    name=data["name"],
                    config=data["config"],
                    created_at=data["created_at"],
                    expires_at=data["expires_at"],
                    revoked_at=data["revoked_at"],
                )
            )
        return sorted(history, key=lambda h: (h.created_at, h.id))

    async def delete_expired_servers(self, now: float) -> int:
        """Redis already dropped the expired records; forget their entries in the account indexes."""
        removed = 0
        for account_id in map(_text, await self._redis.zrange(self._key("accounts"), 0, -1)):
            entries = await self._redis.hgetall(self._key("servers", account_id))
            for server_id, token_hash in entries.items():
                if not await self._redis.exists(self._key("server", _text(token_hash))):
                    removed += await self._redis.hdel(self._key("servers", account_id), server_id)
                    await self._redis.zrem(self._key("usage-last"), server_id)
                    await self._redis.delete(self._key("usage", _text(server_id)))
                    await self.oauth.forget_server(_text(server_id))
                    self._usage.forget([_text(server_id)])
        return removed

    # Usage --------------------------------------------------------------------------------------

    async def record_call(self, server_id: str, now: float) -> None:
        self._usage.add(server_id, now)

    async def server_usage(self, server_id: str, now: float) -> tuple[float | None, int]:
        hour = int(now // 3600)
        hours = [str(h) for h in range(hour - USAGE_HOURS + 1, hour + 1)]
        async with self._usage_written:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zscore(self._key("usage-last"), server_id)
                pipe.hmget(self._key("usage", server_id), hours)
                last_at, counts = await pipe.execute()
            stored = (None if last_at is None else float(last_at)), sum(int(c) for c in counts if c is not None)
            return self._usage.added_to(server_id, now, stored)

    async def flush(self) -> None:
        async with self._usage_written:
            await self._flush_usage()

    async def _flush_usage(self) -> None:
        usage = self._usage.take()
        if not usage:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for server_id, calls in usage.calls.items():
                    counters, newest = self._key("usage", server_id), max(calls)
                    for hour, count in calls.items():
                        pipe.hincrby(counters, str(hour), count)
                    # Buckets that left the window go (a longer pause lets the whole hash expire).
                    pipe.hdel(counters, *(str(h) for h in range(newest - 2 * USAGE_HOURS, newest - USAGE_HOURS + 1)))
                    pipe.expire(counters, (USAGE_HOURS + 1) * 3600)
                    # Replicas' calls land in any order.
                    pipe.zadd(self._key("usage-last"), {server_id: usage.last_at[server_id]}, gt=True)
                await pipe.execute()
        except BaseException:
            self._usage.merge(usage)  # kept for the next flush
            raise

    # API tokens, settings, budgets --------------------------------------------------------------

    async def add_api_token(self, record: ApiTokenRecord) -> None:
        value = {
            "id": record.id,
            "created_at": record.created_at,
            "admin": record.admin,
            "account_id": record.account_id,
            "expires_at": record.expires_at,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key("api-token", record.token_hash), json.dumps(value))
            pipe.hset(self._key("api-tokens"), record.id, record.token_hash)
            await pipe.execute()

    async def api_token_by_hash(self, token_hash: str) -> ApiTokenRecord | None:
        raw = await self._redis.get(self._key("api-token", token_hash))
        return None if raw is None else _api_token(token_hash, _text(raw))

    async def list_api_tokens(self) -> list[ApiTokenRecord]:
        await self._index_api_tokens()
        hashes = {_text(k): _text(v) for k, v in (await self._redis.hgetall(self._key("api-tokens"))).items()}
        if not hashes:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.mget([self._key("api-token", h) for h in hashes.values()])
            pipe.zmscore(self._key("api-token-used"), list(hashes))
            raws, used = await pipe.execute()
        records = [
            replace(_api_token(token_hash, _text(raw)), last_used_at=None if last is None else float(last))
            for token_hash, raw, last in zip(hashes.values(), raws, used, strict=True)
            if raw is not None
        ]
        return sorted(records, key=lambda r: (r.created_at, r.id))

    async def delete_api_token(self, token_id: str) -> bool:
        await self._index_api_tokens()
        token_hash = await self._redis.hget(self._key("api-tokens"), token_id)
        if token_hash is None:
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key("api-token", _text(token_hash)))
            pipe.hdel(self._key("api-tokens"), token_id)
            pipe.zrem(self._key("api-token-used"), token_id)
            await pipe.execute()
        return True

    async def touch_api_token(self, token_id: str, now: float) -> None:
        await self._redis.zadd(self._key("api-token-used"), {token_id: now}, gt=True)

    async def _index_api_tokens(self) -> None:
        """Once per process: index the tokens a store made before `api-tokens` existed, so they can be listed."""
        if self._tokens_indexed:
            return
        async for key in self._redis.scan_iter(match=self._key("api-token", "*"), count=1000):
            raw = await self._redis.get(key)
            if raw is not None:
                token_id = json.loads(raw)["id"]
                await self._redis.hsetnx(self._key("api-tokens"), token_id, _text(key).rsplit(":", 1)[1])
        self._tokens_indexed = True

    # Revocations and the sign-in throttle --------------------------------------------------------

    async def add_revocation(self, key: str, revoked_at: float, until: float | None) -> None:
        await self._redis.set(
            self._key("revoked", key), repr(revoked_at), exat=None if until is None else math.ceil(until)
        )

    async def revocation(self, key: str, now: float) -> float | None:
        raw = await self._redis.get(self._key("revoked", key))
        return None if raw is None else float(raw)

    async def take_sign_in_attempt(self, key: str, now: float, rule: ThrottleRule) -> float:
        forget_after = str(math.ceil(rule.forget_after))
        wait = await self._redis.eval(
            SIGN_IN_ATTEMPT, 1, self._key("sign-in", key), repr(now), str(rule.free), repr(rule.max_delay), forget_after
        )
        return float(wait)

    async def clear_sign_in_attempts(self, key: str) -> None:
        await self._redis.delete(self._key("sign-in", key))

    async def setting(self, key: str, default: str) -> str:
        await self._redis.set(self._key("setting", key), default, nx=True)
        return _text(await self._redis.get(self._key("setting", key)))

    async def stored_setting(self, key: str) -> str | None:
        value = await self._redis.get(self._key("setting", key))
        return None if value is None else _text(value)

    async def take_budgets(self, takes: Sequence[BudgetTake], now: float) -> list[Budget]:
        arguments: list[str | int | float] = [repr(now), next(self._calls)]
        for take in takes:
            arguments += [take.rule.limit, take.rule.window_seconds]
        allowed, *counted = await self._take_budgets(keys=[self._key("budget", t.key) for t in takes], args=arguments)
        answers = []
        for index, take in enumerate(takes):
            used, freeing = int(counted[2 * index]), counted[2 * index + 1]
            freeing_at = float(freeing) if freeing else (now if allowed else None)
            answers.append(budget_after(bool(allowed), take.rule, used, freeing_at, now))
        return answers

    async def take_budget(self, key: str, limit: int, window_seconds: int, now: float) -> Budget:
        return (await self.take_budgets([BudgetTake(key, BudgetRule(limit, window_seconds))], now))[0]

    # Approvals -------------------------------------------------------------------------------------

    async def add_approval(self, approval: Approval) -> bool:
        keys = [self._key("approval", approval.id), self._key("approvals", approval.account_id)]
        added = await self._add_approval(
            keys=keys, args=[approval.to_json(), approval.revision, repr(approval.created_at), approval.id]
        )
        return bool(added)

    async def get_approval(self, approval_id: str) -> Approval | None:
        record = await self._redis.hget(self._key("approval", approval_id), "record")
        return None if record is None else Approval.from_json(_text(record))

    async def list_approvals(self, account_id: str) -> list[Approval]:
        ids = await self._redis.zrevrange(self._key("approvals", account_id), 0, LISTED_APPROVALS - 1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for approval_id in ids:
                pipe.hget(self._key("approval", _text(approval_id)), "record")
            records = await pipe.execute()
        return [Approval.from_json(_text(record)) for record in records if record is not None]

    async def replace_approval(self, approval: Approval) -> bool:
        replaced = await self._replace_approval(
            keys=[self._key("approval", approval.id)],
            args=[approval.to_json(), approval.revision, str(approval.revision - 1)],
        )
        return bool(replaced)

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await self._redis.aclose()


def _history_json(record: ServerRecord, revoked_at: float | None) -> str:
    fields = {"name": record.name, "config": record.config, "created_at": record.created_at}
    return json.dumps({**fields, "expires_at": record.expires_at, "revoked_at": revoked_at}, sort_keys=True)


def _api_token(token_hash: str, raw: str) -> ApiTokenRecord:
    data = json.loads(raw)
    return ApiTokenRecord(
        id=data["id"],
        token_hash=token_hash,
        created_at=data["created_at"],
        admin=bool(data.get("admin", False)),
        account_id=data.get("account_id"),
        expires_at=data.get("expires_at"),
    )
