"""The query_stripe tool as MCP clients see it: name, description, input schema, annotations.

The interface is the project's contract (CONTRACT.md, "Querying"); tools/query/request.py checks the same
rules with messages that name the problem.
"""

from __future__ import annotations

import json
from typing import Any

from stripe_mcp.tools.registry import ToolEntry

NAME = "query_stripe"
TITLE = "Query Stripe objects"
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "in", "exists")
AGGREGATE_OPS = ("sum", "avg", "min", "max")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
DEFAULT_MAX_ITEMS = 1000
MAX_ITEMS = 10_000
MAX_CONDITIONS = 20
MAX_FIELDS = 50
MAX_PATH_CHARS = 200
MAX_CURSOR_CHARS = 100_000

DESCRIPTION = (
    "Answer a question about many Stripe objects in one call: pages through one list or search tool on the server "
    "and returns only the answer: the matching objects (where), cut to some fields, or a count, sum, avg, min or max, "
    "overall or per group (group_by). Use it instead of paging for how many, how much and which customers / "
    'charges / ... questions. Example: {"tool": "list_all_stripe_customers", "where": [{"field": '
    '"metadata.segment", "op": "eq", "value": "enterprise"}], "aggregate": "count"}. Paths are dotted fields of '
    "the listed objects; amounts are integers in the smallest currency unit (1500 = 15.00 USD), dates unix seconds. "
    "Returns {result, scanned, complete, next_cursor}; complete is false when max_items, the time limit, a budget or "
    "a rate limit stopped the scan: pass next_cursor back with the same query, and totals then cover the whole scan."
)


def _path(description: str, extra: int = 0) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": MAX_PATH_CHARS + extra, "description": description}


INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tool": {
            "type": "string",
            "maxLength": 64,
            "description": "The list or search tool to page through, e.g. list_all_stripe_charges.",
        },
        "arguments": {
            "type": "object",
            "description": "That tool's own arguments (filters such as customer or created, query for a search "
            "tool), sent with every page; not limit, next_cursor or fields.",
        },
        "where": {
            "type": "array",
            "maxItems": MAX_CONDITIONS,
            "description": "Conditions that all hold. contains: a substring (any case) or a list member; in: a list "
            "of values; exists: true or false (present and not null).",
            "items": {
                "type": "object",
                "properties": {
                    "field": _path("A dotted path of the object: email, metadata.segment, amount."),
                    "op": {"type": "string", "enum": list(OPS)},
                    "value": {"description": "A string, number or boolean; a list for in."},
                },
                "required": ["field", "op"],
                "additionalProperties": False,
            },
        },
        "fields": {
            "type": "array",
            "maxItems": MAX_FIELDS,
            "items": _path("A dotted path to keep."),
            "description": 'Keep only these paths of each matching object, e.g. ["id", "email"].',
        },
        "group_by": _path("A path: one row {key, value} per distinct value (a count unless aggregate says)."),
        "aggregate": {
            "type": "string",
            "maxLength": MAX_PATH_CHARS + 4,
            "pattern": "^(count|(sum|avg|min|max):.+)$",
            "description": "count, or sum:PATH, avg:PATH, min:PATH or max:PATH of a number (sum:amount).",
        },
        "order_by": _path("A path to sort rows by, - first for descending (-amount); key or value for groups.", 1),
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LIMIT,
            "description": f"Rows returned, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
        },
        "max_items": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ITEMS,
            "description": f"Objects scanned at most, 1 to {MAX_ITEMS:,} (default {DEFAULT_MAX_ITEMS:,}).",
        },
        "next_cursor": {
            "type": "string",
            "maxLength": MAX_CURSOR_CHARS,
            "description": "The next_cursor of an incomplete result, to resume that same query.",
        },
    },
    "required": ["tool"],
    "additionalProperties": False,
}
ANNOTATIONS = {
    "title": TITLE,
    "readOnlyHint": True,
    "destructiveHint": False,
    "idempotentHint": True,
    "openWorldHint": True,
}
ENTRY = ToolEntry(
    name=NAME,
    title=TITLE,
    description=DESCRIPTION,
    kind="query",
    method="GET",
    path="",
    resource="",
    areas=(),
    tags=(),
    annotations=ANNOTATIONS,
    arguments=tuple(INPUT_SCHEMA["properties"]),
)
TOOL_JSON = json.dumps(
    {"name": NAME, "title": TITLE, "description": DESCRIPTION, "inputSchema": INPUT_SCHEMA, "annotations": ANNOTATIONS},
    ensure_ascii=False,
    separators=(",", ":"),
)
