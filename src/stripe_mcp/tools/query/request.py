"""query_stripe's arguments, checked before anything is fetched: every problem is named, with the argument it is in.

The tool must be a list or search tool this server allows; its own arguments pass its generated model; every
path is a field of the objects it lists (generated/fields.json); a comparison's value is of the field's kind
(an amount is an integer in the smallest currency unit, a date unix seconds); sums need numbers.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.tools.arguments import check_arguments
from stripe_mcp.tools.object_fields import FieldPath, PathError
from stripe_mcp.tools.projection import PathTree, path_tree
from stripe_mcp.tools.query import tool as listing
from stripe_mcp.tools.query.aggregates import Aggregate
from stripe_mcp.tools.query.conditions import Condition, is_number
from stripe_mcp.tools.query.cursor import CursorError, ScanState, decode_cursor
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.results import error_result

READ_KINDS = ("list", "search")
RESERVED_TOOL_ARGUMENTS = {
    "limit": "query_stripe fetches pages of 100; bound the scan with max_items and the rows with limit",
    "next_cursor": "pass query_stripe's own next_cursor to resume a scan",
    "fields": "give fields to query_stripe itself",
}
MAX_IN_VALUES = 100
AMOUNT_WORDS = ("amount", "total", "subtotal", "fee", "net", "balance")


class QueryContext(Protocol):
    """What the checks need of the server: its generated tools and which of them it allows."""

    @property
    def registry(self) -> Registry: ...

    @property
    def tool_names(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Query:
    tool: str
    arguments: dict[str, Any]
    """The tool's arguments as given; each page passes them through the tool's model again."""
    where: tuple[Condition, ...]
    fields: PathTree | None
    group_by: FieldPath | None
    aggregate: Aggregate | None
    order_by: tuple[str, ...] | None
    descending: bool
    limit: int
    max_items: int
    fingerprint: str
    state: ScanState = field(default_factory=ScanState)

    @property
    def aggregating(self) -> bool:
        return self.aggregate is not None or self.group_by is not None


def parse_query(raw: Mapping[str, Any], context: QueryContext) -> Query | CallOutcome:
    """The query, or the tool error that lists what is wrong with it (nothing has been sent)."""
    checker = _Checker(context)
    query = checker.query(raw)
    if isinstance(query, CallOutcome):
        return query
    if checker.problems or query is None:
        problems = [{"field": name, "message": message} for name, message in checker.problems]
        text = "Invalid arguments for query_stripe: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return error_result(text, {"type": "invalid_arguments", "errors": problems})
    return query


class _Checker:
    def __init__(self, context: QueryContext) -> None:
        self.context = context
        self.registry = context.registry
        self.problems: list[tuple[str, str]] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def query(self, raw: Mapping[str, Any]) -> Query | CallOutcome | None:
        for key in raw:
            if key not in listing.INPUT_SCHEMA["properties"]:
                self.problem(str(key)[:64], "not an argument of query_stripe")
        tool = self.tool(raw.get("tool"))
        arguments = raw.get("arguments", {})
        if not isinstance(arguments, dict):
            self.problem("arguments", "must be an object: the tool's own arguments")
            arguments = {}
        for name, why in RESERVED_TOOL_ARGUMENTS.items():
            if name in arguments:
                self.problem(f"arguments.{name}", why)
        if tool is None:
            return None
        values = check_arguments(tool, self.registry.module(tool).Arguments, arguments)
        if isinstance(values, CallOutcome):
            return values
        self.expand = tuple(values.get("expand") or ())
        self.tool_name = tool
        where = self.conditions(raw.get("where", []))
        group_by = self.single_path("group_by", raw.get("group_by"))
        aggregate = self.aggregate(raw.get("aggregate"), group_by)
        aggregating = aggregate is not None or group_by is not None
        fields = self.fields(raw.get("fields"), aggregating)
        order_by, descending = self.order(raw.get("order_by"), aggregate, group_by)
        limit = self.bounded("limit", raw.get("limit"), listing.DEFAULT_LIMIT, listing.MAX_LIMIT)
        max_items = self.bounded("max_items", raw.get("max_items"), listing.DEFAULT_MAX_ITEMS, listing.MAX_ITEMS)
        fingerprint = _fingerprint(tool, arguments, raw.get("where", []), raw.get("group_by"), raw.get("aggregate"))
        state = self.cursor(raw.get("next_cursor"), fingerprint)
        if aggregate is None and group_by is not None:
            aggregate = Aggregate("count", None)
        query = Query(
            tool, dict(arguments), where, fields, group_by, aggregate, order_by, descending, limit, max_items,
            fingerprint, state,
        )  # fmt: skip
        return None if self.problems else query

    def tool(self, name: Any) -> str | None:
        if not isinstance(name, str) or not name:
            self.problem("tool", "required: the name of a list or search tool, e.g. list_all_stripe_customers")
            return None
        entry = self.registry.tools.get(name)
        readable = [n for n in self.context.tool_names if n in self.registry.tools and self._kind(n) in READ_KINDS]
        if entry is None:
            close = difflib.get_close_matches(name, readable, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            self.problem("tool", f"no tool is named {name[:64]!r}{hint}")
        elif entry.kind not in READ_KINDS:
            what = "retrieves one object: call it directly" if entry.kind == "get" else f"is a {entry.kind} tool"
            self.problem("tool", f"query_stripe only reads, through list and search tools; {name} {what}")
        elif name not in self.context.tool_names:
            self.problem("tool", f"this server does not allow {name} (its method and tag filters leave it out)")
        else:
            return name
        return None

    def _kind(self, name: str) -> str:
        return self.registry.tools[name].kind

    def path(self, where: str, text: Any) -> FieldPath | None:
        if not isinstance(text, str) or not 0 < len(text) <= listing.MAX_PATH_CHARS:
            self.problem(where, f"must be a dotted path of 1 to {listing.MAX_PATH_CHARS} characters")
            return None
        if not self.registry.fields.has(self.tool_name):
            self.problem(where, f"{self.tool_name} lists values that have no fields")
            return None
        try:
            return self.registry.fields.resolve(self.tool_name, text, self.expand, list_items=True)
        except PathError as error:
            self.problem(where, str(error))
            return None

    def single_path(self, where: str, text: Any) -> FieldPath | None:
        """A path with one value per object, for group_by and order_by."""
        if text is None:
            return None
        path = self.path(where, text)
        if path is not None and path.through_list:
            self.problem(where, f"{path.text} crosses a list and has one value per element; name a single value")
        elif path is not None and path.kinds <= {"object", "map", "array"}:
            self.problem(where, f"{path.text} is {path.described}: name one of its fields")
        else:
            return path
        return None

    def conditions(self, raw: Any) -> tuple[Condition, ...]:
        if not isinstance(raw, list) or len(raw) > listing.MAX_CONDITIONS:
            self.problem("where", f"must be a list of at most {listing.MAX_CONDITIONS} conditions")
            return ()
        found = []
        for index, item in enumerate(raw):
            where = f"where.{index}"
            if not isinstance(item, dict) or set(item) - {"field", "op", "value"}:
                self.problem(where, 'must be {"field": PATH, "op": OP, "value": V}')
                continue
            op = item.get("op")
            if op not in listing.OPS:
                self.problem(f"{where}.op", f"must be one of {', '.join(listing.OPS)}")
                continue
            path = self.path(f"{where}.field", item.get("field"))
            value = item.get("value", True if op == "exists" else None)
            if "value" not in item and op != "exists":
                self.problem(f"{where}.value", f"required for {op}")
            elif path is not None and (message := _value_problem(path, op, value)):
                self.problem(f"{where}.value", message)
            elif path is not None:
                found.append(Condition(path, op, value))
        return tuple(found)

    def aggregate(self, raw: Any, group_by: FieldPath | None) -> Aggregate | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            self.problem("aggregate", "must be count, sum:PATH, avg:PATH, min:PATH or max:PATH")
            return None
        if raw == "count":
            return Aggregate("count", None)
        op, _, text = raw.partition(":")
        if op not in listing.AGGREGATE_OPS or not text:
            self.problem("aggregate", "must be count, sum:PATH, avg:PATH, min:PATH or max:PATH")
            return None
        path = self.path("aggregate", text)
        if path is not None and not path.numeric:
            self.problem("aggregate", f"{op} needs a numeric field; {path.text} is {path.described}")
            return None
        return Aggregate(op, path) if path is not None else None

    def fields(self, raw: Any, aggregating: bool) -> PathTree | None:
        if raw is None:
            return None
        if aggregating:
            self.problem("fields", "rows of group_by and aggregate are {key, value}: fields applies to objects only")
            return None
        if not isinstance(raw, list) or not 0 < len(raw) <= listing.MAX_FIELDS:
            self.problem("fields", f"must be a list of 1 to {listing.MAX_FIELDS} dotted paths")
            return None
        paths = [self.path(f"fields.{i}", text) for i, text in enumerate(raw)]
        return path_tree(p.parts for p in paths if p is not None)

    def order(
        self, raw: Any, aggregate: Aggregate | None, group_by: FieldPath | None
    ) -> tuple[tuple[str, ...] | None, bool]:
        if raw is None:
            return (("value",), True) if group_by is not None else (None, False)
        if not isinstance(raw, str) or not raw.lstrip("-"):
            self.problem("order_by", "must be PATH or -PATH")
            return None, False
        descending, text = raw.startswith("-"), raw.removeprefix("-")
        if group_by is not None:
            if text not in ("key", "value"):
                self.problem("order_by", "grouped rows are {key, value}: order by key, -key, value or -value")
            return (text,), descending
        if aggregate is not None:
            self.problem("order_by", "an aggregate without group_by answers one row: leave order_by out")
            return None, False
        path = self.single_path("order_by", text)
        return (path.parts if path else None), descending

    def bounded(self, where: str, raw: Any, default: int, maximum: int) -> int:
        if raw is None:
            return default
        if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= maximum:
            self.problem(where, f"must be an integer from 1 to {maximum:,}")
            return default
        return raw

    def cursor(self, raw: Any, fingerprint: str) -> ScanState:
        if raw is None:
            return ScanState()
        if not isinstance(raw, str) or len(raw) > listing.MAX_CURSOR_CHARS:
            self.problem("next_cursor", "must be the next_cursor string of an incomplete result")
            return ScanState()
        try:
            return decode_cursor(raw, fingerprint)
        except CursorError as error:
            self.problem("next_cursor", str(error).removeprefix("next_cursor: "))
            return ScanState()


def _value_problem(path: FieldPath, op: str, value: Any) -> str | None:
    """Why `value` cannot be compared with the field by `op` (values are never echoed: they may be personal)."""
    kinds = path.kinds
    if op == "exists":
        return None if isinstance(value, bool) else "exists takes true or false"
    if op == "contains":
        if "array" in kinds:
            return _scalar_problem(path, path.item_kinds, value, "an item of")
        if kinds & {"s", "?"}:
            return None if isinstance(value, str) else "contains on a string field takes a string"
        return f"contains needs a string or a list field; {path.text} is {path.described}"
    if kinds <= {"array", "object", "map"}:
        return f"{path.text} is {path.described}: use contains or exists, or compare one of its fields"
    if op == "in":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IN_VALUES:
            return f"in takes a list of 1 to {MAX_IN_VALUES} values"
        return next((p for p in (_scalar_problem(path, kinds, v, "") for v in value) if p), None)
    if op in ("gt", "gte", "lt", "lte") and not (is_number(value) or isinstance(value, str)):
        return f"{op} compares with a number or a string"
    return _scalar_problem(path, kinds, value, "")


def _scalar_problem(path: FieldPath, kinds: frozenset[str], value: Any, prefix: str) -> str | None:
    if value is None or "?" in kinds:
        return None
    name = f"{prefix} {path.text}".strip()
    numeric = kinds & {"i", "n", "t"}
    if isinstance(value, bool):
        return None if "b" in kinds else f"{name} is {path.described}, not a boolean"
    if is_number(value):
        if not numeric:
            return f"{name} is {path.described}, not a number"
        if isinstance(value, float) and not kinds & {"n"}:
            return f"{name} is an integer{_unit(path, kinds)}: give a whole number"
        return None
    if isinstance(value, str):
        if "s" in kinds:
            return None
        if "t" in kinds:
            return f"{name} is a unix time in seconds (an integer such as 1700000000), not a date string"
        if numeric:
            return f"{name} is a number{_unit(path, kinds)}, not a string"
        return f"{name} is {path.described}, not a string"
    return f"{name} compares with a string, number or boolean"


def _unit(path: FieldPath, kinds: frozenset[str]) -> str:
    last = path.parts[-1]
    if "i" in kinds and any(word in last for word in AMOUNT_WORDS):
        return " in the currency's smallest unit (1500 = 15.00 USD)"
    return ""


def _fingerprint(tool: str, arguments: Any, where: Any, group_by: Any, aggregate: Any) -> str:
    canonical = json.dumps([tool, arguments, where, group_by, aggregate], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
