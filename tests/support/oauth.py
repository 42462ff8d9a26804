"""OAuth from the outside: a person who signs in to the console and answers consent pages over HTTP, PKCE pairs,
and the official MCP client's OAuth provider wired to that person instead of a browser."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

CONSENT = "/admin/oauth/consent"
HIDDEN = re.compile(r'name="(csrf|request)" value="([^"]*)"')
REFRESH = re.compile(r'<meta http-equiv="refresh" content="0;url=([^"]+)">')


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


class Person:
    """Someone with the console's admin token, in a browser that keeps cookies and never runs JavaScript."""

    def __init__(self, base_url: str, admin_token: str) -> None:
        self.base_url = base_url
        self.admin_token = admin_token
        self.http = httpx.AsyncClient(base_url=base_url, timeout=15.0, follow_redirects=False)
        self.pages: list[str] = []  # every consent page seen
        self.redirects: list[str] = []  # where each answer sent the browser

    async def sign_in(self) -> None:
        page = await self.http.get("/admin/sign-in")
        fields = dict(HIDDEN.findall(page.text))
        signed = await self.http.post(
            "/admin/sign-in",
            data={"csrf": html.unescape(fields["csrf"]), "token": self.admin_token, "next": ""},
            headers={"origin": self.base_url},
        )
        assert signed.status_code == 303, signed.text

    async def consent_page(self, authorization_url: str) -> httpx.Response:
        """Follow the client's authorization URL to the consent page (signing in on the way if need be)."""
        location = await self.consent_location(authorization_url)
        page = await self.http.get(location)
        if page.status_code == 303:  # not signed in yet: the console asks first, then comes back here
            await self.sign_in()
            page = await self.http.get(location)
        self.pages.append(page.text)
        return page

    async def consent_location(self, authorization_url: str) -> str:
        """Where the authorization endpoint's page sends the browser on (a meta refresh, as no script runs)."""
        sent = await self.http.get(authorization_url)
        assert sent.status_code == 200 and "location" not in sent.headers, sent.text
        found = REFRESH.search(sent.text)
        assert found, sent.text
        location = html.unescape(found.group(1))
        assert location.startswith(CONSENT + "?request="), location
        return location

    async def answer(self, page: httpx.Response, decision: str = "allow") -> str:
        """Press Allow or Deny on a consent page; where the browser is sent next (the client's redirect URI)."""
        fields = {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}
        answered = await self.http.post(
            CONSENT,
            data={"csrf": fields["csrf"], "request": fields["request"], "decision": decision},
            headers={"origin": self.base_url},
        )
        assert answered.status_code == 303, answered.text
        self.redirects.append(answered.headers["location"])
        return answered.headers["location"]

    async def approve(self, authorization_url: str, decision: str = "allow") -> str:
        return await self.answer(await self.consent_page(authorization_url), decision)

    async def aclose(self) -> None:
        await self.http.aclose()


class MemoryTokens:
    """The official client's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def official_provider(
    url: str,
    person: Person,
    storage: MemoryTokens | None = None,
    decision: str = "allow",
    **metadata: Any,
) -> OAuthClientProvider:
    """The official MCP client's OAuth, with `person` in place of the browser: it opens the authorization URL,
    answers the consent page, and hands the redirect's code back to the client."""
    redirected: list[str] = []

    async def open_browser(authorization_url: str) -> None:
        redirected.append(await person.approve(authorization_url, decision))

    async def callback() -> AuthorizationCodeResult:
        answer = query_of(redirected.pop())
        if "code" not in answer:
            raise PermissionError(answer.get("error", "no code"))
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    client_metadata = OAuthClientMetadata(
        client_name=metadata.pop("client_name", "official MCP client (tests)"),
        redirect_uris=metadata.pop("redirect_uris", ["http://127.0.0.1:45123/callback"]),
        **metadata,
    )
    return OAuthClientProvider(url, client_metadata, storage or MemoryTokens(), open_browser, callback)


def stripe_tools(names: Iterable[str]) -> int:
    """How many of the listed tools are Stripe's: `tool_count`; a read server also lists query_stripe."""
    listed = list(names)
    assert "query_stripe" in listed
    return len(listed) - 1
