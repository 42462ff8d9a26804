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

from collections.abc import Sequence

from starlette.routing import BaseRoute, Route

from stripe_mcp.mcp.input_required import StateSeal
from stripe_mcp.mcp.security import TransportSecurity
from stripe_mcp.mcp.sessions import SessionSigner
from stripe_mcp.mcp.sse import SseTransport
from stripe_mcp.mcp.streamable_http import StreamableHttp
from stripe_mcp.mcp.types import Resolver


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
    sse = SseTransport(resolve, security)
    return [
        Route("/mcp/{token}", streamable.handle, methods=["GET", "POST", "DELETE"]),
        Route("/mcp/{token}/sse", sse.connect, methods=["GET"]),
        Route("/mcp/{token}/messages", sse.post_message, methods=["POST"]),
    ]
