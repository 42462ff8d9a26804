"""Console sessions: signed cookies that every replica can verify, bound to the credential that opened them.

The signing key is derived from the encryption key (or, with no key yet, agreed through the store). A session
of the admin token ends when STRIPE_MCP_ADMIN_TOKEN changes; one of an API token ends when that token is revoked
or expires; and any session ends when it signs out: its id is kept in the store's revocations until the cookie
would have expired anyway, so a copy of the cookie is refused by every replica.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.managed.store.base import Store
from stripe_mcp.mcp.security import LOOPBACK_HOSTS
from stripe_mcp.web.console.urls import PREFIX
from stripe_mcp.web.credentials import same_secret
from stripe_mcp.web.settings import Settings

COOKIE = "stripe_mcp_console"
SESSION_SECONDS = 8 * 3600
MAX_COOKIE_CHARS = 4096


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    who: str | None = None  # "admin" or "api-token" once signed in
    proof: str = ""  # binds the session to its credential (see Sessions.still_valid)

    @property
    def signed_in(self) -> bool:
        return self.who is not None

    @classmethod
    def anonymous(cls) -> Session:
        return cls(secrets.token_urlsafe(16), secrets.token_urlsafe(32))

    @classmethod
    def signed_in_as(cls, who: str, proof: str) -> Session:
        return cls(secrets.token_urlsafe(16), secrets.token_urlsafe(32), who, proof)  # new ids: no fixation


class Sessions:
    def __init__(
        self, settings: Settings, keys: KeyBox | None, store_of: Callable[[], Store], clock: Callable[[], float]
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.keys = keys
        self.store_of = store_of
        self._serializer: URLSafeTimedSerializer | None = None
        self._secret = b""

    async def _signer(self) -> URLSafeTimedSerializer:
        if self._serializer is None:
            if self.keys is not None:
                secret = self.keys.derive_token("console", "admin-console-session-cookies")
            else:  # no encryption key (and so no account yet): replicas agree through the store
                secret = await self.store_of().setting("console-session-secret", secrets.token_urlsafe(32))
            self._secret = secret.encode()
            self._serializer = URLSafeTimedSerializer(secret, salt="stripe-mcp admin console session")
        return self._serializer

    async def read(self, request: Request) -> Session | None:
        """The request's session: None when it has no cookie, or one that is forged, too old or revoked."""
        raw = request.cookies.get(COOKIE)
        if not raw or len(raw) > MAX_COOKIE_CHARS:
            return None
        try:
            data = (await self._signer()).loads(raw, max_age=SESSION_SECONDS)
            session = Session(str(data["sid"]), str(data["csrf"]), data.get("who"), str(data.get("proof", "")))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        if session.who is not None and not await self.still_valid(session):
            return None
        return session

    async def still_valid(self, session: Session) -> bool:
        store, now = self.store_of(), self.clock()
        if await store.revocation(_revocation(session.sid), now) is not None:
            return False  # signed out
        if session.who == "admin":
            return same_secret(session.proof, await self.admin_proof())
        if session.who == "api-token":
            record = await store.api_token_by_hash(session.proof)
            return record is not None and record.admin and (record.expires_at is None or record.expires_at > now)
        return False

    async def revoke(self, session: Session) -> None:
        """End `session` on every replica, whoever holds a copy of its cookie."""
        now = self.clock()
        await self.store_of().add_revocation(_revocation(session.sid), now, now + SESSION_SECONDS)

    async def admin_proof(self) -> str:
        """A digest of the admin token under the session key: changes, and so ends sessions, with the token."""
        await self._signer()  # sets self._secret
        token = (self.settings.admin_token or "").encode()
        return hmac.new(self._secret, b"admin-token:" + token, hashlib.sha256).hexdigest()[:32]

    async def keep(self, request: Request, response: Response, session: Session) -> Response:
        """`response` with the session's cookie set."""
        value = (await self._signer()).dumps(
            {"sid": session.sid, "csrf": session.csrf, "who": session.who, "proof": session.proof}
        )
        response.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_SECONDS,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )
        return response

    def end(self, request: Request, response: Response) -> Response:
        """`response` with the session's cookie deleted."""
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=self._secure(request))
        return response

    def _secure(self, request: Request) -> bool:
        if request.url.scheme == "https":
            return True
        host = (request.url.hostname or "").lower()
        return self.settings.public_url.startswith("https://") and host not in LOOPBACK_HOSTS


def _revocation(sid: str) -> str:
    return f"console-session:{sid}"
