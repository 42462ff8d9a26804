"""The console's routes, and the checks every page passes before its handler runs.

In order: the console is open (STRIPE_MCP_ADMIN_TOKEN set), the Host is allowed, a POST comes from this
origin, the session is signed in (unless the page is the sign-in), and a posted form carries the session's
CSRF token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.web.console import accounts, api_tokens, approvals, consent, server_page, servers, tool_browser
from stripe_mcp.web.console.forms import Form, FormError, read_form
from stripe_mcp.web.console.page import Handler, NotFound, Page
from stripe_mcp.web.console.rendering import Renderer, see_other, stylesheet
from stripe_mcp.web.console.sessions import Session, Sessions
from stripe_mcp.web.console.sign_in import SignIn
from stripe_mcp.web.console.urls import ACCOUNTS, API_TOKENS, APPROVALS, CONSENT, PREFIX, SIGN_IN
from stripe_mcp.web.credentials import same_secret
from stripe_mcp.web.runtime import Runtime
from stripe_mcp.web.settings import Settings

Endpoint = Callable[[Request], Awaitable[Response]]
log = logging.getLogger("stripe_mcp.console")


class Console:
    def __init__(self, runtime_of: Callable[[], Runtime], settings: Settings, keys: KeyBox | None) -> None:
        self.runtime_of = runtime_of
        self.settings = settings
        self.sessions = Sessions(settings, keys, lambda: runtime_of().store, settings.clock)
        self.renderer = Renderer()

    def routes(self) -> list[Route]:
        sign_in = SignIn(self.sessions, self.settings.admin_token)
        account = ACCOUNTS + "/{account_id}"
        server = account + "/servers/{server_id}"
        return [
            Route(PREFIX, self._page(sign_in.home), methods=["GET"]),
            Route(PREFIX + "/", self._page(sign_in.home), methods=["GET"]),
            Route(PREFIX + "/static/console.css", stylesheet, methods=["GET"]),
            Route(SIGN_IN, self._page(sign_in.show, signed_in=False), methods=["GET"]),
            Route(SIGN_IN, self._page(sign_in.submit, signed_in=False), methods=["POST"]),
            Route(PREFIX + "/sign-out", self._page(sign_in.sign_out), methods=["POST"]),
            Route(ACCOUNTS, self._page(accounts.accounts), methods=["GET"]),
            Route(ACCOUNTS, self._page(accounts.add_account), methods=["POST"]),
            Route(account, self._page(accounts.account), methods=["GET"]),
            Route(account + "/remove", self._page(accounts.remove_account), methods=["GET", "POST"]),
            Route(account + "/servers/new", self._page(servers.new_server), methods=["GET"]),
            Route(account + "/servers", self._page(servers.create_server), methods=["POST"]),
            Route(server, self._page(server_page.server), methods=["GET"]),
            Route(server + "/revoke", self._page(servers.revoke_server), methods=["GET", "POST"]),
            Route(server + "/tools", self._page(tool_browser.tools), methods=["GET"]),
            Route(server + "/tools/{tool_name}", self._page(tool_browser.tool), methods=["GET"]),
            Route(PREFIX + "/tool-count", self._page(servers.tool_count), methods=["GET"]),
            Route(CONSENT, self._page(consent.consent), methods=["GET"]),
            Route(CONSENT, self._page(consent.decide), methods=["POST"]),
            Route(server + "/clients", self._page(consent.clients), methods=["GET"]),
            Route(server + "/clients/revoke", self._page(consent.revoke_clients), methods=["POST"]),
            Route(API_TOKENS, self._page(api_tokens.api_tokens), methods=["GET"]),
            Route(API_TOKENS, self._page(api_tokens.create_api_token), methods=["POST"]),
            Route(API_TOKENS + "/{token_id}/revoke", self._page(api_tokens.revoke_api_token), methods=["GET", "POST"]),
            Route(APPROVALS, self._page(approvals.pending), methods=["GET"]),
            Route(APPROVALS + "/{approval_id}/approve", self._page(approvals.approve), methods=["POST"]),
            Route(APPROVALS + "/{approval_id}/deny", self._page(approvals.deny), methods=["POST"]),
        ]

    def _page(self, handler: Handler, *, signed_in: bool = True) -> Endpoint:
        checked = self._checked(handler, signed_in=signed_in)

        async def endpoint(request: Request) -> Response:
            try:
                return await checked(request)
            except self.runtime_of().store.unavailable:
                log.exception("the store is unavailable")
                message = "The store is unavailable, so this page cannot be shown or saved. Try again once it is back."
                return self._message(request, None, 503, "Store unavailable", message)

        return endpoint

    def _checked(self, handler: Handler, *, signed_in: bool) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if not self.settings.admin_token:
                return self._message(
                    request,
                    None,
                    403,
                    "Console closed",
                    "The admin console is closed: set STRIPE_MCP_ADMIN_TOKEN to open it.",
                )
            posted = request.method == "POST"
            if posted and not self._same_origin(request):
                return self._refused(request, None)
            session = await self.sessions.read(request)
            if signed_in and (session is None or not session.signed_in):
                return self._to_sign_in(request)
            form = Form()
            if posted:
                try:
                    form = await read_form(request)
                except FormError as error:
                    return self._message(request, session, error.status, "Not accepted", str(error))
                if session is None or not same_secret(form.first("csrf"), session.csrf):
                    return self._refused(request, session)
            try:
                return await handler(Page(request, session, form, self.runtime_of(), self.renderer))
            except NotFound:
                return self._message(
                    request, session, 404, "Not found", "There is nothing here: it may have been removed or revoked."
                )

        return endpoint

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            referer = request.headers.get("referer")
            if not referer:
                return False
            try:
                parts = urlsplit(referer)
            except ValueError:
                return False
            origin = f"{parts.scheme}://{parts.netloc}"
        public = urlsplit(self.settings.public_url)
        expected = {
            f"{request.url.scheme}://{request.headers.get('host', '')}".lower(),
            f"{public.scheme}://{public.netloc}".lower(),
        }
        return origin.strip().lower().rstrip("/") in expected

    def _to_sign_in(self, request: Request) -> Response:
        target = SIGN_IN
        if request.method == "GET" and request.url.path not in (PREFIX, PREFIX + "/"):
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(wanted, safe="")
        return see_other(target)

    def _refused(self, request: Request, session: Session | None) -> Response:
        return self._message(
            request, session, 403, "Refused", "This request was refused. Go back, reload the page and try again."
        )

    def _message(self, request: Request, session: Session | None, status: int, title: str, message: str) -> Response:
        return self.renderer.render(request, session, "message.html", status, title=title, message=message)
