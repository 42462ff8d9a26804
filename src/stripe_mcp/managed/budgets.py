"""The runaway-agent guard's rules: at most N tool calls per window, per server and per account."""

from __future__ import annotations

from dataclasses import dataclass


class BudgetError(ValueError):
    """A budget written in a form that does not parse, e.g. "50 per 10"."""


@dataclass(frozen=True)
class BudgetRule:
    """At most `limit` tool calls per `window_seconds`, counted in the store so that replicas share it."""

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
