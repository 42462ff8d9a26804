"""What the request builder, the pagination and the client read of a generated tool module, and the
error for arguments that cannot be sent."""

from __future__ import annotations

from collections.abc import Mapping
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
