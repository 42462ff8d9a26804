"""The stateless 2026-07-28 era over HTTP: the routing headers checked against the parsed envelope,
and the HTTP status each JSON-RPC error maps to.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from starlette.datastructures import Headers

from stripe_mcp.mcp.jsonrpc import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MISSING_CLIENT_CAPABILITY,
    PARSE_ERROR,
    UNSUPPORTED_VERSION,
    Envelope,
    JsonRpcError,
)
from stripe_mcp.mcp.versions import (
    HEADER_VERSION,
    META_CLIENT_CAPABILITIES,
    META_PROTOCOL_VERSION,
    MODERN_VERSIONS,
    SUPPORTED_VERSIONS,
    unsupported_version,
)

HEADER_METHOD = "mcp-method"
HEADER_NAME = "mcp-name"
NAME_BEARING_PARAMS: Mapping[str, str] = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

# 2026-07-28 maps these JSON-RPC errors onto HTTP statuses; anything else keeps its own (200 by default).
MODERN_ERROR_STATUS: Mapping[int, int] = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    MISSING_CLIENT_CAPABILITY: 400,
    UNSUPPORTED_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}


def modern_status(error: JsonRpcError) -> int:
    return MODERN_ERROR_STATUS.get(error.code, error.http_status)


def header_version(headers: Headers) -> str:
    """The MCP-Protocol-Version header, trimmed; empty when missing."""
    return (headers.get(HEADER_VERSION) or "").strip()


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


def envelope_error(envelope: Envelope, headers: Headers) -> JsonRpcError | None:
    """The validation ladder of a 2026-07-28 request against its headers; the first failed rung wins."""
    requested = header_version(headers)
    meta = envelope.params.get("_meta")
    if not isinstance(meta, dict) or META_PROTOCOL_VERSION not in meta or META_CLIENT_CAPABILITIES not in meta:
        if requested not in SUPPORTED_VERSIONS:
            return unsupported_version(requested)
        return JsonRpcError(
            INVALID_PARAMS,
            f"Invalid params: _meta must carry {META_PROTOCOL_VERSION} and {META_CLIENT_CAPABILITIES}",
        )
    for name in (HEADER_VERSION, HEADER_METHOD, HEADER_NAME):
        if len(headers.getlist(name)) > 1:
            return JsonRpcError(HEADER_MISMATCH, f"Header {name} appears more than once")
    version = meta[META_PROTOCOL_VERSION]
    if requested != version:
        return JsonRpcError(HEADER_MISMATCH, "MCP-Protocol-Version header does not match _meta protocolVersion")
    if (headers.get(HEADER_METHOD) or "").strip() != envelope.method:
        return JsonRpcError(HEADER_MISMATCH, "Mcp-Method header does not match the request method")
    name_key = NAME_BEARING_PARAMS.get(envelope.method)
    if name_key is not None and (named := envelope.params.get(name_key)) is not None:
        if decode_header_value(headers.get(HEADER_NAME)) != named:
            return JsonRpcError(HEADER_MISMATCH, f"Mcp-Name header does not match params.{name_key}")
    if version not in MODERN_VERSIONS:
        return unsupported_version(version)
    return None
