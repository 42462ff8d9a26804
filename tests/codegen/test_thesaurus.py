"""codegen/thesaurus.yaml says what discovery reads: every phrase keeps its words, and each names a Stripe concept
some tool holds."""

from __future__ import annotations

import yaml

from stripe_mcp.codegen.search_index import THESAURUS
from stripe_mcp.search.terms import terms
from stripe_mcp.tools.registry import Registry

RAW = yaml.safe_load(THESAURUS.read_text(encoding="utf-8"))


def test_no_phrase_of_several_words_is_left_with_one_by_the_stopwords() -> None:
    # "go with" would be "go", "in person" "person": too common alone to name an object or ask for an action.
    clipped = [
        (concept, phrase)
        for part in ("nouns", "verbs", "kinds")
        for concept, phrases in RAW[part].items()
        for phrase in phrases
        if len(phrase.split()) > 1 and len(terms(phrase)) < 2
    ]
    assert clipped == []


def test_every_concept_is_held_by_a_tool() -> None:
    names = [set(terms(name)) for name in Registry().tools]
    kinds = {tool.kind for tool in Registry().tools.values()}
    for part in ("nouns", "verbs"):
        for concept in RAW[part]:
            assert any(set(terms(concept)) <= held for held in names), concept
    assert set(RAW["kinds"]) <= kinds
