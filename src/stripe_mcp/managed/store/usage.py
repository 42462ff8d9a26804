"""Usage (the console's last-used time and calls in 24 h) counted in memory between two flushes of a store.

`record_call` is on the path of every tool call; a write per call would cost the store a transaction
(SQLite) or a round trip (Redis) each time. The stores keep the counts here and write them in one
batch at each flush (every base.FLUSH_SECONDS, and when closing: a SIGTERM loses nothing); their
`server_usage` adds what is still pending, so a replica always sees its own calls at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from stripe_mcp.managed.store.base import USAGE_HOURS


@dataclass
class PendingUsage:
    """Per server: calls per hour bucket (hour = unix time // 3600) and the latest call's time."""

    calls: dict[str, dict[int, int]] = field(default_factory=dict)
    last_at: dict[str, float] = field(default_factory=dict)

    def add(self, server_id: str, now: float) -> None:
        hours = self.calls.setdefault(server_id, {})
        hour = int(now // 3600)
        hours[hour] = hours.get(hour, 0) + 1
        if now > self.last_at.get(server_id, float("-inf")):
            self.last_at[server_id] = now

    def merge(self, other: PendingUsage) -> None:
        """Take `other`'s counts back (a flush that failed): nothing counted is dropped."""
        for server_id, hours in other.calls.items():
            mine = self.calls.setdefault(server_id, {})
            for hour, calls in hours.items():
                mine[hour] = mine.get(hour, 0) + calls
        for server_id, at in other.last_at.items():
            self.last_at[server_id] = max(at, self.last_at.get(server_id, at))

    def take(self) -> PendingUsage:
        """Everything pending, leaving nothing behind (what a flush writes)."""
        taken = PendingUsage(self.calls, self.last_at)
        self.calls, self.last_at = {}, {}
        return taken

    def forget(self, server_ids: Iterable[str]) -> None:
        """A deleted server's pending calls go with it."""
        for server_id in server_ids:
            self.calls.pop(server_id, None)
            self.last_at.pop(server_id, None)

    def added_to(self, server_id: str, now: float, stored: tuple[float | None, int]) -> tuple[float | None, int]:
        """`stored` usage (last time, calls in the USAGE_HOURS up to `now`) with the pending calls added."""
        last_at, calls = stored
        first_hour = int(now // 3600) - USAGE_HOURS + 1
        calls += sum(n for hour, n in self.calls.get(server_id, {}).items() if first_hour <= hour)
        pending_at = self.last_at.get(server_id)
        if pending_at is not None and (last_at is None or pending_at > last_at):
            last_at = pending_at
        return last_at, calls

    def __bool__(self) -> bool:
        return bool(self.calls)
