"""Rate-limit response headers (IETF draft "RateLimit header fields for HTTP", plus `retry-after`).

Two sources set them. A Stripe 429 is returned once, never retried, and answers with headers taken
from Stripe's response (`rate_limit_headers`):

| response header       | taken from Stripe's 429 response                           | fallback            |
|-----------------------|------------------------------------------------------------|---------------------|
| `retry-after`         | `Retry-After` (seconds or HTTP date, as seconds)           | `ratelimit-reset`, else 1 |
| `ratelimit-limit`     | `RateLimit-Limit`, else `X-RateLimit-Limit`                | 100 (live key), 25 (test key): Stripe's documented per-second default limits |
| `ratelimit-remaining` | `RateLimit-Remaining`, else `X-RateLimit-Remaining`        | 0                   |
| `ratelimit-reset`     | `RateLimit-Reset`, else `X-RateLimit-Reset` (seconds until reset; a Unix time is converted) | `Retry-After`, else 1 (Stripe's limits are per second) |

Stripe's headers are parsed defensively: a value that is not a number of at most MAX_DIGITS digits (or, for
`Retry-After`, an HTTP date) counts as absent, so the fallback applies.

A managed server's own call budget (the runaway-agent limit) answers with `budget_headers`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

DEFAULT_LIVE_RATE_LIMIT = 100
DEFAULT_TEST_RATE_LIMIT = 25
DEFAULT_RETRY_SECONDS = 1
# A reset value this large is a Unix time, not a number of seconds.
_EPOCH_THRESHOLD = 1_000_000_000
MAX_DIGITS = 15  # longer numbers are not seconds anyone means (and a 5,000-digit one cannot even be an int)
_LEADING_INT = re.compile(rf"\s*(\d{{1,{MAX_DIGITS}}})(?!\d)")


def rate_limit_headers(headers: Mapping[str, str], *, livemode: bool, now: float | None = None) -> dict[str, str]:
    """The four headers a tool call that Stripe answered with 429 answers with; see the module docstring."""
    now = time.time() if now is None else now
    retry_after = _retry_after_seconds(headers.get("retry-after"), now)
    reset = _reset_seconds(_first(headers, "ratelimit-reset", "x-ratelimit-reset"), now)
    reset = reset if reset is not None else retry_after
    retry_after = retry_after if retry_after is not None else reset
    default_limit = DEFAULT_LIVE_RATE_LIMIT if livemode else DEFAULT_TEST_RATE_LIMIT
    limit = _leading_int(_first(headers, "ratelimit-limit", "x-ratelimit-limit"))
    remaining = _leading_int(_first(headers, "ratelimit-remaining", "x-ratelimit-remaining"))
    return {
        "ratelimit-limit": str(default_limit if limit is None else limit),
        "ratelimit-remaining": str(0 if remaining is None else remaining),
        "ratelimit-reset": str(DEFAULT_RETRY_SECONDS if reset is None else reset),
        "retry-after": str(DEFAULT_RETRY_SECONDS if retry_after is None else retry_after),
    }


def budget_headers(limit: int, remaining: int, reset_seconds: int) -> dict[str, str]:
    """A call budget's state, plus retry-after when nothing remains."""
    headers = {
        "ratelimit-limit": str(limit),
        "ratelimit-remaining": str(remaining),
        "ratelimit-reset": str(reset_seconds),
    }
    if remaining == 0:
        headers["retry-after"] = str(reset_seconds)
    return headers


def _first(headers: Mapping[str, str], *names: str) -> str | None:
    return next((headers[name] for name in names if headers.get(name)), None)


def _leading_int(value: str | None) -> int | None:
    """`100`, `100, 100;w=1` and `100;w=1` all give 100."""
    match = _LEADING_INT.match(value or "")
    return int(match[1]) if match else None


def _retry_after_seconds(value: str | None, now: float) -> int | None:
    if not value:
        return None
    if value.strip().isdigit():
        return _leading_int(value)
    try:
        return max(0, math.ceil(parsedate_to_datetime(value).timestamp() - now))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _reset_seconds(value: str | None, now: float) -> int | None:
    seconds = _leading_int(value)
    if seconds is None or seconds < _EPOCH_THRESHOLD:
        return seconds
    return max(0, math.ceil(seconds - now))
