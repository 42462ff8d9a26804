"""The per-process runtime: the store, the tools and Stripe, opened once; MCP servers resolved from URL tokens.

A resolved server is cached for RESOLVE_CACHE_SECONDS; each of its tool calls first takes the server's and the
account's budgets and counts towards the usage the console shows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import cached_property

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stripe_mcp.managed import service
from stripe_mcp.managed.oauth.grants import verify_access
from stripe_mcp.managed.secrets import KeyBox, encryption_keys, same_hash, token_hash
from stripe_mcp.managed.store import open_store
from stripe_mcp.managed.store.base import ServerRecord, Store
from stripe_mcp.managed.store_keys import check_store_keys
from stripe_mcp.mcp.jsonrpc import JsonRpcError
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.tools.chatgpt import ChatGptServer
from stripe_mcp.tools.discovery import DiscoveryServer
from stripe_mcp.tools.ranking import SearchIndex
from stripe_mcp.tools.ratelimit import budget_headers
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from stripe_mcp.web.credentials import bearer_token
from stripe_mcp.web.errors import error_response, unauthorized
from stripe_mcp.web.oauth.metadata import bearer_challenge
from stripe_mcp.web.settings import Settings

log = logging.getLogger("stripe_mcp")
RESOLVE_CACHE_SECONDS = 0.5  # a revoke or an expiry seen by any replica holds everywhere within a second
DEFAULT_ACCOUNT = "default"
BUDGET_EXCEEDED = -32029
NOT_FOUND_MESSAGE = (
    "No MCP server at this URL: it may be mistyped, revoked or expired. "
    "Ask the admin who gave it to you for a new URL (they can see its state in the admin console)."
)


@dataclass
class _Cached:
    server: McpServer
    record: ServerRecord
    until: float


@dataclass
class Runtime:
    """Everything a request needs, opened once per process."""

    settings: Settings
    registry: Registry
    store: Store
    keys: KeyBox | None
    upstream: Upstream
    default_url: str | None = None
    _servers: dict[str, _Cached] = field(default_factory=dict)

    @property
    def stripe_version(self) -> str:
        return self.settings.stripe_version or self.registry.api_version

    def clock(self) -> float:
        return self.settings.clock()

    def mcp_url(self, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/mcp/{token}"

    def forget_servers(self) -> None:
        """Drop this replica's cache at once (others follow within RESOLVE_CACHE_SECONDS)."""
        self._servers.clear()

    async def resolve(self, request: Request, token: str) -> McpServer | Response:
        hashed = token_hash(token)
        cached = self._servers.get(hashed)
        if cached is None or cached.until < time.monotonic():
            cached = await self._load(hashed)
            if cached is None:
                return not_found()
        if cached.record.expires_at is not None and cached.record.expires_at <= self.clock():
            return not_found()
        if service.uses_oauth(cached.record.config):
            refusal = await self._oauth_refusal(request, cached.record)
            if refusal is not None:
                return refusal
        elif cached.record.config.get("require_api_token_auth") and not await self._api_token_ok(request):
            return unauthorized("this MCP server needs Authorization: Bearer <api token>")
        return cached.server

    async def _load(self, hashed: str) -> _Cached | None:
        self._servers.pop(hashed, None)
        record = await self.store.server_by_token_hash(hashed)
        if record is None or not same_hash(record.token_hash, hashed):
            return None
        account = await self.store.get_account(record.account_id)
        if account is None or self.keys is None:
            return None

        async def take_budgets() -> JsonRpcError | None:
            refusal = await self.take_budgets(record)
            if refusal is None:
                await self.record_call(record)
            return refusal

        server = StripeMcpServer(
            self.registry,
            self.upstream,
            Account(self.keys.decrypt(account.encrypted_key), self.stripe_version, record.config.get("stripe_account")),
            service.tool_filter(record.config),
            name=f"stripe-mcp: {record.name}",
            server_id=record.id,
            before_call=take_budgets,
            full_results=bool(record.config.get("full_results", False)),
        )
        cached = _Cached(
            self.expose(server, record.config.get("tool_exposure", "all")),
            record,
            time.monotonic() + RESOLVE_CACHE_SECONDS,
        )
        self._servers[hashed] = cached
        return cached

    def expose(self, server: StripeMcpServer, exposure: str) -> McpServer:
        """The tools an agent sees: all of them, the three discovery tools, or ChatGPT's search and fetch."""
        if exposure == "discovery":
            return DiscoveryServer(server, self.search_index)
        if exposure == "chatgpt":
            return ChatGptServer(server)
        return server

    @cached_property
    def search_index(self) -> SearchIndex:
        return SearchIndex(self.registry)

    async def take_budgets(self, record: ServerRecord) -> JsonRpcError | None:
        """The runaway-agent guard: a call over the server's or the account's budget never reaches Stripe."""
        now = self.clock()
        for scope, key, rule in (
            ("server", f"server:{record.id}", self.settings.server_budget),
            ("account", f"account:{record.account_id}", self.settings.account_budget),
        ):
            budget = await self.store.take_budget(key, rule.limit, rule.window_seconds, now)
            if not budget.allowed:
                return JsonRpcError(
                    BUDGET_EXCEEDED,
                    f"Request budget of this {scope} exceeded ({rule.limit} tool calls per {rule.window_seconds} s); "
                    f"retry after {budget.reset_seconds} s",
                    data={"scope": scope, "retry_after": budget.reset_seconds},
                    http_status=429,
                    headers=budget_headers(budget.limit, budget.remaining, budget.reset_seconds),
                )
        return None

    async def record_call(self, record: ServerRecord) -> None:
        """Usage for the console (last used, calls in 24 h): a call the budgets let through, about to reach Stripe."""
        try:
            await service.record_call(self.store, record.id, self.clock())
        except Exception:  # statistics never fail a call
            log.exception("recording the usage of %s failed", record.id)

    async def _oauth_refusal(self, request: Request, record: ServerRecord) -> Response | None:
        """None when the request carries an access token issued for this server's URL; else the 401 (RFC 9728)."""
        token = bearer_token(request)
        if token is not None and await verify_access(
            self.store.oauth, token, record.id, self.mcp_url(record.id), self.clock()
        ):
            return None
        return bearer_challenge(self.settings.public_url, record.id, invalid_token=token is not None)

    async def _api_token_ok(self, request: Request) -> bool:
        token = bearer_token(request)
        return token is not None and await service.api_token(self.store, token) is not None

    async def ensure_default_server(self, keys: KeyBox, api_key: str) -> str:
        """The integrated account of STRIPE_API_KEY and a read-only server on it; returns its MCP URL."""
        account = await self.store.find_account_by_name(DEFAULT_ACCOUNT)
        if account is None or keys.decrypt(account.encrypted_key) != api_key:
            account = await service.create_account(self.store, keys, DEFAULT_ACCOUNT, api_key)
        # Derived, not stored: the same URL is printed on every start, and only its hash is kept.
        token = keys.derive_token(service.SERVER_TOKEN_PREFIX, f"default-read-only-server:{account.id}")
        if await self.store.server_by_token_hash(token_hash(token)) is None:
            await service.create_server(
                self.store, self.registry, account.id, "default (read-only)", {"methods": ["read"]}, token=token
            )
        return self.mcp_url(token)

    async def delete_expired(self) -> None:
        removed = await self.store.delete_expired_servers(self.clock())
        if removed:
            log.info("deleted %d expired MCP server(s)", removed)
        await self.store.oauth.delete_expired(self.clock())


def not_found() -> JSONResponse:
    # The same answer for unknown, revoked and expired tokens: no hint of which.
    return error_response(404, "not_found", NOT_FOUND_MESSAGE)


async def open_runtime(settings: Settings, keys: KeyBox | None) -> Runtime:
    """Open the store (checking that `keys` decrypt what it holds), the tools and the Stripe client."""
    registry = Registry(settings.generated_package, max_loaded_modules=settings.loaded_tools)
    store = open_store(settings.store_url)
    try:
        await check_store_keys(store, settings.store_url, keys)  # refuses a store these keys cannot open
    except BaseException:
        await store.close()
        raise
    upstream = Upstream(settings.stripe_base_url, timeout=httpx.Timeout(settings.upstream_timeout, connect=5.0))
    runtime = Runtime(settings, registry, store, keys, upstream)
    if settings.default_api_key and keys is not None:
        runtime.default_url = await runtime.ensure_default_server(keys, settings.default_api_key)
    return runtime


async def close_runtime(runtime: Runtime) -> None:
    await runtime.upstream.aclose()
    await runtime.store.close()


async def preflight(settings: Settings) -> None:
    """Open and close everything once, so that a bad store or key fails before the server starts listening."""
    await close_runtime(await open_runtime(settings, encryption_keys(settings.store_url)))
