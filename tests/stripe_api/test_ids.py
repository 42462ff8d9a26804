"""The one table of Stripe id prefixes agrees with the generated tools, and the id pattern finds ids, not words."""

from __future__ import annotations

import pytest

from stripe_mcp.stripe_api.ids import ID_PREFIXES, STRIPE_ID
from stripe_mcp.tools.registry import Registry

REGISTRY = Registry()


@pytest.mark.parametrize("prefix", sorted(ID_PREFIXES))
def test_a_retrieve_tool_gets_one_object_of_the_prefix_resource(prefix: str) -> None:
    entry = ID_PREFIXES[prefix]
    assert (entry.retrieve_tool is None) == (entry.dashboard_path is None)
    if entry.retrieve_tool is None:
        return
    tool = REGISTRY.tools[entry.retrieve_tool]
    assert (tool.kind, tool.resource) == ("get", entry.resource)
    assert "id" in tool.arguments


def test_every_resource_is_named_as_the_tools_name_it() -> None:
    """Discovery matches an id's resource against the manifest's resources and argument names."""
    names = {tool.resource for tool in REGISTRY.tools.values()}
    names |= {argument for tool in REGISTRY.tools.values() for argument in tool.arguments}
    assert {entry.resource for entry in ID_PREFIXES.values()} <= names


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ("cus_NAg8g4", "cus"),
        ("ch_999888", "ch"),
        ("cs_test_a1b2c3", "cs"),
        ("sub_sched_1MabcD", "sub_sched"),
        ("xyz_1234567", "xyz"),  # a prefix need not be known to be an id
    ],
)
def test_ids_are_found_with_their_prefix(text: str, prefix: str) -> None:
    match = STRIPE_ID.fullmatch(text)
    assert match is not None and match.group(1) == prefix


@pytest.mark.parametrize("text", ["tax_rates", "cash_balance", "cus_1", "CUS_ABCDEFG", "payment_intent"])
def test_words_and_stubs_are_not_ids(text: str) -> None:
    assert STRIPE_ID.search(text) is None
