"""The Starlette application: MCP endpoints resolved per token from the store, the admin API and the console.

The admin API, the console and the OAuth endpoints are built on the first request that reaches them: most
servers never see one, and their modules (pydantic's admin models, the console's pages) are a third of
start-up's imports. Until then, a server answers tools/list sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from functools import cached_property

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from stripe_mcp.managed.secrets import KeyBox, encryption_keys
from stripe_mcp.mcp.routes import mcp_routes
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.tools.registry import trim_heap
from stripe_mcp.web.errors import http_exception
from stripe_mcp.web.host_check import HEALTH_PATH, HostCheck
from stripe_mcp.web.runtime import Runtime, close_runtime, open_runtime
from stripe_mcp.web.settings import Settings

log = logging.getLogger("stripe_mcp")
CLEANUP_EVERY_SECONDS = 60.0


def create_app(settings: Settings, on_ready: Callable[[Runtime], None] | None = None) -> Starlette:
    opened: list[Runtime] = []  # the runtime, once the lifespan has opened it
    keys = encryption_keys(settings.store_url)

    def runtime() -> Runtime:
        return opened[0]

    async def resolve(request: Request, token: str) -> McpServer | Response:
        return await runtime().resolve(request, token)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "tools": len(runtime().registry.tools)})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started = await open_runtime(settings, keys)
        # What start-up built lives as long as the process: the collector never walks it again, so the
        # collections that free evicted tool modules stay short. (Its few cycles of garbage, a few hundred
        # objects, are not worth a pass over the whole heap.) `serve` loads with the collector paused: resume it.
        gc.freeze()
        gc.enable()
        trim_heap()
        opened.append(started)
        background = [asyncio.create_task(clean_up_forever(started)), asyncio.create_task(started.flush_forever())]
        if on_ready is not None:
            on_ready(started)
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await close_runtime(started)  # flushes the store: what the last calls counted is kept

    # Replicas share the encryption key, so they agree on session ids without sticky sessions.
    session_secret = keys.derive_token("session", "mcp-session-ids").encode() if keys else secrets.token_bytes(32)
    routes = [
        # First: the router tries routes in order, and nearly every request is an MCP one.
        *mcp_routes(
            resolve,
            session_secret=session_secret,
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        ),
        Route(HEALTH_PATH, health),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(HostCheck, allowed_hosts=settings.allowed_hosts)],
        exception_handlers={HTTPException: http_exception},
    )
    app.router.redirect_slashes = False  # a redirect would echo the request's Host, and never fits a token URL
    # What no MCP route or the health check matched: the admin API, the console, OAuth, or a 404 from them.
    app.router.default = PeopleRoutes(runtime, settings, keys)
    return app


class PeopleRoutes:
    """The admin API, the console and the OAuth endpoints (where people and their clients sign in), as one router
    built on its first request."""

    def __init__(self, runtime_of: Callable[[], Runtime], settings: Settings, keys: KeyBox | None) -> None:
        self.runtime_of, self.settings, self.keys = runtime_of, settings, keys

    @cached_property
    def router(self) -> Router:
        from stripe_mcp.web.admin.routes import AdminApi
        from stripe_mcp.web.console.routes import Console
        from stripe_mcp.web.oauth.endpoints import OAuthEndpoints

        routes = [
            *AdminApi(self.runtime_of, self.settings.admin_token).routes(),
            *Console(self.runtime_of, self.settings, self.keys).routes(),
            *OAuthEndpoints(self.runtime_of).routes(),
        ]
        return Router(routes=routes, redirect_slashes=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router(scope, receive, send)


async def clean_up_forever(runtime: Runtime) -> None:
    """Delete expired servers now and then; resolve already refuses them by their expires_at."""
    while True:
        try:
            await runtime.delete_expired()
        except Exception:
            log.exception("expired-server clean-up failed; trying again later")
        await asyncio.sleep(CLEANUP_EVERY_SECONDS)
