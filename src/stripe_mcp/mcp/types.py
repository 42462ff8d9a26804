"""What the transports need of a server: its tool list, a way to call a tool, and how a URL finds it.

Nothing of Stripe here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from stripe_mcp.mcp.asking import CANNOT_ASK, Asker


@dataclass(frozen=True)
class CallOutcome:
    """A tool call's result; a protocol error (an unknown tool, say) is raised as JsonRpcError instead."""

    result: dict[str, Any]  # MCP CallToolResult JSON: {"content": [...], "structuredContent"?: {...}, "isError": bool}
    headers: Mapping[str, str] = field(default_factory=dict)  # extra HTTP response headers; dropped by stdio/SSE


class McpServer(Protocol):
    # Read-only, so a server whose instructions are always a str conforms too.
    @property
    def name(self) -> str: ...  # serverInfo.name

    @property
    def version(self) -> str: ...  # serverInfo.version

    @property
    def instructions(self) -> str | None: ...

    def tools_json(self) -> bytes:
        """The JSON array of MCP tool objects, serialized once and cached by the server."""
        ...

    async def call_tool(self, name: str, arguments: dict[str, Any], asker: Asker = CANNOT_ASK) -> CallOutcome:
        """`asker` asks the client's user mid-call, when the client and its era allow it (asking.py)."""
        ...


# The server behind `/mcp/{token}`, or the HTTP response that refuses the request (401, 404...).
Resolver = Callable[[Request, str], Awaitable[McpServer | Response]]
