"""Stripe amounts as people read them: integers in the currency's smallest unit, shown in its own units.

Stripe sends and takes `amount` as an integer of the currency's minor unit: 1500 USD is 15.00, 1500 JPY is
1,500 (a zero-decimal currency), 1500 KWD is 1.500 (three decimals). ISK, HUF and TWD are zero-decimal in
life but two-decimal in the API, so they are shown with two decimals as Stripe counts them.
"""

from __future__ import annotations

from decimal import Decimal

ZERO_DECIMAL_CURRENCIES = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())


def minor_unit_digits(currency: str) -> int:
    """How many digits of an API amount are decimals in `currency` (0, 2 or 3)."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """`amount` (minor units) in `currency`'s units: format_amount(1500, "usd") == "15.00 USD"."""
    digits = minor_unit_digits(currency)
    value = Decimal(amount).scaleb(-digits)
    return f"{value:,.{digits}f} {currency.upper()}"
