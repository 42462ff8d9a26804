"""ChatGPT's profile: exactly two tools, `search` and `fetch`, as deep research and company knowledge use them.

`search(query)` answers `{"results": [{id, title, url}]}` from Stripe's search endpoints (and from ids
named in the query); `fetch(id)` retrieves any object by its id prefix as readable text. Both call the
server's own tools, so its filters, validation, budgets and errors apply unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from stripe_mcp.mcp.jsonrpc import INVALID_PARAMS, JsonRpcError
from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.stripe_api.ids import ID_PREFIXES, STRIPE_ID
from stripe_mcp.tools.readable import readable, title_of
from stripe_mcp.tools.results import json_error_result, success_result
from stripe_mcp.tools.server import ToolServer

RESULTS_PER_RESOURCE = 5
MAX_QUERY_CHARS = 500
SEARCH_TOOLS = (
    "search_stripe_customers",
    "search_stripe_charges",
    "search_stripe_invoices",
    "search_stripe_payment_intents",
    "search_stripe_prices",
    "search_stripe_products",
    "search_stripe_subscriptions",
)
# Free text goes to the resources whose names and emails Stripe can match by substring.
FREE_TEXT_QUERIES = {
    "search_stripe_customers": "name~'{q}' OR email~'{q}'",
    "search_stripe_products": "name~'{q}' OR description~'{q}'",
}
# Id prefix -> the tool that retrieves such an object: what fetch, and search by id, can read.
RETRIEVE_TOOLS = {prefix: entry.retrieve_tool for prefix, entry in ID_PREFIXES.items() if entry.retrieve_tool}
EMAIL = re.compile(r"^[\w.+-]+@[\w-]+\.[\w.-]+$")
DASHBOARD = "https://dashboard.stripe.com/"


def _tool(name: str, description: str, argument: str, argument_description: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": name.capitalize(),
        "description": description,
        "inputSchema": {
            "type": "object",
            "properties": {
                argument: {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_QUERY_CHARS,
                    "description": argument_description,
                }
            },
            "required": [argument],
            "additionalProperties": False,
        },
        "annotations": {
            "title": name.capitalize(),
            "readOnlyHint": True,
            "destructiveHint": False,
            "idempotentHint": True,
            "openWorldHint": True,
        },
    }


TOOLS_JSON = json.dumps(
    [
        _tool(
            "search",
            "Search the Stripe account's customers, charges, invoices, payment intents, prices, products and "
            "subscriptions. Takes plain words, an email, object ids, or Stripe search syntax "
            "(email:'jane@example.com', metadata['order_id']:'6735'). Returns ids, titles and dashboard URLs.",
            "query",
            "What to look for.",
        ),
        _tool(
            "fetch",
            "Retrieve one Stripe object by its id (cus_, ch_, pi_, in_, sub_, prod_, price_, re_, dp_, po_, ...) as readable text.",
            "id",
            "A Stripe object id, e.g. from search.",
        ),
    ],
    separators=(",", ":"),
).encode()


class ChatGptServer:
    """Implements stripe_mcp.mcp.types.McpServer around a server that holds the real tools."""

    def __init__(self, inner: ToolServer) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.instructions: str | None = "Search and fetch Stripe objects: search finds ids, fetch reads one object."
        self.test_mode = not inner.livemode

    def tools_json(self) -> bytes:
        return TOOLS_JSON

    def url_for(self, object_id: str) -> str:
        match = STRIPE_ID.match(object_id)
        entry = ID_PREFIXES.get(match.group(1)) if match else None
        path = entry.dashboard_path if entry and entry.dashboard_path else "search"
        return f"{DASHBOARD}{'test/' if self.test_mode else ''}{path}/{object_id}"

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> CallOutcome:
        if name not in ("search", "fetch"):
            raise JsonRpcError(INVALID_PARAMS, f"Unknown tool: {name}. This server offers search and fetch.")
        value = arguments.get("query" if name == "search" else "id")
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_QUERY_CHARS:
            field = "query" if name == "search" else "id"
            return json_error_result(
                {"error": f"{field} must be a non-empty string of at most {MAX_QUERY_CHARS} characters"}
            )
        return await (self._search(value.strip()) if name == "search" else self._fetch(value.strip()))

    async def _call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """The structured result of one of the server's tools, or None when it failed or is not allowed."""
        answer, _ = await self._answer(tool, arguments)
        return answer

    async def _answer(self, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """The structured result, or None and why not: Stripe's error message (None when the tool is not allowed)."""
        if tool not in self.inner.tool_names:
            return None, None
        outcome = await self.inner.call_tool(tool, arguments)
        details = outcome.result.get("structuredContent")
        if outcome.result.get("isError"):
            message = details.get("message") if isinstance(details, dict) else None
            return None, str(message or outcome.result["content"][0]["text"])[:300]
        return details, None

    async def _search(self, query: str) -> CallOutcome:
        results: list[dict[str, str]] = []
        for prefix, object_id in ((m.group(1), m.group(0)) for m in STRIPE_ID.finditer(query)):
            if prefix in RETRIEVE_TOOLS and (obj := await self._call(RETRIEVE_TOOLS[prefix], {"id": object_id})):
                results.append(self._entry(obj))
        failed: dict[str, str] = {}  # what was searched -> Stripe's error
        for tool, stripe_query in self._stripe_queries(query):
            page, error = await self._answer(tool, {"query": stripe_query, "limit": RESULTS_PER_RESOURCE})
            if error is not None:
                failed[tool.removeprefix("search_stripe_").replace("_", " ")] = error
                if tool == "search_stripe_customers" and EMAIL.match(query):
                    # Search is not offered everywhere (accounts in India): the customer list filters by email too.
                    page = await self._call(
                        "list_all_stripe_customers", {"email": query, "limit": RESULTS_PER_RESOURCE}
                    )
            results += [self._entry(obj) for obj in (page or {}).get("result", []) if isinstance(obj, dict)]
        unique = list({r["id"]: r for r in results}.values())
        if not failed:
            return success_result({"results": unique})
        return success_result({"results": unique, "note": search_failure_note(failed, EMAIL.match(query) is not None)})

    def _stripe_queries(self, query: str) -> list[tuple[str, str]]:
        if STRIPE_ID.fullmatch(query):
            return []
        if ":" in query or "~" in query:
            return [(tool, query) for tool in SEARCH_TOOLS]
        quoted = query.replace("\\", "\\\\").replace("'", "\\'")
        if EMAIL.match(query):
            return [("search_stripe_customers", f"email:'{quoted}'")]
        return [(tool, template.format(q=quoted)) for tool, template in FREE_TEXT_QUERIES.items()]

    def _entry(self, obj: dict[str, Any]) -> dict[str, str]:
        object_id = str(obj.get("id", ""))
        return {"id": object_id, "title": title_of(obj), "url": self.url_for(object_id)}

    async def _fetch(self, object_id: str) -> CallOutcome:
        prefix = STRIPE_ID.fullmatch(object_id)
        if prefix is None or prefix.group(1) not in RETRIEVE_TOOLS:
            known = ", ".join(f"{p}_" for p in sorted(RETRIEVE_TOOLS))
            return json_error_result(
                {"error": f"cannot tell what {object_id[:64]!r} is: fetch takes ids starting with {known}"}
            )
        tool = RETRIEVE_TOOLS[prefix.group(1)]
        if tool not in self.inner.tool_names:
            return json_error_result({"error": f"this server may not read {prefix.group(1)}_ objects"})
        outcome = await self.inner.call_tool(tool, {"id": object_id})
        if outcome.result.get("isError"):
            return CallOutcome(outcome.result)
        obj = outcome.result["structuredContent"]
        # The object type is written last, so that no metadata key can pass for it.
        metadata = {**{k: str(v) for k, v in (obj.get("metadata") or {}).items()}, "object": str(obj.get("object", ""))}
        return success_result(
            {
                "id": object_id,
                "title": title_of(obj),
                "text": readable(obj),
                "url": self.url_for(object_id),
                "metadata": metadata,
            }
        )


def search_failure_note(failed: dict[str, str], by_email: bool) -> str:
    """Why the results may be incomplete: which of Stripe's searches failed, what Stripe said, what works instead."""
    said = "; ".join(dict.fromkeys(failed.values()))
    note = f"Stripe's search failed for {', '.join(failed)} ({said}), so these results may be incomplete. "
    if by_email and "customers" in failed:
        note += "Customers were looked up by email in the customer list instead. "
    return note + "fetch reads any object by its id (cus_..., ch_..., pi_..., in_...)."
