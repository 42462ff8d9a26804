"""The options `serve` and `stdio` share for reaching Stripe."""

from __future__ import annotations

import click

from stripe_mcp.web.settings import DEFAULTS

stripe_base_url_option = click.option(
    "--stripe-base-url",
    default=DEFAULTS.stripe_base_url,
    show_default=True,
    help="Where Stripe is (an emulator in tests).",
)
stripe_version_option = click.option(
    "--stripe-version", default=None, help="Stripe-Version header. Default: the API version of the generated tools."
)
