"""JSON Schema dictionaries walked by keyword, so that a property named `title` is never taken for one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Schema = dict[str, Any]
SUBSCHEMA_KEYWORDS = ("items", "additionalProperties", "not")
SUBSCHEMA_LIST_KEYWORDS = ("anyOf", "oneOf", "allOf")


def without_keywords(schema: Schema, keywords: frozenset[str]) -> Schema:
    """A copy of `schema` with none of `keywords`, at any depth."""
    result: Schema = {}
    for key, value in schema.items():
        if key in keywords:
            continue
        if key == "properties":
            result[key] = {name: without_keywords(sub, keywords) for name, sub in value.items()}
        elif key in SUBSCHEMA_KEYWORDS and isinstance(value, dict):
            result[key] = without_keywords(value, keywords)
        elif key in SUBSCHEMA_LIST_KEYWORDS:
            result[key] = [without_keywords(sub, keywords) for sub in value]
        else:
            result[key] = value
    return result


def children(schema: Schema) -> Iterator[tuple[str | None, Schema]]:
    """The subschemas directly inside `schema`, each with the property it belongs to (None for items, branches)."""
    for name, sub in (schema.get("properties") or {}).items():
        yield name, sub
    for key in SUBSCHEMA_KEYWORDS:
        if isinstance(schema.get(key), dict):
            yield None, schema[key]
    for key in SUBSCHEMA_LIST_KEYWORDS:
        for sub in schema.get(key) or ():
            yield None, sub
