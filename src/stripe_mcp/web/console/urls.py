"""The console's paths, its breadcrumbs, and where a sign-in may send the browser back to."""

from __future__ import annotations

from stripe_mcp.managed.store.base import AccountRecord

PREFIX = "/admin"
ACCOUNTS = PREFIX + "/accounts"
SIGN_IN = PREFIX + "/sign-in"
CONSENT = PREFIX + "/oauth/consent"  # where the OAuth authorization endpoint sends the person
API_TOKENS = PREFIX + "/api-tokens"
APPROVALS = PREFIX + "/approvals"

Crumbs = list[tuple[str, str]]


def account_url(account_id: str) -> str:
    return f"{ACCOUNTS}/{account_id}"


def server_url(account_id: str, server_id: str) -> str:
    return f"{account_url(account_id)}/servers/{server_id}"


def to_accounts() -> Crumbs:
    return [("Accounts", ACCOUNTS)]


def to_account(account: AccountRecord) -> Crumbs:
    return [*to_accounts(), (account.name, account_url(account.id))]


def safe_next(value: str) -> str:
    """Only a path of this console: never another site (no scheme, no //host, no backslash)."""
    if not value or not value.startswith(PREFIX + "/") or value.startswith("//") or "\\" in value:
        return ACCOUNTS
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value) or value.startswith(PREFIX + "/sign-"):
        return ACCOUNTS
    if "//" in value or any(part in (".", "..") for part in value.split("?")[0].split("/")):
        return ACCOUNTS
    return value
