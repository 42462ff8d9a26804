"""OAuth clients, grants and tokens in the embedded store's SQLite file.

Grants and tokens reference their server with ON DELETE CASCADE (and tokens their grant), so revoking,
expiring or removing a server, or its account, takes its OAuth state with it in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from stripe_mcp.managed.store.base import (
    OAuthClientRecord,
    OAuthGrantRecord,
    OAuthTokenRecord,
    client_data,
    client_record,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_clients (client_id TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS oauth_grants (
    id TEXT PRIMARY KEY, server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE, client_id TEXT NOT NULL,
    resource TEXT NOT NULL, scope TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL, last_used_at REAL
);
CREATE INDEX IF NOT EXISTS oauth_grants_by_server ON oauth_grants(server_id);
CREATE TABLE IF NOT EXISTS oauth_tokens (
    token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL, grant_id TEXT REFERENCES oauth_grants(id) ON DELETE CASCADE,
    expires_at REAL NOT NULL, data TEXT NOT NULL, used_at REAL
);
CREATE INDEX IF NOT EXISTS oauth_tokens_by_grant ON oauth_tokens(grant_id);
CREATE INDEX IF NOT EXISTS oauth_tokens_by_server ON oauth_tokens(server_id);
"""
USED_GRANT_SECONDS = 60  # last use is kept to the minute: a tool call does not write each time

Params = tuple[object, ...]
Row = tuple[Any, ...]
Run = Callable[[str, Params], list[Row]]
Write = Callable[[str, Params], int]


class SqliteOAuthStore:
    """`OAuthStore` over the SQLite store's connection: `run` reads, `write` changes, both under its lock."""

    def __init__(self, run: Run, write: Write) -> None:
        self._run = run
        self._write = write

    async def put_client(self, record: OAuthClientRecord) -> None:
        value = json.dumps(client_data(record), sort_keys=True)
        self._write(
            "INSERT INTO oauth_clients VALUES (?, ?, ?) ON CONFLICT(client_id) "
            "DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at",
            (record.client_id, value, record.expires_at),
        )

    async def client(self, client_id: str) -> OAuthClientRecord | None:
        rows = self._run("SELECT record, expires_at FROM oauth_clients WHERE client_id = ?", (client_id,))
        return client_record(client_id, json.loads(rows[0][0]), rows[0][1]) if rows else None

    async def add_grant(self, record: OAuthGrantRecord) -> None:
        self._write(
            "INSERT INTO oauth_grants VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.server_id,
                record.client_id,
                record.resource,
                record.scope,
                record.created_at,
                record.expires_at,
                record.last_used_at,
            ),
        )

    async def grant(self, grant_id: str) -> OAuthGrantRecord | None:
        rows = self._run(f"SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE id = ?", (grant_id,))
        return OAuthGrantRecord(*rows[0]) if rows else None

    async def grants(self, server_id: str) -> list[OAuthGrantRecord]:
        rows = self._run(
            f"SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE server_id = ? ORDER BY created_at, id", (server_id,)
        )
        return [OAuthGrantRecord(*row) for row in rows]

    async def renew_grant(self, grant_id: str, expires_at: float) -> None:
        self._write("UPDATE oauth_grants SET expires_at = MAX(expires_at, ?) WHERE id = ?", (expires_at, grant_id))

    async def grant_used(self, grant_id: str, now: float) -> None:
        self._write(
            "UPDATE oauth_grants SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
            (now, grant_id, now - USED_GRANT_SECONDS),
        )

    async def delete_grant(self, grant_id: str) -> bool:
        return self._write("DELETE FROM oauth_grants WHERE id = ?", (grant_id,)) > 0

    async def delete_grants(self, server_id: str, client_id: str | None = None) -> int:
        if client_id is None:
            return self._write("DELETE FROM oauth_grants WHERE server_id = ?", (server_id,))
        return self._write("DELETE FROM oauth_grants WHERE server_id = ? AND client_id = ?", (server_id, client_id))

    async def add_token(self, record: OAuthTokenRecord) -> None:
        self._write(
            "INSERT INTO oauth_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.token_hash,
                record.kind,
                record.server_id,
                record.client_id,
                record.grant_id,
                record.expires_at,
                json.dumps(record.data, sort_keys=True),
                record.used_at,
            ),
        )

    async def token(self, token_hash: str) -> OAuthTokenRecord | None:
        rows = self._run(
            "SELECT token_hash, kind, server_id, client_id, grant_id, expires_at, data, used_at "
            "FROM oauth_tokens WHERE token_hash = ?",
            (token_hash,),
        )
        if not rows:
            return None
        hashed, kind, server_id, client_id, grant_id, expires_at, data, used_at = rows[0]
        return OAuthTokenRecord(hashed, kind, server_id, client_id, grant_id, expires_at, json.loads(data), used_at)

    async def use_token(self, token_hash: str, now: float) -> bool:
        return (
            self._write(
                "UPDATE oauth_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
                (now, token_hash, now),
            )
            == 1
        )

    async def delete_expired(self, now: float) -> int:
        removed = self._write("DELETE FROM oauth_grants WHERE expires_at <= ?", (now,))
        removed += self._write("DELETE FROM oauth_tokens WHERE expires_at <= ?", (now,))
        # A client outlives its grants (each token moves its expiry later); this keeps the rule when clocks disagree.
        removed += self._write(
            "DELETE FROM oauth_clients WHERE expires_at <= ? AND client_id NOT IN (SELECT client_id FROM oauth_grants)",
            (now,),
        )
        return removed


GRANT_COLUMNS = "id, server_id, client_id, resource, scope, created_at, expires_at, last_used_at"
