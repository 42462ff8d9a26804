"""Discovery mode: three tools that let an agent find, read and call any of the server's tools.

468 tools do not fit an agent (OpenAI lists at most 128, Cursor sends 40). In discovery mode
tools/list shows search_tools, get_tool_schema and call_tool; the ranking (tools/ranking.py) uses an
index built at generation time (generated/search_index.json), so a query is a few dictionary look-ups.
query_stripe, on a server that has it, is found, described and called through them like any tool.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from stripe_mcp.mcp.asking import CANNOT_ASK, Asker
from stripe_mcp.mcp.jsonrpc import INVALID_PARAMS, JsonRpcError
from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.tools.query import tool as query_tool
from stripe_mcp.tools.ranking import MAX_QUERY_CHARS, SearchIndex
from stripe_mcp.tools.results import json_error_result, success_result
from stripe_mcp.tools.server import ToolServer


def _tool(
    name: str, description: str, properties: dict[str, Any], required: list[str], read_only: bool
) -> dict[str, Any]:
    return {
        "name": name,
        "title": name.replace("_", " ").capitalize(),
        "description": description,
        "inputSchema": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
        "annotations": {
            "title": name.replace("_", " ").capitalize(),
            "readOnlyHint": read_only,
            "destructiveHint": not read_only,
            "idempotentHint": read_only,
            "openWorldHint": not read_only,
        },
    }


META_TOOLS = [
    _tool(
        "search_tools",
        'Find the Stripe tools for a task, described in plain words ("refund a charge", "open disputes", '
        '"current balance", "how many customers are in segment smb"). Returns tools best first: the first with its '
        "description and inputSchema, so call_tool can run it at once; the others with a one-sentence summary "
        "(get_tool_schema gives their descriptions and arguments).",
        {
            "query": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_QUERY_CHARS,
                "description": "The task in plain words; ids and emails help.",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 20,
                "description": "How many tools to return (default 5).",
            },
        },
        ["query"],
        True,
    ),
    _tool(
        "get_tool_schema",
        "The input schemas (arguments) of 1 to 5 tools found with search_tools.",
        {"tool_names": {"type": "array", "items": {"type": "string", "maxLength": 64}, "minItems": 1, "maxItems": 5}},
        ["tool_names"],
        True,
    ),
    _tool(
        "call_tool",
        "Call one Stripe tool by name with arguments that match its schema (from get_tool_schema). "
        "Errors, pagination (next_cursor) and results are those of the tool itself.",
        {
            "tool_name": {"type": "string", "maxLength": 64, "description": "A name returned by search_tools."},
            "arguments": {"type": "object", "description": "The tool's arguments."},
        },
        ["tool_name"],
        False,
    ),
]
META_TOOLS_JSON = json.dumps(META_TOOLS, separators=(",", ":")).encode()
SUMMARY_CHARS = 100


def first_sentence(description: str) -> str:
    """What a runner-up shows in search_tools: enough to choose it; get_tool_schema has the whole description."""
    end = description.find(". ", 20)
    summary = description if end == -1 else description[: end + 1]
    return summary if len(summary) <= SUMMARY_CHARS else summary[: SUMMARY_CHARS - 1].rstrip() + "…"


class DiscoveryServer:
    """Implements stripe_mcp.mcp.types.McpServer around a server that holds the real tools."""

    def __init__(self, inner: ToolServer, index: SearchIndex) -> None:
        self.inner = inner
        self.index = index
        self.name = inner.name
        self.version = inner.version
        self.instructions: str | None = (
            "This server holds many Stripe tools behind three: search_tools finds them, get_tool_schema "
            "shows their arguments, call_tool runs one. " + (inner.instructions or "")
        )

    def tools_json(self) -> bytes:
        return META_TOOLS_JSON

    async def call_tool(self, name: str, arguments: dict[str, Any], asker: Asker = CANNOT_ASK) -> CallOutcome:
        if name == "search_tools":
            return self._search(arguments)
        if name == "get_tool_schema":
            return self._schemas(arguments)
        if name == "call_tool":
            return await self._call(arguments, asker)
        if name in self.inner.tool_names:
            raise JsonRpcError(
                INVALID_PARAMS,
                f"{name} is reached through call_tool on this server: call call_tool with "
                f'{{"tool_name": "{name}", "arguments": {{...}}}} (see get_tool_schema for its arguments).',
            )
        refused = self.inner.refusal_of(name)
        if refused is not None:
            raise JsonRpcError(INVALID_PARAMS, refused)
        raise JsonRpcError(
            INVALID_PARAMS, f"Unknown tool: {name}. This server offers search_tools, get_tool_schema and call_tool."
        )

    def _search(self, arguments: dict[str, Any]) -> CallOutcome:
        query, limit = arguments.get("query"), arguments.get("limit", 5)
        if not isinstance(query, str) or not query.strip():
            return json_error_result({"error": "query must be a non-empty string"})
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 20:
            return json_error_result({"error": "limit must be an integer from 1 to 20"})
        ranked = self.index.rank(query, self.inner.tool_names)
        found = []
        for position, (name, score) in enumerate(ranked[:limit]):
            entry = self.index.entry(name)
            tool: dict[str, Any] = {"name": name, "title": entry.title, "score": score}
            if position == 0:
                # Most tasks run the best match: its arguments here save the agent a get_tool_schema round trip.
                tool |= {"description": entry.description, "inputSchema": self.inner.input_schema(name)}
            else:
                tool["description"] = first_sentence(entry.description)
            if name == query_tool.NAME and (reader := self._reader(ranked)) is not None:
                tool["use_with"] = reader  # what query_stripe's `tool` argument would be
            found.append(tool)
        return success_result({"tools": found})

    def _reader(self, ranked: list[tuple[str, float]]) -> str | None:
        """The list or search tool the question is about, its object's list before its search: a list reads every
        object and query_stripe's `where` filters them, while a search needs a query and lags behind writes."""
        entries = (self.index.entry(n) for n, _ in ranked if n != query_tool.NAME)
        best = next((entry for entry in entries if entry.kind in ("list", "search")), None)
        if best is not None and best.kind == "search":  # its list, if any, ranks below it: read on from there
            best = next((entry for entry in entries if entry.kind == "list" and entry.resource == best.resource), best)
        return None if best is None else best.name

    def _schemas(self, arguments: dict[str, Any]) -> CallOutcome:
        names = arguments.get("tool_names")
        if not isinstance(names, list) or not 1 <= len(names) <= 5 or not all(isinstance(n, str) for n in names):
            return json_error_result({"error": "tool_names must be a list of 1 to 5 tool names"})
        allowed = self.inner.tool_names
        known = [n for n in names if n in allowed]
        unknown = {n: difflib.get_close_matches(n, allowed, n=3, cutoff=0.5) for n in names if n not in allowed}
        payload: dict[str, Any] = {
            "tools": [
                {"name": n, "description": self.index.entry(n).description, "inputSchema": self.inner.input_schema(n)}
                for n in known
            ]
        }
        if unknown:
            payload["unknown"] = [{"name": n[:64], "did_you_mean": close} for n, close in unknown.items()]
        return success_result(payload) if known else json_error_result(payload)

    async def _call(self, arguments: dict[str, Any], asker: Asker) -> CallOutcome:
        """The inner tool, under the same rules as when it is called directly (approval included)."""
        name, tool_arguments = arguments.get("tool_name"), arguments.get("arguments", {})
        refused = self.inner.refusal_of(name) if isinstance(name, str) else None
        if refused is not None:
            return json_error_result({"error": refused})
        if not isinstance(name, str) or name not in self.inner.tool_names:
            close = difflib.get_close_matches(str(name), self.inner.tool_names, n=3, cutoff=0.5)
            return json_error_result(
                {"error": f"unknown tool_name {str(name)[:64]!r}: use search_tools", "did_you_mean": close}
            )
        if not isinstance(tool_arguments, dict):
            return json_error_result({"error": "arguments must be an object"})
        return await self.inner.call_tool(name, tool_arguments, asker)
