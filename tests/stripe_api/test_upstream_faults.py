"""Upstream + results against a scripted loopback Stripe: faults, headers, encoding."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import importlib
import json
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.stripe_api.client import DEFAULT_BASE_URL, USER_AGENT, Limits, Timeouts, Upstream
from stripe_mcp.stripe_api.pagination import encode_offset_cursor
from stripe_mcp.stripe_api.request import build_request
from stripe_mcp.stripe_api.types import InvalidArgument
from stripe_mcp.tools.ratelimit import rate_limit_headers
from stripe_mcp.tools.results import invalid_argument_result, to_tool_result
from tests.support.fakes import (
    FakeStripe,
    ResettingServer,
    respond,
    respond_raw,
    sleep_then,
    stripe_error,
    trickle,
    unused_port_url,
)

API_KEY = "sk_test_51SecretKeyThatMustNeverLeak0123456789"
LIVE_KEY = "sk_live_51SecretLiveKeyThatMustNeverLeak0123"
VERSION = "2025-09-30.clover"
EMAIL = "sarah.jones@example.com"
READ_TIMEOUT = 0.5
TOTAL_TIMEOUT = 1.5
SLACK = 1.0


def make_tool(**overrides: Any) -> SimpleNamespace:
    fields: dict[str, Any] = dict(
        HTTP_METHOD="POST",
        PATH="/v1/refunds",
        SERVER_URL=None,
        PATH_ARGUMENTS={},
        QUERY_ARGUMENTS=(),
        BODY_ARGUMENTS=("amount", "charge", "metadata", "expand", "reason"),
        BODY_ENCODING="form",
        PAGINATION=None,
    )
    return SimpleNamespace(**(fields | overrides))


REFUND = make_tool()
GET_CHARGE = make_tool(
    HTTP_METHOD="GET",
    PATH="/v1/charges/{charge}",
    PATH_ARGUMENTS={"id": "charge"},
    QUERY_ARGUMENTS=("expand",),
    BODY_ARGUMENTS=(),
    BODY_ENCODING=None,
)
DELETE_CUSTOMER = make_tool(
    HTTP_METHOD="DELETE",
    PATH="/v1/customers/{customer}",
    PATH_ARGUMENTS={"id": "customer"},
    BODY_ARGUMENTS=(),
    BODY_ENCODING=None,
)
LIST_SUBSCRIPTIONS = make_tool(
    HTTP_METHOD="GET",
    PATH="/v1/customers/{customer}/subscriptions",
    PATH_ARGUMENTS={"customer_id": "customer"},
    QUERY_ARGUMENTS=("limit", "starting_after", "ending_before", "expand"),
    BODY_ARGUMENTS=(),
    BODY_ENCODING=None,
    PAGINATION="cursor",
)
SEARCH_CUSTOMERS = make_tool(
    HTTP_METHOD="GET",
    PATH="/v1/customers/search",
    QUERY_ARGUMENTS=("query", "limit", "page", "expand"),
    BODY_ARGUMENTS=(),
    BODY_ENCODING=None,
    PAGINATION="search",
)
LIST_LOCAL = make_tool(
    HTTP_METHOD="GET",
    PATH="/v1/things",
    QUERY_ARGUMENTS=("expand",),
    BODY_ARGUMENTS=(),
    BODY_ENCODING=None,
    PAGINATION="local",
)
GET_QUOTE_PDF = make_tool(
    HTTP_METHOD="GET",
    PATH="/v1/quotes/{quote}/pdf",
    SERVER_URL="https://files.stripe.com",
    PATH_ARGUMENTS={"id": "quote"},
    BODY_ARGUMENTS=(),
    BODY_ENCODING=None,
)
UPLOAD_FILE = make_tool(
    PATH="/v1/files",
    SERVER_URL="https://files.stripe.com",
    BODY_ARGUMENTS=("file", "purpose", "file_link_data", "expand"),
    BODY_ENCODING="multipart",
)


@pytest.fixture
async def upstream(fake_stripe: FakeStripe) -> AsyncIterator[Upstream]:
    client = Upstream(fake_stripe.base_url, timeout=Timeouts(READ_TIMEOUT), total_timeout=TOTAL_TIMEOUT)
    try:
        yield client
    finally:
        await client.aclose()


async def run(upstream: Upstream, tool: SimpleNamespace, arguments: dict[str, Any], **options: Any) -> CallOutcome:
    options = {"api_key": API_KEY, "stripe_version": VERSION} | options
    result = await upstream.call(tool, arguments, **options)
    outcome = to_tool_result(tool, result, arguments)
    assert options["api_key"] not in json.dumps(outcome.result)
    return outcome


def text_of(outcome: CallOutcome) -> str:
    return outcome.result["content"][0]["text"]


# --- Stripe errors -------------------------------------------------------------------


async def test_card_error_carries_stripe_fields(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on(
        "POST",
        "/v1/refunds",
        stripe_error(
            402,
            request_id="req_card1",
            type="card_error",
            code="card_declined",
            decline_code="insufficient_funds",
            message="Your card has insufficient funds.",
            charge="ch_1",
        ),
    )
    outcome = await run(upstream, REFUND, {"charge": "ch_1", "amount": 1500})
    assert outcome.result["isError"] is True
    assert outcome.result["structuredContent"] == {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
        "http_status": 402,
        "request_id": "req_card1",
    }
    for part in ("card_error", "card_declined", "insufficient_funds", "Your card has insufficient funds.", "402"):
        assert part in text_of(outcome)
    assert outcome.headers == {}


async def test_resource_missing_keeps_none_fields_out(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on(
        "GET",
        "/v1/charges/ch_missing",
        stripe_error(
            404,
            type="invalid_request_error",
            code="resource_missing",
            param="id",
            message="No such charge: 'ch_missing'",
            decline_code=None,
        ),
    )
    outcome = await run(upstream, GET_CHARGE, {"id": "ch_missing"})
    assert outcome.result["isError"] is True
    details = outcome.result["structuredContent"]
    assert details["code"] == "resource_missing"
    assert details["param"] == "id"
    assert details["http_status"] == 404
    assert "decline_code" not in details
    assert "No such charge" in text_of(outcome)


async def test_api_key_echoed_by_stripe_is_masked(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    message = f"Invalid API Key provided: {API_KEY}"
    fake_stripe.on("GET", "/v1/charges/ch_1", stripe_error(401, type="invalid_request_error", message=message))
    outcome = await run(upstream, GET_CHARGE, {"id": "ch_1"})
    assert "sk_test_****" in outcome.result["structuredContent"]["message"]


# --- rate limiting -------------------------------------------------------------------


async def test_429_is_not_retried_and_sets_rate_limit_headers(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on(
        "POST",
        "/v1/refunds",
        stripe_error(
            429,
            headers={"Retry-After": "2", "Stripe-Rate-Limited-Reason": "endpoint-rate"},
            type="invalid_request_error",
            code="rate_limit",
            message="Too many requests hit the API too quickly.",
        ),
    )
    outcome = await run(upstream, REFUND, {"charge": "ch_1"})
    assert len(fake_stripe.requests) == 1
    assert outcome.result["isError"] is True
    assert outcome.result["structuredContent"]["http_status"] == 429
    assert outcome.result["structuredContent"]["rate_limited_reason"] == "endpoint-rate"
    assert "Too many requests" in text_of(outcome)
    assert outcome.headers == {
        "ratelimit-limit": "25",
        "ratelimit-remaining": "0",
        "ratelimit-reset": "2",
        "retry-after": "2",
    }


async def test_429_without_body_or_headers_uses_fallbacks(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("GET", "/v1/charges/ch_1", respond_raw(429, b"", "text/plain"))
    outcome = await run(upstream, GET_CHARGE, {"id": "ch_1"}, api_key=LIVE_KEY)
    assert outcome.result["structuredContent"]["code"] == "rate_limit"
    assert outcome.headers == {
        "ratelimit-limit": "100",
        "ratelimit-remaining": "0",
        "ratelimit-reset": "1",
        "retry-after": "1",
    }


def test_rate_limit_headers_map_ietf_and_x_headers() -> None:
    now = 1_700_000_000.0
    ietf = {"ratelimit-limit": "100, 100;w=1", "ratelimit-remaining": "3", "ratelimit-reset": "4"}
    assert rate_limit_headers(httpx.Headers(ietf), livemode=False, now=now) == {
        "ratelimit-limit": "100",
        "ratelimit-remaining": "3",
        "ratelimit-reset": "4",
        "retry-after": "4",
    }
    legacy = {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 7)}
    assert rate_limit_headers(httpx.Headers(legacy), livemode=True, now=now) == {
        "ratelimit-limit": "50",
        "ratelimit-remaining": "0",
        "ratelimit-reset": "7",
        "retry-after": "7",
    }
    http_date = {"retry-after": "Tue, 14 Nov 2023 22:13:25 GMT"}  # now + 5 s
    assert rate_limit_headers(httpx.Headers(http_date), livemode=True, now=now)["retry-after"] == "5"


# --- transport faults ----------------------------------------------------------------


@pytest.mark.integration
async def test_timeout_ends_within_the_configured_timeout(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("POST", "/v1/refunds", sleep_then(READ_TIMEOUT + 3, respond(200, {"id": "re_1"})))
    outcome = await run(upstream, REFUND, {"charge": "ch_1", "idempotency_key": "ik-timeout-1"})
    details = outcome.result["structuredContent"]
    assert outcome.result["isError"] is True
    assert details["type"] == "api_connection_error"
    assert details["may_have_been_applied"] is True
    assert details["idempotency_key"] == "ik-timeout-1"
    text = text_of(outcome)
    assert f"did not answer within {READ_TIMEOUT:g}s" in text
    assert "may or may not have been applied" in text and "ik-timeout-1" in text
    assert "127.0.0.1" in text and "POST /v1/refunds" in text


@pytest.mark.integration
async def test_slow_trickle_is_cut_by_the_total_timeout(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("GET", "/v1/charges/ch_slow", trickle(chunks=50, interval=READ_TIMEOUT / 2))
    outcome = await run(upstream, GET_CHARGE, {"id": "ch_slow"})
    assert outcome.result["isError"] is True
    assert f"did not complete its answer within {TOTAL_TIMEOUT:g}s" in text_of(outcome)


async def test_connection_reset(resetting_server: ResettingServer) -> None:
    upstream = Upstream(resetting_server.base_url, timeout=Timeouts(READ_TIMEOUT), total_timeout=TOTAL_TIMEOUT)
    try:
        outcome = await run(upstream, REFUND, {"charge": "ch_1"})
    finally:
        await upstream.aclose()
    assert len(resetting_server.requests) == 1
    assert outcome.result["isError"] is True
    assert outcome.result["structuredContent"]["may_have_been_applied"] is True
    assert "connection" in text_of(outcome)


async def test_connection_refused_says_nothing_was_sent() -> None:
    upstream = Upstream(unused_port_url(), timeout=Timeouts(READ_TIMEOUT), total_timeout=TOTAL_TIMEOUT)
    try:
        outcome = await run(upstream, REFUND, {"charge": "ch_1"})
    finally:
        await upstream.aclose()
    assert outcome.result["isError"] is True
    assert outcome.result["structuredContent"]["may_have_been_applied"] is False
    assert "nothing was sent" in text_of(outcome)


async def test_a_call_cancelled_at_any_moment_leaves_its_connection_usable(fake_stripe: FakeStripe) -> None:
    """Cancelled after 0, 1, 2, ... event-loop turns, a call is stopped in each phase in turn: connecting,
    sending, reading, handing its connection back. The pool holds one connection, so one left behind
    unusable (as httpcore kept it when a cancellation landed as it was handed back) fails the next call."""
    fake_stripe.on("GET", "/v1/charges/ch_1", respond(200, {"id": "ch_1", "object": "charge"}))
    one_connection = Limits(max_connections=1)
    upstream = Upstream(fake_stripe.base_url, timeout=Timeouts(READ_TIMEOUT), limits=one_connection)

    def call() -> Any:
        return upstream.call(GET_CHARGE, {"id": "ch_1"}, api_key=API_KEY, stripe_version=VERSION)

    try:
        for turns in range(1000):
            cancelled = asyncio.ensure_future(call())
            for _ in range(turns):
                await asyncio.sleep(0)
            finished = cancelled.done()
            cancelled.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await cancelled
            after = await call()
            assert (after.failure, after.status) == (None, 200), f"cancelled after {turns} turns"
            if finished:  # every phase has been cut short once
                break
        else:
            pytest.fail("no call finished within 1,000 turns")
    finally:
        await upstream.aclose()


async def test_a_compressed_answer_is_decoded(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    body = gzip.compress(json.dumps({"id": "ch_1", "object": "charge", "amount": 1500}).encode())
    headers = {"Content-Encoding": "gzip"}
    fake_stripe.on("GET", "/v1/charges/ch_1", respond_raw(200, body, "application/json", headers))
    outcome = await run(upstream, GET_CHARGE, {"id": "ch_1"})
    assert outcome.result["structuredContent"] == {"id": "ch_1", "object": "charge", "amount": 1500}


async def test_500_html(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake_stripe.on("POST", "/v1/refunds", respond_raw(500, page, "text/html", {"Request-Id": "req_html"}))
    outcome = await run(upstream, REFUND, {"charge": "ch_1"})
    details = outcome.result["structuredContent"]
    assert outcome.result["isError"] is True
    assert details["type"] == "api_error"
    assert details["http_status"] == 500
    assert details["content_type"] == "text/html"
    assert details["request_id"] == "req_html"
    assert "may or may not have been applied" in text_of(outcome)
    assert "<html>" not in text_of(outcome)


async def test_malformed_json(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("GET", "/v1/charges/ch_1", respond_raw(200, b'{"id": "ch_1", "amount": ', "application/json"))
    outcome = await run(upstream, GET_CHARGE, {"id": "ch_1"})
    assert outcome.result["isError"] is True
    assert "not valid JSON" in text_of(outcome)


# --- what reaches Stripe ---------------------------------------------------------------


async def test_post_headers_and_form_body(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("POST", "/v1/refunds", respond(200, {"id": "re_1", "object": "refund", "amount": 1500}))
    arguments = {"charge": "ch_1", "amount": 1500, "metadata": {"order_id": "6735"}, "expand": ["charge"]}
    outcome = await run(upstream, REFUND, arguments, stripe_account="acct_123")
    assert outcome.result == {
        "content": [{"type": "text", "text": '{"id":"re_1","object":"refund","amount":1500}'}],
        "structuredContent": {"id": "re_1", "object": "refund", "amount": 1500},
        "isError": False,
    }
    (request,) = fake_stripe.requests
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["stripe-version"] == VERSION
    assert request.headers["stripe-account"] == "acct_123"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert uuid.UUID(request.headers["idempotency-key"]).version == 4
    assert request.body == b"charge=ch_1&amount=1500&metadata[order_id]=6735&expand[0]=charge"
    assert request.query == ""


async def test_idempotency_key_per_call_or_given(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("POST", "/v1/refunds", respond(200, {"id": "re_1"}))
    await run(upstream, REFUND, {"charge": "ch_1"})
    await run(upstream, REFUND, {"charge": "ch_1"})
    await run(upstream, REFUND, {"charge": "ch_1", "idempotency_key": "order-6735-refund"})
    keys = [request.headers["idempotency-key"] for request in fake_stripe.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "order-6735-refund"
    assert all("idempotency_key" not in request.body.decode() for request in fake_stripe.requests)
    assert "stripe-account" not in fake_stripe.requests[0].headers


async def test_get_and_delete_send_query_and_no_idempotency_key(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("GET", "/v1/charges/ch_1", respond(200, {"id": "ch_1"}))
    fake_stripe.on("DELETE", "/v1/customers/cus_1", respond(200, {"id": "cus_1", "deleted": True}))
    await run(upstream, GET_CHARGE, {"id": "ch_1", "expand": ["customer", "invoice.subscription"]})
    await run(upstream, DELETE_CUSTOMER, {"id": "cus_1"})
    get, delete = fake_stripe.requests
    assert get.query == "expand[0]=customer&expand[1]=invoice.subscription"
    assert (get.body, delete.body) == (b"", b"")
    for request in (get, delete):
        assert "idempotency-key" not in request.headers
        assert "content-type" not in request.headers
        assert request.headers["stripe-version"] == VERSION


@pytest.mark.parametrize(
    "bad_id", ["", ".", "..", "../balance", "ch_1/refunds", "a\\b", "ch_\n1", "ch_\x001", "ch\x7f"]
)
async def test_unsafe_ids_never_reach_stripe(upstream: Upstream, fake_stripe: FakeStripe, bad_id: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await upstream.call(GET_CHARGE, {"id": bad_id}, api_key=API_KEY, stripe_version=VERSION)
    assert raised.value.field == "id"
    assert fake_stripe.requests == []
    outcome = invalid_argument_result(raised.value)
    assert outcome.result["isError"] is True
    assert outcome.result["structuredContent"]["param"] == "id"


async def test_ids_are_percent_encoded(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    await run(upstream, GET_CHARGE, {"id": "ch 1?x=1#y%2F"})
    assert fake_stripe.requests[0].raw_path == "/v1/charges/ch%201%3Fx%3D1%23y%252F"
    assert fake_stripe.requests[0].query == ""


async def test_missing_path_argument_is_refused(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    with pytest.raises(InvalidArgument):
        await upstream.call(GET_CHARGE, {}, api_key=API_KEY, stripe_version=VERSION)
    assert fake_stripe.requests == []


async def test_multipart_upload_decodes_base64(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    fake_stripe.on("POST", "/v1/files", respond(200, {"id": "file_1", "object": "file"}))
    content = b"%PDF-1.4 evidence \x00\xff"
    arguments = {
        "purpose": "dispute_evidence",
        "file": base64.b64encode(content).decode(),
        "file_link_data": {"create": True},
    }
    outcome = await run(upstream, UPLOAD_FILE, arguments)
    assert outcome.result["structuredContent"]["id"] == "file_1"
    (request,) = fake_stripe.requests
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert "idempotency-key" in request.headers
    assert content in request.body
    assert b'name="purpose"\r\n\r\ndispute_evidence' in request.body
    assert b'name="file_link_data[create]"\r\n\r\ntrue' in request.body
    assert b'name="file"; filename="upload.pdf"' in request.body


async def test_multipart_refuses_bad_base64(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await upstream.call(
            UPLOAD_FILE, {"purpose": "x", "file": "not base64!"}, api_key=API_KEY, stripe_version=VERSION
        )
    assert raised.value.field == "file"
    assert fake_stripe.requests == []


def test_server_url_operations_follow_the_base_url() -> None:
    assert Upstream().base_url_for(UPLOAD_FILE) == "https://files.stripe.com"
    assert Upstream().base_url_for(REFUND) == DEFAULT_BASE_URL
    assert Upstream("http://127.0.0.1:9").base_url_for(UPLOAD_FILE) == "http://127.0.0.1:9"


# --- results -------------------------------------------------------------------------


async def test_cursor_pagination(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    page = {"object": "list", "data": [{"id": "sub_1"}, {"id": "sub_2"}], "has_more": True, "url": "/v1/x"}
    fake_stripe.on("GET", "/v1/customers/cus_1/subscriptions", respond(200, page))
    first = await run(upstream, LIST_SUBSCRIPTIONS, {"customer_id": "cus_1", "limit": 2})
    assert first.result["structuredContent"] == {"result": [{"id": "sub_1"}, {"id": "sub_2"}], "next_cursor": "sub_2"}
    fake_stripe.on("GET", "/v1/customers/cus_1/subscriptions", respond(200, page | {"has_more": False}))
    last = await run(upstream, LIST_SUBSCRIPTIONS, {"customer_id": "cus_1", "limit": 2, "next_cursor": "sub_2"})
    assert last.result["structuredContent"]["next_cursor"] is None
    assert [request.query for request in fake_stripe.requests] == ["limit=2", "limit=2&starting_after=sub_2"]


async def test_search_pagination(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    page = {"object": "search_result", "data": [{"id": "cus_1"}], "has_more": True, "next_page": "pg_abc"}
    fake_stripe.on("GET", "/v1/customers/search", respond(200, page))
    outcome = await run(upstream, SEARCH_CUSTOMERS, {"query": f"email:'{EMAIL}'", "next_cursor": "pg_0"})
    assert outcome.result["structuredContent"] == {"result": [{"id": "cus_1"}], "next_cursor": "pg_abc"}
    assert fake_stripe.requests[0].query_pairs == [("query", f"email:'{EMAIL}'"), ("page", "pg_0")]


async def test_local_pagination_slices_and_round_trips(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    items = [{"id": f"thing_{index}"} for index in range(5)]
    fake_stripe.on("GET", "/v1/things", respond(200, {"object": "list", "data": items, "has_more": False}))
    seen, cursor = [], None
    while True:
        arguments = {"limit": 2} | ({"next_cursor": cursor} if cursor else {})
        outcome = await run(upstream, LIST_LOCAL, arguments)
        seen += outcome.result["structuredContent"]["result"]
        cursor = outcome.result["structuredContent"]["next_cursor"]
        if cursor is None:
            break
    assert seen == items
    assert all(request.query == "" for request in fake_stripe.requests)


async def test_local_pagination_refuses_foreign_cursor(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    for cursor in ("sub_123", encode_offset_cursor(2)[:-1] + "!", "b2Zmc2V0Oi0x"):  # the last is offset:-1
        with pytest.raises(InvalidArgument):
            await upstream.call(LIST_LOCAL, {"next_cursor": cursor}, api_key=API_KEY, stripe_version=VERSION)
    assert fake_stripe.requests == []


async def test_pdf_is_returned_as_base64(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    pdf = b"%PDF-1.7 quote"
    fake_stripe.on("GET", "/v1/quotes/qt_1/pdf", respond_raw(200, pdf, "application/pdf"))
    outcome = await run(upstream, GET_QUOTE_PDF, {"id": "qt_1"})
    assert outcome.result["isError"] is False
    assert outcome.result["structuredContent"] == {
        "content_type": "application/pdf",
        "size": len(pdf),
        "data": base64.b64encode(pdf).decode(),
    }
    assert "application/pdf" in text_of(outcome) and str(len(pdf)) in text_of(outcome)


async def test_large_pdf_is_an_error_telling_the_size(upstream: Upstream, fake_stripe: FakeStripe) -> None:
    pdf = b"%PDF" + b"0" * (1024 * 1024)
    fake_stripe.on("GET", "/v1/quotes/qt_1/pdf", respond_raw(200, pdf, "application/pdf"))
    outcome = await run(upstream, GET_QUOTE_PDF, {"id": "qt_1"})
    assert outcome.result["isError"] is True
    assert str(len(pdf)) in text_of(outcome)
    assert "data" not in outcome.result["structuredContent"]


async def test_one_pool_of_clients_per_base_url(fake_stripe: FakeStripe) -> None:
    upstream = Upstream(fake_stripe.base_url)
    fake_stripe.on("GET", "/v1/charges/ch_1", respond(200, {"id": "ch_1"}))
    try:
        for _ in range(3):
            await run(upstream, GET_CHARGE, {"id": "ch_1"})
        assert upstream._wire is not None and len(upstream._wire.pools) == 1
    finally:
        await upstream.aclose()
    assert upstream._wire is None


def test_total_timeout_defaults_to_the_read_timeout() -> None:
    assert Upstream(timeout=Timeouts(7.0, connect=2.0)).total_timeout == 7.0


def test_generated_modules_build_requests() -> None:
    tools = importlib.import_module("stripe_mcp.generated.tools.list_all_stripe_customers")
    listing = build_request(tools, {"email": EMAIL, "limit": 2, "next_cursor": "cus_1"}, base_url=DEFAULT_BASE_URL)
    assert (
        listing.url == f"{DEFAULT_BASE_URL}/v1/customers?email=sarah.jones%40example.com&limit=2&starting_after=cus_1"
    )
    search = importlib.import_module("stripe_mcp.generated.tools.search_stripe_customers")
    page = build_request(search, {"query": f"email:'{EMAIL}'", "next_cursor": "pg_1"}, base_url=DEFAULT_BASE_URL)
    assert page.query == [("query", f"email:'{EMAIL}'"), ("page", "pg_1")]
    refund = importlib.import_module("stripe_mcp.generated.tools.create_a_stripe_refund")
    created = build_request(
        refund, {"charge": "ch_1", "amount": 1500, "idempotency_key": "k"}, base_url=DEFAULT_BASE_URL
    )
    assert (created.method, created.body) == ("POST", b"charge=ch_1&amount=1500")
