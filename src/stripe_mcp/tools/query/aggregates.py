"""Counts, sums, averages, minima and maxima of query_stripe, over the whole scan or per group, and row order.

Sums of integers stay integers (amounts in the smallest currency unit add up exactly). The running totals
travel in the resume cursor, so a resumed scan answers for everything scanned so far.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stripe_mcp.tools.object_fields import FieldPath
from stripe_mcp.tools.projection import values_at
from stripe_mcp.tools.query.conditions import is_number

MAX_GROUPS = 1000
AVERAGE_DIGITS = 2


class TooManyGroups(ValueError):
    """group_by met more distinct values than a result can carry."""


@dataclass(frozen=True)
class Aggregate:
    op: str  # count, sum, avg, min or max
    path: FieldPath | None  # None for count


@dataclass
class Totals:
    """What one aggregate needs of the objects counted: their number and their numeric values' sum and range."""

    count: int = 0
    numbers: int = 0
    total: int | float = 0
    minimum: int | float | None = None
    maximum: int | float | None = None

    def add(self, item: Any, path: FieldPath | None) -> None:
        self.count += 1
        if path is None:
            return
        for value in _numbers(values_at(item, path.parts)):
            self.numbers += 1
            self.total += value
            self.minimum = value if self.minimum is None else min(self.minimum, value)
            self.maximum = value if self.maximum is None else max(self.maximum, value)

    def value(self, op: str) -> int | float | None:
        if op == "count":
            return self.count
        if op == "sum":
            return self.total
        if op == "avg":
            return round(self.total / self.numbers, AVERAGE_DIGITS) if self.numbers else None
        return self.minimum if op == "min" else self.maximum

    def to_json(self) -> list[Any]:
        return [self.count, self.numbers, self.total, self.minimum, self.maximum]

    @classmethod
    def from_json(cls, raw: Any) -> Totals:
        count, numbers, total, minimum, maximum = raw
        if not (_count(count) and _count(numbers) and is_number(total)):
            raise ValueError("totals")
        if any(v is not None and not is_number(v) for v in (minimum, maximum)):
            raise ValueError("totals")
        return cls(count, numbers, total, minimum, maximum)


@dataclass
class Groups:
    """One Totals per distinct value at the group_by path (a missing field groups under null)."""

    path: FieldPath
    totals: dict[str, tuple[Any, Totals]] = field(default_factory=dict)

    def add(self, item: Any, aggregate: Aggregate) -> None:
        values = values_at(item, self.path.parts)
        key = values[0] if values else None
        slot = json.dumps(key, sort_keys=True)
        if slot not in self.totals:
            if len(self.totals) >= MAX_GROUPS:
                raise TooManyGroups(
                    f"group_by {self.path.text} has more than {MAX_GROUPS} distinct values: group by a field with "
                    "fewer values, or narrow the scan with where or the tool's arguments"
                )
            self.totals[slot] = (key, Totals())
        self.totals[slot][1].add(item, aggregate.path)

    def rows(self, op: str) -> list[dict[str, Any]]:
        return [{"key": key, "value": totals.value(op)} for key, totals in self.totals.values()]

    def to_json(self) -> list[Any]:
        return [[key, totals.to_json()] for key, totals in self.totals.values()]

    def load(self, raw: Any) -> None:
        if not isinstance(raw, list) or len(raw) > MAX_GROUPS:
            raise ValueError("groups")
        for key, totals in raw:
            self.totals[json.dumps(key, sort_keys=True)] = (key, Totals.from_json(totals))


def sort_rows(rows: list[Any], key: tuple[str, ...], descending: bool) -> list[Any]:
    """Rows ordered by the value at `key`: numbers, then strings, then booleans, then rows without one."""
    bands: tuple[list[tuple[Any, Any]], ...] = ([], [], [], [])
    for row in rows:
        values = values_at(row, key)
        value = values[0] if values else None
        number = 0 if is_number(value) else 1 if isinstance(value, str) else 2 if isinstance(value, bool) else 3
        bands[number].append((value, row))
    ordered: list[Any] = []
    for band in bands[:3]:
        ordered += [row for _, row in sorted(band, key=lambda pair: pair[0], reverse=descending)]
    return ordered + [row for _, row in bands[3]]


def _numbers(values: Iterable[Any]) -> Iterable[int | float]:
    for value in values:
        if isinstance(value, list):
            yield from (v for v in value if is_number(v))
        elif is_number(value):
            yield value


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
