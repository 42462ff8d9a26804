"""The tool browser: a server's tools, searched as agents search them, and one tool with its input schema."""

from __future__ import annotations

import json

from starlette.responses import Response

from stripe_mcp.managed import service
from stripe_mcp.web.console.page import NotFound, Page
from stripe_mcp.web.console.urls import server_url, to_account

SEARCH_RESULTS = 50
MAX_QUERY_CHARS = 200


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
        crumbs=to_account(account),
    )


async def tool(page: Page) -> Response:
    account = await page.account()
    record = await page.server(account)
    registry = page.runtime.registry
    name = page.request.path_params["tool_name"]
    if name not in service.server_tools(registry, record.config).tool_names:
        raise NotFound()
    return page.render(
        "tool.html",
        account=account,
        server=record,
        tool=registry.tools[name],
        schema=json.dumps(registry.input_schema(name), indent=2, ensure_ascii=False),
        crumbs=[*to_account(account), (f"Tools of {record.name}", f"{server_url(account.id, record.id)}/tools")],
    )
