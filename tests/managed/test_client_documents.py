"""Client ID Metadata Documents fetched from a real loopback server (the 'private' policy lets tests do so), and the
default 'public' policy refusing loopback and private addresses before any request is made."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_mcp.managed.oauth import DocumentPolicy, clients
from stripe_mcp.managed.oauth.documents import (
    MAX_CACHE_SECONDS,
    MIN_CACHE_SECONDS,
    cache_seconds,
    document_url_problem,
    fetch_document,
)
from stripe_mcp.managed.oauth.errors import OAuthError
from stripe_mcp.managed.store.base import Store
from tests.mcp.conformance.toyserver import serve

REDIRECT = "http://127.0.0.1:3000/callback"
seen: list[str] = []


def document(request: Request, **extra: object) -> dict[str, object]:
    return {"client_id": str(request.url), "client_name": "Doc client", "redirect_uris": [REDIRECT], **extra}


async def good(request: Request) -> Response:
    seen.append(request.url.path)
    return JSONResponse(document(request), headers={"cache-control": "max-age=120"})


async def renamed(request: Request) -> Response:
    return JSONResponse(document(request, client_name=f"Doc client {len(seen)}"), headers={"cache-control": "no-cache"})


async def other_id(request: Request) -> Response:
    return JSONResponse({**document(request), "client_id": "https://someone.else/client.json"})


async def with_secret(request: Request) -> Response:
    return JSONResponse(document(request, client_secret="s3cret", token_endpoint_auth_method="client_secret_post"))


async def too_large(request: Request) -> Response:
    return JSONResponse(document(request, client_uri="https://a.example/" + "x" * 6000))


async def not_json(request: Request) -> Response:
    return Response("<html>hello</html>", media_type="text/html")


async def redirected(request: Request) -> Response:
    return RedirectResponse("/good.json", status_code=302)


async def slow(request: Request) -> Response:
    await asyncio.sleep(30)
    return JSONResponse(document(request))


APP = Starlette(
    routes=[
        Route(f"/{name}.json", endpoint)
        for name, endpoint in {
            "good": good,
            "renamed": renamed,
            "other-id": other_id,
            "with-secret": with_secret,
            "too-large": too_large,
            "not-json": not_json,
            "redirected": redirected,
            "slow": slow,
        }.items()
    ]
)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(APP) as url:
        yield url


async def test_a_good_document(base: str) -> None:
    fetched = await fetch_document(f"{base}/good.json", DocumentPolicy.PRIVATE)
    assert fetched.metadata["client_name"] == "Doc client" and fetched.max_age == 120
    parsed = clients.ClientMetadata.parse(fetched.metadata, document=True)
    assert parsed.redirect_uris == (REDIRECT,) and parsed.auth_method == "none"


@pytest.mark.parametrize(
    "path, words",
    [
        ("other-id", "is not its URL"),
        ("too-large", "over 5120 bytes"),
        ("not-json", "not served as application/json"),
        ("redirected", "HTTP 302"),
        ("missing", "HTTP 404"),
    ],
)
async def test_documents_that_cannot_be_used(base: str, path: str, words: str) -> None:
    with pytest.raises(OAuthError) as refused:
        await fetch_document(f"{base}/{path}.json", DocumentPolicy.PRIVATE)
    assert refused.value.error == "invalid_client" and words in refused.value.description


async def test_a_document_may_not_hold_a_secret(base: str) -> None:
    fetched = await fetch_document(f"{base}/with-secret.json", DocumentPolicy.PRIVATE)
    with pytest.raises(OAuthError) as refused:
        clients.ClientMetadata.parse(fetched.metadata, document=True)
    assert refused.value.error == "invalid_client"


async def test_a_server_that_does_not_answer_is_given_up_on(base: str) -> None:
    with pytest.raises(OAuthError) as refused:
        await fetch_document(f"{base}/slow.json", DocumentPolicy.PRIVATE, timeout=0.3)
    assert "did not arrive within 0.3 s" in refused.value.description


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.0.0.8", "169.254.169.254"])
async def test_the_public_policy_refuses_private_addresses_before_connecting(base: str, host: str) -> None:
    seen.clear()
    port = base.rsplit(":", 1)[1]
    with pytest.raises(OAuthError) as refused:
        await fetch_document(f"https://{host}:{port}/good.json", DocumentPolicy.PUBLIC)
    assert "private or loopback address" in refused.value.description
    assert seen == []


@pytest.mark.parametrize(
    "url, policy",
    [
        ("http://app.example/client.json", DocumentPolicy.PUBLIC),
        ("https://app.example/", DocumentPolicy.PUBLIC),
        ("https://app.example/a/../client.json", DocumentPolicy.PUBLIC),
        ("https://user:pw@app.example/client.json", DocumentPolicy.PUBLIC),
        ("https://app.example/client.json#x", DocumentPolicy.PUBLIC),
        ("https://app.example/client.json", DocumentPolicy.OFF),
        ("ftp://app.example/client.json", DocumentPolicy.PRIVATE),
    ],
)
def test_client_id_urls_that_are_never_fetched(url: str, policy: DocumentPolicy) -> None:
    assert document_url_problem(url, policy) is not None


def test_cache_headers_bound_how_long_a_document_is_kept() -> None:
    assert cache_seconds("public, max-age=600") == 600
    assert cache_seconds("no-store") == MIN_CACHE_SECONDS
    assert cache_seconds("max-age=0") == MIN_CACHE_SECONDS
    assert cache_seconds("max-age=99999999") == MAX_CACHE_SECONDS
    assert cache_seconds("") == 3600


async def test_find_client_fetches_a_new_document_once_and_again_when_stale(store: Store, base: str) -> None:
    seen.clear()
    now = time.time()
    url = f"{base}/good.json"
    first = await clients.find_client(store.oauth, url, DocumentPolicy.PRIVATE, now)
    again = await clients.find_client(store.oauth, url, DocumentPolicy.PRIVATE, now + 60)
    assert first == again and seen == ["/good.json"] and first.first_seen_at == now
    later = await clients.find_client(store.oauth, url, DocumentPolicy.PRIVATE, now + 121)
    assert seen == ["/good.json", "/good.json"] and later.first_seen_at == now
    assert later.document_stale_at == now + 121 + 120
    with pytest.raises(OAuthError):  # stale, and the policy no longer allows fetching it: no fallback to the old one
        await clients.find_client(store.oauth, url, DocumentPolicy.PUBLIC, now + 250)


@pytest.mark.integration
async def test_a_stale_document_that_changed_is_taken_as_changed(store: Store, base: str) -> None:
    seen.clear()
    url = f"{base}/renamed.json"
    now = time.time()
    first = await clients.find_client(store.oauth, url, DocumentPolicy.PRIVATE, now)
    seen.append("one more")
    second = await clients.find_client(store.oauth, url, DocumentPolicy.PRIVATE, now + MIN_CACHE_SECONDS + 1)
    assert first.name == "Doc client 0" and second.name == "Doc client 1" and second.first_seen_at == now
