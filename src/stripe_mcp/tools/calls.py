"""A tool call that reached Stripe, and what query_stripe needs of the server that sends such calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.stripe_api.client import UpstreamResult
from stripe_mcp.stripe_api.types import ToolModule
from stripe_mcp.tools.registry import Registry


@dataclass(frozen=True)
class SentCall:
    """The tool's module, its arguments as sent (validated, by alias) and what Stripe answered."""

    module: ToolModule
    values: dict[str, Any]
    upstream: UpstreamResult


class CallSender(Protocol):
    """A server whose calls go through its filters, validation, budgets, concurrency limit and access log."""

    @property
    def registry(self) -> Registry: ...

    @property
    def tool_names(self) -> tuple[str, ...]: ...

    @property
    def lean(self) -> bool: ...

    async def send(self, name: str, arguments: dict[str, Any], *, via: str | None = None) -> SentCall | CallOutcome:
        """Validate and send one call of an allowed tool; raises JsonRpcError when a budget refuses it."""
        ...
