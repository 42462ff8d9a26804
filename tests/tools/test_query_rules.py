"""query_stripe's and fields' rules in process: conditions, aggregates, the cursor, paths, and how a scan stops.

The end-to-end behaviour (the official MCP client, `stripe-mcp serve`, localstripe) is in test_query.py and
test_query_limits.py; here a scripted stand-in for the server's send path shows the stops that a real peer
cannot be made to produce on demand (the time limit, a failure on a later page).
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import httpx
import pytest

from stripe_mcp.mcp.jsonrpc import JsonRpcError
from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.stripe_api.client import UpstreamResult
from stripe_mcp.tools.calls import SentCall
from stripe_mcp.tools.object_fields import PathError
from stripe_mcp.tools.projection import path_tree, project, values_at
from stripe_mcp.tools.query.aggregates import MAX_GROUPS, Aggregate, Groups, Totals, sort_rows
from stripe_mcp.tools.query.conditions import Condition
from stripe_mcp.tools.query.cursor import CursorError, ScanState, decode_cursor, encode_cursor
from stripe_mcp.tools.query.scan import run_query
from stripe_mcp.tools.query.tool import INPUT_SCHEMA, TOOL_JSON
from stripe_mcp.tools.registry import Registry

REGISTRY = Registry()
LIST = "list_all_stripe_customers"


def path(text: str, tool: str = LIST, expand: tuple[str, ...] = ()) -> Any:
    return REGISTRY.fields.resolve(tool, text, expand, list_items=tool != "get_single_stripe_customer_by_id")


# --- paths -------------------------------------------------------------------------------------------------


def test_paths_resolve_to_what_the_object_holds() -> None:
    assert path("email").kinds == {"s"}
    assert path("created").kinds == {"t"} and path("created").numeric
    assert path("metadata").kinds == {"map"} and path("metadata.anything").kinds == {"s"}
    assert path("preferred_locales").kinds == {"array"} and path("preferred_locales").item_kinds == {"s"}
    assert path("subscriptions.data.items.data.price.unit_amount").through_list
    assert not path("address.city").through_list
    assert path("customer.email", "list_all_stripe_charges", ("data.customer",)).kinds == {"s"}
    assert path("customer", "list_all_stripe_charges").kinds == {"s"}  # an id unless expanded


@pytest.mark.parametrize(
    ("tool", "text", "says"),
    [
        (LIST, "emial", "did you mean email"),
        (LIST, "nothing.here", "'nothing' is not a field of the object"),
        (LIST, "email.domain", "'domain' is not a field of email"),
        (LIST, "a..b", "not a dotted path"),
        ("list_all_stripe_charges", "customer.email", "add 'data.customer' to expand"),
        ("get_single_stripe_charge_by_id", "customer.email", "add 'customer' to expand"),
        (LIST, ".".join(["a"] * 13), "deeper than"),
    ],
)
def test_a_path_that_is_no_field_says_why(tool: str, text: str, says: str) -> None:
    with pytest.raises(PathError) as error:
        REGISTRY.fields.resolve(tool, text, (), list_items=tool.startswith("list"))
    assert says in str(error.value)


def test_every_read_tool_that_returns_an_object_has_fields() -> None:
    catalog = json.loads((REGISTRY.root / "fields.json").read_text())
    readers = {name for name, tool in REGISTRY.tools.items() if tool.kind in ("get", "list", "search")}
    assert set(catalog["tools"]) <= readers
    with_fields = {name for name in readers if "fields" in REGISTRY.tools[name].arguments}
    assert with_fields == set(catalog["tools"])
    assert len(with_fields) >= 210 and {"list_all_stripe_customers", "get_single_stripe_balance_by_id"} <= with_fields
    # Compact enough to read on first use: the size this file is allowed before it needs splitting up.
    assert (REGISTRY.root / "fields.json").stat().st_size < 250_000


def test_the_fields_file_is_read_only_when_a_path_is_checked() -> None:
    registry = Registry()
    registry.tools_json(tuple(registry.tools))
    assert "_catalog" not in vars(registry.fields)
    registry.fields.resolve(LIST, "email")
    assert "_catalog" in vars(registry.fields)


# --- projection ----------------------------------------------------------------------------------------


def test_projection_keeps_the_paths_nested_and_the_nulls_asked_for() -> None:
    item = {"id": "cus_1", "email": None, "metadata": {"a": "1", "b": "2"}, "address": None, "items": {"data": [
        {"price": {"id": "p1", "unit_amount": 5}}, {"price": {"id": "p2", "unit_amount": 7}}]}}  # fmt: skip
    tree = path_tree([("id",), ("email",), ("metadata", "a"), ("address", "city"), ("items", "data", "price", "id")])
    assert project(item, tree) == {
        "id": "cus_1",
        "email": None,
        "metadata": {"a": "1"},
        "address": None,
        "items": {"data": [{"price": {"id": "p1"}}, {"price": {"id": "p2"}}]},
    }
    assert path_tree([("metadata", "a"), ("metadata",)]) == {"metadata": {}}  # the whole map wins
    assert project({"customer": "cus_1"}, path_tree([("customer", "email")])) == {}  # an id is no object
    assert values_at(item, ("items", "data", "price", "unit_amount")) == [5, 7]
    assert values_at(item, ("nothing",)) == []


# --- conditions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "op", "value", "item", "holds"),
    [
        ("email", "eq", "a@x.io", {"email": "a@x.io"}, True),
        ("email", "eq", "A@x.io", {"email": "a@x.io"}, False),  # eq is exact; contains ignores case
        ("email", "contains", "A@X", {"email": "a@x.io"}, True),
        ("email", "ne", "a@x.io", {}, True),  # a missing field is not equal to anything
        ("email", "exists", False, {"email": None}, True),
        ("email", "exists", True, {"email": ""}, True),
        ("balance", "gt", 10, {"balance": 11}, True),
        ("balance", "gt", 10, {"balance": "11"}, False),  # never a string for a number
        ("balance", "eq", 1, {"balance": True}, False),  # never a boolean for a number
        ("delinquent", "eq", True, {"delinquent": 1}, False),
        ("balance", "in", [1, 2], {"balance": 2}, True),
        ("preferred_locales", "contains", "fr", {"preferred_locales": ["en", "fr"]}, True),
        ("preferred_locales", "contains", "f", {"preferred_locales": ["en", "fr"]}, False),  # a member, not a part
        ("subscriptions.data.status", "eq", "past_due", {"subscriptions": {"data": [{"status": "active"},
                                                                                   {"status": "past_due"}]}}, True),
        ("subscriptions.data.status", "ne", "past_due", {"subscriptions": {"data": [{"status": "active"},
                                                                                   {"status": "past_due"}]}}, False),
        ("balance", "lte", 5, {}, False),
    ],
)  # fmt: skip
def test_conditions(field: str, op: str, value: Any, item: dict[str, Any], holds: bool) -> None:
    assert Condition(path(field), op, value).holds(item) is holds


# --- aggregates ----------------------------------------------------------------------------------------


def test_totals_keep_integer_sums_exact_and_skip_what_is_no_number() -> None:
    totals = Totals()
    for item in ({"amount": 1500}, {"amount": 1}, {"amount": None}, {"amount": "9"}, {}):
        totals.add(item, path("amount", "list_all_stripe_charges"))
    assert (totals.value("count"), totals.value("sum"), totals.value("min"), totals.value("max")) == (5, 1501, 1, 1500)
    assert isinstance(totals.value("sum"), int) and totals.value("avg") == 750.5
    assert Totals().value("avg") is None and Totals().value("sum") == 0
    assert Totals.from_json(totals.to_json()) == totals


def test_groups_are_bounded() -> None:
    groups = Groups(path("email"))
    for index in range(MAX_GROUPS):
        groups.add({"email": f"{index}@x.io"}, Aggregate("count", None))
    with pytest.raises(ValueError, match="more than 1000 distinct values"):
        groups.add({"email": "one-more@x.io"}, Aggregate("count", None))


def test_rows_sort_numbers_strings_booleans_then_missing() -> None:
    rows = [{"v": "b"}, {"v": 2}, {}, {"v": True}, {"v": 10}, {"v": "a"}]
    assert sort_rows(rows, ("v",), False) == [{"v": 2}, {"v": 10}, {"v": "a"}, {"v": "b"}, {"v": True}, {}]
    assert sort_rows(rows, ("v",), True)[:2] == [{"v": 10}, {"v": 2}] and sort_rows(rows, ("v",), True)[-1] == {}


# --- the cursor ----------------------------------------------------------------------------------------


def test_a_cursor_resumes_only_its_own_query() -> None:
    state = ScanState("cus_9", 3, 120, 7, [7, 0, 0, None, None])
    text = encode_cursor("fingerprint-a", state)
    assert decode_cursor(text, "fingerprint-a") == state
    with pytest.raises(CursorError, match="another query"):
        decode_cursor(text, "fingerprint-b")
    for broken in ("", "not base64 !", base64.urlsafe_b64encode(b"plain").decode(), text[:-4]):
        with pytest.raises(CursorError):
            decode_cursor(broken, "fingerprint-a")
    bomb = base64.urlsafe_b64encode(zlib.compress(b"[" * 10_000_000)).decode()
    with pytest.raises(CursorError):
        decode_cursor(bomb, "fingerprint-a")


# --- the scan, with a scripted send path ---------------------------------------------------------------


class Scripted:
    """The server's send path, answering each page from a script; records what was asked."""

    registry = REGISTRY
    lean = True
    tool_names = (LIST, "query_stripe")

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked: list[dict[str, Any]] = []

    async def send(self, name: str, arguments: dict[str, Any], *, via: str | None = None) -> SentCall | CallOutcome:
        assert via == "query_stripe"
        self.asked.append(arguments)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body = answer
        upstream = UpstreamResult(
            "GET", "https://api.stripe.com/v1/customers", status, httpx.Headers(), json.dumps(body).encode()
        )
        return SentCall(REGISTRY.module(name), {**arguments}, upstream)


def page(count: int, more: bool, start: int = 0) -> tuple[int, dict[str, Any]]:
    data = [{"id": f"cus_{start + i}", "balance": start + i} for i in range(count)]
    return 200, {"object": "list", "data": data, "has_more": more}


async def test_the_time_limit_stops_before_any_page() -> None:
    sender = Scripted()
    outcome = await run_query(sender, {"tool": LIST, "aggregate": "count"}, time_limit=0)
    answer = outcome.result["structuredContent"]
    assert (answer["complete"], answer["scanned"], answer["stopped_by"]) == (False, 0, "time")
    assert answer["next_cursor"] and sender.asked == []


async def test_a_budget_refusal_is_an_answer_and_a_later_failure_keeps_what_was_scanned() -> None:
    refusal = JsonRpcError(-32029, "Request budget of this server exceeded", data={"retry_after": 7})
    stopped = await run_query(Scripted(page(100, True), refusal), {"tool": LIST, "aggregate": "sum:balance"})
    answer = stopped.result["structuredContent"]
    assert stopped.result["isError"] is False
    assert (answer["scanned"], answer["stopped_by"], answer["retry_after"]) == (100, "budget", 7)
    assert answer["result"] == [{"value": sum(range(100))}]
    failed = await run_query(
        Scripted(page(100, True), (500, {"error": {"type": "api_error", "message": "boom"}})),
        {"tool": LIST, "aggregate": "count"},
    )
    answer = failed.result["structuredContent"]
    assert (answer["scanned"], answer["stopped_by"], answer["complete"]) == (100, "error", False)
    assert "boom" in answer["message"]


async def test_a_failing_first_page_is_stripes_error() -> None:
    outcome = await run_query(
        Scripted((400, {"error": {"type": "invalid_request_error", "message": "No such customer", "param": "x"}})),
        {"tool": LIST, "aggregate": "count"},
    )
    assert outcome.result["isError"] is True and "No such customer" in outcome.result["content"][0]["text"]


async def test_pages_ask_for_no_more_than_max_items() -> None:
    sender = Scripted(page(100, True), page(30, True, 100))
    outcome = await run_query(sender, {"tool": LIST, "aggregate": "count", "max_items": 130})
    assert [a["limit"] for a in sender.asked] == [100, 30]
    assert sender.asked[1]["next_cursor"] == "cus_99"
    assert outcome.result["structuredContent"]["stopped_by"] == "max_items"


async def test_a_tampered_cursor_total_is_refused() -> None:
    query = {"tool": LIST, "aggregate": "count"}
    outcome = await run_query(Scripted(page(100, True)), {**query, "max_items": 100})
    cursor = outcome.result["structuredContent"]["next_cursor"]
    raw = json.loads(zlib.decompress(base64.urlsafe_b64decode(cursor + "==")))
    raw[6] = ["many", 0, 0, None, None]
    forged = base64.urlsafe_b64encode(zlib.compress(json.dumps(raw).encode())).decode()
    refused = await run_query(Scripted(), {**query, "next_cursor": forged})
    assert refused.result["isError"] is True and "next_cursor" in refused.result["content"][0]["text"]


def test_the_listing_is_client_safe() -> None:
    listing = json.loads(TOOL_JSON)
    assert listing["inputSchema"] == INPUT_SCHEMA and INPUT_SCHEMA["additionalProperties"] is False
    assert "$ref" not in TOOL_JSON and '"title"' not in json.dumps(INPUT_SCHEMA)
    assert len(listing["description"]) <= 1024
