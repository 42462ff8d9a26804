"""The store's interface: the records it holds and the operations every backend implements.

Only hashes of tokens and encrypted Stripe keys are ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

USAGE_HOURS = 24  # calls are counted per hour; server_usage sums the current hour and the 23 before it


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
class ServerHistoryRecord:
    """A server as it was made, kept after it is revoked or expires: who had which URL, until when.

    Never its token or the token's hash: a history entry cannot be resolved to a server.
    """

    id: str
    account_id: str
    name: str
    config: dict[str, Any]
    created_at: float
    expires_at: float | None
    revoked_at: float | None  # None: not revoked (live, or ended by its expires_at)


@dataclass(frozen=True)
class ApiTokenRecord:
    id: str
    token_hash: str
    created_at: float
    admin: bool = False  # may also sign in to the admin console


@dataclass(frozen=True)
class Budget:
    """One fixed-window request budget after taking a request from it."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class Store(Protocol):
    async def add_account(self, record: AccountRecord) -> None: ...
    async def get_account(self, account_id: str) -> AccountRecord | None: ...
    async def find_account_by_name(self, name: str) -> AccountRecord | None: ...
    async def list_accounts(self) -> list[AccountRecord]: ...
    async def count_accounts(self) -> int: ...
    async def add_server(self, record: ServerRecord) -> None: ...
    async def server_by_token_hash(self, token_hash: str) -> ServerRecord | None: ...
    async def list_servers(self, account_id: str) -> list[ServerRecord]: ...
    # Deleting a server keeps its history entry, marked revoked at `revoked_at` (default: now).
    async def delete_server(self, account_id: str, server_id: str, revoked_at: float | None = None) -> bool: ...
    # Every server made on the account (live, revoked or expired), oldest first; an account's removal drops it.
    async def list_server_history(self, account_id: str) -> list[ServerHistoryRecord]: ...
    async def add_api_token(self, record: ApiTokenRecord) -> None: ...
    async def api_token_by_hash(self, token_hash: str) -> ApiTokenRecord | None: ...
    async def delete_account(self, account_id: str) -> bool: ...
    async def setting(self, key: str, default: str) -> str: ...  # the stored value, or `default` stored first
    async def stored_setting(self, key: str) -> str | None: ...  # the stored value, if any; stores nothing
    async def take_budget(self, key: str, limit: int, window_seconds: int, now: float) -> Budget: ...
    async def delete_expired_servers(self, now: float) -> int: ...
    # Usage: record_call counts a tool call in an hourly bucket and keeps the latest time; server_usage
    # answers (that time or None, the calls of the current hour and the USAGE_HOURS - 1 before it).
    async def record_call(self, server_id: str, now: float) -> None: ...
    async def server_usage(self, server_id: str, now: float) -> tuple[float | None, int]: ...
    async def close(self) -> None: ...
