"""The words agents read: our reviewed overrides (descriptions.yaml) and the rules that fill the spec's gaps.

Stripe's spec describes operations for people who already know the API. An agent needs to know the unit of an
amount, which tool yields the id another one needs, and when query_stripe answers in one call what paging would
take many for. Overrides replace thin texts tool by tool; rules apply everywhere:

- an integer amount says it is in the currency's smallest unit;
- a date filter (`created`, `due_date`, ...) says it takes unix seconds, exactly or as a gt/gte/lt/lte range;
- an argument the spec leaves undocumented takes the returned object's text for the field of that name,
  else the text descriptions.yaml gives that argument name;
- list and search tools point to query_stripe; deprecated tools name their successor first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stripe_mcp.codegen.schemas import Schema
from stripe_mcp.codegen.text import clean_text, first_sentences

DESCRIPTIONS = Path(__file__).resolve().parent / "descriptions.yaml"
TOOL_DESCRIPTION_LIMIT = 1024
ARGUMENT_DESCRIPTION_LIMIT = 400
QUERY_POINTER = "To count, total, group or filter over every page in one call, use query_stripe with this tool."
PAGING = "Returns {result: [...], next_cursor}; pass next_cursor back for the next page."
SMALLEST_UNIT = "In the currency's smallest unit: 1500 = 15.00 USD."
UNIX_SECONDS = (
    "Unix seconds (1700000000 is 2023-11-14 22:13:20 UTC): one exact value, or a range object with gt, gte, lt "
    'and lte, e.g. {"gte": 1700000000, "lt": 1702592000}.'
)
AMOUNT_RANGE = (
    "In the currency's smallest unit (1500 = 15.00 USD): one exact value, or a range object with gt, gte, lt and "
    'lte, e.g. {"gte": 1500}.'
)
RANGE_KEYS = frozenset({"gt", "gte", "lt", "lte"})
AMOUNT_NAME = re.compile(r"(^|_)amount(_|$)")


@dataclass(frozen=True)
class ToolWords:
    description: str = ""
    arguments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Descriptions:
    tools: dict[str, ToolWords] = field(default_factory=dict)
    arguments: dict[str, str] = field(default_factory=dict)
    """Argument name -> its text, where the spec gives none."""
    deprecated: dict[str, str] = field(default_factory=dict)
    """Tool name -> the tool that replaces it."""

    @classmethod
    def load(cls, path: Path = DESCRIPTIONS) -> Descriptions:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tools = {
            name: ToolWords(str(words.get("description") or "").strip(), dict(words.get("arguments") or {}))
            for name, words in (raw.get("tools") or {}).items()
        }
        return cls(tools, dict(raw.get("arguments") or {}), dict(raw.get("deprecated") or {}))

    def problems(self, arguments_by_tool: dict[str, set[str]]) -> list[str]:
        """Overrides naming a tool or argument that does not exist: a typo would otherwise do nothing.

        Generation does not refuse them, since another spec (an older one) may lack a tool; the tests check the
        pinned spec."""
        found = [f"tools.{name}: no such tool" for name in self.tools if name not in arguments_by_tool]
        found += [
            f"tools.{name}.arguments.{argument}: no such argument"
            for name, words in self.tools.items()
            for argument in words.arguments
            if name in arguments_by_tool and argument not in arguments_by_tool[name]
        ]
        found += [
            f"deprecated.{name}: {'no such tool' if name not in arguments_by_tool else f'no successor {successor}'}"
            for name, successor in self.deprecated.items()
            if name not in arguments_by_tool or successor not in arguments_by_tool
        ]
        return found

    def is_deprecated(self, tool: str, in_spec: bool) -> bool:
        return in_spec or tool in self.deprecated

    def successor(self, tool: str) -> str:
        return self.deprecated.get(tool, "")

    def tool_description(self, tool: str, kind: str, lead: str, body: str, needs: str, *, deprecated: bool) -> str:
        """The override, or the generated lead and Stripe's text, fitted between the deprecation note and the
        tail: which tools yield the ids it needs, then for list and search tools query_stripe and paging."""
        successor = self.deprecated.get(tool)
        note = f"Deprecated: use {successor} instead." if successor else ("Deprecated." if deprecated else "")
        words = self.tools.get(tool)
        tail = needs
        if kind in ("list", "search"):
            pointer = "" if words and "query_stripe" in words.description else QUERY_POINTER
            tail = " ".join(part for part in (needs, pointer, PAGING) if part)
        head, text = (note, words.description) if words and words.description else (f"{note} {lead}".strip(), body)
        budget = TOOL_DESCRIPTION_LIMIT - len(head) - len(tail) - 2
        return " ".join(part for part in (head, first_sentences(text, budget), tail) if part)

    def argument_description(
        self, tool: str, argument: str, spec_text: str, schema: Schema, object_fields: dict[str, str]
    ) -> str:
        """The argument's text: ours, the spec's, the returned object's field's, or the shared one; then the rules."""
        words = self.tools.get(tool)
        text = (words.arguments.get(argument) if words else None) or spec_text
        if is_range_filter(schema):
            # The object's field says what the field is; a filter on it says which objects it keeps.
            text = clean_text(text or f"Filter on {argument}.")
            return text if "gte" in text else f"{text} {AMOUNT_RANGE if AMOUNT_NAME.search(argument) else UNIX_SECONDS}"
        text = text or object_fields.get(argument, "") or self.arguments.get(argument, "")
        text = clean_text(text, ARGUMENT_DESCRIPTION_LIMIT)
        if AMOUNT_NAME.search(argument) and accepts_integer(schema) and "smallest" not in text.lower():
            text = f"{text} {SMALLEST_UNIT}".strip()
        return text


def is_range_filter(schema: Schema) -> bool:
    """Stripe's date filters: an integer, or an object of gt/gte/lt/lte integers."""
    branches = schema.get("anyOf") or []
    ranges = [b for b in branches if b.get("type") == "object" and set(b.get("properties") or {"": {}}) <= RANGE_KEYS]
    return bool(ranges) and any(b.get("type") == "integer" for b in branches)


def accepts_integer(schema: Schema) -> bool:
    return schema.get("type") == "integer" or any(b.get("type") == "integer" for b in schema.get("anyOf") or [])
