"""Argument errors name argument paths only: never a generated class, a union branch or Stripe's unset idiom."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stripe_mcp.mcp.types import CallOutcome
from stripe_mcp.tools.arguments import check_arguments
from stripe_mcp.tools.registry import Registry

REGISTRY = Registry(max_loaded_modules=4)
ARGUMENT_PATH = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


def problems(tool: str, arguments: dict[str, Any]) -> list[dict[str, str]]:
    """The problems listed in the tool error (none when the arguments are valid)."""
    outcome = check_arguments(tool, REGISTRY.module(tool).Arguments, arguments)
    if not isinstance(outcome, CallOutcome):
        return []
    errors: list[dict[str, str]] = outcome.result["structuredContent"]["errors"]
    return errors


def test_a_date_string_for_a_created_filter() -> None:
    found = problems("list_all_stripe_customers", {"created": {"gte": "2024-01-01"}})
    assert [p["field"] for p in found] == ["created.gte", "created"]
    text = repr(found)
    assert "RangeQuerySpecs" not in text and "int" not in [p["field"].split(".")[-1] for p in found]
    whole = problems("list_all_stripe_customers", {"created": "2024-01-01"})
    assert {p["field"] for p in whole} == {"created"} and "instance of" not in repr(whole)


def test_the_unset_branch_adds_no_noise() -> None:
    found = problems("create_a_stripe_customer", {"address": {"city": 5}, "metadata": {"Order-Ref": 5}})
    assert found == [
        {"field": "address.city", "message": "Input should be a valid string"},
        {"field": "metadata.Order-Ref", "message": "Input should be a valid string"},
    ]


NESTED = sorted(
    (name, argument)
    for name in REGISTRY.tools
    for argument, schema in REGISTRY.input_schema(name)["properties"].items()
    if "properties" in schema or "anyOf" in schema
)


@pytest.mark.parametrize(("tool", "argument"), NESTED[:: max(1, len(NESTED) // 150)])
def test_nested_argument_errors_name_paths(tool: str, argument: str) -> None:
    named = 0
    for wrong in (7, "x", {"not_an_argument": 1}, [{"not_an_argument": 1}]):
        found = problems(tool, {argument: wrong})
        named += any(p["field"].split(".")[0] == argument for p in found)
        for problem in found:  # its own, and "Field required" for the required ones left out
            assert ARGUMENT_PATH.match(problem["field"]), (tool, argument, problem)
            assert "instance of" not in problem["message"]
    assert named, (tool, argument)  # some wrong value was refused, so its paths were read
