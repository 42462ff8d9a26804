"""One MCP server's page: its configuration, its usage, and every approval decision made on it."""

from __future__ import annotations

from starlette.responses import Response

from stripe_mcp.managed import approvals, service
from stripe_mcp.web.console.page import Page
from stripe_mcp.web.console.server_form import APPROVAL_HELP
from stripe_mcp.web.console.urls import to_account


async def server(page: Page) -> Response:
    account = await page.account()
    record = await page.server(account)
    runtime = page.runtime
    now = runtime.clock()
    decisions = [
        item
        for item in await approvals.list_approvals(runtime.store, account.id, now)
        if item.approval.server_id == record.id
    ]
    return page.render(
        "server.html",
        account=account,
        server=record,
        tools=service.server_tools(runtime.registry, record.config),
        usage=await service.server_usage(runtime.store, record.id, now),
        decisions=decisions,
        approval_help=APPROVAL_HELP,
        now=now,
        crumbs=to_account(account),
    )
