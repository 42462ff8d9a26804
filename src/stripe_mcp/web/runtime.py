"""The per-process runtime: the store, the tools and Stripe, opened once; MCP servers resolved from URL tokens.

A resolved server is built once (its Stripe key decrypted, its tools decided) and kept while its record in the
store stays the same: every RESOLVE_CACHE_SECONDS a request reads the record again (one indexed read), so a
revoke, an expiry or a change seen by any replica holds here within a second. At most RESOLVE_CACHE_SIZE
servers are kept, the least recently used going first. Each tool call first takes the server's and the
account's budgets and counts towards the usage the console shows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stripe_mcp.managed import service
from stripe_mcp.managed.budgets import BudgetTake
from stripe_mcp.managed.secrets import KeyBox, encryption_keys, same_hash, token_hash
from stripe_mcp.managed.store import open_store
from stripe_mcp.managed.store.base import FLUSH_SECONDS, ServerRecord, Store
from stripe_mcp.managed.store_keys import check_store_keys
from stripe_mcp.mcp.jsonrpc import JsonRpcError
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.stripe_api.client import Timeouts, Upstream
from stripe_mcp.tools.ratelimit import budget_headers
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from stripe_mcp.web.credentials import bearer_token
from stripe_mcp.web.errors import error_response, unauthorized
from stripe_mcp.web.oauth.metadata import bearer_challenge
from stripe_mcp.web.settings import Settings

if TYPE_CHECKING:
    from stripe_mcp.tools.approval_gate import ApprovalGate
    from stripe_mcp.tools.ranking import SearchIndex

log = logging.getLogger("stripe_mcp")
RESOLVE_CACHE_SECONDS = 0.5  # a revoke or an expiry seen by any replica holds everywhere within a second
RESOLVE_CACHE_SIZE = 1024  # servers kept built; one costs ~3 KB (its tool names are shared per filter)
DEFAULT_ACCOUNT = "default"
BUDGET_EXCEEDED = -32029
NOT_FOUND_MESSAGE = (
    "No MCP server at this URL: it may be mistyped, revoked or expired. "
    "Ask the admin who gave it to you for a new URL (they can see its state in the admin console)."
)
STORE_UNAVAILABLE = -32053  # in the implementation-defined range, after HTTP's 503
STORE_UNAVAILABLE_MESSAGE = "the store is unavailable; nothing was sent to Stripe"
API_TOKEN_TOUCH_SECONDS = 60.0  # an API token's last use is written at most this often per process


@dataclass
class _Cached:
    server: McpServer
    record: ServerRecord
    until: float  # when the record is read again (time.monotonic)


@dataclass
class Runtime:
    """Everything a request needs, opened once per process."""

    settings: Settings
    registry: Registry
    store: Store
    keys: KeyBox | None
    upstream: Upstream
    default_url: str | None = None
    default_revoked_at: float | None = None  # when the default server of STRIPE_API_KEY was revoked, if it was
    default_account_id: str | None = None
    _servers: OrderedDict[str, _Cached] = field(default_factory=OrderedDict)  # by token hash, least recent first
    _token_touched: dict[str, float] = field(default_factory=dict)  # API token id -> when its use was last written

    @property
    def stripe_version(self) -> str:
        return self.settings.stripe_version or self.registry.api_version

    def clock(self) -> float:
        return self.settings.clock()

    def mcp_url(self, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/mcp/{token}"

    @property
    def approvals_url(self) -> str | None:
        """Where a person decides pending approvals: the console, when it is open."""
        return f"{self.settings.public_url.rstrip('/')}/admin/approvals" if self.settings.admin_token else None

    def forget_servers(self) -> None:
        """Drop this replica's cache at once (others follow within RESOLVE_CACHE_SECONDS)."""
        self._servers.clear()

    async def resolve(self, request: Request, token: str) -> McpServer | Response:
        try:
            return await self._resolve(request, token)
        except self.store.unavailable:
            log.exception("the store is unavailable")
            return error_response(503, "store_unavailable", STORE_UNAVAILABLE_MESSAGE)

    async def _resolve(self, request: Request, token: str) -> McpServer | Response:
        hashed = token_hash(token)
        cached = self._servers.get(hashed)
        if cached is None or cached.until < time.monotonic():
            cached = await self._load(hashed, cached)
            if cached is None:
                return not_found()
        self._servers.move_to_end(hashed)
        if cached.record.expires_at is not None and cached.record.expires_at <= self.clock():
            return not_found()
        if service.uses_oauth(cached.record.config):
            refusal = await self._oauth_refusal(request, cached.record)
            if refusal is not None:
                return refusal
        elif cached.record.config.get("require_api_token_auth") and not await self._api_token_ok(
            request, cached.record.account_id
        ):
            return unauthorized(
                "this MCP server needs Authorization: Bearer <api token>, with a token that is not revoked, "
                "not expired and not limited to another account"
            )
        return cached.server

    async def _load(self, hashed: str, stale: _Cached | None) -> _Cached | None:
        """The server of a token hash, read again from the store; built anew only when its record changed."""
        record = await self.store.server_by_token_hash(hashed)
        if record is None or not same_hash(record.token_hash, hashed):
            self._servers.pop(hashed, None)
            return None
        if stale is not None and stale.record == record and self._servers.get(hashed) is stale:
            stale.until = time.monotonic() + RESOLVE_CACHE_SECONDS
            return stale
        server = await self._build(record)
        if server is None:
            self._servers.pop(hashed, None)
            return None
        cached = self._servers[hashed] = _Cached(server, record, time.monotonic() + RESOLVE_CACHE_SECONDS)
        while len(self._servers) > RESOLVE_CACHE_SIZE:
            self._servers.popitem(last=False)
        return cached

    async def _build(self, record: ServerRecord) -> McpServer | None:
        account = await self.store.get_account(record.account_id)
        if account is None or self.keys is None:
            return None

        takes = self.budget_takes(record)

        async def take_budgets() -> JsonRpcError | None:
            refusal = await self.take_budgets(takes)
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
            approvals=self.approval_gate(record),
        )
        return self.expose(server, record.config.get("tool_exposure", "all"))

    def approval_gate(self, record: ServerRecord) -> ApprovalGate | None:
        """The server's approval gate, keeping approvals in the store that every replica shares."""
        mode = record.config.get("approval", "none")
        if mode == "none":
            return None
        # This module, discovery's, ChatGPT's and OAuth's load with the first server that uses them: tools/list
        # of a plain server, what start-up waits for, needs none.
        from stripe_mcp.tools.approval_gate import ApprovalGate

        return ApprovalGate(
            mode,
            server_id=record.id,
            account_id=record.account_id,
            book=self.store,
            console_url=self.approvals_url,
            ttl=self.settings.approval_ttl,
            clock=self.clock,
        )

    def expose(self, server: StripeMcpServer, exposure: str) -> McpServer:
        """The tools an agent sees: all of them, the three discovery tools, or ChatGPT's search and fetch."""
        if exposure == "discovery":
            from stripe_mcp.tools.discovery import DiscoveryServer

            return DiscoveryServer(server, self.search_index)
        if exposure == "chatgpt":
            from stripe_mcp.tools.chatgpt import ChatGptServer

            return ChatGptServer(server)
        return server

    @cached_property
    def search_index(self) -> SearchIndex:
        from stripe_mcp.tools.ranking import SearchIndex

        return SearchIndex(self.registry)

    def budget_takes(self, record: ServerRecord) -> list[BudgetTake]:
        """What one call of the server takes: one call of its own budget and one of its account's."""
        return [
            BudgetTake(f"server:{record.id}", self.settings.server_budget),
            BudgetTake(f"account:{record.account_id}", self.settings.account_budget),
        ]

    async def take_budgets(self, takes: list[BudgetTake]) -> JsonRpcError | None:
        """The runaway-agent guard: a call over the server's or the account's budget never reaches Stripe, nor one
        whose budget cannot be taken because the store is unavailable. `takes`: the server's budget_takes."""
        try:
            return await self._take_budgets(takes)
        except self.store.unavailable:
            log.exception("the store is unavailable")
            return JsonRpcError(STORE_UNAVAILABLE, STORE_UNAVAILABLE_MESSAGE, http_status=503)

    async def _take_budgets(self, takes: list[BudgetTake]) -> JsonRpcError | None:
        budgets = await self.store.take_budgets(takes, self.clock())
        if budgets[0].allowed:
            return None
        scopes = (("server", self.settings.server_budget), ("account", self.settings.account_budget))
        # The budget without room is the one with none left (the other's own count was not taken).
        (scope, rule), budget = next(((s, b) for s, b in zip(scopes, budgets, strict=True) if b.remaining == 0))
        return JsonRpcError(
            BUDGET_EXCEEDED,
            f"Request budget of this {scope} exceeded ({rule.limit} tool calls per {rule.window_seconds} s); "
            f"retry after {budget.reset_seconds} s",
            data={"scope": scope, "retry_after": budget.reset_seconds},
            http_status=429,
            headers=budget_headers(budget.limit, budget.remaining, budget.reset_seconds),
        )

    async def record_call(self, record: ServerRecord) -> None:
        """Usage for the console (last used, calls in 24 h): a call the budgets let through (its arguments are
        checked after). Counted in memory and written at the store's next flush (`flush_forever`)."""
        await service.record_call(self.store, record.id, self.clock())

    async def _oauth_refusal(self, request: Request, record: ServerRecord) -> Response | None:
        """None when the request carries an access token issued for this server's URL; else the 401 (RFC 9728)."""
        from stripe_mcp.managed.oauth.grants import verify_access

        token = bearer_token(request)
        if token is not None and await verify_access(
            self.store.oauth, token, record.id, self.mcp_url(record.id), self.clock()
        ):
            return None
        return bearer_challenge(self.settings.public_url, record.id, invalid_token=token is not None)

    async def _api_token_ok(self, request: Request, account_id: str) -> bool:
        """A bearer API token that holds (looked up on every request: a revoke holds at once on every replica) and
        opens this account's servers; its use is noted, at most once a minute per token and process."""
        token = bearer_token(request)
        if token is None:
            return False
        now = self.clock()
        record = await service.api_token(self.store, token, now)
        if record is None or not service.token_opens(record, account_id):
            return False
        if now - self._token_touched.get(record.id, 0.0) >= API_TOKEN_TOUCH_SECONDS:
            self._token_touched[record.id] = now
            try:
                await self.store.touch_api_token(record.id, now)
            except Exception:  # statistics never fail a call
                log.exception("recording the use of API token %s failed", record.id)
        return True

    async def ensure_default_server(self, keys: KeyBox, api_key: str) -> str | None:
        """The integrated account of STRIPE_API_KEY and a read-only server on it; returns its MCP URL, or None when
        that server was revoked (`default_revoked_at` then says when): a revoke holds across restarts."""
        account = await self.store.find_account_by_name(DEFAULT_ACCOUNT)
        if account is None or keys.decrypt(account.encrypted_key) != api_key:
            account = await service.create_account(self.store, keys, DEFAULT_ACCOUNT, api_key)
        self.default_account_id = account.id
        token = service.default_server_token(keys, account.id)
        if await self.store.server_by_token_hash(token_hash(token)) is None:
            revoked_at = await self.store.revocation(service.default_server_revocation(account.id), self.clock())
            if revoked_at is not None:
                self.default_revoked_at = revoked_at
                return None
            await service.create_server(
                self.store, self.registry, account.id, "default (read-only)", {"methods": ["read"]}, token=token
            )
        return self.mcp_url(token)

    async def flush_forever(self) -> None:
        """Write what the store counts in memory (usage; budget calls on SQLite) every FLUSH_SECONDS."""
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.store.flush()
            except Exception:  # kept in memory for the next try; a call is never failed for it
                log.exception("flushing usage and budget counts to the store failed; trying again")

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
    store = await open_checked_store(settings.store_url, keys)
    upstream = Upstream(settings.stripe_base_url, timeout=Timeouts(settings.upstream_timeout, connect=5.0))
    runtime = Runtime(settings, registry, store, keys, upstream)
    if settings.default_api_key and keys is not None:
        runtime.default_url = await runtime.ensure_default_server(keys, settings.default_api_key)
    return runtime


async def open_checked_store(store_url: str, keys: KeyBox | None) -> Store:
    """The store, once `keys` are known to decrypt what it holds (refused otherwise, the store closed)."""
    store = open_store(store_url)
    try:
        await check_store_keys(store, store_url, keys)
    except BaseException:
        await store.close()
        raise
    return store


async def close_runtime(runtime: Runtime) -> None:
    await runtime.upstream.aclose()
    try:
        await runtime.store.close()  # flushes first
    except runtime.store.unavailable:
        log.exception("the store is unavailable: the usage and budget counts of the last 0.5 s are lost")


async def preflight(settings: Settings) -> None:
    """Open the store and check the keys against it once, so that a bad store or key fails before the server
    starts listening. (The tools are read once, when the server opens its runtime.)"""
    store = await open_checked_store(settings.store_url, encryption_keys(settings.store_url))
    await store.close()
