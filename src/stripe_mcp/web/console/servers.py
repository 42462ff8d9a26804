"""The server pages: the new-server form with its live tool count, creating a server, revoking one."""

from __future__ import annotations

import logging

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response

from stripe_mcp.managed import service
from stripe_mcp.managed.store.base import AccountRecord
from stripe_mcp.tools.filters import EXPOSURES, KINDS, METHOD_GROUPS, PolicyError
from stripe_mcp.tools.money import money_tools
from stripe_mcp.web.admin.models import ServerIn
from stripe_mcp.web.console.forms import Form, problems
from stripe_mcp.web.console.page import NotFound, Page
from stripe_mcp.web.console.rendering import see_other
from stripe_mcp.web.console.server_form import EXPIRY_CHOICES, ServerForm, count_text, money_text
from stripe_mcp.web.console.snippets import snippets
from stripe_mcp.web.console.urls import account_url, server_url, to_account

log = logging.getLogger("stripe_mcp.console")

EXPOSURE_HELP = {
    "all": "every tool, one by one",
    "discovery": "3 tools that find and call the others",
    "chatgpt": "ChatGPT's search and fetch",
}
METHOD_HELP = {
    "read": "get, list, search",
    "write": "create, update, delete, actions",
}


async def new_server(page: Page) -> Response:
    account = await page.account()
    values = ServerForm.read(Form())
    preview = service.preview_tools(page.runtime.registry, values.config)
    return _server_form(page, account, 200, values, [], preview)


async def create_server(page: Page) -> Response:
    account = await page.account()
    runtime = page.runtime
    values = ServerForm.read(page.form)
    errors: list[str] = []
    preview = None
    try:
        preview = service.preview_tools(runtime.registry, values.config)
    except PolicyError as error:
        errors.append(f"Tools: {error}.")
    expires_at = values.expires_at(runtime.clock(), errors)
    body = None
    try:
        body = ServerIn.model_validate({"name": values.name, "config": values.config, "expires_at": expires_at})
    except ValidationError as error:
        errors.extend(problems(error))
    if errors or body is None or page.form.first("action") == "preview":
        return _server_form(page, account, 400 if errors else 200, values, errors, preview)
    try:
        created = await service.create_server(
            runtime.store,
            runtime.registry,
            account.id,
            body.name,
            body.config.model_dump(),
            body.expires_at.timestamp() if body.expires_at else None,
            now=runtime.clock(),
        )
    except PolicyError as error:
        return _server_form(page, account, 400, values, [f"{error}."], preview)
    log.info("console: MCP server created", extra={"account_id": account.id, "server_id": created.record.id})
    url = runtime.mcp_url(created.token)
    return page.render(
        "server_created.html",
        account=account,
        server=created.record,
        url=url,
        tools=service.server_tools(runtime.registry, created.record.config),
        snippets=snippets(url, created.record.config),
        crumbs=to_account(account),
    )


async def revoke_server(page: Page) -> Response:
    account = await page.account()
    runtime = page.runtime
    if page.posted:
        server_id = page.path_id("server_id")
        if not await service.revoke_server(
            runtime.store, account.id, server_id, runtime.forget_servers, runtime.keys, now=runtime.clock()
        ):
            raise NotFound()
        log.info("console: MCP server revoked", extra={"account_id": account.id, "server_id": server_id})
        return see_other(f"{account_url(account.id)}?notice=server-revoked")
    record = await page.server(account)
    return page.render(
        "confirm.html",
        title=f"Revoke MCP server {record.name}?",
        message="Its URL answers 404 from now on, for every client that uses it. This cannot be undone.",
        action=f"{server_url(account.id, record.id)}/revoke",
        button="Revoke server",
        back=account_url(account.id),
        crumbs=to_account(account),
    )


async def tool_count(page: Page) -> Response:
    """The live count of the server form: what the filters leave, as the form would show it."""
    query = page.request.query_params
    values = ServerForm.read(Form({key: query.getlist(key) for key in query.keys()}))
    headers = {"cache-control": "no-store"}
    try:
        preview = service.preview_tools(page.runtime.registry, values.config)
    except PolicyError as error:
        return JSONResponse(
            {"error": f"{error}.", "text": f"No server possible: {error}.", "warnings": []}, 400, headers=headers
        )
    return JSONResponse(
        {
            "tools": len(preview.tool_names),
            "listed": preview.listed,
            "text": count_text(preview),
            "warnings": list(preview.warnings),
            "money": money_text(preview),
        },
        headers=headers,
    )


def _server_form(
    page: Page,
    account: AccountRecord,
    status: int,
    values: ServerForm,
    errors: list[str],
    preview: service.ToolPreview | None,
) -> Response:
    registry = page.runtime.registry
    areas = registry.areas
    resources = sorted({tag for t in registry.tools.values() for tag in t.tags} - set(areas))
    money_areas = {
        area: n for area, names in areas.items() if (n := len(money_tools(registry.tools[t] for t in names)))
    }
    return page.render(
        "server_new.html",
        status,
        account=account,
        values=values,
        errors=errors,
        preview=preview,
        count_text=count_text(preview) if preview else None,
        money_text=money_text,
        method_groups=list(METHOD_GROUPS),
        kinds=list(KINDS),
        method_help=METHOD_HELP,
        areas=areas,
        money_areas=money_areas,
        resources=resources,
        exposures=EXPOSURES,
        exposure_help=EXPOSURE_HELP,
        expiry_choices=EXPIRY_CHOICES,
        crumbs=to_account(account),
    )
