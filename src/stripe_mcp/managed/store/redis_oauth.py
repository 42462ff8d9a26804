"""OAuth clients, grants and tokens in Redis, beside the store's other keys (prefix `stripe-mcp:`).

- `oauth-client:<client id>` JSON, expiring at the client's `expires_at`;
- `oauth-grant:<id>` JSON and `oauth-grant-tokens:<id>` set of token hashes, both expiring with the grant;
  `oauth-grants:<server id>` set of grant ids; `oauth-grant-used` sorted set grant id -> time of last use;
- `oauth-token:<hash>` JSON expiring at the token's `expires_at`; `oauth-token-used:<hash>` set on first use.

Redis drops what expires; the server's set forgets expired grants when it is read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis

from stripe_mcp.managed.store.base import (
    OAuthClientRecord,
    OAuthGrantRecord,
    OAuthTokenRecord,
    client_data,
    client_record,
)

Key = Callable[..., str]


def _ms(timestamp: float) -> int:
    return math.ceil(timestamp * 1000)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"redis replied {type(value).__name__}, not str")
    return value


class RedisOAuthStore:
    """`OAuthStore` over the Redis store's client; `key(*parts)` names a key under the store's prefix."""

    def __init__(self, client: redis.Redis, key: Key) -> None:
        self._redis = client
        self._key = key

    async def put_client(self, record: OAuthClientRecord) -> None:
        key = self._key("oauth-client", record.client_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps({**client_data(record), "expires_at": record.expires_at}, sort_keys=True))
            pipe.pexpireat(key, _ms(record.expires_at))
            await pipe.execute()

    async def client(self, client_id: str) -> OAuthClientRecord | None:
        raw = await self._redis.get(self._key("oauth-client", client_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return client_record(client_id, data, data["expires_at"])

    async def add_grant(self, record: OAuthGrantRecord) -> None:
        key = self._key("oauth-grant", record.id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(_grant_data(record), sort_keys=True))
            pipe.pexpireat(key, _ms(record.expires_at))
            pipe.sadd(self._key("oauth-grants", record.server_id), record.id)
            await pipe.execute()

    async def grant(self, grant_id: str) -> OAuthGrantRecord | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._key("oauth-grant", grant_id))
            pipe.zscore(self._key("oauth-grant-used"), grant_id)
            raw, used = await pipe.execute()
        if raw is None:
            return None
        data = json.loads(raw)
        return OAuthGrantRecord(
            id=grant_id,
            server_id=data["server_id"],
            client_id=data["client_id"],
            resource=data["resource"],
            scope=data["scope"],
            created_at=data["created_at"],
            expires_at=data["expires_at"],
            last_used_at=None if used is None else float(used),
        )

    async def grants(self, server_id: str) -> list[OAuthGrantRecord]:
        index = self._key("oauth-grants", server_id)
        found: list[OAuthGrantRecord] = []
        for grant_id in map(_text, await self._redis.smembers(index)):
            record = await self.grant(grant_id)
            if record is None:  # expired: Redis dropped it
                await self._redis.srem(index, grant_id)
                await self._redis.zrem(self._key("oauth-grant-used"), grant_id)
            else:
                found.append(record)
        return sorted(found, key=lambda g: (g.created_at, g.id))

    async def renew_grant(self, grant_id: str, expires_at: float) -> None:
        record = await self.grant(grant_id)
        if record is None or record.expires_at >= expires_at:
            return
        renewed = {**_grant_data(record), "expires_at": expires_at}
        key = self._key("oauth-grant", grant_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(renewed, sort_keys=True), xx=True)
            pipe.pexpireat(key, _ms(expires_at))
            await pipe.execute()

    async def grant_used(self, grant_id: str, now: float) -> None:
        await self._redis.zadd(self._key("oauth-grant-used"), {grant_id: now}, gt=True)

    async def delete_grant(self, grant_id: str) -> bool:
        record = await self.grant(grant_id)
        if record is None:
            return False
        tokens = [_text(t) for t in await self._redis.smembers(self._key("oauth-grant-tokens", grant_id))]
        async with self._redis.pipeline(transaction=True) as pipe:
            for token_hash in tokens:
                pipe.delete(self._key("oauth-token", token_hash), self._key("oauth-token-used", token_hash))
            pipe.delete(self._key("oauth-grant", grant_id), self._key("oauth-grant-tokens", grant_id))
            pipe.srem(self._key("oauth-grants", record.server_id), grant_id)
            pipe.zrem(self._key("oauth-grant-used"), grant_id)
            await pipe.execute()
        return True

    async def delete_grants(self, server_id: str, client_id: str | None = None) -> int:
        removed = 0
        for record in await self.grants(server_id):
            if client_id is None or record.client_id == client_id:
                removed += await self.delete_grant(record.id)
        return removed

    async def forget_server(self, server_id: str) -> None:
        """What the server held: called by the store when it deletes the server."""
        await self.delete_grants(server_id)
        await self._redis.delete(self._key("oauth-grants", server_id))

    async def add_token(self, record: OAuthTokenRecord) -> None:
        key = self._key("oauth-token", record.token_hash)
        value = {
            "kind": record.kind,
            "server_id": record.server_id,
            "client_id": record.client_id,
            "grant_id": record.grant_id,
            "expires_at": record.expires_at,
            "data": record.data,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(value, sort_keys=True))
            pipe.pexpireat(key, _ms(record.expires_at))
            if record.grant_id is not None:
                tokens = self._key("oauth-grant-tokens", record.grant_id)
                pipe.sadd(tokens, record.token_hash)
                # The set lives as long as its longest-lived token (NX: its first expiry; GT: only ever later).
                pipe.pexpireat(tokens, _ms(record.expires_at), nx=True)
                pipe.pexpireat(tokens, _ms(record.expires_at), gt=True)
            await pipe.execute()

    async def token(self, token_hash: str) -> OAuthTokenRecord | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._key("oauth-token", token_hash))
            pipe.get(self._key("oauth-token-used", token_hash))
            raw, used = await pipe.execute()
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return OAuthTokenRecord(
            token_hash=token_hash,
            kind=data["kind"],
            server_id=data["server_id"],
            client_id=data["client_id"],
            grant_id=data["grant_id"],
            expires_at=data["expires_at"],
            data=data["data"],
            used_at=None if used is None else float(used),
        )

    async def use_token(self, token_hash: str, now: float) -> bool:
        record = await self.token(token_hash)
        if record is None or record.expires_at <= now:
            return False
        marked = await self._redis.set(
            self._key("oauth-token-used", token_hash), repr(now), nx=True, pxat=_ms(record.expires_at)
        )
        return bool(marked)

    async def delete_expired(self, now: float) -> int:
        return 0  # every key expires by its own TTL; grants() forgets the ids of expired grants


def _grant_data(record: OAuthGrantRecord) -> dict[str, Any]:
    return {
        "server_id": record.server_id,
        "client_id": record.client_id,
        "resource": record.resource,
        "scope": record.scope,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
    }
