"""OAuth clients: registered here (RFC 7591), or known by their Client ID Metadata Document; and how a client
proves at the token endpoint that it is itself."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from stripe_mcp.managed.oauth import DocumentPolicy
from stripe_mcp.managed.oauth.documents import ClientDocument, fetch_document, is_document_url
from stripe_mcp.managed.oauth.errors import OAuthError
from stripe_mcp.managed.oauth.urls import redirect_uri_problem
from stripe_mcp.managed.secrets import new_token, same_hash, token_hash
from stripe_mcp.managed.store.base import OAuthClientRecord, OAuthStore

log = logging.getLogger("stripe_mcp.oauth")

CLIENT_ID_PREFIX = "smcp_client"
CLIENT_SECRET_PREFIX = "smcp_secret"
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
SECRET_METHODS = ("client_secret_post", "client_secret_basic")
GRANT_TYPES = ("authorization_code", "refresh_token")
CLIENT_SECONDS = 31 * 24 * 3600  # a client that gets no token for this long is forgotten (outlives its grants)
MAX_REDIRECT_URIS = 10
MAX_NAME_CHARS = 200
MAX_ID_CHARS = 2000

Fetch = Callable[[str, DocumentPolicy], Awaitable[ClientDocument]]


@dataclass(frozen=True)
class ClientMetadata:
    """What a client says about itself (RFC 7591 section 2), checked."""

    name: str
    redirect_uris: tuple[str, ...]
    auth_method: str
    grant_types: tuple[str, ...]
    client_uri: str | None

    @classmethod
    def parse(cls, data: dict[str, Any], *, document: bool = False) -> ClientMetadata:
        """The metadata of a registration request or, with `document`, of a Client ID Metadata Document."""
        invalid = "invalid_client" if document else "invalid_client_metadata"
        uris = data.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
            raise OAuthError(invalid if document else "invalid_redirect_uri", "redirect_uris: give 1 or more URIs")
        if len(uris) > MAX_REDIRECT_URIS:
            raise OAuthError(invalid, f"redirect_uris: at most {MAX_REDIRECT_URIS}")
        for uri in uris:
            if (problem := redirect_uri_problem(uri)) is not None:
                raise OAuthError(invalid if document else "invalid_redirect_uri", f"redirect_uris: {problem}")
        # RFC 7591's default is client_secret_basic; a document cannot hold a secret, so its default is none.
        method = data.get("token_endpoint_auth_method") or ("none" if document else "client_secret_basic")
        allowed = ("none",) if document else AUTH_METHODS
        if method not in allowed:
            raise OAuthError(invalid, f"token_endpoint_auth_method: use one of {', '.join(allowed)}")
        if document and ("client_secret" in data or "client_secret_expires_at" in data):
            raise OAuthError(invalid, "a client's metadata document holds no client_secret")
        grant_types = data.get("grant_types") or ["authorization_code"]
        if not isinstance(grant_types, list) or not set(grant_types) <= set(GRANT_TYPES):
            raise OAuthError(invalid, f"grant_types: use {' and '.join(GRANT_TYPES)}")
        if "authorization_code" not in grant_types:
            raise OAuthError(invalid, "grant_types: this server issues tokens for authorization_code only")
        response_types = data.get("response_types") or ["code"]
        if not isinstance(response_types, list) or set(response_types) != {"code"}:
            raise OAuthError(invalid, 'response_types: only "code"')
        return cls(
            name=_name(data.get("client_name"), uris[0]),
            redirect_uris=tuple(dict.fromkeys(uris)),
            auth_method=method,
            grant_types=tuple(g for g in GRANT_TYPES if g in grant_types),
            client_uri=_client_uri(data.get("client_uri")),
        )


def _name(value: object, redirect_uri: str) -> str:
    """A printable name (it is shown to the person asked for consent); the redirect host without one."""
    name = " ".join(value.split()) if isinstance(value, str) else ""
    name = "".join(c for c in name if c.isprintable())[:MAX_NAME_CHARS]
    return name or (urlsplit(redirect_uri).hostname or "unnamed client")


def _client_uri(value: object) -> str | None:
    if isinstance(value, str) and value.startswith("https://") and len(value) <= MAX_ID_CHARS and value.isprintable():
        return value
    return None


@dataclass(frozen=True)
class Registered:
    record: OAuthClientRecord
    secret: str | None  # shown this once, to the client that registered


async def register(store: OAuthStore, metadata: ClientMetadata, now: float) -> Registered:
    secret = new_token(CLIENT_SECRET_PREFIX) if metadata.auth_method in SECRET_METHODS else None
    record = OAuthClientRecord(
        client_id=f"{CLIENT_ID_PREFIX}_{uuid.uuid4().hex}",
        name=metadata.name,
        redirect_uris=metadata.redirect_uris,
        auth_method=metadata.auth_method,
        secret_hash=token_hash(secret) if secret else None,
        grant_types=metadata.grant_types,
        client_uri=metadata.client_uri,
        first_seen_at=now,
        expires_at=now + CLIENT_SECONDS,
    )
    await store.put_client(record)
    log.info("oauth: client registered", extra={"oauth_client_id": record.client_id})
    return Registered(record, secret)


def registration_response(registered: Registered) -> dict[str, Any]:
    """The client information response (RFC 7591 section 3.2.1)."""
    record = registered.record
    body: dict[str, Any] = {
        "client_id": record.client_id,
        "client_id_issued_at": int(record.first_seen_at),
        "client_name": record.name,
        "redirect_uris": list(record.redirect_uris),
        "grant_types": list(record.grant_types),
        "response_types": ["code"],
        "token_endpoint_auth_method": record.auth_method,
    }
    if record.client_uri:
        body["client_uri"] = record.client_uri
    if registered.secret is not None:
        body |= {"client_secret": registered.secret, "client_secret_expires_at": 0}
    return body


async def find_client(
    store: OAuthStore, client_id: str, policy: DocumentPolicy, now: float, fetch: Fetch = fetch_document
) -> OAuthClientRecord:
    """The client `client_id` names at the authorization endpoint; a document is fetched when new or stale."""
    if not client_id or len(client_id) > MAX_ID_CHARS:
        raise OAuthError("invalid_client", "no such client: register it first")
    if is_document_url(client_id) and policy is DocumentPolicy.OFF:
        raise OAuthError("invalid_client", "this server does not accept Client ID Metadata Documents; register instead")
    record = await store.client(client_id)
    if not is_document_url(client_id):
        if record is None:
            raise OAuthError("invalid_client", "no such client: it may have been forgotten; register it again")
        return record
    if record is not None and record.document_stale_at is not None and record.document_stale_at > now:
        return record
    document = await fetch(client_id, policy)  # when this fails, so does the authorization: the document rules
    metadata = ClientMetadata.parse(document.metadata, document=True)
    fetched = OAuthClientRecord(
        client_id=client_id,
        name=metadata.name,
        redirect_uris=metadata.redirect_uris,
        auth_method=metadata.auth_method,
        secret_hash=None,
        grant_types=metadata.grant_types,
        client_uri=metadata.client_uri,
        first_seen_at=record.first_seen_at if record else now,
        expires_at=max(record.expires_at if record else 0.0, now + CLIENT_SECONDS),
        document_stale_at=now + document.max_age,
    )
    await store.put_client(fetched)
    return fetched


async def keep_client(store: OAuthStore, record: OAuthClientRecord, now: float) -> None:
    """A token was issued to the client: it is remembered for CLIENT_SECONDS more."""
    if record.expires_at < now + CLIENT_SECONDS - 24 * 3600:  # at most one write a day
        await store.put_client(replace(record, expires_at=now + CLIENT_SECONDS))


async def authenticate(store: OAuthStore, client_id: str, secret: str | None) -> OAuthClientRecord:
    """The client at the token or revocation endpoint: known, and with its secret when it has one."""
    record = await store.client(client_id) if client_id and len(client_id) <= MAX_ID_CHARS else None
    if record is None:
        raise OAuthError("invalid_client", "unknown client", 401)
    if record.secret_hash is None:
        if secret:
            raise OAuthError("invalid_client", "this client was registered without a secret", 401)
        return record
    if not secret or not same_hash(token_hash(secret), record.secret_hash):
        raise OAuthError("invalid_client", "client authentication failed", 401)
    return record
