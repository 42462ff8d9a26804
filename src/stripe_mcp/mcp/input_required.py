"""Elicitation in the stateless 2026-07-28 era: multi round-trip requests.

A call that must ask answers `{"resultType": "input_required", "inputRequests": {...}, "requestState": ...}`;
the client asks its user and retries the same call with `inputResponses` and the `requestState` echoed.
Nothing is kept between the two requests, so any replica can take the retry. The state travels through
the client, so it is sealed: an HMAC over its content, its expiry and the call it belongs to (the URL
token, the tool and a digest of the arguments). A state that fails any of these is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from stripe_mcp.mcp.asking import (
    ELICIT_METHOD,
    Answered,
    Elicited,
    InputRequired,
    Question,
    declares_form_elicitation,
    elicit_params,
    read_elicit_result,
)
from stripe_mcp.mcp.jsonrpc import INVALID_PARAMS, JsonRpcError
from stripe_mcp.mcp.versions import META_CLIENT_CAPABILITIES

STATE_VERSION = "s1"
MAX_STATE_CHARS = 8192


def call_binding(principal: str, name: Any, arguments: Any) -> str:
    """What a sealed state belongs to: this URL, this tool, these exact arguments."""
    canonical = json.dumps([hashlib.sha256(principal.encode()).hexdigest(), name, arguments], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class StateSeal:
    """`s1.<base64url JSON>.<hmac-sha256 hex>`; the JSON holds the expiry, the binding and the state."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the request-state secret must not be empty")
        self._secret = hashlib.sha256(b"mcp request state|" + secret).digest()

    def _mac(self, body: str) -> str:
        return hmac.new(self._secret, f"{STATE_VERSION}|{body}".encode(), hashlib.sha256).hexdigest()

    def seal(self, state: Mapping[str, Any], binding: str, ttl: float, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + ttl)
        payload = json.dumps({"exp": expires, "bind": binding, "state": dict(state)}, separators=(",", ":"))
        body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{STATE_VERSION}.{body}.{self._mac(body)}"

    def open(self, text: str, binding: str, now: float | None = None) -> dict[str, Any] | None:
        """The state sealed for `binding`, or None: not ours, altered, for another call, or expired."""
        if len(text) > MAX_STATE_CHARS:
            return None
        version, _, rest = text.partition(".")
        body, _, mac = rest.rpartition(".")
        if version != STATE_VERSION or not body or not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("state"), dict):
            return None
        if not hmac.compare_digest(str(payload.get("bind", "")).encode(), binding.encode()):
            return None
        expires = payload.get("exp")
        if not isinstance(expires, int) or expires < (time.time() if now is None else now):
            return None
        state: dict[str, Any] = payload["state"]
        return state


class RetryAsker:
    """The asker of one 2026-07-28 tools/call: answers come from its retry, questions go out as input_required."""

    def __init__(self, params: Mapping[str, Any], seal: StateSeal, principal: str) -> None:
        meta = params.get("_meta")
        self.can_elicit = isinstance(meta, dict) and declares_form_elicitation(meta.get(META_CLIENT_CAPABILITIES))
        self.seal = seal
        self.binding = call_binding(principal, params.get("name"), params.get("arguments") or {})
        responses = params.get("inputResponses")
        self.responses: Mapping[str, Any] = responses if isinstance(responses, dict) else {}
        state = params.get("requestState")
        self.state_text = state if isinstance(state, str) else None

    def answered(self, key: str) -> Answered | None:
        if self.state_text is None:
            return None
        state = self.seal.open(self.state_text, self.binding)
        if state is None:
            raise JsonRpcError(
                INVALID_PARAMS,
                "Invalid params: requestState was not issued by this server for this call, or it expired; "
                "call the tool again without it",
            )
        if key not in self.responses:
            return None  # the question is asked again
        return Answered(read_elicit_result(self.responses[key]), state)

    async def elicit(self, key: str, question: Question, *, timeout: float) -> Elicited:
        raise InputRequired(
            {
                "resultType": "input_required",
                "inputRequests": {key: {"method": ELICIT_METHOD, "params": elicit_params(question)}},
                "requestState": self.seal.seal(question.state, self.binding, timeout),
            }
        )
