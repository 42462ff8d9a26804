"""generated/fields.json: the fields of what each read tool returns, for `fields` and query_stripe.

The runtime never reads the spec, yet it must refuse a path that is not a field of the object a tool
returns before it sends anything. This file carries exactly that: each get, list and search tool's
FieldNode (stripe_mcp.codegen.model), and every named object those nodes reach. One line per tool and
per object, so that a spec update shows which fields moved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from stripe_mcp.codegen.model import FieldNode
from stripe_mcp.codegen.tool import Tool

RETURNED_FIELDS = Path(__file__).resolve().parent / "returned_fields.yaml"


def returned_fields(path: Path = RETURNED_FIELDS) -> dict[str, dict[str, FieldNode]]:
    """Fields Stripe returns beyond its spec (returned_fields.yaml): object name -> field -> node."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(name): dict(fields) for name, fields in raw.items()}


def fields_catalog(
    tools: Iterable[Tool], objects: dict[str, FieldNode], extra: dict[str, dict[str, FieldNode]] | None = None
) -> dict[str, Any]:
    """{"tools": {tool: node}, "objects": {name: node}}, with only the objects the tools reach; `extra` adds
    fields to named objects (returned_fields.yaml when None)."""
    extra = returned_fields() if extra is None else extra
    objects = {
        name: {**node, **extra[name]} if isinstance(node, dict) and name in extra else node
        for name, node in objects.items()
    }
    roots = {t.name: t.fields for t in tools if t.fields is not None}
    reached: dict[str, FieldNode] = {}
    pending = [name for node in roots.values() for name in _names(node)]
    while pending:
        name = pending.pop()
        if name not in reached and name in objects:
            reached[name] = objects[name]
            pending += _names(objects[name])
    return {"tools": dict(sorted(roots.items())), "objects": dict(sorted(reached.items()))}


def fields_text(catalog: dict[str, Any], mark: str) -> str:
    def lines(section: dict[str, Any]) -> str:
        return ",\n".join(
            f"  {json.dumps(name)}: {json.dumps(node, separators=(',', ':'), ensure_ascii=False)}"
            for name, node in section.items()
        )

    return (
        f'{{"$comment": {json.dumps(mark)},\n "tools": {{\n{lines(catalog["tools"])}\n }},\n'
        f' "objects": {{\n{lines(catalog["objects"])}\n }}}}\n'
    )


def _names(node: FieldNode) -> list[str]:
    if isinstance(node, str):
        return [node[1:]] if node.startswith("@") else []
    children = node.values() if isinstance(node, dict) else node
    return [name for child in children for name in _names(child)]
