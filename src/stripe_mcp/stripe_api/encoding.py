"""Stripe's form encoding: nested parameters as bracketed keys (`metadata[order_id]=6735`, `expand[0]=customer`).

It follows the official Stripe SDK (stripe/_encode.py `_api_encode`, then `urlencode` with `[`/`]` left
literal), with two deliberate differences for values the SDK mangles: a boolean directly inside an array
is sent as `true`/`false` (the SDK sends `True`/`False`) and a None directly inside an array is dropped
(the SDK sends `None`).

Text that is not valid Unicode (a lone surrogate such as "\\ud800", which JSON can carry) cannot be encoded
as UTF-8: it raises InvalidArgument naming the field, so nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from stripe_mcp.stripe_api.types import InvalidArgument


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Stripe's bracket form encoding of (JSON-like) parameters, in the SDK's order."""
    pairs = [pair for key, value in params.items() for pair in _flatten(key, value)]
    for key, value in pairs:
        for text in (key, value):
            if not _is_unicode(text):
                field = key.encode("utf-8", "backslashreplace").decode("utf-8")
                raise InvalidArgument(field, "holds a lone surrogate, which is not text (send valid Unicode)")
    return pairs


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _flatten(key: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if isinstance(value, Mapping):
        for subkey, subvalue in value.items():
            yield from _flatten(f"{key}[{subkey}]", subvalue)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _flatten(f"{key}[{index}]", item)
    elif isinstance(value, bool):
        yield key, "true" if value else "false"
    else:
        yield key, str(value)


def form_encode(pairs: list[tuple[str, str]]) -> str:
    # Like the SDK: brackets stay literal, which Stripe accepts and keeps logs readable.
    return urlencode(pairs).replace("%5B", "[").replace("%5D", "]")
