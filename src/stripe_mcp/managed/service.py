"""Provisioning: integrated accounts, MCP servers and API tokens. One code path for every front end."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stripe_mcp.managed.secrets import (
    KeyBox,
    MissingEncryptionKey,
    mask_key,
    new_token,
    same_hash,
    token_hash,
)
from stripe_mcp.managed.store.base import (
    AccountRecord,
    ApiTokenRecord,
    ServerHistoryRecord,
    ServerRecord,
    Store,
)
from stripe_mcp.managed.store_keys import record_key_id
from stripe_mcp.managed.times import check_expiry
from stripe_mcp.tools.approvals import APPROVAL_MODES
from stripe_mcp.tools.filters import (
    EXPOSURES,
    PolicyError,
    ToolFilter,
    allowed_tools,
    validate_filter,
)
from stripe_mcp.tools.money import money_tools
from stripe_mcp.tools.registry import Registry

SERVER_TOKEN_PREFIX = "smcp"
API_TOKEN_PREFIX = "smcp_api"
STRIPE_ACCOUNT = re.compile(r"acct_[A-Za-z0-9]{1,64}")
STRIPE_KEY = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9_]+")  # secret or restricted; never publishable
CLIENT_TOOL_LIMIT = 128
CLIENT_TOOL_LIMITS = "OpenAI's tool list caps at 128 tools and Cursor sends the first 40"
LISTED_TOOLS = {"discovery": 3, "chatgpt": 2}  # what tools/list shows for these exposures
# How a client proves it may use a server: the secret in its URL, or an OAuth access token for it (the URL's
# path is then the server's id, no secret, and may be shown again).
AUTH_MODES = ("url_token", "oauth")


@dataclass(frozen=True)
class CreatedServer:
    record: ServerRecord
    token: str  # shown once, never stored


async def create_account(store: Store, keys: KeyBox | None, name: str, stripe_api_key: str) -> AccountRecord:
    if keys is None:
        raise MissingEncryptionKey("set STRIPE_MCP_ENCRYPTION_KEY to store Stripe keys")
    record = AccountRecord(
        id=f"acct_{uuid.uuid4().hex[:16]}",
        name=name,
        encrypted_key=keys.encrypt(stripe_api_key),
        key_hint=mask_key(stripe_api_key),
        created_at=time.time(),
    )
    await store.add_account(record)
    await record_key_id(store, keys)
    return record


def server_config(registry: Registry, config: dict[str, Any]) -> dict[str, Any]:
    """A normalized server configuration, or PolicyError saying what is wrong with it."""
    methods = list(dict.fromkeys(config.get("methods") or []))
    tags = list(dict.fromkeys(config.get("tags") or []))
    exposure = config.get("tool_exposure", "all")
    if exposure not in EXPOSURES:
        raise PolicyError(f"tool_exposure must be one of {', '.join(EXPOSURES)}")
    approval = config.get("approval") or "none"
    if approval not in APPROVAL_MODES:
        raise PolicyError(f"approval must be one of {', '.join(APPROVAL_MODES)}")
    validate_filter(registry, methods, tags)
    stripe_account = config.get("stripe_account") or None
    if stripe_account is not None and not (
        isinstance(stripe_account, str) and STRIPE_ACCOUNT.fullmatch(stripe_account)
    ):
        raise PolicyError("stripe_account must be a connected account id, acct_...")
    auth = config.get("auth") or "url_token"
    if auth not in AUTH_MODES:
        raise PolicyError(f"auth must be one of {', '.join(AUTH_MODES)}")
    if auth == "oauth" and config.get("require_api_token_auth"):
        raise PolicyError(
            "require_api_token_auth is for url_token servers: an OAuth server's bearer token is its access token"
        )
    normalized = {
        "auth": auth,
        "methods": methods,
        "tags": tags,
        "require_api_token_auth": bool(config.get("require_api_token_auth", False)),
        "tool_exposure": exposure,
        "full_results": bool(config.get("full_results", False)),
    }
    if approval != "none":  # kept out when off, so that configs from before approvals read the same
        normalized["approval"] = approval
    return {**normalized, "stripe_account": stripe_account} if stripe_account else normalized


async def create_server(
    store: Store,
    registry: Registry,
    account_id: str,
    name: str,
    config: dict[str, Any],
    expires_at: float | None = None,
    *,
    now: float | None = None,
    token: str | None = None,
) -> CreatedServer:
    now = time.time() if now is None else now
    check_expiry(expires_at, now)
    server_id = f"srv_{uuid.uuid4().hex[:16]}"
    config = server_config(registry, config)
    token = server_id if uses_oauth(config) else token or new_token(SERVER_TOKEN_PREFIX)
    record = ServerRecord(
        id=server_id,
        account_id=account_id,
        name=name,
        token_hash=token_hash(token),
        config=config,
        expires_at=expires_at,
        created_at=now,
    )
    await store.add_server(record)
    return CreatedServer(record, token)


def uses_oauth(config: dict[str, Any]) -> bool:
    return config.get("auth") == "oauth"


def shown_token(record: ServerRecord) -> str | None:
    """The path token of the server's MCP URL when it may be shown again (an OAuth server's), else None."""
    return record.id if uses_oauth(record.config) else None


def default_server_token(keys: KeyBox, account_id: str) -> str:
    """The URL token of the read-only server `serve` makes for STRIPE_API_KEY: derived, not stored, so the same URL
    is printed on every start and only its hash is kept."""
    return keys.derive_token(SERVER_TOKEN_PREFIX, f"default-read-only-server:{account_id}")


def default_server_revocation(account_id: str) -> str:
    """The revocation key that keeps the default server of `account_id` from being made again."""
    return f"default-server:{account_id}"


# API tokens: the second factor of require_api_token_auth servers ------------------------------------------------


async def create_api_token(
    store: Store,
    *,
    admin: bool = False,
    account_id: str | None = None,
    expires_at: float | None = None,
    now: float | None = None,
) -> tuple[ApiTokenRecord, str]:
    """A token for require_api_token_auth servers (of `account_id` only, when given); with `admin`, it also signs in
    to the admin console. PolicyError for an expiry out of range, an unknown account, or an admin token with one."""
    now = time.time() if now is None else now
    check_expiry(expires_at, now)
    if admin and account_id is not None:
        raise PolicyError("an admin token signs in to the whole console, so it cannot be limited to one account")
    if account_id is not None and await store.get_account(account_id) is None:
        raise PolicyError(f"account_id: no integrated account {account_id[:64]}")
    token = new_token(API_TOKEN_PREFIX)
    record = ApiTokenRecord(
        id=f"tok_{uuid.uuid4().hex[:16]}",
        token_hash=token_hash(token),
        created_at=now,
        admin=admin,
        account_id=account_id,
        expires_at=expires_at,
    )
    await store.add_api_token(record)
    return record, token


async def api_token(store: Store, token: str, now: float | None = None) -> ApiTokenRecord | None:
    """The record of API token `token` while it holds (neither revoked nor expired), else None."""
    if not token.startswith(API_TOKEN_PREFIX + "_"):
        return None
    record = await store.api_token_by_hash(token_hash(token))
    now = time.time() if now is None else now
    if record is None or (record.expires_at is not None and record.expires_at <= now):
        return None
    return record


def token_opens(record: ApiTokenRecord, account_id: str) -> bool:
    """Whether an API token satisfies require_api_token_auth on a server of `account_id`."""
    return record.account_id is None or record.account_id == account_id


async def admin_api_token(store: Store, token: str, now: float | None = None) -> ApiTokenRecord | None:
    """The API token record when `token` is an API token with admin rights that holds, else None."""
    record = await api_token(store, token, now)
    return record if record is not None and record.admin else None


async def list_api_tokens(store: Store, now: float) -> list[ApiTokenRecord]:
    """Every API token that holds (an expired one is refused everywhere, so it is not listed)."""
    return [t for t in await store.list_api_tokens() if t.expires_at is None or t.expires_at > now]


async def revoke_api_token(store: Store, token_id: str) -> bool:
    """Delete the token: every replica refuses it from its next request on (tokens are looked up each time)."""
    return await store.delete_api_token(token_id)


# Listing, previewing, revoking: what the admin API and the admin console both do -------------


@dataclass(frozen=True)
class ToolPreview:
    tool_names: tuple[str, ...]  # the tools the filters leave (what call_tool can reach)
    listed: int  # what the agent's tools/list shows: all of them, or the discovery/ChatGPT tools
    warnings: tuple[str, ...]
    money_tools: tuple[str, ...] = ()  # those of them that can move money (tools/money.py)
    writes: bool = False  # some of them are not read-only: approval is worth considering


def tool_warnings(config: dict[str, Any], tool_count: int) -> tuple[str, ...]:
    if config.get("tool_exposure", "all") == "all" and tool_count > CLIENT_TOOL_LIMIT:
        return (
            f"This server lists {tool_count} tools: {CLIENT_TOOL_LIMITS}. Narrow it with methods or tags "
            "filters, or set tool_exposure to discovery.",
        )
    return ()


def tool_filter(config: dict[str, Any]) -> ToolFilter:
    """The filter of a stored (already valid) configuration."""
    return ToolFilter(tuple(config.get("methods", ())), tuple(config.get("tags", ())))


def server_tools(registry: Registry, config: dict[str, Any]) -> ToolPreview:
    """The tools of a stored (already valid) configuration."""
    names = allowed_tools(registry, tool_filter(config))
    exposure = config.get("tool_exposure", "all")
    money = money_tools(registry.tools[name] for name in names)
    writes = any(not registry.tools[name].annotations.get("readOnlyHint") for name in names)
    warnings = tool_warnings(config, len(names))
    return ToolPreview(names, LISTED_TOOLS.get(exposure, len(names)), warnings, money_tools=money, writes=writes)


def preview_tools(registry: Registry, config: dict[str, Any]) -> ToolPreview:
    """The tools a new server with `config` would have, or PolicyError (e.g. a filter that leaves none)."""
    return server_tools(registry, server_config(registry, config))


@dataclass(frozen=True)
class ServerUsage:
    last_used_at: float | None
    calls_24h: int


async def list_servers(store: Store, account_id: str, now: float) -> list[ServerRecord]:
    """The account's servers that have not expired (the clean-up may not have run yet)."""
    return [s for s in await store.list_servers(account_id) if s.expires_at is None or s.expires_at > now]


async def ended_servers(store: Store, account_id: str, now: float) -> list[ServerHistoryRecord]:
    """The account's revoked and expired servers, the latest to end first: who had which URL, until when."""
    ended = [
        h
        for h in await store.list_server_history(account_id)
        if h.revoked_at is not None or (h.expires_at is not None and h.expires_at <= now)
    ]
    return sorted(ended, key=ended_at, reverse=True)


def ended_at(history: ServerHistoryRecord) -> float:
    """When a server stopped answering: its revocation, else its expiry."""
    if history.revoked_at is not None and (history.expires_at is None or history.revoked_at < history.expires_at):
        return history.revoked_at
    return history.expires_at if history.expires_at is not None else 0.0


async def find_server(store: Store, account_id: str, server_id: str, now: float) -> ServerRecord | None:
    return next((s for s in await list_servers(store, account_id, now) if s.id == server_id), None)


async def server_usage(store: Store, server_id: str, now: float) -> ServerUsage:
    last_used_at, calls = await store.server_usage(server_id, now)
    return ServerUsage(last_used_at, calls)


async def record_call(store: Store, server_id: str, now: float) -> None:
    await store.record_call(server_id, now)


async def revoke_server(
    store: Store,
    account_id: str,
    server_id: str,
    forget: Callable[[], None] | None = None,
    keys: KeyBox | None = None,
    *,
    now: float | None = None,
) -> bool:
    """Delete the server, keeping it in the account's history as revoked at `now`; `forget` drops a serving
    replica's resolve cache so the URL answers 404 at once (other replicas follow within their cache's lifetime).
    With `keys`, a revoked default server (whose token `serve` derives) is remembered, so that no later start
    makes it again."""
    if keys is not None:
        record = next((s for s in await store.list_servers(account_id) if s.id == server_id), None)
        if record is not None and same_hash(record.token_hash, token_hash(default_server_token(keys, account_id))):
            await store.add_revocation(default_server_revocation(account_id), time.time() if now is None else now, None)
    removed = await store.delete_server(account_id, server_id, revoked_at=now)
    if removed and forget is not None:
        forget()
    return removed


async def delete_account(store: Store, account_id: str, forget: Callable[[], None] | None = None) -> bool:
    """Delete the account, its encrypted key, all its servers and the API tokens limited to it."""
    removed = await store.delete_account(account_id)
    for record in await store.list_api_tokens() if removed else ():
        if record.account_id == account_id:
            await store.delete_api_token(record.id)
    if removed and forget is not None:
        forget()
    return removed
