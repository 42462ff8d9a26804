"""Signing in to the console with the admin token or an API token with admin rights, and signing out."""

from __future__ import annotations

import logging

from starlette.responses import Response

from stripe_mcp.managed import service
from stripe_mcp.web.console.page import Page
from stripe_mcp.web.console.rendering import see_other
from stripe_mcp.web.console.sessions import Session, Sessions
from stripe_mcp.web.console.urls import ACCOUNTS, SIGN_IN, safe_next
from stripe_mcp.web.credentials import same_secret

log = logging.getLogger("stripe_mcp.console")

SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW_SECONDS = 20, 60  # per client address, counted in the store (all attempts)


class SignIn:
    def __init__(self, sessions: Sessions, admin_token: str | None) -> None:
        self.sessions = sessions
        self.admin_token = admin_token

    async def home(self, page: Page) -> Response:
        return see_other(ACCOUNTS)

    async def show(self, page: Page) -> Response:
        wanted = safe_next(page.request.query_params.get("next", ""))
        if page.session is not None and page.session.signed_in:
            return see_other(wanted)
        session = page.session or Session.anonymous()
        shown = page.renderer.render(page.request, session, "sign_in.html", next=wanted, error=None)
        return await self.sessions.keep(page.request, shown, session)

    async def submit(self, page: Page) -> Response:
        runtime, request = page.runtime, page.request
        wanted = safe_next(page.form.first("next"))
        client = request.client.host if request.client else "unknown"
        attempt = await runtime.store.take_budget(
            f"console-sign-in:{client}", SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW_SECONDS, runtime.clock()
        )
        if not attempt.allowed:
            refused = page.render(
                "sign_in.html",
                429,
                next=wanted,
                error=f"Too many sign-in attempts: try again in {attempt.reset_seconds} s.",
            )
            refused.headers["retry-after"] = str(attempt.reset_seconds)
            return refused
        token = page.form.first("token").strip()
        who, proof, token_id = None, "", None
        if token and same_secret(token, self.admin_token):
            who, proof = "admin", await self.sessions.admin_proof()
        elif token and (record := await service.admin_api_token(runtime.store, token)) is not None:
            who, proof, token_id = "api-token", record.token_hash, record.id
        if who is None:
            log.info("console sign-in refused", extra={"client": client})
            # The same answer whatever was wrong.
            return page.render("sign_in.html", 401, next=wanted, error="Sign-in failed.")
        log.info("console sign-in", extra={"who": who, "api_token_id": token_id, "client": client})
        return await self.sessions.keep(request, see_other(wanted), Session.signed_in_as(who, proof))

    async def sign_out(self, page: Page) -> Response:
        return self.sessions.end(page.request, see_other(SIGN_IN))
