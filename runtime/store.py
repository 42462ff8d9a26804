"""Where accounts, servers and API tokens live. One interface; SQLite is the embedded default.

Only hashes of tokens and encrypted Stripe keys are stored. Every method is async so that a
networked backend (Redis) fits the same interface; SQLite answers in microseconds, so it runs inline.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

DEFAULT_STORE_URL = "sqlite:///.stripe-mcp/store.sqlite3"


@dataclass(frozen=True)
class AccountRecord:
    id: str
    name: str
    encrypted_key: bytes
    key_hint: str
    created_at: float


@dataclass(frozen=True)
class ServerRecord:
    id: str
    account_id: str
    name: str
    token_hash: str
    config: dict[str, Any]
    expires_at: float | None
    created_at: float


@dataclass(frozen=True)
class ApiTokenRecord:
    id: str
    token_hash: str
    created_at: float


class Store(Protocol):
    async def add_account(self, record: AccountRecord) -> None: ...
    async def get_account(self, account_id: str) -> AccountRecord | None: ...
    async def find_account_by_name(self, name: str) -> AccountRecord | None: ...
    async def list_accounts(self) -> list[AccountRecord]: ...
    async def count_accounts(self) -> int: ...
    async def add_server(self, record: ServerRecord) -> None: ...
    async def server_by_token_hash(self, token_hash: str) -> ServerRecord | None: ...
    async def list_servers(self, account_id: str) -> list[ServerRecord]: ...
    async def delete_server(self, account_id: str, server_id: str) -> bool: ...
    async def add_api_token(self, record: ApiTokenRecord) -> None: ...
    async def api_token_by_hash(self, token_hash: str) -> ApiTokenRecord | None: ...
    async def setting(self, key: str, default: str) -> str: ...
    async def close(self) -> None: ...


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
CREATE TABLE IF NOT EXISTS api_tokens (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


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
            self._db.executescript(SCHEMA)

    def _run(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _write(self, sql: str, params: tuple = ()) -> int:
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
        return self._run("SELECT COUNT(*) FROM accounts")[0][0]

    async def add_server(self, record: ServerRecord) -> None:
        self._write(
            "INSERT INTO servers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.account_id, record.name, record.token_hash, json.dumps(record.config, sort_keys=True),
             record.expires_at, record.created_at),
        )

    async def server_by_token_hash(self, token_hash: str) -> ServerRecord | None:
        rows = self._run("SELECT * FROM servers WHERE token_hash = ?", (token_hash,))
        return _server(rows[0]) if rows else None

    async def list_servers(self, account_id: str) -> list[ServerRecord]:
        rows = self._run("SELECT * FROM servers WHERE account_id = ? ORDER BY created_at, id", (account_id,))
        return [_server(row) for row in rows]

    async def delete_server(self, account_id: str, server_id: str) -> bool:
        return self._write("DELETE FROM servers WHERE account_id = ? AND id = ?", (account_id, server_id)) > 0

    async def add_api_token(self, record: ApiTokenRecord) -> None:
        self._write("INSERT INTO api_tokens VALUES (?, ?, ?)", (record.id, record.token_hash, record.created_at))

    async def api_token_by_hash(self, token_hash: str) -> ApiTokenRecord | None:
        rows = self._run("SELECT * FROM api_tokens WHERE token_hash = ?", (token_hash,))
        return ApiTokenRecord(*rows[0]) if rows else None

    async def setting(self, key: str, default: str) -> str:
        """The stored value, or `default` stored first: replicas sharing a store agree on it."""
        self._write("INSERT OR IGNORE INTO settings VALUES (?, ?)", (key, default))
        return self._run("SELECT value FROM settings WHERE key = ?", (key,))[0][0]

    async def close(self) -> None:
        with self._lock:
            self._db.close()


def _server(row: tuple) -> ServerRecord:
    id_, account_id, name, token_hash, config, expires_at, created_at = row
    return ServerRecord(id_, account_id, name, token_hash, json.loads(config), expires_at, created_at)


class StoreUrlError(ValueError):
    pass


def sqlite_path(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(parsed.path[1:] if url.startswith("sqlite:///") else parsed.path) if parsed.scheme == "sqlite" else None


def open_store(url: str) -> Store:
    path = sqlite_path(url)
    if path is not None:
        if not str(path):
            raise StoreUrlError(f"{url}: no file path (use sqlite:///PATH)")
        return SqliteStore(path)
    raise StoreUrlError(f"unsupported store {url!r}: use sqlite:///PATH")
