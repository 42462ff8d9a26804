"""One MCP server: the tools a configuration allows, each call validated and proxied to Stripe."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pydantic import ValidationError

from runtime.policy import ToolFilter, allowed_tools
from runtime.registry import Registry
from runtime.results import invalid_argument_result, to_tool_result
from runtime.transport import CallOutcome, JsonRpcError
from runtime.upstream import InvalidArgument, Upstream

SERVER_NAME = "stripe-mcp"
INSTRUCTIONS = (
    "Tools for one Stripe account. List and search tools return {result, next_cursor}: pass next_cursor "
    "back to get the next page. Ids come from list or search tools (customers cus_, charges ch_, "
    "payment intents pi_). Amounts are integers in the currency's smallest unit (1500 = 15.00 USD)."
)
access_log = logging.getLogger("stripe_mcp.access")


@dataclass(frozen=True)
class Account:
    """What the server needs to reach Stripe for one integrated account."""

    api_key: str
    stripe_version: str
    stripe_account: str | None = None


class StripeMcpServer:
    """Implements runtime.transport.McpServer for one configuration."""

    version = "0.1.0"
    instructions = INSTRUCTIONS

    def __init__(
        self,
        registry: Registry,
        upstream: Upstream,
        account: Account,
        tool_filter: ToolFilter = ToolFilter(),
        *,
        name: str = SERVER_NAME,
        server_id: str = "",
        before_call: Callable[[], Awaitable[JsonRpcError | None]] | None = None,
        full_results: bool = False,
    ) -> None:
        self.registry = registry
        self.upstream = upstream
        self.account = account
        self.name = name
        self.server_id = server_id
        self.before_call = before_call
        self.lean = not full_results
        self.tool_names = allowed_tools(registry, tool_filter)
        self._allowed = frozenset(self.tool_names)

    def tools_json(self) -> bytes:
        return self.registry.tools_json(self.tool_names)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> CallOutcome:
        if name not in self._allowed:
            # Filtered-out tools are refused exactly like unknown ones: nothing reaches Stripe.
            raise JsonRpcError(-32602, f"Unknown tool: {name}. Call tools/list for the tools of this server.")
        started = time.perf_counter()
        module = self.registry.module(name)
        try:
            validated = module.Arguments.model_validate(arguments)
        except ValidationError as error:
            return CallOutcome(result=validation_error_result(name, error))
        values = validated.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if self.before_call is not None:
            refusal = await self.before_call()
            if refusal is not None:
                access_log.info("tools/call refused", extra={"server_id": self.server_id, "tool": name, "refusal": refusal.message})
                raise refusal
        try:
            upstream = await self.upstream.call(
                module,
                values,
                api_key=self.account.api_key,
                stripe_version=self.account.stripe_version,
                stripe_account=self.account.stripe_account,
            )
        except InvalidArgument as error:
            return CallOutcome(result=invalid_argument_result(error).result)
        outcome = to_tool_result(module, upstream, values, lean=self.lean)
        access_log.info(
            "tools/call",
            extra={
                "server_id": self.server_id,
                "tool": name,
                "upstream_status": upstream.status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "request_id": upstream.headers.get("request-id") if upstream.headers else None,
            },
        )
        return CallOutcome(result=outcome.result, headers=outcome.headers)


def validation_error_result(tool: str, error: ValidationError) -> dict[str, Any]:
    """Which argument was wrong and why, without echoing values (they may be sensitive)."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"]) or "arguments"
        problems.append({"field": field, "message": item["msg"]})
    text = f"Invalid arguments for {tool}: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return {
        "content": [{"type": "text", "text": text}],
        "structuredContent": {"type": "invalid_arguments", "errors": problems},
        "isError": True,
    }
