"""Consent, codes and tokens: from an authorization request to a revoked connection.

A consent request waits (hashed) for the person's answer in the console; an allow makes a grant (one client
connected to one server) and a single-use code bound to the PKCE challenge. The code buys a short-lived
access token bound to the server's URL, and a refresh token that rotates: each use returns a new one, and a
second use of the same one revokes the grant with every token it issued (RFC 9700 section 4.14.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from stripe_mcp.managed import service
from stripe_mcp.managed.oauth.clients import keep_client
from stripe_mcp.managed.oauth.errors import OAuthError
from stripe_mcp.managed.oauth.urls import canonical_url, with_query
from stripe_mcp.managed.secrets import new_token, token_hash
from stripe_mcp.managed.store.base import (
    OAuthClientRecord,
    OAuthGrantRecord,
    OAuthStore,
    OAuthTokenRecord,
    ServerRecord,
    Store,
)

log = logging.getLogger("stripe_mcp.oauth")

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 30 * 24 * 3600  # from the last refresh: a connection unused for 30 days ends
CODE_SECONDS = 300
REQUEST_SECONDS = 15 * 60  # time to sign in to the console and answer
ACCESS_PREFIX, REFRESH_PREFIX, CODE_PREFIX, REQUEST_PREFIX = "smcp_at", "smcp_rt", "smcp_code", "smcp_req"
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 section 4.1
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256, unpadded


async def oauth_server(store: Store, server_id: str, now: float) -> ServerRecord | None:
    """The OAuth server `server_id`, unless unknown, revoked or expired (its URL's path token is its id)."""
    record = await store.server_by_token_hash(token_hash(server_id))
    if record is None or record.id != server_id or not service.uses_oauth(record.config):
        return None
    return record if record.expires_at is None or record.expires_at > now else None


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str
    server_id: str
    resource: str  # canonical
    scope: str


def _typed(prefix: str, token: str) -> str | None:
    """The hash to look `token` up by, when it carries the prefix of its kind."""
    return token_hash(token) if token.startswith(prefix + "_") and len(token) < 200 else None


async def start_request(store: OAuthStore, request: AuthorizationRequest, now: float) -> str:
    """Keep the request until the person answers; its id goes in the consent page's URL."""
    request_id = new_token(REQUEST_PREFIX)
    await store.add_token(
        OAuthTokenRecord(
            token_hash(request_id),
            "request",
            request.server_id,
            request.client_id,
            None,
            now + REQUEST_SECONDS,
            asdict(request),
        )
    )
    return request_id


async def pending_request(store: OAuthStore, request_id: str, now: float) -> AuthorizationRequest | None:
    """The request waiting for an answer, else None (unknown, answered or expired)."""
    hashed = _typed(REQUEST_PREFIX, request_id)
    record = await store.token(hashed) if hashed else None
    if record is None or record.kind != "request" or record.used_at is not None or record.expires_at <= now:
        return None
    return AuthorizationRequest(**record.data)


async def decide(store: OAuthStore, request_id: str, allow: bool, issuer: str, now: float) -> str | None:
    """Answer the request once: where the browser goes (the client's redirect URI), or None when it cannot be."""
    request = await pending_request(store, request_id, now)
    if request is None or not await store.use_token(token_hash(request_id), now):
        return None
    answer: dict[str, str | None] = {"state": request.state, "iss": issuer}
    if not allow:
        log.info("oauth: consent denied", extra={"oauth_client_id": request.client_id, "server_id": request.server_id})
        return with_query(request.redirect_uri, {"error": "access_denied", **answer})
    grant = OAuthGrantRecord(
        id=f"grant_{uuid.uuid4().hex}",
        server_id=request.server_id,
        client_id=request.client_id,
        resource=request.resource,
        scope=request.scope,
        created_at=now,
        expires_at=now + CODE_SECONDS,  # a grant whose code is never exchanged goes with the code
    )
    await store.add_grant(grant)
    code = new_token(CODE_PREFIX)
    data = {"redirect_uri": request.redirect_uri, "code_challenge": request.code_challenge}
    await store.add_token(
        OAuthTokenRecord(token_hash(code), "code", grant.server_id, grant.client_id, grant.id, now + CODE_SECONDS, data)
    )
    log.info("oauth: consent given", extra={"oauth_client_id": grant.client_id, "server_id": grant.server_id})
    return with_query(request.redirect_uri, {"code": code, **answer})


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    scope: str

    def response(self) -> dict[str, Any]:
        """The token response (RFC 6749 section 5.1)."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": self.scope,
        }
        return body | ({"refresh_token": self.refresh_token} if self.refresh_token else {})


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


async def exchange_code(
    store: OAuthStore,
    client: OAuthClientRecord,
    code: str,
    redirect_uri: str | None,
    verifier: str,
    resource: str | None,
    now: float,
) -> Tokens:
    """Tokens for an authorization code, once (RFC 6749 section 4.1.3, RFC 7636 section 4.6)."""
    hashed = _typed(CODE_PREFIX, code)
    record = await store.token(hashed) if hashed else None
    if record is None or record.kind != "code" or record.expires_at <= now or record.grant_id is None:
        raise OAuthError("invalid_grant", "the authorization code is unknown or expired")
    if record.client_id != client.client_id:
        raise OAuthError("invalid_grant", "the authorization code was issued to another client")
    if record.used_at is not None:
        await _revoke_reused(store, record, "authorization code")
    if redirect_uri is not None and redirect_uri != record.data["redirect_uri"]:
        raise OAuthError("invalid_grant", "redirect_uri is not the one of the authorization request")
    if not VERIFIER.fullmatch(verifier) or not hmac.compare_digest(s256(verifier), record.data["code_challenge"]):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge (PKCE, S256)")
    grant = await store.grant(record.grant_id)
    if grant is None:
        raise OAuthError("invalid_grant", "the authorization code is unknown or expired")
    _check_resource(grant, resource)
    if not await store.use_token(record.token_hash, now):
        await _revoke_reused(store, record, "authorization code")
    return await _issue(store, client, grant, now)


async def refresh(
    store: Store, client: OAuthClientRecord, refresh_token: str, resource: str | None, now: float
) -> Tokens:
    """New tokens for a refresh token, which is spent: using it again revokes the grant."""
    hashed = _typed(REFRESH_PREFIX, refresh_token)
    record = await store.oauth.token(hashed) if hashed else None
    if record is None or record.kind != "refresh" or record.expires_at <= now or record.grant_id is None:
        raise OAuthError("invalid_grant", "the refresh token is unknown, expired or revoked")
    if record.client_id != client.client_id:
        raise OAuthError("invalid_grant", "the refresh token was issued to another client")
    if record.used_at is not None or not await store.oauth.use_token(record.token_hash, now):
        await _revoke_reused(store.oauth, record, "refresh token")
    grant = await store.oauth.grant(record.grant_id)
    if grant is None or await oauth_server(store, grant.server_id, now) is None:
        raise OAuthError("invalid_grant", "the refresh token is unknown, expired or revoked")
    _check_resource(grant, resource)
    return await _issue(store.oauth, client, grant, now)


def _check_resource(grant: OAuthGrantRecord, resource: str | None) -> None:
    if resource is not None and canonical_url(resource) != grant.resource:
        raise OAuthError("invalid_target", "resource is not the MCP server this grant is for")


async def _revoke_reused(store: OAuthStore, record: OAuthTokenRecord, what: str) -> None:
    """A spent code or refresh token came back: someone holds a copy, so nothing issued under it stays valid."""
    if record.grant_id is not None:
        await store.delete_grant(record.grant_id)
    log.warning(
        f"oauth: a used {what} was presented again; its grant is revoked", extra={"server_id": record.server_id}
    )
    raise OAuthError("invalid_grant", f"this {what} was already used: the connection is revoked; connect again")


async def _issue(store: OAuthStore, client: OAuthClientRecord, grant: OAuthGrantRecord, now: float) -> Tokens:
    access = new_token(ACCESS_PREFIX)
    access_record = OAuthTokenRecord(
        token_hash(access),
        "access",
        grant.server_id,
        grant.client_id,
        grant.id,
        now + ACCESS_TOKEN_SECONDS,
        {"resource": grant.resource},
    )
    await store.add_token(access_record)
    refresh_token = None
    if "refresh_token" in client.grant_types:
        refresh_token = new_token(REFRESH_PREFIX)
        await store.add_token(
            OAuthTokenRecord(
                token_hash(refresh_token),
                "refresh",
                grant.server_id,
                grant.client_id,
                grant.id,
                now + REFRESH_TOKEN_SECONDS,
                {},
            )
        )
    await store.renew_grant(grant.id, now + (REFRESH_TOKEN_SECONDS if refresh_token else ACCESS_TOKEN_SECONDS))
    await keep_client(store, client, now)
    return Tokens(access, refresh_token, grant.scope)


async def verify_access(store: OAuthStore, token: str, server_id: str, resource: str, now: float) -> bool:
    """Whether `token` is a live access token issued for this server's URL; counts as the grant's last use."""
    hashed = _typed(ACCESS_PREFIX, token)
    record = await store.token(hashed) if hashed else None
    if record is None or record.kind != "access" or record.expires_at <= now or record.grant_id is None:
        return False
    if record.server_id != server_id or record.data.get("resource") != canonical_url(resource):
        return False
    await store.grant_used(record.grant_id, now)
    return True


async def revoke(store: OAuthStore, client: OAuthClientRecord, token: str) -> None:
    """RFC 7009: revoking an access or refresh token ends its grant; anything else is quietly ignored."""
    hashed = _typed(ACCESS_PREFIX, token) or _typed(REFRESH_PREFIX, token)
    record = await store.token(hashed) if hashed else None
    if record is not None and record.client_id == client.client_id and record.grant_id is not None:
        await store.delete_grant(record.grant_id)
        log.info("oauth: grant revoked by its client", extra={"oauth_client_id": client.client_id})
