"""query_stripe's resume cursor: where the scan stopped and what it had counted, bound to its query.

The cursor is the agent's own state handed back (compressed JSON, base64url): where the next page starts
(the tool's next_cursor, or the page that stopped part way and how many of its objects were taken), the
objects scanned and matched so far, and the running totals or groups. It carries a fingerprint of the
query (tool, arguments, where, group_by, aggregate): a cursor resumes only the query that made it.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from typing import Any

VERSION = 1
MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024


class CursorError(ValueError):
    """A next_cursor this query did not return."""


@dataclass
class ScanState:
    page: str | None = None
    """The tool's next_cursor for the page to fetch next (None: the first page)."""
    skip: int = 0
    """Objects of that page already scanned (a scan stopped part way through it)."""
    scanned: int = 0
    matched: int = 0
    totals: list[Any] | None = None
    """Totals.to_json() or Groups.to_json() of an aggregate query, else None."""


def encode_cursor(fingerprint: str, state: ScanState) -> str:
    raw = [VERSION, fingerprint, state.page, state.skip, state.scanned, state.matched, state.totals]
    packed = zlib.compress(json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_cursor(text: str, fingerprint: str) -> ScanState:
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, MAX_DECOMPRESSED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:  # too large, or cut short (its checksum unread)
            raise ValueError("not a whole cursor")
        version, made_for, page, skip, scanned, matched, totals = json.loads(data)
    except (ValueError, TypeError, binascii.Error, zlib.error, RecursionError):
        raise CursorError("next_cursor: not a cursor returned by query_stripe") from None
    if version != VERSION or not isinstance(made_for, str):
        raise CursorError("next_cursor: not a cursor returned by query_stripe")
    if made_for != fingerprint:
        raise CursorError(
            "next_cursor: it resumes another query; pass the same tool, arguments, where, group_by and aggregate"
        )
    counts = (skip, scanned, matched)
    if not (page is None or isinstance(page, str)) or not all(_count(n) for n in counts):
        raise CursorError("next_cursor: not a cursor returned by query_stripe")
    if totals is not None and not isinstance(totals, list):
        raise CursorError("next_cursor: not a cursor returned by query_stripe")
    return ScanState(page, skip, scanned, matched, totals)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
