"""The embedded store: one SQLite file in WAL mode, safe across restarts and a kill -9 mid-write.

SQLite answers in microseconds, so calls run inline on the event loop behind one lock.

Budgets and usage stay off the write path of a tool call: budgets are counted in memory (an exact
sliding window per process, managed/budgets.py) and usage in memory (usage.py); `flush` writes both in
one transaction, every FLUSH_SECONDS while serving and when closing. The calls a process let through
are kept in `budget_calls` until they leave their window (one row per budget and flush, the times packed
as little-endian doubles), so that a restart, and any other process on the same file, counts them: each flush also reads the rows the other processes wrote since its last
one. Processes on one file therefore see each other's calls within two flush intervals (1 s): each is
exact alone, and together they may let through, in their first second, what the others let through in
their last one. Several replicas with exact shared budgets: use Redis. A kill -9 loses the calls of the
last flush interval (usage and budget alike); SIGTERM loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from stripe_mcp.managed.budgets import Budget, BudgetRule, BudgetTake, SlidingLog
from stripe_mcp.managed.store.base import (
    LISTED_APPROVALS,
    USAGE_HOURS,
    AccountRecord,
    ApiTokenRecord,
    ServerHistoryRecord,
    ServerRecord,
    ThrottleRule,
)
from stripe_mcp.managed.store.sqlite_oauth import SCHEMA as OAUTH_SCHEMA
from stripe_mcp.managed.store.sqlite_oauth import SqliteOAuthStore
from stripe_mcp.managed.store.usage import PendingUsage
from stripe_mcp.tools.approvals import Approval

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
CREATE TABLE IF NOT EXISTS budget_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, window INTEGER NOT NULL, times BLOB NOT NULL,
    until REAL NOT NULL, replica TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS budget_calls_by_until ON budget_calls(until);
CREATE TABLE IF NOT EXISTS usage (
    server_id TEXT NOT NULL, hour INTEGER NOT NULL, calls INTEGER NOT NULL, last_at REAL NOT NULL, PRIMARY KEY (server_id, hour)
);
CREATE TABLE IF NOT EXISTS revocations (key TEXT PRIMARY KEY, revoked_at REAL NOT NULL, until REAL);
CREATE TABLE IF NOT EXISTS sign_in_attempts (
    key TEXT PRIMARY KEY, attempts INTEGER NOT NULL, next_at REAL NOT NULL, last_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at REAL NOT NULL, revision INTEGER NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_by_account ON approvals(account_id, created_at);
"""
# Columns added after a store was first made: (table, column, its definition).
ADDED_COLUMNS = (
    ("api_tokens", "admin", "INTEGER NOT NULL DEFAULT 0"),
    ("api_tokens", "account_id", "TEXT"),
    ("api_tokens", "expires_at", "REAL"),
    ("api_tokens", "last_used_at", "REAL"),
)
API_TOKEN_COLUMNS = "id, token_hash, created_at, admin, account_id, expires_at, last_used_at"

Params = tuple[object, ...]
Row = tuple[Any, ...]  # what sqlite3 hands back: its column types are the schema's


class SqliteStore:
    unavailable: tuple[type[Exception], ...] = (sqlite3.DatabaseError, OSError)  # locked, full, read-only, corrupt

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()  # the connection
        self._counting = threading.Lock()  # what is counted in memory: never held while the file is written
        self._replica = uuid.uuid4().hex
        self._budgets = SlidingLog()
        self._unwritten: dict[str, tuple[int, list[float]]] = {}  # key -> (window, times) of calls let through
        self._usage = PendingUsage()
        self._clock = 0.0  # the latest `now` a budget was asked at: what the stored calls are pruned by
        self._seen = 0  # the last budget_calls row read
        self._unwritable = False  # the last flush failed for the store: a full disk, a read-only file
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA + OAUTH_SCHEMA)
            self._migrate()
            self._count_stored_calls(self._db.execute("SELECT id, key, window, times FROM budget_calls").fetchall())
        self.oauth = SqliteOAuthStore(self._run, self._write)

    def _migrate(self) -> None:
        """Changes made after a store was first made (callers hold the lock)."""
        self._db.execute("DROP TABLE IF EXISTS budgets")  # the fixed-window counters budget_calls replaced
        for table, column, definition in ADDED_COLUMNS:
            if column in {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}:
                continue
            try:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
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
                # A record stored again under its id (as Redis's HSET does) replaces its entry.
                "INSERT INTO server_history (id, account_id, name, config, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                "config = excluded.config, expires_at = excluded.expires_at, revoked_at = NULL",
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
        removed = self._transaction(
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
        if removed:
            self._forget_usage([server_id])
        return removed > 0

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
            "INSERT INTO api_tokens (id, token_hash, created_at, admin, account_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (record.id, record.token_hash, record.created_at, int(record.admin), record.account_id, record.expires_at),
        )

    async def api_token_by_hash(self, token_hash: str) -> ApiTokenRecord | None:
        rows = self._run(f"SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?", (token_hash,))
        return _api_token(rows[0]) if rows else None

    async def list_api_tokens(self) -> list[ApiTokenRecord]:
        return [
            _api_token(row) for row in self._run(f"SELECT {API_TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id")
        ]

    async def delete_api_token(self, token_id: str) -> bool:
        return self._write("DELETE FROM api_tokens WHERE id = ?", (token_id,)) > 0

    async def touch_api_token(self, token_id: str, now: float) -> None:
        self._write(
            "UPDATE api_tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?", (now, token_id)
        )

    async def add_revocation(self, key: str, revoked_at: float, until: float | None) -> None:
        self._transaction(
            ("DELETE FROM revocations WHERE until IS NOT NULL AND until <= ?", (revoked_at,)),  # the ones gone by
            ("INSERT OR REPLACE INTO revocations VALUES (?, ?, ?)", (key, revoked_at, until)),
        )

    async def revocation(self, key: str, now: float) -> float | None:
        rows = self._run(
            "SELECT revoked_at FROM revocations WHERE key = ? AND (until IS NULL OR until > ?)", (key, now)
        )
        return float(rows[0][0]) if rows else None

    async def take_sign_in_attempt(self, key: str, now: float, rule: ThrottleRule) -> float:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT attempts, next_at FROM sign_in_attempts WHERE key = ? AND last_at > ?",
                    (key, now - rule.forget_after),
                ).fetchone()
                attempts, next_at = row if row else (0, 0.0)
                wait = next_at - now if attempts >= rule.free and now < next_at else 0.0
                if not wait:
                    attempts += 1
                    self._db.execute(
                        "INSERT OR REPLACE INTO sign_in_attempts VALUES (?, ?, ?, ?)",
                        (key, attempts, now + rule.delay(attempts), now),
                    )
                self._db.execute("DELETE FROM sign_in_attempts WHERE last_at <= ?", (now - rule.forget_after,))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return float(wait)

    async def clear_sign_in_attempts(self, key: str) -> None:
        self._write("DELETE FROM sign_in_attempts WHERE key = ?", (key,))

    async def setting(self, key: str, default: str) -> str:
        """The stored value, or `default` stored first: replicas sharing a store agree on it."""
        self._write("INSERT OR IGNORE INTO settings VALUES (?, ?)", (key, default))
        return str(self._run("SELECT value FROM settings WHERE key = ?", (key,))[0][0])

    async def stored_setting(self, key: str) -> str | None:
        rows = self._run("SELECT value FROM settings WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def delete_account(self, account_id: str) -> bool:
        servers = self._run("SELECT id FROM servers WHERE account_id = ?", (account_id,))
        removed = self._transaction(
            ("DELETE FROM usage WHERE server_id IN (SELECT id FROM servers WHERE account_id = ?)", (account_id,)),
            ("DELETE FROM accounts WHERE id = ?", (account_id,)),
        )
        self._forget_usage(row[0] for row in servers)
        return removed > 0

    async def take_budgets(self, takes: Sequence[BudgetTake], now: float) -> list[Budget]:
        if self._unwritable:  # counts that cannot be kept are no budget: refuse until the store takes writes again
            await self.flush()
        with self._counting:
            answers = self._budgets.take(takes, now)
            self._clock = max(self._clock, now)
            if answers and answers[0].allowed:
                for take in takes:
                    self._unwritten.setdefault(take.key, (take.rule.window_seconds, []))[1].append(now)
        return answers

    async def take_budget(self, key: str, limit: int, window_seconds: int, now: float) -> Budget:
        return (await self.take_budgets([BudgetTake(key, BudgetRule(limit, window_seconds))], now))[0]

    async def delete_expired_servers(self, now: float) -> int:
        expired = self._run("SELECT id FROM servers WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
        removed = self._transaction(
            (
                "DELETE FROM usage WHERE server_id IN (SELECT id FROM servers WHERE expires_at IS NOT NULL AND expires_at <= ?)",
                (now,),
            ),
            ("DELETE FROM servers WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)),
        )
        self._forget_usage(row[0] for row in expired)
        return removed

    def _forget_usage(self, server_ids: Iterable[str]) -> None:
        with self._counting:
            self._usage.forget(server_ids)

    async def record_call(self, server_id: str, now: float) -> None:
        with self._counting:
            self._usage.add(server_id, now)

    async def server_usage(self, server_id: str, now: float) -> tuple[float | None, int]:
        first_hour = int(now // 3600) - USAGE_HOURS + 1
        last_at, calls = self._run(
            "SELECT MAX(last_at), COALESCE(SUM(CASE WHEN hour >= ? THEN calls ELSE 0 END), 0) FROM usage WHERE server_id = ?",
            (first_hour, server_id),
        )[0]
        with self._counting:
            return self._usage.added_to(server_id, now, (last_at, int(calls)))

    async def flush(self) -> None:
        """Write the usage and budget calls counted since the last flush, and count the other processes'."""
        with self._counting:
            calls, self._unwritten = self._unwritten, {}
            usage, clock = self._usage.take(), self._clock
        try:
            stored = self._write_counts(calls, usage, clock)
        except BaseException as error:
            with self._counting:  # kept for the next flush: nothing counted is dropped
                for key, (window, times) in calls.items():
                    self._unwritten.setdefault(key, (window, []))[1][:0] = times
                self._usage.merge(usage)
            self._unwritable = isinstance(error, self.unavailable)
            raise
        self._unwritable = False
        with self._counting:
            self._count_stored_calls(stored)
            self._budgets.prune(self._clock)

    def _write_counts(self, calls: dict[str, tuple[int, list[float]]], usage: PendingUsage, clock: float) -> list[Row]:
        """One transaction: this process's calls and usage in, expired calls out, the others' new calls read."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO budget_calls (key, window, times, until, replica) VALUES (?, ?, ?, ?, ?)",
                    [
                        (key, window, struct.pack(f"<{len(times)}d", *times), max(times) + window, self._replica)
                        for key, (window, times) in calls.items()
                    ],
                )
                self._db.execute("DELETE FROM budget_calls WHERE until <= ?", (clock,))
                for server_id, hours in usage.calls.items():
                    last_at = usage.last_at[server_id]
                    self._db.executemany(
                        "INSERT INTO usage VALUES (?, ?, ?, ?) ON CONFLICT(server_id, hour) "
                        "DO UPDATE SET calls = calls + excluded.calls, last_at = MAX(last_at, excluded.last_at)",
                        [(server_id, hour, count, last_at) for hour, count in hours.items()],
                    )
                    # Older buckets go; the newest stays, and with it the latest call's time.
                    self._db.execute(
                        "DELETE FROM usage WHERE server_id = ? AND hour <= ?", (server_id, max(hours) - USAGE_HOURS)
                    )
                others = self._db.execute(
                    "SELECT id, key, window, times FROM budget_calls WHERE id > ? AND replica != ?",
                    (self._seen, self._replica),
                ).fetchall()
                newest = self._db.execute("SELECT MAX(id) FROM budget_calls").fetchone()[0]
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite has rolled back itself after some errors (a full disk)
                    self._db.execute("ROLLBACK")
                raise
        self._seen = max(self._seen, newest or 0)
        return others

    def _count_stored_calls(self, rows: list[Row]) -> None:
        for id_, key, window, times in rows:
            for at in struct.unpack(f"<{len(times) // 8}d", times):
                self._budgets.add(key, window, at)
            self._seen = max(self._seen, id_)

    async def add_approval(self, approval: Approval) -> bool:
        inserted = self._write(
            "INSERT OR IGNORE INTO approvals VALUES (?, ?, ?, ?, ?)",
            (approval.id, approval.account_id, approval.created_at, approval.revision, approval.to_json()),
        )
        return inserted == 1

    async def get_approval(self, approval_id: str) -> Approval | None:
        rows = self._run("SELECT record FROM approvals WHERE id = ?", (approval_id,))
        return Approval.from_json(rows[0][0]) if rows else None

    async def list_approvals(self, account_id: str) -> list[Approval]:
        rows = self._run(
            "SELECT record FROM approvals WHERE account_id = ? ORDER BY created_at DESC, id LIMIT ?",
            (account_id, LISTED_APPROVALS),
        )
        return [Approval.from_json(row[0]) for row in rows]

    async def replace_approval(self, approval: Approval) -> bool:
        changed = self._write(
            "UPDATE approvals SET record = ?, revision = ? WHERE id = ? AND revision = ?",
            (approval.to_json(), approval.revision, approval.id, approval.revision - 1),
        )
        return changed == 1

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
                if self._db.in_transaction:  # SQLite has rolled back itself after some errors (a full disk)
                    self._db.execute("ROLLBACK")
                raise
        return count

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            with self._lock:
                self._db.close()


def _api_token(row: Row) -> ApiTokenRecord:
    id_, hashed, created_at, admin, account_id, expires_at, last_used_at = row
    return ApiTokenRecord(id_, hashed, created_at, bool(admin), account_id, expires_at, last_used_at)


def _server(row: Row) -> ServerRecord:
    id_, account_id, name, token_hash, config, expires_at, created_at = row
    return ServerRecord(id_, account_id, name, token_hash, json.loads(config), expires_at, created_at)
