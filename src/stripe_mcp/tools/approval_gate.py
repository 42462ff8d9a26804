"""The approval gate of one MCP server: a call that needs a person's yes reaches Stripe only after one.

For such a call, in this order:
1. it carries `approval_id`: an approval a person gave (console, admin API) for exactly these arguments on
   this server runs once; later calls with that id get the stored result. Anything else is refused.
2. the client can be asked (MCP elicitation): its user gets the question; a yes runs the call once, anything
   else (no, dismissed, no answer in time) is a tool error.
3. a server with a console (`book` and `console_url`) answers `approval_required` and keeps the approval
   pending in the store; without one (stdio) the call is refused.
Nothing is sent to Stripe on any path but a yes. Every decision made here is recorded in the book (when
there is one) and logged on the access log, without argument values.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from stripe_mcp.mcp.asking import UNANSWERED, Asker, Question
from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.tools.approvals import (
    APPROVAL_ID_ARGUMENT,
    APPROVED,
    ASKED_BY_ELICITATION,
    ASKED_IN_CONSOLE,
    DECIDED_BY_ELICITATION,
    DENIED,
    EXECUTED,
    EXECUTING,
    EXPIRED,
    PENDING,
    Approval,
    ApprovalBook,
    Sent,
    elicited_approval_id,
    idempotency_key,
    needs_approval,
    new_approval_id,
)
from stripe_mcp.tools.questions import Reader, question_for
from stripe_mcp.tools.registry import ToolEntry
from stripe_mcp.tools.results import error_result

access_log = logging.getLogger("stripe_mcp.access")

QUESTION_KEY = "approval"  # the key of the 2026-07-28 input request
APPROVE_SCHEMA = {
    "type": "object",
    "properties": {
        "approve": {
            "type": "boolean",
            "title": "Approve",
            "description": "Yes: send this to Stripe now. It runs once.",
            "default": False,
        }
    },
    "required": ["approve"],
}
ELICITATION_REFUSALS = {
    "decline": ("approval_declined", "The user declined"),
    "cancel": ("approval_cancelled", "The user dismissed the question about"),
    UNANSWERED: ("approval_unanswered", "Nobody answered the question about"),
}


@dataclass(frozen=True)
class Proposal:
    """One validated call waiting at the gate, and how the server sends it or reads what it is about."""

    tool: ToolEntry
    arguments: dict[str, Any]  # validated, as Stripe is sent them
    livemode: bool
    send: Callable[[str], Awaitable[Sent]]  # sends the call with this Idempotency-Key
    read: Reader


class ApprovalGate:
    def __init__(
        self,
        mode: str,
        *,
        server_id: str = "",
        account_id: str = "",
        book: ApprovalBook | None = None,
        console_url: str | None = None,
        ttl: float,
        clock: Callable[[], float],
    ) -> None:
        self.mode = mode
        self.server_id = server_id
        self.account_id = account_id
        self.book = book
        self.console_url = console_url
        self.ttl = ttl
        self.clock = clock

    def applies(self, tool: ToolEntry) -> bool:
        return needs_approval(self.mode, tool.annotations)

    async def call(self, proposal: Proposal, asker: Asker, approval_id: str | None) -> CallOutcome:
        if approval_id is not None:
            return await self._recall(proposal, approval_id)
        if asker.can_elicit:
            return await self._ask(proposal, asker)
        if self.book is not None and self.console_url is not None:
            return await self._request(proposal)
        nowhere = "" if self.book is None else ", and no console is open to decide it in"
        return _refusal(
            "approval_unavailable",
            f"{proposal.tool.name} needs a person's approval on this server, and this client cannot be asked "
            f"(it did not declare MCP elicitation){nowhere}. Nothing was sent to Stripe.",
        )

    # 1. an approval id from the console or the admin API ----------------------------------------

    async def _recall(self, proposal: Proposal, approval_id: str) -> CallOutcome:
        approval = await self.book.get_approval(approval_id) if self.book is not None else None
        if approval is None or approval.server_id != self.server_id:
            self._log("approval refused", approval_id, proposal, refusal="not found")
            return _refusal(
                "approval_not_found",
                f"There is no approval {approval_id[:40]} on this server. Call {proposal.tool.name} without "
                "approval_id to ask for one. Nothing was sent to Stripe.",
                approval_id[:40],
            )
        if not approval.matches(self.server_id, proposal.tool.name, proposal.arguments):
            self._log("approval refused", approval.id, proposal, refusal="arguments differ")
            return _refusal(
                "approval_mismatch",
                f"Approval {approval.id} was given for other arguments{_differences(approval, proposal)}. Call "
                f"{approval.tool} with exactly the approved arguments, or without approval_id to ask again. "
                "Nothing was sent to Stripe.",
                approval.id,
            )
        return await self._proceed(approval, proposal)

    async def _proceed(self, approval: Approval, proposal: Proposal, *, may_run: bool = True) -> CallOutcome:
        """The answer an approval gives the call it matches, by its status."""
        status = approval.status_at(self.clock())
        if status == APPROVED and may_run:
            return await self._execute(approval, proposal)
        if status == EXECUTED and approval.result is not None:
            return CallOutcome(approval.result)
        if status == PENDING:
            return self._required(approval, still=True)
        if status in (EXECUTING, APPROVED):  # approved here: a claim was just lost and given back
            return _refusal(
                "approval_in_progress",
                f"The approved call {approval.id} is running now; call again in a few seconds for its result.",
                approval.id,
            )
        code, words = {DENIED: ("approval_denied", "was denied"), EXPIRED: ("approval_expired", "has expired")}.get(
            status, ("approval_denied", "cannot be used")
        )
        self._log("approval refused", approval.id, proposal, refusal=words)
        return _refusal(
            code,
            f"Approval {approval.id} {words}. Nothing was sent to Stripe. Call {approval.tool} without approval_id "
            "to ask again.",
            approval.id,
        )

    async def _execute(self, approval: Approval, proposal: Proposal) -> CallOutcome:
        """Run an approved call once: claim it, send it, keep its result for every later call."""
        assert self.book is not None
        claimed = replace(approval, status=EXECUTING, claimed_at=self.clock(), revision=approval.revision + 1)
        if not await self.book.replace_approval(claimed):  # another call, here or on another replica, got it first
            current = await self.book.get_approval(approval.id)
            return await self._proceed(current or claimed, proposal, may_run=False)
        sent = await proposal.send(idempotency_key(approval.id))
        if not sent.reached_stripe:  # e.g. the connection could not be made: the yes still stands
            await self.book.replace_approval(
                replace(claimed, status=APPROVED, claimed_at=None, revision=claimed.revision + 1)
            )
            return sent.outcome
        done = replace(
            claimed,
            status=EXECUTED,
            executed_at=self.clock(),
            result=sent.outcome.result,
            request_id=sent.request_id,
            upstream_status=sent.upstream_status,
            revision=claimed.revision + 1,
        )
        if not await self.book.replace_approval(done):
            access_log.warning(
                "approval result not stored", extra={"approval_id": approval.id, "server_id": self.server_id}
            )
        self._log(
            "approval executed", approval.id, proposal, request_id=sent.request_id, upstream_status=sent.upstream_status
        )
        return sent.outcome

    # 2. asking the client's user ----------------------------------------------------------------

    async def _ask(self, proposal: Proposal, asker: Asker) -> CallOutcome:
        answered = asker.answered(QUESTION_KEY)
        if answered is None:
            text = await question_for(proposal.tool, proposal.arguments, livemode=proposal.livemode, read=proposal.read)
            state = {"nonce": secrets.token_hex(16), "question": text}
            # In 2026-07-28 this raises InputRequired: the client asks, then retries with the answer.
            answer = await asker.elicit(QUESTION_KEY, Question(text, APPROVE_SCHEMA, state), timeout=self.ttl)
        else:
            answer, state = answered.answer, dict(answered.state)
        nonce, text = str(state.get("nonce") or ""), str(state.get("question") or "")
        approval_id = elicited_approval_id(self.server_id, nonce or secrets.token_hex(16))
        yes = answer.accepted and answer.content.get("approve") is True
        if not yes and answer.action not in ("accept", "decline"):
            code, words = ELICITATION_REFUSALS.get(answer.action, ELICITATION_REFUSALS[UNANSWERED])
            self._log("approval unanswered", approval_id, proposal, answer=answer.action)
            return _refusal(code, f"{words} {proposal.tool.name}: nothing was sent to Stripe.")
        if self.book is None:
            self._log(
                "approval decided",
                approval_id,
                proposal,
                outcome=APPROVED if yes else DENIED,
                decided_by=DECIDED_BY_ELICITATION,
            )
            if not yes:
                return _declined(proposal)
            return (await proposal.send(idempotency_key(approval_id))).outcome
        approval = await self._record_answer(approval_id, proposal, text, yes)
        if approval.status_at(self.clock()) == DENIED:
            return _declined(proposal)
        return await self._proceed(approval, proposal)

    async def _record_answer(self, approval_id: str, proposal: Proposal, text: str, yes: bool) -> Approval:
        """The approval this answer decided; the one already recorded when a retry repeats the answer."""
        assert self.book is not None
        now = self.clock()
        decided = self._new(approval_id, proposal, text, ASKED_BY_ELICITATION, now)
        decided = replace(
            decided, status=APPROVED if yes else DENIED, decided_at=now, decided_by=DECIDED_BY_ELICITATION
        )
        if await self.book.add_approval(decided):
            self._log(
                "approval decided", approval_id, proposal, outcome=decided.status, decided_by=DECIDED_BY_ELICITATION
            )
            return decided
        existing = await self.book.get_approval(approval_id)
        if existing is None or not existing.matches(self.server_id, proposal.tool.name, proposal.arguments):
            return replace(decided, status=DENIED)  # cannot happen: the id is bound to this server and call
        return existing

    # 3. approval_required: a person decides in the console ------------------------------------

    async def _request(self, proposal: Proposal) -> CallOutcome:
        assert self.book is not None
        now = self.clock()
        for approval in await self.book.list_approvals(self.account_id):
            if approval.status_at(now) == PENDING and approval.matches(
                self.server_id, proposal.tool.name, proposal.arguments
            ):
                return self._required(approval, still=True)  # the same call again: the same approval
        text = await question_for(proposal.tool, proposal.arguments, livemode=proposal.livemode, read=proposal.read)
        approval = self._new(new_approval_id(), proposal, text, ASKED_IN_CONSOLE, now)
        await self.book.add_approval(approval)
        self._log("approval requested", approval.id, proposal)
        return self._required(approval, still=False)

    def _required(self, approval: Approval, *, still: bool) -> CallOutcome:
        expires = datetime.fromtimestamp(approval.expires_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        where = f"the stripe-mcp console ({self.console_url})" if self.console_url else "the stripe-mcp console"
        opening = (
            f"Approval {approval.id} is still waiting for a person's decision."
            if still
            else "A person must approve this call before it reaches Stripe."
        )
        message = (
            f"{opening} Nothing was sent to Stripe. Ask your user to approve {approval.id} in {where}, then call "
            f'{approval.tool} again with the same arguments plus "{APPROVAL_ID_ARGUMENT}": "{approval.id}". '
            f"Unless someone decides, it expires at {expires}."
        )
        return _refusal("approval_required", message, approval.id)

    def _new(self, approval_id: str, proposal: Proposal, question: str, asked_via: str, now: float) -> Approval:
        return Approval(
            id=approval_id,
            account_id=self.account_id,
            server_id=self.server_id,
            tool=proposal.tool.name,
            arguments=proposal.arguments,
            question=question,
            livemode=proposal.livemode,
            asked_via=asked_via,
            status=PENDING,
            created_at=now,
            expires_at=now + self.ttl,
        )

    def _log(self, event: str, approval_id: str, proposal: Proposal, **fields: Any) -> None:
        # Never the arguments: they may hold customer data.
        extra = {"server_id": self.server_id, "tool": proposal.tool.name, "approval_id": approval_id, **fields}
        access_log.info(event, extra=extra)


def _refusal(code: str, message: str, approval_id: str | None = None) -> CallOutcome:
    error: dict[str, Any] = {"code": code, "message": message}
    if approval_id is not None:
        error["approval_id"] = approval_id
    return error_result(message, {"error": error})


def _declined(proposal: Proposal) -> CallOutcome:
    code, words = ELICITATION_REFUSALS["decline"]
    return _refusal(code, f"{words} {proposal.tool.name}: nothing was sent to Stripe.")


def _differences(approval: Approval, proposal: Proposal) -> str:
    """Which arguments differ, by name only (their values may be sensitive)."""
    if approval.tool != proposal.tool.name:
        return f" (it is for {approval.tool})"
    given: Mapping[str, Any] = proposal.arguments
    names = sorted(k for k in set(approval.arguments) | set(given) if approval.arguments.get(k) != given.get(k))
    return f" ({', '.join(names)} differ)" if names else ""
