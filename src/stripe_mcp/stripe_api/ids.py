"""Stripe object ids: the prefix names the object (`cus_` a customer, `ch_` and `py_` a charge).

Discovery reads the resource off an id named in a query; the ChatGPT profile retrieves any object
by its id and links to its Dashboard page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class IdPrefix:
    resource: str  # the object, in snake_case as the manifest's `resource` and tool arguments name it
    # Without a retrieve tool the prefix only tells discovery which object a query's id names.
    retrieve_tool: str | None = None  # the tool that retrieves one object by this id
    dashboard_path: str | None = None  # its Dashboard page, under https://dashboard.stripe.com/[test/]


ID_PREFIXES: dict[str, IdPrefix] = {
    "acct": IdPrefix("account", "get_single_stripe_account_by_id", "connect/accounts"),
    "ba": IdPrefix("bank_account"),
    "bpc": IdPrefix("billing_portal_configuration"),
    "card": IdPrefix("card"),
    "cbtxn": IdPrefix("customer_balance_transaction"),
    "ch": IdPrefix("charge", "get_single_stripe_charge_by_id", "payments"),
    "cn": IdPrefix("credit_note", "get_single_stripe_credit_note_by_id", "credit_notes"),
    "cs": IdPrefix("checkout_session", "get_single_stripe_checkout_session_by_id", "checkout/sessions"),
    "cus": IdPrefix("customer", "get_single_stripe_customer_by_id", "customers"),
    "dp": IdPrefix("dispute", "get_single_stripe_dispute_by_id", "disputes"),
    "du": IdPrefix("dispute", "get_single_stripe_dispute_by_id", "disputes"),
    "evt": IdPrefix("event", "get_single_stripe_event_by_id", "events"),
    "fee": IdPrefix("application_fee"),
    "file": IdPrefix("file", "get_single_stripe_file_by_id", "files"),
    "fr": IdPrefix("application_fee_refund"),
    "frr": IdPrefix("reporting_report_run"),
    "iauth": IdPrefix("issuing_authorization"),
    "ic": IdPrefix("issuing_card"),
    "ich": IdPrefix("issuing_cardholder"),
    "idp": IdPrefix("issuing_dispute"),
    "ii": IdPrefix("invoiceitem", "get_single_stripe_invoiceitem_by_id", "invoiceitems"),
    "in": IdPrefix("invoice", "get_single_stripe_invoice_by_id", "invoices"),
    "ipi": IdPrefix("issuing_transaction"),
    "issfr": IdPrefix("radar_early_fraud_warning"),
    "pi": IdPrefix("payment_intent", "get_single_stripe_payment_intent_by_id", "payments"),
    "plan": IdPrefix("plan", "get_single_stripe_plan_by_id", "plans"),
    "plink": IdPrefix("payment_link"),
    "pm": IdPrefix("payment_method", "get_single_stripe_payment_method_by_id", "payment_methods"),
    "po": IdPrefix("payout", "get_single_stripe_payout_by_id", "payouts"),
    "price": IdPrefix("price", "get_single_stripe_price_by_id", "prices"),
    "prod": IdPrefix("product", "get_single_stripe_product_by_id", "products"),
    "promo": IdPrefix("promotion_code", "get_single_stripe_promotion_code_by_id", "promotion_codes"),
    "prv": IdPrefix("review"),
    "py": IdPrefix("charge", "get_single_stripe_charge_by_id", "payments"),
    "qt": IdPrefix("quote", "get_single_stripe_quote_by_id", "quotes"),
    "re": IdPrefix("refund", "get_single_stripe_refund_by_id", "refunds"),
    "rsl": IdPrefix("radar_value_list"),
    "rsli": IdPrefix("radar_value_list_item"),
    "seti": IdPrefix("setup_intent", "get_single_stripe_setup_intent_by_id", "setup_intents"),
    "shr": IdPrefix("shipping_rate"),
    "si": IdPrefix("subscription_item", "get_single_stripe_subscription_item_by_id", "subscription_items"),
    "src": IdPrefix("source"),
    "sub": IdPrefix("subscription", "get_single_stripe_subscription_by_id", "subscriptions"),
    "sub_sched": IdPrefix(
        "subscription_schedule", "get_single_stripe_subscription_schedule_by_id", "subscription_schedules"
    ),
    "tml": IdPrefix("terminal_location"),
    "tmr": IdPrefix("terminal_reader"),
    "tok": IdPrefix("token"),
    "tr": IdPrefix("transfer", "get_single_stripe_transfer_by_id", "connect/transfers"),
    "trr": IdPrefix("transfer_reversal"),
    "tu": IdPrefix("topup", "get_single_stripe_topup_by_id", "topups"),
    "txn": IdPrefix("balance_transaction", "get_single_stripe_balance_transaction_by_id", "balance/transactions"),
    "txr": IdPrefix("tax_rate", "get_single_stripe_tax_rate_by_id", "tax-rates"),
    "vs": IdPrefix("identity_verification_session"),
    "we": IdPrefix("webhook_endpoint"),
}
# A Stripe id: a prefix (group 1; live and test Checkout Sessions add cs_test_ / cs_live_), then characters
# with at least one digit or capital ("cus_NAg8g4", "ch_999888"), so that snake_case words such as
# tax_rates or cash_balance stay words. The prefix need not be in ID_PREFIXES.
STRIPE_ID = re.compile(r"\b(sub_sched|[a-z]{2,5})_(?:test_|live_)?(?=[a-z]*[0-9A-Z])[A-Za-z0-9]{3,}\b")
