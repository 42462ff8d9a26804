"""Pagination, one convention for every list and search tool: `limit` and `next_cursor` in,
`{"result": [...], "next_cursor": ...}` out (`next_cursor` is None on the last page).

A tool's PAGINATION says how Stripe pages it:

| PAGINATION | Stripe's endpoint                | `next_cursor` is                  | sent to Stripe as      |
|------------|----------------------------------|-----------------------------------|------------------------|
| "cursor"   | a list (`has_more`, `data`)      | the last item's id                | `starting_after`       |
| "search"   | a search (`next_page`)           | Stripe's `next_page`              | `page`                 |
| "local"    | a list Stripe answers whole      | an opaque offset into that list   | nothing: sliced here   |
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from stripe_mcp.stripe_api.types import InvalidArgument, ToolModule

PAGINATIONS = ("cursor", "search", "local")
_OFFSET_CURSOR_PREFIX = "offset:"


def page_query(tool: ToolModule, arguments: Mapping[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """The tool's query parameters with `limit` and `next_cursor` as Stripe takes them.

    A bad "local" cursor is refused here, so that nothing is sent for it.
    """
    query = dict(query)
    cursor = arguments.get("next_cursor")
    if tool.PAGINATION in ("cursor", "search") and "limit" in arguments:
        query["limit"] = arguments["limit"]
    if tool.PAGINATION == "cursor" and cursor:
        query["starting_after"] = cursor
    elif tool.PAGINATION == "search" and cursor:
        query["page"] = cursor
    elif tool.PAGINATION == "local":
        query.pop("limit", None)
        if cursor:
            decode_offset_cursor(cursor)
    return query


def page_result(tool: ToolModule, body: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Stripe's answer to a paginated tool (PAGINATION in PAGINATIONS) as `{"result", "next_cursor"}`."""
    if not isinstance(body, dict):
        body = {"data": body if isinstance(body, list) else [body]}
    if tool.PAGINATION == "cursor":
        return _page(body, _last_id(body) if body.get("has_more") else None)
    if tool.PAGINATION == "search":
        return _page(body, body.get("next_page") if body.get("has_more") else None)
    return _local_page(body, arguments)


def encode_offset_cursor(offset: int) -> str:
    raw = f"{_OFFSET_CURSOR_PREFIX}{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_offset_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        offset = int(text.removeprefix(_OFFSET_CURSOR_PREFIX))
        valid = text.startswith(_OFFSET_CURSOR_PREFIX) and offset >= 0
    except (ValueError, UnicodeError, binascii.Error):
        valid = False
    if not valid:
        raise InvalidArgument("next_cursor", "is not a cursor returned by this tool")
    return offset


def _items(body: dict[str, Any]) -> list[Any]:
    data = body.get("data")
    return data if isinstance(data, list) else []


def _page(body: dict[str, Any], next_cursor: Any) -> dict[str, Any]:
    return {"result": _items(body), "next_cursor": next_cursor if isinstance(next_cursor, str) else None}


def _last_id(body: dict[str, Any]) -> str | None:
    items = _items(body)
    last = items[-1] if items else None
    return last.get("id") if isinstance(last, dict) else None


def _local_page(body: dict[str, Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    items = _items(body)
    cursor = arguments.get("next_cursor")
    start = decode_offset_cursor(cursor) if cursor else 0
    limit = arguments.get("limit")
    end = len(items) if limit is None else start + limit
    next_cursor = encode_offset_cursor(end) if end < len(items) else None
    return {"result": items[start:end], "next_cursor": next_cursor}
