"""How text becomes search terms, the same way at generation time (the index) and at run time (a query).

A leaf module: the code generator and the discovery tools both import it, and it imports nothing of theirs.
"""

from __future__ import annotations

import math
import re

STOPWORDS = frozenset(
    "a an the of for to in on by with and or my our your me us is are was be do does did can i we it this that "
    "from at as all stripe single please id how have has there their they them".split()
)

MIN_SPELLED = 6  # shorter words are too near other words to correct ("right" is no "fight", "cart" no "card")


def stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Lower-case word stems, split on anything but letters and digits (so snake_case splits too)."""
    return [stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS and len(w) > 1]


def idf(document_count: int, frequency: int) -> float:
    return math.log(1 + document_count / frequency)


def bigrams(words: list[str]) -> list[str]:
    """Adjacent terms as one term ("money back", "setup intent"): phrases weigh more than their words apart."""
    return [f"{first} {second}" for first, second in zip(words, words[1:], strict=False)]


def deletions(word: str) -> list[str]:
    """The word with each one of its letters dropped."""
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


def one_letter_off(word: str, meant: str) -> bool:
    """One letter dropped, added or changed, or two neighbours swapped ("trader" is two letters off "reader")."""
    if len(word) == len(meant):
        differ = [i for i, (a, b) in enumerate(zip(word, meant, strict=True)) if a != b]
        swapped = len(differ) == 2 and differ[1] == differ[0] + 1 and word[differ[0]] == meant[differ[1]]
        return len(differ) == 1 or (swapped and word[differ[1]] == meant[differ[0]])
    short, long = sorted((word, meant), key=len)
    return len(long) == len(short) + 1 and short in deletions(long)
