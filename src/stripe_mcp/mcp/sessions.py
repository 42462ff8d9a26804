"""Signed Mcp-Session-Id values for the handshake eras of Streamable HTTP: nothing is stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from stripe_mcp.mcp.versions import LEGACY_VERSIONS

HEADER_SESSION = "mcp-session-id"
SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600
CLOCK_SKEW_SECONDS = 300  # an id issued by a replica whose clock runs ahead is still good
VERIFIED_KEPT = 4096  # (session id, URL token) pairs whose MAC checked out: a session's next request skips the HMAC


@dataclass(frozen=True)
class SignedSession:
    """What a session id says: the protocol version it was issued for, and whether its client declared
    form-mode elicitation in `initialize` (replicas learn it from the id itself)."""

    version: str
    can_elicit: bool = False


class SessionSigner:
    """Self-verifying Mcp-Session-Id values, so that any replica sharing the secret accepts them.

    Format: ``v2.<nonce>.<protocol version>.<e|n>.<issued unix time>.<hmac-sha256 hex>`` (`e`: the client
    may be asked through elicitation); ids of the earlier ``v1`` format, without the flag, still verify.
    The MAC also covers a hash of the URL token, so an id only works on the URL that issued it. Nothing
    is stored, hence nothing can be revoked: DELETE answers 405.
    """

    _PATTERN = re.compile(r"v2\.([0-9a-f]{32})\.(\d{4}-\d{2}-\d{2})\.([en])\.(\d{1,12})\.([0-9a-f]{64})")
    _V1_PATTERN = re.compile(r"v1\.([0-9a-f]{32})\.(\d{4}-\d{2}-\d{2})\.(\d{1,12})\.([0-9a-f]{64})")

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("session_secret must not be empty")
        self._secret = secret
        self._verified: OrderedDict[tuple[str, str], tuple[SignedSession, int]] = OrderedDict()  # -> (what, issued)

    def _mac(self, nonce: str, token_hash: str, version: str, issued: str, flag: str | None) -> str:
        fields = (
            ["v1", nonce, token_hash, version, issued]
            if flag is None
            else ["v2", nonce, token_hash, version, flag, issued]
        )
        return hmac.new(self._secret, "|".join(fields).encode(), hashlib.sha256).hexdigest()

    def issue(self, token: str, version: str, now: float | None = None, *, can_elicit: bool = False) -> str:
        nonce = secrets.token_hex(16)
        issued = str(int(time.time() if now is None else now))
        flag = "e" if can_elicit else "n"
        return f"v2.{nonce}.{version}.{flag}.{issued}.{self._mac(nonce, _hash(token), version, issued, flag)}"

    def session(self, session_id: str, token: str, now: float | None = None) -> SignedSession | None:
        """What the id says, or None if the id is not ours (or too old)."""
        token_hash = _hash(token)  # the token itself is not kept
        key = (session_id, token_hash)
        known = self._verified.get(key)
        if known is None:
            if match := self._PATTERN.fullmatch(session_id.strip()):
                nonce, version, flag, issued, mac = match.groups()
            elif match := self._V1_PATTERN.fullmatch(session_id.strip()):
                (nonce, version, issued, mac), flag = match.groups(), None
            else:
                return None
            if not hmac.compare_digest(mac, self._mac(nonce, token_hash, version, issued, flag)):
                return None
            known = self._verified[key] = (SignedSession(version, can_elicit=flag == "e"), int(issued))
            if len(self._verified) > VERIFIED_KEPT:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(key)
        signed, issued_at = known
        age = (time.time() if now is None else now) - issued_at
        if signed.version not in LEGACY_VERSIONS or not -CLOCK_SKEW_SECONDS <= age <= SESSION_MAX_AGE_SECONDS:
            return None
        return signed

    def verify(self, session_id: str, token: str, now: float | None = None) -> str | None:
        """The protocol version the session was issued for, or None if the id is not ours (or too old)."""
        session = self.session(session_id, token, now)
        return None if session is None else session.version


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
