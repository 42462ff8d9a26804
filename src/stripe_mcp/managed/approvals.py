"""Deciding approvals: what the admin API and the console do when a person says yes or no.

The gate (tools/approval_gate.py) asks; this module lists what waits and records each decision, who made
it and when, with one access-log line per decision (never the arguments). A yes gives the agent `ttl`
again to make its call; only a pending approval of a server that still exists can be decided.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from stripe_mcp.managed.service import find_server
from stripe_mcp.managed.store.base import Store
from stripe_mcp.tools.approvals import APPROVED, DENIED, EXPIRED, PENDING, Approval

access_log = logging.getLogger("stripe_mcp.access")

ADMIN_API = "admin API (admin token)"


class DecisionError(Exception):
    """An approval that cannot be decided: unknown (404), or no longer pending (409)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Listed:
    """An approval with its status as it stands now, and whether its server still exists."""

    approval: Approval
    status: str
    server_exists: bool


async def list_approvals(store: Store, account_id: str, now: float) -> list[Listed]:
    """The account's approvals: pending ones first (oldest first, the next to decide), then the rest, newest first."""
    servers = {s.id for s in await store.list_servers(account_id) if s.expires_at is None or s.expires_at > now}
    listed = [Listed(a, a.status_at(now), a.server_id in servers) for a in await store.list_approvals(account_id)]
    pending = sorted((item for item in listed if item.status == PENDING), key=lambda item: item.approval.created_at)
    return pending + [item for item in listed if item.status != PENDING]


async def pending_approvals(store: Store, account_id: str, now: float) -> list[Listed]:
    """What a person can decide now: pending approvals of servers that still exist."""
    return [
        item for item in await list_approvals(store, account_id, now) if item.status == PENDING and item.server_exists
    ]


async def decide(
    store: Store, approval_id: str, *, approve: bool, who: str, now: float, account_id: str | None = None
) -> Approval:
    """Record a person's yes or no on a pending approval; DecisionError when it cannot be decided."""
    approval = await store.get_approval(approval_id[:64])
    if approval is None or (account_id is not None and approval.account_id != account_id):
        raise DecisionError(404, "not_found", f"no approval {approval_id[:64]}")
    status = approval.status_at(now)
    if status != PENDING:
        words = "has expired" if status == EXPIRED else f"is already {status}"
        raise DecisionError(409, "not_pending", f"approval {approval.id} {words}")
    if await find_server(store, approval.account_id, approval.server_id, now) is None:
        raise DecisionError(409, "server_gone", f"the MCP server of approval {approval.id} was revoked or expired")
    ttl = approval.expires_at - approval.created_at
    decided = replace(
        approval,
        status=APPROVED if approve else DENIED,
        decided_at=now,
        decided_by=who,
        expires_at=now + ttl if approve else approval.expires_at,  # the agent gets the full time to call again
        revision=approval.revision + 1,
    )
    if not await store.replace_approval(decided):
        raise DecisionError(409, "not_pending", f"approval {approval.id} was decided meanwhile")
    access_log.info(
        "approval decided",
        extra={
            "approval_id": approval.id,
            "account_id": approval.account_id,
            "server_id": approval.server_id,
            "tool": approval.tool,
            "outcome": decided.status,
            "decided_by": who,
        },
    )
    return decided
