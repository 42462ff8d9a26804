"""Lean results: nulls and empty collections leave, nothing else does, and full_results servers keep them.

The property: for any JSON-like value, `lean_result` keeps every non-null leaf that is not inside a
collection that empties, with the same value at the same path, adds nothing, and leaves no null or
empty collection as a field value (except a page's own `result` and `next_cursor`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import Response

from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.managed.service import create_account, create_server
from stripe_mcp.stripe_api.client import UpstreamResult
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.results import lean_result, to_tool_result, without_empty
from stripe_mcp.web.runtime import Runtime, open_runtime
from stripe_mcp.web.settings import Settings
from tests.support.paths import FIXTURES
from tests.support.seeding import stripe_client

PAGE_KEYS = ("result", "next_cursor")
Path_ = tuple[Any, ...]


# --- an oracle written apart from stripe_mcp.tools.results ----------------------------------------


def empties(value: Any) -> bool:
    """Whether `value` is a collection that is empty once nulls and empty collections are gone.

    A dict empties when every field is null or empties; a list keeps its items, so only [] empties.
    """
    if isinstance(value, dict):
        return all(v is None or empties(v) for v in value.values())
    if isinstance(value, list):
        return not value
    return False


def kept_leaves(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """(path, leaf) of every non-null scalar leaf that is not inside a collection that empties."""
    if isinstance(value, dict):
        for key, child in value.items():
            if child is None or empties(child):
                continue
            yield from kept_leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from kept_leaves(child, (*path, index))
    elif value is not None:
        yield path, value


def all_leaves(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """(path, leaf) of every scalar, null and empty collection."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from all_leaves(child, (*path, key))
    elif isinstance(value, list) and value:
        for index, child in enumerate(value):
            yield from all_leaves(child, (*path, index))
    else:
        yield path, value


MISSING = object()


def at(value: Any, path: Path_) -> Any:
    for step in path:
        if isinstance(value, dict) and isinstance(step, str) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
        else:
            return MISSING
    return value


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type (True == 1 == 1.0 in Python, not in JSON)."""
    return type(a) is type(b) and a == b


def field_values(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key), child
            yield from field_values(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from field_values(child, (*path, index))


def check_lean(original: Any, lean: Any, *, page: bool) -> None:
    # 1. Never loses a non-null leaf outside emptied collections.
    for path, leaf in kept_leaves(original):
        if page and path[:1] == ("next_cursor",):
            continue  # checked verbatim below
        assert same(at(lean, path), leaf), (path, leaf, at(lean, path))
    # 2. Never adds anything: every leaf of the lean value is the original's, at the same path.
    for path, leaf in all_leaves(lean):
        assert same(at(original, path), leaf) or (isinstance(leaf, (dict, list)) and not leaf), (path, leaf)
        if isinstance(leaf, (dict, list)) and not leaf:
            assert isinstance(at(original, path), type(leaf)), (path, at(original, path))
    # 3. Lean: no field is null or an empty collection, except a page's own keys.
    for path, child in field_values(lean):
        if page and (path == ("result",) or path[:1] == ("next_cursor",)):
            continue
        assert child is not None and child != {} and child != [], (path, child)
    # 4. A page keeps result (even empty) and next_cursor (even null), next_cursor unchanged.
    if page:
        for key in PAGE_KEYS:
            if key in original:
                assert key in lean
        if "next_cursor" in original:
            assert same(lean["next_cursor"], original["next_cursor"])


# --- the property ------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
keys = st.sampled_from(["result", "next_cursor", "data", "metadata", "id", "a"]) | st.text(max_size=4)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=40,
)
json_objects = st.dictionaries(keys, json_values, max_size=6)


@pytest.mark.integration  # hundreds of generated examples: the slow lane
@settings(max_examples=400, deadline=None)
@given(json_objects)
def test_lean_result_keeps_every_non_null_leaf_and_adds_nothing(value: dict[str, Any]) -> None:
    before = copy.deepcopy(value)
    lean = lean_result(value)
    assert value == before  # the input is not changed
    check_lean(value, lean, page=True)


@pytest.mark.integration  # hundreds of generated examples: the slow lane
@settings(max_examples=400, deadline=None)
@given(json_values)
def test_without_empty_keeps_every_non_null_leaf_and_adds_nothing(value: Any) -> None:
    lean = without_empty(value)
    check_lean(value, lean, page=False)
    assert without_empty(lean) == lean  # idempotent
    json.dumps(lean)  # still JSON


@pytest.mark.integration  # hundreds of generated examples: the slow lane
@settings(max_examples=200, deadline=None)
@given(st.lists(json_objects, max_size=4), st.none() | st.text(min_size=1, max_size=8))
def test_pages_keep_result_and_next_cursor(items: list[dict[str, Any]], cursor: str | None) -> None:
    page = {"result": items, "next_cursor": cursor}
    lean = lean_result(page)
    assert set(lean) == {"result", "next_cursor"}
    assert lean["next_cursor"] == cursor
    assert lean["result"] == [without_empty(item) for item in items]
    check_lean(page, lean, page=True)


def test_oracle_on_hand_written_cases() -> None:
    original = {
        "a": None,
        "b": {},
        "c": {"d": None, "e": {"f": []}},  # empties entirely
        "g": [None, {}, {"h": None}, 0, False, ""],  # a list keeps its items
        "i": {"j": 0, "k": None},
        "result": [],
        "next_cursor": None,
    }
    lean = lean_result(original)
    assert lean == {"g": [None, {}, {}, 0, False, ""], "i": {"j": 0}, "result": [], "next_cursor": None}
    assert sorted(kept_leaves(original), key=repr) == sorted(
        [(("g", 3), 0), (("g", 4), False), (("g", 5), ""), (("i", "j"), 0)], key=repr
    )
    check_lean(original, lean, page=True)


# --- every Stripe object of the spec's fixtures ----------------------------------------------


def stripe_fixtures() -> dict[str, Any]:
    return json.loads(FIXTURES.read_text(encoding="utf-8"))["resources"]


@pytest.mark.skipif(not FIXTURES.exists(), reason="fixtures3.json not present")
def test_every_fixture_object() -> None:
    resources = stripe_fixtures()
    assert len(resources) > 100
    for name, obj in resources.items():
        lean = lean_result(obj)
        check_lean(obj, lean, page=True)
        # Every field that holds something stays; the dropped ones held nothing.
        dropped = set(obj) - set(lean)
        assert all(obj[k] is None or empties(obj[k]) for k in dropped), name
        if isinstance(obj.get("id"), str):
            assert lean["id"] == obj["id"]
    page = {"result": list(resources.values()), "next_cursor": None}
    lean_page = lean_result(page)
    check_lean(page, lean_page, page=True)
    assert len(lean_page["result"]) == len(resources)
    assert lean_result({"result": [], "next_cursor": None}) == {"result": [], "next_cursor": None}


@pytest.mark.skipif(not FIXTURES.exists(), reason="fixtures3.json not present")
def test_lean_customer_fixture_is_smaller_and_has_no_nulls() -> None:
    customer = stripe_fixtures()["customer"]
    lean = lean_result(customer)
    assert customer["description"] is None and "description" not in lean
    assert customer["metadata"] == {} and "metadata" not in lean
    assert customer["invoice_settings"]["default_payment_method"] is None
    assert "invoice_settings" not in lean  # every field of it is null
    assert lean["id"] == customer["id"] and lean["balance"] == 0 and lean["delinquent"] is False
    assert len(json.dumps(lean)) < len(json.dumps(customer))


# --- to_tool_result(lean=...) on real generated tools -----------------------------------------

REGISTRY = Registry()


def upstream_answer(body: Any, path: str) -> UpstreamResult:
    return UpstreamResult(
        method="GET",
        url=f"https://api.stripe.com{path}",
        status=200,
        headers=httpx.Headers({"content-type": "application/json"}),
        body=json.dumps(body).encode(),
    )


@pytest.mark.parametrize("lean", [True, False])
def test_to_tool_result_empty_pages_keep_result_and_next_cursor(lean: bool) -> None:
    for tool, body, path in [
        (
            "list_all_stripe_customers",
            {"object": "list", "data": [], "has_more": False, "url": "/v1/customers"},
            "/v1/customers",
        ),
        (
            "search_stripe_customers",
            {
                "object": "search_result",
                "data": [],
                "has_more": False,
                "next_page": None,
                "url": "/v1/customers/search",
            },
            "/v1/customers/search",
        ),
    ]:
        outcome = to_tool_result(REGISTRY.module(tool), upstream_answer(body, path), {}, lean=lean)
        assert outcome.result["isError"] is False
        assert outcome.result["structuredContent"] == {"result": [], "next_cursor": None}
        assert json.loads(outcome.result["content"][0]["text"]) == outcome.result["structuredContent"]


def test_to_tool_result_lean_and_full_on_a_retrieve() -> None:
    customer = {
        "id": "cus_X",
        "object": "customer",
        "description": None,
        "metadata": {},
        "balance": 0,
        "email": "a@b.c",
    }
    module = REGISTRY.module("get_single_stripe_customer_by_id")
    full = to_tool_result(module, upstream_answer(customer, "/v1/customers/cus_X"), {"id": "cus_X"}, lean=False)
    lean = to_tool_result(module, upstream_answer(customer, "/v1/customers/cus_X"), {"id": "cus_X"}, lean=True)
    assert full.result["structuredContent"] == customer
    assert lean.result["structuredContent"] == {"id": "cus_X", "object": "customer", "balance": 0, "email": "a@b.c"}
    assert json.loads(lean.result["content"][0]["text"]) == lean.result["structuredContent"]


# --- end to end: the in-process runtime (store -> server config -> tools) against localstripe ---

API_KEY = "sk_test_lean_4242"


@pytest.fixture(scope="module")
def customer_id(stripe_url: str) -> str:
    client = stripe_client(stripe_url, API_KEY)
    return client.v1.customers.create(params={"email": "lena.lean@example.com", "name": "Lena Lean"}).id


@pytest.fixture
async def runtime(tmp_path: Path, stripe_url: str) -> AsyncIterator[Runtime]:
    keys = KeyBox(Fernet.generate_key())
    opened = await open_runtime(
        Settings(store_url=f"sqlite:///{tmp_path / 'store.sqlite3'}", stripe_base_url=stripe_url), keys
    )
    try:
        yield opened
    finally:
        await opened.upstream.aclose()
        await opened.store.close()


async def server_for(runtime: Runtime, config: dict[str, Any]) -> Any:
    assert runtime.keys is not None
    account = await create_account(runtime.store, runtime.keys, f"lean-{len(config)}-{id(config)}", API_KEY)
    created = await create_server(runtime.store, runtime.registry, account.id, "lean", config)
    server = await runtime.resolve(None, created.token)  # type: ignore[arg-type]  (no api-token auth: no request needed)
    assert not isinstance(server, Response)
    return server


async def call(server: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    outcome = await server.call_tool(tool, arguments)
    assert outcome.result["isError"] is False, outcome.result["content"][0]["text"]
    assert json.loads(outcome.result["content"][0]["text"]) == outcome.result["structuredContent"]
    return outcome.result["structuredContent"]


@pytest.mark.integration
async def test_full_results_server_keeps_nulls_and_lean_server_drops_them(runtime: Runtime, customer_id: str) -> None:
    full_server = await server_for(runtime, {"methods": ["read"], "full_results": True})
    lean_server = await server_for(runtime, {"methods": ["read"]})

    full = await call(full_server, "get_single_stripe_customer_by_id", {"id": customer_id})
    lean = await call(lean_server, "get_single_stripe_customer_by_id", {"id": customer_id})
    assert "description" in full and full["description"] is None
    assert "description" not in lean
    assert full["metadata"] == {} and "metadata" not in lean
    assert lean == lean_result(full)
    assert (lean["id"], lean["email"], lean["name"]) == (customer_id, "lena.lean@example.com", "Lena Lean")
    check_lean(full, lean, page=False)


@pytest.mark.integration
async def test_pages_through_the_runtime(runtime: Runtime, customer_id: str) -> None:
    lean_server = await server_for(runtime, {"methods": ["read"]})
    full_server = await server_for(runtime, {"methods": ["read"], "full_results": True})
    for server in (lean_server, full_server):
        nobody = await call(server, "list_all_stripe_customers", {"email": "nobody@example.com"})
        assert nobody == {"result": [], "next_cursor": None}
        page = await call(server, "list_all_stripe_customers", {"email": "lena.lean@example.com"})
        assert set(page) == {"result", "next_cursor"} and page["next_cursor"] is None
        assert [c["id"] for c in page["result"]] == [customer_id]
    lean_page = await call(lean_server, "list_all_stripe_customers", {"limit": 5})
    assert all("description" not in c for c in lean_page["result"])
    full_page = await call(full_server, "list_all_stripe_customers", {"limit": 5})
    assert all("description" in c for c in full_page["result"])


@pytest.mark.integration
async def test_full_results_reach_discovery_call_tool(runtime: Runtime, customer_id: str) -> None:
    """The flag holds behind the discovery meta tools too: call_tool returns the tool's own result."""
    full = await server_for(runtime, {"methods": ["read"], "tool_exposure": "discovery", "full_results": True})
    lean = await server_for(runtime, {"methods": ["read"], "tool_exposure": "discovery"})
    arguments = {"tool_name": "get_single_stripe_customer_by_id", "arguments": {"id": customer_id}}
    assert (await call(full, "call_tool", arguments))["description"] is None
    assert "description" not in await call(lean, "call_tool", arguments)
