"""The dispatcher: JSON-RPC messages in, serialized replies out, for any `McpServer`.

Every framing (Streamable HTTP, legacy HTTP+SSE, stdio) hands messages here. The dispatcher
knows the method table and the protocol eras; of HTTP only the status a reply asks for (the
framing decides whether it applies), and of the tools only the `McpServer` protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stripe_mcp.mcp.asking import CANNOT_ASK, Asker
from stripe_mcp.mcp.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    Envelope,
    JsonRpcError,
    RequestId,
    error_bytes,
    parse_envelope,
    request_id_of,
    response_bytes,
)
from stripe_mcp.mcp.methods import Answer, call_tool, handler_for, modern_result
from stripe_mcp.mcp.modern import modern_status
from stripe_mcp.mcp.security import depth_error, too_deep
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.mcp.versions import is_modern

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What one JSON-RPC message (or batch) produced."""

    body: bytes | None = None  # the serialized response; None when nothing is owed (notifications)
    status: int = 200  # the HTTP status this reply asks for when it is the whole HTTP response
    headers: Mapping[str, str] = field(default_factory=dict)
    negotiated: str | None = None  # the protocol version an `initialize` settled on
    can_elicit: bool = False  # ... and whether that client may be asked through elicitation


def error_reply(request_id: RequestId | None, error: JsonRpcError, version: str) -> Reply:
    status = modern_status(error) if is_modern(version) else error.http_status
    return Reply(body=error_bytes(request_id, error), status=status, headers=error.headers)


async def dispatch(server: McpServer, envelope: Envelope, version: str, asker: Asker = CANNOT_ASK) -> Reply:
    """Answer one well-formed JSON-RPC message for `server` at protocol `version`; a tools/call may ask
    the client through `asker`."""
    if envelope.is_notification:
        return Reply(status=202)  # initialized, cancelled, roots/list_changed...: nothing to act on here
    request_id = envelope.request_id
    handler = handler_for(envelope.method, version)
    if handler is None:
        error = JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {envelope.method[:100]}")
        return error_reply(request_id, error, version)
    try:
        answer: dict[str, Any] | Answer
        if envelope.method == "tools/call":
            answer = await call_tool(server, envelope.params, version, asker)
        else:
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
    return Reply(body=body, headers=answer.headers, negotiated=answer.negotiated, can_elicit=answer.can_elicit)


async def dispatch_message(
    server: McpServer, message: Any, version: str, *, depth_checked: bool = False, asker: Asker = CANNOT_ASK
) -> Reply:
    """Check a decoded JSON-RPC message, then `dispatch` it.

    `depth_checked` says the framing already held the message to MAX_JSON_DEPTH (the HTTP framings do).
    """
    is_notification = isinstance(message, dict) and "id" not in message
    if not depth_checked and too_deep(message):
        if is_notification:
            return Reply(status=202)  # a malformed notification is owed nothing
        return error_reply(request_id_of(message), depth_error(), version)
    envelope = parse_envelope(message)
    if envelope is None:
        return Reply(status=202)
    if isinstance(envelope, JsonRpcError):
        if is_notification:
            return Reply(status=202)  # a malformed notification is owed nothing
        return error_reply(request_id_of(message), envelope, version)
    return await dispatch(server, envelope, version, asker)


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
            reply = await dispatch_message(server, message, version, depth_checked=depth_checked)
        if reply.body is not None:
            bodies.append(reply.body)
        headers.update(reply.headers)
    if not bodies:
        return Reply(status=202, headers=headers)
    return Reply(body=b"[" + b",".join(bodies) + b"]", headers=headers)
