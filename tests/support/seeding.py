"""Seeding the Stripe emulator through the official SDK, so its state never depends on our encoder."""

from __future__ import annotations

import stripe

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


def stripe_client(base_url: str, api_key: str) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": base_url}, max_network_retries=0)


def customer_with_card(client: stripe.StripeClient, **fields: object) -> str:
    """A customer whose default payment method is a test card, so charges and subscriptions succeed; its id."""
    card = client.v1.payment_methods.create(params={"type": "card", "card": CARD})
    customer = client.v1.customers.create(
        params={**fields, "payment_method": card.id, "invoice_settings": {"default_payment_method": card.id}}
    )
    return customer.id
