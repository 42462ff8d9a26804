"""Provisioning: integrated accounts, MCP servers and API tokens. One code path for every front end."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from runtime.policy import EXPOSURES, PolicyError, validate_filter
from runtime.registry import Registry
from runtime.secrets import KeyBox, mask_key, new_token, token_hash
from runtime.store import AccountRecord, ApiTokenRecord, ServerRecord, Store

SERVER_TOKEN_PREFIX = "smcp"
API_TOKEN_PREFIX = "smcp_api"
MIN_LIFETIME_SECONDS = 60


@dataclass(frozen=True)
class CreatedServer:
    record: ServerRecord
    token: str  # shown once, never stored


async def create_account(store: Store, keys: KeyBox, name: str, stripe_api_key: str) -> AccountRecord:
    record = AccountRecord(
        id=f"acct_{uuid.uuid4().hex[:16]}",
        name=name,
        encrypted_key=keys.encrypt(stripe_api_key),
        key_hint=mask_key(stripe_api_key),
        created_at=time.time(),
    )
    await store.add_account(record)
    return record


def server_config(registry: Registry, config: dict[str, Any]) -> dict[str, Any]:
    """A normalized server configuration, or PolicyError saying what is wrong with it."""
    methods = list(dict.fromkeys(config.get("methods") or []))
    tags = list(dict.fromkeys(config.get("tags") or []))
    exposure = config.get("tool_exposure", "all")
    if exposure not in EXPOSURES:
        raise PolicyError(f"tool_exposure must be one of {', '.join(EXPOSURES)}")
    validate_filter(registry, methods, tags)
    return {
        "methods": methods,
        "tags": tags,
        "require_api_token_auth": bool(config.get("require_api_token_auth", False)),
        "tool_exposure": exposure,
        "full_results": bool(config.get("full_results", False)),
    }


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
    if expires_at is not None and expires_at < now + MIN_LIFETIME_SECONDS:
        raise PolicyError(f"expires_at must be at least {MIN_LIFETIME_SECONDS} seconds in the future")
    token = token or new_token(SERVER_TOKEN_PREFIX)
    record = ServerRecord(
        id=f"srv_{uuid.uuid4().hex[:16]}",
        account_id=account_id,
        name=name,
        token_hash=token_hash(token),
        config=server_config(registry, config),
        expires_at=expires_at,
        created_at=now,
    )
    await store.add_server(record)
    return CreatedServer(record, token)


async def create_api_token(store: Store) -> tuple[ApiTokenRecord, str]:
    token = new_token(API_TOKEN_PREFIX)
    record = ApiTokenRecord(id=f"tok_{uuid.uuid4().hex[:16]}", token_hash=token_hash(token), created_at=time.time())
    await store.add_api_token(record)
    return record, token
