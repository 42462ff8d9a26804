"""The embedded store: one SQLite file in WAL mode, safe across restarts and a kill -9 mid-write.

SQLite answers in microseconds, so calls run inline on the event loop behind one lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from stripe_mcp.managed.store.base import (
    USAGE_HOURS,
    AccountRecord,
    ApiTokenRecord,
    Budget,
    ServerHistoryRecord,
    ServerRecord,
)
from stripe_mcp.managed.store.sqlite_oauth import SCHEMA as OAUTH_SCHEMA
from stripe_mcp.managed.store.sqlite_oauth import SqliteOAuthStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, encrypted_key BLOB NOT NULL, key_hint TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS servers (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, config TEXT NOT NULL,
    expires_at REAL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS servers_by_account ON servers(account_id);
CREATE TABLE IF NOT EXISTS server_history (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL, config TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL, revoked_at REAL
);
CREATE INDEX IF NOT EXISTS server_history_by_account ON server_history(account_id);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, admin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budgets (key TEXT NOT NULL, window INTEGER NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (key, window));
CREATE TABLE IF NOT EXISTS usage (
    server_id TEXT NOT NULL, hour INTEGER NOT NULL, calls INTEGER NOT NULL, last_at REAL NOT NULL, PRIMARY KEY (server_id, hour)
);
"""

Params = tuple[object, ...]
Row = tuple[Any, ...]  # what sqlite3 hands back: its column types are the schema's


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA + OAUTH_SCHEMA)
            self._migrate()
        self.oauth = SqliteOAuthStore(self._run, self._write)

    def _migrate(self) -> None:
        """Columns added after a store was first made (callers hold the lock)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(api_tokens)")}
        if "admin" not in columns:
            try:
                self._db.execute("ALTER TABLE api_tokens ADD COLUMN admin INTEGER NOT NULL DEFAULT 0")
            except sqlite3.OperationalError as error:  # another process added it first
                if "duplicate column" not in str(error):
                    raise
        # Servers made before the history was kept get their entry (a no-op once every server has one).
        self._db.execute(
            "INSERT OR IGNORE INTO server_history (id, account_id, name, config, created_at, expires_at) "
            "SELECT id, account_id, name, config, created_at, expires_at FROM servers"
        )

    def _run(self, sql: str, params: Params = ()) -> list[Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _write(self, sql: str, params: Params = ()) -> int:
        with self._lock:
            return self._db.execute(sql, params).rowcount

    async def add_account(self, record: AccountRecord) -> None:
        self._write(
            "INSERT INTO accounts VALUES (?, ?, ?, ?, ?)",
            (record.id, record.name, record.encrypted_key, record.key_hint, record.created_at),
        )

    async def get_account(self, account_id: str) -> AccountRecord | None:
        rows = self._run("SELECT * FROM accounts WHERE id = ?", (account_id,))
        return AccountRecord(*rows[0]) if rows else None

    async def find_account_by_name(self, name: str) -> AccountRecord | None:
        rows = self._run("SELECT * FROM accounts WHERE name = ? ORDER BY created_at DESC LIMIT 1", (name,))
        return AccountRecord(*rows[0]) if rows else None

    async def list_accounts(self) -> list[AccountRecord]:
        return [AccountRecord(*row) for row in self._run("SELECT * FROM accounts ORDER BY created_at, id")]

    async def count_accounts(self) -> int:
        return int(self._run("SELECT COUNT(*) FROM accounts")[0][0])

    async def add_server(self, record: ServerRecord) -> None:
        config = json.dumps(record.config, sort_keys=True)
        self._transaction(
            (
                "INSERT INTO servers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.account_id,
                    record.name,
                    record.token_hash,
                    config,
                    record.expires_at,
                    record.created_at,
                ),
            ),
            (
                "INSERT INTO server_history (id, account_id, name, config, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, record.account_id, record.name, config, record.created_at, record.expires_at),
            ),
        )

    async def server_by_token_hash(self, token_hash: str) -> ServerRecord | None:
        rows = self._run("SELECT * FROM servers WHERE token_hash = ?", (token_hash,))
        return _server(rows[0]) if rows else None

    async def list_servers(self, account_id: str) -> list[ServerRecord]:
        rows = self._run("SELECT * FROM servers WHERE account_id = ? ORDER BY created_at, id", (account_id,))
        return [_server(row) for row in rows]

    async def delete_server(self, account_id: str, server_id: str, revoked_at: float | None = None) -> bool:
        return (
            self._transaction(
                (
                    "UPDATE server_history SET revoked_at = ? WHERE id IN "
                    "(SELECT id FROM servers WHERE account_id = ? AND id = ?)",
                    (time.time() if revoked_at is None else revoked_at, account_id, server_id),
                ),
                (
                    "DELETE FROM usage WHERE server_id IN (SELECT id FROM servers WHERE account_id = ? AND id = ?)",
                    (account_id, server_id),
                ),
                ("DELETE FROM servers WHERE account_id = ? AND id = ?", (account_id, server_id)),
            )
            > 0
        )

    async def list_server_history(self, account_id: str) -> list[ServerHistoryRecord]:
        rows = self._run(
            "SELECT id, account_id, name, config, created_at, expires_at, revoked_at FROM server_history "
            "WHERE account_id = ? ORDER BY created_at, id",
            (account_id,),
        )
        return [
            ServerHistoryRecord(id_, account, name, json.loads(config), created_at, expires_at, revoked_at)
            for id_, account, name, config, created_at, expires_at, revoked_at in rows
        ]

    async def add_api_token(self, record: ApiTokenRecord) -> None:
        self._write(
            "INSERT INTO api_tokens (id, token_hash, created_at, admin) VALUES (?, ?, ?, ?)",
            (record.id, record.token_hash, record.created_at, int(record.admin)),
        )

    async def api_token_by_hash(self, token_hash: str) -> ApiTokenRecord | None:
        rows = self._run("SELECT id, token_hash, created_at, admin FROM api_tokens WHERE token_hash = ?", (token_hash,))
        if not rows:
            return None
        id_, hashed, created_at, admin = rows[0]
        return ApiTokenRecord(id_, hashed, created_at, bool(admin))

    async def setting(self, key: str, default: str) -> str:
        """The stored value, or `default` stored first: replicas sharing a store agree on it."""
        self._write("INSERT OR IGNORE INTO settings VALUES (?, ?)", (key, default))
        return str(self._run("SELECT value FROM settings WHERE key = ?", (key,))[0][0])

    async def stored_setting(self, key: str) -> str | None:
        rows = self._run("SELECT value FROM settings WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def delete_account(self, account_id: str) -> bool:
        return (
            self._transaction(
                ("DELETE FROM usage WHERE server_id IN (SELECT id FROM servers WHERE account_id = ?)", (account_id,)),
                ("DELETE FROM accounts WHERE id = ?", (account_id,)),
            )
            > 0
        )

    async def take_budget(self, key: str, limit: int, window_seconds: int, now: float) -> Budget:
        window = int(now // window_seconds)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM budgets WHERE key = ? AND window < ?", (key, window))
                self._db.execute(
                    "INSERT INTO budgets VALUES (?, ?, 1) ON CONFLICT(key, window) DO UPDATE SET used = used + 1",
                    (key, window),
                )
                used = self._db.execute(
                    "SELECT used FROM budgets WHERE key = ? AND window = ?", (key, window)
                ).fetchone()[0]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        reset = max(1, int((window + 1) * window_seconds - now + 0.999))
        return Budget(used <= limit, limit, max(0, limit - used), reset)

    async def delete_expired_servers(self, now: float) -> int:
        return self._transaction(
            (
                "DELETE FROM usage WHERE server_id IN (SELECT id FROM servers WHERE expires_at IS NOT NULL AND expires_at <= ?)",
                (now,),
            ),
            ("DELETE FROM servers WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)),
        )

    async def record_call(self, server_id: str, now: float) -> None:
        hour = int(now // 3600)
        self._transaction(
            (
                "INSERT INTO usage VALUES (?, ?, 1, ?) ON CONFLICT(server_id, hour) "
                "DO UPDATE SET calls = calls + 1, last_at = MAX(last_at, excluded.last_at)",
                (server_id, hour, now),
            ),
            # Older buckets go; the current one stays, and with it the latest call's time.
            ("DELETE FROM usage WHERE server_id = ? AND hour <= ?", (server_id, hour - USAGE_HOURS)),
        )

    async def server_usage(self, server_id: str, now: float) -> tuple[float | None, int]:
        first_hour = int(now // 3600) - USAGE_HOURS + 1
        last_at, calls = self._run(
            "SELECT MAX(last_at), COALESCE(SUM(CASE WHEN hour >= ? THEN calls ELSE 0 END), 0) FROM usage WHERE server_id = ?",
            (first_hour, server_id),
        )[0]
        return last_at, int(calls)

    def _transaction(self, *statements: tuple[str, Params]) -> int:
        """Run the statements as one transaction; the row count of the last one."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                count = 0
                for sql, params in statements:
                    count = self._db.execute(sql, params).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return count

    async def close(self) -> None:
        with self._lock:
            self._db.close()


def _server(row: Row) -> ServerRecord:
    id_, account_id, name, token_hash, config, expires_at, created_at = row
    return ServerRecord(id_, account_id, name, token_hash, json.loads(config), expires_at, created_at)
