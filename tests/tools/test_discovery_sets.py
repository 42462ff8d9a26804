"""Discovery ranking on plain-language task sets: tests/tools/discovery_sets/dev.yaml (the ranking is tuned on it),
heldout.yaml (written once, before the ranking changed; scored while it was tuned), and heldout2.yaml to heldout7.yaml
(each written blind by a helper session from the tool list alone, committed before its first measurement; heldout2
was read while tuning, heldout3 to heldout7 never). heldout5 is the held-out half of a set of 240 tasks split at
random; its other half joined dev.yaml. heldout7 was written once codegen/asked_as.yaml and its weights were final.

A task hits when one of its acceptable tools is among search_tools' first three; query_stripe must come first
for the counting, summing and "which customers ..." questions (`first: true`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stripe_mcp.tools.query.tool import NAME as QUERY_STRIPE
from stripe_mcp.tools.ranking import SearchIndex
from stripe_mcp.tools.registry import Registry

SETS = Path(__file__).parent / "discovery_sets"
REGISTRY = Registry()
INDEX = SearchIndex(REGISTRY)
EVERY_TOOL = (*REGISTRY.tools, QUERY_STRIPE)
# What each set reaches today (README, "Discovery"). heldout2's misses were read before the update-field tasks of
# dev.yaml were written, and heldout's and heldout2's while the object/action ranking was tuned; heldout3 to heldout7
# are the ones no change has seen (the tuning sessions never opened them). dev grew from 149 to 732 tasks, each batch
# written before it was tuned on (batches 6 and 7, 236 tasks after four shared with other sets left, reached 210 before
# codegen/asked_as.yaml and 227 with it; batch 8, written once it was final, 111 and 119 of 120).
FLOORS = {
    "dev": 0.978,
    "heldout": 0.991,
    "heldout2": 0.966,
    "heldout3": 0.923,
    "heldout4": 0.949,
    "heldout5": 0.923,
    "heldout6": 0.975,
    "heldout7": 0.974,
}
# 716/732, 113/114, 116/120, 109/118, 114/120, 109/118, 117/120, 115/118; before asked_as.yaml heldout3 to heldout7
# reached 100, 107, 103, 109 and 109.
FIRST_MISSES_ALLOWED = {
    "dev": 0,
    "heldout": 0,
    "heldout2": 1,
    "heldout3": 1,
    "heldout4": 1,
    "heldout5": 1,
    "heldout6": 1,
    "heldout7": 0,
}
SETS_NAMES = list(FLOORS)


def tasks(name: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = yaml.safe_load((SETS / f"{name}.yaml").read_text(encoding="utf-8"))
    return loaded


def top(query: str) -> list[str]:
    return [name for name, _ in INDEX.search(query, EVERY_TOOL, 3)]


def test_the_sets_are_apart_and_name_real_tools() -> None:
    every = {name: tasks(name) for name in SETS_NAMES}
    assert all(len(found) >= 100 for found in every.values())
    queries = [{t["query"] for t in found} for found in every.values()]
    assert sum(map(len, queries)) == len(set().union(*queries))  # no task in two sets
    assert {tool for found in every.values() for t in found for tool in t["tools"]} <= set(EVERY_TOOL)


@pytest.mark.parametrize("name", SETS_NAMES)
def test_top_3_hit_rate(name: str) -> None:
    found = tasks(name)
    misses = [(t["query"], top(t["query"])) for t in found if not set(top(t["query"])) & set(t["tools"])]
    assert 1 - len(misses) / len(found) >= FLOORS[name], misses


@pytest.mark.parametrize("name", SETS_NAMES)
def test_query_stripe_comes_first_for_questions_about_many_objects(name: str) -> None:
    questions = [t["query"] for t in tasks(name) if t.get("first")]
    assert len(questions) >= 10
    missed = [q for q in questions if top(q)[:1] != [QUERY_STRIPE]]
    assert len(missed) <= FIRST_MISSES_ALLOWED[name], missed


def test_query_stripe_is_not_offered_where_one_object_is_named() -> None:
    for query in ("Who is customer cus_NffrFeUfNV2Hib", "How many refunds does charge ch_3Many have"):
        assert QUERY_STRIPE not in top(query)[:1], query
    assert QUERY_STRIPE not in [n for n, _ in INDEX.search("how many customers", REGISTRY.tools, 20)]  # not allowed
