"""The discovery index: which words point at which tool, weighted, built once at generation time.

The runtime (runtime/discovery.py) only adds up these weights for a query's words, so ranking
is offline, deterministic and takes microseconds. The tokenizer is the runtime's own, so both
sides always split words alike.
"""

from __future__ import annotations

import json
from typing import Any

from stripe_mcp.codegen.tool import Tool
from stripe_mcp.search.terms import idf, terms

# How much a word counts by where it appears in a tool.
NAME_WEIGHT = 3.0
RESOURCE_WEIGHT = 3.0
TAG_WEIGHT = 1.5
ARGUMENT_WEIGHT = 1.0
DESCRIPTION_WEIGHT = 0.5
DESCRIPTION_CHARS = 300


def tool_terms(tool: Tool) -> dict[str, float]:
    weights: dict[str, float] = {}

    def add(words: list[str], weight: float) -> None:
        for word in set(words):
            weights[word] = weights.get(word, 0.0) + weight

    resource_words = terms(tool.resource)
    add(terms(tool.name), NAME_WEIGHT)
    # A short resource name is a closer match than a long one: "balance" beats "balance transaction".
    add(resource_words, RESOURCE_WEIGHT / max(1, len(resource_words)))
    add([w for tag in tool.tags for w in terms(tag)], TAG_WEIGHT)
    add([w for a in tool.arguments for w in terms(a.name)], ARGUMENT_WEIGHT)
    add(terms(tool.description[:DESCRIPTION_CHARS]), DESCRIPTION_WEIGHT)
    return weights


def build_index(tools: list[Tool]) -> dict[str, Any]:
    per_tool = [tool_terms(t) for t in tools]
    frequency: dict[str, int] = {}
    for weights in per_tool:
        for term in weights:
            frequency[term] = frequency.get(term, 0) + 1
    postings: dict[str, list[list[float]]] = {}
    for index, weights in enumerate(per_tool):
        for term, weight in weights.items():
            postings.setdefault(term, []).append([index, round(weight * idf(len(tools), frequency[term]), 3)])
    return {"tools": [t.name for t in tools], "terms": dict(sorted(postings.items()))}


def index_text(index: dict[str, Any], mark: str) -> str:
    """One term per line, so that a spec update shows which words moved."""
    lines = [f'{{"$comment": {json.dumps(mark)},', f' "tools": {json.dumps(index["tools"])},', ' "terms": {']
    entries = [
        f"  {json.dumps(term)}: {json.dumps(postings, separators=(',', ':'))}"
        for term, postings in index["terms"].items()
    ]
    lines.append(",\n".join(entries))
    lines.append(" }}")
    return "\n".join(lines) + "\n"
