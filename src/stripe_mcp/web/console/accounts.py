"""The accounts pages: the list with its add form, one account with its servers, removing an account."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from stripe_mcp.managed import approvals, service
from stripe_mcp.managed.secrets import MissingEncryptionKey
from stripe_mcp.web.admin.models import AccountIn, ServerConfigIn
from stripe_mcp.web.console.forms import problems
from stripe_mcp.web.console.page import Page
from stripe_mcp.web.console.rendering import see_other
from stripe_mcp.web.console.urls import ACCOUNTS, account_url, to_account, to_accounts

log = logging.getLogger("stripe_mcp.console")


async def accounts(page: Page) -> Response:
    return await _accounts_page(page)


async def add_account(page: Page) -> Response:
    runtime, form = page.runtime, page.form
    values = {"name": form.first("name")[:200]}  # the key is never sent back
    try:
        body = AccountIn.model_validate(
            {"name": form.first("name"), "stripe_api_key": form.first("stripe_api_key").strip()}
        )
        record = await service.create_account(runtime.store, runtime.keys, body.name, body.stripe_api_key)
    except ValidationError as error:
        return await _accounts_page(page, 400, errors=problems(error), values=values)
    except MissingEncryptionKey as error:
        return await _accounts_page(page, 503, errors=[str(error)], values=values)
    log.info("console: account added", extra={"account_id": record.id})
    return see_other(f"{account_url(record.id)}?notice=account-added")


async def account(page: Page) -> Response:
    record = await page.account()
    runtime = page.runtime
    now = runtime.clock()
    rows = []
    for server in await service.list_servers(runtime.store, record.id, now):
        try:  # with every option spelt out: a row stored by an earlier version may lack some
            config = ServerConfigIn.model_validate(server.config).model_dump()
        except ValidationError:
            log.warning("MCP server %s cannot be listed: its stored configuration is not valid", server.id)
            continue
        rows.append(
            {
                "record": replace(server, config=config),
                "tools": service.server_tools(runtime.registry, config),
                "usage": await service.server_usage(runtime.store, server.id, now),
                "url": runtime.mcp_url(token) if (token := service.shown_token(server)) else None,
            }
        )
    history = [
        {"record": ended, "ended_at": service.ended_at(ended), "revoked": ended.revoked_at == service.ended_at(ended)}
        for ended in await service.ended_servers(runtime.store, record.id, now)
    ]
    waiting = len(await approvals.pending_approvals(runtime.store, record.id, now))
    return page.render(
        "account.html", account=record, servers=rows, history=history, waiting=waiting, now=now, crumbs=to_accounts()
    )


async def remove_account(page: Page) -> Response:
    record = await page.account()
    runtime = page.runtime
    if page.posted:
        await service.delete_account(runtime.store, record.id, runtime.forget_servers)
        log.info("console: account removed", extra={"account_id": record.id})
        return see_other(f"{ACCOUNTS}?notice=account-removed")
    count = len(await service.list_servers(runtime.store, record.id, runtime.clock()))
    return page.render(
        "confirm.html",
        title=f"Remove account {record.name}?",
        message=f"This deletes its Stripe key and its {count} MCP server(s); their URLs stop working at once.",
        action=f"{account_url(record.id)}/remove",
        button="Remove account",
        back=account_url(record.id),
        crumbs=to_account(record),
    )


async def _accounts_page(page: Page, status: int = 200, **context: Any) -> Response:
    runtime = page.runtime
    now = runtime.clock()
    rows = [(a, len(await service.list_servers(runtime.store, a.id, now))) for a in await runtime.store.list_accounts()]
    context.setdefault("errors", [])
    context.setdefault("values", {"name": ""})
    return page.render("accounts.html", status, accounts=rows, **context)
