"""What an argument calls the object whose id it takes: shared by the generator (the index's nested references)
and discovery (which tools an id in a query refers to)."""

from __future__ import annotations


def referred_by(argument: str) -> set[str]:
    """The objects whose ids an argument takes: customer and customer_id a customer's, default_payment_method a
    payment method's (and a method's, which no id names)."""
    return {argument, *resource_names(argument.removesuffix("_id"))}


def resource_names(resource: str) -> list[str]:
    """What an argument may call an object: its resource, or its resource's last words (an issuing_cardholder is a
    cardholder, a terminal_location a location)."""
    parts = resource.split("_")
    return ["_".join(parts[start:]) for start in range(len(parts))]
