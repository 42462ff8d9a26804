"""codegen/asked_as.yaml: tasks in plain words for each tool, indexed with it so that discovery meets the words
people use. Every tool has some, each names a real tool, and what a task only names (an id, an e-mail, an amount)
is no word of the tool's."""

from __future__ import annotations

from stripe_mcp.codegen.search_index import asked_terms, load_asked_as
from stripe_mcp.tools.ranking import SearchIndex
from stripe_mcp.tools.registry import Registry

ASKED_AS = load_asked_as()


def test_every_tool_is_asked_for_and_no_other() -> None:
    tools = set(Registry().tools)
    assert set(ASKED_AS) == tools
    assert all(len(tasks) >= 3 and len(set(tasks)) == len(tasks) for tasks in ASKED_AS.values())


def test_a_task_is_never_asked_for_two_tools() -> None:
    seen: dict[str, str] = {}
    twice = [
        (task, seen[task], name)
        for name, tasks in ASKED_AS.items()
        for task in tasks
        if seen.setdefault(task, name) != name
    ]
    assert twice == []


def test_ids_emails_and_amounts_are_not_indexed_but_field_names_are() -> None:
    found = asked_terms(["Refund $15.00 of ch_3NxAbc to tom@shop.test", "Set pause_collection on sub_1Abc for 2 weeks"])
    assert {"refund", "pause", "collection", "pause collection", "week", "set"} <= set(found)
    assert not {"ch", "3nxabc", "15", "00", "tom", "shop", "test", "sub", "1abc", "2"} & set(found)
    assert found["refund"] == 0.5  # one task of two says it


def test_the_tasks_typos_and_kind_words_are_not_indexed() -> None:
    # The tasks hold typos on purpose ("custmer"): indexed, discovery would no longer read a query's "custmer" as the
    # customer it is one letter off. And "look up" would pull the search tools over the get an id asks for.
    assert any("custmer" in task for tasks in ASKED_AS.values() for task in tasks)
    assert any("look up" in task.lower() for task in ASKED_AS["search_stripe_customers"])
    index = SearchIndex(Registry()).index
    assert "custmer" not in index.postings and "look up" not in index.postings
    # while a word only the tasks say is: no tool's own text says "storefront"
    assert "create_a_stripe_payment_method_domain" in {name for name, _ in index.postings["storefront"]}
