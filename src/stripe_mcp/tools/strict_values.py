"""Words for a value of the wrong JSON type where Stripe wants an integer or a boolean.

The generated models take integers and booleans strictly: `"15.00"` or `15.0` for an amount is refused
rather than sent as `amount=15` (0.15 USD), and `"false"` for a flag is refused rather than guessed. The
error says what the field holds, so that an agent thinking in dollars learns the unit.
"""

from __future__ import annotations

from collections.abc import Sequence

MONEY_EXAMPLE = "1500 = 15.00 USD"
_TYPE_LABELS = frozenset({"int", "str", "bool", "float", "list", "dict", "none"})  # pydantic's union branch labels


def strict_value_message(error_type: str, loc: Sequence[int | str], given: object) -> str | None:
    """The message for a strict integer or boolean refused, else None (pydantic's own message stands)."""
    if error_type == "int_type":
        name = _field_name(loc)
        if "amount" in name.split("_"):
            return f"must be an integer in the currency's smallest unit: {MONEY_EXAMPLE} ({_given(given)})"
        return f"must be an integer, e.g. 3 ({_given(given)})"
    if error_type == "bool_type":
        return f"must be true or false, a JSON boolean ({_given(given)})"
    return None


def _field_name(loc: Sequence[int | str]) -> str:
    """The last field name in a validation error's location, past pydantic's union branch labels."""
    for part in reversed(loc):
        if isinstance(part, str) and part.isidentifier() and part.islower() and part not in _TYPE_LABELS:
            return part
    return ""


def _given(value: object) -> str:
    """What was sent instead, by JSON type only: the value itself is never echoed."""
    if isinstance(value, bool):
        return "got true or false"
    if isinstance(value, float):
        return "got a decimal number"
    if isinstance(value, str):
        return "got a string"
    if isinstance(value, dict):
        return "got an object"
    if isinstance(value, list):
        return "got an array"
    return "got null" if value is None else "got another type"
