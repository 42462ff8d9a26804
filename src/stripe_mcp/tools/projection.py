"""Dotted paths applied to Stripe objects: the values at a path, and an object cut down to some paths.

A path crosses lists element by element: `items.data.price.id` of a subscription is the price id of each
of its items. Paths are checked against the object's fields before (tools/object_fields.py); here a
path that meets something else (an id where an object was expected, a missing field) yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_MISSING = object()
PathTree = dict[str, "PathTree"]


def values_at(value: Any, parts: tuple[str, ...]) -> list[Any]:
    """Every value at `parts`: one per element of each list crossed; none where the path is missing.

    A list at the end of the path is one value (so that `contains` can ask whether it holds something).
    """
    found: list[Any] = []
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if depth == len(parts):
            found.append(current)
        elif isinstance(current, list):
            stack.extend((item, depth) for item in reversed(current))
        elif isinstance(current, dict) and parts[depth] in current:
            stack.append((current[parts[depth]], depth + 1))
    return found


def path_tree(paths: Iterable[tuple[str, ...]]) -> PathTree:
    """Paths as a tree; a path that ends where another goes on keeps the whole value ({} is a leaf)."""
    tree: PathTree = {}
    for parts in sorted(set(paths), key=len):
        node = tree
        for depth, part in enumerate(parts):
            if part in node and not node[part]:
                break  # a shorter path already keeps this whole value
            node = node.setdefault(part, {})
            if depth == len(parts) - 1:
                node.clear()
    return tree


def project(value: Any, tree: PathTree) -> Any:
    """`value` holding only the paths of `tree`, nested as in the object; a requested null stays null."""
    picked = _pick(value, tree)
    return {} if picked is _MISSING else picked


def _pick(value: Any, tree: PathTree) -> Any:
    if not tree or value is None:
        return value  # the whole value, or a null where the fields were asked for (address: null)
    if isinstance(value, list):
        return [item for item in (_pick(v, tree) for v in value) if item is not _MISSING]
    if isinstance(value, dict):
        kept = {key: _pick(value[key], sub) for key, sub in tree.items() if key in value}
        return {key: item for key, item in kept.items() if item is not _MISSING}
    return _MISSING  # an id or a scalar where the path wanted an object's fields
