"""What the request builder, the pagination and the client read of a generated tool module, the error
for arguments that cannot be sent, and how a send that got no answer fails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class ToolModule(Protocol):
    """One Stripe operation, as a module under generated/tools/ declares it."""

    HTTP_METHOD: str
    PATH: str  # with {placeholders}, e.g. /v1/customers/{customer}
    SERVER_URL: str | None  # a host other than api.stripe.com (files.stripe.com), else None
    PATH_ARGUMENTS: Mapping[str, str]  # argument -> path placeholder
    QUERY_ARGUMENTS: tuple[str, ...]
    BODY_ARGUMENTS: tuple[str, ...]
    BODY_ENCODING: str | None  # "multipart" for file uploads, else form encoding
    PAGINATION: str | None  # "cursor", "search", "local" or None; see pagination.py


class InvalidArgument(ValueError):
    """A tool argument that cannot be sent to Stripe; the request is never sent."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SendFailure:
    """Nothing usable came back from Stripe: `text` says why in fixed words (an exception's own text can
    quote the request), `sent` whether the request may have reached Stripe."""

    text: str
    sent: bool
