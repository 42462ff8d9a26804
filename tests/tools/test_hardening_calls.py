"""Hardening of tool calls (issue "Hardening, round two"): arguments checked cheaply first and heavy validation off
the event loop, Stripe's answers held to a size and parsed off the loop when large, 429 headers parsed defensively,
and text that is not Unicode refused before anything is sent.

A StripeMcpServer calls tests/support/fakes.py's FakeStripe on 127.0.0.1, in the test's own loop.
"""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from stripe_mcp.stripe_api import client as client_module
from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.stripe_api.encoding import encode_params
from stripe_mcp.stripe_api.types import InvalidArgument
from stripe_mcp.tools import arguments as arguments_module
from stripe_mcp.tools import server as server_module
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from tests.support.fakes import FakeStripe, respond, respond_raw

API_KEY = "sk_test_hardening_calls_0123456789"
CHARGE = {"id": "ch_1", "object": "charge", "amount": 1500, "currency": "usd"}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


@pytest.fixture
async def server(registry: Registry, fake_stripe: FakeStripe) -> Any:
    upstream = Upstream(fake_stripe.base_url, timeout=httpx.Timeout(10.0))
    made = StripeMcpServer(registry, upstream, Account(API_KEY, registry.api_version))
    yield made
    await upstream.aclose()


def structured(outcome: Any) -> dict[str, Any]:
    return outcome.result["structuredContent"]


# --------------------------------------------------------------------------- 5. cheap checks first


async def test_an_array_of_500k_items_is_refused_before_any_model_runs(
    server: StripeMcpServer, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 2.5 MB `expand` of 500,000 invalid items held the loop 2.78 s in the model; the walk refuses it first."""
    module = server.registry.module("get_single_stripe_charge_by_id")
    validated: list[Any] = []
    original = module.Arguments.model_validate
    monkeypatch.setattr(module.Arguments, "model_validate", lambda *a, **k: validated.append(a) or original(*a, **k))
    outcome = await server.call_tool("get_single_stripe_charge_by_id", {"id": "ch_1", "expand": ["nope"] * 500_000})
    assert outcome.result["isError"] is True
    limit = arguments_module.MAX_ARGUMENT_ITEMS
    assert structured(outcome)["errors"] == [
        {"field": "expand", "message": f"500000 items, more than the limit of {limit}"}
    ]
    assert structured(outcome)["limit"] == limit and "nothing was sent" in outcome.result["content"][0]["text"]
    assert validated == [] and fake_stripe.requests == []


async def test_objects_and_the_whole_are_bounded_too(server: StripeMcpServer, fake_stripe: FakeStripe) -> None:
    limit = arguments_module.MAX_ARGUMENT_ITEMS
    wide = await server.call_tool("create_a_stripe_refund", {"metadata": {f"k{i}": "v" for i in range(limit + 1)}})
    assert structured(wide)["errors"][0] == {
        "field": "metadata",
        "message": f"{limit + 1} members, more than the limit of {limit}",
    }
    values = arguments_module.MAX_ARGUMENT_VALUES
    many = [{"a": [1] * 900} for _ in range(values // 900 + 1)]
    total = await server.call_tool("create_a_stripe_refund", {"metadata": {"nested": many}})
    assert structured(total)["errors"][0]["field"] == "arguments"
    assert structured(total)["limit"] == values
    assert fake_stripe.requests == []
    # Within every bound, the most a call may carry is validated and sent as before.
    fake_stripe.on("POST", "/v1/refunds", respond(200, {"id": "re_1", "object": "refund"}))
    largest = {"charge": "ch_1", "metadata": {f"k{i}": "v" for i in range(limit)}, "expand": ["charge"] * limit}
    assert arguments_module.scan_arguments(largest).values <= values
    assert (await server.call_tool("create_a_stripe_refund", largest)).result["isError"] is False
    assert len(fake_stripe.requests) == 1


# --------------------------------------------------------------------------- 8. Stripe's answers are bounded


async def test_an_answer_over_the_limit_is_a_clear_tool_error(
    server: StripeMcpServer, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 50 MB answer became a 105 MB tool result; now anything over the limit is refused unread."""
    monkeypatch.setattr(client_module, "MAX_BODY_BYTES", 1_000_000)
    monkeypatch.setattr("stripe_mcp.tools.results.MAX_UPSTREAM_BODY_BYTES", 1_000_000)
    huge = json.dumps({"object": "list", "data": [{"id": "ch_x", "pad": "x" * 1000}] * 1500, "has_more": False})
    fake_stripe.on("GET", "/v1/charges", respond_raw(200, huge.encode(), "application/json"))
    outcome = await server.call_tool("list_all_stripe_charges", {"limit": 100})
    assert outcome.result["isError"] is True
    details = structured(outcome)
    assert details["type"] == "response_too_large" and details["limit"] == 1_000_000 and details["http_status"] == 200
    assert "1000000 bytes" in outcome.result["content"][0]["text"]
    assert len(json.dumps(outcome.result)) < 2_000

    async def chunked(request: Request) -> Response:  # no Content-Length: counted while reading
        from starlette.responses import StreamingResponse

        async def body() -> Any:
            for _ in range(30):
                yield b" " * 100_000

        return StreamingResponse(body(), 200, media_type="application/json")

    fake_stripe.on("GET", "/v1/customers", chunked)
    assert structured(await server.call_tool("list_all_stripe_customers", {}))["type"] == "response_too_large"
    bomb = gzip.compress(b" " * 5_000_000)  # 5 KB that unpack to 5 MB
    fake_stripe.on(
        "GET", "/v1/disputes", respond_raw(200, bomb, "application/json", headers={"content-encoding": "gzip"})
    )
    assert structured(await server.call_tool("list_all_stripe_disputes", {}))["type"] == "response_too_large"


async def test_a_large_answer_is_made_a_result_off_the_event_loop(
    server: StripeMcpServer, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = server_module.to_tool_result

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(server_module, "to_tool_result", spy)
    fake_stripe.on("GET", "/v1/charges/ch_1", respond(200, CHARGE))
    page = {"object": "list", "data": [{**CHARGE, "description": "d" * 5000}] * 100, "has_more": False}
    fake_stripe.on("GET", "/v1/charges", respond(200, page))
    small = await server.call_tool("get_single_stripe_charge_by_id", {"id": "ch_1"})
    large = await server.call_tool("list_all_stripe_charges", {"limit": 100})
    assert small.result["isError"] is False and large.result["isError"] is False
    assert len(structured(large)["result"]) == 100
    assert threads[0] == threading.main_thread().name and threads[1] != threading.main_thread().name


# --------------------------------------------------------------------------- 9. 429 headers parsed defensively


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "9" * 5000},
        {"ratelimit-reset": "9" * 400},
        {"retry-after": "9" * 5000, "ratelimit-reset": "9" * 400, "ratelimit-limit": "1" * 4400},
        {"retry-after": "Mon, 99 Foo 99999 99:99:99 GMT", "x-ratelimit-remaining": "-" + "9" * 5000},
    ],
    ids=["5000-digit retry-after", "400-digit reset", "all absurd", "bad date"],
)
async def test_absurd_429_headers_fall_back_to_the_documented_defaults(
    server: StripeMcpServer, fake_stripe: FakeStripe, headers: dict[str, str]
) -> None:
    """A Retry-After of 5,000 digits or a RateLimit-Reset of 400 answered -32603 Internal error."""
    error = {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}
    fake_stripe.on("GET", "/v1/charges/ch_1", respond(429, {"error": error}, headers))
    outcome = await server.call_tool("get_single_stripe_charge_by_id", {"id": "ch_1"})
    assert outcome.result["isError"] is True and structured(outcome)["http_status"] == 429
    assert outcome.headers == {
        "ratelimit-limit": "25",  # a test key's documented default
        "ratelimit-remaining": "0",
        "ratelimit-reset": "1",
        "retry-after": "1",
    }


# --------------------------------------------------------------------------- text that is not Unicode


@pytest.mark.parametrize(
    "tool, arguments, field",
    [
        ("create_a_stripe_refund", {"charge": "ch_1", "metadata": {"note": "a\ud800b"}}, "metadata.note"),
        ("create_a_stripe_refund", {"charge": "ch_1", "metadata": {"\udfff": "x"}}, "metadata.\\udfff (key)"),
        ("create_a_stripe_customer", {"description": "\ud800"}, "description"),
        ("list_all_stripe_customers", {"email": "x\ud800@example.com"}, "email"),
        ("get_single_stripe_customer_by_id", {"id": "cus_\ud800"}, "id"),
    ],
    ids=["form value", "form key", "top-level form value", "query value", "path id"],
)
async def test_a_lone_surrogate_is_a_tool_error_naming_the_field(
    server: StripeMcpServer, fake_stripe: FakeStripe, tool: str, arguments: dict[str, Any], field: str
) -> None:
    """It raised UnicodeEncodeError in the form encoder (answered -32603), or became U+FFFD in a key."""
    outcome = await server.call_tool(tool, arguments)
    assert outcome.result["isError"] is True, outcome.result
    assert structured(outcome)["errors"] == [{"field": field, "message": arguments_module.NOT_UNICODE}]
    assert field in outcome.result["content"][0]["text"]
    json.dumps(outcome.result)  # serializable as the transports will
    assert fake_stripe.requests == []


def test_the_form_encoder_refuses_a_lone_surrogate_itself() -> None:
    """Whatever reaches it: the request is never built."""
    for params, field in (({"metadata": {"note": "\ud800"}}, "metadata[note]"), ({"k\udfff": "v"}, "k\\udfff")):
        with pytest.raises(InvalidArgument) as raised:
            encode_params(params)
        assert raised.value.field == field
