"""The runaway-agent guard's rules and their accounting: at most N tool calls in any window of S seconds.

A budget is a sliding window: a call is let through when fewer than `limit` calls were let through in
the `window_seconds` before it, so no stretch of time of that length ever holds more than `limit` calls
(a fixed window let twice the limit through across its edge). Refused calls are not counted, so an
agent that keeps retrying gets through as soon as its oldest counted call leaves the window. A call
takes all its budgets (the server's and the account's) or none.

Where the calls are counted is the store's affair (managed/store/): Redis counts in the server in one
script call per tool call, exact across replicas; SQLite counts in memory with `SlidingLog` and shares
the calls with other processes on the same file at each flush (see sqlite_store.py).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple


class BudgetError(ValueError):
    """A budget written in a form that does not parse, e.g. "50 per 10"."""


@dataclass(frozen=True)
class BudgetRule:
    """At most `limit` tool calls in any `window_seconds`, counted in the store so that replicas share it."""

    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> BudgetRule:
        """ "50/10" -> 50 calls per 10 seconds."""
        limit, _, window = text.partition("/")
        try:
            rule = cls(int(limit), int(window or 1))
        except ValueError:
            raise BudgetError(f"budget {text!r}: write CALLS/SECONDS, e.g. 50/10") from None
        if rule.limit < 1 or rule.window_seconds < 1:
            raise BudgetError(f"budget {text!r}: both numbers must be at least 1")
        return rule

    def __str__(self) -> str:
        """The form `parse` reads: "50/10"."""
        return f"{self.limit}/{self.window_seconds}"


@dataclass(frozen=True)
class BudgetTake:
    """One budget a call takes from: its key in the store (e.g. `server:srv_...`) and its rule."""

    key: str
    rule: BudgetRule


class Budget(NamedTuple):  # a tuple: made twice per tool call, and a frozen dataclass costs 5x more to make
    """One budget after a call asked it: whether the call was let through, what is left, and the
    seconds until one more call would be let through (for `ratelimit-reset` and `retry-after`)."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


def budget_after(allowed: bool, rule: BudgetRule, used: int, freeing_at: float | None, now: float) -> Budget:
    """The answer for one budget that held `used` calls in the window before this one.

    `freeing_at` is the time of the counted call whose leaving the window frees a place: the oldest one
    when the call was let through, else the one at index `used - limit` (the window may hold more than
    the limit after processes that share a SQLite file exchange their calls)."""
    remaining = max(0, rule.limit - used - 1) if allowed else max(0, rule.limit - used)
    if freeing_at is None:
        return Budget(allowed, rule.limit, remaining, rule.window_seconds)
    reset = max(1, math.ceil(freeing_at + rule.window_seconds - now))
    return Budget(allowed, rule.limit, remaining, min(reset, rule.window_seconds))


def freeing_index(allowed: bool, rule: BudgetRule, used: int) -> int:
    """Which counted call (0 = the oldest in the window) frees a place when it leaves: see budget_after."""
    return 0 if allowed else max(0, used - rule.limit)


class SlidingLog:
    """Exact sliding-window accounting in memory: per key, the sorted times of the calls it let through
    that are still in some window. Memory: one float per counted call; a key whose calls all left the
    window goes at the next `prune`."""

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}
        self._windows: dict[str, int] = {}

    def take(self, takes: Sequence[BudgetTake], now: float) -> list[Budget]:
        """Count a call at `now` in every budget of `takes` if all of them have room, else in none."""
        counted = []
        allowed = True
        for take in takes:
            times = self._times.get(take.key)
            start = 0
            if times:
                # A call at `at` counts while at > now - window.
                start = bisect.bisect_right(times, now - take.rule.window_seconds)
                if start and take.rule.window_seconds >= self._windows[take.key]:
                    del times[:start]  # out of every window this key is asked with
                    start = 0
            used = len(times) - start if times else 0
            allowed = allowed and used < take.rule.limit
            counted.append((times, start, used))
        answers = []
        for take, (times, start, used) in zip(takes, counted, strict=True):
            index = freeing_index(allowed, take.rule, used)
            freeing_at = times[start + index] if times and index < used else (now if allowed else None)
            answers.append(budget_after(allowed, take.rule, used, freeing_at, now))
        if allowed:
            for take in takes:
                self.add(take.key, take.rule.window_seconds, now)
        return answers

    def add(self, key: str, window_seconds: int, at: float) -> None:
        """Count a call at `at` (this process's, or one another process let through)."""
        times = self._times.get(key)
        if times is None:
            self._times[key], self._windows[key] = [at], window_seconds
            return
        if window_seconds > self._windows[key]:
            self._windows[key] = window_seconds
        if not times or at >= times[-1]:
            times.append(at)
        else:  # another process's call, or the clock stepped back
            bisect.insort(times, at)

    def prune(self, now: float) -> None:
        """Forget the calls that left every window, and the keys left without calls."""
        for key in list(self._times):
            times = self._times[key]
            del times[: bisect.bisect_right(times, now - self._windows[key])]
            if not times:
                del self._times[key], self._windows[key]

    def __len__(self) -> int:
        """How many calls are held (for the scale benchmark and tests)."""
        return sum(len(times) for times in self._times.values())
