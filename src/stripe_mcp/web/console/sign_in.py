"""Signing in to the console with the admin token or an API token with admin rights, and signing out.

Guesses are throttled per client address, in the store (so across replicas): SIGN_IN_THROTTLE lets
a few attempts through at once, then each must wait twice as long as the one before, up to a minute.
An attempt that comes too early is refused without its token being looked at, so guessing gains nothing
from it; the owner who mistyped waits at most that minute, and a correct token clears the count.
"""

from __future__ import annotations

import logging
import math

from starlette.responses import Response

from stripe_mcp.managed import service
from stripe_mcp.managed.store.base import ThrottleRule
from stripe_mcp.web.console.page import Page
from stripe_mcp.web.console.rendering import see_other
from stripe_mcp.web.console.sessions import Session, Sessions
from stripe_mcp.web.console.urls import ACCOUNTS, SIGN_IN, safe_next
from stripe_mcp.web.credentials import same_secret

log = logging.getLogger("stripe_mcp.console")

SIGN_IN_THROTTLE = ThrottleRule(free=10, max_delay=60.0, forget_after=15 * 60.0)  # per client address


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
        throttle = f"console-sign-in:{client}"
        now = runtime.clock()
        wait = await runtime.store.take_sign_in_attempt(throttle, now, SIGN_IN_THROTTLE)
        if wait:
            seconds = max(1, math.ceil(wait))
            message = f"Too many failed sign-ins from your address: wait {seconds} s, then try again."
            refused = page.render("sign_in.html", 429, next=wanted, error=message)
            refused.headers["retry-after"] = str(seconds)
            return refused
        token = page.form.first("token").strip()
        who, proof, token_id = None, "", None
        if token and same_secret(token, self.admin_token):
            who, proof = "admin", await self.sessions.admin_proof()
        elif token and (record := await service.admin_api_token(runtime.store, token, now)) is not None:
            who, proof, token_id = "api-token", record.token_hash, record.id
        if who is None:
            log.info("console sign-in refused", extra={"client": client})
            # The same answer whatever was wrong.
            return page.render("sign_in.html", 401, next=wanted, error="Sign-in failed.")
        await runtime.store.clear_sign_in_attempts(throttle)
        log.info("console sign-in", extra={"who": who, "api_token_id": token_id, "client": client})
        return await self.sessions.keep(request, see_other(wanted), Session.signed_in_as(who, proof))

    async def sign_out(self, page: Page) -> Response:
        if page.session is not None:
            await self.sessions.revoke(page.session)
        return self.sessions.end(page.request, see_other(SIGN_IN))
