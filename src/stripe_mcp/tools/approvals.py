"""Approval of writes: which calls need a person's yes, the record of one approval, and where records live.

A server's `approval` setting is `none`, `destructive` (tools with destructiveHint) or `writes` (every
tool that is not read-only). An `Approval` holds one call exactly as it would be sent, the question a
person answers, and what became of it:

    pending --(a person says yes)--> approved --(the agent calls again)--> executing --> executed
       |                                |
       +--(no) denied                   +--(nobody acts before expires_at) expired

`expires_at` is `ttl` after the question was asked, and again `ttl` after the yes. An executed approval
keeps its result: calling again with its id returns that result, and Stripe is not called twice. The
Idempotency-Key of the call derives from the approval's id, so even a call retried after a crash
mid-send takes effect once.

The gate (approval_gate.py) keeps approvals in an `ApprovalBook`; the managed store is one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from stripe_mcp.mcp.types import CallOutcome

APPROVAL_MODES = ("none", "destructive", "writes")
DEFAULT_APPROVAL_SECONDS = 15 * 60
EXECUTION_LEASE_SECONDS = 300.0  # a claim older than this was lost (the process died mid-call): it may be taken again
APPROVAL_ID_ARGUMENT = "approval_id"
APPROVAL_ID_PREFIX = "apr_"

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
EXPIRED = "expired"
EXECUTING = "executing"
EXECUTED = "executed"

ASKED_IN_CONSOLE = "console"  # approval_required: a person decides in the console or through the admin API
ASKED_BY_ELICITATION = "elicitation"  # the client's user answered in the conversation
DECIDED_BY_ELICITATION = "the client's user (MCP elicitation)"


def needs_approval(mode: str, annotations: Mapping[str, Any]) -> bool:
    """Whether a tool with these MCP annotations needs a person's yes under approval `mode`."""
    if annotations.get("readOnlyHint"):
        return False
    if mode == "writes":
        return True
    return mode == "destructive" and bool(annotations.get("destructiveHint"))


def new_approval_id() -> str:
    return APPROVAL_ID_PREFIX + secrets.token_hex(12)


def elicited_approval_id(server_id: str, nonce: str) -> str:
    """The id of the approval a question asked with `nonce` leads to: the same on every retry that answers it."""
    return APPROVAL_ID_PREFIX + hashlib.sha256(f"{server_id}|{nonce}".encode()).hexdigest()[:24]


def idempotency_key(approval_id: str) -> str:
    """The Idempotency-Key of the one call an approval allows."""
    return f"stripe-mcp-{approval_id}"


@dataclass(frozen=True)
class Sent:
    """What sending a call produced, and whether any of it may have reached Stripe."""

    outcome: CallOutcome
    reached_stripe: bool
    request_id: str | None = None
    upstream_status: int | None = None


@dataclass(frozen=True)
class Approval:
    id: str
    account_id: str
    server_id: str
    tool: str
    arguments: dict[str, Any]  # validated, by Stripe's names: exactly what is sent
    question: str  # the sentence a person answers
    livemode: bool
    asked_via: str  # ASKED_IN_CONSOLE or ASKED_BY_ELICITATION
    status: str
    created_at: float
    expires_at: float
    decided_at: float | None = None
    decided_by: str | None = None  # "admin API (admin token)", "console: ...", DECIDED_BY_ELICITATION
    claimed_at: float | None = None
    executed_at: float | None = None
    result: dict[str, Any] | None = None  # the tool result of the executed call, returned to every later call
    request_id: str | None = None  # Stripe's Request-Id of that call
    upstream_status: int | None = None
    revision: int = 0  # bumped by every change; a store replaces a record only from the revision before

    def status_at(self, now: float) -> str:
        """The status as it stands at `now`: undecided or unused approvals expire; a lost claim is approved again."""
        if self.status in (PENDING, APPROVED) and now >= self.expires_at:
            return EXPIRED
        if self.status == EXECUTING and self.claimed_at is not None and now - self.claimed_at > EXECUTION_LEASE_SECONDS:
            return APPROVED
        return self.status

    def matches(self, server_id: str, tool: str, arguments: Mapping[str, Any]) -> bool:
        return self.server_id == server_id and self.tool == tool and self.arguments == dict(arguments)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Approval:
        data = json.loads(text)
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}  # a later field is skipped
        return cls(**known)


class ApprovalBook(Protocol):
    """Where approvals are kept, shared by every replica (managed/store implements it)."""

    async def add_approval(self, approval: Approval) -> bool:
        """Store a new approval; False (and nothing changed) when its id exists already."""
        ...

    async def get_approval(self, approval_id: str) -> Approval | None: ...

    async def list_approvals(self, account_id: str) -> list[Approval]:
        """The account's approvals, newest first (at most a few hundred)."""
        ...

    async def replace_approval(self, approval: Approval) -> bool:
        """Store `approval` only if the stored one is at `approval.revision - 1`: compare-and-set."""
        ...
