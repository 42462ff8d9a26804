"""Bearer tokens: reading `Authorization: Bearer <token>` and comparing secrets, for every front end."""

from __future__ import annotations

import hmac

from starlette.requests import Request


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None (no header, another scheme, no token)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    token = credentials.strip()
    return token if scheme.lower() == "bearer" and token else None


def same_secret(given: str, expected: str | None) -> bool:
    """`given` is the configured secret (compared in constant time); never true when none is configured."""
    return bool(expected) and hmac.compare_digest(given.encode(), (expected or "").encode())
