"""The Host check every route passes first, against DNS rebinding: before routing, so that no redirect, 404,
page or MCP answer goes to a request for a host this server does not serve (loopback, `--allowed-host`, the
host of `--public-url`). Only the health check is exempt: load balancers probe it by address."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from stripe_mcp.mcp.jsonrpc import INVALID_REQUEST, JsonRpcError
from stripe_mcp.mcp.responses import error_response as mcp_error_response
from stripe_mcp.mcp.security import host_allowed
from stripe_mcp.web.errors import error_response

HEALTH_PATH = "/healthz"
MISDIRECTED = 421


class HostCheck:
    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        if host_allowed(Headers(scope=scope).get("host"), self.allowed_hosts):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/mcp/"):  # what MCP clients expect: a JSON-RPC error
            refusal = mcp_error_response(JsonRpcError(INVALID_REQUEST, "Invalid Host header", http_status=MISDIRECTED))
        else:
            message = "this server does not answer for that Host header (start it with --allowed-host to add one)"
            refusal = error_response(MISDIRECTED, "invalid_host", message)
        await refusal(scope, receive, send)
