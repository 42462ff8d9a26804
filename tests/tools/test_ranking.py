"""How search_tools reads a query: the object it names (ids first), the action it asks for in everyday words, and
the stray words that name some other object. The task sets (test_discovery_sets.py) measure the whole ranking;
these pin the behaviour each part adds."""

from __future__ import annotations

import pytest

from stripe_mcp.search.objects import referred_by, resource_names
from stripe_mcp.search.terms import one_letter_off
from stripe_mcp.tools.ranking import SearchIndex
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
        ("What share of payment intents ended up canceled last week", True),
        ("How much money is tied up in open chargebacks", True),  # how much, over a plural
        ("How much cash is available to withdraw", False),  # over no plural: the balance
        ("What's our refund rate this quarter", True),
        ("How much have we refunded overall this year", True),  # a sum over a past act
        ("What's our MRR right now", True),
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


@pytest.mark.parametrize(
    ("query", "tool"),
    [
        ("Knock $30 off invoice in_1Knock for the late delivery", "create_a_stripe_credit_note"),
        ("The customer was double charged on ch_3Dbl", "create_a_stripe_refund"),
        ("Wire us the money: send cus_1Wire the IBAN to pay into", "create_a_stripe_customer_funding_instruction"),
        ("Customer paid in_1Chq by cheque, mark it paid", "pay_a_stripe_invoice"),
        ("Take the old Visa pm_1Old off cus_1Old", "detach_a_stripe_payment_method"),
        ("Kick seller acct_1Kick off our platform", "reject_a_stripe_account"),
        ("Give cus_1Wire a link so they can update their card themselves", "create_a_stripe_billing_portal_session"),
        ("Break down the payout po_1Brk line by line", "list_all_stripe_balance_transactions"),
        ("Export last month's charges as a csv for the accountant", "create_a_stripe_reporting_report_run"),
        ("Cancel the membership of cus_5End at the end of the month", "update_a_stripe_subscription_by_id"),
    ],
)
def test_the_everyday_words_of_a_family_find_its_tool(query: str, tool: str) -> None:
    assert first(query) == tool


def test_a_url_and_an_event_type_are_no_object_to_act_on() -> None:
    query = "Add webhook https://api.acme.dev/hooks listening for invoice.paid and charge.refunded"
    words = INDEX.read(query)
    assert "event" in words.terms and not {"refund", "acme", "invoice"} & words.named
    assert first(query) == "create_a_stripe_webhook_endpoint"
    assert "customer" in INDEX.read("mary@example.org").named  # an e-mail's host is no event type


def test_set_up_is_a_verb_unless_it_says_what_state_a_thing_is_in() -> None:
    words = INDEX.read("Set up a webhook for payment_intent.succeeded")
    assert words.actions["create"] > words.actions["update"] and "setup" not in words.terms  # the phrase over "set"
    assert "create" not in INDEX.read("What webhook endpoints are set up").kinds
    assert "save" not in INDEX.read("What cards does cus_1Sv have saved").actions


def test_a_phone_number_is_a_customer_to_search_for() -> None:
    words = INDEX.read("Caller gave phone +44 7700 900123, which customer is that")
    assert "customer" in words.named and "search" in words.kinds
    assert first("Caller gave phone +44 7700 900123, which customer is that") == "search_stripe_customers"
    assert INDEX.read("Refunds since 2024-01-01").kinds == {"list"}  # a date is no phone number


def test_an_ing_form_after_an_object_describes_it() -> None:
    assert "cancel" not in INDEX.read("Did we charge a card ending in 4242").actions


def test_a_question_word_asks_to_look_at_the_object_an_id_names() -> None:
    assert INDEX.read("Which customer account is sub_2Who billed to").kinds == {"get"}
    assert "get" not in INDEX.read("When will the money reach our bank").kinds


def test_with_no_id_to_get_one_by_a_list_is_asked() -> None:
    assert "list" in INDEX.read("What's the price id for our Pro annual plan?").kinds
    assert "list" in INDEX.read("Can you pull up the checkout sessions from today").kinds


def test_an_irregular_past_counts_as_its_verb() -> None:
    assert verb_forms("paid") == ("pay",) and verb_forms("sent") == ("send",)


def test_a_word_one_letter_off_an_object_word_is_read_as_it() -> None:
    assert "customer" in INDEX.read("Refunds for the custmer cus_1Typo").terms
    assert "subscription" in INDEX.read("Cancel subscripton sub_1Typo").terms
    assert "reader" not in INDEX.read("Sign up a new client called Northwind Traders").terms  # two letters off
    assert one_letter_off("custmer", "customer") and one_letter_off("recieve", "receive")
    assert not one_letter_off("trader", "reader")


def test_a_code_in_capitals_is_a_promotion_code_unless_named_otherwise() -> None:
    assert {"promotion", "code"} <= INDEX.read("Make SAVE15 usable only once per customer").named
    assert "promotion" not in INDEX.read("Coupon HOLIDAY10: how often was it redeemed").named
    assert "promotion" not in INDEX.read("Put VAT number DE811907980 on cus_1Vat").named


def test_an_id_counts_for_an_argument_that_calls_its_object_by_its_last_words() -> None:
    assert "cardholder" in resource_names("issuing_cardholder")
    top = [name for name, _ in INDEX.search("New card for employee ich_1Em4Pl with a $500 limit", REGISTRY.tools, 3)]
    assert "create_a_stripe_issuing_card" in top


def test_another_objects_word_in_a_phrase_points_at_the_phrase_only() -> None:
    # A customer's "default card" indexes the phrase under the customer tools, not "card" alone.
    postings = INDEX.index.postings
    assert "get_single_stripe_customer_by_id" in {name for name, _ in postings["default card"]}
    assert "get_single_stripe_customer_by_id" not in {name for name, _ in postings["card"]}


def test_a_plural_is_read_with_the_object_word_before_it() -> None:
    assert INDEX.read("Bank accounts of acct_1Ba5Nk").kinds == {"list"}  # bank accounts, no Connect accounts
    assert INDEX.read("Give me the people on acct_1Pp0Le").kinds == {"list"}  # a plural without its s
    assert "list" not in INDEX.read("Ten seats for cus_1Ten on the Enterprise plan").kinds  # a quantity


def test_a_noun_that_may_be_a_verb_is_one_only_first() -> None:
    assert "create" in INDEX.read("Please refund ch_3Plz").kinds
    assert "create" not in INDEX.read("The refund of an application fee fr_1Af1Rf").kinds


def test_a_perfect_tense_describes() -> None:
    assert INDEX.read("All company cards we've issued").kinds == {"list"}


def test_an_id_points_at_a_tool_that_takes_it_one_level_down_but_not_at_making_one_of_its_kind() -> None:
    assert "default_payment_method" in INDEX.index.references["update_a_stripe_customer_by_id"]
    top = [name for name, _ in INDEX.search("Make pm_1Def the card we bill by default for cus_1Def", REGISTRY.tools, 3)]
    assert "update_a_stripe_customer_by_id" in top
    # create_invoice takes from_invoice, yet in_4 is the invoice to look at, not one to make a new one from
    top = [name for name, _ in INDEX.search("Find invoice in_4Find", REGISTRY.tools, 3)]
    assert "get_single_stripe_invoice_by_id" in top and "create_a_stripe_invoice" not in top


@pytest.mark.parametrize(
    ("query", "many"),
    [
        ("Break down last quarter's refunds by reason", True),
        ("How much did we send to each connected account this year", True),
        ("How much is invoice in_1Each for", False),
        ("Break down the payout po_1Brk line by line", False),  # one payout, named by its id
        ("Break down the fees of that charge", False),  # no "by": one object's figures
    ],
)
def test_a_figure_per_group_is_a_question_about_many_objects(query: str, many: bool) -> None:
    assert INDEX.read(query).about_many is many
