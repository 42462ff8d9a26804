"""The Starlette application: MCP endpoints resolved per token from the store, and the admin API."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stripe_mcp.managed import service
from stripe_mcp.managed.budgets import BudgetRule
from stripe_mcp.managed.secrets import (
    KeyBox,
    MissingEncryptionKey,
    encryption_keys,
    same_hash,
    token_hash,
)
from stripe_mcp.managed.store import DEFAULT_STORE_URL, open_store
from stripe_mcp.managed.store.base import ServerRecord, Store
from stripe_mcp.mcp.jsonrpc import JsonRpcError
from stripe_mcp.mcp.transport import mcp_routes
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.stripe_api.client import DEFAULT_BASE_URL, Upstream
from stripe_mcp.tools.chatgpt import ChatGptServer
from stripe_mcp.tools.discovery import DiscoveryServer, SearchIndex
from stripe_mcp.tools.filters import (
    ToolFilter,
    allowed_tools,
    budget_headers,
)
from stripe_mcp.tools.registry import (
    DEFAULT_MAX_LOADED_MODULES,
    DEFAULT_PACKAGE,
    Registry,
    release_memory,
)
from stripe_mcp.tools.server import Account, StripeMcpServer
from stripe_mcp.web.admin import AdminApi
from stripe_mcp.web.console import Console

log = logging.getLogger("stripe_mcp")
RESOLVE_CACHE_SECONDS = 0.5  # a revoke or an expiry seen by any replica holds everywhere within a second
CLEANUP_EVERY_SECONDS = 60.0
DEFAULT_ACCOUNT = "default"
BUDGET_EXCEEDED = -32029


@dataclass
class Settings:
    store_url: str = DEFAULT_STORE_URL
    stripe_base_url: str = DEFAULT_BASE_URL
    stripe_version: str | None = None  # default: the API version of the generated tools
    public_url: str = "http://127.0.0.1:8000"
    default_api_key: str | None = None
    admin_token: str | None = None
    upstream_timeout: float = 30.0
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    server_budget: BudgetRule = BudgetRule(50, 10)
    account_budget: BudgetRule = BudgetRule(50, 10)
    generated_package: str = DEFAULT_PACKAGE
    loaded_tools: int = DEFAULT_MAX_LOADED_MODULES  # tool modules kept imported: memory against re-imports
    clock: Callable[[], float] = time.time  # injectable, for expiry tests


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

    def tool_names_for(self, config: dict[str, Any]) -> tuple[str, ...]:
        return allowed_tools(self.registry, ToolFilter(tuple(config.get("methods", ())), tuple(config.get("tags", ()))))

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
        if cached.record.config.get("require_api_token_auth") and not await self._api_token_ok(request):
            return JSONResponse(
                {
                    "error": {
                        "code": "unauthorized",
                        "message": "this MCP server needs Authorization: Bearer <api token>",
                    }
                },
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
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
            ToolFilter(tuple(record.config.get("methods", ())), tuple(record.config.get("tags", ()))),
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

    async def _api_token_ok(self, request: Request) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            return False
        return await self.store.api_token_by_hash(token_hash(credentials.strip())) is not None

    async def ensure_default_server(self, api_key: str) -> str:
        """The integrated account of STRIPE_API_KEY and a read-only server on it; returns its MCP URL."""
        assert self.keys is not None
        account = await self.store.find_account_by_name(DEFAULT_ACCOUNT)
        if account is None or self.keys.decrypt(account.encrypted_key) != api_key:
            account = await service.create_account(self.store, self.keys, DEFAULT_ACCOUNT, api_key)
        # Derived, not stored: the same URL is printed on every start, and only its hash is kept.
        token = self.keys.derive_token(service.SERVER_TOKEN_PREFIX, f"default-read-only-server:{account.id}")
        if await self.store.server_by_token_hash(token_hash(token)) is None:
            await service.create_server(
                self.store, self.registry, account.id, "default (read-only)", {"methods": ["read"]}, token=token
            )
        return self.mcp_url(token)

    async def delete_expired(self) -> None:
        removed = await self.store.delete_expired_servers(self.clock())
        if removed:
            log.info("deleted %d expired MCP server(s)", removed)


def not_found() -> Response:
    # The same answer for unknown, revoked and expired tokens: no hint of which.
    return JSONResponse({"error": {"code": "not_found", "message": "no MCP server at this URL"}}, status_code=404)


async def open_runtime(settings: Settings, keys: KeyBox | None) -> Runtime:
    registry = Registry(settings.generated_package, max_loaded_modules=settings.loaded_tools)
    store = open_store(settings.store_url)
    try:
        accounts = await store.list_accounts()
        if accounts and keys is None:
            raise MissingEncryptionKey(
                "the store holds encrypted Stripe keys but STRIPE_MCP_ENCRYPTION_KEY is not set; refusing to start"
            )
        if accounts:
            keys.decrypt(accounts[0].encrypted_key)
        if settings.default_api_key and keys is None:
            raise MissingEncryptionKey("set STRIPE_MCP_ENCRYPTION_KEY to store the Stripe key of STRIPE_API_KEY")
    except BaseException:
        await store.close()
        raise
    upstream = Upstream(settings.stripe_base_url, timeout=httpx.Timeout(settings.upstream_timeout, connect=5.0))
    runtime = Runtime(settings, registry, store, keys, upstream)
    if settings.default_api_key:
        runtime.default_url = await runtime.ensure_default_server(settings.default_api_key)
    return runtime


async def preflight(settings: Settings) -> None:
    """Open and close everything once, so that a bad store or key fails before the server starts listening."""
    runtime = await open_runtime(settings, encryption_keys(settings.store_url))
    await runtime.upstream.aclose()
    await runtime.store.close()


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: the message plus the structured fields given as `extra`."""

    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in self.STANDARD})
        return json.dumps(line, default=str)


def configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger("stripe_mcp")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def create_app(settings: Settings, on_ready: Callable[[Runtime], None] | None = None) -> Starlette:
    state: dict[str, Runtime] = {}
    keys = encryption_keys(settings.store_url)

    async def resolve(request: Request, token: str) -> McpServer | Response:
        return await state["runtime"].resolve(request, token)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "tools": len(state["runtime"].registry.tools)})

    async def clean_up_forever(runtime: Runtime) -> None:
        while True:
            try:
                await runtime.delete_expired()
            except Exception:
                log.exception("expired-server clean-up failed; trying again later")
            await asyncio.sleep(CLEANUP_EVERY_SECONDS)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await open_runtime(settings, keys)
        # What start-up built lives as long as the process: return its garbage to the OS, then keep the
        # collector from walking the rest again, so the collections that free evicted tool modules stay short.
        release_memory()
        gc.freeze()
        state["runtime"] = runtime
        app.state.runtime = runtime
        cleaner = asyncio.create_task(clean_up_forever(runtime))
        if on_ready is not None:
            on_ready(runtime)
        try:
            yield
        finally:
            cleaner.cancel()
            await asyncio.gather(cleaner, return_exceptions=True)
            await runtime.upstream.aclose()
            await runtime.store.close()

    # Replicas share the encryption key, so they agree on session ids without sticky sessions.
    session_secret = keys.derive_token("session", "mcp-session-ids").encode() if keys else secrets.token_bytes(32)
    admin = AdminApi(lambda: state["runtime"], settings.admin_token)
    console = Console(lambda: state["runtime"], settings, keys)
    routes = [
        Route("/healthz", health),
        *admin.routes(),
        *console.routes(),
        *mcp_routes(
            resolve,
            session_secret=session_secret,
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        ),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
