"""Every MCP tool result this server answers is built here, as a `CallOutcome`.

- `success_result`: compact JSON text and the same object as `structuredContent`.
- `error_result`: `isError`, a one-line text and the details in `structuredContent`.
- `json_error_result`: `isError` with the details as the text too, for the meta tools (discovery,
  ChatGPT), whose clients read the text.

`to_tool_result` turns what Stripe answered (an `UpstreamResult`) into one; nothing raises. List and
search tools return `{"result": [...], "next_cursor": ...}` (stripe_api/pagination.py). Stripe's
errors carry its `type`, `code`, `decline_code`, `message`, `param`, `http_status` and `request_id`
(absent fields are left out) and `rate_limited_reason` (Stripe's `Stripe-Rate-Limited-Reason`, e.g.
`global-rate`); a 429 also sets the rate-limit headers of ratelimit.py. Secret and restricted API keys
are masked in every message about Stripe's answer.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from typing import Any, NoReturn

import orjson

from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.stripe_api.client import MAX_BODY_BYTES as MAX_UPSTREAM_BODY_BYTES
from stripe_mcp.stripe_api.client import UpstreamResult
from stripe_mcp.stripe_api.pagination import PAGINATIONS, page_result
from stripe_mcp.stripe_api.types import InvalidArgument, ToolModule
from stripe_mcp.tools.projection import PathTree, project
from stripe_mcp.tools.ratelimit import rate_limit_headers

MAX_INLINE_BYTES = 1024 * 1024
STRIPE_ERROR_FIELDS = ("type", "code", "decline_code", "message", "param")
LABELLED_FIELDS = ("code", "decline_code", "param", "request_id", "rate_limited_reason")
# What Stripe's own 429 body says, for a 429 that came without one.
RATE_LIMIT_ERROR = {
    "type": "invalid_request_error",
    "code": "rate_limit",
    "message": "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
}
_SECRET_KEY = re.compile(r"\b(sk|rk)_(live|test)_[0-9A-Za-z]+")
_TOO_DEEP = "JSON nested too deeply to pass on"
# orjson reads an integer beyond 64 bits as a float: a body with a run of 19 digits goes to the standard library.
# Found by mapping digits to "9" and the rest to " ", then a substring search: 10x faster than a regular expression.
_DIGITS_AS_NINES = bytes(57 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"9" * 19


def success_result(structured: dict[str, Any], *, text: str | None = None) -> CallOutcome:
    """`text` defaults to `structured` as compact JSON."""
    content = _compact(structured) if text is None else text
    return CallOutcome({"content": [_text(content)], "structuredContent": structured, "isError": False})


def error_result(text: str, details: dict[str, Any], *, headers: Mapping[str, str] | None = None) -> CallOutcome:
    return CallOutcome({"content": [_text(text)], "structuredContent": details, "isError": True}, dict(headers or {}))


def json_error_result(details: dict[str, Any]) -> CallOutcome:
    return error_result(_compact(details), details)


def invalid_argument_result(error: InvalidArgument) -> CallOutcome:
    details = {"type": "invalid_request_error", "param": error.field, "message": error.message}
    return _masked_error(f"Invalid argument {error.field}: {error.message}", details)


def to_tool_result(
    tool: ToolModule,
    upstream: UpstreamResult,
    arguments: Mapping[str, Any],
    *,
    lean: bool = False,
    fields: PathTree | None = None,
) -> CallOutcome:
    """`lean` drops null fields and empty collections from successes (Stripe objects are mostly nulls);
    `fields` keeps only those paths of each object (the paths asked for stay, even when null)."""
    if upstream.failure is not None:
        return _transport_error(upstream)
    if upstream.too_large:
        return _too_large(upstream)
    if upstream.status == 429:
        return _stripe_error(upstream, rate_limit_headers(upstream.headers, livemode=upstream.livemode))
    if not 200 <= (upstream.status or 0) < 300:
        return _stripe_error(upstream)
    if not _is_json(upstream.headers):
        return _binary_result(upstream)
    try:
        body = parse_stripe_json(upstream.body)
    except ValueError:
        return _unreadable(upstream, "a body that is not valid JSON")
    except RecursionError:
        return _unreadable(upstream, _TOO_DEEP)
    try:
        shaped = _shape(tool, body, arguments)
        if fields is not None:
            return success_result(_projected(tool, shaped, fields))
        return success_result(lean_result(shaped) if lean else shaped)
    except InvalidArgument as error:
        return invalid_argument_result(error)
    except RecursionError:  # JSON nested deeper than the interpreter can walk: say so rather than fail the call
        return _unreadable(upstream, _TOO_DEEP)


def parse_stripe_json(body: bytes) -> Any:
    """Stripe's JSON exactly as the standard library reads it, but through orjson where that gives the same
    values (4-5x faster); NaN, the infinities and numbers too large for a double are not JSON and raise
    ValueError, as anything malformed does (RecursionError for nesting too deep to walk)."""
    if _LONG_NUMBER not in body.translate(_DIGITS_AS_NINES):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the standard library decides, and says why: it may yet read it (a BOM, a lone surrogate)
    return json.loads(body, parse_constant=_not_json, parse_float=_finite_float)


def _not_json(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("a number too large for a double")
    return number


_PAGE_KEYS = frozenset({"result", "next_cursor"})


def lean_result(structured: dict[str, Any]) -> dict[str, Any]:
    """Without nulls and empty collections, except a page's own `result` and `next_cursor` (as it is)."""
    lean = _without_empty(structured, keep=_PAGE_KEYS)
    if "next_cursor" in structured:
        lean["next_cursor"] = structured["next_cursor"]
    return lean


def without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return _without_empty(value)
    if isinstance(value, list):
        return [without_empty(item) if isinstance(item, (dict, list)) else item for item in value]
    return value


def _without_empty(value: dict[str, Any], keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """`value` without nulls and empty (or emptied) collections; the keys in `keep` stay, their values made lean."""
    lean = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            item = without_empty(item)
            if not item and key not in keep:
                continue
        elif item is None and key not in keep:
            continue
        lean[key] = item
    return lean


def mask_secrets(text: str) -> str:
    return _SECRET_KEY.sub(lambda match: f"{match[1]}_{match[2]}_****", text)


# --- successes -----------------------------------------------------------------------


def _shape(tool: ToolModule, body: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
    if tool.PAGINATION in PAGINATIONS:
        return page_result(tool, body, arguments)
    return body if isinstance(body, dict) else {"result": body}


def _projected(tool: ToolModule, shaped: dict[str, Any], fields: PathTree) -> dict[str, Any]:
    if tool.PAGINATION in PAGINATIONS:
        return {"result": [project(item, fields) for item in shaped["result"]], "next_cursor": shaped["next_cursor"]}
    projected: dict[str, Any] = project(shaped, fields)
    return projected


def _binary_result(upstream: UpstreamResult) -> CallOutcome:
    content_type = _media_type(upstream.headers)
    size = len(upstream.body)
    details = {"content_type": content_type, "size": size}
    if size > MAX_INLINE_BYTES:
        text = f"Stripe returned {content_type} of {size} bytes, more than the {MAX_INLINE_BYTES} bytes a tool result carries"
        return _masked_error(text, {"type": "response_too_large", "message": text, **details})
    structured = {**details, "data": base64.b64encode(upstream.body).decode("ascii")}
    text = f"Stripe returned {content_type} of {size} bytes; structuredContent.data holds it as base64"
    return success_result(structured, text=text)


# --- errors --------------------------------------------------------------------------


def _masked_error(text: str, details: dict[str, Any], headers: Mapping[str, str] | None = None) -> CallOutcome:
    """Texts about Stripe's answer or the request can quote an API key (Stripe echoes a wrong one)."""
    return error_result(mask_secrets(text), details, headers=headers)


def _stripe_error(upstream: UpstreamResult, headers: Mapping[str, str] | None = None) -> CallOutcome:
    error = _error_object(upstream)
    if error is None and upstream.status == 429:
        error = RATE_LIMIT_ERROR
    if error is None:
        return _unreadable(upstream, _describe_body(upstream))
    details = {name: mask_secrets(str(error[name])) for name in STRIPE_ERROR_FIELDS if error.get(name) is not None}
    details.setdefault("type", "api_error")
    details.setdefault("message", f"Stripe answered HTTP {upstream.status} without a message")
    details |= _status_details(upstream)
    labels = [f"HTTP {upstream.status}"] + [f"{name} {details[name]}" for name in LABELLED_FIELDS if name in details]
    text = f"Stripe {details['type']} ({', '.join(labels)}): {details['message']}{_outcome_note(upstream)}"
    return _masked_error(text, details, headers)


def _error_object(upstream: UpstreamResult) -> dict[str, Any] | None:
    try:
        body = json.loads(upstream.body)
    except (ValueError, RecursionError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _unreadable(upstream: UpstreamResult, what: str) -> CallOutcome:
    answered = f"answered {upstream.method} {upstream.path} with HTTP {upstream.status}"
    text = f"Stripe ({upstream.upstream}) {answered} and {what}{_outcome_note(upstream)}"
    details = {"type": "api_error", "message": mask_secrets(text), **_status_details(upstream)}
    if content_type := _media_type(upstream.headers):
        details["content_type"] = content_type
    return _masked_error(text, details)


def _too_large(upstream: UpstreamResult) -> CallOutcome:
    text = (
        f"Stripe ({upstream.upstream}) answered {upstream.method} {upstream.path} with HTTP {upstream.status} and a body "
        f"over the limit of {MAX_UPSTREAM_BODY_BYTES} bytes, which was not read: ask for less (a smaller limit, fewer "
        f"expand paths){_outcome_note(upstream)}"
    )
    details = {
        "type": "response_too_large",
        "message": mask_secrets(text),
        "limit": MAX_UPSTREAM_BODY_BYTES,
        **_status_details(upstream),
    }
    return _masked_error(text, details)


def _transport_error(upstream: UpstreamResult) -> CallOutcome:
    text = f"Stripe ({upstream.upstream}) {upstream.failure} for {upstream.method} {upstream.path}{_outcome_note(upstream)}"
    details: dict[str, Any] = {
        "type": "api_connection_error",
        "message": mask_secrets(text),
        "upstream": upstream.upstream,
    }
    if upstream.method == "POST":
        details["may_have_been_applied"] = upstream.sent
        details["idempotency_key"] = upstream.idempotency_key
    return _masked_error(text, details)


def _outcome_note(upstream: UpstreamResult) -> str:
    """Whether a POST took effect is what the caller needs to know to retry safely."""
    if not upstream.sent:
        return "; nothing was sent"
    uncertain = upstream.failure is not None or (upstream.status or 0) >= 500 or 200 <= (upstream.status or 0) < 300
    if upstream.method != "POST" or not uncertain:
        return ""
    return (
        "; the request may or may not have been applied: retrying with "
        f'idempotency_key "{upstream.idempotency_key}" is safe'
    )


def _status_details(upstream: UpstreamResult) -> dict[str, Any]:
    details: dict[str, Any] = {"http_status": upstream.status}
    if request_id := upstream.headers.get("request-id"):
        details["request_id"] = request_id
    if reason := upstream.headers.get("stripe-rate-limited-reason"):
        details["rate_limited_reason"] = reason
    return details


def _describe_body(upstream: UpstreamResult) -> str:
    if not upstream.body:
        return "an empty body"
    if _is_json(upstream.headers):
        try:
            json.loads(upstream.body)
        except ValueError:
            return "a body that is not valid JSON"
        except RecursionError:
            return _TOO_DEEP
        return "JSON that is not a Stripe error object"
    return f"{_media_type(upstream.headers)} ({len(upstream.body)} bytes), not a Stripe error object"


# --- helpers -------------------------------------------------------------------------


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(headers: Mapping[str, str]) -> bool:
    media_type = _media_type(headers)
    return not media_type or media_type == "application/json" or media_type.endswith("+json")


def _compact(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a lone surrogate, an integer beyond 64 bits: the standard library writes those
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _text(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}
