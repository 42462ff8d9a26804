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
import base64
import binascii
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
from stripe_mcp.mcp.jsonrpc import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MISSING_CLIENT_CAPABILITY,
    PARSE_ERROR,
    UNSUPPORTED_VERSION,
    Envelope,
    JsonRpcError,
    dumps,
    error_bytes,
    one_line,
    parse_envelope,
    request_id_of,
    response_bytes,
)
from stripe_mcp.mcp.security import (
    TransportSecurity,
    accepts_json,
    depth_error,
    is_json_content,
    read_message,
    too_deep,
)
from stripe_mcp.mcp.sessions import HEADER_SESSION, SessionSigner
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.mcp.versions import (
    BATCH_VERSION,
    DEFAULT_HEADER_VERSION,
    HEADER_VERSION,
    LATEST_LEGACY_VERSION,
    LEGACY_CAPABILITIES,
    LEGACY_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    MODERN_CAPABILITIES,
    MODERN_VERSIONS,
    SSE_VERSION,
    SUPPORTED_VERSIONS,
    is_modern,
    unsupported_version,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- protocol constants

# 2026-07-28 maps these JSON-RPC errors onto HTTP statuses; anything else stays 200.
MODERN_ERROR_STATUS: Mapping[int, int] = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    MISSING_CLIENT_CAPABILITY: 400,
    UNSUPPORTED_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}

HEADER_METHOD = "mcp-method"
HEADER_NAME = "mcp-name"
NAME_BEARING_PARAMS: Mapping[str, str] = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

LIST_TTL_MS = 60_000  # how long a 2026 client may cache list/discover results
SSE_KEEPALIVE_SECONDS = 15.0
SSE_QUEUE_SIZE = 64  # undelivered replies per legacy SSE session

LOG_LEVELS = frozenset({"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"})

_CACHEABLE_METHODS = frozenset(
    {"server/discover", "tools/list", "resources/list", "resources/templates/list", "resources/read", "prompts/list"}
)


Resolver = Callable[[Request, str], Awaitable["McpServer | Response"]]


# --------------------------------------------------------------------------- the dispatcher


@dataclass(frozen=True)
class Reply:
    """What one JSON-RPC message (or batch) produced."""

    body: bytes | None = None  # the serialized response; None when nothing is owed (notifications)
    status: int = 200  # the HTTP status this reply asks for when it is the whole HTTP response
    headers: Mapping[str, str] = field(default_factory=dict)
    negotiated: str | None = None  # the protocol version an `initialize` settled on
    request_id: Any = None


@dataclass(frozen=True)
class Answer:
    """A handler's result plus what the framing needs to know about it."""

    result: dict[str, Any] | bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    negotiated: str | None = None


Handler = Callable[[McpServer, dict[str, Any], str], Awaitable["dict[str, Any] | Answer"]]


def error_reply(request_id: Any, error: JsonRpcError, version: str) -> Reply:
    status = MODERN_ERROR_STATUS.get(error.code, error.http_status) if is_modern(version) else error.http_status
    return Reply(body=error_bytes(request_id, error), status=status, headers=error.headers, request_id=request_id)


async def dispatch(server: McpServer, message: Any, version: str, *, depth_checked: bool = False) -> Reply:
    """Answer one JSON-RPC message for `server` at protocol `version` (the shared method table).

    `depth_checked` says the framing already held the message to MAX_JSON_DEPTH (the HTTP framings do).
    """
    if not depth_checked and too_deep(message):
        if isinstance(message, dict) and "id" not in message:
            return Reply(status=202)  # a malformed notification is owed nothing
        request_id = request_id_of(message)
        return error_reply(request_id, depth_error(), version)
    envelope = parse_envelope(message)
    if envelope is None:
        return Reply(status=202)
    if isinstance(envelope, JsonRpcError):
        request_id = request_id_of(message)
        if isinstance(message, dict) and "id" not in message:
            return Reply(status=202)  # a malformed notification is owed nothing
        return error_reply(request_id, envelope, version)
    if envelope.is_notification:
        return Reply(status=202)  # initialized, cancelled, roots/list_changed...: nothing to act on here
    request_id = envelope.request_id
    handler = _handler_for(envelope.method, version)
    if handler is None:
        error = JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {envelope.method[:100]}")
        return error_reply(request_id, error, version)
    try:
        answer = await handler(server, envelope.params, version)
        if not isinstance(answer, Answer):
            answer = Answer(answer)
        result = answer.result
        if is_modern(version) and isinstance(result, dict):
            result = modern_result(server, envelope.method, result)
        body = response_bytes(request_id, result)
    except JsonRpcError as error:
        return error_reply(request_id, error, version)
    except Exception:
        # The arguments may carry customer data, so only the method is logged.
        logger.exception("MCP method %s failed", envelope.method)
        return error_reply(request_id, JsonRpcError(INTERNAL_ERROR, "Internal error"), version)
    return Reply(body=body, headers=answer.headers, negotiated=answer.negotiated, request_id=request_id)


async def dispatch_batch(server: McpServer, messages: list[Any], version: str, *, depth_checked: bool = False) -> Reply:
    """Answer a JSON-RPC batch (2025-03-26 only; the caller checks the version)."""
    if not messages:
        empty = JsonRpcError(INVALID_REQUEST, "Invalid Request: empty batch", http_status=400)
        return error_reply(None, empty, version)
    bodies: list[bytes] = []
    headers: dict[str, str] = {}
    # One member at a time: a batch must not multiply the concurrency a single request gets.
    for message in messages:
        if isinstance(message, dict) and message.get("method") == "initialize":
            error = JsonRpcError(INVALID_REQUEST, "Invalid Request: initialize cannot be batched")
            reply = error_reply(request_id_of(message), error, version)
        else:
            reply = await dispatch(server, message, version, depth_checked=depth_checked)
        if reply.body is not None:
            bodies.append(reply.body)
        headers.update(reply.headers)
    if not bodies:
        return Reply(status=202, headers=headers)
    return Reply(body=b"[" + b",".join(bodies) + b"]", headers=headers)


def server_info(server: McpServer) -> dict[str, str]:
    return {"name": server.name, "version": server.version}


def modern_result(server: McpServer, method: str, result: dict[str, Any]) -> dict[str, Any]:
    """Add the fields every 2026-07-28 result carries."""
    meta = dict(result.get("_meta") or {})
    meta.setdefault(META_SERVER_INFO, server_info(server))
    extra: dict[str, Any] = {"resultType": "complete", "_meta": meta}
    if method in _CACHEABLE_METHODS:
        extra.update(ttlMs=LIST_TTL_MS, cacheScope="private")  # the list depends on the URL's key
    return {**result, **extra}


def _reject_cursor(params: dict[str, Any]) -> None:
    # Every list is a single page, so no cursor we could have issued exists.
    if params.get("cursor") is not None:
        raise JsonRpcError(INVALID_PARAMS, "Invalid cursor")


async def _initialize(server: McpServer, params: dict[str, Any], version: str) -> Answer:
    requested = params.get("protocolVersion")
    if requested is not None and not isinstance(requested, str):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: protocolVersion must be a string")
    negotiated = requested if requested in LEGACY_VERSIONS else LATEST_LEGACY_VERSION
    result: dict[str, Any] = {
        "protocolVersion": negotiated,
        "capabilities": LEGACY_CAPABILITIES,
        "serverInfo": server_info(server),
    }
    if server.instructions:
        result["instructions"] = server.instructions
    return Answer(result, negotiated=negotiated)


async def _discover(server: McpServer, params: dict[str, Any], version: str) -> dict[str, Any]:
    result: dict[str, Any] = {"supportedVersions": list(SUPPORTED_VERSIONS), "capabilities": MODERN_CAPABILITIES}
    if server.instructions:
        result["instructions"] = server.instructions
    return result


async def _empty(server: McpServer, params: dict[str, Any], version: str) -> dict[str, Any]:
    return {}


async def _set_level(server: McpServer, params: dict[str, Any], version: str) -> dict[str, Any]:
    if params.get("level") not in LOG_LEVELS:
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: unknown log level")
    return {}


async def _tools_list(server: McpServer, params: dict[str, Any], version: str) -> Answer:
    _reject_cursor(params)
    tail = b"}"
    if is_modern(version):
        extra = dumps(modern_result(server, "tools/list", {}))
        tail = b"," + extra[1:]  # splice the object's members after the tool array
    return Answer(b"".join((b'{"tools":', server.tools_json(), tail)))


async def _tools_call(server: McpServer, params: dict[str, Any], version: str) -> Answer:
    name = params.get("name")
    arguments = params.get("arguments")
    if not isinstance(name, str):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: name must be a string")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: arguments must be an object")
    outcome = await server.call_tool(name, arguments)
    return Answer(outcome.result, headers=outcome.headers)


async def _complete(server: McpServer, params: dict[str, Any], version: str) -> dict[str, Any]:
    return {"completion": {"values": [], "total": 0, "hasMore": False}}


def _empty_list(key: str) -> Handler:
    async def handler(server: McpServer, params: dict[str, Any], version: str) -> dict[str, Any]:
        _reject_cursor(params)
        return {key: []}

    return handler


async def _read_resource(server: McpServer, params: dict[str, Any], version: str) -> dict[str, Any]:
    uri = params.get("uri")
    if not isinstance(uri, str):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: uri must be a string")
    raise JsonRpcError(INVALID_PARAMS, "Resource not found", data={"uri": uri})


async def _get_prompt(server: McpServer, params: dict[str, Any], version: str) -> dict[str, Any]:
    name = params.get("name")
    if not isinstance(name, str):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: name must be a string")
    raise JsonRpcError(INVALID_PARAMS, "Prompt not found", data={"name": name})


_HANDLERS: Mapping[str, Handler] = {
    "initialize": _initialize,
    "ping": _empty,
    "logging/setLevel": _set_level,
    "server/discover": _discover,
    "tools/list": _tools_list,
    "tools/call": _tools_call,
    "completion/complete": _complete,
    "resources/list": _empty_list("resources"),
    "resources/templates/list": _empty_list("resourceTemplates"),
    "resources/read": _read_resource,
    "prompts/list": _empty_list("prompts"),
    "prompts/get": _get_prompt,
}
_LEGACY_ONLY = frozenset({"initialize", "ping", "logging/setLevel"})
_MODERN_ONLY = frozenset({"server/discover"})


def _handler_for(method: str, version: str) -> Handler | None:
    if method in (_LEGACY_ONLY if is_modern(version) else _MODERN_ONLY):
        return None
    return _HANDLERS.get(method)


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


# --------------------------------------------------------------------------- 2026-07-28 envelope checks


def decode_header_value(value: str | None) -> str | None:
    """Undo the ``=?base64?...?=`` wrapping of Mcp-Name and friends; None for a malformed wrapper."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith("=?base64?") and value.endswith("?="):
        try:
            return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    return value


def modern_envelope_error(message: dict[str, Any], request: Request) -> JsonRpcError | None:
    """The validation ladder of a 2026-07-28 request; the first failed rung wins."""
    header_version = (request.headers.get(HEADER_VERSION) or "").strip()
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict) or META_PROTOCOL_VERSION not in meta or META_CLIENT_CAPABILITIES not in meta:
        if header_version not in SUPPORTED_VERSIONS:
            return unsupported_version(header_version)
        return JsonRpcError(
            INVALID_PARAMS,
            f"Invalid params: _meta must carry {META_PROTOCOL_VERSION} and {META_CLIENT_CAPABILITIES}",
        )
    for name in (HEADER_VERSION, HEADER_METHOD, HEADER_NAME):
        if len(request.headers.getlist(name)) > 1:
            return JsonRpcError(HEADER_MISMATCH, f"Header {name} appears more than once")
    version = meta[META_PROTOCOL_VERSION]
    if header_version != version:
        return JsonRpcError(HEADER_MISMATCH, "MCP-Protocol-Version header does not match _meta protocolVersion")
    method = message["method"]
    if (request.headers.get(HEADER_METHOD) or "").strip() != method:
        return JsonRpcError(HEADER_MISMATCH, "Mcp-Method header does not match the request method")
    name_key = NAME_BEARING_PARAMS.get(method)
    if name_key is not None and params.get(name_key) is not None:
        if decode_header_value(request.headers.get(HEADER_NAME)) != params[name_key]:
            return JsonRpcError(HEADER_MISMATCH, f"Mcp-Name header does not match params.{name_key}")
    if version not in MODERN_VERSIONS:
        return unsupported_version(version)
    return None


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

    def __init__(self, endpoint: str, session: SseSession, on_close: Callable[[], None]) -> None:
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
        reply = await dispatch(server, message, version, depth_checked=True)
        extra = {}
        if reply.negotiated is not None:
            extra["Mcp-Session-Id"] = self.signer.issue(token, reply.negotiated)
        return _reply_response(reply, extra)

    async def _modern_post(self, request: Request, server: McpServer, message: Any) -> Response:
        header_version = (request.headers.get(HEADER_VERSION) or "").strip()
        if isinstance(message, list):
            return _http_error(400, INVALID_REQUEST, "Batches are not supported at this protocol version")
        envelope = parse_envelope(message)
        if envelope is None or (isinstance(envelope, Envelope) and envelope.is_notification):
            if header_version not in SUPPORTED_VERSIONS:
                return _error_response(unsupported_version(header_version))
            return Response(status_code=202)  # this era defines no client notifications over HTTP
        if isinstance(envelope, JsonRpcError):
            request_id = request_id_of(message)
            return _reply_response(error_reply(request_id, envelope, header_version))
        refusal = modern_envelope_error(message, request)
        if refusal is not None:
            return _reply_response(error_reply(envelope.request_id, refusal, header_version))
        reply = await until_disconnect(request.receive, dispatch(server, message, header_version, depth_checked=True))
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
    reply = await dispatch(server, message, session.version, depth_checked=True)
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
