"""Posted forms: read with size and field limits, and validation errors told as sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from pydantic import ValidationError
from starlette.requests import Request

from stripe_mcp.web.bodies import BodyTooLarge, read_body

MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 500
FIELD_LABELS = {
    "name": "Name: give 1 to 200 printable characters.",
    "stripe_api_key": "Stripe key: paste a secret key (sk_test_…, sk_live_…) or a restricted key (rk_test_…, rk_live_…).",
    "methods": "Methods: choose from the listed ones.",
    "tags": "Tags: give functional areas or resources, separated by commas.",
    "tool_exposure": "Tool exposure: choose all, discovery or chatgpt.",
    "approval": "Approval: choose none, destructive or writes.",
    "expires_at": "Expiry: give a date and time.",
}


@dataclass
class Form:
    values: dict[str, list[str]] = field(default_factory=dict)

    def first(self, key: str, default: str = "") -> str:
        return (self.values.get(key) or [default])[0]

    def all(self, key: str) -> list[str]:
        return [v for v in self.values.get(key, []) if v != ""]


class FormError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_form(request: Request) -> Form:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return Form()  # not a form of these pages: no CSRF token in it, so refused with 403
    try:
        body = await read_body(request, MAX_FORM_BYTES)
    except BodyTooLarge:
        raise FormError(413, "The form is too large.") from None
    try:
        values = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "The form could not be read.") from None
    return Form(values)


def problems(error: ValidationError) -> list[str]:
    """Validation errors as sentences, never echoing what was typed (it may be a key)."""
    found: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        place = [str(p) for p in item["loc"] if not isinstance(p, int)]
        key = next((p for p in reversed(place) if p in FIELD_LABELS), None)
        text = FIELD_LABELS[key] if key else f"{'.'.join(place) or 'form'}: {item['msg']}."
        if text not in found:
            found.append(text)
    return found
