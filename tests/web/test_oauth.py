"""OAuth servers end to end: a real `stripe-mcp serve` process (SQLite, localstripe), the official MCP client's
OAuth support, a person consenting in the console over HTTP, and every endpoint driven as a client would."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp import Client, ClientSession
from tests.mcp.conformance.toyserver import serve as serve_app
from tests.support.oauth import MemoryTokens, Person, official_provider, pkce, query_of, stripe_tools
from tests.support.runtime_process import RunningServer, managed_env, serve

pytestmark = pytest.mark.integration  # a `stripe-mcp serve` process in front of localstripe

ADMIN_TOKEN = "oauth-admin-token-5d1f0c2b"
API_KEY = "sk_test_OAuthSuiteSecretKey7781"
REDIRECT = "http://127.0.0.1:45123/callback"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}},
}
SECRETS: list[str] = [API_KEY]  # tokens, codes and client secrets as they are issued: none may reach the log


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, stripe_url: str) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("oauth")
    env = managed_env(ADMIN_TOKEN)
    args = ["--store", f"sqlite:///{workdir / 'store.sqlite3'}", "--stripe-base-url", stripe_url]
    # The metadata-document test serves its document on loopback, which only the 'private' policy fetches.
    with serve(workdir, *args, "--client-id-documents", "private", env=env) as server:
        yield server


def admin(running: RunningServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    return httpx.request(method, running.base_url + path, headers=headers, timeout=10.0, **kwargs)


@pytest.fixture(scope="module")
def account_id(running: RunningServer) -> str:
    created = admin(running, "POST", "/integrated-account", json={"name": "oauth shop", "stripe_api_key": API_KEY})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def oauth_server(running: RunningServer, account_id: str, name: str = "support", **config: Any) -> dict[str, Any]:
    body = {"name": name, "config": {"methods": ["read"], "tags": ["customers"], "auth": "oauth", **config}}
    created = admin(running, "POST", f"/integrated-account/{account_id}/mcp", json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


@pytest.fixture
async def person(running: RunningServer) -> AsyncIterator[Person]:
    someone = Person(running.base_url, ADMIN_TOKEN)
    await someone.sign_in()
    yield someone
    await someone.aclose()


def initialize(url: str, token: str | None = None) -> httpx.Response:
    headers = {**MCP_HEADERS, **({"authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(url, json=INITIALIZE, headers=headers, timeout=10.0)


def register(running: RunningServer, **metadata: Any) -> dict[str, Any]:
    body = {"client_name": "raw HTTP client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    body["grant_types"] = ["authorization_code", "refresh_token"]
    registered = httpx.post(running.base_url + "/oauth/register", json={**body, **metadata}, timeout=10.0)
    assert registered.status_code == 201, registered.text
    if "client_secret" in registered.json():
        SECRETS.append(registered.json()["client_secret"])
    return dict(registered.json())


def authorization_url(running: RunningServer, client_id: str, server_url: str, challenge: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "the-state",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": server_url,
        "scope": "mcp",
        **extra,
    }
    return running.base_url + "/oauth/authorize?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


def token_request(running: RunningServer, **form: str) -> httpx.Response:
    answer = httpx.post(running.base_url + "/oauth/token", data=form, timeout=10.0)
    if answer.status_code == 200:
        SECRETS.extend(v for k, v in answer.json().items() if k in ("access_token", "refresh_token"))
    return answer


async def connect(running: RunningServer, person: Person, url: str, client_id: str, **extra: str) -> dict[str, Any]:
    """Consent and code exchange by hand; the token response."""
    verifier, challenge = pkce()
    redirect = await person.approve(authorization_url(running, client_id, url, challenge, **extra))
    answer = query_of(redirect)
    assert answer["state"] == "the-state" and answer["iss"] == running.base_url, answer
    SECRETS.append(answer["code"])
    tokens = token_request(
        running,
        grant_type="authorization_code",
        code=answer["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        client_id=client_id,
        resource=url,
    )
    assert tokens.status_code == 200, tokens.text
    return dict(tokens.json())


# --------------------------------------------------------------------------- the official client


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])  # the initialize handshake, and the stateless era
async def test_the_official_client_connects_with_the_url_and_a_persons_consent(
    running: RunningServer, account_id: str, person: Person, mode: str
) -> None:
    server = oauth_server(running, account_id, f"official {mode}")
    url = server["url"]
    assert url == f"{running.base_url}/mcp/{server['id']}"  # no secret in it
    storage = MemoryTokens()
    async with create_mcp_http_client(auth=official_provider(url, person, storage)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            assert client.protocol_version == ("2026-07-28" if mode != "legacy" else "2025-11-25")
            tools = await client.list_tools()
            assert stripe_tools(t.name for t in tools.tools) == server["tool_count"]
            listed = await client.call_tool("list_all_stripe_customers", {"limit": 3})
            assert not listed.is_error, listed
    assert storage.tokens is not None and storage.tokens.refresh_token and storage.client is not None
    SECRETS.extend([storage.tokens.access_token, storage.tokens.refresh_token, storage.client.client_secret or ""])
    consent = person.pages[-1]
    assert "official MCP client (tests)" in consent and "127.0.0.1" in consent and "oauth shop" in consent

    [connected] = admin(running, "GET", f"/integrated-account/{account_id}/mcp/{server['id']}/oauth-clients").json()[
        "data"
    ]
    assert connected["client_name"] == "official MCP client (tests)" and connected["last_used_at"] is not None
    # The URL may be shown again: the listing has it.
    listed_servers = admin(running, "GET", f"/integrated-account/{account_id}/mcp").json()["data"]
    assert next(s for s in listed_servers if s["id"] == server["id"])["url"] == url

    # A second client run with the stored tokens connects without asking anyone.
    pages = len(person.pages)
    async with create_mcp_http_client(auth=official_provider(url, person, storage)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="auto") as client:
            assert stripe_tools(t.name for t in (await client.list_tools()).tools) == server["tool_count"]
    assert len(person.pages) == pages


async def test_the_official_client_over_the_legacy_sse_transport(
    running: RunningServer, account_id: str, person: Person
) -> None:
    """Given the deprecated HTTP+SSE URL (`.../sse`), the client finds the same metadata: the resource is the
    server's URL, a prefix of the one it was given, and the token works on the stream and its message URL."""
    server = oauth_server(running, account_id, "legacy sse")
    sse_url = server["url"] + "/sse"
    assert httpx.get(sse_url, timeout=10.0).status_code == 401
    storage = MemoryTokens()
    transport = sse_client(sse_url, auth=official_provider(sse_url, person, storage))
    async with transport as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        assert stripe_tools(t.name for t in (await session.list_tools()).tools) == server["tool_count"]
    assert storage.tokens is not None and storage.tokens.refresh_token
    SECRETS.extend([storage.tokens.access_token, storage.tokens.refresh_token])
    # Each message of a stream is checked again: the stream's token does not carry over to a request without it.
    bearer = {"authorization": f"Bearer {storage.tokens.access_token}"}
    async with httpx.AsyncClient(base_url=running.base_url, timeout=10.0) as http:
        async with http.stream("GET", sse_url, headers={**bearer, "accept": "text/event-stream"}) as stream:
            lines, endpoint = stream.aiter_lines(), ""
            for _ in range(10):  # the endpoint event comes first
                line = await anext(lines)
                if line.startswith("data: "):
                    endpoint = line.removeprefix("data: ")
                    break
            assert "/messages?session_id=" in endpoint, endpoint
            refused = await http.post(endpoint, json=INITIALIZE, headers={"authorization": "Bearer not-it"})
            assert refused.status_code == 401 and "resource_metadata=" in refused.headers["www-authenticate"]
            assert (await http.post(endpoint, json=INITIALIZE)).status_code == 401
            assert (await http.post(endpoint, json=INITIALIZE, headers=bearer)).status_code == 202


async def test_a_denial_reaches_the_client_as_access_denied(
    running: RunningServer, account_id: str, person: Person
) -> None:
    server = oauth_server(running, account_id, "denied")
    with pytest.raises(BaseExceptionGroup) as given_up:  # the client gives up: no code came back
        async with create_mcp_http_client(auth=official_provider(server["url"], person, decision="deny")) as http:
            async with Client(streamable_http_client(server["url"], http_client=http), mode="legacy") as client:
                await client.list_tools()
    assert given_up.group_contains(PermissionError, match="access_denied")
    assert query_of(person.redirects[-1])["error"] == "access_denied"
    assert admin(running, "GET", f"/integrated-account/{account_id}/mcp/{server['id']}/oauth-clients").json() == {
        "data": []
    }


# --------------------------------------------------------------------------- discovery


def test_without_a_token_the_server_points_to_its_metadata(running: RunningServer, account_id: str) -> None:
    server = oauth_server(running, account_id, "discovery")
    metadata_url = f"{running.base_url}/.well-known/oauth-protected-resource/mcp/{server['id']}"
    for token in (None, "smcp_at_not-a-real-token", "sk_test_whatever"):
        refused = initialize(server["url"], token)
        assert refused.status_code == 401, refused.text
        challenge = refused.headers["www-authenticate"]
        assert challenge.startswith(f'Bearer resource_metadata="{metadata_url}"'), challenge
        assert ('error="invalid_token"' in challenge) is (token is not None)
        assert refused.json()["error"]["code"] == "unauthorized"

    resource = httpx.get(metadata_url, headers={"mcp-protocol-version": "2025-11-25"}, timeout=10.0)
    assert resource.status_code == 200 and resource.headers["cache-control"] == "no-store"
    assert resource.headers["access-control-allow-origin"] == "*"
    assert resource.json() == {
        "resource": server["url"],
        "authorization_servers": [running.base_url],
        "scopes_supported": ["mcp"],
        "bearer_methods_supported": ["header"],
    }
    issuer = httpx.get(running.base_url + "/.well-known/oauth-authorization-server", timeout=10.0).json()
    assert issuer["issuer"] == running.base_url
    for endpoint, path in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("registration_endpoint", "/oauth/register"),
        ("revocation_endpoint", "/oauth/revoke"),
    ]:
        assert issuer[endpoint] == running.base_url + path
    assert issuer["code_challenge_methods_supported"] == ["S256"]
    assert issuer["client_id_metadata_document_supported"] is True
    assert issuer["authorization_response_iss_parameter_supported"] is True
    preflight = httpx.options(
        running.base_url + "/oauth/token",
        headers={"origin": "https://app.example", "access-control-request-method": "POST"},
        timeout=10.0,
    )
    assert preflight.status_code == 204 and "POST" in preflight.headers["access-control-allow-methods"]


def test_only_oauth_servers_have_resource_metadata(running: RunningServer, account_id: str) -> None:
    plain = admin(running, "POST", f"/integrated-account/{account_id}/mcp", json={"name": "plain"}).json()
    SECRETS.append(plain["url"].rsplit("/", 1)[1])
    for path in (plain["id"], plain["url"].rsplit("/", 1)[1], "srv_0000000000000000", "../admin"):
        missing = httpx.get(f"{running.base_url}/.well-known/oauth-protected-resource/mcp/{path}", timeout=10.0)
        assert missing.status_code == 404
    assert initialize(f"{running.base_url}/mcp/srv_0000000000000000").status_code == 404
    # A url_token server is what it was: its URL is its credential.
    assert initialize(plain["url"]).status_code == 200
    no_clients = admin(running, "GET", f"/integrated-account/{account_id}/mcp/{plain['id']}/oauth-clients")
    assert no_clients.status_code == 200 and no_clients.json() == {"data": []}


@pytest.mark.parametrize(
    "config, words",
    [
        ({"auth": "password"}, "auth"),
        ({"auth": "oauth", "require_api_token_auth": True}, "require_api_token_auth"),
    ],
)
def test_bad_auth_configs_are_refused(
    running: RunningServer, account_id: str, config: dict[str, Any], words: str
) -> None:
    refused = admin(running, "POST", f"/integrated-account/{account_id}/mcp", json={"name": "bad", "config": config})
    assert refused.status_code == 400 and words in refused.json()["error"]["message"]


# --------------------------------------------------------------------------- the flow by hand


async def test_tokens_are_bound_rotate_and_revoke(running: RunningServer, account_id: str, person: Person) -> None:
    first, second = oauth_server(running, account_id, "first"), oauth_server(running, account_id, "second")
    client = register(running)
    tokens = await connect(running, person, first["url"], client["client_id"])
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600 and tokens["scope"] == "mcp"
    assert initialize(first["url"], tokens["access_token"]).status_code == 200
    refused = initialize(second["url"], tokens["access_token"])  # bound to the first server's URL
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    # Nor is it an API token: not for the admin API, the console, or a require_api_token_auth server.
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(f"{running.base_url}/integrated-account", headers=bearer, timeout=10.0).status_code == 401
    locked = admin(
        running,
        "POST",
        f"/integrated-account/{account_id}/mcp",
        json={"name": "locked", "config": {"require_api_token_auth": True}},
    ).json()
    SECRETS.append(locked["url"].rsplit("/", 1)[1])
    assert initialize(locked["url"], tokens["access_token"]).status_code == 401
    async with httpx.AsyncClient(base_url=running.base_url, timeout=10.0) as browser:
        form = await browser.get("/admin/sign-in")
        csrf = html.unescape(re.search(r'name="csrf" value="([^"]+)"', form.text).group(1))
        signed = await browser.post(
            "/admin/sign-in",
            data={"csrf": csrf, "token": tokens["access_token"], "next": ""},
            headers={"origin": running.base_url},
        )
        assert signed.status_code != 303 and (await browser.get("/admin")).status_code == 303  # still signed out

    rotated = token_request(
        running, grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=client["client_id"]
    )
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    fresh = rotated.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert initialize(first["url"], fresh["access_token"]).status_code == 200

    reused = token_request(
        running, grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=client["client_id"]
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert initialize(first["url"], fresh["access_token"]).status_code == 401  # the whole grant went


async def test_a_code_needs_its_verifier_and_is_spent(running: RunningServer, account_id: str, person: Person) -> None:
    server = oauth_server(running, account_id, "codes")
    client = register(running)
    verifier, challenge = pkce()
    answer = query_of(await person.approve(authorization_url(running, client["client_id"], server["url"], challenge)))
    SECRETS.append(answer["code"])
    exchange = {
        "grant_type": "authorization_code",
        "code": answer["code"],
        "redirect_uri": REDIRECT,
        "client_id": client["client_id"],
    }
    wrong = token_request(running, **exchange, code_verifier=pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert "code_verifier" in wrong.json()["error_description"]
    other = token_request(running, **exchange, code_verifier=verifier, resource=running.base_url + "/mcp/srv_other")
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"
    assert token_request(running, **exchange, code_verifier=verifier).status_code == 200
    again = token_request(running, **exchange, code_verifier=verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "form, status, error",
    [
        ({"grant_type": "password", "username": "u", "password": "p"}, 400, "unsupported_grant_type"),
        (
            {"grant_type": "authorization_code", "code": "smcp_code_nope", "code_verifier": "x" * 43},
            400,
            "invalid_grant",
        ),
        ({"grant_type": "refresh_token", "refresh_token": "smcp_rt_nope"}, 400, "invalid_grant"),
    ],
)
def test_token_endpoint_errors(running: RunningServer, form: dict[str, str], status: int, error: str) -> None:
    client = register(running)
    answer = token_request(running, **form, client_id=client["client_id"])
    assert answer.status_code == status and answer.json()["error"] == error, answer.text
    assert answer.headers["cache-control"] == "no-store"


def test_client_authentication_at_the_token_endpoint(running: RunningServer) -> None:
    confidential = register(running, token_endpoint_auth_method="client_secret_basic")
    form = {"grant_type": "refresh_token", "refresh_token": "smcp_rt_nope"}
    for auth in [None, (confidential["client_id"], "smcp_secret_wrong")]:
        answer = httpx.post(
            running.base_url + "/oauth/token", data={**form, "client_id": confidential["client_id"]}, auth=auth
        )
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    basic = httpx.post(
        running.base_url + "/oauth/token", data=form, auth=(confidential["client_id"], confidential["client_secret"])
    )
    assert basic.status_code == 400 and basic.json()["error"] == "invalid_grant"  # authenticated; the token is bad
    unknown = httpx.post(running.base_url + "/oauth/token", data={**form, "client_id": "smcp_client_nobody"})
    assert unknown.status_code == 401
    twice = httpx.post(
        running.base_url + "/oauth/token",
        content=f"grant_type=refresh_token&client_id={confidential['client_id']}&client_id=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"
    as_json = httpx.post(running.base_url + "/oauth/token", json=form)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


async def test_the_revocation_endpoint_ends_the_grant(running: RunningServer, account_id: str, person: Person) -> None:
    server = oauth_server(running, account_id, "revocation")
    client = register(running)
    tokens = await connect(running, person, server["url"], client["client_id"])
    revoked = httpx.post(
        running.base_url + "/oauth/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": client["client_id"]},
    )
    assert revoked.status_code == 200
    assert initialize(server["url"], tokens["access_token"]).status_code == 401
    unknown = httpx.post(
        running.base_url + "/oauth/revoke", data={"token": "whatever", "client_id": client["client_id"]}
    )
    assert unknown.status_code == 200


# --------------------------------------------------------------------------- the authorization endpoint


async def test_authorization_errors_go_back_to_the_client_only_when_it_is_known(
    running: RunningServer, account_id: str, person: Person
) -> None:
    server = oauth_server(running, account_id, "errors")
    client = register(running)
    _, challenge = pkce()
    # Unknown client or redirect URI: a page for the person, never a redirect.
    for url in (
        authorization_url(running, "smcp_client_unknown", server["url"], challenge),
        authorization_url(
            running, client["client_id"], server["url"], challenge, redirect_uri="https://evil.example/cb"
        ),
    ):
        page = await person.http.get(url)
        assert page.status_code == 400 and "location" not in page.headers
        assert page.headers["content-type"].startswith("text/html") and "cannot connect" in page.text
    cases = [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"resource": running.base_url + "/mcp/srv_0000000000000000"}, "invalid_target"),
        ({"resource": "https://elsewhere.example/mcp/" + server["id"]}, "invalid_target"),
    ]
    for extra, error in cases:
        sent = await person.http.get(authorization_url(running, client["client_id"], server["url"], challenge, **extra))
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"].startswith(REDIRECT + "?")
        answer = query_of(sent.headers["location"])
        assert answer["error"] == error and answer["state"] == "the-state" and answer["iss"] == running.base_url
        assert answer["error_description"]
    # What a client without Protected Resource Metadata sends (it found only the authorization server's): the
    # refusal says what to do instead, as a url_token server's 401 would have.
    url_token = admin(running, "POST", f"/integrated-account/{account_id}/mcp", json={"name": "not oauth"}).json()
    SECRETS.append(url_token["url"].rsplit("/", 1)[1])
    for resource, words in [
        (url_token["url"], "this MCP server does not use OAuth: its URL is its credential"),
        ("", "did not say which MCP server it wants (no resource parameter"),
    ]:
        sent = await person.http.get(authorization_url(running, client["client_id"], resource, challenge))
        answer = query_of(sent.headers["location"])
        assert answer["error"] == "invalid_target" and words in answer["error_description"], answer


async def test_the_consent_page(running: RunningServer, account_id: str, person: Person) -> None:
    server = oauth_server(running, account_id, "consent page", tags=["customers", "refund"])
    client = register(running, client_name="Acme <Assistant>")
    _, challenge = pkce()
    page = await person.consent_page(authorization_url(running, client["client_id"], server["url"], challenge))
    text = page.text
    assert page.status_code == 200
    assert "Acme &lt;Assistant&gt;" in text and "<Assistant>" not in text  # escaped
    for shown in (
        REDIRECT,
        client["client_id"],
        "oauth shop",
        "consent page",
        "read",
        "customers, refund",
        "First seen",
    ):
        assert html.escape(shown, quote=False) in text, shown
    assert "<script" not in text  # one form, no JavaScript
    assert re.search(r'<button type="submit" name="decision" value="allow">', text)
    assert re.search(r'<button type="submit" name="decision" value="deny"', text)
    assert text.count("<form") == 2  # sign-out in the header, and the consent form
    csp = page.headers["content-security-policy"]
    assert "form-action 'self' http://127.0.0.1:45123;" in csp and "script-src" not in csp

    # Without the CSRF token the answer is refused, and the request still waits for a real answer.
    fields = dict(re.findall(r'name="(csrf|request)" value="([^"]*)"', text))
    forged = await person.http.post(
        "/admin/oauth/consent",
        data={"request": html.unescape(fields["request"]), "decision": "allow"},
        headers={"origin": running.base_url},
    )
    assert forged.status_code == 403
    denied = query_of(await person.answer(page, "deny"))
    assert denied == {"error": "access_denied", "state": "the-state", "iss": running.base_url}
    gone = await person.http.get(f"/admin/oauth/consent?request={quote(html.unescape(fields['request']))}")
    assert gone.status_code == 404 and "expired or was already answered" in gone.text


async def test_consent_asks_to_sign_in_first_and_comes_back(running: RunningServer, account_id: str) -> None:
    server = oauth_server(running, account_id, "sign in first")
    client = register(running)
    _, challenge = pkce()
    stranger = Person(running.base_url, ADMIN_TOKEN)
    try:
        location = await stranger.consent_location(
            authorization_url(running, client["client_id"], server["url"], challenge)
        )
        to_sign_in = await stranger.http.get(location)
        assert to_sign_in.status_code == 303 and to_sign_in.headers["location"].startswith("/admin/sign-in?next=")
        page = await stranger.consent_page(authorization_url(running, client["client_id"], server["url"], challenge))
        assert page.status_code == 200 and 'value="allow"' in page.text
    finally:
        await stranger.aclose()


# --------------------------------------------------------------------------- revoking


async def test_revoking_the_server_revokes_its_tokens(running: RunningServer, account_id: str, person: Person) -> None:
    server = oauth_server(running, account_id, "to revoke")
    client = register(running)
    tokens = await connect(running, person, server["url"], client["client_id"])
    assert initialize(server["url"], tokens["access_token"]).status_code == 200
    assert admin(running, "DELETE", f"/integrated-account/{account_id}/mcp/{server['id']}").status_code == 204
    assert initialize(server["url"], tokens["access_token"]).status_code == 404
    refreshed = token_request(
        running, grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=client["client_id"]
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_the_console_lists_connected_clients_and_disconnects_them(
    running: RunningServer, account_id: str, person: Person
) -> None:
    server = oauth_server(running, account_id, "console clients")
    alpha, beta = register(running, client_name="Alpha app"), register(running, client_name="Beta app")
    alpha_tokens = await connect(running, person, server["url"], alpha["client_id"])
    beta_tokens = await connect(running, person, server["url"], beta["client_id"])
    assert initialize(server["url"], alpha_tokens["access_token"]).status_code == 200

    account_page = await person.http.get(f"/admin/accounts/{account_id}")
    assert server["url"] in account_page.text and f"/servers/{server['id']}/clients" in account_page.text
    clients_path = f"/admin/accounts/{account_id}/servers/{server['id']}/clients"
    page = await person.http.get(clients_path)
    assert page.status_code == 200 and "Alpha app" in page.text and "Beta app" in page.text
    assert "just now" in page.text  # Alpha's last use
    csrf = html.unescape(re.search(r'name="csrf" value="([^"]+)"', page.text).group(1))
    one = await person.http.post(
        clients_path + "/revoke",
        data={"csrf": csrf, "client_id": alpha["client_id"]},
        headers={"origin": running.base_url},
    )
    assert one.status_code == 303 and one.headers["location"].endswith("notice=oauth-client-revoked")
    assert initialize(server["url"], alpha_tokens["access_token"]).status_code == 401
    assert initialize(server["url"], beta_tokens["access_token"]).status_code == 200
    after = await person.http.get(clients_path)
    assert "Alpha app" not in after.text and "Beta app" in after.text
    every = await person.http.post(clients_path + "/revoke", data={"csrf": csrf}, headers={"origin": running.base_url})
    assert every.status_code == 303
    assert initialize(server["url"], beta_tokens["access_token"]).status_code == 401
    assert "No client is connected" in (await person.http.get(clients_path)).text


async def test_the_admin_api_lists_and_revokes_clients(running: RunningServer, account_id: str, person: Person) -> None:
    server = oauth_server(running, account_id, "api clients")
    path = f"/integrated-account/{account_id}/mcp/{server['id']}/oauth-clients"
    alpha, beta = register(running, client_name="Alpha"), register(running, client_name="Beta")
    alpha_tokens = await connect(running, person, server["url"], alpha["client_id"])
    await connect(running, person, server["url"], beta["client_id"])
    listed = admin(running, "GET", path).json()["data"]
    assert {c["client_name"] for c in listed} == {"Alpha", "Beta"}
    assert all(c["redirect_uris"] == [REDIRECT] and c["first_seen_at"] and c["connected_at"] for c in listed)
    assert admin(running, "DELETE", path, params={"client_id": alpha["client_id"]}).status_code == 204
    assert admin(running, "DELETE", path, params={"client_id": alpha["client_id"]}).status_code == 404
    assert initialize(server["url"], alpha_tokens["access_token"]).status_code == 401
    assert [c["client_name"] for c in admin(running, "GET", path).json()["data"]] == ["Beta"]
    assert admin(running, "DELETE", path).status_code == 204
    assert admin(running, "GET", path).json() == {"data": []}
    assert httpx.get(running.base_url + path).status_code == 401


async def test_an_oauth_server_made_in_the_console(running: RunningServer, account_id: str, person: Person) -> None:
    form_page = await person.http.get(f"/admin/accounts/{account_id}/servers/new")
    assert 'name="auth" value="oauth"' in form_page.text
    csrf = html.unescape(re.search(r'name="csrf" value="([^"]+)"', form_page.text).group(1))
    fields = {"csrf": csrf, "name": "from the console", "methods": "read", "tags": "customers", "auth": "oauth"}
    created = await person.http.post(
        f"/admin/accounts/{account_id}/servers",
        data={**fields, "tool_exposure": "all", "expires": "never", "action": "create"},
        headers={"origin": running.base_url},
    )
    assert created.status_code == 200, created.text
    url = html.unescape(re.search(r'id="mcp-url"[^>]*value="([^"]+)"', created.text).group(1))
    assert "holds no secret" in created.text and "Claude (custom connector)" in created.text
    server_id = url.rsplit("/", 1)[1]
    assert server_id.startswith("srv_") and initialize(url).status_code == 401
    account_page = await person.http.get(f"/admin/accounts/{account_id}")
    assert url in account_page.text  # shown again
    refused = await person.http.post(
        f"/admin/accounts/{account_id}/servers",
        data={**fields, "require_api_token_auth": "on", "expires": "never", "action": "create"},
        headers={"origin": running.base_url},
    )
    assert refused.status_code == 400 and "require_api_token_auth is for url_token servers" in refused.text


# --------------------------------------------------------------------------- registration and documents


@pytest.mark.parametrize(
    "body, error",
    [
        (b"not json", "invalid_client_metadata"),
        (b"[]", "invalid_client_metadata"),
        (json.dumps({"redirect_uris": ["http://evil.example/cb"]}).encode(), "invalid_redirect_uri"),
        (
            json.dumps({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]}).encode(),
            "invalid_client_metadata",
        ),
        (json.dumps({"redirect_uris": [REDIRECT], "pad": "x" * 20000}).encode(), "invalid_client_metadata"),
    ],
)
def test_bad_registrations(running: RunningServer, body: bytes, error: str) -> None:
    answer = httpx.post(
        running.base_url + "/oauth/register", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400 and answer.json()["error"] == error, answer.text
    assert answer.json()["error_description"] and "Traceback" not in answer.text


async def test_a_client_known_by_its_metadata_document(running: RunningServer, account_id: str, person: Person) -> None:
    async def document(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "client_id": str(request.url),
                "client_name": "Documented app",
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
            }
        )

    server = oauth_server(running, account_id, "documents")
    with serve_app(Starlette(routes=[Route("/oauth/client.json", document)])) as base:
        client_id = f"{base}/oauth/client.json"
        verifier, challenge = pkce()
        page = await person.consent_page(authorization_url(running, client_id, server["url"], challenge))
        assert "Documented app" in page.text and "metadata document" in page.text
        answer = query_of(await person.answer(page))
    SECRETS.append(answer["code"])
    tokens = token_request(
        running,
        grant_type="authorization_code",
        code=answer["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        client_id=client_id,
    )
    assert tokens.status_code == 200, tokens.text
    assert initialize(server["url"], tokens.json()["access_token"]).status_code == 200
    [connected] = admin(running, "GET", f"/integrated-account/{account_id}/mcp/{server['id']}/oauth-clients").json()[
        "data"
    ]
    assert connected["client_id"] == client_id
    path = f"/integrated-account/{account_id}/mcp/{server['id']}/oauth-clients"
    assert admin(running, "DELETE", path, params={"client_id": client_id}).status_code == 204
    assert admin(running, "GET", path).json() == {"data": []}


# --------------------------------------------------------------------------- last


def test_no_token_code_or_secret_reaches_the_log(running: RunningServer) -> None:
    log = running.printed
    assert "oauth: consent given" in log  # the events are there, by id
    leaked = [secret for secret in SECRETS if secret and secret in log]
    assert leaked == []


def test_the_store_keeps_only_hashes(running: RunningServer) -> None:
    stored = b"".join(path.read_bytes() for path in running.output.parent.glob("store.sqlite3*"))
    assert [secret for secret in SECRETS if secret and secret.encode() in stored] == []
    access_tokens = [secret for secret in SECRETS if secret.startswith("smcp_at_")]
    assert access_tokens and all(hashlib.sha256(t.encode()).hexdigest().encode() in stored for t in access_tokens[-3:])
