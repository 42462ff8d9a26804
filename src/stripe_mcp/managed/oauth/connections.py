"""The clients connected to a server (one row per client, whatever number of consents it holds), and revoking them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from stripe_mcp.managed.oauth.documents import is_document_url
from stripe_mcp.managed.store.base import OAuthStore

log = logging.getLogger("stripe_mcp.oauth")


@dataclass(frozen=True)
class Connection:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    first_seen_at: float | None  # None: the client record is gone (its grants still end on their own)
    connected_at: float  # the earliest consent still in force
    last_used_at: float | None  # the latest request to the server with one of its access tokens
    metadata_document: bool  # the client is known by its Client ID Metadata Document, not registered here


async def connections(store: OAuthStore, server_id: str, now: float) -> list[Connection]:
    found: dict[str, Connection] = {}
    for grant in await store.grants(server_id):
        if grant.expires_at <= now:
            continue
        known = found.get(grant.client_id)
        if known is None:
            client = await store.client(grant.client_id)
            found[grant.client_id] = Connection(
                client_id=grant.client_id,
                name=client.name if client else "(forgotten client)",
                redirect_uris=client.redirect_uris if client else (),
                first_seen_at=client.first_seen_at if client else None,
                connected_at=grant.created_at,
                last_used_at=grant.last_used_at,
                metadata_document=is_document_url(grant.client_id),
            )
        else:
            latest = max((t for t in (known.last_used_at, grant.last_used_at) if t is not None), default=None)
            found[grant.client_id] = replace(
                known, connected_at=min(known.connected_at, grant.created_at), last_used_at=latest
            )
    return list(found.values())


async def disconnect(store: OAuthStore, server_id: str, client_id: str | None = None) -> int:
    """Revoke one client's grants on the server, or every client's: their tokens stop working at once."""
    removed = await store.delete_grants(server_id, client_id)
    log.info("oauth: clients disconnected", extra={"server_id": server_id, "grants": removed})
    return removed
