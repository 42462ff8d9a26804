"""The tool browser: a server's tools, searched as agents search them, and one tool with its input schema."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from stripe_mcp.managed import service
from stripe_mcp.tools.money import money_tools, moves_money
from stripe_mcp.web.console.page import NotFound, Page
from stripe_mcp.web.console.urls import server_url, to_account

SEARCH_RESULTS = 50
MAX_QUERY_CHARS = 200
# MCP's tool annotations, as a person reads them: what the hint means when true, and when false.
HINT_WORDS = {
    "readOnlyHint": ("Only reads", "yes: it changes nothing in Stripe", "no: it changes data in Stripe"),
    "destructiveHint": (
        "Destructive",
        "yes: it deletes, cancels, refunds or otherwise cannot be undone",
        "no: nothing it does is irreversible",
    ),
    "idempotentHint": (
        "Safe to repeat",
        "yes: calling it again with the same arguments changes nothing more",
        "no: each call acts again (a retry with the same idempotency_key does not)",
    ),
    "openWorldHint": ("Reaches outside", "yes: it calls Stripe's API", "no: it stays inside this server"),
}


async def tools(page: Page) -> Response:
    account = await page.account()
    record = await page.server(account)
    registry, index = page.runtime.registry, page.runtime.search_index
    allowed = service.server_tools(registry, record.config).tool_names
    query = page.request.query_params.get("q", "").strip()[:MAX_QUERY_CHARS]
    if query:
        names = [name for name, _ in index.search(query, allowed, SEARCH_RESULTS)]
        if not names:  # words the index does not know: fall back to a plain substring match
            needle = query.lower()
            names = [n for n in allowed if needle in n or needle in registry.tools[n].title.lower()][:SEARCH_RESULTS]
    else:
        names = list(allowed)
    return page.render(
        "tools.html",
        account=account,
        server=record,
        query=query,
        total=len(allowed),
        tools=[registry.tools[n] for n in names],
        money=frozenset(money_tools(registry.tools[n] for n in names)),
        crumbs=to_account(account),
    )


async def tool(page: Page) -> Response:
    account = await page.account()
    record = await page.server(account)
    registry = page.runtime.registry
    name = page.request.path_params["tool_name"]
    if name not in service.server_tools(registry, record.config).tool_names:
        raise NotFound()
    entry = registry.tools[name]
    return page.render(
        "tool.html",
        account=account,
        server=record,
        tool=entry,
        hints=hints_in_words(entry.annotations),
        moves_money=moves_money(entry),
        schema=json.dumps(registry.input_schema(name), indent=2, ensure_ascii=False),
        crumbs=[*to_account(account), (f"Tools of {record.name}", f"{server_url(account.id, record.id)}/tools")],
    )


def hints_in_words(annotations: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(hint, label, meaning) for each boolean annotation: words, never Python's True and False."""
    rows = []
    for key, (label, when_true, when_false) in HINT_WORDS.items():
        if isinstance(annotations.get(key), bool):
            rows.append((key, label, when_true if annotations[key] else when_false))
    return rows
