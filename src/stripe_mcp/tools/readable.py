"""How a Stripe object reads to a person: a one-line title, and `field: value` lines for ChatGPT's fetch.

Unix times read as ISO 8601 dates (the number kept beside them), nested objects as dotted fields, and
nested lists as a count and the first few items' titles rather than pages of JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

ZERO_DECIMAL_CURRENCIES = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
MAX_TEXT_CHARS = 20_000
LIST_ITEMS_SHOWN = 5
MAX_DEPTH = 3  # nested objects deeper than this are written as compact JSON
MAX_ITEM_CHARS = 120
# Unix times Stripe writes: 2001-09-09 to 2100-01-01, in fields named like these.
_UNIX_RANGE = (1_000_000_000, 4_102_444_800)
_TIME_FIELDS = frozenset({"created", "date", "billing_cycle_anchor"})
_TIME_SUFFIXES = ("_at", "_date", "_start", "_end", "_on", "_until")


def title_of(obj: dict[str, Any]) -> str:
    kind = str(obj.get("object", "object")).replace("_", " ")
    label = obj.get("name") or obj.get("email") or obj.get("description") or obj.get("number") or obj.get("nickname")
    amount = obj.get("amount") if obj.get("amount") is not None else obj.get("amount_due", obj.get("unit_amount"))
    parts = [kind.capitalize()]
    if label:
        parts.append(str(label))
    currency = str(obj.get("currency") or "")
    if isinstance(amount, int) and currency:
        shown = f"{amount}" if currency.lower() in ZERO_DECIMAL_CURRENCIES else f"{amount / 100:.2f}"
        parts.append(f"{shown} {currency.upper()}")
    if obj.get("status"):
        parts.append(str(obj["status"]))
    return " · ".join(parts) + f" ({obj.get('id', '?')})"


def readable(obj: dict[str, Any]) -> str:
    """One `field: value` line per field (nested fields dotted), at most MAX_TEXT_CHARS characters."""
    lines: list[str] = []
    _lines(obj, "", 0, lines)
    return "\n".join(lines)[:MAX_TEXT_CHARS]


def _lines(obj: dict[str, Any], prefix: str, depth: int, lines: list[str]) -> None:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not _is_list_object(value) and depth < MAX_DEPTH:
            _lines(value, name + ".", depth + 1, lines)
        else:
            lines.append(f"{name}: {_value(str(key), value)}")


def _value(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if _is_unix_time(key, value):
        return f"{datetime.fromtimestamp(value, tz=UTC).isoformat().replace('+00:00', 'Z')} ({value})"
    if isinstance(value, dict) and _is_list_object(value):
        return _summary(value.get("data") or [], bool(value.get("has_more")), value.get("total_count"))
    if isinstance(value, list) and value:
        return _summary(value, False, None)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_unix_time(key: str, value: Any) -> bool:
    if not isinstance(value, int) or isinstance(value, bool) or not _UNIX_RANGE[0] <= value < _UNIX_RANGE[1]:
        return False
    return key in _TIME_FIELDS or key.endswith(_TIME_SUFFIXES)


def _is_list_object(value: dict[str, Any]) -> bool:
    return value.get("object") == "list" and isinstance(value.get("data"), list)


def _summary(items: list[Any], has_more: bool, total: Any) -> str:
    """`3 items: <title>; <title>; <title>`: the first LIST_ITEMS_SHOWN, and how many more there are."""
    if not items:
        return f"{total} items (on Stripe)" if isinstance(total, int) and total > 0 else "none"
    if all(not isinstance(item, dict | list) for item in items):
        return ", ".join(str(item) for item in items)
    count = total if isinstance(total, int) else len(items)
    text = f"{count}{'+' if has_more and not isinstance(total, int) else ''} item{'s' if count != 1 else ''}: "
    text += "; ".join(_item(item) for item in items[:LIST_ITEMS_SHOWN])
    hidden = len(items) - LIST_ITEMS_SHOWN
    if hidden > 0:
        text += f"; and {hidden} more"
    if has_more or count > len(items):
        text += " (more on Stripe)"
    return text


def _item(item: Any) -> str:
    if isinstance(item, dict) and "id" in item:
        return title_of(item)
    text = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= MAX_ITEM_CHARS else text[: MAX_ITEM_CHARS - 1] + "…"
