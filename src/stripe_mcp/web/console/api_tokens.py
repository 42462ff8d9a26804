"""The API tokens page: the tokens that hold (never the tokens themselves), making one (shown once, stored as a
hash, with its account, expiry and console rights), and revoking one."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from stripe_mcp.managed import service
from stripe_mcp.managed.times import timestamp_of
from stripe_mcp.tools.filters import PolicyError
from stripe_mcp.web.admin.models import ApiTokenIn
from stripe_mcp.web.console.forms import problems
from stripe_mcp.web.console.page import NotFound, Page
from stripe_mcp.web.console.rendering import see_other
from stripe_mcp.web.console.server_form import EXPIRY_CHOICES, form_expiry
from stripe_mcp.web.console.urls import API_TOKENS

log = logging.getLogger("stripe_mcp.console")
HEADER_EXAMPLE = "Authorization: Bearer <api token>"


async def api_tokens(page: Page) -> Response:
    chosen = page.request.query_params.get("account_id", "")[:64]
    return await _tokens_page(page, values={"account_id": chosen, "admin": False, "expires": "never", "expires_on": ""})


async def create_api_token(page: Page) -> Response:
    runtime, form = page.runtime, page.form
    choice, on = form.first("expires", "never"), form.first("expires_on")[:40]
    values = {"account_id": form.first("account_id")[:64], "admin": form.first("admin") == "on", "expires": choice}
    values["expires_on"] = on
    errors: list[str] = []
    expires = form_expiry(choice, on, runtime.clock(), errors)
    if errors:
        return await _tokens_page(page, 400, errors=errors, values=values)
    try:
        body = ApiTokenIn.model_validate(
            {"account_id": values["account_id"] or None, "admin": values["admin"], "expires_at": expires}
        )
        record, token = await service.create_api_token(
            runtime.store,
            admin=body.admin,
            account_id=body.account_id,
            expires_at=None if body.expires_at is None else timestamp_of(body.expires_at),
            now=runtime.clock(),
        )
    except ValidationError as error:
        return await _tokens_page(page, 400, errors=problems(error), values=values)
    except PolicyError as error:
        return await _tokens_page(page, 400, errors=[f"{str(error)[:1].upper()}{str(error)[1:]}."], values=values)
    log.info("console: API token created", extra={"api_token_id": record.id, "account_id": record.account_id})
    account = await runtime.store.get_account(record.account_id) if record.account_id else None
    return page.render(
        "api_token_created.html", record=record, token=token, account=account, crumbs=[("API tokens", API_TOKENS)]
    )


async def revoke_api_token(page: Page) -> Response:
    runtime = page.runtime
    token_id = page.path_id("token_id")
    if page.posted:
        if not await service.revoke_api_token(runtime.store, token_id):
            raise NotFound()
        log.info("console: API token revoked", extra={"api_token_id": token_id})
        return see_other(f"{API_TOKENS}?notice=api-token-revoked")
    if not any(t.id == token_id for t in await service.list_api_tokens(runtime.store, runtime.clock())):
        raise NotFound()
    return page.render(
        "confirm.html",
        title=f"Revoke API token {token_id}?",
        message="Every server and console session that relies on it refuses it from now on. This cannot be undone.",
        action=f"{API_TOKENS}/{token_id}/revoke",
        button="Revoke token",
        back=API_TOKENS,
        crumbs=[("API tokens", API_TOKENS)],
    )


async def _tokens_page(page: Page, status: int = 200, **context: Any) -> Response:
    runtime = page.runtime
    accounts = await runtime.store.list_accounts()
    names = {a.id: a.name for a in accounts}
    context.setdefault("errors", [])
    return page.render(
        "api_tokens.html",
        status,
        tokens=await service.list_api_tokens(runtime.store, runtime.clock()),
        accounts=accounts,
        names=names,
        now=runtime.clock(),
        expiry_choices=EXPIRY_CHOICES,
        header=HEADER_EXAMPLE,
        **context,
    )
