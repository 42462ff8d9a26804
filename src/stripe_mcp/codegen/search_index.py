"""The discovery index: which words point at which tool, weighted, built once at generation time.

The runtime (tools/ranking.py) only adds up these weights for a query's words, so ranking is
offline, deterministic and takes about a millisecond. The tokenizer is the runtime's own, so both sides
always split words alike.

A tool is indexed under the words of its name, resource, tags, arguments and description, the
description of the object it returns ("a customer of your business"), the everyday words of
thesaurus.yaml for the Stripe concepts its name holds ("chargeback" for disputes), and the words of the tasks in
plain words that asked_as.yaml holds for it ("customer says she was charged twice"). An update tool is
also indexed, lightly, under what its arguments' descriptions say, since a change is often asked for by
the field it sets ("paused" for a subscription's pause_collection). A deprecated tool weighs less than
its successor, so it ranks below it.

Beside the weighted terms, the index holds what the runtime scales a tool's sum by: each tool's object (the
words of its resource) and actions (its kind, the verb of its name, the thesaurus verbs its action holds), the
objects the thesaurus' everyday nouns name and the actions its everyday verbs and kind words ask for, and the
arguments of each tool's arguments that take another object's id (an id in a query points at the tools that take it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from stripe_mcp.codegen.tool import Tool
from stripe_mcp.search.objects import referred_by
from stripe_mcp.search.terms import MIN_SPELLED, bigrams, idf, one_letter_off, terms

THESAURUS = Path(__file__).resolve().parent / "thesaurus.yaml"
ASKED_AS = Path(__file__).resolve().parent / "asked_as.yaml"
# How much a word counts by where it appears in a tool.
NAME_WEIGHT = 3.0
RESOURCE_WEIGHT = 3.0
TAG_WEIGHT = 1.5
ARGUMENT_WEIGHT = 1.0
ACTION_WEIGHT = 1.5
"""The tool's verb: its name's, and the first word of its description (a reviewed one says "Cancel", "Charge")."""
DESCRIPTION_WEIGHT = 0.5
DESCRIPTION_CHARS = 300
OBJECT_WEIGHT = 0.3
OBJECT_DESCRIPTION_CHARS = 200
ARGUMENT_DESCRIPTION_WEIGHT = 0.1
"""Each word of an update tool's argument descriptions, once per tool: many arguments, so a light weight."""
ARGUMENT_DESCRIPTION_CHARS = 120
SYNONYM_WEIGHT = 0.6
"""An everyday word weighs this share of the concept's own weight in the tool (split over a phrase's words)."""
PHRASE_SHARE = 1.5
"""A whole everyday phrase ("money back") is strong evidence: it weighs more than the concept itself."""
DEPRECATED_WEIGHT = 0.5
ASKED_WEIGHT = 3.0
"""A word of the tasks a tool is asked for by (asked_as.yaml), said by all of them; ASKED_SHARE_POWER flattens the
share that do say it, since one task in ten saying "money back" is already good evidence."""
ASKED_SHARE_POWER = 0.3
# What a task names rather than says is no word of the tool's: an e-mail address, an id (cus_9Ab: a digit or a
# capital after the prefix, unlike a field's snake_case name), an amount or a number.
NAMED_VALUE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|\b[a-z]+(?:_[a-z]+)*_(?=\w*[0-9A-Z])\w+|[$€£]?\d[\d,.:]*\w*")


Concepts = tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...]
"""Each Stripe concept (its terms) with the terms of each of its everyday phrases."""


@dataclass(frozen=True)
class Thesaurus:
    """Everyday words for Stripe's nouns (met in a tool's name) and verbs (met in what the tool does)."""

    nouns: Concepts = ()
    verbs: Concepts = ()
    kinds: Concepts = ()
    """Words that ask for a kind of tool (list, get, ...): read as an action only, never indexed as a tool's words."""

    @cached_property
    def objects(self) -> frozenset[str]:
        """Every word of a Stripe concept the nouns name ("card" of "issuing card", "payment" of "payment intent")."""
        return frozenset(word for concept, _ in self.nouns for word in concept)

    @cached_property
    def kind_words(self) -> frozenset[str]:
        """The single words that ask for a kind of tool ("find", "latest", "status")."""
        return frozenset(phrase[0] for _, phrases in self.kinds for phrase in phrases if len(phrase) == 1)

    @classmethod
    def load(cls, path: Path = THESAURUS) -> Thesaurus:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

        def concepts(entries: dict[str, list[str]]) -> Concepts:
            return tuple(
                (tuple(terms(concept)), tuple(tuple(terms(phrase)) for phrase in phrases if terms(phrase)))
                for concept, phrases in sorted(entries.items())
            )

        return cls(*(concepts(raw.get(part) or {}) for part in ("nouns", "verbs", "kinds")))

    def everyday_words(self, tool: Tool, weights: dict[str, float]) -> dict[str, float]:
        """Everyday word or phrase -> weight, for the tool's nouns and its action."""
        found: dict[str, float] = {}
        name_terms = set(terms(tool.name))
        for concepts, words in ((self.nouns, name_terms), (self.verbs, action_terms(tool))):
            for concept, phrases in concepts:
                if not concept or not set(concept) <= words:
                    continue
                strength = SYNONYM_WEIGHT * min(weights.get(term, 0.0) for term in concept)
                for phrase in phrases:
                    # A word of the tool's own name ("customer" in "customer credit") already weighs what it should;
                    # a word of a phrase that is another object ("card" of a customer's "default card") is that
                    # object's, and only the whole phrase points here.
                    alone = [w for w in phrase if w not in name_terms and (len(phrase) == 1 or w not in self.objects)]
                    for word in [*alone, *bigrams(list(phrase))]:
                        share = PHRASE_SHARE if " " in word else 1.0 if len(phrase) == 1 else 1 / len(phrase)
                        found[word] = max(found.get(word, 0.0), strength * share)
        return found


def action_terms(tool: Tool) -> set[str]:
    """What the tool does: the verb of its name (cancel_a_stripe_payout) and the first word of its description,
    which for a reviewed description is the plain verb (delete_a_stripe_subscription_by_id "Cancel ...")."""
    verb = tool.name.split("_stripe_", 1)[0]
    return set(terms(verb)) | set(terms(tool.description.split(" ", 1)[0]))


def load_asked_as(path: Path = ASKED_AS) -> dict[str, list[str]]:
    """Tool name -> tasks in plain words that it is the tool for."""
    loaded: dict[str, list[str]] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return loaded


def task_terms(task: str) -> list[str]:
    """A task's terms, without the values it names."""
    return terms(NAMED_VALUE.sub(" ", task))


def asked_terms(tasks: list[str], skipped: AbstractSet[str] = frozenset()) -> dict[str, float]:
    """Each term of the tasks (a word, or two adjacent ones) -> the share of the tasks that say it; a term with a
    skipped word is left out."""
    counts: dict[str, int] = {}
    for task in tasks:
        words = task_terms(task)
        for term in {*words, *bigrams(words)}:
            if skipped.isdisjoint(term.split()):
                counts[term] = counts.get(term, 0) + 1
    return {term: count / len(tasks) for term, count in counts.items()}


def tool_terms(tool: Tool, thesaurus: Thesaurus = Thesaurus()) -> dict[str, float]:
    weights: dict[str, float] = {}

    def add(words: list[str], weight: float) -> None:
        for word in set(words):
            weights[word] = weights.get(word, 0.0) + weight

    resource_words = terms(tool.resource)
    add(terms(tool.name), NAME_WEIGHT)
    # A short resource name is a closer match than a long one: "balance" beats "balance transaction".
    add(resource_words, RESOURCE_WEIGHT / max(1, len(resource_words)))
    add(bigrams(resource_words), RESOURCE_WEIGHT)
    add([w for tag in tool.tags for w in terms(tag)], TAG_WEIGHT)
    add([w for a in tool.arguments for w in terms(a.name)], ARGUMENT_WEIGHT)
    add(sorted(action_terms(tool)), ACTION_WEIGHT)
    add(terms(tool.description[:DESCRIPTION_CHARS]), DESCRIPTION_WEIGHT)
    add(terms(tool.object_description[:OBJECT_DESCRIPTION_CHARS]), OBJECT_WEIGHT)
    for word, weight in thesaurus.everyday_words(tool, dict(weights)).items():
        weights[word] = weights.get(word, 0.0) + weight
    if tool.kind == "update":  # after the thesaurus: these words must not lend a concept their weight
        said = (str(a.schema.get("description", ""))[:ARGUMENT_DESCRIPTION_CHARS] for a in tool.arguments)
        add(sorted({word for text in said for word in terms(text)}), ARGUMENT_DESCRIPTION_WEIGHT)
    return weights


def tool_actions(tool: Tool, thesaurus: Thesaurus) -> list[str]:
    """What the tool does, as the names of actions a query can ask for: its kind (list, get, ...), the verb of its
    name ("increment authorization") and the thesaurus verbs its action holds (delete_a_stripe_subscription_by_id
    cancels)."""
    verb = " ".join(terms(tool.name.split("_stripe_", 1)[0].removesuffix("_a").removesuffix("_single")))
    found = {verb} if tool.kind == "custom" else {tool.kind}
    own = action_terms(tool)
    found |= {" ".join(concept) for concept, _ in thesaurus.verbs if concept and set(concept) <= own}
    return sorted(found)


def verb_phrases(tools: list[Tool], thesaurus: Thesaurus) -> dict[str, list[str]]:
    """Everyday phrase (its terms, space-separated) -> the actions it asks for; each action's own name among them."""
    actions = {action for tool in tools for action in tool_actions(tool, thesaurus)}
    found: dict[str, set[str]] = {action: {action} for action in actions}
    for concept, phrases in (*thesaurus.verbs, *thesaurus.kinds):
        for phrase in phrases:
            found.setdefault(" ".join(phrase), set()).add(" ".join(concept))
    return {phrase: sorted(names) for phrase, names in sorted(found.items())}


def noun_phrases(thesaurus: Thesaurus) -> dict[str, list[str]]:
    """Everyday phrase -> the words of the Stripe objects it names ("chargeback" -> dispute)."""
    found: dict[str, set[str]] = {}
    for concept, phrases in thesaurus.nouns:
        for phrase in phrases:
            found.setdefault(" ".join(phrase), set()).update(concept)
    return {phrase: sorted(words) for phrase, words in sorted(found.items())}


def object_words(tool: Tool) -> list[str]:
    """The words of the object a tool acts on (its resource): the share of them a query names tells how surely it
    asks for this object rather than one a stray word of it matches."""
    return sorted(set(terms(tool.resource)))


def nested_references(tool: Tool, resources: AbstractSet[str]) -> list[str]:
    """The arguments of a tool's arguments (one level down, in an object or a list's items) that take the id of one of
    the resources: an update of a customer takes a payment method's in invoice_settings.default_payment_method. Not
    its own resource's: an invoice's id in a query is the invoice to act on, not create_invoice's from_invoice."""
    own = {argument.name for argument in tool.arguments}
    found: set[str] = set()
    for argument in tool.arguments:
        schema = argument.schema
        for part in (schema, schema.get("items"), *schema.get("anyOf", ())):
            if isinstance(part, dict):
                found.update(name for name in part.get("properties") or () if referred_by(name) & resources)
    return sorted(name for name in found - own if tool.resource not in referred_by(name))


def unasked_words(
    own: dict[str, dict[str, float]], asked_as: dict[str, list[str]], thesaurus: Thesaurus, objects: AbstractSet[str]
) -> frozenset[str]:
    """Words of the asked tasks that are not indexed. Those that ask for a kind of tool ("look up", "find"): a query's
    kind is read as its action, and they would pull a search tool over the get that a query with an id asks for.
    And the typos ("custmer"): a word no tool's own text holds, one letter off an object word. Indexed, it would keep
    discovery from reading a query's typo as that object word."""
    vocabulary = {word for weights in own.values() for term in weights for word in term.split()}
    said = {word for tasks in asked_as.values() for task in tasks for word in task_terms(task)}
    typos = {
        word
        for word in said - vocabulary
        if len(word) >= MIN_SPELLED and any(one_letter_off(word, meant) for meant in objects)
    }
    return thesaurus.kind_words | typos


def build_index(
    tools: list[Tool], thesaurus: Thesaurus | None = None, asked_as: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    thesaurus = Thesaurus.load() if thesaurus is None else thesaurus
    asked_as = load_asked_as() if asked_as is None else asked_as
    own = {t.name: tool_terms(t, thesaurus) for t in tools}
    objects = {word for t in tools for word in object_words(t)}
    unasked = unasked_words(own, asked_as, thesaurus, objects)
    for name, weights in own.items():
        for term, share in asked_terms(asked_as.get(name, []), unasked).items():
            weights[term] = weights.get(term, 0.0) + ASKED_WEIGHT * share**ASKED_SHARE_POWER
    # A deprecated tool's words ("balance history") point to its successor as strongly as to it, and the
    # deprecated one weighs half: whatever finds it finds its successor first.
    for tool in tools:
        if tool.successor in own:
            successor = own[tool.successor]
            for word, weight in own[tool.name].items():
                successor[word] = max(successor.get(word, 0.0), weight)
    resources = frozenset(t.resource for t in tools)
    per_tool = [
        {w: weight * DEPRECATED_WEIGHT for w, weight in own[t.name].items()} if t.deprecated else own[t.name]
        for t in tools
    ]
    frequency: dict[str, int] = {}
    for weights in per_tool:
        for term in weights:
            frequency[term] = frequency.get(term, 0) + 1
    postings: dict[str, list[list[float]]] = {}
    for index, weights in enumerate(per_tool):
        for term, weight in weights.items():
            postings.setdefault(term, []).append([index, round(weight * idf(len(tools), frequency[term]), 3)])
    return {
        "tools": [t.name for t in tools],
        "objects": [object_words(t) for t in tools],
        "actions": [tool_actions(t, thesaurus) for t in tools],
        "nouns": noun_phrases(thesaurus),
        "verbs": verb_phrases(tools, thesaurus),
        "references": {t.name: found for t in tools if (found := nested_references(t, resources))},
        "terms": dict(sorted(postings.items())),
    }


def index_text(index: dict[str, Any], mark: str) -> str:
    """One term per line, so that a spec update shows which words moved."""
    lines = [f'{{"$comment": {json.dumps(mark)},', f' "tools": {json.dumps(index["tools"])},']
    lines += [f' "{key}": {json.dumps(index[key])},' for key in ("objects", "actions")]
    for key in ("nouns", "verbs", "references"):
        lines.append(f' "{key}": {{' + ",".join(f"\n  {json.dumps(k)}: {json.dumps(v)}" for k, v in index[key].items()))
        lines.append(" },")
    lines.append(' "terms": {')
    entries = [
        f"  {json.dumps(term)}: {json.dumps(postings, separators=(',', ':'))}"
        for term, postings in index["terms"].items()
    ]
    lines.append(",\n".join(entries))
    lines.append(" }}")
    return "\n".join(lines) + "\n"
