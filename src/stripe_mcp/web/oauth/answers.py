"""What the OAuth endpoints answer: JSON never cached, errors in RFC 6749's shape, a plain page for a browser,
and CORS so that browser-based clients can reach the endpoints (none of them uses cookies)."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from stripe_mcp.managed.oauth.errors import OAuthError

Endpoint = Callable[[Request], Awaitable[Response]]

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": "authorization, content-type, mcp-protocol-version",
    "access-control-max-age": "600",
}
PAGE_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}


def json_answer(body: dict[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **CORS, **(headers or {})})


def oauth_error(error: OAuthError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return json_answer({"error": error.error, "error_description": error.description}, error.status, headers)


def error_page(status: int, title: str, message: str) -> HTMLResponse:
    """For the person whose browser the client sent here, when the client cannot be sent the error."""
    body = (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
        "<p>Go back to the app you came from and connect again; if this keeps happening, tell its developer.</p></html>"
    )
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def continue_page(url: str) -> HTMLResponse:
    """A hop to `url` (a console page) that the browser makes from this site: a plain redirect would keep the
    navigation cross-site when the client's site started it, and the console's SameSite=Strict session would
    not come along (the person would have to sign in again). Works without JavaScript."""
    link = html.escape(url)
    body = (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={link}"><title>Continue</title>'
        f'<p><a href="{link}">Continue to stripe-mcp to allow or deny this app</a></p></html>'
    )
    return HTMLResponse(body, headers=PAGE_HEADERS)


def with_cors(endpoint: Endpoint) -> Endpoint:
    """The endpoint, answering CORS preflights itself."""

    async def answered(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=CORS)
        return await endpoint(request)

    return answered
