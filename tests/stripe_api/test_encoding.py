"""Our form encoding against the official Stripe SDK's, computed here at test time."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from stripe._api_requestor import _APIRequestor
from stripe._encode import _api_encode
from stripe._requestor_options import RequestorOptions

from stripe_mcp.stripe_api.encoding import encode_params, form_encode
from stripe_mcp.stripe_api.request import build_request

BASE_URL = "http://stripe.test"

VECTORS: dict[str, dict[str, Any]] = {
    "nested objects": {"metadata": {"order_id": "6735", "channel": "web"}},
    "arrays of objects": {"items": [{"price": "price_1", "quantity": 2}, {"price": "price_2"}]},
    "expand": {"expand": ["customer", "invoice.subscription"]},
    "booleans": {"capture": False, "off_session": True, "automatic_tax": {"enabled": True}},
    "unset with empty string": {"description": "", "metadata": {"order_id": ""}},
    "deep nesting": {"a": {"b": {"c": {"d": [{"e": {"f": "g"}}, {"e": {"f": False}}]}}}},
    "unicode": {"name": "Zoë Ñandú 東京", "metadata": {"ключ": "значение"}, "note": "💳"},
    "integers": {"amount": 1500, "zero": 0, "negative": -5, "big": 2**53 + 1},
    "floats": {"percent_off": 12.5, "tiny": 1e-7},
    "empty dict and list": {"metadata": {}, "expand": [], "items": [{}], "kept": "x"},
    "none dropped": {"description": None, "metadata": {"a": None, "b": "1"}},
    "reserved characters": {"email": "a+b@example.com", "query": "email:'x&y=z' [1]", "metadata": {"a b[c]": "d%e/f"}},
    "nested arrays": {"a": [[1, 2], ["x", {"y": True}]]},
    "insertion order": {"z": 1, "a": 2, "m": {"z": 1, "a": 2}, "b": [{"z": 1, "a": 2}]},
}


def sdk_pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, str(value)) for key, value in _api_encode(params)]


def sdk_requestor() -> _APIRequestor:
    return _APIRequestor(options=RequestorOptions(api_key="sk_test_encoding", base_addresses={"api": BASE_URL}))


def tool(method: str, names: tuple[str, ...]) -> SimpleNamespace:
    return SimpleNamespace(
        HTTP_METHOD=method,
        PATH="/v1/probe",
        SERVER_URL=None,
        PATH_ARGUMENTS={},
        QUERY_ARGUMENTS=names if method != "POST" else (),
        BODY_ARGUMENTS=names if method == "POST" else (),
        BODY_ENCODING="form" if method == "POST" else None,
        PAGINATION=None,
    )


@pytest.mark.parametrize("params", VECTORS.values(), ids=VECTORS.keys())
def test_pairs_match_the_sdk(params: dict[str, Any]) -> None:
    assert encode_params(params) == sdk_pairs(params)


@pytest.mark.parametrize("params", VECTORS.values(), ids=VECTORS.keys())
def test_encoded_string_matches_the_sdk(params: dict[str, Any]) -> None:
    sdk = urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")
    assert form_encode(encode_params(params)) == sdk


@pytest.mark.parametrize("params", VECTORS.values(), ids=VECTORS.keys())
def test_post_body_matches_the_sdk_request(params: dict[str, Any]) -> None:
    _, _, headers, sdk_body, *_ = sdk_requestor()._args_for_request_with_retries(
        "post", "/v1/probe", params, base_address="api", api_mode="V1"
    )
    ours = build_request(tool("POST", tuple(params)), params, base_url=BASE_URL)
    assert ours.body == sdk_body.encode()
    assert ours.content_type == headers["Content-Type"]
    assert ours.url == f"{BASE_URL}/v1/probe"


@pytest.mark.parametrize("params", VECTORS.values(), ids=VECTORS.keys())
def test_get_url_matches_the_sdk_request(params: dict[str, Any]) -> None:
    _, sdk_url, *_ = sdk_requestor()._args_for_request_with_retries(
        "get", "/v1/probe", dict(params), base_address="api", api_mode="V1"
    )
    ours = build_request(tool("GET", tuple(params)), params, base_url=BASE_URL)
    assert ours.url == sdk_url
    assert ours.body is None


def test_booleans_are_lower_case_words() -> None:
    assert encode_params({"a": True, "b": {"c": False}}) == [("a", "true"), ("b[c]", "false")]


def test_empty_string_is_kept_to_unset_a_field() -> None:
    assert encode_params({"description": ""}) == [("description", "")]


def test_scalars_directly_in_arrays_differ_from_the_sdk_on_purpose() -> None:
    # The SDK sends Python's spelling (`True`, `None`) for these; Stripe expects `true`
    # and has no use for a literal `None`.
    params = {"flags": [True, False], "ids": ["a", None, "b"]}
    assert sdk_pairs(params) == [
        ("flags[0]", "True"),
        ("flags[1]", "False"),
        ("ids[0]", "a"),
        ("ids[1]", "None"),
        ("ids[2]", "b"),
    ]
    assert encode_params(params) == [("flags[0]", "true"), ("flags[1]", "false"), ("ids[0]", "a"), ("ids[2]", "b")]
