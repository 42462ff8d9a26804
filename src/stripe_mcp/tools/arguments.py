"""The checks a tool call's arguments pass before anything is sent. A failed check is a tool error naming the
fields, never echoing their values.

Cheap first: one walk over the arguments holds every string and object key to MAX_ARGUMENT_STRING_CHARS and to
valid Unicode (JSON can carry a lone surrogate such as "\\ud800", which pydantic turns into U+FFFD in an object
key and Stripe cannot be sent), every array and object to MAX_ARGUMENT_ITEMS, and the whole to
MAX_ARGUMENT_VALUES. Then the tool's own pydantic model. The bounds are what keeps the event loop free: a
500,000-item array held it 2.78 s in the model, while MAX_ARGUMENT_VALUES values validate in about 20 ms. (A
worker thread would not help: pydantic-core holds the GIL while it validates.)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.tools.argument_paths import argument_path, is_unset_noise
from stripe_mcp.tools.results import error_result
from stripe_mcp.tools.strict_values import strict_value_message

MAX_ARGUMENT_STRING_CHARS = 100_000  # per string (and per object key) in tool arguments; base64 file content excepted
MAX_ARGUMENT_ITEMS = 1_000  # per array and per object (Stripe's longest lists, countries, hold about 240)
MAX_ARGUMENT_VALUES = 10_000  # values of one call's arguments, every level counted (100 line items take ~1,000)
MAX_REPORTED_PROBLEMS = 20  # validation problems listed in one tool error
_LABEL_CHARS = 64  # of an object key, in the path of an overlong string

_BINARY_FIELDS: weakref.WeakKeyDictionary[type[BaseModel], frozenset[str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Scan:
    """What the cheap walk found: the first bound passed (field, message, limit; 0 for no number), else None; and the
    values counted."""

    problem: tuple[str, str, int] | None
    values: int


def check_arguments(tool: str, model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any] | CallOutcome:
    """The arguments as Stripe is sent them (validated, by alias, unset ones left out), or the tool error saying
    why they cannot be."""
    scan = scan_arguments(arguments, _binary_fields(model))
    if scan.problem is not None:
        return _limit_result(tool, *scan.problem)
    try:
        validated = model.model_validate(arguments)
    except ValidationError as error:
        return _validation_error_result(tool, model, error)
    return validated.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _binary_fields(model: type[BaseModel]) -> frozenset[str]:
    """Top-level arguments holding base64 file content: bounded by the request body limit, not the string limit.

    Cached per model, weakly, so that a tool module the registry evicts takes its entry with it.
    """
    cached = _BINARY_FIELDS.get(model)
    if cached is None:
        cached = _BINARY_FIELDS[model] = frozenset(
            field.alias or name
            for name, field in model.model_fields.items()
            if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("contentEncoding") == "base64"
        )
    return cached


def scan_arguments(arguments: Any, exempt: frozenset[str] = frozenset()) -> Scan:
    """Walk `arguments` once (iteratively) against the string, item and value bounds; `exempt` top-level keys
    hold file content, which only the request body limit bounds."""
    stack: list[tuple[str, Any]] = [("", arguments)]
    values = 0
    while stack:
        path, value = stack.pop()
        values += 1
        if values > MAX_ARGUMENT_VALUES:
            return Scan(("arguments", "hold more values than the limit", MAX_ARGUMENT_VALUES), values)
        if isinstance(value, str):
            if len(value) > MAX_ARGUMENT_STRING_CHARS:
                return Scan((path or "arguments", _too_long(), MAX_ARGUMENT_STRING_CHARS), values)
            if not is_unicode(value):
                return Scan((path or "arguments", NOT_UNICODE, 0), values)
        elif isinstance(value, dict):
            if len(value) > MAX_ARGUMENT_ITEMS:
                return Scan((path or "arguments", _too_many(len(value), "members"), MAX_ARGUMENT_ITEMS), values)
            for raw_key, child in value.items():
                key = raw_key if isinstance(raw_key, str) else str(raw_key)
                label = key if len(key) <= _LABEL_CHARS else key[:_LABEL_CHARS] + "…"
                label = label if is_unicode(label) else label.encode("utf-8", "backslashreplace").decode("utf-8")
                child_path = f"{path}.{label}" if path else label
                if len(key) > MAX_ARGUMENT_STRING_CHARS:
                    return Scan((child_path + " (key)", _too_long(), MAX_ARGUMENT_STRING_CHARS), values)
                if not is_unicode(key):
                    return Scan((child_path + " (key)", NOT_UNICODE, 0), values)
                if path or key not in exempt:
                    stack.append((child_path, child))
        elif isinstance(value, list):
            if len(value) > MAX_ARGUMENT_ITEMS:
                return Scan((path or "arguments", _too_many(len(value), "items"), MAX_ARGUMENT_ITEMS), values)
            stack.extend((f"{path}.{index}" if path else str(index), child) for index, child in enumerate(value))
    return Scan(None, values)


NOT_UNICODE = "holds a lone surrogate, which is not text (send valid Unicode)"


def is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _too_long() -> str:
    return f"longer than the limit of {MAX_ARGUMENT_STRING_CHARS} characters"


def _too_many(count: int, what: str) -> str:
    return f"{count} {what}, more than the limit of {MAX_ARGUMENT_ITEMS}"


def _limit_result(tool: str, field: str, message: str, limit: int) -> CallOutcome:
    problems = [{"field": field, "message": message}]
    details: dict[str, Any] = {"type": "invalid_arguments", "errors": problems}
    if limit:
        details["limit"] = limit
    return error_result(f"Invalid arguments for {tool}: {field}: {message}; nothing was sent", details)


def _validation_error_result(tool: str, model: type[BaseModel], error: ValidationError) -> CallOutcome:
    """Which argument was wrong and why, by argument path, without echoing values (they may be sensitive).

    At most MAX_REPORTED_PROBLEMS are listed: 400,000 bad array items would otherwise answer ~140 MB.
    """
    found = error.errors(include_url=False)  # the input is read for its JSON type only, never echoed
    meaningful = [item for item in found if not is_unset_noise(item["loc"])] or found
    problems = []
    for item in meaningful[:MAX_REPORTED_PROBLEMS]:
        # "a valid dictionary or instance of RangeQuerySpecs" names a generated class, not what to send.
        message = strict_value_message(item["type"], item["loc"], item.get("input")) or (
            "Input should be an object" if item["type"] == "model_type" else item["msg"]
        )
        problems.append({"field": argument_path(model, item["loc"]), "message": message})
    text = f"Invalid arguments for {tool}: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    details: dict[str, Any] = {"type": "invalid_arguments", "errors": problems}
    if (more := len(meaningful) - len(problems)) > 0:
        text += f"; and {more} more problem(s)"
        details["more_errors"] = more
    return error_result(text, details)
