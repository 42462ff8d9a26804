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
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from stripe_mcp.mcp.jsonrpc import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MISSING_CLIENT_CAPABILITY,
    PARSE_ERROR,
    UNSUPPORTED_VERSION,
    JsonRpcError,
    dumps,
    error_bytes,
    one_line,
    response_bytes,
)
from stripe_mcp.mcp.security import host_allowed, origin_allowed
from stripe_mcp.mcp.types import McpServer

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- protocol constants

LEGACY_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
SUPPORTED_VERSIONS: tuple[str, ...] = LEGACY_VERSIONS + MODERN_VERSIONS
LATEST_LEGACY_VERSION = "2025-11-25"
SSE_VERSION = "2024-11-05"
BATCH_VERSION = "2025-03-26"  # the only revision that has JSON-RPC batches
DEFAULT_HEADER_VERSION = "2025-03-26"  # what a missing MCP-Protocol-Version header means

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

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

HEADER_VERSION = "mcp-protocol-version"
HEADER_METHOD = "mcp-method"
HEADER_NAME = "mcp-name"
HEADER_SESSION = "mcp-session-id"
NAME_BEARING_PARAMS: Mapping[str, str] = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 64  # nested arrays/objects per message, the message itself being level 1
LIST_TTL_MS = 60_000  # how long a 2026 client may cache list/discover results
SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600
SSE_KEEPALIVE_SECONDS = 15.0
SSE_QUEUE_SIZE = 64  # undelivered replies per legacy SSE session
MAX_IN_FLIGHT = 16  # concurrent requests per SSE session / stdio connection

LOG_LEVELS = frozenset({"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"})

_LEGACY_CAPABILITIES = {"tools": {}, "resources": {}, "prompts": {}, "completions": {}, "logging": {}}
_MODERN_CAPABILITIES = {"tools": {}, "resources": {}, "prompts": {}, "completions": {}}
_CACHEABLE_METHODS = frozenset(
    {"server/discover", "tools/list", "resources/list", "resources/templates/list", "resources/read", "prompts/list"}
)


Resolver = Callable[[Request, str], Awaitable["McpServer | Response"]]


# --------------------------------------------------------------------------- the dispatcher


def is_modern(version: str) -> bool:
    return version not in LEGACY_VERSIONS


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


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


@dataclass(frozen=True)
class Envelope:
    request_id: Any  # None for a notification
    method: str
    params: dict[str, Any]
    is_notification: bool


def parse_envelope(message: Any) -> Envelope | JsonRpcError | None:
    """Validate the JSON-RPC shape. None means a client response, which is never answered."""
    if not isinstance(message, dict):
        return JsonRpcError(INVALID_REQUEST, "Invalid Request: expected a JSON-RPC object", http_status=400)
    if "method" not in message and "id" in message and ("result" in message or "error" in message):
        return None
    is_notification = "id" not in message
    request_id = message.get("id")
    if not is_notification and not _valid_id(request_id):
        return JsonRpcError(INVALID_REQUEST, "Invalid Request: id must be a string or an integer", http_status=400)
    method = message.get("method")
    if message.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return JsonRpcError(INVALID_REQUEST, "Invalid Request: expected jsonrpc 2.0 and a method", http_status=400)
    params = message.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return JsonRpcError(INVALID_PARAMS, "Invalid params: expected an object")
    return Envelope(request_id, method, params, is_notification)


async def dispatch(server: McpServer, message: Any, version: str, *, depth_checked: bool = False) -> Reply:
    """Answer one JSON-RPC message for `server` at protocol `version` (the shared method table).

    `depth_checked` says the framing already held the message to MAX_JSON_DEPTH (the HTTP framings do).
    """
    if not depth_checked and too_deep(message):
        if isinstance(message, dict) and "id" not in message:
            return Reply(status=202)  # a malformed notification is owed nothing
        request_id = message.get("id") if isinstance(message, dict) and _valid_id(message.get("id")) else None
        return error_reply(request_id, depth_error(), version)
    envelope = parse_envelope(message)
    if envelope is None:
        return Reply(status=202)
    if isinstance(envelope, JsonRpcError):
        request_id = message.get("id") if isinstance(message, dict) and _valid_id(message.get("id")) else None
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
            reply = error_reply(message.get("id") if _valid_id(message.get("id")) else None, error, version)
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
        "capabilities": _LEGACY_CAPABILITIES,
        "serverInfo": server_info(server),
    }
    if server.instructions:
        result["instructions"] = server.instructions
    return Answer(result, negotiated=negotiated)


async def _discover(server: McpServer, params: dict[str, Any], version: str) -> dict[str, Any]:
    result: dict[str, Any] = {"supportedVersions": list(SUPPORTED_VERSIONS), "capabilities": _MODERN_CAPABILITIES}
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


# --------------------------------------------------------------------------- cancellation bookkeeping


class InFlight:
    """The running requests of one connection, by JSON-RPC id, so notifications/cancelled can stop them."""

    def __init__(self, limit: int = MAX_IN_FLIGHT) -> None:
        self.limit = limit
        self.tasks: set[asyncio.Task[None]] = set()
        self.by_id: dict[Any, asyncio.Task[None]] = {}

    def full(self) -> bool:
        return len(self.tasks) >= self.limit

    def start(self, request_id: Any, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        if _valid_id(request_id):
            self.by_id[request_id] = task
        task.add_done_callback(lambda done: self._forget(request_id, done))
        return task

    def _forget(self, request_id: Any, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if _valid_id(request_id) and self.by_id.get(request_id) is task:
            del self.by_id[request_id]

    def cancel(self, params: Any) -> None:
        if isinstance(params, dict) and _valid_id(params.get("requestId")):
            task = self.by_id.get(params["requestId"])
            if task is not None:
                task.cancel()

    def cancel_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    async def wait(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def is_cancellation(message: Any) -> bool:
    return isinstance(message, dict) and message.get("method") == "notifications/cancelled" and "id" not in message


# --------------------------------------------------------------------------- HTTP helpers


def _json_response(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


def _http_error(status: int, code: int, message: str, request_id: Any = None, data: Any = None) -> Response:
    return _json_response(error_bytes(request_id, JsonRpcError(code, message, data)), status)


def _reply_response(reply: Reply, extra_headers: Mapping[str, str] | None = None) -> Response:
    headers = {k: v for k, v in reply.headers.items() if k.lower() not in ("content-type", "content-length")}
    headers.update(extra_headers or {})
    if reply.body is None:
        return Response(status_code=202, headers=headers)
    return _json_response(reply.body, reply.status, headers)


def _media_types(header: str) -> list[str]:
    return [part.split(";")[0].strip().lower() for part in header.split(",")]


def _accepts_json(request: Request) -> bool:
    accept = request.headers.get("accept")
    if not accept:
        return True  # no Accept header means anything goes (RFC 9110 §12.5.1)
    return any(t in ("application/json", "application/*", "*/*") for t in _media_types(accept))


def _is_json_content(request: Request) -> bool:
    return _media_types(request.headers.get("content-type", ""))[0] == "application/json"


async def _read_body(request: Request) -> bytes | None:
    """The request body, or None when it exceeds MAX_BODY_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
    except ClientDisconnect:
        return b""  # nobody will read the answer; any error response will do
    return b"".join(chunks)


def _too_large() -> Response:
    return _http_error(413, INVALID_REQUEST, f"Request body exceeds {MAX_BODY_BYTES} bytes")


async def _read_message(request: Request) -> Any:
    """The parsed JSON-RPC message (or batch), or the error response for a body too large or not JSON."""
    body = await _read_body(request)
    if body is None:
        return _too_large()
    try:
        return _parse_json(body)
    except ValueError as error:
        return _parse_failure(error)


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH: -32600 when it parsed, -32700 when too deep to even parse."""

    def __init__(self, code: int = INVALID_REQUEST) -> None:
        super().__init__("too deeply nested")
        self.code = code


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(body: bytes) -> Any:
    """The decoded body; raises TooDeep past MAX_JSON_DEPTH and ValueError for anything else that is not JSON."""
    try:
        message = json.loads(body, parse_constant=_not_json_constant)  # NaN and Infinity are not JSON
    except RecursionError as exc:  # absurd nesting: deeper than the interpreter's own limit
        raise TooDeep(PARSE_ERROR) from exc
    # Cheap first: a body with few brackets cannot be deep; otherwise walk the containers.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and too_deep(message):
        raise TooDeep
    return message


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` nests arrays/objects more than `limit` levels (iterative: no recursion limit to hit)."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def depth_error(code: int = INVALID_REQUEST) -> JsonRpcError:
    prefix = "Parse error" if code == PARSE_ERROR else "Invalid Request"
    return JsonRpcError(
        code,
        f"{prefix}: JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels",
        data={"limit": MAX_JSON_DEPTH},
        http_status=400,
    )


def _parse_failure(error: ValueError) -> Response:
    if isinstance(error, TooDeep):
        return _json_response(error_bytes(None, depth_error(error.code)), 400)
    return _http_error(400, PARSE_ERROR, "Parse error")


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


# --------------------------------------------------------------------------- signed session ids


class SessionSigner:
    """Self-verifying Mcp-Session-Id values, so that any replica sharing the secret accepts them.

    Format: ``v1.<nonce>.<protocol version>.<issued unix time>.<hmac-sha256 hex>``; the MAC also
    covers a hash of the URL token, so an id only works on the URL that issued it. Nothing is
    stored, hence nothing can be revoked: DELETE answers 405.
    """

    _PATTERN = re.compile(r"v1\.([0-9a-f]{32})\.(\d{4}-\d{2}-\d{2})\.(\d{1,12})\.([0-9a-f]{64})")

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("session_secret must not be empty")
        self._secret = secret

    def _mac(self, nonce: str, token: str, version: str, issued: str) -> str:
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        message = f"v1|{nonce}|{token_hash}|{version}|{issued}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def issue(self, token: str, version: str, now: float | None = None) -> str:
        nonce = secrets.token_hex(16)
        issued = str(int(time.time() if now is None else now))
        return f"v1.{nonce}.{version}.{issued}.{self._mac(nonce, token, version, issued)}"

    def verify(self, session_id: str, token: str, now: float | None = None) -> str | None:
        """The protocol version the session was issued for, or None if the id is not ours (or too old)."""
        match = self._PATTERN.fullmatch(session_id.strip())
        if match is None:
            return None
        nonce, version, issued, mac = match.groups()
        if not hmac.compare_digest(mac, self._mac(nonce, token, version, issued)):
            return None
        age = (time.time() if now is None else now) - int(issued)
        if version not in LEGACY_VERSIONS or not -300 <= age <= SESSION_MAX_AGE_SECONDS:
            return None
        return version


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
            return _unsupported(header_version)
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
        return _unsupported(version)
    return None


def _unsupported(requested: str) -> JsonRpcError:
    return JsonRpcError(
        UNSUPPORTED_VERSION,
        "Unsupported protocol version",
        data={"supported": list(SUPPORTED_VERSIONS), "requested": requested},
        http_status=400,
    )


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
        watch = asyncio.ensure_future(_wait_disconnect(receive))
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
        self.allowed_hosts = tuple(allowed_hosts)
        self.allowed_origins = tuple(allowed_origins)
        # Legacy HTTP+SSE sessions live in this process: the reply to a POST must go out on the
        # GET stream held open by this very process, so that transport cannot be stateless.
        self.sse_sessions: dict[str, SseSession] = {}

    def guard(self, request: Request) -> Response | None:
        """DNS-rebinding protection."""
        if not host_allowed(request.headers.get("host"), self.allowed_hosts):
            return _http_error(421, INVALID_REQUEST, "Invalid Host header")
        origin = request.headers.get("origin")
        if origin is not None and not origin_allowed(origin, self.allowed_origins):
            return _http_error(403, INVALID_REQUEST, "Invalid Origin header")
        return None

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
        if not _is_json_content(request):
            return _http_error(415, INVALID_REQUEST, "Content-Type must be application/json")
        if not _accepts_json(request):
            return _http_error(406, INVALID_REQUEST, "Accept must allow application/json")
        message = await _read_message(request)
        if isinstance(message, Response):
            return message
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
                return _json_response(error_bytes(None, _unsupported(header_version)), 400)
            return Response(status_code=202)  # this era defines no client notifications over HTTP
        if isinstance(envelope, JsonRpcError):
            request_id = message.get("id") if isinstance(message, dict) and _valid_id(message.get("id")) else None
            return _reply_response(error_reply(request_id, envelope, header_version))
        refusal = modern_envelope_error(message, request)
        if refusal is not None:
            return _reply_response(error_reply(envelope.request_id, refusal, header_version))
        reply = await _until_disconnect(request, dispatch(server, message, header_version, depth_checked=True))
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
        if not _is_json_content(request):
            return _http_error(415, INVALID_REQUEST, "Content-Type must be application/json")
        message = await _read_message(request)
        if isinstance(message, Response):
            return message
        if isinstance(message, list):
            return _http_error(400, INVALID_REQUEST, "Batches are not supported at protocol version 2024-11-05")
        if is_cancellation(message):
            session.in_flight.cancel(message.get("params"))
            return Response("Accepted", status_code=202)
        if session.in_flight.full() or session.queue.full():
            return _http_error(429, INVALID_REQUEST, "Too many pending requests on this session")
        request_id = message.get("id") if isinstance(message, dict) else None
        session.in_flight.start(request_id, _answer_on_stream(server, session, message))
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


async def _until_disconnect(request: Request, work: Awaitable[Reply]) -> Reply | None:
    """Run `work`, cancelling it if the client disconnects first (2026: a closed stream is a cancel)."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_wait_disconnect(request.receive))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # this handler itself is being cancelled (shutdown): take the work with it
        task.cancel()
        raise
    finally:
        watch.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None
    return task.result()


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
