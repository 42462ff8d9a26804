"""Money is never guessed: an integer or boolean argument given as a string or a decimal is a tool error.

An agent that thinks in dollars and sends `{"amount": "15.00"}` or `{"amount": 15.0}` would otherwise
refund `amount=15`, a hundredth of what it meant. The error names the field and says the unit; nothing
reaches Stripe.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from tests.support.fakes import FakeStripe, respond

REGISTRY = Registry()
REFUND = {"id": "re_1", "object": "refund", "amount": 1500, "charge": "ch_1", "currency": "usd"}


def server(base_url: str) -> StripeMcpServer:
    upstream = Upstream(base_url, timeout=httpx.Timeout(5.0))
    return StripeMcpServer(REGISTRY, upstream, Account("sk_test_strict_0123456789", REGISTRY.api_version))


@pytest.mark.parametrize(
    ("amount", "given"),
    [("15.00", "got a string"), (15.0, "got a decimal number"), ("1500", "got a string"), (True, "got true or false")],
)
async def test_an_amount_that_is_not_an_integer_is_refused_with_its_unit(
    fake_stripe: FakeStripe, amount: Any, given: str
) -> None:
    fake_stripe.on("POST", "/v1/refunds", respond(200, REFUND))
    result = await server(fake_stripe.base_url).call_tool(
        "create_a_stripe_refund", {"charge": "ch_1", "amount": amount}
    )
    body = result.result
    assert body["isError"] is True
    text = body["content"][0]["text"]
    assert text == (
        "Invalid arguments for create_a_stripe_refund: amount: must be an integer in the currency's smallest unit: "
        f"1500 = 15.00 USD ({given})"
    )
    assert body["structuredContent"]["errors"] == [{"field": "amount", "message": text.split("amount: ", 1)[1]}]
    assert fake_stripe.requests == []


async def test_an_integer_amount_is_sent_as_it_is(fake_stripe: FakeStripe) -> None:
    fake_stripe.on("POST", "/v1/refunds", respond(200, REFUND))
    result = await server(fake_stripe.base_url).call_tool("create_a_stripe_refund", {"charge": "ch_1", "amount": 1500})
    assert result.result["isError"] is False
    assert ("amount", "1500") in fake_stripe.requests[0].form


async def test_a_flag_given_as_a_string_is_refused(fake_stripe: FakeStripe) -> None:
    arguments = {"charge": "ch_1", "amount": 1500, "reverse_transfer": "false"}
    result = await server(fake_stripe.base_url).call_tool("create_a_stripe_refund", arguments)
    assert result.result["isError"] is True
    assert result.result["content"][0]["text"] == (
        "Invalid arguments for create_a_stripe_refund: reverse_transfer: must be true or false, a JSON boolean "
        "(got a string)"
    )
    assert fake_stripe.requests == []


async def test_a_count_given_as_a_decimal_is_refused_without_the_money_words(fake_stripe: FakeStripe) -> None:
    result = await server(fake_stripe.base_url).call_tool("list_all_stripe_charges", {"limit": 10.0})
    assert result.result["isError"] is True
    assert result.result["content"][0]["text"] == (
        "Invalid arguments for list_all_stripe_charges: limit: must be an integer, e.g. 3 (got a decimal number)"
    )
    assert fake_stripe.requests == []


def _typed_properties(schema: dict[str, Any], wanted: str) -> list[str]:
    """Top-level properties whose schema is `wanted`, alone or beside Stripe's "" (unset) choice."""
    names = []
    for name, prop in schema["properties"].items():
        branches = prop.get("anyOf", [prop])
        if any(branch.get("type") == wanted for branch in branches):
            names.append(name)
    return names


@pytest.mark.integration  # an every-tool sweep (~9 s): the slow lane, as the other sweeps
def test_every_integer_and_boolean_argument_of_every_tool_is_strict() -> None:
    """The generated models themselves: a string never passes for an integer or a boolean, nor 1.0 for an integer."""
    checked = 0
    for name in REGISTRY.tools:
        schema = REGISTRY.input_schema(name)
        model = REGISTRY.module(name).Arguments
        for kind, wrong_values in (("integer", ("1", 1.0, True)), ("boolean", ("true", 1))):
            for field in _typed_properties(schema, kind):
                for wrong in wrong_values:
                    with pytest.raises(ValidationError):
                        model.model_validate({field: wrong})
                    checked += 1
    assert checked > 1000
