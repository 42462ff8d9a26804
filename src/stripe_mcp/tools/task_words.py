"""What a task in plain words says, read against the discovery index's vocabulary: its terms, the objects it
names (its words, the everyday nouns of the thesaurus, its ids; not what a thing is done with), the actions it asks
for (the everyday verbs, or the shape of the query: a plural, "what", an opening "Refund ..."), an e-mail address.
Before the words: a URL, an event type (invoice.paid), a phone number (a customer to search for), a code in
capitals (SAVE15, a promotion code) and an amount are read for what they are; a word one letter off one object
word is that word. Words that say which ones or what state ("failed payments", "cards ending in", "endpoints that
are set up") ask for no action. tools/ranking.py scores the tools with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from stripe_mcp.search.terms import MIN_SPELLED, bigrams, deletions, one_letter_off, stem, terms
from stripe_mcp.stripe_api.ids import ID_PREFIXES, STRIPE_ID
from stripe_mcp.tools.filters import KINDS

# Words of questions about many objects at once (how many, in total, the largest ...): query_stripe's; and which,
# who, whose opening a query or following a plural ("customers who ...", not "a user to prove who they are").
MANY_WORDS = frozenset(
    stem(w)
    for w in "many count total sum average mean largest biggest smallest highest lowest top per overall altogether".split()
) | {"add up", "tally up"}
# The business's figures, each a sum over many objects: monthly recurring revenue, gross volume, churn ...
METRIC_WORDS = frozenset("mrr arr revenue gmv volume churn ltv arpu ratio turnover".split())
WHICH_WORDS = frozenset({"which", "who", "whose"})
NUMBER_OF = re.compile(r"\bnumber of\b")  # "number of invoices", not "phone number"
SHARE_OF = re.compile(r"\b(?:share|percentage|percent|proportion|fraction|ratio) of\b")  # "what share of refunds"
# The rate of an outcome over all payments, refunds, subscriptions ...: "refund rate", "churn rate"
OUTCOME_RATE = re.compile(
    r"\b(?:refund|dispute|chargeback|churn|failure|decline|success|conversion|cancellation|approval|renewal) rates?\b"
)
HOW_MUCH = re.compile(r"\bhow much\b")  # "how much is tied up in chargebacks": a sum, over a plural
EACH = re.compile(r"\beach\b")  # "how much did we transfer to each account": a sum per group
BROKEN_DOWN = re.compile(r"\b(?:break|breaks|broken) (?:it |them )?down\b.*\bby\b")  # "break down disputes by reason"
# Words of looking: at one object, or at the list of a plural ("see pi_1", "see all our coupons"); a question word
# asks about the object an id names ("which customer is sub_1 billed to"), not without one ("when will it arrive").
LOOK_WORDS = frozenset({"what", "see", "view", "check", "show", "display"})
QUESTION_WORDS = frozenset({"which", "who", "whose", "when"})
BASIC_KINDS = frozenset(KINDS) - {"custom"}  # a custom tool's action is its own verb: capture, void ...
# A query that opens with one of these uses it as a verb: "Refund ch_1", "Transfer funds to ...", "Charge a customer".
IMPERATIVE_NOUNS = frozenset({"refund", "transfer", "charge", "payout", "invoice", "bill", "pay"})
POLITE_WORDS = frozenset({"please", "pls", "kindly", "just", "now", "so", "ok", "okay", "hi", "hey"})
PLURALS = frozenset({"people"})  # a plural without its s
# A plural after a number is a quantity ("five seats", "3 people", "two more licenses"), not a list to see.
COUNTED = re.compile(r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|few|several|more|fewer) (\w+)")
NEW_PLURAL = re.compile(r"\bnew (\w+s)\b")
PASSIVE = re.compile(
    r"\b(?:is|are|was|were|been|being|have|has|had|ve)\s+(?:\w+ly\s+)?(\w+)(?:\s+(up|out|off|back)\b)?"
)
# What a thing is done with: from the preposition to the next one or the end of the clause.
MEANS = re.compile(r"\b(?:with|using|via)\b(.*?)(?=\b(?:to|for|on|in|at|from|as|and|so|but|of)\b|[,.;:!?]|$)", re.I)
AMOUNT = re.compile(
    r"[$€£]\s?\d[\d,.]*[km]?\b|\b\d[\d,.]*\s?[km]?\s?(?:dollars?|euros?|pounds?|bucks|usd|eur|gbp|cents?)\b", re.I
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# "from now on" is all stopwords: one word for it, which the thesaurus knows as asking for a change
FROM_NOW_ON = re.compile(r"\bfrom now on\b", re.I)
URL = re.compile(r"\bhttps?://\S+", re.I)  # a URL is a URL (of a webhook, a redirect), not the words of its host
# A Stripe event type names the event, not its object or its verb: invoice.paid, customer.subscription.created.
EVENT_TYPE = re.compile(r"(?<![\w@.-])([a-z_]+)(?:\.[a-z_]+)+(?![\w@.-])")
# A phone number: what only search_stripe_customers finds a customer by ("+44 7700 900123", "(415) 555-0100").
PHONE = re.compile(r"\+\d[\d ().-]{7,}\d|\(\d{3}\) ?\d{3}[ .-]\d{4}\b|\b\d{3}[.-]\d{3}[.-]\d{4}\b")
SNAKE_WORD = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
# The past forms of the everyday verbs of payments that do not end in -ed: "paid by cheque", "sent twice".
IRREGULAR_PAST = {
    "paid": "pay", "sent": "send", "made": "make", "bought": "buy", "took": "take", "taken": "take", "gave": "give",
    "given": "give", "sold": "sell", "spent": "spend", "lost": "lose", "won": "win", "got": "get", "began": "begin",
}  # fmt: skip
PHRASE_STRENGTH = 1.5  # a whole phrase of an action ("write off") asks for it more surely than one word of it
# A code customers type, in capitals with figures: SAVE15, HOLIDAY10 (not VAT, ACH, nor a tax number's long figures);
# with the word before it, which may say what it is the id of ("coupon HOLIDAY10").
CODE = re.compile(r"(?:\b(\w+)\W+)?\b[A-Z]{2,}[0-9]{1,3}\b")
CODE_WORDS = ("promotion", "code")
EMAIL_WORDS = ("customer", "email")  # an e-mail address alone is a customer to look up by it
PHONE_WORDS = ("customer", "phone")  # and a phone number a customer to search for


@dataclass(frozen=True)
class QueryWords:
    """What a query says: its terms (with phrases), the objects it and its ids name, the actions it asks for,
    whether it holds an e-mail."""

    terms: tuple[str, ...]
    implied: tuple[str, ...]
    """The words of the objects its ids name, and "customer email" for an e-mail address."""
    id_resources: frozenset[str]
    has_email: bool
    kinds: frozenset[str]
    """The kinds of tool (list, get, create ...) among the actions asked."""
    actions: dict[str, float]
    """Action name -> how strongly the query asks for it (a whole phrase more than one word)."""
    named: frozenset[str]
    """The words of the objects the query names: its own words, the objects of its everyday phrases and ids."""
    about_many: bool
    """A question about many objects at once, named by no id: query_stripe answers it."""


class Postings(Mapping[str, list[tuple[str, float]]]):
    """Term -> [(tool, weight)], each term's list made from the index's [[tool number, weight], ...] when a query
    first holds it: the index has some 14,000 terms and a query a dozen."""

    def __init__(self, raw: dict[str, list[list[float]]], names: list[str]) -> None:
        self.raw = raw
        self.names = names
        self.made: dict[str, list[tuple[str, float]]] = {}

    def __getitem__(self, term: str) -> list[tuple[str, float]]:
        found = self.made.get(term)
        if found is None:
            found = self.made[term] = [(self.names[int(i)], w) for i, w in self.raw[term]]
        return found

    def __contains__(self, term: object) -> bool:
        return term in self.raw

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


@dataclass(frozen=True)
class Index:
    """generated/search_index.json, read once."""

    postings: Postings
    objects: dict[str, frozenset[str]]
    actions: dict[str, frozenset[str]]
    nouns: dict[tuple[str, ...], frozenset[str]]
    verbs: dict[tuple[str, ...], frozenset[str]]
    references: dict[str, tuple[str, ...]]
    """Tool -> its arguments' own arguments that take an object's id (invoice_settings.default_payment_method)."""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Index:
        names: list[str] = raw["tools"]
        return cls(
            postings=Postings(raw["terms"], names),
            objects={name: frozenset(words) for name, words in zip(names, raw["objects"], strict=True)},
            actions={name: frozenset(acts) for name, acts in zip(names, raw["actions"], strict=True)},
            nouns={tuple(phrase.split()): frozenset(words) for phrase, words in raw["nouns"].items()},
            verbs={tuple(phrase.split()): frozenset(acts) for phrase, acts in raw["verbs"].items()},
            references={name: tuple(found) for name, found in raw["references"].items()},
        )


class QueryReader:
    """Reads a query against the generated index's vocabulary."""

    def __init__(self, index: Index, resources: frozenset[str]) -> None:
        self.index = index
        self.resources = resources
        """Every tool's resource, as space-separated words ("tax rate"), to tell one in snake_case from a field."""
        self.verb_words = frozenset(word for phrase in index.verbs for word in phrase)
        self.own_object_words = frozenset(word for words in index.objects.values() for word in words)
        """The words of the tools' own objects (their resources): "refund", "payout", "setup"."""
        self.object_words = self.own_object_words | {phrase[0] for phrase in index.nouns if len(phrase) == 1}
        """Every word that names an object: of a tool's resource, or an everyday noun of one (not a word of a phrase:
        the "start" of "start date" names nothing alone)."""
        self.nouns = by_first_word(index.nouns)
        self.verbs = by_first_word(index.verbs)
        self.verb_pairs = frozenset(phrase for phrase in index.verbs if len(phrase) == 2)
        self.misspelt: dict[str, set[str]] = {}
        """An object word and each form of it with one letter dropped -> the object words it may be meant for
        ("custmer", "subscripton"): a word one letter off shares one of them."""
        for word in self.object_words:
            if len(word) >= MIN_SPELLED:
                for form in (word, *deletions(word)):
                    self.misspelt.setdefault(form, set()).add(word)

    def read(self, query: str) -> QueryWords:
        query = EVENT_TYPE.sub(self._event_type, URL.sub(" url ", FROM_NOW_ON.sub(" henceforth ", query)))
        has_phone = bool(PHONE.search(query))
        has_code = any(not before or stem(before.lower()) not in self.object_words for before in CODE.findall(query))
        query = AMOUNT.sub(" money ", PHONE.sub(" ", query))  # "send $300", "15 euros": an amount is money
        id_resources = frozenset(ID_PREFIXES[p].resource for p in STRIPE_ID.findall(query) if p in ID_PREFIXES)
        has_email = bool(EMAIL.search(query))
        text = SNAKE_WORD.sub(self._snake_word, EMAIL.sub(" ", STRIPE_ID.sub(" ", query)).lower())
        words = self._compounds([self._spelled(word) for word in terms(text)])
        implied = [w for w in EMAIL_WORDS if has_email and w not in words]
        implied += [w for w in PHONE_WORDS if has_phone and w not in words and w not in implied]
        implied += [w for w in CODE_WORDS if has_code and w not in words]
        for resource in sorted(id_resources):
            own = [w for w in terms(resource) if w not in words]
            implied += own + bigrams(own)
        # "failed payments", "refunded charges": a past participle before an object says which ones, not what to do
        # or which object: it names no action and no object of its own
        pairs = list(zip(words, words[1:], strict=False))
        describing = {
            w for w, after in pairs if (w.endswith("ed") or w in IRREGULAR_PAST) and after in self.object_words
        }
        # "cards ending in 4242", "invoices pending": an -ing form after an object says which ones, too
        describing |= {w for before, w in pairs if w.endswith("ing") and before in self.object_words}
        if any(stem(plural) in self.object_words for plural in NEW_PLURAL.findall(text)):
            describing.add("new")  # "any new chargebacks": which ones, not to create one
        # "endpoints that are set up", "invoices that were paid", "cards they have saved": after a form of be or
        # have, a verb says what state things are in
        passive = {stem(w) for match in PASSIVE.findall(text) for w in match if w} - self.own_object_words
        words += [base for word in words if (base := self._base_form(word)) not in (word, *words)]
        describing |= {self._base_form(word) for word in describing}  # the bag keeps "refund" of "refunded"
        passive |= {self._base_form(word) for word in passive} - self.own_object_words
        id_words = {w for resource in id_resources for w in terms(resource)}
        named = self._objects_named(words, query, id_resources, describing)
        named |= {"customer"} if has_email or has_phone else set()
        named |= set(CODE_WORDS) if has_code else set()
        tokens = re.findall(r"[a-z]+", text)
        actions = self._asked(words, tokens, id_words, describing | passive, set(COUNTED.findall(text)))
        if has_phone:  # a customer is found by phone only by a search
            actions["search"] = max(actions.get("search", 0.0), 1.0)
        return QueryWords(
            tuple(words + bigrams(words)),
            tuple(implied),
            id_resources,
            has_email,
            frozenset(kind for kind in actions if kind in BASIC_KINDS),
            actions,
            frozenset(named),
            not id_resources and self._about_many(words, tokens, text),
        )

    def _objects_named(
        self, words: list[str], query: str, id_resources: frozenset[str], describing: set[str]
    ) -> set[str]:
        """The words of the objects the query names and its ids. What a thing is done with, using or via ("Bill
        sub_1 with card pm_2", "Charge cus_1 using their saved card") is not the object it is done to, when the
        query names one besides."""
        spans = MEANS.findall(query)
        means = {w for span in spans for w in terms(STRIPE_ID.sub(" ", span))}
        means_ids = {ID_PREFIXES[p].resource for span in spans for p in STRIPE_ID.findall(span) if p in ID_PREFIXES}
        if means or means_ids:
            aside = self._named([w for w in words if w not in means], describing)
            aside |= {w for resource in id_resources - means_ids for w in terms(resource)}
            if aside & self.object_words:
                return aside
        return self._named(words, describing) | {w for resource in id_resources for w in terms(resource)}

    def _about_many(self, words: list[str], tokens: list[str], text: str) -> bool:
        """How many, in total, the largest ..., the number of, broken down by ..., or which / who / whose opening the
        query or after a plural: a question over many objects."""
        said = set(words) | set(bigrams(words))
        which = any(
            token in WHICH_WORDS
            and (i == 0 or (tokens[i - 1].endswith("s") and stem(tokens[i - 1]) in self.object_words))
            for i, token in enumerate(tokens)
        )
        # "how much is tied up in chargebacks", "how much have we refunded": a sum over a plural or a past act, or
        # per group ("how much did we send to each account")
        sum_asked = bool(HOW_MUCH.search(text)) and (
            bool(EACH.search(text))
            or any(
                (stem(token) != token and stem(token) in self.object_words)
                or (token.endswith("ed") and self._base_form(token) in self.own_object_words)
                for token in tokens
            )
        )
        counted = any(pattern.search(text) for pattern in (NUMBER_OF, SHARE_OF, OUTCOME_RATE, BROKEN_DOWN)) or sum_asked
        return bool((MANY_WORDS | METRIC_WORDS) & said) or which or counted

    def _asked(
        self, words: list[str], tokens: list[str], id_words: set[str], describing: set[str], counted: set[str]
    ) -> dict[str, float]:
        """The actions the words ask for; without a verb, what the shape of the query asks: a list for a plural
        ("subscriptions of customer cus_42", "what coupons do we have"), unless it is of the object an id names
        ("five seats on sub_42"); to look at one object for a word of looking ("what", "see")."""
        actions = self._actions([w for w in words if w not in LOOK_WORDS], describing)
        first = next((w for w in tokens if w not in POLITE_WORDS), "")
        if first in IMPERATIVE_NOUNS:  # "Refund ch_1", not "Refunds of ch_1" nor "the refund of fr_1"
            actions["create"] = max(actions.get("create", 0.0), 1.0)
        if id_words and "search" in actions and "get" not in actions:  # "look up pi_1": by its id, get it
            actions["get"] = actions["search"]
        # "who holds card ic_1": a verb follows who
        after_who = {i + 1 for i, token in enumerate(tokens) if token == "who"}
        # "refunds", "sales" of "sales tax"; not "says", "does" or the "times" of no phrase the query holds
        phrased = {
            w for word in words for phrase, _ in self.nouns.get(word, ()) if phrase <= set(words) for w in phrase
        }
        plurals = [  # each with the object word before it: "bank accounts" are no Connect accounts
            [stem(before), stem(w)] if (before := tokens[i - 1] if i else "") in self.object_words else [stem(w)]
            for i, w in enumerate(tokens)
            if (w in PLURALS or stem(w) != w) and i not in after_who and w not in counted
            if stem(w) in self.object_words or stem(w) in phrased
        ]
        if not id_words and plurals and "get" in actions:  # "pull up the checkout sessions": no id to get one by
            actions["list"] = max(actions.get("list", 0.0), actions["get"])
        if not BASIC_KINDS & actions.keys():
            if any(not self._named(plural) <= id_words for plural in plurals):
                actions["list"] = 1.0
            elif LOOK_WORDS & set(words) or (id_words and QUESTION_WORDS & set(words)):
                actions["get"] = 1.0
                if not id_words:  # "what's the price of the Pro plan": with no id to get, a list answers it too
                    actions["list"] = 1.0
        return actions

    def _named(self, words: list[str], describing: AbstractSet[str] = frozenset()) -> set[str]:
        """The words of the objects the query names: its own, and those of the objects its everyday phrases name.
        A phrase's other words name nothing more: "customer account" is a customer, not a Connect account."""
        said = set(words)
        named: set[str] = set()
        consumed: set[str] = set()
        for phrase, objects in (entry for word in said for entry in self.nouns.get(word, ())):
            if phrase <= said and not phrase <= describing:
                named |= objects
                if len(phrase) > 1:
                    consumed |= phrase - objects
        return named | (said - consumed - describing)

    def _actions(self, words: list[str], describing: set[str]) -> dict[str, float]:
        """Action name -> how strongly the words ask for it: a word of the action 1, a whole phrase of it 1.5.
        A verb counts in its plain form too (signed -> sign, charging -> charge)."""
        said = set(words) | {
            form for word in words if word not in describing for form in verb_forms(word) if form in self.verb_words
        }
        found: dict[str, float] = {}
        for phrase, actions in (entry for word in said for entry in self.verbs.get(word, ())):
            if phrase <= said and not phrase <= describing:
                strength = 1.0 if len(phrase) == 1 else PHRASE_STRENGTH
                for action in actions:
                    found[action] = max(found.get(action, 0.0), strength)
        return found

    def _event_type(self, match: re.Match[str]) -> str:
        """invoice.paid, payment_intent.succeeded: an event, when it opens with an object (not a host name)."""
        return " event " if set(terms(match[1])) <= self.object_words else match[0]

    def _snake_word(self, match: re.Match[str]) -> str:
        """tax_rates and setup_intents are resources, split into words; plan_tier or order_id name a field or a
        metadata key, which no tool's words describe: left out."""
        words = " ".join(terms(match[0]))
        return words if any(words in resource for resource in self.resources) else " "

    def _spelled(self, word: str) -> str:
        """A word the index does not know, one letter away from exactly one object word, is that word: "custmer",
        "refnd" stay unread otherwise. Names and other unknown words are left as they are."""
        if len(word) < MIN_SPELLED or word in self.index.postings:
            return word
        near = {meant for form in (word, *deletions(word)) for meant in self.misspelt.get(form, ())}
        near = {meant for meant in near if one_letter_off(word, meant)}
        return next(iter(near)) if len(near) == 1 else word

    def _base_form(self, word: str) -> str:
        """charged -> charge, refunded -> refund, cancelled -> cancel: the plain form of a past participle, when the
        index knows it (the shared stemmer folds plurals only); the word itself counts too."""
        if not word.endswith("ed"):
            return word
        return next((c for c in verb_forms(word) if c in self.index.postings and len(c) > 2), word)

    def _compounds(self, words: list[str]) -> list[str]:
        """ "set up" -> setup, "pay out" -> payout, "top up" -> topup: two words the index knows as one."""
        joined: list[str] = []
        index = 0
        while index < len(words):
            pair = words[index] + words[index + 1] if index + 1 < len(words) else ""
            # Unless the index knows them as two words too: "payment method", not the "PaymentMethod" of a text; or
            # as a verb: "set up a webhook" creates one, no setup intent.
            two = f"{words[index]} {words[index + 1]}" if pair else ""
            if (
                pair in self.index.postings
                and two not in self.index.postings
                and tuple(two.split()) not in self.verb_pairs
            ):
                joined.append(pair)
                index += 2
            else:
                joined.append(words[index])
                index += 1
        return joined


def verb_forms(word: str) -> tuple[str, ...]:
    """The plain forms a past or -ing form may have: signed -> sign, okayed -> okay, charging -> charge/charg,
    paid -> pay."""
    if word in IRREGULAR_PAST:
        return (IRREGULAR_PAST[word],)
    if word.endswith("ed") and len(word) > 4:
        return (word[:-1], word[:-2], word[:-3])
    if word.endswith("ing") and len(word) > 5:
        return (word[:-3], word[:-3] + "e", word[:-4])
    return ()


def by_first_word(
    phrases: dict[tuple[str, ...], frozenset[str]],
) -> dict[str, list[tuple[frozenset[str], frozenset[str]]]]:
    """Phrase -> what it names, looked up by the phrase's first word: a query checks only the phrases it may hold."""
    found: dict[str, list[tuple[frozenset[str], frozenset[str]]]] = {}
    for phrase, names in phrases.items():
        found.setdefault(phrase[0], []).append((frozenset(phrase), names))
    return found
