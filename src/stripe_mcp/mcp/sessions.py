"""Signed Mcp-Session-Id values for the handshake eras of Streamable HTTP: nothing is stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict

from stripe_mcp.mcp.versions import LEGACY_VERSIONS

HEADER_SESSION = "mcp-session-id"
SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600
CLOCK_SKEW_SECONDS = 300  # an id issued by a replica whose clock runs ahead is still good
VERIFIED_KEPT = 4096  # (session id, URL token) pairs whose MAC checked out: a session's next request skips the HMAC


class SessionSigner:
    """Self-verifying Mcp-Session-Id values, so that any replica sharing the secret accepts them.

    Format: ``v1.<nonce>.<protocol version>.<issued unix time>.<hmac-sha256 hex>``; the MAC also
    covers a hash of the URL token, so an id only works on the URL that issued it. Nothing is
    stored, hence nothing can be revoked: DELETE answers 405.
    """

    _PATTERN = re.compile(r"v1\.([0-9a-f]{32})\.(\d{4}-\d{2}-\d{2})\.(\d{1,12})\.([0-9a-f]{64})")

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("session_secret must not be empty")
        self._secret = secret
        self._verified: OrderedDict[tuple[str, str], tuple[str, int]] = OrderedDict()  # -> (version, issued)

    def _mac(self, nonce: str, token_hash: str, version: str, issued: str) -> str:
        message = f"v1|{nonce}|{token_hash}|{version}|{issued}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def issue(self, token: str, version: str, now: float | None = None) -> str:
        nonce = secrets.token_hex(16)
        issued = str(int(time.time() if now is None else now))
        return f"v1.{nonce}.{version}.{issued}.{self._mac(nonce, _hash(token), version, issued)}"

    def verify(self, session_id: str, token: str, now: float | None = None) -> str | None:
        """The protocol version the session was issued for, or None if the id is not ours (or too old)."""
        token_hash = _hash(token)  # the token itself is not kept
        key = (session_id, token_hash)
        known = self._verified.get(key)
        if known is None:
            match = self._PATTERN.fullmatch(session_id.strip())
            if match is None:
                return None
            nonce, version, issued, mac = match.groups()
            if not hmac.compare_digest(mac, self._mac(nonce, token_hash, version, issued)):
                return None
            known = self._verified[key] = (version, int(issued))
            if len(self._verified) > VERIFIED_KEPT:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(key)
        version, issued_at = known
        age = (time.time() if now is None else now) - issued_at
        if version not in LEGACY_VERSIONS or not -CLOCK_SKEW_SECONDS <= age <= SESSION_MAX_AGE_SECONDS:
            return None
        return version


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
