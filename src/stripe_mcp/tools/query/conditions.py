"""The `where` conditions of query_stripe, evaluated on one Stripe object.

A path that crosses a list (items.data.price.id) holds one value per element: a condition holds when it
holds for one of them (`ne` when none equals). Values compare only within their kind: a boolean is never
the number 1, a string never a number; a missing field or a null satisfies only `ne` and `exists: false`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stripe_mcp.tools.object_fields import FieldPath
from stripe_mcp.tools.projection import values_at


@dataclass(frozen=True)
class Condition:
    path: FieldPath
    op: str
    value: Any

    def holds(self, item: Any) -> bool:
        values = values_at(item, self.path.parts)
        if self.op == "exists":
            return any(v is not None for v in values) is bool(self.value)
        if self.op == "ne":
            return not any(same(v, self.value) for v in values)
        return any(_test(self.op, v, self.value) for v in values)


def matches(item: Any, conditions: Iterable[Condition]) -> bool:
    return all(condition.holds(item) for condition in conditions)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


def _test(op: str, value: Any, wanted: Any) -> bool:
    if op == "eq":
        return same(value, wanted)
    if op == "in":
        return any(same(value, option) for option in wanted)
    if op == "contains":
        if isinstance(value, str) and isinstance(wanted, str):
            return wanted.casefold() in value.casefold()
        return isinstance(value, list) and any(same(member, wanted) for member in value)
    comparable = (is_number(value) and is_number(wanted)) or (isinstance(value, str) and isinstance(wanted, str))
    if not comparable:
        return False
    if op == "gt":
        return bool(value > wanted)
    if op == "gte":
        return bool(value >= wanted)
    if op == "lt":
        return bool(value < wanted)
    return bool(value <= wanted)  # lte: the request parser admits no other op
