"""The question a person answers before a write reaches Stripe, in words they check at a glance.

"Refund 15.00 USD of charge ch_1 (sarah.jones@example.com, paid 49.00 USD on 2026-11-02) in TEST mode?"

It names the operation, its target object, its amount in the currency's units and the mode. What the
arguments alone do not say (whose charge, how much was paid) is read from Stripe first: a read, never a
write. When a read fails, the question says so and asks with what is known; an amount whose currency is
unknown is given in minor units, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from stripe_mcp.stripe_api.amounts import format_amount
from stripe_mcp.tools.registry import ToolEntry

# (tool, arguments) -> the object a GET tool answers, or None when it failed.
Reader = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]

UNREADABLE = "its details could not be read"
MAX_VALUE_CHARS = 80
MAX_LISTED_ARGUMENTS = 10
NOT_LISTED = frozenset({"expand", "idempotency_key"})
# Refund tools: where their charge id is, besides create_a_stripe_refund's `charge` / `payment_intent`.
REFUND_CHARGE_ARGUMENT = {"create_a_stripe_charge_refund": "charge_id", "refund_a_stripe_charge": "id"}


def mode_words(livemode: bool) -> str:
    return "LIVE mode" if livemode else "TEST mode"


def money(amount: Any, currency: Any) -> str:
    if not isinstance(amount, int) or isinstance(amount, bool):
        return str(amount)
    if isinstance(currency, str) and currency:
        return format_amount(amount, currency)
    return f"{amount} in the smallest unit of a currency that could not be read"


def day(timestamp: Any) -> str | None:
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")


async def question_for(tool: ToolEntry, arguments: Mapping[str, Any], *, livemode: bool, read: Reader) -> str:
    if tool.name == "create_a_stripe_refund" or tool.name in REFUND_CHARGE_ARGUMENT:
        return await _refund(tool, arguments, livemode, read)
    return await _generic(tool, arguments, livemode, read)


async def _refund(tool: ToolEntry, arguments: Mapping[str, Any], livemode: bool, read: Reader) -> str:
    charge = arguments.get(REFUND_CHARGE_ARGUMENT.get(tool.name, "charge"))
    intent = arguments.get("payment_intent")
    target: dict[str, Any] | None = None
    if isinstance(charge, str):
        noun, target = f"charge {charge}", await read("get_single_stripe_charge_by_id", {"id": charge})
    elif isinstance(intent, str):
        noun, target = f"payment intent {intent}", await read("get_single_stripe_payment_intent_by_id", {"id": intent})
    elif isinstance(customer := arguments.get("customer"), str):
        noun = f"the balance of customer {customer}"
    else:
        noun = "a payment the arguments do not name"
    currency = arguments.get("currency") or (target or {}).get("currency")
    amount = arguments.get("amount")
    if amount is not None:
        what = money(amount, currency)
    elif target is not None and isinstance(paid := target.get("amount"), int):
        refunded = target.get("amount_refunded")
        left = paid - refunded if isinstance(refunded, int) else paid
        what = f"the full remaining {money(left, currency)}"
    else:
        what = "the full amount"
    details = await _details(target, read) if (charge or intent) else ""
    return f"Refund {what} of {noun}{details} in {mode_words(livemode)}?"


async def _generic(tool: ToolEntry, arguments: Mapping[str, Any], livemode: bool, read: Reader) -> str:
    """ "<Title> <resource> <id> (<details>): <arguments> in TEST mode?" for any other operation."""
    target_id = arguments.get("id")
    phrase = tool.title
    target: dict[str, Any] | None = None
    if isinstance(target_id, str):
        target = await read(f"get_single_stripe_{tool.resource}_by_id", {"id": target_id})
        noun = tool.resource.replace("_", " ")
        named = "" if phrase.lower().endswith(noun) else f" {noun}"  # "Delete customer cus_1", "Pay invoice in_1"
        phrase += f"{named} {target_id}" + await _details(target, read)
    currency = arguments.get("currency") or (target or {}).get("currency")
    listed = [
        _argument(name, value, currency)
        for name, value in arguments.items()
        if name not in NOT_LISTED and name != "id" and name != "currency"
    ]
    if len(listed) > MAX_LISTED_ARGUMENTS:
        listed = [*listed[:MAX_LISTED_ARGUMENTS], f"and {len(listed) - MAX_LISTED_ARGUMENTS} more"]
    if listed:
        phrase += ": " + ", ".join(listed)
    return f"{phrase} in {mode_words(livemode)}?"


def _argument(name: str, value: Any, currency: Any) -> str:
    if name == "amount" or name.endswith("_amount") or name.startswith("amount_"):
        return f"{name.replace('_', ' ')} {money(value, currency)}"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return f"{name.replace('_', ' ')} {text}"


async def _details(target: dict[str, Any] | None, read: Reader) -> str:
    """ " (pat@example.com, paid 49.00 USD on 2026-11-02)": who, and what was paid, of the target object."""
    if target is None:
        return f" ({UNREADABLE})"
    parts: list[str] = []
    email = _email(target)
    if email is None and isinstance(customer := target.get("customer"), str):
        owner = await read("get_single_stripe_customer_by_id", {"id": customer})
        email = _email(owner) if owner else None
        if email is None and owner and isinstance(owner.get("name"), str):
            email = owner["name"]
    if email is None and isinstance(target.get("name"), str):
        email = target["name"]
    if email:
        parts.append(email)
    amount, currency = target.get("amount"), target.get("currency")
    if isinstance(amount, int) and isinstance(currency, str):
        verb = "paid" if target.get("object") in ("charge", "payment_intent", "invoice") else "amount"
        when = day(target.get("created"))
        parts.append(f"{verb} {format_amount(amount, currency)}" + (f" on {when}" if when else ""))
    status = target.get("status")
    if isinstance(status, str) and target.get("object") not in ("charge", "customer"):
        parts.append(status)
    return f" ({', '.join(parts)})" if parts else ""


def _email(obj: Mapping[str, Any]) -> str | None:
    billing = obj.get("billing_details")
    for email in (
        obj.get("email"),
        obj.get("receipt_email"),
        billing.get("email") if isinstance(billing, dict) else None,
    ):
        if isinstance(email, str) and email:
            return email
    return None
