"""What the HTTP transports answer with: JSON bodies, JSON-RPC errors and dispatcher replies."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from stripe_mcp.mcp.dispatch import Reply
from stripe_mcp.mcp.jsonrpc import INTERNAL_ERROR, JsonRpcError, error_bytes
from stripe_mcp.mcp.types import McpServer, Resolver

logger = logging.getLogger(__name__)


def json_response(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


def error_response(error: JsonRpcError) -> Response:
    """An error about the request as a whole (id null), with the error's own HTTP status."""
    return json_response(error_bytes(None, error), error.http_status, error.headers)


def http_error(status: int, code: int, message: str) -> Response:
    return error_response(JsonRpcError(code, message, http_status=status))


def reply_response(reply: Reply, extra_headers: Mapping[str, str] | None = None) -> Response:
    headers = {k: v for k, v in reply.headers.items() if k.lower() not in ("content-type", "content-length")}
    headers.update(extra_headers or {})
    if reply.body is None:
        return Response(status_code=202, headers=headers)
    return json_response(reply.body, reply.status, headers)


async def find_server(resolve: Resolver, request: Request, token: str) -> McpServer | Response:
    """The URL's server, or the response that ends the request; a failing lookup is never a 500."""
    try:
        return await resolve(request, token)
    except Exception:
        logger.exception("MCP server lookup failed")
        return http_error(200, INTERNAL_ERROR, "Internal error")
