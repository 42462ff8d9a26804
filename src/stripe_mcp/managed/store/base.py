"""The store's interface: the records it holds and the operations every backend implements.

Only hashes of tokens and encrypted Stripe keys are ever stored. Approvals (tools/approvals.py) hold the
arguments of the calls they allow, and are deleted with their account. `Store.oauth` holds the OAuth
authorization server's clients, grants and tokens (`OAuthStore`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stripe_mcp.managed.budgets import Budget, BudgetTake
from stripe_mcp.tools.approvals import Approval  # the approval gate owns the record; the store keeps it

USAGE_HOURS = 24  # calls are counted per hour; server_usage sums the current hour and the 23 before it
LISTED_APPROVALS = 500  # list_approvals answers at most this many, newest first
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
    account_id: str | None = None  # only this account's servers accept it; None: every account's
    expires_at: float | None = None  # refused from then on; None: until revoked
    last_used_at: float | None = None  # filled in by list_api_tokens only


@dataclass(frozen=True)
class ThrottleRule:
    """`free` attempts at once; after that each must wait min(2 ** (attempts - free), max_delay) seconds after the
    one before. A key without an attempt for `forget_after` seconds starts again from nothing."""

    free: int
    max_delay: float
    forget_after: float

    def delay(self, attempts: int) -> float:
        """The wait after the `attempts`-th attempt."""
        return 0.0 if attempts < self.free else float(min(2 ** min(attempts - self.free, 30), self.max_delay))


@dataclass(frozen=True)
class OAuthClientRecord:
    """An OAuth client: registered here (RFC 7591), or described by the document at its client_id URL."""

    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    auth_method: str  # token_endpoint_auth_method: "none", "client_secret_post" or "client_secret_basic"
    secret_hash: str | None  # of the client secret, for the two secret methods
    grant_types: tuple[str, ...]
    client_uri: str | None
    first_seen_at: float
    expires_at: float  # forgotten then; every token issued to the client moves it later
    document_stale_at: float | None = None  # a Client ID Metadata Document: fetched again after this time


@dataclass(frozen=True)
class OAuthGrantRecord:
    """One person's consent: a client connected to one server. Its tokens go with it."""

    id: str
    server_id: str
    client_id: str
    resource: str  # the server's URL the tokens are bound to (RFC 8707)
    scope: str
    created_at: float
    expires_at: float  # when its refresh token expires; each rotation moves it later
    last_used_at: float | None = None


@dataclass(frozen=True)
class OAuthTokenRecord:
    """A credential kept only as its hash: a consent request, an authorization code, an access or refresh token."""

    token_hash: str
    kind: str  # "request", "code", "access" or "refresh"
    server_id: str
    client_id: str
    grant_id: str | None  # None for a consent request (no grant yet)
    expires_at: float
    data: dict[str, Any]  # what the kind needs: the request's parameters, the code's PKCE challenge, ...
    used_at: float | None = None


class OAuthStore(Protocol):
    """OAuth state. Deleting a server (or its account) deletes its grants and tokens; deleting a grant its tokens."""

    async def put_client(self, record: OAuthClientRecord) -> None: ...  # insert or replace
    async def client(self, client_id: str) -> OAuthClientRecord | None: ...
    async def add_grant(self, record: OAuthGrantRecord) -> None: ...
    async def grant(self, grant_id: str) -> OAuthGrantRecord | None: ...
    async def grants(self, server_id: str) -> list[OAuthGrantRecord]: ...  # oldest first
    async def renew_grant(self, grant_id: str, expires_at: float) -> None: ...
    async def grant_used(self, grant_id: str, now: float) -> None: ...
    async def delete_grant(self, grant_id: str) -> bool: ...
    async def delete_grants(self, server_id: str, client_id: str | None = None) -> int: ...
    async def add_token(self, record: OAuthTokenRecord) -> None: ...
    async def token(self, token_hash: str) -> OAuthTokenRecord | None: ...
    # Marks a token used; True only for the call that did (codes, requests and refresh tokens are single-use).
    async def use_token(self, token_hash: str, now: float) -> bool: ...
    async def delete_expired(self, now: float) -> int: ...


class Store(Protocol):
    # What the backend raises when it cannot be reached or written (down, disk full, read-only, corrupt).
    unavailable: tuple[type[Exception], ...]

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
    async def list_api_tokens(self) -> list[ApiTokenRecord]: ...  # oldest first, with last_used_at
    async def delete_api_token(self, token_id: str) -> bool: ...
    async def touch_api_token(self, token_id: str, now: float) -> None: ...  # last_used_at, never moved back
    async def delete_account(self, account_id: str) -> bool: ...
    async def setting(self, key: str, default: str) -> str: ...  # the stored value, or `default` stored first
    async def stored_setting(self, key: str) -> str | None: ...  # the stored value, if any; stores nothing
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
    # Revocations: a key (a revoked server's token hash, a signed-out console session) held until `until`
    # (None: for good); `revocation` answers when it was revoked while it holds, else None.
    async def add_revocation(self, key: str, revoked_at: float, until: float | None) -> None: ...
    async def revocation(self, key: str, now: float) -> float | None: ...
    # The sign-in throttle (ThrottleRule): atomically, 0 and the attempt counted, or the seconds to
    # wait before the next one. `clear_sign_in_attempts` forgets a key's attempts (after a success).
    async def take_sign_in_attempt(self, key: str, now: float, rule: ThrottleRule) -> float: ...
    async def clear_sign_in_attempts(self, key: str) -> None: ...
    # Approvals: the tools.approvals.ApprovalBook operations. replace_approval is a compare-and-set: it stores
    # the record only over the revision just before it, so replicas never both run one approved call.
    async def add_approval(self, approval: Approval) -> bool: ...
    async def get_approval(self, approval_id: str) -> Approval | None: ...
    async def list_approvals(self, account_id: str) -> list[Approval]: ...
    async def replace_approval(self, approval: Approval) -> bool: ...
    async def flush(self) -> None: ...
    async def close(self) -> None: ...  # flushes first

    @property
    def oauth(self) -> OAuthStore: ...


def client_data(record: OAuthClientRecord) -> dict[str, Any]:
    """The JSON both backends keep for a client (its id and expiry are kept beside it)."""
    return {
        "name": record.name,
        "redirect_uris": list(record.redirect_uris),
        "auth_method": record.auth_method,
        "secret_hash": record.secret_hash,
        "grant_types": list(record.grant_types),
        "client_uri": record.client_uri,
        "first_seen_at": record.first_seen_at,
        "document_stale_at": record.document_stale_at,
    }


def client_record(client_id: str, data: dict[str, Any], expires_at: float) -> OAuthClientRecord:
    return OAuthClientRecord(
        client_id=client_id,
        name=str(data["name"]),
        redirect_uris=tuple(data["redirect_uris"]),
        auth_method=str(data["auth_method"]),
        secret_hash=data.get("secret_hash"),
        grant_types=tuple(data["grant_types"]),
        client_uri=data.get("client_uri"),
        first_seen_at=float(data["first_seen_at"]),
        expires_at=float(expires_at),
        document_stale_at=data.get("document_stale_at"),
    )
