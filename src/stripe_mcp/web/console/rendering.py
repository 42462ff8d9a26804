"""Pages from the Jinja2 templates beside this module, with the console's security headers on every answer.

Jinja2 is imported on the first page only, so an MCP-only process never loads it.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from stripe_mcp.managed.times import utc
from stripe_mcp.web.console.sessions import Session
from stripe_mcp.web.console.urls import PREFIX

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).with_name("templates")
STYLESHEET = Path(__file__).with_name("static") / "console.css"
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
NOTICES = {
    "account-added": "Account added.",
    "account-removed": "Account removed, with its MCP servers.",
    "server-revoked": "MCP server revoked: its URL now answers 404.",
    "oauth-client-revoked": "Client disconnected: its tokens no longer work.",
    "oauth-clients-revoked": "Every client disconnected: their tokens no longer work.",
    "api-token-revoked": "API token revoked: it is refused everywhere from now on.",
    "approval-approved": "Approved: the agent's next call with this approval runs it, once.",
    "approval-denied": "Denied: the agent's call is refused; nothing reaches Stripe.",
}


class Renderer:
    @cached_property
    def templates(self) -> jinja2.Environment:
        import jinja2  # here, not at the top: MCP-only processes never load Jinja2

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["when"] = when
        env.filters["iso"] = iso
        env.filters["ago"] = ago
        env.globals.update(prefix=PREFIX)
        return env

    def render(
        self, request: Request, session: Session | None, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        context.setdefault("notice", NOTICES.get(request.query_params.get("notice", "")))
        context.setdefault("crumbs", [])
        html = self.templates.get_template(template).render(
            session=session, csrf=session.csrf if session else "", nonce=nonce, **context
        )
        headers = {**SECURITY_HEADERS, "content-security-policy": csp(nonce)}
        return HTMLResponse(html, status_code=status, headers=headers)


async def stylesheet(request: Request) -> Response:
    return Response(
        STYLESHEET.read_bytes(),
        media_type="text/css",
        headers={"cache-control": "public, max-age=300", "x-content-type-options": "nosniff"},
    )


def see_other(url: str) -> RedirectResponse:
    """After a POST, or to a page that answers for this one: the browser GETs `url`."""
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def csp(nonce: str) -> str:
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        f"script-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


# Jinja filters ------------------------------------------------------------------------------------


def when(timestamp: float | None, missing: str = "never") -> str:
    if timestamp is None:
        return missing
    return utc(timestamp).strftime("%Y-%m-%d %H:%M UTC")


def iso(timestamp: float | None) -> str:
    return "" if timestamp is None else utc(timestamp).isoformat().replace("+00:00", "Z")


def ago(timestamp: float | None, now: float) -> str:
    if timestamp is None:
        return "never"
    seconds = max(0, int(now - timestamp))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
