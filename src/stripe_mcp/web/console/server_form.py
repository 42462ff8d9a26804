"""The new-server form: what was typed, the configuration it asks for, its expiry, and its tool count in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stripe_mcp.managed.service import ToolPreview
from stripe_mcp.web.console.forms import Form

APPROVAL_HELP = {
    "none": "none: calls reach Stripe as the agent makes them",
    "destructive": "destructive: refunds, payouts, deletions wait for a yes",
    "writes": "writes: every change waits for a yes",
}
SUGGESTED_APPROVAL = "destructive"  # what a new server's form starts with: its default filters allow writes
EXPIRY_CHOICES = (
    ("never", "Never"),
    ("3600", "In 1 hour"),
    ("86400", "In 1 day"),
    ("604800", "In 7 days"),
    ("2592000", "In 30 days"),
    ("7776000", "In 90 days"),
    ("date", "On the date (UTC)"),
)


@dataclass(frozen=True)
class ServerForm:
    """The form as typed (to show it again), plus the configuration it asks for (validated by the service)."""

    name: str
    config: dict[str, Any]
    areas: frozenset[str]
    more_tags: str
    expires: str
    expires_on: str

    @classmethod
    def read(cls, form: Form) -> ServerForm:
        areas = form.all("tags")
        more = form.first("more_tags")[:2000]
        config = {
            "methods": form.all("methods"),
            "tags": list(dict.fromkeys([*areas, *split_tags(more)])),
            "require_api_token_auth": form.first("require_api_token_auth") == "on",
            "auth": form.first("auth", "url_token") or "url_token",
            "tool_exposure": form.first("tool_exposure", "all") or "all",
            "full_results": form.first("full_results") == "on",
            "approval": form.first("approval", "none") or "none",
        }
        return cls(
            name=form.first("name")[:300],
            config=config,
            areas=frozenset(areas),
            more_tags=more,
            expires=form.first("expires", "never"),
            expires_on=form.first("expires_on")[:40],
        )

    def expires_at(self, now: float, errors: list[str]) -> str | None:
        """The chosen expiry as ISO 8601 (None: never); a sentence in `errors` when it cannot be read."""
        return form_expiry(self.expires, self.expires_on, now, errors)


def form_expiry(choice: str, on: str, now: float, errors: list[str]) -> str | None:
    """An expiry chosen from EXPIRY_CHOICES (`on`: the date typed for "date") as ISO 8601, None for never; a
    sentence in `errors` when it cannot be read."""
    if choice == "never":
        return None
    if choice == "date":
        try:
            when = datetime.fromisoformat(on)
        except ValueError:
            errors.append("Expiry: give a date and time, e.g. 2026-12-31T00:00 (UTC).")
            return None
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
        return when.isoformat()
    if choice in dict(EXPIRY_CHOICES) and choice.isdigit():
        return datetime.fromtimestamp(now + int(choice), tz=UTC).isoformat()
    errors.append("Expiry: choose one of the listed choices.")
    return None


def split_tags(text: str) -> list[str]:
    return [t for t in (part.strip() for part in text.replace(",", " ").split()) if t]


def count_text(preview: ToolPreview) -> str:
    count = len(preview.tool_names)
    tools = f"{count} tool{'s' if count != 1 else ''}"
    if preview.listed == count:
        return f"{tools} match these filters; agents see all of them in tools/list."
    if preview.listed == 3:
        return f"{tools} match these filters; agents see 3 discovery tools and reach these through call_tool."
    return f"{tools} match these filters; agents see ChatGPT's search and fetch, which use them."


def money_text(preview: ToolPreview) -> str:
    """The warning for a server that can move money; empty when it cannot."""
    count = len(preview.money_tools)
    if not count:
        return ""
    return (
        f"{count} of these tools can move money (charges, refunds, payouts, transfers, invoice payments): "
        "give this URL only to an agent you trust with that."
    )
