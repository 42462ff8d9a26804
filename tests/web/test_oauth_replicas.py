"""OAuth across two `stripe-mcp serve` replicas on one redis-server, behind one public URL: every step of a grant
may land on either replica, and a revoke or a reuse seen by one holds on the other."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.oauth import Person, pkce, query_of
from tests.support.redis_server import RunningRedis
from tests.support.runtime_process import RunningServer, managed_env, serve

pytestmark = pytest.mark.integration  # two `stripe-mcp serve` replicas on redis-server

ADMIN_TOKEN = "admin-token-oauth-replicas-61b0"
PUBLIC_URL = "https://mcp.replicas.test"  # the load balancer's; each replica is reached on its own port here
REPLICA_DB = 3
REDIRECT = "http://127.0.0.1:45124/callback"
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}},
}


@pytest.fixture(scope="module")
def replicas(
    redis_service: RunningRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, RunningServer]]:
    redis_service.flush(REPLICA_DB)
    env = managed_env(ADMIN_TOKEN)
    args = (
        "--store",
        redis_service.url(REPLICA_DB),
        "--stripe-base-url",
        "http://127.0.0.1:9",
        "--public-url",
        PUBLIC_URL,
    )
    with (
        serve(tmp_path_factory.mktemp("oauth-a"), *args, env=env) as a,
        serve(tmp_path_factory.mktemp("oauth-b"), *args, env=env) as b,
    ):
        yield a, b
    redis_service.flush(REPLICA_DB)


@pytest.fixture(scope="module")
def server(replicas: tuple[RunningServer, RunningServer]) -> dict[str, Any]:
    a, _ = replicas
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    account = httpx.post(
        f"{a.base_url}/integrated-account", headers=auth, json={"name": "shop", "stripe_api_key": "sk_test_replicas_77"}
    ).json()
    made = httpx.post(
        f"{a.base_url}/integrated-account/{account['id']}/mcp",
        headers=auth,
        json={"name": "replicated oauth", "config": {"methods": ["read"], "auth": "oauth"}},
    )
    assert made.status_code == 201, made.text
    return {**made.json(), "account_id": account["id"]}


@pytest.fixture
async def person(replicas: tuple[RunningServer, RunningServer]) -> AsyncIterator[Person]:
    someone = Person(replicas[0].base_url, ADMIN_TOKEN)  # signed in on A; the session cookie holds on B as well
    await someone.sign_in()
    yield someone
    await someone.aclose()


def mcp_on(replica: RunningServer, server: dict[str, Any], token: str | None) -> int:
    headers = {**MCP_HEADERS, **({"authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(
        f"{replica.base_url}/mcp/{server['id']}", json=INITIALIZE, headers=headers, timeout=10
    ).status_code


def token_on(replica: RunningServer, **form: str) -> httpx.Response:
    return httpx.post(f"{replica.base_url}/oauth/token", data=form, timeout=10)


async def grant_across(a: RunningServer, b: RunningServer, person: Person, server: dict[str, Any]) -> dict[str, str]:
    """Register on A, authorize on B, consent on A, exchange the code on B: the tokens, and the client id."""
    registered = httpx.post(
        f"{a.base_url}/oauth/register",
        json={"client_name": "replicated client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
        | {"grant_types": ["authorization_code", "refresh_token"]},
    ).json()
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": registered["client_id"],
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": server["url"],
        "state": "s",
    }
    url = f"{b.base_url}/oauth/authorize?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    answer = query_of(await person.approve(url))
    assert answer["iss"] == PUBLIC_URL
    tokens = token_on(
        b,
        grant_type="authorization_code",
        code=answer["code"],
        code_verifier=verifier,
        redirect_uri=REDIRECT,
        client_id=registered["client_id"],
    )
    assert tokens.status_code == 200, tokens.text
    return {**tokens.json(), "client_id": registered["client_id"]}


async def test_the_public_url_is_the_resource_on_every_replica(
    replicas: tuple[RunningServer, RunningServer], server: dict[str, Any]
) -> None:
    assert server["url"] == f"{PUBLIC_URL}/mcp/{server['id']}"
    for replica in replicas:
        metadata = httpx.get(f"{replica.base_url}/.well-known/oauth-protected-resource/mcp/{server['id']}").json()
        assert metadata["resource"] == server["url"] and metadata["authorization_servers"] == [PUBLIC_URL]
        assert mcp_on(replica, server, None) == 401


async def test_a_grant_made_across_replicas_rotates_and_revokes_on_both(
    replicas: tuple[RunningServer, RunningServer], server: dict[str, Any], person: Person
) -> None:
    a, b = replicas
    tokens = await grant_across(a, b, person, server)
    assert mcp_on(a, server, tokens["access_token"]) == 200 and mcp_on(b, server, tokens["access_token"]) == 200
    rotated = token_on(
        a, grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=tokens["client_id"]
    )
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()
    assert mcp_on(b, server, fresh["access_token"]) == 200
    reused = token_on(
        b, grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=tokens["client_id"]
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert mcp_on(a, server, fresh["access_token"]) == 401 and mcp_on(b, server, fresh["access_token"]) == 401


async def test_disconnecting_on_one_replica_holds_on_the_other_at_once(
    replicas: tuple[RunningServer, RunningServer], server: dict[str, Any], person: Person
) -> None:
    a, b = replicas
    tokens = await grant_across(a, b, person, server)
    assert mcp_on(b, server, tokens["access_token"]) == 200
    removed = httpx.delete(
        f"{b.base_url}/integrated-account/{server['account_id']}/mcp/{server['id']}/oauth-clients",
        params={"client_id": tokens["client_id"]},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert removed.status_code == 204
    assert mcp_on(a, server, tokens["access_token"]) == 401 and mcp_on(b, server, tokens["access_token"]) == 401
