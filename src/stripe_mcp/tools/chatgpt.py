"""ChatGPT's profile: exactly two tools, `search` and `fetch`, as deep research and company knowledge use them.

`search(query)` answers `{"results": [{id, title, url}]}` from Stripe's search endpoints (and from ids
named in the query); `fetch(id)` retrieves any object by its id prefix as readable text. Both call the
server's own tools, so its filters, validation, budgets and errors apply unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from stripe_mcp.mcp.asking import CANNOT_ASK, Asker
from stripe_mcp.mcp.jsonrpc import INVALID_PARAMS, JsonRpcError
from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.stripe_api.amounts import ZERO_DECIMAL_CURRENCIES
from stripe_mcp.stripe_api.ids import ID_PREFIXES, STRIPE_ID
from stripe_mcp.tools.results import json_error_result, success_result
from stripe_mcp.tools.server import ToolServer

RESULTS_PER_RESOURCE = 5
MAX_QUERY_CHARS = 500
MAX_TEXT_CHARS = 20_000
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


def title_of(obj: dict[str, Any]) -> str:
    kind = str(obj.get("object", "object")).replace("_", " ")
    label = obj.get("name") or obj.get("email") or obj.get("description") or obj.get("number") or obj.get("nickname")
    amount = obj.get("amount") if obj.get("amount") is not None else obj.get("amount_due", obj.get("unit_amount"))
    parts = [kind.capitalize()]
    if label:
        parts.append(str(label))
    currency = str(obj.get("currency") or "")
    if isinstance(amount, int) and currency:
        shown = f"{amount}" if currency.lower() in ZERO_DECIMAL_CURRENCIES else f"{amount / 100:.2f}"
        parts.append(f"{shown} {currency.upper()}")
    if obj.get("status"):
        parts.append(str(obj["status"]))
    return " · ".join(parts) + f" ({obj.get('id', '?')})"


def readable(obj: dict[str, Any]) -> str:
    """One `field: value` line per field, nested objects as compact JSON: what a reader skims."""
    lines = []
    for key, value in obj.items():
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        lines.append(f"{key}: {text}")
    return "\n".join(lines)[:MAX_TEXT_CHARS]


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

    async def call_tool(self, name: str, arguments: dict[str, Any], asker: Asker = CANNOT_ASK) -> CallOutcome:
        # search and fetch only read, and reads never need approval: nothing to ask.
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
        if tool not in self.inner.tool_names:
            return None
        outcome = await self.inner.call_tool(tool, arguments)
        return None if outcome.result.get("isError") else outcome.result.get("structuredContent")

    async def _search(self, query: str) -> CallOutcome:
        results: list[dict[str, str]] = []
        for prefix, object_id in ((m.group(1), m.group(0)) for m in STRIPE_ID.finditer(query)):
            if prefix in RETRIEVE_TOOLS and (obj := await self._call(RETRIEVE_TOOLS[prefix], {"id": object_id})):
                results.append(self._entry(obj))
        for tool, stripe_query in self._stripe_queries(query):
            page = await self._call(tool, {"query": stripe_query, "limit": RESULTS_PER_RESOURCE})
            results += [self._entry(obj) for obj in (page or {}).get("result", []) if isinstance(obj, dict)]
        unique = list({r["id"]: r for r in results}.values())
        return success_result({"results": unique})

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
