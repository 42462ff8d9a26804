"""The checks a tool call's arguments pass before anything is sent: the string limit, then the tool's
own pydantic model. A failed check is a tool error naming the fields, never echoing their values."""

from __future__ import annotations

import weakref
from typing import Any

from pydantic import BaseModel, ValidationError

from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.tools.argument_paths import argument_path, is_unset_noise
from stripe_mcp.tools.results import error_result
from stripe_mcp.tools.strict_values import strict_value_message

MAX_ARGUMENT_STRING_CHARS = 100_000  # per string (and per object key) in tool arguments; base64 file content excepted
MAX_REPORTED_PROBLEMS = 20  # validation problems listed in one tool error
_LABEL_CHARS = 64  # of an object key, in the path of an overlong string

_BINARY_FIELDS: weakref.WeakKeyDictionary[type[BaseModel], frozenset[str]] = weakref.WeakKeyDictionary()


def check_arguments(tool: str, model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any] | CallOutcome:
    """The arguments as Stripe is sent them (validated, by alias, unset ones left out), or the tool error saying
    why they cannot be."""
    too_long = overlong_string(arguments, _binary_fields(model))
    if too_long is not None:
        return _string_limit_result(tool, too_long)
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


def overlong_string(
    arguments: Any, exempt: frozenset[str] = frozenset(), limit: int = MAX_ARGUMENT_STRING_CHARS
) -> str | None:
    """The path (`a.b.0`) of the first string or object key in `arguments` longer than `limit` characters, else None."""
    stack: list[tuple[str, Any]] = [("", arguments)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if len(value) > limit:
                return path or "arguments"
        elif isinstance(value, dict):
            for raw_key, child in value.items():
                key = raw_key if isinstance(raw_key, str) else str(raw_key)
                label = key if len(key) <= _LABEL_CHARS else key[:_LABEL_CHARS] + "…"
                child_path = f"{path}.{label}" if path else label
                if len(key) > limit:
                    return child_path + " (key)"
                if path or key not in exempt:
                    stack.append((child_path, child))
        elif isinstance(value, list):
            stack.extend((f"{path}.{index}" if path else str(index), child) for index, child in enumerate(value))
    return None


def _string_limit_result(tool: str, field: str) -> CallOutcome:
    message = f"longer than the limit of {MAX_ARGUMENT_STRING_CHARS} characters"
    problems = [{"field": field, "message": message}]
    details = {"type": "invalid_arguments", "errors": problems, "limit": MAX_ARGUMENT_STRING_CHARS}
    return error_result(f"Invalid arguments for {tool}: {field}: {message}", details)


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
