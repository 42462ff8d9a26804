"""The store for several replicas: Redis through redis-py's asyncio client.

Keys (prefix `stripe-mcp:`):
- `account:<id>` hash, `accounts` and `account-name:<name>` sorted sets of ids by creation time;
- `server:<token hash>` JSON, expiring at the server's `expires_at` (Redis deletes it then);
  `servers:<account id>` hash server id -> token hash;
- `api-token:<hash>` JSON; `setting:<key>`; `budget:<key>:<window>` counters with a TTL;
- `server-history:<account id>` hash server id -> JSON of the server as made, plus `revoked_at` once revoked
  (never a token hash); kept when the server expires or is revoked, dropped with the account;
- `usage:<server id>` hash hour -> calls, expiring USAGE_HOURS + 1 hours after the latest call;
  `usage-last` sorted set server id -> time of its latest call;
- OAuth clients, grants and tokens: see `redis_oauth`.
"""

from __future__ import annotations

import base64
import json
import math
import time

import redis.asyncio as redis

from stripe_mcp.managed.store.base import (
    USAGE_HOURS,
    AccountRecord,
    ApiTokenRecord,
    Budget,
    ServerHistoryRecord,
    ServerRecord,
)
from stripe_mcp.managed.store.redis_oauth import RedisOAuthStore

PREFIX = "stripe-mcp:"


def _text(value: object) -> str:
    """A reply as the str it is: decode_responses=True decodes every reply, which redis-py's types cannot say."""
    if not isinstance(value, str):
        raise TypeError(f"redis replied {type(value).__name__}, not str")
    return value


class RedisStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, socket_timeout=5)
        self.oauth = RedisOAuthStore(self._redis, self._key)

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
        async with self._redis.pipeline(transaction=True) as pipe:
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
        return removed

    # Usage --------------------------------------------------------------------------------------

    async def record_call(self, server_id: str, now: float) -> None:
        hour, counters = int(now // 3600), self._key("usage", server_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(counters, str(hour), 1)
            # Buckets that left the window go (a longer pause lets the whole hash expire).
            pipe.hdel(counters, *(str(h) for h in range(hour - 2 * USAGE_HOURS, hour - USAGE_HOURS + 1)))
            pipe.expire(counters, (USAGE_HOURS + 1) * 3600)
            pipe.zadd(self._key("usage-last"), {server_id: now}, gt=True)  # replicas' calls land in any order
            await pipe.execute()

    async def server_usage(self, server_id: str, now: float) -> tuple[float | None, int]:
        hour = int(now // 3600)
        hours = [str(h) for h in range(hour - USAGE_HOURS + 1, hour + 1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zscore(self._key("usage-last"), server_id)
            pipe.hmget(self._key("usage", server_id), hours)
            last_at, counts = await pipe.execute()
        return (None if last_at is None else float(last_at)), sum(int(c) for c in counts if c is not None)

    # API tokens, settings, budgets --------------------------------------------------------------

    async def add_api_token(self, record: ApiTokenRecord) -> None:
        await self._redis.set(
            self._key("api-token", record.token_hash),
            json.dumps({"id": record.id, "created_at": record.created_at, "admin": record.admin}),
        )

    async def api_token_by_hash(self, token_hash: str) -> ApiTokenRecord | None:
        raw = await self._redis.get(self._key("api-token", token_hash))
        if raw is None:
            return None
        data = json.loads(raw)
        return ApiTokenRecord(data["id"], token_hash, data["created_at"], bool(data.get("admin", False)))

    async def setting(self, key: str, default: str) -> str:
        await self._redis.set(self._key("setting", key), default, nx=True)
        return _text(await self._redis.get(self._key("setting", key)))

    async def stored_setting(self, key: str) -> str | None:
        value = await self._redis.get(self._key("setting", key))
        return None if value is None else _text(value)

    async def take_budget(self, key: str, limit: int, window_seconds: int, now: float) -> Budget:
        window = int(now // window_seconds)
        counter = self._key("budget", key, str(window))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, window_seconds * 2)
            used, _ = await pipe.execute()
        reset = max(1, int((window + 1) * window_seconds - now + 0.999))
        return Budget(used <= limit, limit, max(0, limit - used), reset)

    async def close(self) -> None:
        await self._redis.aclose()


def _history_json(record: ServerRecord, revoked_at: float | None) -> str:
    fields = {"name": record.name, "config": record.config, "created_at": record.created_at}
    return json.dumps({**fields, "expires_at": record.expires_at, "revoked_at": revoked_at}, sort_keys=True)
