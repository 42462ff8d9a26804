"""Asking the client's user something in the middle of a tool call: MCP elicitation, form mode.

A tool server's `call_tool` gets an `Asker` from the framing that carries the call:

* `CANNOT_ASK` when the client declared no form-mode elicitation (or its era has none);
* `RoundTripAsker` in the handshake eras 2025-06-18 and 2025-11-25: `elicitation/create` goes to the
  client on the call's own stream (Streamable HTTP's SSE answer, the legacy SSE stream, stdio) and the
  client's response, posted back, settles it through `PendingRequests`;
* `RetryAsker` (input_required.py) in 2026-07-28, where the call answers `input_required` and the client
  retries it with the answers.

Nothing of Stripe here: the question and what it decides belong to the tool server.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from stripe_mcp.mcp.jsonrpc import dumps

ELICIT_METHOD = "elicitation/create"
ACTIONS = frozenset({"accept", "decline", "cancel"})
UNANSWERED = "unanswered"  # no answer in time, an error response, or one that is not an ElicitResult
MAX_PENDING = 256  # server-to-client requests awaiting an answer, per transport


@dataclass(frozen=True)
class Elicited:
    """The user's answer: `action` is accept, decline, cancel or UNANSWERED; `content` the submitted form."""

    action: str
    content: Mapping[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.action == "accept"


@dataclass(frozen=True)
class Question:
    """What to ask: the sentence, the form's schema (flat, primitive properties), and what the tool server
    needs back on a 2026-07-28 retry (`state`, sealed so that the client cannot alter it)."""

    message: str
    schema: Mapping[str, Any]
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answered:
    """A 2026-07-28 retry's answer, with the state its question was asked with."""

    answer: Elicited
    state: Mapping[str, Any]


class InputRequired(Exception):
    """Raised out of `call_tool` in 2026-07-28: the call answers with `result`, an InputRequiredResult."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("input required")
        self.result = result


class Asker(Protocol):
    @property
    def can_elicit(self) -> bool: ...

    def answered(self, key: str) -> Answered | None:
        """The answer a 2026-07-28 retry carries for `key`; None when there is none (always, before 2026)."""
        ...

    async def elicit(self, key: str, question: Question, *, timeout: float) -> Elicited:
        """Ask and wait at most `timeout` seconds; in 2026-07-28, raises InputRequired instead."""
        ...


class _CannotAsk:
    can_elicit = False

    def answered(self, key: str) -> Answered | None:
        return None

    async def elicit(self, key: str, question: Question, *, timeout: float) -> Elicited:
        return Elicited(UNANSWERED)


CANNOT_ASK: Asker = _CannotAsk()


def declares_form_elicitation(capabilities: Any) -> bool:
    """Client capabilities with form-mode elicitation: `{"elicitation": {}}` (form implied) or `{"form": {}}`."""
    if not isinstance(capabilities, dict):
        return False
    elicitation = capabilities.get("elicitation")
    return isinstance(elicitation, dict) and (not elicitation or isinstance(elicitation.get("form"), dict))


def elicit_params(question: Question, *, with_mode: bool = True) -> dict[str, Any]:
    params: dict[str, Any] = {"message": question.message, "requestedSchema": dict(question.schema)}
    return {"mode": "form", **params} if with_mode else params  # `mode` came with 2025-11-25


def read_elicit_result(result: Any) -> Elicited:
    """An ElicitResult as the client sent it; anything else counts as no answer."""
    if not isinstance(result, dict) or result.get("action") not in ACTIONS:
        return Elicited(UNANSWERED)
    content = result.get("content")
    return Elicited(str(result["action"]), content if isinstance(content, dict) else {})


def is_response(message: Any) -> bool:
    """A JSON-RPC response (the client answering one of our requests), not a request or notification."""
    return (
        isinstance(message, dict)
        and "method" not in message
        and "id" in message
        and ("result" in message or "error" in message)
    )


class PendingRequests:
    """Requests sent to clients that await a response, by JSON-RPC id.

    Ids are random, so no client can guess another's; a response also has to come from the same
    `owner` (the URL token) as the call that asked, else it is ignored.
    """

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self.limit = limit
        self._waiting: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}

    @contextmanager
    def waiting(self, owner: str) -> Iterator[tuple[str, asyncio.Future[dict[str, Any]]] | None]:
        """A fresh request id and the future its response settles; None when too many already wait."""
        if len(self._waiting) >= self.limit:
            yield None
            return
        request_id = f"elicit-{secrets.token_hex(16)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = (owner, future)
        try:
            yield request_id, future
        finally:
            self._waiting.pop(request_id, None)

    def deliver(self, message: dict[str, Any], owner: str) -> bool:
        """Settle the request `message` answers; False when nothing of `owner` waits for it."""
        request_id = message.get("id")
        entry = self._waiting.get(request_id) if isinstance(request_id, str) else None
        if entry is None or not hmac.compare_digest(entry[0].encode(), owner.encode()) or entry[1].done():
            return False
        entry[1].set_result(message)
        return True


class RoundTripAsker:
    """Elicitation in the handshake eras: the request goes out through `send`, its response comes back
    through `pending` (the framing delivers it there)."""

    can_elicit = True

    def __init__(
        self, send: Callable[[bytes], Awaitable[None]], pending: PendingRequests, owner: str, version: str
    ) -> None:
        self.send = send
        self.pending = pending
        self.owner = owner
        self.version = version

    def answered(self, key: str) -> Answered | None:
        return None

    async def elicit(self, key: str, question: Question, *, timeout: float) -> Elicited:
        with self.pending.waiting(self.owner) as slot:
            if slot is None:
                return Elicited(UNANSWERED)
            request_id, response = slot
            params = elicit_params(question, with_mode=self.version >= "2025-11-25")
            request = {"jsonrpc": "2.0", "id": request_id, "method": ELICIT_METHOD, "params": params}
            try:
                async with asyncio.timeout(timeout):
                    await self.send(dumps(request))
                    message = await response
            except (TimeoutError, OSError):  # no answer in time, or the stream to the client is gone
                return Elicited(UNANSWERED)
        if "error" in message:
            return Elicited(UNANSWERED)
        return read_elicit_result(message.get("result"))
