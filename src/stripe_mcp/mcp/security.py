"""Transport security shared by the HTTP transports: Host and Origin checks against DNS rebinding,
the body size limit, JSON parsing with a nesting limit, and the Content-Type and Accept checks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NoReturn
from urllib.parse import urlsplit

from starlette.requests import ClientDisconnect, Request

from stripe_mcp.mcp.jsonrpc import INVALID_REQUEST, PARSE_ERROR, JsonRpcError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 64  # nested arrays/objects per message, the message itself being level 1


# --------------------------------------------------------------------------- Host and Origin


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_allowed(host: str | None, allowed: Sequence[str]) -> bool:
    if not host:
        return False
    host = host.strip().lower()
    name = _hostname(host)
    if name in LOOPBACK_HOSTS:
        return True
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == host or entry == name or (entry.endswith(":*") and entry[:-2] == name):
            return True
    return False


def origin_allowed(origin: str, allowed: Sequence[str]) -> bool:
    origin = origin.strip().lower().rstrip("/")
    try:
        parts = urlsplit(origin)
        name = parts.hostname
    except ValueError:
        return False
    if parts.scheme in ("http", "https") and name is not None and name in LOOPBACK_HOSTS:
        return True
    for entry in allowed:
        entry = entry.strip().lower().rstrip("/")
        if entry == origin or (entry.endswith(":*") and origin.startswith(entry[:-2] + ":")):
            return True
    return False


class TransportSecurity:
    """DNS-rebinding protection for every MCP route.

    `allowed_hosts` entries match a Host header exactly, by host name alone, or as ``name:*``;
    `allowed_origins` entries match an Origin exactly or as ``scheme://name:*``. Loopback
    hosts and origins are always allowed.
    """

    def __init__(self, allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        self.allowed_origins = tuple(allowed_origins)

    def refusal(self, request: Request) -> JsonRpcError | None:
        """The error (421 or 403) for a request from a host or origin not allowed, else None."""
        if not host_allowed(request.headers.get("host"), self.allowed_hosts):
            return JsonRpcError(INVALID_REQUEST, "Invalid Host header", http_status=421)
        origin = request.headers.get("origin")
        if origin is not None and not origin_allowed(origin, self.allowed_origins):
            return JsonRpcError(INVALID_REQUEST, "Invalid Origin header", http_status=403)
        return None


# --------------------------------------------------------------------------- Content-Type and Accept


def _media_types(header: str) -> list[str]:
    return [part.split(";")[0].strip().lower() for part in header.split(",")]


def accepts_json(request: Request) -> bool:
    accept = request.headers.get("accept")
    if not accept:
        return True  # no Accept header means anything goes (RFC 9110 §12.5.1)
    return any(t in ("application/json", "application/*", "*/*") for t in _media_types(accept))


def is_json_content(request: Request) -> bool:
    return _media_types(request.headers.get("content-type", ""))[0] == "application/json"


# --------------------------------------------------------------------------- the body and its JSON


async def read_body(request: Request) -> bytes | None:
    """The request body, or None when it exceeds MAX_BODY_BYTES (checked while reading, too)."""
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


async def read_message(request: Request) -> Any:
    """The parsed JSON-RPC message (or batch); raises JsonRpcError (413 or 400) for a body too large or not JSON."""
    body = await read_body(request)
    if body is None:
        raise JsonRpcError(INVALID_REQUEST, f"Request body exceeds {MAX_BODY_BYTES} bytes", http_status=413)
    try:
        return parse_json(body)
    except _TooDeep as error:
        raise depth_error(error.code) from None
    except ValueError:
        raise JsonRpcError(PARSE_ERROR, "Parse error", http_status=400) from None


class _TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH: -32600 when it parsed, -32700 when too deep to even parse."""

    def __init__(self, code: int = INVALID_REQUEST) -> None:
        super().__init__("too deeply nested")
        self.code = code


def _not_json_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_not_json_constant)  # NaN and Infinity are not JSON


def parse_json(body: bytes) -> Any:
    """The decoded body; raises ValueError for anything that is not JSON or nests deeper than MAX_JSON_DEPTH.

    The standard library's parser, not orjson: orjson reads an integer beyond 64 bits as a float, and an
    amount must never become another amount."""
    try:
        message = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError as exc:  # absurd nesting: deeper than the interpreter's own limit
        raise _TooDeep(PARSE_ERROR) from exc
    # Cheap first: a body with few brackets cannot be deep; otherwise walk the containers.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and too_deep(message):
        raise _TooDeep
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
