"""The store's interface: the records it holds and the operations every backend implements.

Only hashes of tokens and encrypted Stripe keys are ever stored. Approvals (tools/approvals.py) hold the
arguments of the calls they allow, and are deleted with their account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from stripe_mcp.tools.approvals import Approval  # the approval gate owns the record; the store keeps it

USAGE_HOURS = 24  # calls are counted per hour; server_usage sums the current hour and the 23 before it
LISTED_APPROVALS = 500  # list_approvals answers at most this many, newest first


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
    async def delete_server(self, account_id: str, server_id: str) -> bool: ...
    async def add_api_token(self, record: ApiTokenRecord) -> None: ...
    async def api_token_by_hash(self, token_hash: str) -> ApiTokenRecord | None: ...
    async def delete_account(self, account_id: str) -> bool: ...
    async def setting(self, key: str, default: str) -> str: ...
    async def take_budget(self, key: str, limit: int, window_seconds: int, now: float) -> Budget: ...
    async def delete_expired_servers(self, now: float) -> int: ...
    # Usage: record_call counts a tool call in an hourly bucket and keeps the latest time; server_usage
    # answers (that time or None, the calls of the current hour and the USAGE_HOURS - 1 before it).
    async def record_call(self, server_id: str, now: float) -> None: ...
    async def server_usage(self, server_id: str, now: float) -> tuple[float | None, int]: ...
    # Approvals: the tools.approvals.ApprovalBook operations. replace_approval is a compare-and-set: it stores
    # the record only over the revision just before it, so replicas never both run one approved call.
    async def add_approval(self, approval: Approval) -> bool: ...
    async def get_approval(self, approval_id: str) -> Approval | None: ...
    async def list_approvals(self, account_id: str) -> list[Approval]: ...
    async def replace_approval(self, approval: Approval) -> bool: ...
    async def close(self) -> None: ...
