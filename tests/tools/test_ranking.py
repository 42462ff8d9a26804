"""How search_tools reads a query: the object it names (ids first), the action it asks for in everyday words, and
the stray words that name some other object. The task sets (test_discovery_sets.py) measure the whole ranking;
these pin the behaviour each part adds."""

from __future__ import annotations

import pytest

from stripe_mcp.tools.ranking import SearchIndex, referred_by
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.task_words import verb_forms

REGISTRY = Registry()
INDEX = SearchIndex(REGISTRY)


def first(query: str) -> str:
    return INDEX.search(query, REGISTRY.tools, 1)[0][0]


@pytest.mark.parametrize(
    ("query", "tool"),
    [
        ("Release the hold on pi_9Hold", "cancel_a_stripe_payment_intent"),
        ("We will never get paid for in_5Lost, write it off", "mark_uncollectible_a_stripe_invoice"),
        ("The client signed off on quote qt_7Sign", "accept_a_stripe_quote"),
        ("Turn off payment link plink_4Off", "update_a_stripe_payment_link_by_id"),
        ("That flagged payment prv_2Okay is fine, let it through", "approve_a_stripe_review"),
        ("Start charging sub_6Back again", "resume_a_stripe_subscription"),
    ],
)
def test_an_everyday_phrase_asks_for_the_action_on_the_object_its_id_names(query: str, tool: str) -> None:
    assert first(query) == tool


def test_an_id_outweighs_a_stray_word_naming_another_object() -> None:
    # "people" alone names a Connect account's persons; the subscription id says which object is changed.
    assert first("Our team grew to five people, update sub_9Team") == "update_a_stripe_subscription_by_id"


def test_the_other_words_of_an_everyday_phrase_name_no_object_of_their_own() -> None:
    words = INDEX.read("Close the customer account")
    assert "customer" in words.named and "account" not in words.named
    assert "account" in INDEX.read("Close the connected account").named


def test_a_plural_of_the_object_an_id_names_asks_for_no_list() -> None:
    assert "list" not in INDEX.read("Five seats on sub_9Team").kinds
    assert "list" in INDEX.read("Refunds of charge ch_Ref2").kinds


def test_a_plural_noun_first_is_no_imperative() -> None:
    assert "create" in INDEX.read("Refund charge ch_1").kinds
    assert "create" not in INDEX.read("Refunds of charge ch_1").kinds


def test_ids_without_a_retrieve_tool_still_name_their_object() -> None:
    assert INDEX.read("Turn off plink_4Off").id_resources == {"payment_link"}
    assert INDEX.read("Approve prv_2Okay").id_resources == {"review"}


def test_a_verb_counts_in_its_plain_form() -> None:
    assert "sign" in verb_forms("signed") and "charge" in verb_forms("charging")
    assert verb_forms("card") == ()


@pytest.mark.parametrize(
    ("argument", "resource", "refers"),
    [
        ("customer", "customer", True),
        ("customer_id", "customer", True),
        ("default_payment_method", "payment_method", True),
        ("payment_method_types", "payment_method", False),
        ("customer_email", "customer", False),
    ],
)
def test_an_argument_refers_to_an_id_by_its_object_name(argument: str, resource: str, refers: bool) -> None:
    assert (resource in referred_by(argument)) is refers


def test_the_generated_index_holds_each_tools_object_and_actions() -> None:
    index = INDEX.index
    assert index.actions["delete_a_stripe_subscription_by_id"] == {"cancel", "delete"}  # it cancels
    assert index.actions["increment_authorization_a_stripe_payment_intent"] == {"increment authorization"}
    assert index.objects["list_all_stripe_customer_payment_methods"] == {"customer", "payment", "method"}
    assert index.verbs[("write", "off")] == {"mark uncollectible"}
    assert index.nouns[("chargeback",)] == {"dispute"}


def test_what_a_thing_is_done_with_is_not_the_object_it_is_done_to() -> None:
    named = INDEX.read("Bill sub_5Bb with the new card pm_1Zz from now on").named
    assert "subscription" in named and not {"card", "payment", "method"} & named
    assert "card" in INDEX.read("Start over with a new card").named  # nothing else named: the card is the object


def test_what_asks_for_a_list_of_a_plural_and_one_object_otherwise() -> None:
    assert INDEX.read("What coupons do we have running").kinds == {"list"}
    assert INDEX.read("What is the status of pi_3Abc").kinds == {"get"}
    assert INDEX.read("What does cus_1Abc owe").kinds == {"get"}  # "does" is no plural of an object


def test_an_amount_is_money() -> None:
    assert "money" in INDEX.read("Send $300 to connected account acct_5Send").terms
    assert "money" in INDEX.read("Apply 15 euros of credit").terms


@pytest.mark.parametrize(
    ("query", "tool"),
    [
        ("Kill the SPRING coupon so no one can use it", "delete_a_stripe_coupon_by_id"),  # coupons are deleted
        ("Cancel customer cus_1Gone", "delete_a_stripe_customer_by_id"),
    ],
)
def test_an_action_that_ends_an_object_asks_for_the_one_it_offers(query: str, tool: str) -> None:
    assert first(query) == tool


def test_a_past_participle_before_an_object_says_which_ones() -> None:
    words = INDEX.read("Show failed payments from yesterday")
    assert "fail" not in words.actions and words.kinds == {"list"}  # not the test helpers that fail a payment
    assert "refund" not in INDEX.read("Show me refunded charges").named
    assert "accept" in INDEX.read("The client signed off on quote qt_7Sign").actions  # a verb there


def test_looking_up_an_object_by_its_id_gets_it() -> None:
    assert first("Look up payment pi_3Look") == "get_single_stripe_payment_intent_by_id"
    assert "get" not in INDEX.read("Look up customers named Garcia").kinds


@pytest.mark.parametrize(
    ("query", "about_many"),
    [
        ("Number of invoices per status", True),
        ("Find the customer with phone number +49 170 1234567", False),
        ("Which customers are in segment smb", True),
        ("List the customers who signed up this week", True),
        ("Ask a new user to prove who they are with a passport", False),
        ("How many refunds does charge ch_3Many have", False),  # one object, named by its id
    ],
)
def test_a_question_about_many_objects_is_told_from_a_word_in_passing(query: str, about_many: bool) -> None:
    assert INDEX.read(query).about_many is about_many


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        ("I need to see all our coupons", {"list"}),
        ("See payment pi_1See", {"get"}),
        ("Show charge ch_3Mml", {"get"}),
        ("Any new chargebacks today?", {"list"}),  # new ones, not a new one
        ("New checkout for a subscription signup", {"create"}),
    ],
)
def test_looking_at_a_plural_lists_and_at_one_object_gets(query: str, kinds: set[str]) -> None:
    assert INDEX.read(query).kinds == kinds
