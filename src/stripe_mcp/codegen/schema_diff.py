"""Every difference between two argument schemas, each with its severity for an agent.

A change is `breaking` when it removes or narrows what an agent could send (an argument removed or
newly required, an enum value or anyOf branch removed, a type narrowed or changed, a tighter
constraint); anything else is `additive`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

BREAKING = "breaking"
ADDITIVE = "additive"

# Keywords whose bigger value accepts more (max*) or less (min*).
UPPER_BOUNDS = {"maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"}
LOWER_BOUNDS = {"minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"}
COMBINATORS = ("anyOf", "oneOf")

Found = tuple[str, str, str, str | None, Any, Any]
"""A schema change before it knows its tool: (change, severity, detail, argument, old, new)."""


def compare_schemas(old: dict[str, Any], new: dict[str, Any], where: str) -> list[Found]:
    """Every difference between two argument schemas (or two tools' input schemas, at where="")."""
    found: list[Found] = []
    old, new = dict(old), dict(new)
    label = where or None

    old_description, new_description = old.pop("description", None), new.pop("description", None)
    if old_description != new_description and where:
        found.append(
            ("argument_description_changed", ADDITIVE, "description changed", label, old_description, new_description)
        )

    for combinator in COMBINATORS:
        if combinator in old or combinator in new:
            # A plain schema on one side is a single branch: `string` -> anyOf[string, enum [""]] adds a branch.
            old_branches = old.pop(combinator) if combinator in old else [_pop_all(old)]
            new_branches = new.pop(combinator) if combinator in new else [_pop_all(new)]
            found += _compare_branches(old_branches, new_branches, where, combinator)

    found += _compare_types(old.pop("type", None), new.pop("type", None), label)
    found += _compare_enums(old.pop("enum", None), new.pop("enum", None), label)

    old_properties, new_properties = old.pop("properties", None), new.pop("properties", None)
    old_required, new_required = set(old.pop("required", []) or []), set(new.pop("required", []) or [])
    if old_properties is not None and new_properties is not None:
        found += _compare_properties(old_properties, new_properties, old_required, new_required, where)
    elif old_properties is not None or new_properties is not None:
        found.append(_keyword_change("properties", old_properties, new_properties, label))

    for keyword, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        old_value, new_value = old.pop(keyword, None), new.pop(keyword, None)
        if isinstance(old_value, dict) and isinstance(new_value, dict):
            found += compare_schemas(old_value, new_value, f"{where}{suffix}")
        elif old_value != new_value:
            found.append(_keyword_change(keyword, old_value, new_value, label))

    for keyword in sorted(old.keys() | new.keys()):
        if old.get(keyword) != new.get(keyword):
            found.append(_keyword_change(keyword, old.get(keyword), new.get(keyword), label))
    return found


def _compare_properties(
    old: dict[str, Any], new: dict[str, Any], old_required: set[str], new_required: set[str], where: str
) -> list[Found]:
    found: list[Found] = []
    for name in sorted(old.keys() | new.keys()):
        path = f"{where}.{name}" if where else name
        if name not in new:
            found.append(("argument_removed", BREAKING, "argument removed", path, old[name], None))
        elif name not in old:
            if name in new_required:
                found.append(("argument_added", BREAKING, "required argument added", path, None, new[name]))
            else:
                found.append(("argument_added", ADDITIVE, "argument added", path, None, new[name]))
        else:
            if (name in old_required) != (name in new_required):
                if name in new_required:
                    found.append(("required_changed", BREAKING, "became required", path, False, True))
                else:
                    found.append(("required_changed", ADDITIVE, "became optional", path, True, False))
            found += compare_schemas(old[name], new[name], path)
    return found


def _compare_branches(old: list[Any], new: list[Any], where: str, combinator: str) -> list[Found]:
    """anyOf/oneOf branches matched by their shape (type, has enum); matched pairs are compared in depth."""
    found: list[Found] = []
    label = where or None
    old_left, new_left = list(old), list(new)
    for branch in list(old_left):  # identical branches first
        if branch in new_left:
            old_left.remove(branch)
            new_left.remove(branch)
    pairs = []
    for branch in list(old_left):
        match = next((b for b in new_left if _branch_key(b) == _branch_key(branch)), None)
        if match is not None:
            old_left.remove(branch)
            new_left.remove(match)
            pairs.append((branch, match))
    for a, b in pairs:
        found += compare_schemas(a, b, where)
    for branch in old_left:
        found.append(
            ("anyof_changed", BREAKING, f"{combinator} branch removed: {describe(branch)}", label, branch, None)
        )
    for branch in new_left:
        found.append(("anyof_changed", ADDITIVE, f"{combinator} branch added: {describe(branch)}", label, None, branch))
    return found


def _branch_key(schema: Any) -> tuple[tuple[str, ...], bool]:
    if not isinstance(schema, dict):
        return (("?",), False)
    return (tuple(sorted(_types(schema.get("type")) or {"any"})), "enum" in schema)


def _pop_all(schema: dict[str, Any]) -> dict[str, Any]:
    branch = dict(schema)
    schema.clear()
    return branch


def _types(value: Any) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


def _accepts(types: set[str], other: set[str]) -> bool:
    """Every value of a type in `other` is valid for `types` (integer is a number)."""
    return all(t in types or (t == "integer" and "number" in types) for t in other)


def _compare_types(old: Any, new: Any, label: str | None) -> list[Found]:
    if old == new:
        return []
    old_types, new_types = _types(old), _types(new)
    if old_types == new_types:
        return []
    if not new_types:
        return [("type_changed", ADDITIVE, f"type {type_text(old)} → any", label, old, new)]
    if old_types and _accepts(new_types, old_types):
        return [("type_changed", ADDITIVE, f"type widened {type_text(old)} → {type_text(new)}", label, old, new)]
    if old_types and _accepts(old_types, new_types):
        return [("type_changed", BREAKING, f"type narrowed {type_text(old)} → {type_text(new)}", label, old, new)]
    return [
        (
            "type_changed",
            BREAKING,
            f"type {type_text(old) if old_types else 'any'} → {type_text(new)}",
            label,
            old,
            new,
        )
    ]


def _compare_enums(old: Any, new: Any, label: str | None) -> list[Found]:
    if old == new:
        return []
    if old is None:
        return [("enum_changed", BREAKING, f"now limited to {values_text(new)}", label, old, new)]
    if new is None:
        return [("enum_changed", ADDITIVE, "no longer limited to a list of values", label, old, new)]
    found: list[Found] = []
    removed = [v for v in old if v not in new]
    added = [v for v in new if v not in old]
    if removed:
        found.append(("enum_changed", BREAKING, f"enum values removed: {values_text(removed)}", label, removed, None))
    if added:
        found.append(("enum_changed", ADDITIVE, f"enum values added: {values_text(added)}", label, None, added))
    return found


def _keyword_change(keyword: str, old: Any, new: Any, label: str | None) -> Found:
    if new is None:
        severity, text = ADDITIVE, f"{keyword} dropped (was {short(old)})"
    elif old is None:
        severity, text = BREAKING, f"{keyword} added ({short(new)})"
    else:
        text = f"{keyword} {short(old)} → {short(new)}"
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
        if numbers and keyword in UPPER_BOUNDS:
            severity = ADDITIVE if new > old else BREAKING
        elif numbers and keyword in LOWER_BOUNDS:
            severity = ADDITIVE if new < old else BREAKING
        elif keyword == "additionalProperties" and old is False and new is not False:
            severity = ADDITIVE
        else:
            severity = BREAKING
    return ("constraint_changed", severity, text, label, old, new)


# Words ----------------------------------------------------------------------------------------


def type_text(value: Any) -> str:
    types = sorted(_types(value))
    return " | ".join(types) if types else "any"


def describe(schema: Any) -> str:
    if not isinstance(schema, dict):
        return short(schema)
    text = type_text(schema.get("type"))
    if "enum" in schema:
        text += f" enum {values_text(schema['enum'])}"
    if "items" in schema and isinstance(schema["items"], dict):
        text += f" of {describe(schema['items'])}"
    if "properties" in schema:
        text += f" with {len(schema['properties'])} properties"
    return text


def values_text(values: Iterable[Any], limit: int = 12) -> str:
    values = list(values)
    shown = ", ".join(json.dumps(v, ensure_ascii=False) for v in values[:limit])
    return f"[{shown}{', …' if len(values) > limit else ''}]"


def short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"
