"""The fields of what each read tool returns (generated/fields.json): which dotted paths `fields` and query_stripe
may name, and what is at the end of each.

The generator writes one FieldNode per get, list and search tool (see stripe_mcp.codegen.model): leaf type codes,
"@name" references to shared objects, {"field": node} objects, {"*": node} maps, {"[]": node} arrays,
{"~": [nodes]} ids that `expand` turns into objects, and [node, ...] choices. The file is read on first use
(about 160 KB, a few milliseconds), so a server that nobody asks for fields never loads it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

MAX_PATH_PARTS = 12
MAX_CHOICES = 256  # nodes opened at one level of a path: references, choices and expansions
LEAF_WORDS = {
    "s": "a string",
    "i": "an integer",
    "n": "a number",
    "b": "a boolean",
    "t": "a unix time in seconds",
    "?": "a value",
    "object": "an object",
    "map": "a map of keys to values",
    "array": "a list",
}
NUMERIC = frozenset({"i", "n", "t"})


class PathError(ValueError):
    """A path that names no field of the object: the message says which part and what exists there."""


@dataclass(frozen=True)
class FieldPath:
    """A checked dotted path and what the object holds at its end."""

    text: str
    parts: tuple[str, ...]
    kinds: frozenset[str]
    """What the end can be: leaf codes ("s", "i", "n", "b", "t", "?") and "object", "map", "array"."""
    item_kinds: frozenset[str]
    """For an array at the end: what its items can be."""
    through_list: bool
    """The path crosses a list (items.data.price.id): it has one value per element."""

    @property
    def numeric(self) -> bool:
        return bool(self.kinds) and self.kinds <= NUMERIC | {"?"} and self.kinds != {"?"}

    @property
    def described(self) -> str:
        return " or ".join(sorted(LEAF_WORDS[k] for k in self.kinds))


class ObjectFields:
    """generated/fields.json, read on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @cached_property
    def _catalog(self) -> dict[str, Any]:
        catalog: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return catalog

    def has(self, tool: str) -> bool:
        return tool in self._catalog["tools"]

    def resolve(self, tool: str, text: str, expanded: Iterable[str] = (), *, list_items: bool = False) -> FieldPath:
        """The path checked against what `tool` returns, with the `expand` values the call sends.

        `list_items`: the tool returns a page, so its expand paths start with `data.`.
        """
        parts = tuple(text.split("."))
        if not text or "" in parts:
            raise PathError(f"{text!r} is not a dotted path such as metadata.segment")
        if len(parts) > MAX_PATH_PARTS:
            raise PathError(f"{text} is deeper than {MAX_PATH_PARTS} fields")
        expanded = frozenset(expanded)
        prefix = "data." if list_items else ""
        nodes = self._flatten([self._catalog["tools"][tool]], expanded, prefix, ())
        through_list = False
        for depth, part in enumerate(parts):
            children: list[Any] = []
            for node in nodes:
                if isinstance(node, dict) and "[]" in node:
                    through_list = True
                    children += self._step(self._flatten([node["[]"]], expanded, prefix, parts[:depth]), part)
                else:
                    children += self._step([node], part)
            if not children:
                field = ".".join(parts[:depth])
                if any(isinstance(n, dict) and "~" in n for n in nodes):
                    raise PathError(f"{text}: {field} is an id unless expanded; add {prefix + field!r} to expand")
                where = field or "the object"
                raise PathError(f"{text}: {part!r} is not a field of {where}{self._suggestion(nodes, part)}")
            nodes = self._flatten(children, expanded, prefix, parts[: depth + 1])
        kinds, item_kinds = self._kinds(nodes, expanded, prefix, parts)
        return FieldPath(text, parts, kinds, item_kinds, through_list)

    def _step(self, nodes: list[Any], part: str) -> list[Any]:
        found = []
        for node in nodes:
            if isinstance(node, dict) and "~" not in node and "[]" not in node:
                if part in node and part != "*":
                    found.append(node[part])
                elif "*" in node:
                    found.append(node["*"])
        return found

    def _flatten(self, nodes: Iterable[Any], expanded: frozenset[str], prefix: str, at: tuple[str, ...]) -> list[Any]:
        """References resolved, choices opened, expanded ids replaced by their objects (bounded: a reference
        can lead to itself)."""
        result: list[Any] = []
        pending = list(nodes)
        seen = 0
        while pending and seen < MAX_CHOICES:
            node = pending.pop(0)
            seen += 1
            if isinstance(node, str) and node.startswith("@"):
                pending.append(self._catalog["objects"].get(node[1:], "?"))
            elif isinstance(node, list):
                pending += node
            elif isinstance(node, dict) and "~" in node and at and prefix + ".".join(at) in expanded:
                pending += node["~"]
            else:
                result.append(node)
        return result

    def _kinds(
        self, nodes: list[Any], expanded: frozenset[str], prefix: str, parts: tuple[str, ...]
    ) -> tuple[frozenset[str], frozenset[str]]:
        kinds: set[str] = set()
        items: set[str] = set()
        for node in nodes:
            if isinstance(node, str):
                kinds.add(node if node in LEAF_WORDS else "?")
            elif "~" in node:
                kinds.add("s")  # an id: its expanded forms were opened by _flatten when asked for
            elif "[]" in node:
                kinds.add("array")
                items |= self._kinds(self._flatten([node["[]"]], expanded, prefix, parts), expanded, prefix, parts)[0]
            else:
                kinds.add("map" if set(node) == {"*"} else "object")
        return frozenset(kinds), frozenset(items)

    def _suggestion(self, nodes: list[Any], part: str) -> str:
        names = sorted({name for node in nodes if isinstance(node, dict) for name in node if name not in "*[]~"})
        close = difflib.get_close_matches(part, names, n=3, cutoff=0.6)
        if close:
            return f" (did you mean {', '.join(close)}?)"
        return f"; its fields include {', '.join(names[:12])}" if names else ""
