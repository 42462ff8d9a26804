"""How search_tools ranks tools for a task in plain words: the generated index, and what a query's words ask.

generated/search_index.json maps each term (a word stem, or two adjacent ones) to weighted tools, and holds each
tool's object (the words of its resource) and actions (list, get, cancel, capture ...), with the everyday nouns
and verbs of the thesaurus that name objects and ask for actions (codegen/search_index.py). A query adds up the
weights of its terms; then each tool's sum is scaled by how fully the query names the tool's object (its words,
an everyday noun, an id: cus_..., ch_...; not the words of what a thing is done with, "with card pm_1") and by
how strongly it asks for the tool's action ("write it off" for mark_uncollectible; without a verb: a list for a
plural, to look at one object for an id). Ids, e-mail addresses and a question about many objects (how many, in
total, which ...: query_stripe first) add bonuses. So one stray word ("record", "people") weighs less than the
object a query is about. Offline and deterministic; a query over all tools takes about a millisecond.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from stripe_mcp.search.objects import referred_by, resource_names
from stripe_mcp.search.terms import stem, terms
from stripe_mcp.tools.query import tool as query_tool
from stripe_mcp.tools.registry import Registry, ToolEntry
from stripe_mcp.tools.task_words import Index, QueryReader, QueryWords

# Verbs that say what kind of tool is wanted: they ask for the action (the thesaurus' kinds), not for a tool's words.
INTENT_WORDS = (
    "find list show get check retrieve search lookup look fetch view create make new add update change edit modify "
    "delete remove why what see current every recent latest status detail"
)
EMAIL_BOOST = 1.4  # for a tool that takes the e-mail address a query holds
ID_BOOST = 1.4  # for a tool that acts on the object an id names, or refers to it: an id is near-certain evidence
ACTION_BOOST = 0.4  # per unit of how strongly the query's words ask for the tool's action (a phrase 1.5, a word 1)
OBJECT_FLOOR = 0.3  # a tool whose object the query does not name keeps this share of its score
# Actions that end an object, each in its own way: asking for one asks, less, for the others, since an object
# offers only some of them (a coupon is deleted, an invoice voided, a checkout session expired, a card detached).
ACTION_FAMILIES = (frozenset({"delete", "cancel", "void", "expire", "detach"}),)
FAMILY_SHARE = 0.5
GET_PREFERENCE = 1.15  # an id and no verb: to look at the object rather than change it
IMPLIED_WEIGHT = 0.7  # the words an id or an e-mail implies ("payment intent" for pi_...), beside the query's own
QUERY_BOOST = 1.25  # query_stripe over the best tool, for a question about many objects
MAX_QUERY_CHARS = 500

INTENT_ONLY = frozenset(stem(w) for w in INTENT_WORDS.split())


class SearchIndex:
    """Term -> [(tool, weight)], precomputed by the generator; scoring weighs in the object and the action asked."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @cached_property
    def index(self) -> Index:
        return Index.parse(json.loads((self.registry.root / "search_index.json").read_text(encoding="utf-8")))

    @cached_property
    def reader(self) -> QueryReader:
        return QueryReader(self.index, self.resources)

    def read(self, query: str) -> QueryWords:
        return self.reader.read(query[:MAX_QUERY_CHARS])

    @cached_property
    def resources(self) -> frozenset[str]:
        """Every tool's resource, as space-separated words ("tax rate"), to tell one in snake_case from a field."""
        return frozenset(" ".join(terms(tool.resource)) for tool in self.registry.tools.values())

    @cached_property
    def doers(self) -> dict[str, list[str]]:
        """Action -> the tools that do it."""
        found: dict[str, list[str]] = {}
        for name, actions in self.index.actions.items():
            for action in actions:
                found.setdefault(action, []).append(name)
        return found

    @cached_property
    def referred(self) -> dict[str, frozenset[str]]:
        """Tool -> the objects whose ids its arguments take, at the top or one level down (invoice_settings'
        default_payment_method, the price of each of a subscription's items)."""
        nested = self.index.references
        return {
            name: frozenset(
                resource for argument in (*tool.arguments, *nested.get(name, ())) for resource in referred_by(argument)
            )
            for name, tool in self.registry.tools.items()
        }

    def search(self, query: str, allowed: Iterable[str], limit: int = 5) -> list[tuple[str, float]]:
        return self.rank(query, allowed, limit)

    def rank(self, query: str, allowed: Iterable[str], limit: int | None = None) -> list[tuple[str, float]]:
        """The allowed tools that the query's words point at, best first (query_stripe among them); all of them,
        or the first `limit`."""
        allowed = set(allowed)
        words = self.read(query)
        scores: dict[str, float] = {}
        for share, found in ((1.0, words.terms), (IMPLIED_WEIGHT, words.implied)):
            for term in found:
                if term in INTENT_ONLY:
                    continue
                for name, weight in self.index.postings.get(term, ()):
                    if name in allowed:
                        scores[name] = scores.get(name, 0.0) + weight * share
        acts_on_it = not words.kinds & {"create", "list"}
        about_many = words.about_many
        actions = dict(words.actions)
        if about_many:  # a question about many objects is answered over a list: query_stripe pages one
            actions |= {kind: max(actions.get(kind, 0.0), 1.0) for kind in ("list", "search")}
        for family in ACTION_FAMILIES:  # "kill the coupon": a coupon is deleted, not expired
            near = max((actions[action] for action in family if action in actions), default=0.0) * FAMILY_SHARE
            actions |= {action: max(actions.get(action, 0.0), near) for action in family if near}
        asked: dict[str, float] = {}  # tool -> how strongly the query asks for one of its actions
        for action, strength in actions.items():
            for name in self.doers.get(action, ()):
                asked[name] = max(asked.get(name, 0.0), strength)
        objects, named = self.index.objects, words.named
        called = {resource: frozenset(resource_names(resource)) for resource in words.id_resources}
        for name in list(scores):
            tool = self.registry.tools[name]
            own = objects[name]
            share = len(own & named) / len(own) if own else 0.0
            score = scores[name] * (1 + ACTION_BOOST * asked.get(name, 0.0))
            score *= OBJECT_FLOOR + (1 - OBJECT_FLOOR) * share
            for resource in words.id_resources:
                # An id names the object to act on, or the object another one refers to (not one of its own kind
                # that a new one is made from: in_1 is no invoice to create, though create_invoice takes from_invoice).
                own_kind = tool.resource == resource
                acts = acts_on_it and own_kind and "id" in tool.arguments
                if acts or (not own_kind and not called[resource].isdisjoint(self.referred[name])):
                    score *= ID_BOOST
                if acts and not words.kinds and tool.kind == "get":
                    score *= GET_PREFERENCE
            if words.has_email and "email" in tool.arguments:
                score *= EMAIL_BOOST
            scores[name] = score
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        if ranked and query_tool.NAME in allowed and about_many:
            # A question about many objects: query_stripe answers it in one call over the best list tool.
            ranked.insert(0, (query_tool.NAME, ranked[0][1] * QUERY_BOOST))
        return [(name, round(score, 3)) for name, score in ranked[:limit]]

    def entry(self, name: str) -> ToolEntry:
        return query_tool.ENTRY if name == query_tool.NAME else self.registry.tools[name]

    def input_schema(self, name: str) -> dict[str, Any]:
        return query_tool.INPUT_SCHEMA if name == query_tool.NAME else self.registry.input_schema(name)
