"""Stripe's HTML and Markdown descriptions as plain text that fits a budget."""

from __future__ import annotations

import html
import re

TAG = re.compile(r"<[^>]+>")
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
SPACE = re.compile(r"\s+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'])")


def clean_text(text: str, limit: int | None = None) -> str:
    """Plain text: tags dropped, entities decoded, links reduced to their words, space folded."""
    text = TAG.sub(" ", text or "")
    text = html.unescape(text)
    text = MARKDOWN_LINK.sub(r"\1", text)
    text = SPACE.sub(" ", text).strip()
    text = re.sub(r"\s+([.,;:)])", r"\1", text)
    return first_sentences(text, limit) if limit is not None else text


def first_sentences(text: str, limit: int) -> str:
    """As many whole sentences as fit in `limit` characters; a cut sentence ends with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    kept = ""
    for sentence in SENTENCE_END.split(text):
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        return kept
    cut = text[: max(limit - 1, 0)].rsplit(" ", 1)[0]
    return cut + "…"
