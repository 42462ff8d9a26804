"""The store's interface: the records it holds and the operations every backend implements.

Only hashes of tokens and encrypted Stripe keys are ever stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stripe_mcp.managed.budgets import Budget, BudgetTake

USAGE_HOURS = 24  # calls are counted per hour; server_usage sums the current hour and the 23 before it
# How often a serving process flushes what its store keeps in memory: usage, and on SQLite the budget
# calls it let through (which other processes on the same file then count); closing flushes too.
FLUSH_SECONDS = 0.5


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
    admin: bool = False  # may also sign in to the admin console


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
    async def delete_account(self, account_id: str) -> bool: ...
    async def setting(self, key: str, default: str) -> str: ...
    # Budgets (managed/budgets.py): take_budgets counts a call at `now` in all of `takes` or, when one has
    # no room, in none; take_budget is the same for one budget.
    async def take_budgets(self, takes: Sequence[BudgetTake], now: float) -> list[Budget]: ...
    async def take_budget(self, key: str, limit: int, window_seconds: int, now: float) -> Budget: ...
    async def delete_expired_servers(self, now: float) -> int: ...
    # Usage: record_call counts a tool call in an hourly bucket and keeps the latest time; server_usage
    # answers (that time or None, the calls of the current hour and the USAGE_HOURS - 1 before it).
    # record_call is counted in memory (usage.py) and written at the next flush.
    async def record_call(self, server_id: str, now: float) -> None: ...
    async def server_usage(self, server_id: str, now: float) -> tuple[float | None, int]: ...
    async def flush(self) -> None: ...
    async def close(self) -> None: ...  # flushes first
