"""JSON-RPC 2.0 as MCP uses it: error codes, the error type, the request envelope, and the wire bytes of responses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
HEADER_MISMATCH = -32020
MISSING_CLIENT_CAPABILITY = -32021
UNSUPPORTED_VERSION = -32022
RESPONSE_TOO_LARGE = -32013  # in the implementation-defined range, after HTTP's 413

RequestId = str | int  # MCP narrows JSON-RPC: an id is never null


class JsonRpcError(Exception):
    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        http_status: int = 200,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.http_status = http_status
        self.headers = dict(headers or {})  # e.g. ratelimit-* and retry-after on a 429

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def is_request_id(value: object) -> TypeGuard[RequestId]:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def request_id_of(message: Any) -> RequestId | None:
    """The message's id if it is a valid one: what an error about a malformed message answers to."""
    if isinstance(message, dict) and is_request_id(request_id := message.get("id")):
        return request_id
    return None


@dataclass(frozen=True)
class Envelope:
    """A request or notification whose JSON-RPC shape has been checked."""

    request_id: RequestId | None  # None for a notification
    method: str
    params: dict[str, Any]

    @property
    def is_notification(self) -> bool:
        return self.request_id is None


def is_notification(message: Any) -> bool:
    """A request without an id: never answered, not even with an error (JSON-RPC 2.0, section 4.1).

    An object without an id that is no request at all (no method, another jsonrpc) is not a notification:
    it is answered -32600 with a null id, as the specification's own examples do.
    """
    return (
        isinstance(message, dict)
        and "id" not in message
        and message.get("jsonrpc") == "2.0"
        and isinstance(message.get("method"), str)
    )


def parse_envelope(message: Any) -> Envelope | JsonRpcError | None:
    """Validate the JSON-RPC shape. None means a client response, which is never answered."""
    if not isinstance(message, dict):
        return JsonRpcError(INVALID_REQUEST, "Invalid Request: expected a JSON-RPC object", http_status=400)
    if "method" not in message and "id" in message and ("result" in message or "error" in message):
        return None
    request_id = message.get("id")
    if "id" in message and not is_request_id(request_id):
        return JsonRpcError(INVALID_REQUEST, "Invalid Request: id must be a string or an integer", http_status=400)
    method = message.get("method")
    if message.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return JsonRpcError(INVALID_REQUEST, "Invalid Request: expected jsonrpc 2.0 and a method", http_status=400)
    params = message.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return JsonRpcError(INVALID_PARAMS, "Invalid params: expected an object")
    return Envelope(request_id, method, params)


def dumps(value: Any) -> bytes:
    """Compact JSON, UTF-8. orjson writes it ten times faster than the standard library; what orjson refuses
    (a lone surrogate, an integer beyond 64 bits, a key that is not a string) goes to the standard library,
    whose ensure_ascii escapes the surrogate. Values are finite: every parser feeding a reply refuses NaN and
    the infinities (orjson would write them as null; allow_nan=False refuses them on the other path)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def response_bytes(request_id: RequestId | None, result: dict[str, Any] | bytes) -> bytes:
    """A JSON-RPC response; `result` may be an already-serialized JSON object."""
    result_bytes = result if isinstance(result, bytes) else dumps(result)
    return b"".join((b'{"jsonrpc":"2.0","id":', dumps(request_id), b',"result":', result_bytes, b"}"))


def error_bytes(request_id: RequestId | None, error: JsonRpcError) -> bytes:
    return dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


def one_line(body: bytes) -> bytes:
    """Fold a JSON document onto one line (newlines outside strings are whitespace) for NDJSON/SSE framing."""
    if b"\n" in body or b"\r" in body:
        return body.replace(b"\r", b" ").replace(b"\n", b" ")
    return body
