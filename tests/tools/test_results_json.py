"""Stripe's JSON is read through orjson only where that gives the standard library's values exactly, and replies
are written through orjson with the standard library behind it for what orjson refuses."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_mcp.mcp.jsonrpc import dumps, response_bytes
from stripe_mcp.stripe_api.client import UpstreamResult
from stripe_mcp.tools.results import parse_stripe_json, to_tool_result

GET_CUSTOMER = SimpleNamespace(PAGINATION=None)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)  # beyond 64 bits, where orjson would read a float
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)  # lone surrogates included
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.integration
@settings(max_examples=400, deadline=None)
@given(values)
def test_stripe_json_reads_as_the_standard_library_reads_it(value: object) -> None:
    body = json.dumps(value).encode()
    parsed = parse_stripe_json(body)
    assert json.dumps(parsed) == json.dumps(json.loads(body))  # same values, same types (1 is not 1.0)


@pytest.mark.integration
@settings(max_examples=200, deadline=None)
@given(values)
def test_replies_are_the_json_of_their_values(value: object) -> None:
    assert json.loads(dumps(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize("body", [b"NaN", b'{"amount": Infinity}', b'{"amount": -Infinity}', b'{"amount": 1e400}'])
def test_what_is_not_json_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_stripe_json(body)


def test_an_amount_beyond_64_bits_stays_exact() -> None:
    body = b'{"id": "ch_1", "amount": 123456789012345678901234567890}'
    assert parse_stripe_json(body)["amount"] == 123456789012345678901234567890
    assert b"123456789012345678901234567890" in response_bytes(1, parse_stripe_json(body))


def test_a_nan_from_stripe_is_a_tool_error_not_an_internal_error() -> None:
    answer = UpstreamResult("GET", "https://api.stripe.com/v1/customers/cus_1", 200, {}, b'{"balance": NaN}')
    outcome = to_tool_result(GET_CUSTOMER, answer, {})  # type: ignore[arg-type]  (a tool module needs no more here)
    assert outcome.result["isError"] is True
    assert "not valid JSON" in outcome.result["content"][0]["text"]
