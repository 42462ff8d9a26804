"""The deprecated HTTP+SSE transport of 2024-11-05: ``GET /mcp/{token}/sse`` opens a stream whose
first event names the POST endpoint (``/mcp/{token}/messages?session_id=...``); each POST is
answered 202 and its reply goes out on the stream as a `message` event.

Sessions live in this process, so they are bounded: SSE_MAX_SESSIONS in all and
SSE_MAX_SESSIONS_PER_URL per MCP URL (429 beyond), and SSE_MAX_PENDING_BYTES of replies waiting for a
stream's client to read them. A POST finding that much waiting is refused (429); a reply that would pass
it is replaced by a short error saying so (-32013); a stream whose client takes no chunk for
SSE_SEND_SECONDS is ended, with its session.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from stripe_mcp.mcp.cancellation import InFlight, is_cancellation, wait_disconnect
from stripe_mcp.mcp.dispatch import dispatch_message
from stripe_mcp.mcp.jsonrpc import (
    INVALID_REQUEST,
    RESPONSE_TOO_LARGE,
    JsonRpcError,
    error_bytes,
    one_line,
    request_id_of,
)
from stripe_mcp.mcp.responses import error_response, find_server, http_error
from stripe_mcp.mcp.security import TransportSecurity, is_json_content, read_message
from stripe_mcp.mcp.types import McpServer, Resolver
from stripe_mcp.mcp.versions import SSE_VERSION

logger = logging.getLogger(__name__)

SSE_KEEPALIVE_SECONDS = 15.0
SSE_QUEUE_SIZE = 64  # undelivered replies per legacy SSE session
SSE_MAX_PENDING_BYTES = 4 * 1024 * 1024  # undelivered reply bytes per session
SSE_SEND_SECONDS = 30.0  # a client that takes no chunk of its stream for this long is dropped
SSE_MAX_SESSIONS = 100  # open legacy SSE streams per process
SSE_MAX_SESSIONS_PER_URL = 10  # open legacy SSE streams per MCP URL


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
    pending_bytes: int = 0  # of the replies in `queue`

    def backlogged(self) -> bool:
        return self.queue.full() or self.pending_bytes >= SSE_MAX_PENDING_BYTES

    def fits(self, size: int) -> bool:
        # A reply larger than the limit still goes out on a stream that has nothing else waiting.
        return not self.queue.full() and (self.pending_bytes == 0 or self.pending_bytes + size <= SSE_MAX_PENDING_BYTES)

    def put(self, reply: bytes) -> None:
        self.pending_bytes += len(reply)
        self.queue.put_nowait(reply)

    async def take(self) -> bytes:
        reply = await self.queue.get()
        self.pending_bytes -= len(reply)
        return reply


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
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation that ends the stream when
        # its inner await finishes at the same moment, and the pump would outlive its client.
        while True:
            try:
                async with asyncio.timeout(SSE_KEEPALIVE_SECONDS):
                    message = await self.session.take()
                chunk = _sse_event("message", message)
            except TimeoutError:
                chunk = b": keepalive\r\n\r\n"
            try:
                async with asyncio.timeout(SSE_SEND_SECONDS):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except TimeoutError:
                logger.warning(
                    "Ended a legacy SSE session: its client took nothing from its stream for %gs", SSE_SEND_SECONDS
                )
                return


class SseTransport:
    """`connect` serves the GET stream, `post_message` the POSTs of the session it opened."""

    def __init__(self, resolve: Resolver, security: TransportSecurity) -> None:
        self.resolve = resolve
        self.security = security
        # The reply to a POST must go out on the GET stream held open by this very process,
        # so this transport cannot be stateless.
        self.sessions: dict[str, SseSession] = {}

    async def connect(self, request: Request) -> Response | SseStream:
        token = request.path_params["token"]
        if (refusal := self.security.refusal(request)) is not None:
            return error_response(refusal)
        server = await find_server(self.resolve, request, token)
        if isinstance(server, Response):
            return server
        if len(self.sessions) >= SSE_MAX_SESSIONS:
            return http_error(429, INVALID_REQUEST, f"Too many legacy SSE sessions on this server ({SSE_MAX_SESSIONS})")
        if sum(1 for open_session in self.sessions.values() if open_session.token == token) >= SSE_MAX_SESSIONS_PER_URL:
            message = f"Too many legacy SSE sessions on this MCP URL ({SSE_MAX_SESSIONS_PER_URL}): close one first"
            return http_error(429, INVALID_REQUEST, message)
        session_id = secrets.token_hex(16)
        session = SseSession(token)
        self.sessions[session_id] = session
        root = request.scope.get("root_path", "")
        endpoint = f"{root}/mcp/{quote(token, safe='')}/messages?session_id={session_id}"
        return SseStream(endpoint, session, lambda: self.sessions.pop(session_id, None))

    async def post_message(self, request: Request) -> Response:
        token = request.path_params["token"]
        if (refusal := self.security.refusal(request)) is not None:
            return error_response(refusal)
        session_id = request.query_params.get("session_id", "")
        if not re.fullmatch(r"[0-9a-f]{32}", session_id):
            return http_error(400, INVALID_REQUEST, "Missing or malformed session_id")
        session = self.sessions.get(session_id)
        if session is None or not hmac.compare_digest(session.token, token):
            return http_error(404, INVALID_REQUEST, "Session not found")
        server = await find_server(self.resolve, request, token)
        if isinstance(server, Response):
            return server
        if not is_json_content(request):
            return http_error(415, INVALID_REQUEST, "Content-Type must be application/json")
        try:
            message = await read_message(request)
        except JsonRpcError as error:
            return error_response(error)
        if isinstance(message, list):
            return http_error(400, INVALID_REQUEST, f"Batches are not supported at protocol version {SSE_VERSION}")
        if is_cancellation(message):
            session.in_flight.cancel(message.get("params"))
            return Response("Accepted", status_code=202)
        if session.in_flight.full() or session.backlogged():
            return http_error(429, INVALID_REQUEST, "Too many pending requests on this session")
        session.in_flight.start(request_id_of(message), _answer_on_stream(server, session, message))
        return Response("Accepted", status_code=202)


async def _answer_on_stream(server: McpServer, session: SseSession, message: Any) -> None:
    reply = await dispatch_message(server, message, session.version, depth_checked=True)
    if reply.negotiated is not None:
        session.version = reply.negotiated
    body = reply.body
    if body is None:
        return
    if not session.fits(len(body)):
        # Held here, it would wait with the others for a client that may never read: say so instead, briefly.
        waiting = f"{session.pending_bytes} bytes of replies wait for this stream's client to read them"
        error = JsonRpcError(RESPONSE_TOO_LARGE, f"Reply dropped: {waiting}; read the stream, then retry")
        body = error_bytes(request_id_of(message), error)
    if session.queue.full():
        logger.warning("Dropped an MCP reply: the SSE client is not reading its stream")
        return
    session.put(body)
