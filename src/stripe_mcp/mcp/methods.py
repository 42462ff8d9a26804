"""The MCP method table: one handler per method, and which era each method belongs to.

Tools come from the `McpServer`; resources, prompts and completions are always empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stripe_mcp.mcp.asking import CANNOT_ASK, Asker, InputRequired, declares_form_elicitation
from stripe_mcp.mcp.jsonrpc import INVALID_PARAMS, JsonRpcError, dumps
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.mcp.versions import (
    ELICITATION_VERSIONS,
    LATEST_LEGACY_VERSION,
    LEGACY_CAPABILITIES,
    LEGACY_VERSIONS,
    META_SERVER_INFO,
    MODERN_CAPABILITIES,
    SUPPORTED_VERSIONS,
    is_modern,
)

LOG_LEVELS = frozenset({"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"})
LIST_TTL_MS = 60_000  # how long a 2026 client may cache list/discover results
CACHEABLE_METHODS = frozenset(
    {"server/discover", "tools/list", "resources/list", "resources/templates/list", "resources/read", "prompts/list"}
)


@dataclass(frozen=True)
class Answer:
    """A handler's result plus what the framing needs to know about it."""

    result: dict[str, Any] | bytes  # bytes: an already-serialized JSON object
    headers: Mapping[str, str] = field(default_factory=dict)
    negotiated: str | None = None  # the protocol version an `initialize` settled on
    can_elicit: bool = False  # the client that initialized declared form-mode elicitation, at a version that has it


Handler = Callable[[McpServer, dict[str, Any], str], Awaitable["dict[str, Any] | Answer"]]


def server_info(server: McpServer) -> dict[str, str]:
    return {"name": server.name, "version": server.version}


def modern_result(server: McpServer, method: str, result: dict[str, Any]) -> dict[str, Any]:
    """Add the fields every 2026-07-28 result carries."""
    meta = dict(result.get("_meta") or {})
    meta.setdefault(META_SERVER_INFO, server_info(server))
    # An input_required answer keeps its own resultType.
    extra: dict[str, Any] = {"resultType": result.get("resultType", "complete"), "_meta": meta}
    if method in CACHEABLE_METHODS:
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
    can_elicit = negotiated in ELICITATION_VERSIONS and declares_form_elicitation(params.get("capabilities"))
    return Answer(result, negotiated=negotiated, can_elicit=can_elicit)


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


async def call_tool(server: McpServer, params: dict[str, Any], version: str, asker: Asker = CANNOT_ASK) -> Answer:
    """tools/call: the one method that may ask the client something before it answers (`asker`)."""
    name = params.get("name")
    arguments = params.get("arguments")
    if not isinstance(name, str):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: name must be a string")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise JsonRpcError(INVALID_PARAMS, "Invalid params: arguments must be an object")
    try:
        outcome = await server.call_tool(name, arguments, asker)
    except InputRequired as asked:  # 2026-07-28: the client asks its user, then retries the call
        return Answer(asked.result)
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
    "tools/call": call_tool,
    "completion/complete": _complete,
    "resources/list": _empty_list("resources"),
    "resources/templates/list": _empty_list("resourceTemplates"),
    "resources/read": _read_resource,
    "prompts/list": _empty_list("prompts"),
    "prompts/get": _get_prompt,
}
_LEGACY_ONLY = frozenset({"initialize", "ping", "logging/setLevel"})
_MODERN_ONLY = frozenset({"server/discover"})


def handler_for(method: str, version: str) -> Handler | None:
    """The handler of `method` at protocol `version`; None makes it an unknown method (-32601)."""
    if method in (_LEGACY_ONLY if is_modern(version) else _MODERN_ONLY):
        return None
    return _HANDLERS.get(method)
