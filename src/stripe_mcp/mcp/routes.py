"""The Starlette routes of every MCP URL, for an app to mount (web/app.py, the conformance toy server).

One dispatcher (`stripe_mcp.mcp.dispatch`) answers JSON-RPC messages for a `McpServer`;
three framings feed it:

* Streamable HTTP at ``/mcp/{token}`` (`stripe_mcp.mcp.streamable_http`), for the handshake
  eras 2025-03-26, 2025-06-18, 2025-11-25 and the stateless 2026-07-28 era;
* the deprecated HTTP+SSE transport of 2024-11-05 at ``/mcp/{token}/sse`` (`stripe_mcp.mcp.sse`);
* newline-delimited JSON-RPC over stdin/stdout (`stripe_mcp.mcp.stdio`).

None of it knows about Stripe: a per-URL `McpServer` supplies the tool list
(pre-serialized bytes) and executes calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from stripe_mcp.mcp.input_required import StateSeal
from stripe_mcp.mcp.security import TransportSecurity
from stripe_mcp.mcp.sessions import SessionSigner
from stripe_mcp.mcp.streamable_http import StreamableHttp
from stripe_mcp.mcp.types import Resolver

if TYPE_CHECKING:
    from stripe_mcp.mcp.sse import SseStream, SseTransport


def mcp_routes(
    resolve: Resolver,
    *,
    session_secret: bytes,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
) -> list[BaseRoute]:
    """Starlette routes serving every MCP URL: ``/mcp/{token}`` plus the legacy ``/sse`` pair.

    `resolve` finds the server of a URL token (or the response refusing it); `session_secret`
    signs the Mcp-Session-Id values and seals 2026-07-28 request states, so replicas sharing it
    accept each other's sessions and retries.
    `allowed_hosts` and `allowed_origins` extend the loopback defaults (see `TransportSecurity`).
    """
    security = TransportSecurity(allowed_hosts, allowed_origins)
    streamable = StreamableHttp(resolve, security, SessionSigner(session_secret), StateSeal(session_secret))
    sse = LegacySse(resolve, security)
    return [
        Route("/mcp/{token}", AsgiEndpoint(streamable.handle), methods=["GET", "POST", "DELETE"]),
        Route("/mcp/{token}/sse", sse.connect, methods=["GET"]),
        Route("/mcp/{token}/messages", sse.post_message, methods=["POST"]),
    ]


class LegacySse:
    """The deprecated HTTP+SSE transport, loaded with its first request: few clients still speak it, and
    start-up need not wait for it."""

    def __init__(self, resolve: Resolver, security: TransportSecurity) -> None:
        self.resolve, self.security = resolve, security

    @cached_property
    def transport(self) -> SseTransport:
        from stripe_mcp.mcp.sse import SseTransport

        return SseTransport(self.resolve, self.security)

    async def connect(self, request: Request) -> Response | SseStream:
        return await self.transport.connect(request)

    async def post_message(self, request: Request) -> Response:
        return await self.transport.post_message(request)


class AsgiEndpoint:
    """An endpoint as a plain ASGI app: the request in, its response out. Starlette wraps a function endpoint in a
    second exception layer per request; nearly every request is an MCP one, and the app's own layer sees the same."""

    def __init__(self, handle: Callable[[Request], Awaitable[ASGIApp]]) -> None:
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive, send))
        await response(scope, receive, send)
