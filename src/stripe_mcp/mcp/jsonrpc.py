"""JSON-RPC 2.0 as MCP uses it: error codes, the error type, and the wire bytes of responses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
HEADER_MISMATCH = -32020
MISSING_CLIENT_CAPABILITY = -32021
UNSUPPORTED_VERSION = -32022


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


def dumps(value: Any) -> bytes:
    # ensure_ascii keeps lone surrogates from failing the encode; allow_nan=False keeps the output JSON.
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def response_bytes(request_id: Any, result: dict[str, Any] | bytes) -> bytes:
    """A JSON-RPC response; `result` may be an already-serialized JSON object."""
    result_bytes = result if isinstance(result, bytes) else dumps(result)
    return b"".join((b'{"jsonrpc":"2.0","id":', dumps(request_id), b',"result":', result_bytes, b"}"))


def error_bytes(request_id: Any, error: JsonRpcError) -> bytes:
    return dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


def one_line(body: bytes) -> bytes:
    """Fold a JSON document onto one line (newlines outside strings are whitespace) for NDJSON/SSE framing."""
    if b"\n" in body or b"\r" in body:
        return body.replace(b"\r", b" ").replace(b"\n", b" ")
    return body
