"""Times as the store keeps them (Unix seconds) and as people read them, and the rule every expiry follows.

A stored time outside what `datetime` can show (year 10000 in UTC, say, from a store written before expiries
were checked) is shown as the latest time it can show, never an error, so that no list fails for one row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from stripe_mcp.tools.filters import PolicyError

MIN_LIFETIME_SECONDS = 60
LATEST = datetime(9999, 12, 31, tzinfo=UTC)  # the latest expiry accepted: a day short of what datetime can hold
LATEST_TIMESTAMP = LATEST.timestamp()


def utc(timestamp: float) -> datetime:
    """`timestamp` as an aware UTC datetime, clamped to the years datetime can hold."""
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.max.replace(tzinfo=UTC) if timestamp > 0 else datetime.min.replace(tzinfo=UTC)


def iso(timestamp: float) -> str:
    """ISO 8601 in UTC with a Z, to the second: 2026-12-01T00:00:00Z."""
    return utc(timestamp).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_expiry(expires_at: float | None, now: float, what: str = "expires_at") -> None:
    """PolicyError unless `expires_at` is None (never) or between a minute from `now` and LATEST."""
    if expires_at is None:
        return
    if expires_at < now + MIN_LIFETIME_SECONDS:
        raise PolicyError(f"{what} must be at least {MIN_LIFETIME_SECONDS} seconds in the future")
    if expires_at > LATEST_TIMESTAMP:
        raise PolicyError(f"{what} must be at most {LATEST.isoformat().replace('+00:00', 'Z')} (in UTC)")


def timestamp_of(when: datetime, what: str = "expires_at") -> float:
    """The Unix time of an aware datetime; PolicyError for one without a time zone or beyond what UTC can hold."""
    if when.tzinfo is None:
        raise PolicyError(f"{what}: give a time zone, e.g. 2026-12-01T00:00:00Z")
    try:
        when.astimezone(UTC)
    except OverflowError:
        raise PolicyError(f"{what} must be at most {LATEST.isoformat().replace('+00:00', 'Z')} (in UTC)") from None
    return when.timestamp()
