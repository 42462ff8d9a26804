"""OAuth in the console: the consent page a client's authorization request leads to, and each OAuth server's
connected clients, revoked one at a time or all together."""

from __future__ import annotations

import logging

from starlette.responses import RedirectResponse, Response

from stripe_mcp.managed import service
from stripe_mcp.managed.oauth import connections, grants
from stripe_mcp.managed.oauth.documents import is_document_url
from stripe_mcp.managed.oauth.urls import host_of, is_loopback, origin_of
from stripe_mcp.web.console.page import NotFound, Page
from stripe_mcp.web.console.rendering import SECURITY_HEADERS, see_other
from stripe_mcp.web.console.urls import server_url, to_account
from stripe_mcp.web.oauth.metadata import issuer

log = logging.getLogger("stripe_mcp.console")

GONE = (
    "This authorization request has expired or was already answered. Go back to the app and connect again: "
    "it will bring you back here."
)


async def consent(page: Page) -> Response:
    runtime = page.runtime
    now = runtime.clock()
    request_id = page.request.query_params.get("request", "")
    pending = await grants.pending_request(runtime.store.oauth, request_id, now)
    client = await runtime.store.oauth.client(pending.client_id) if pending else None
    server = await grants.oauth_server(runtime.store, pending.server_id, now) if pending else None
    account = await runtime.store.get_account(server.account_id) if server else None
    if pending is None or client is None or server is None or account is None:
        return page.render("message.html", 404, title="Nothing to authorize", message=GONE)
    shown = page.render(
        "consent.html",
        request_id=request_id,
        client=client,
        redirect_uri=pending.redirect_uri,
        redirect_host=host_of(pending.redirect_uri),
        loopback=is_loopback(pending.redirect_uri),
        metadata_document=is_document_url(client.client_id),
        server=server,
        account=account,
        url=runtime.mcp_url(server.id),
        tools=service.server_tools(runtime.registry, server.config),
        now=now,
    )
    # The answer redirects to the client: a browser enforcing form-action on redirects must be allowed to follow.
    shown.headers["content-security-policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action 'self' {origin_of(pending.redirect_uri)}; frame-ancestors 'none'; base-uri 'none'"
    )
    return shown


async def decide(page: Page) -> Response:
    runtime = page.runtime
    decision = page.form.first("decision")
    if decision not in ("allow", "deny"):
        return page.render("message.html", 400, title="Not accepted", message="Choose Allow or Deny.")
    request_id = page.form.first("request")
    now = runtime.clock()
    pending = await grants.pending_request(runtime.store.oauth, request_id, now)
    if pending is None or await grants.oauth_server(runtime.store, pending.server_id, now) is None:
        return page.render("message.html", 404, title="Nothing to authorize", message=GONE)
    target = await grants.decide(
        runtime.store.oauth, request_id, decision == "allow", issuer(runtime.settings.public_url), now
    )
    if target is None:
        return page.render("message.html", 404, title="Nothing to authorize", message=GONE)
    log.info(
        "console: OAuth consent answered",
        extra={"decision": decision, "server_id": pending.server_id, "oauth_client_id": pending.client_id},
    )
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


async def clients(page: Page) -> Response:
    account = await page.account()
    server = await page.server(account)
    if not service.uses_oauth(server.config):
        raise NotFound()
    runtime = page.runtime
    now = runtime.clock()
    return page.render(
        "clients.html",
        account=account,
        server=server,
        url=runtime.mcp_url(server.id),
        connections=await connections.connections(runtime.store.oauth, server.id, now),
        now=now,
        crumbs=to_account(account),
    )


async def revoke_clients(page: Page) -> Response:
    account = await page.account()
    server = await page.server(account)
    if not service.uses_oauth(server.config):
        raise NotFound()
    client_id = page.form.first("client_id") or None
    await connections.disconnect(page.runtime.store.oauth, server.id, client_id)
    log.info("console: OAuth clients revoked", extra={"server_id": server.id, "all": client_id is None})
    notice = "oauth-client-revoked" if client_id else "oauth-clients-revoked"
    return see_other(f"{server_url(account.id, server.id)}/clients?notice={notice}")
