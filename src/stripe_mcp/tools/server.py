"""One MCP server: the tools a configuration allows, each call validated and proxied to Stripe."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from stripe_mcp import __version__
from stripe_mcp.mcp.asking import CANNOT_ASK, Asker
from stripe_mcp.mcp.jsonrpc import INVALID_PARAMS, JsonRpcError
from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.stripe_api.client import Upstream, is_live_key
from stripe_mcp.stripe_api.types import InvalidArgument, ToolModule
from stripe_mcp.tools.approvals import APPROVAL_ID_ARGUMENT, Sent
from stripe_mcp.tools.calls import SentCall
from stripe_mcp.tools.filters import ToolFilter, allowed_tool_set, allowed_tools, refusal_message
from stripe_mcp.tools.object_fields import PathError
from stripe_mcp.tools.projection import path_tree
from stripe_mcp.tools.query import tool as query_tool
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.results import error_result, invalid_argument_result, to_tool_result

if TYPE_CHECKING:
    from stripe_mcp.tools.approval_gate import ApprovalGate

SERVER_NAME = "stripe-mcp"
INSTRUCTIONS = (
    "Tools for one Stripe account. List and search tools return {result, next_cursor}: pass next_cursor "
    "back to get the next page. Ids come from list or search tools (customers cus_, charges ch_, "
    "payment intents pi_). Amounts are integers in the currency's smallest unit (1500 = 15.00 USD). "
    "Read tools take fields to keep only some paths of each object; to count, total or filter many objects "
    "in one call, use query_stripe."
)
access_log = logging.getLogger("stripe_mcp.access")
ALL_TOOLS = ToolFilter()  # no method or tag filter

MAX_CONCURRENT_CALLS = 16  # upstream requests in flight per MCP server (per server id, across cached instances)
CONCURRENCY_WAIT_SECONDS = 5.0  # how long a call over that limit waits for a slot before it is refused
RETRY_AFTER_SECONDS = 1
# Stripe answers larger than this are made tool results in a worker thread: shaping 4 MB takes ~1 s of CPU, most of
# it Python code that lets the event loop run in between (json's C parts do not).
INLINE_RESULT_BYTES = 64 * 1024

# One gate per server id, shared by the short-lived instances the app's resolve cache makes of one server;
# an entry lives as long as some instance (or a call in flight) holds it.
_GATES: weakref.WeakValueDictionary[str, asyncio.Semaphore] = weakref.WeakValueDictionary()


@functools.lru_cache(maxsize=64)
def _listed(operations: tuple[str, ...]) -> tuple[str, ...]:
    """The operations and query_stripe: one tuple for every server on the same filter, however many."""
    return (*operations, query_tool.NAME)


def _gate_for(server_id: str, limit: int) -> asyncio.Semaphore:
    if not server_id:
        return asyncio.Semaphore(limit)
    gate = _GATES.get(server_id)
    if gate is None or getattr(gate, "limit", None) != limit:
        gate = asyncio.Semaphore(limit)
        gate.limit = limit  # type: ignore[attr-defined]
        _GATES[server_id] = gate
    return gate


@dataclass(frozen=True)
class Account:
    """What the server needs to reach Stripe for one integrated account."""

    api_key: str
    stripe_version: str
    stripe_account: str | None = None


class ToolServer(Protocol):
    """What the discovery and ChatGPT profiles need of the server whose tools they front."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def instructions(self) -> str | None: ...

    @property
    def tool_names(self) -> tuple[str, ...]: ...  # the tools this server allows, in registry order

    @property
    def livemode(self) -> bool: ...  # whether its API key is a live one

    def refusal_of(self, name: str) -> str | None: ...  # why it refuses a tool its filters leave out, else None

    def input_schema(self, name: str) -> dict[str, Any]: ...  # as tools/list shows it

    async def call_tool(self, name: str, arguments: dict[str, Any], asker: Asker = CANNOT_ASK) -> CallOutcome: ...


class StripeMcpServer:
    """Implements stripe_mcp.mcp.types.McpServer and ToolServer for one configuration."""

    version = __version__
    instructions: str | None = INSTRUCTIONS

    def __init__(
        self,
        registry: Registry,
        upstream: Upstream,
        account: Account,
        tool_filter: ToolFilter = ALL_TOOLS,
        *,
        name: str = SERVER_NAME,
        server_id: str = "",
        before_call: Callable[[], Awaitable[JsonRpcError | None]] | None = None,
        full_results: bool = False,
        max_concurrent_calls: int | None = None,
        concurrency_wait: float | None = None,
        approvals: ApprovalGate | None = None,
    ) -> None:
        self.registry = registry
        self.upstream = upstream
        self.account = account
        self.name = name
        self.server_id = server_id
        self.before_call = before_call
        self.lean = not full_results
        self.tool_filter = tool_filter
        operations = allowed_tools(registry, tool_filter)
        # query_stripe reads through list and search tools: it comes with the first one the filters allow.
        self.queryable = any(registry.tools[name].kind in ("list", "search") for name in operations)
        self.tool_names = _listed(operations) if self.queryable else operations
        self._operations = operations
        self._allowed = allowed_tool_set(registry, tool_filter)
        self.max_concurrent_calls = MAX_CONCURRENT_CALLS if max_concurrent_calls is None else max_concurrent_calls
        self.concurrency_wait = CONCURRENCY_WAIT_SECONDS if concurrency_wait is None else concurrency_wait
        self._gate = _gate_for(server_id, self.max_concurrent_calls)
        self.approvals = approvals
        # The tools that reach Stripe only after a person's yes (approval_gate.py).
        self.gated = frozenset(n for n in operations if approvals and approvals.applies(registry.tools[n]))

    @property
    def livemode(self) -> bool:
        return is_live_key(self.account.api_key)

    def tools_json(self) -> bytes:
        extra = (query_tool.TOOL_JSON,) if self.queryable else ()
        return self.registry.tools_json(self._operations, extra, self.gated)

    def refusal_of(self, name: str) -> str | None:
        if name in self._allowed or name not in self.registry.tools:
            return None
        return refusal_message(self.tool_filter, self.registry.tools[name])

    def input_schema(self, name: str) -> dict[str, Any]:
        if name == query_tool.NAME:
            return query_tool.INPUT_SCHEMA
        return self.registry.input_schema(name, approval=name in self.gated)

    async def call_tool(self, name: str, arguments: dict[str, Any], asker: Asker = CANNOT_ASK) -> CallOutcome:
        if name == query_tool.NAME and self.queryable:
            from stripe_mcp.tools.query.scan import run_query  # loaded with the first query: tools/list needs none

            return await run_query(self, arguments)  # reads only: list and search tools, never gated
        if name in self.gated:
            return await self._call_gated(name, arguments, asker)
        sent = await self.send(name, arguments)
        return sent if isinstance(sent, CallOutcome) else await self._outcome(sent)

    async def send(self, name: str, arguments: dict[str, Any], *, via: str | None = None) -> SentCall | CallOutcome:
        """One call of an allowed tool: validated, within the budgets and the concurrency limit, sent once and logged.

        Raises JsonRpcError for a tool this server does not allow and when a budget refuses the call. A tool
        that needs a person's approval is sent only through call_tool, past the approval gate.
        """
        if name in self.gated:
            raise JsonRpcError(INVALID_PARAMS, f"{name} needs a person's approval on this server: call it directly.")
        checked = await self._check(name, arguments)
        if isinstance(checked, CallOutcome):
            return checked
        module, values, started = checked
        return await self._post(name, module, values, started, via)

    async def _call_gated(self, name: str, arguments: dict[str, Any], asker: Asker) -> CallOutcome:
        """A call that reaches Stripe only after a person's yes (approval_gate.py)."""
        assert self.approvals is not None
        approval_id = None
        if APPROVAL_ID_ARGUMENT in arguments:
            arguments = dict(arguments)
            approval_id = arguments.pop(APPROVAL_ID_ARGUMENT)
            if not isinstance(approval_id, str) or not 1 <= len(approval_id) <= 64:
                message = "approval_id must be the id of an approval (a string of at most 64 characters)"
                problems = [{"field": APPROVAL_ID_ARGUMENT, "message": message}]
                return error_result(
                    f"Invalid arguments for {name}: {message}", {"type": "invalid_arguments", "errors": problems}
                )
        checked = await self._check(name, arguments)
        if isinstance(checked, CallOutcome):
            return checked
        module, values, started = checked

        async def send(key: str) -> Sent:
            sent = await self._post(name, module, {**values, "idempotency_key": key}, started, None)
            if isinstance(sent, CallOutcome):  # nothing left this process: busy, or an argument Stripe cannot take
                return Sent(sent, reached_stripe=False)
            upstream = sent.upstream
            request_id = upstream.headers.get("request-id") if upstream.headers else None
            return Sent(await self._outcome(sent), upstream.sent, request_id, upstream.status)

        from stripe_mcp.tools.approval_gate import Proposal  # a gated server made its gate: loaded already

        proposal = Proposal(self.registry.tools[name], values, self.livemode, send, self.read_object)
        return await self.approvals.call(proposal, asker, approval_id)

    async def _check(
        self, name: str, arguments: dict[str, Any]
    ) -> tuple[ToolModule, dict[str, Any], float] | CallOutcome:
        """The tool's module and validated arguments, once the budgets allow the call; or why not."""
        if name not in self._allowed:
            # Nothing reaches Stripe. A tool the filters leave out is named as refused, not as unknown: an agent
            # told "unknown tool" tells its user there is no refund tool at all.
            refused = self.refusal_of(name)
            if refused is not None:
                raise JsonRpcError(INVALID_PARAMS, refused)
            raise JsonRpcError(INVALID_PARAMS, f"Unknown tool: {name}. Call tools/list for the tools of this server.")
        started = time.perf_counter()
        # The budget first: a call refused for its arguments still costs the work of checking them.
        if self.before_call is not None:
            refusal = await self.before_call()
            if refusal is not None:
                access_log.info(
                    "tools/call refused", extra={"server_id": self.server_id, "tool": name, "refusal": refusal.message}
                )
                raise refusal
        module = self.registry.module(name)
        # Imported with the first tool module, which brings pydantic: tools/list, and so start-up, needs neither.
        from stripe_mcp.tools.arguments import check_arguments

        values = check_arguments(name, module.Arguments, arguments)
        if isinstance(values, CallOutcome):
            return values
        if values.get("fields") and (problem := self._fields_problem(name, values)):
            return problem
        return module, values, started

    async def _post(
        self, name: str, module: ToolModule, values: dict[str, Any], started: float, via: str | None
    ) -> SentCall | CallOutcome:
        if not await self._take_slot():
            access_log.info(
                "tools/call refused",
                extra={"server_id": self.server_id, "tool": name, "refusal": "too many concurrent calls"},
            )
            return self._busy_result()
        try:
            upstream = await self.upstream.call(
                module,
                values,
                api_key=self.account.api_key,
                stripe_version=self.account.stripe_version,
                stripe_account=self.account.stripe_account,
            )
        except InvalidArgument as error:
            return invalid_argument_result(error)
        finally:
            self._gate.release()
        access_log.info(
            "tools/call",
            extra={
                "server_id": self.server_id,
                "tool": name,
                "upstream_status": upstream.status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "request_id": upstream.headers.get("request-id") if upstream.headers else None,
                **({"via": via} if via else {}),
            },
        )
        return SentCall(module, values, upstream)

    async def _outcome(self, sent: SentCall) -> CallOutcome:
        fields = sent.values.get("fields")
        shape = functools.partial(
            to_tool_result, sent.module, sent.upstream, sent.values, lean=self.lean,
            fields=path_tree(tuple(f.split(".")) for f in fields) if fields else None,
        )  # fmt: skip
        if len(sent.upstream.body) > INLINE_RESULT_BYTES:  # parsing and shaping a large answer would hold up the loop
            return await asyncio.to_thread(shape)
        return shape()

    async def read_object(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """The object a GET tool answers, for the question a person is asked; None if anything fails.

        Reads whatever the question needs, whether or not this server's filters list the tool: the answer
        goes to the person deciding, not to the agent.
        """
        entry = self.registry.tools.get(tool)
        if entry is None or entry.method != "GET" or not await self._take_slot():
            return None
        try:
            upstream = await self.upstream.call(
                self.registry.module(tool),
                arguments,
                api_key=self.account.api_key,
                stripe_version=self.account.stripe_version,
                stripe_account=self.account.stripe_account,
            )
        except InvalidArgument:
            return None
        finally:
            self._gate.release()
        if upstream.failure is not None or not 200 <= (upstream.status or 0) < 300:
            return None
        try:
            body = json.loads(upstream.body)
        except (ValueError, RecursionError):
            return None
        return body if isinstance(body, dict) else None

    def _fields_problem(self, name: str, values: dict[str, Any]) -> CallOutcome | None:
        """A `fields` path that names no field of what the tool returns: refused before anything is sent."""
        kind = self.registry.tools[name].kind
        problems = []
        for index, text in enumerate(values["fields"]):
            try:
                self.registry.fields.resolve(name, text, values.get("expand") or (), list_items=kind != "get")
            except PathError as error:
                problems.append({"field": f"fields.{index}", "message": str(error)})
        if not problems:
            return None
        text = f"Invalid arguments for {name}: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return error_result(text, {"type": "invalid_arguments", "errors": problems})

    async def _take_slot(self) -> bool:
        """A slot among this server's concurrent upstream requests, waiting at most `concurrency_wait` seconds."""
        if not self._gate.locked():
            await self._gate.acquire()  # free: returns at once
            return True
        try:
            async with asyncio.timeout(self.concurrency_wait):
                await self._gate.acquire()
        except TimeoutError:
            return False
        return True

    def _busy_result(self) -> CallOutcome:
        message = (
            f"Too many concurrent calls on this MCP server: {self.max_concurrent_calls} are already waiting on Stripe "
            f"and no slot freed within {self.concurrency_wait:g} s; nothing was sent. Retry in {RETRY_AFTER_SECONDS} s."
        )
        details = {
            "type": "rate_limit_error",
            "code": "too_many_concurrent_calls",
            "message": message,
            "limit": self.max_concurrent_calls,
            "retry_after": RETRY_AFTER_SECONDS,
        }
        return error_result(message, details, headers={"retry-after": str(RETRY_AFTER_SECONDS)})
