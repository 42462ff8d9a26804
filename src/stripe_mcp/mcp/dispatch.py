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

from stripe_mcp.mcp.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    RESPONSE_TOO_LARGE,
    Envelope,
    JsonRpcError,
    RequestId,
    error_bytes,
    is_notification,
    parse_envelope,
    request_id_of,
    response_bytes,
)
from stripe_mcp.mcp.methods import Answer, handler_for, modern_result
from stripe_mcp.mcp.modern import modern_status
from stripe_mcp.mcp.security import depth_error, too_deep
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.mcp.versions import is_modern

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # one reply, or all the replies of one batch together
MAX_BATCH_MEMBERS = 32  # messages in one JSON-RPC batch (2025-03-26)


@dataclass(frozen=True)
class Reply:
    """What one JSON-RPC message (or batch) produced."""

    body: bytes | None = None  # the serialized response; None when nothing is owed (notifications)
    status: int = 200  # the HTTP status this reply asks for when it is the whole HTTP response
    headers: Mapping[str, str] = field(default_factory=dict)
    negotiated: str | None = None  # the protocol version an `initialize` settled on


def error_reply(request_id: RequestId | None, error: JsonRpcError, version: str) -> Reply:
    status = modern_status(error) if is_modern(version) else error.http_status
    return Reply(body=error_bytes(request_id, error), status=status, headers=error.headers)


async def dispatch(server: McpServer, envelope: Envelope, version: str) -> Reply:
    """Answer one well-formed JSON-RPC message for `server` at protocol `version`."""
    if envelope.is_notification:
        return Reply(status=202)  # initialized, cancelled, roots/list_changed...: nothing to act on here
    request_id = envelope.request_id
    handler = handler_for(envelope.method, version)
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
        if len(body) > MAX_RESPONSE_BYTES:
            too_large = response_too_large(f"the answer is {len(body)} bytes, over the limit of {MAX_RESPONSE_BYTES}")
            return error_reply(request_id, too_large, version)
    except JsonRpcError as error:
        return error_reply(request_id, error, version)
    except Exception:
        # The arguments may carry customer data, so only the method is logged.
        logger.exception("MCP method %s failed", envelope.method)
        return error_reply(request_id, JsonRpcError(INTERNAL_ERROR, "Internal error"), version)
    return Reply(body=body, headers=answer.headers, negotiated=answer.negotiated)


def response_too_large(why: str) -> JsonRpcError:
    return JsonRpcError(RESPONSE_TOO_LARGE, f"Response too large: {why} bytes", data={"limit": MAX_RESPONSE_BYTES})


async def dispatch_message(server: McpServer, message: Any, version: str, *, depth_checked: bool = False) -> Reply:
    """Check a decoded JSON-RPC message, then `dispatch` it.

    `depth_checked` says the framing already held the message to MAX_JSON_DEPTH (the HTTP framings do).
    """
    if not depth_checked and too_deep(message):
        if is_notification(message):
            return Reply(status=202)  # a notification is owed nothing, not even an error
        return error_reply(request_id_of(message), depth_error(), version)
    envelope = parse_envelope(message)
    if envelope is None:
        return Reply(status=202)
    if isinstance(envelope, JsonRpcError):
        if is_notification(message):
            return Reply(status=202)
        return error_reply(request_id_of(message), envelope, version)
    return await dispatch(server, envelope, version)


async def dispatch_batch(server: McpServer, messages: list[Any], version: str, *, depth_checked: bool = False) -> Reply:
    """Answer a JSON-RPC batch (2025-03-26 only; the caller checks the version).

    The work a batch may cause is bounded: at most MAX_BATCH_MEMBERS messages (a longer batch is refused
    whole, as an empty one is, since answering each excess member would itself grow with the request), and
    MAX_RESPONSE_BYTES of replies in all: the reply that would pass them is answered RESPONSE_TOO_LARGE
    instead, and so is every request after it, without being run.
    """
    if not messages:
        empty = JsonRpcError(INVALID_REQUEST, "Invalid Request: empty batch", http_status=400)
        return error_reply(None, empty, version)
    if len(messages) > MAX_BATCH_MEMBERS:
        too_many = JsonRpcError(
            INVALID_REQUEST,
            f"Invalid Request: a batch holds at most {MAX_BATCH_MEMBERS} messages, this one {len(messages)}",
            data={"limit": MAX_BATCH_MEMBERS},
            http_status=400,
        )
        return error_reply(None, too_many, version)
    bodies: list[bytes] = []
    headers: dict[str, str] = {}
    size, full = 0, False
    # One member at a time: a batch must not multiply the concurrency a single request gets.
    for message in messages:
        if isinstance(message, dict) and message.get("method") == "initialize":
            error = JsonRpcError(INVALID_REQUEST, "Invalid Request: initialize cannot be batched")
            reply = error_reply(request_id_of(message), error, version)
        elif full and not is_notification(message):
            why = f"not run, the batch's replies already reach the limit of {MAX_RESPONSE_BYTES}"
            reply = error_reply(request_id_of(message), response_too_large(why), version)
        else:
            reply = await dispatch_message(server, message, version, depth_checked=depth_checked)
            if reply.body is not None and size + len(reply.body) > MAX_RESPONSE_BYTES:
                full = True
                why = f"this reply would take the batch's replies over the limit of {MAX_RESPONSE_BYTES}"
                reply = error_reply(request_id_of(message), response_too_large(why), version)
        if reply.body is not None:
            bodies.append(reply.body)
            size += len(reply.body) + 1
        headers.update(reply.headers)
    if not bodies:
        return Reply(status=202, headers=headers)
    return Reply(body=b"[" + b",".join(bodies) + b"]", headers=headers)
