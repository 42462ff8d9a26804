"""The error every OAuth step raises: an RFC 6749 error code, a sentence for the person or developer, a status."""

from __future__ import annotations


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
