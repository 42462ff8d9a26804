"""The MCP wire protocol, written against Starlette without any MCP server SDK.

One dispatcher (`dispatch` / `dispatch_batch`) answers JSON-RPC messages for a
`McpServer`; three framings feed it:

* Streamable HTTP at ``/mcp/{token}`` (``mcp_routes``), for the handshake eras
  2025-03-26, 2025-06-18, 2025-11-25 and the stateless 2026-07-28 era, routed on
  the ``MCP-Protocol-Version`` header;
* the deprecated HTTP+SSE transport of 2024-11-05 at ``/mcp/{token}/sse``;
* newline-delimited JSON-RPC over stdin/stdout (``stripe_mcp.mcp.stdio``).

The transport knows nothing about Stripe: a per-URL ``McpServer`` supplies the
tool list (pre-serialized bytes) and executes calls.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from stripe_mcp.mcp.cancellation import InFlight, is_cancellation, until_disconnect, wait_disconnect
from stripe_mcp.mcp.dispatch import Reply, dispatch, dispatch_batch, dispatch_message, error_reply
from stripe_mcp.mcp.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    Envelope,
    JsonRpcError,
    error_bytes,
    one_line,
    parse_envelope,
    request_id_of,
)
from stripe_mcp.mcp.modern import envelope_error, header_version
from stripe_mcp.mcp.security import TransportSecurity, accepts_json, is_json_content, read_message
from stripe_mcp.mcp.sessions import HEADER_SESSION, SessionSigner
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.mcp.versions import (
    BATCH_VERSION,
    DEFAULT_HEADER_VERSION,
    HEADER_VERSION,
    LEGACY_VERSIONS,
    SSE_VERSION,
    SUPPORTED_VERSIONS,
    unsupported_version,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- protocol constants

SSE_KEEPALIVE_SECONDS = 15.0
SSE_QUEUE_SIZE = 64  # undelivered replies per legacy SSE session

Resolver = Callable[[Request, str], Awaitable["McpServer | Response"]]


# --------------------------------------------------------------------------- HTTP helpers


def _json_response(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


def _error_response(error: JsonRpcError) -> Response:
    return _json_response(error_bytes(None, error), error.http_status, error.headers)


def _http_error(status: int, code: int, message: str) -> Response:
    return _error_response(JsonRpcError(code, message, http_status=status))


def _reply_response(reply: Reply, extra_headers: Mapping[str, str] | None = None) -> Response:
    headers = {k: v for k, v in reply.headers.items() if k.lower() not in ("content-type", "content-length")}
    headers.update(extra_headers or {})
    if reply.body is None:
        return Response(status_code=202, headers=headers)
    return _json_response(reply.body, reply.status, headers)


# --------------------------------------------------------------------------- legacy HTTP+SSE sessions


@dataclass
class SseSession:
    """One 2024-11-05 HTTP+SSE session, kept in this process's memory.

    That is inherent to the legacy transport: replies to the POSTs go out on the GET stream,
    which only the process holding it can write to. A client whose stream breaks (or lands on
    another replica) opens a new one; Streamable HTTP has no such state.
    """

    token: str
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(SSE_QUEUE_SIZE))
    version: str = SSE_VERSION
    in_flight: InFlight = field(default_factory=InFlight)


def _sse_event(event: str, data: bytes) -> bytes:
    return b"event: " + event.encode() + b"\r\ndata: " + one_line(data) + b"\r\n\r\n"


class SseStream:
    """The GET side of a 2024-11-05 session: the endpoint event, then replies as `message` events."""

    def __init__(self, endpoint: str, session: SseSession, on_close: Callable[[], object]) -> None:
        self.endpoint = endpoint
        self.session = session
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = asyncio.ensure_future(self._pump(send))
        watch = asyncio.ensure_future(wait_disconnect(receive))
        try:
            await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                task.cancel()
            await asyncio.gather(pump, watch, return_exceptions=True)
            self.session.in_flight.cancel_all()
            self.on_close()

    async def _pump(self, send: Send) -> None:
        headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-cache, no-transform"),
            (b"x-accel-buffering", b"no"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        first = _sse_event("endpoint", self.endpoint.encode())
        await send({"type": "http.response.body", "body": first, "more_body": True})
        while True:
            try:
                message = await asyncio.wait_for(self.session.queue.get(), SSE_KEEPALIVE_SECONDS)
                chunk = _sse_event("message", message)
            except TimeoutError:
                chunk = b": keepalive\r\n\r\n"
            await send({"type": "http.response.body", "body": chunk, "more_body": True})


# --------------------------------------------------------------------------- the routes


class _Transport:
    def __init__(
        self, resolve: Resolver, secret: bytes, allowed_hosts: Sequence[str], allowed_origins: Sequence[str]
    ) -> None:
        self.resolve = resolve
        self.signer = SessionSigner(secret)
        self.security = TransportSecurity(allowed_hosts, allowed_origins)
        # Legacy HTTP+SSE sessions live in this process: the reply to a POST must go out on the
        # GET stream held open by this very process, so that transport cannot be stateless.
        self.sse_sessions: dict[str, SseSession] = {}

    def guard(self, request: Request) -> Response | None:
        """DNS-rebinding protection."""
        refusal = self.security.refusal(request)
        return None if refusal is None else _error_response(refusal)

    async def server_for(self, request: Request, token: str) -> McpServer | Response:
        try:
            return await self.resolve(request, token)
        except Exception:
            logger.exception("MCP server lookup failed")
            return _http_error(200, INTERNAL_ERROR, "Internal error")

    # ---- Streamable HTTP

    async def streamable(self, request: Request) -> Response:
        token = request.path_params["token"]
        if (refusal := self.guard(request)) is not None:
            return refusal
        server = await self.server_for(request, token)
        if isinstance(server, Response):
            return server
        if request.method != "POST":
            # No server-initiated stream, and signed sessions hold nothing that DELETE could end.
            return Response(status_code=405, headers={"Allow": "POST"})
        if not is_json_content(request):
            return _http_error(415, INVALID_REQUEST, "Content-Type must be application/json")
        if not accepts_json(request):
            return _http_error(406, INVALID_REQUEST, "Accept must allow application/json")
        try:
            message = await read_message(request)
        except JsonRpcError as error:
            return _error_response(error)
        header_version = request.headers.get(HEADER_VERSION)
        if header_version is None or header_version.strip() in LEGACY_VERSIONS:
            return await self._legacy_post(request, server, token, message, header_version)
        return await self._modern_post(request, server, message)

    async def _legacy_post(
        self, request: Request, server: McpServer, token: str, message: Any, header_version: str | None
    ) -> Response:
        is_initialize = isinstance(message, dict) and message.get("method") == "initialize"
        session_id = request.headers.get(HEADER_SESSION)
        session_version = None
        if session_id is not None and not is_initialize:
            session_version = self.signer.verify(session_id, token)
            if session_version is None:
                return _http_error(404, INVALID_REQUEST, "Session not found")
        elif not is_initialize:
            return _http_error(400, INVALID_REQUEST, "Missing Mcp-Session-Id header")
        version = (header_version or "").strip() or session_version or DEFAULT_HEADER_VERSION
        if isinstance(message, list):
            if version != BATCH_VERSION:
                return _http_error(400, INVALID_REQUEST, f"Batches are not supported at protocol version {version}")
            return _reply_response(await dispatch_batch(server, message, version, depth_checked=True))
        reply = await dispatch_message(server, message, version, depth_checked=True)
        extra = {}
        if reply.negotiated is not None:
            extra["Mcp-Session-Id"] = self.signer.issue(token, reply.negotiated)
        return _reply_response(reply, extra)

    async def _modern_post(self, request: Request, server: McpServer, message: Any) -> Response:
        version = header_version(request.headers)
        if isinstance(message, list):
            return _http_error(400, INVALID_REQUEST, "Batches are not supported at this protocol version")
        envelope = parse_envelope(message)
        if envelope is None or (isinstance(envelope, Envelope) and envelope.is_notification):
            if version not in SUPPORTED_VERSIONS:
                return _error_response(unsupported_version(version))
            return Response(status_code=202)  # this era defines no client notifications over HTTP
        if isinstance(envelope, JsonRpcError):
            return _reply_response(error_reply(request_id_of(message), envelope, version))
        refusal = envelope_error(envelope, request.headers)
        if refusal is not None:
            return _reply_response(error_reply(envelope.request_id, refusal, version))
        reply = await until_disconnect(request.receive, dispatch(server, envelope, version))
        if reply is None:
            return Response(status_code=204)  # the client went away: its request was cancelled
        return _reply_response(reply)

    # ---- legacy HTTP+SSE (2024-11-05)

    async def sse_stream(self, request: Request) -> Response | SseStream:
        token = request.path_params["token"]
        if (refusal := self.guard(request)) is not None:
            return refusal
        server = await self.server_for(request, token)
        if isinstance(server, Response):
            return server
        session_id = secrets.token_hex(16)
        session = SseSession(token)
        self.sse_sessions[session_id] = session
        root = request.scope.get("root_path", "")
        endpoint = f"{root}/mcp/{quote(token, safe='')}/messages?session_id={session_id}"
        return SseStream(endpoint, session, lambda: self.sse_sessions.pop(session_id, None))

    async def sse_message(self, request: Request) -> Response:
        token = request.path_params["token"]
        if (refusal := self.guard(request)) is not None:
            return refusal
        session_id = request.query_params.get("session_id", "")
        if not re.fullmatch(r"[0-9a-f]{32}", session_id):
            return _http_error(400, INVALID_REQUEST, "Missing or malformed session_id")
        session = self.sse_sessions.get(session_id)
        if session is None or not hmac.compare_digest(session.token, token):
            return _http_error(404, INVALID_REQUEST, "Session not found")
        server = await self.server_for(request, token)
        if isinstance(server, Response):
            return server
        if not is_json_content(request):
            return _http_error(415, INVALID_REQUEST, "Content-Type must be application/json")
        try:
            message = await read_message(request)
        except JsonRpcError as error:
            return _error_response(error)
        if isinstance(message, list):
            return _http_error(400, INVALID_REQUEST, "Batches are not supported at protocol version 2024-11-05")
        if is_cancellation(message):
            session.in_flight.cancel(message.get("params"))
            return Response("Accepted", status_code=202)
        if session.in_flight.full() or session.queue.full():
            return _http_error(429, INVALID_REQUEST, "Too many pending requests on this session")
        session.in_flight.start(request_id_of(message), _answer_on_stream(server, session, message))
        return Response("Accepted", status_code=202)


async def _answer_on_stream(server: McpServer, session: SseSession, message: Any) -> None:
    reply = await dispatch_message(server, message, session.version, depth_checked=True)
    if reply.negotiated is not None:
        session.version = reply.negotiated
    if reply.body is None:
        return
    try:
        await asyncio.wait_for(session.queue.put(reply.body), SSE_KEEPALIVE_SECONDS)
    except TimeoutError:
        logger.warning("Dropped an MCP reply: the SSE client is not reading its stream")


def mcp_routes(
    resolve: Resolver,
    *,
    session_secret: bytes,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
) -> list[BaseRoute]:
    """Starlette routes serving every MCP URL: ``/mcp/{token}`` plus the legacy ``/sse`` pair.

    `allowed_hosts` entries match a Host header exactly, by host name alone, or as ``name:*``;
    `allowed_origins` entries match an Origin exactly or as ``scheme://name:*``. Loopback
    hosts and origins are always allowed.
    """
    transport = _Transport(resolve, session_secret, allowed_hosts, allowed_origins)
    return [
        Route("/mcp/{token}", transport.streamable, methods=["GET", "POST", "DELETE"]),
        Route("/mcp/{token}/sse", transport.sse_stream, methods=["GET"]),
        Route("/mcp/{token}/messages", transport.sse_message, methods=["POST"]),
    ]
