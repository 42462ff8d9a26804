"""managed/oauth on a real store (both backends): registration, consent, codes with PKCE, tokens bound to one
server, rotation with reuse detection, revocation, expiry, and the connected clients of a server."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from stripe_mcp.managed.oauth import DocumentPolicy, clients, connections, grants
from stripe_mcp.managed.oauth.errors import OAuthError
from stripe_mcp.managed.secrets import token_hash
from stripe_mcp.managed.store.base import AccountRecord, ServerRecord, Store

BASE = "https://mcp.example.com"
ISSUER = BASE
REDIRECT = "http://127.0.0.1:33418/callback"


def url_of(server_id: str) -> str:
    return f"{BASE}/mcp/{server_id}"


async def add_servers(store: Store, *server_ids: str, expires_at: float | None = None) -> None:
    if await store.get_account("acct_1") is None:
        await store.add_account(AccountRecord("acct_1", "shop", b"ciphertext", "sk_test_...4242", 1000.0))
    for server_id in server_ids:
        config = {"auth": "oauth", "methods": ["read"], "tags": [], "tool_exposure": "all"}
        await store.add_server(
            ServerRecord(server_id, "acct_1", server_id, token_hash(server_id), config, expires_at, 2000.0)
        )


async def registered(store: Store, **metadata: object) -> clients.Registered:
    data = {
        "client_name": "Test client",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
    }
    return await clients.register(store.oauth, clients.ClientMetadata.parse({**data, **metadata}), time.time())


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, grants.s256(verifier)


async def consented(store: Store, client_id: str, server_id: str = "srv_1", allow: bool = True) -> tuple[str, str]:
    """A code (or the error redirect) for `client_id` on `server_id`, and its PKCE verifier."""
    verifier, challenge = pkce()
    request = grants.AuthorizationRequest(
        client_id, REDIRECT, "state-1", challenge, server_id, url_of(server_id), "mcp"
    )
    request_id = await grants.start_request(store.oauth, request, time.time())
    target = await grants.decide(store.oauth, request_id, allow, ISSUER, time.time())
    assert target is not None
    return target, verifier


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def tokens_for(store: Store, server_id: str = "srv_1") -> tuple[clients.Registered, grants.Tokens]:
    client = await registered(store, token_endpoint_auth_method="none")
    target, verifier = await consented(store, client.record.client_id, server_id)
    code = query(target)["code"]
    issued = await grants.exchange_code(
        store.oauth, client.record, code, REDIRECT, verifier, url_of(server_id), time.time()
    )
    return client, issued


async def test_registration_defaults_to_a_client_secret_and_keeps_only_its_hash(store: Store) -> None:
    client = await registered(store)
    assert client.record.auth_method == "client_secret_basic" and client.secret is not None
    assert client.record.secret_hash == token_hash(client.secret)
    response = clients.registration_response(client)
    assert response["client_secret"] == client.secret and response["client_secret_expires_at"] == 0
    assert await clients.authenticate(store.oauth, client.record.client_id, client.secret) == client.record
    with pytest.raises(OAuthError) as refused:
        await clients.authenticate(store.oauth, client.record.client_id, "smcp_secret_wrong")
    assert refused.value.error == "invalid_client" and refused.value.status == 401


@pytest.mark.parametrize(
    "metadata, error",
    [
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example/cb#x"]}, "invalid_redirect_uri"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
    ],
)
async def test_bad_registrations_are_refused(store: Store, metadata: dict[str, object], error: str) -> None:
    with pytest.raises(OAuthError) as refused:
        await registered(store, **metadata)
    assert refused.value.error == error and refused.value.description


async def test_the_name_shown_for_consent_is_printable() -> None:
    parsed = clients.ClientMetadata.parse({"client_name": "Evil\u202e\n  app\x00", "redirect_uris": [REDIRECT]})
    assert parsed.name == "Evil app"
    unnamed = clients.ClientMetadata.parse({"redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"]})
    assert unnamed.name == "chatgpt.com"


async def test_the_whole_grant(store: Store) -> None:
    await add_servers(store, "srv_1", "srv_2")
    client, issued = await tokens_for(store)
    body = issued.response()
    assert (
        body["token_type"] == "Bearer" and body["expires_in"] == grants.ACCESS_TOKEN_SECONDS and body["scope"] == "mcp"
    )
    assert issued.refresh_token is not None
    now = time.time()
    assert await grants.verify_access(store.oauth, issued.access_token, "srv_1", url_of("srv_1"), now)
    # Bound to one server's URL: refused on every other, and for another URL of the same server.
    assert not await grants.verify_access(store.oauth, issued.access_token, "srv_2", url_of("srv_2"), now)
    assert not await grants.verify_access(
        store.oauth, issued.access_token, "srv_1", "https://other.example/mcp/srv_1", now
    )
    assert not await grants.verify_access(store.oauth, issued.access_token, "srv_1", url_of("srv_1"), now + 3601)
    assert not await grants.verify_access(store.oauth, issued.refresh_token, "srv_1", url_of("srv_1"), now)
    # Only hashes are stored.
    assert await store.oauth.token(issued.access_token) is None
    assert await store.oauth.token(token_hash(issued.access_token)) is not None

    rotated = await grants.refresh(store, client.record, issued.refresh_token, url_of("srv_1"), time.time())
    assert rotated.refresh_token not in (None, issued.refresh_token)
    assert await grants.verify_access(store.oauth, rotated.access_token, "srv_1", url_of("srv_1"), time.time())
    [connection] = await connections.connections(store.oauth, "srv_1", time.time())
    assert connection.client_id == client.record.client_id and connection.name == "Test client"
    assert connection.last_used_at is not None and connection.first_seen_at == client.record.first_seen_at


async def test_a_reused_refresh_token_revokes_the_grant(store: Store) -> None:
    await add_servers(store, "srv_1")
    client, issued = await tokens_for(store)
    assert issued.refresh_token is not None
    rotated = await grants.refresh(store, client.record, issued.refresh_token, None, time.time())
    with pytest.raises(OAuthError) as reused:
        await grants.refresh(store, client.record, issued.refresh_token, None, time.time())
    assert reused.value.error == "invalid_grant" and "already used" in reused.value.description
    assert not await grants.verify_access(store.oauth, rotated.access_token, "srv_1", url_of("srv_1"), time.time())
    assert rotated.refresh_token is not None
    with pytest.raises(OAuthError):
        await grants.refresh(store, client.record, rotated.refresh_token, None, time.time())
    assert await connections.connections(store.oauth, "srv_1", time.time()) == []


async def test_a_code_is_single_use_and_bound_to_its_verifier_client_and_resource(store: Store) -> None:
    await add_servers(store, "srv_1", "srv_2")
    client = await registered(store, token_endpoint_auth_method="none")
    other = await registered(store, token_endpoint_auth_method="none")
    target, verifier = await consented(store, client.record.client_id)
    code = query(target)["code"]

    async def exchange(who: clients.Registered, code_verifier: str, resource: str | None) -> grants.Tokens:
        return await grants.exchange_code(store.oauth, who.record, code, REDIRECT, code_verifier, resource, time.time())

    for who, code_verifier, resource, error in [
        (client, pkce()[0], None, "invalid_grant"),  # another verifier
        (client, "short", None, "invalid_grant"),
        (other, verifier, None, "invalid_grant"),  # another client
        (client, verifier, url_of("srv_2"), "invalid_target"),  # another server's URL
    ]:
        with pytest.raises(OAuthError) as refused:
            await exchange(who, code_verifier, resource)
        assert refused.value.error == error
    issued = await exchange(client, verifier, url_of("srv_1"))
    with pytest.raises(OAuthError) as replayed:
        await exchange(client, verifier, None)
    assert replayed.value.error == "invalid_grant"
    # A code presented twice means someone else has it: what it bought is revoked too.
    assert not await grants.verify_access(store.oauth, issued.access_token, "srv_1", url_of("srv_1"), time.time())


async def test_a_denial_redirects_with_access_denied_state_and_issuer(store: Store) -> None:
    await add_servers(store, "srv_1")
    client = await registered(store)
    target, _ = await consented(store, client.record.client_id, allow=False)
    assert target.startswith(REDIRECT + "?")
    assert query(target) == {"error": "access_denied", "state": "state-1", "iss": ISSUER}
    assert await connections.connections(store.oauth, "srv_1", time.time()) == []


async def test_a_consent_request_is_answered_once(store: Store) -> None:
    await add_servers(store, "srv_1")
    client = await registered(store)
    _, challenge = pkce()
    request = grants.AuthorizationRequest(
        client.record.client_id, REDIRECT, None, challenge, "srv_1", url_of("srv_1"), "mcp"
    )
    request_id = await grants.start_request(store.oauth, request, time.time())
    assert await grants.pending_request(store.oauth, request_id, time.time()) == request
    assert await grants.pending_request(store.oauth, request_id, time.time() + grants.REQUEST_SECONDS + 1) is None
    first = await grants.decide(store.oauth, request_id, True, ISSUER, time.time())
    assert first is not None and "state" not in query(first)
    assert await grants.decide(store.oauth, request_id, True, ISSUER, time.time()) is None
    assert await grants.pending_request(store.oauth, request_id, time.time()) is None
    assert await grants.pending_request(store.oauth, "smcp_req_unknown", time.time()) is None


async def test_revocation_ends_the_grant_for_its_own_client_only(store: Store) -> None:
    await add_servers(store, "srv_1")
    client, issued = await tokens_for(store)
    other = await registered(store)
    await grants.revoke(store.oauth, other.record, issued.access_token)
    assert await grants.verify_access(store.oauth, issued.access_token, "srv_1", url_of("srv_1"), time.time())
    await grants.revoke(store.oauth, client.record, issued.access_token)
    assert not await grants.verify_access(store.oauth, issued.access_token, "srv_1", url_of("srv_1"), time.time())
    assert issued.refresh_token is not None
    with pytest.raises(OAuthError):
        await grants.refresh(store, client.record, issued.refresh_token, None, time.time())


async def test_revoking_the_server_revokes_its_tokens(store: Store) -> None:
    await add_servers(store, "srv_1")
    client, issued = await tokens_for(store)
    assert await store.delete_server("acct_1", "srv_1")
    assert not await grants.verify_access(store.oauth, issued.access_token, "srv_1", url_of("srv_1"), time.time())
    assert issued.refresh_token is not None
    with pytest.raises(OAuthError) as refused:
        await grants.refresh(store, client.record, issued.refresh_token, None, time.time())
    assert refused.value.error == "invalid_grant"


async def test_an_expired_server_refreshes_nothing(store: Store) -> None:
    await add_servers(store, "srv_soon", expires_at=time.time() + 600)
    client, issued = await tokens_for(store, "srv_soon")
    assert await grants.oauth_server(store, "srv_soon", time.time()) is not None
    assert await grants.oauth_server(store, "srv_soon", time.time() + 601) is None
    assert issued.refresh_token is not None
    with pytest.raises(OAuthError):
        await grants.refresh(store, client.record, issued.refresh_token, None, time.time() + 601)


async def test_a_client_without_the_refresh_grant_gets_no_refresh_token(store: Store) -> None:
    await add_servers(store, "srv_1")
    client = await registered(store, token_endpoint_auth_method="none", grant_types=["authorization_code"])
    target, verifier = await consented(store, client.record.client_id)
    issued = await grants.exchange_code(
        store.oauth, client.record, query(target)["code"], None, verifier, None, time.time()
    )
    assert issued.refresh_token is None and "refresh_token" not in issued.response()


async def test_disconnecting_one_client_leaves_the_others(store: Store) -> None:
    await add_servers(store, "srv_1")
    first, first_tokens = await tokens_for(store)
    second, second_tokens = await tokens_for(store)
    listed = await connections.connections(store.oauth, "srv_1", time.time())
    assert {c.client_id for c in listed} == {first.record.client_id, second.record.client_id}
    assert await connections.disconnect(store.oauth, "srv_1", first.record.client_id) == 1
    assert not await grants.verify_access(store.oauth, first_tokens.access_token, "srv_1", url_of("srv_1"), time.time())
    assert await grants.verify_access(store.oauth, second_tokens.access_token, "srv_1", url_of("srv_1"), time.time())
    assert await connections.disconnect(store.oauth, "srv_1") == 1
    assert await connections.connections(store.oauth, "srv_1", time.time()) == []


async def test_unknown_clients_are_refused_and_documents_can_be_turned_off(store: Store) -> None:
    for client_id in ("", "smcp_client_unknown", "x" * 3000):
        with pytest.raises(OAuthError) as refused:
            await clients.find_client(store.oauth, client_id, DocumentPolicy.PUBLIC, time.time())
        assert refused.value.error == "invalid_client"
    with pytest.raises(OAuthError) as off:
        await clients.find_client(store.oauth, "https://app.example/client.json", DocumentPolicy.OFF, time.time())
    assert "does not accept" in off.value.description
