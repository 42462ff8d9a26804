"""JSON Schema dictionaries walked by keyword, so that a property named `title` is never taken for one."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

Schema = dict[str, Any]
SUBSCHEMA_KEYWORDS = ("items", "additionalProperties", "not")
SUBSCHEMA_LIST_KEYWORDS = ("anyOf", "oneOf", "allOf")


def mapped(schema: Schema, transform: Callable[[Schema], Any], drop: Collection[str] = ()) -> Schema:
    """A copy of `schema` without the keywords in `drop`, each of its direct subschemas (a property's, `items`,
    `additionalProperties`, `not`, each `anyOf`/`oneOf`/`allOf` member) replaced by `transform` of it."""
    result: Schema = {}
    for key, value in schema.items():
        if key in drop:
            continue
        if key == "properties":
            result[key] = {name: transform(sub) for name, sub in value.items()}
        elif key in SUBSCHEMA_KEYWORDS and isinstance(value, dict):
            result[key] = transform(value)
        elif key in SUBSCHEMA_LIST_KEYWORDS:
            result[key] = [transform(sub) for sub in value]
        else:
            result[key] = value
    return result


def without_keywords(schema: Schema, keywords: frozenset[str]) -> Schema:
    """A copy of `schema` with none of `keywords`, at any depth."""
    return mapped(schema, lambda sub: without_keywords(sub, keywords), keywords)


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
