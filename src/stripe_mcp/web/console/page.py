"""What a console page handler gets: the request, its session and form, the runtime, and a way to render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from stripe_mcp.managed import service
from stripe_mcp.managed.store.base import AccountRecord, ServerRecord
from stripe_mcp.web.console.forms import Form
from stripe_mcp.web.console.rendering import Renderer
from stripe_mcp.web.console.sessions import Session
from stripe_mcp.web.runtime import Runtime

MAX_ID_CHARS = 64


class NotFound(Exception):
    """Nothing at this URL, or no longer: answered with the console's 404 page."""


@dataclass(frozen=True)
class Page:
    request: Request
    session: Session | None  # never None on the pages that need a signed-in session
    form: Form  # empty unless posted
    runtime: Runtime
    renderer: Renderer

    @property
    def posted(self) -> bool:
        return self.request.method == "POST"

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.renderer.render(self.request, self.session, template, status, **context)

    def path_id(self, name: str) -> str:
        return str(self.request.path_params[name])[:MAX_ID_CHARS]

    async def account(self) -> AccountRecord:
        """The account in the path, or NotFound."""
        account = await self.runtime.store.get_account(self.path_id("account_id"))
        if account is None:
            raise NotFound()
        return account

    async def server(self, account: AccountRecord) -> ServerRecord:
        """The account's server in the path, unless revoked or expired; else NotFound."""
        record = await service.find_server(
            self.runtime.store, account.id, self.path_id("server_id"), self.runtime.clock()
        )
        if record is None:
            raise NotFound()
        return record


Handler = Callable[[Page], Awaitable[Response]]
