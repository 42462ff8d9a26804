"""query_stripe's scan: page through one list or search tool on the server's side and keep only the answer.

Every page is one call of that tool through the server (filters, validation, API key, Stripe-Account,
budgets, the concurrency limit, the access log). The scan stops at max_items objects, at the time limit,
when a budget refuses a page or Stripe answers 429, or, for plain rows in Stripe's order, once `limit`
rows matched; it then answers what it has with complete: false and a next_cursor that resumes it exactly
where it stopped, part way through a page if need be.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from stripe_mcp.mcp.jsonrpc import JsonRpcError
from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.stripe_api.pagination import page_result
from stripe_mcp.stripe_api.types import InvalidArgument
from stripe_mcp.tools.calls import CallSender, SentCall
from stripe_mcp.tools.projection import path_tree, project
from stripe_mcp.tools.query.aggregates import Groups, TooManyGroups, Totals, sort_rows
from stripe_mcp.tools.query.conditions import matches
from stripe_mcp.tools.query.cursor import ScanState, encode_cursor
from stripe_mcp.tools.query.request import Query, parse_query
from stripe_mcp.tools.query.tool import NAME
from stripe_mcp.tools.results import (
    error_result,
    invalid_argument_result,
    success_result,
    to_tool_result,
    without_empty,
)

TIME_LIMIT_SECONDS = 25.0
PAGE_SIZE = 100  # Stripe's largest page


async def run_query(
    server: CallSender,
    arguments: dict[str, Any],
    *,
    time_limit: float = TIME_LIMIT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> CallOutcome:
    query = parse_query(arguments, server)
    if isinstance(query, CallOutcome):
        return query
    try:
        scan = _Scan(server, query, clock() + time_limit, clock)
    except (ValueError, TypeError):  # totals in the cursor that no scan could have made
        message = "next_cursor: not a cursor returned by query_stripe"
        return error_result(
            f"Invalid arguments for query_stripe: {message}",
            {
                "type": "invalid_arguments",
                "errors": [{"field": "next_cursor", "message": message.removeprefix("next_cursor: ")}],
            },
        )
    return await scan.run()


class _Scan:
    def __init__(self, server: CallSender, query: Query, deadline: float, clock: Callable[[], float]) -> None:
        self.server = server
        self.query = query
        self.deadline = deadline
        self.clock = clock
        start = query.state
        self.state = ScanState(start.page, start.skip, start.scanned, start.matched, start.totals)
        self.scanned_now = 0
        self.rows: list[Any] = []
        self.totals = Totals()
        self.groups = Groups(query.group_by) if query.group_by is not None else None
        if start.totals is not None and self.groups is not None:
            self.groups.load(start.totals)
        elif start.totals is not None:
            self.totals = Totals.from_json(start.totals)
        # Rows waiting to be ordered keep only what the answer and the order need.
        keep = [*(self._paths(query.fields)), *([query.order_by] if query.order_by else [])]
        self.keep = path_tree(keep) if query.fields is not None else None
        self.stopped: dict[str, Any] | None = None

    async def run(self) -> CallOutcome:
        pagination = self.server.registry.module(self.query.tool).PAGINATION
        while self.stopped is None:
            reason = self._reason_to_stop()
            if reason is not None:
                self._stop(*reason)
                break
            remaining = self.deadline - self.clock()
            if remaining <= 0:
                self._stop("time", "reached the time limit of one query")
                break
            fetched = await self._fetch(remaining)
            if isinstance(fetched, CallOutcome):
                return fetched
            if fetched is None:
                break
            items, next_page = fetched
            try:
                done = self._take(items[self.state.skip :], pagination)
            except TooManyGroups as error:
                return error_result(f"query_stripe: {error}", {"type": "invalid_request_error", "message": str(error)})
            if done:
                break
            self.state.skip = 0
            if next_page is None:
                break
            self.state.page = next_page
        return success_result(self._answer())

    async def _fetch(self, remaining: float) -> tuple[list[Any], str | None] | CallOutcome | None:
        """One page, or the error to answer (nothing scanned yet), or None when the scan stops here."""
        size = min(PAGE_SIZE, self.state.skip + self.query.max_items - self.scanned_now)
        arguments = {**self.query.arguments, "limit": size}
        if self.state.page is not None:
            arguments["next_cursor"] = self.state.page
        try:
            async with asyncio.timeout(remaining):
                sent = await self.server.send(self.query.tool, arguments, via=NAME)
        except TimeoutError:
            self._stop("time", "reached the time limit of one query")
            return None
        except JsonRpcError as refusal:  # a budget: the runaway-agent guard refused this page
            retry = refusal.data.get("retry_after") if isinstance(refusal.data, dict) else None
            self._stop("budget", refusal.message, retry_after=retry)
            return None
        page = sent if isinstance(sent, CallOutcome) else _read_page(sent)
        if not isinstance(page, CallOutcome):
            return page
        details = page.result.get("structuredContent") or {}
        if details.get("http_status") == 429:
            self._stop("rate_limit", "Stripe answered 429 (rate limited)", retry_after=page.headers.get("retry-after"))
            return None
        if self.scanned_now == 0:
            return page
        self._stop("error", str(details.get("message") or "a page failed"))
        return None

    def _take(self, items: list[Any], pagination: str | None) -> bool:
        """Scan a page's objects; True when the scan stops part way through it."""
        for index, item in enumerate(items):
            reason = self._reason_to_stop()
            if reason is not None:
                self._stop_within_page(items, index, pagination)
                self._stop(*reason)
                return True
            self.state.scanned += 1
            self.scanned_now += 1
            if not matches(item, self.query.where):
                continue
            self.state.matched += 1
            if self.groups is not None and self.query.aggregate is not None:
                self.groups.add(item, self.query.aggregate)
            elif self.query.aggregate is not None:
                self.totals.add(item, self.query.aggregate.path)
            else:
                self.rows.append(project(item, self.keep) if self.keep is not None else item)
        return False

    def _reason_to_stop(self) -> tuple[str, str] | None:
        if self.scanned_now >= self.query.max_items:
            return "max_items", f"scanned max_items ({self.query.max_items:,}) objects"
        if not self.query.aggregating and self.query.order_by is None and len(self.rows) >= self.query.limit:
            return "limit", f"found limit ({self.query.limit}) matching objects"
        return None

    def _stop_within_page(self, items: list[Any], index: int, pagination: str | None) -> None:
        last = items[index - 1] if index else None
        if pagination == "cursor" and isinstance(last, dict) and isinstance(last.get("id"), str):
            self.state.page, self.state.skip = last["id"], 0  # Stripe's own cursor: the last object taken
        else:
            self.state.skip += index  # the same page again, less what was taken

    def _stop(self, reason: str, message: str, retry_after: Any = None) -> None:
        self.stopped = {"stopped_by": reason, "message": message}
        if retry_after is not None:
            self.stopped["retry_after"] = retry_after

    def _answer(self) -> dict[str, Any]:
        query = self.query
        if self.groups is not None and query.aggregate is not None:
            rows = self.groups.rows(query.aggregate.op)
            rows = sort_rows(rows, query.order_by or ("value",), query.descending)[: query.limit]
        elif query.aggregate is not None:
            rows = [{"value": self.totals.value(query.aggregate.op)}]
        else:
            ordered = sort_rows(self.rows, query.order_by, query.descending) if query.order_by else self.rows
            rows = [self._shown(row) for row in ordered[: query.limit]]
        answer: dict[str, Any] = {
            "result": rows,
            "scanned": self.state.scanned,
            "complete": self.stopped is None,
            "next_cursor": None,
            "matched": self.state.matched,
        }
        if self.groups is not None:
            answer["groups"] = len(self.groups.totals)
        if self.stopped is not None:
            totals = self.groups.to_json() if self.groups else self.totals.to_json() if query.aggregate else None
            resume = ScanState(self.state.page, self.state.skip, self.state.scanned, self.state.matched, totals)
            answer["next_cursor"] = encode_cursor(query.fingerprint, resume)
            answer |= self.stopped
        return answer

    def _shown(self, row: Any) -> Any:
        if self.query.fields is not None:
            return project(row, self.query.fields)
        return without_empty(row) if self.server.lean else row

    @staticmethod
    def _paths(tree: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        if not tree:
            return [prefix] if prefix else []
        return [path for key, sub in tree.items() for path in _Scan._paths(sub, (*prefix, key))]


def _read_page(sent: SentCall) -> tuple[list[Any], str | None] | CallOutcome:
    upstream = sent.upstream
    if upstream.failure is None and upstream.status is not None and 200 <= upstream.status < 300:
        try:
            body = json.loads(upstream.body)
        except (ValueError, RecursionError):
            body = None
        if isinstance(body, dict):
            try:
                page = page_result(sent.module, body, sent.values)
            except InvalidArgument as error:
                return invalid_argument_result(error)
            return list(page["result"]), page["next_cursor"]
    return to_tool_result(sent.module, upstream, sent.values)
