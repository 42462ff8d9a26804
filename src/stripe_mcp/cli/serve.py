"""`stripe-mcp serve`: MCP over HTTP for every server in the store, the admin API and the console."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import click
import uvicorn

from stripe_mcp.cli.main import fail
from stripe_mcp.cli.upstream_options import stripe_base_url_option, stripe_version_option
from stripe_mcp.managed.budgets import BudgetError, BudgetRule
from stripe_mcp.managed.oauth import DocumentPolicy
from stripe_mcp.managed.secrets import MissingEncryptionKey
from stripe_mcp.managed.store import StoreUrlError, store_exists, store_label, unavailable_errors
from stripe_mcp.managed.times import iso
from stripe_mcp.web.app import create_app
from stripe_mcp.web.connections import (
    BODY_TIMEOUT_SECONDS,
    HEADER_TIMEOUT_SECONDS,
    ConnectionGuard,
    ConnectionLimits,
    default_max_connections,
)
from stripe_mcp.web.logging import configure_logging
from stripe_mcp.web.runtime import Runtime, preflight
from stripe_mcp.web.settings import DEFAULT_HOST, DEFAULT_PORT, DEFAULTS, Settings

SHUTDOWN_SECONDS = 5  # open legacy SSE streams would otherwise hold a shutdown forever
KEEP_ALIVE_SECONDS = 5  # an idle keep-alive connection is closed after this


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535), help="TCP port to listen on."
)
@click.option(
    "--store",
    "store_url",
    default=DEFAULTS.store_url,
    show_default=True,
    help="sqlite:///PATH (embedded) or redis://HOST:PORT/DB.",
)
@stripe_base_url_option
@stripe_version_option
@click.option(
    "--public-url", default=None, help="Base of the MCP URLs printed and returned. Default: http://HOST:PORT."
)
@click.option(
    "--allowed-host", "allowed_hosts", multiple=True, help="Host header to accept besides loopback (repeatable)."
)
@click.option(
    "--allowed-origin", "allowed_origins", multiple=True, help="Origin to accept besides loopback (repeatable)."
)
@click.option(
    "--upstream-timeout",
    default=DEFAULTS.upstream_timeout,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds per Stripe request.",
)
@click.option(
    "--server-budget",
    default=str(DEFAULTS.server_budget),
    show_default=True,
    help="Tool calls per seconds for one MCP server.",
)
@click.option(
    "--account-budget",
    default=str(DEFAULTS.account_budget),
    show_default=True,
    help="Tool calls per seconds for one account, all its servers together.",
)
@click.option(
    "--loaded-tools",
    default=DEFAULTS.loaded_tools,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Tool modules kept imported; more saves re-imports (~3 ms) when agents use many tools, fewer saves memory.",
)
@click.option(
    "--client-id-documents",
    type=click.Choice([p.value for p in DocumentPolicy]),
    default=DEFAULTS.client_documents.value,
    show_default=True,
    help="OAuth clients known by a Client ID Metadata Document (their client_id is its URL): fetched over https "
    "from public addresses only; 'private' also allows private and loopback addresses and plain http; 'off' refuses them.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, None),
    default=None,
    help="Open connections at most; beyond, the longest-idle one is closed. Default: the descriptor limit less 256.",
)
@click.option(
    "--header-timeout",
    default=HEADER_TIMEOUT_SECONDS,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds a connection has to send a request's headers.",
)
@click.option(
    "--body-timeout",
    default=BODY_TIMEOUT_SECONDS,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a request has to send its body.",
)
@click.option(
    "--approval-ttl",
    default=DEFAULTS.approval_ttl,
    show_default=True,
    type=click.FloatRange(30, 86400),
    help="Seconds a call waits for a person's approval, and an approved call for the agent to make it.",
)
def serve(
    host: str,
    port: int,
    store_url: str,
    stripe_base_url: str,
    stripe_version: str | None,
    public_url: str | None,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    upstream_timeout: float,
    server_budget: str,
    account_budget: str,
    loaded_tools: int,
    client_id_documents: str,
    max_connections: int | None,
    header_timeout: float,
    body_timeout: float,
    approval_ttl: float,
) -> None:
    """Serve MCP over HTTP for every server in the store, and the admin API (STRIPE_MCP_ADMIN_TOKEN)."""
    try:
        server_rule, account_rule = BudgetRule.parse(server_budget), BudgetRule.parse(account_budget)
    except BudgetError as exc:
        fail(str(exc))
    settings = Settings(
        store_url=store_url,
        stripe_base_url=stripe_base_url,
        stripe_version=stripe_version,
        public_url=public_url or f"http://{host}:{port}",
        default_api_key=os.environ.get("STRIPE_API_KEY") or None,
        admin_token=os.environ.get("STRIPE_MCP_ADMIN_TOKEN") or None,
        upstream_timeout=upstream_timeout,
        allowed_hosts=allowed_hosts + _public_host(public_url),
        allowed_origins=allowed_origins,
        server_budget=server_rule,
        account_budget=account_rule,
        loaded_tools=loaded_tools,
        approval_ttl=approval_ttl,
        client_documents=DocumentPolicy(client_id_documents),
    )

    try:
        where = store_label(store_url) + ("" if store_exists(store_url) else " (new)")
    except StoreUrlError as exc:
        fail(str(exc))

    def ready(runtime: Runtime) -> None:
        base = settings.public_url.rstrip("/")
        click.echo(f"stripe-mcp: {len(runtime.registry.tools)} tools (Stripe API {runtime.stripe_version}) on {base}")
        click.echo(f"store: {where}")
        if settings.admin_token:
            click.echo(
                f"admin console: {base}/admin (sign in with STRIPE_MCP_ADMIN_TOKEN); admin API: {base}/openapi.json"
            )
        else:
            click.echo("admin console and API: closed (set STRIPE_MCP_ADMIN_TOKEN to open them at /admin)")
        if runtime.default_url:
            click.echo(f"read-only MCP server for STRIPE_API_KEY: {runtime.default_url}")
        elif runtime.default_revoked_at is not None:
            click.echo(
                f"the read-only MCP server for STRIPE_API_KEY was revoked at {iso(runtime.default_revoked_at)}; it is "
                f"not made again. For a new URL: stripe-mcp servers create --account {runtime.default_account_id} "
                "--name default --methods read (or the console at /admin); to stop this notice, unset STRIPE_API_KEY."
            )

    configure_logging()
    try:
        asyncio.run(preflight(settings))
    except (MissingEncryptionKey, StoreUrlError) as exc:
        fail(str(exc))
    except unavailable_errors() as exc:
        fail(f"cannot open the store {where}: {one_line(exc)}")
    limits = ConnectionLimits(max_connections or default_max_connections(), header_timeout, body_timeout)
    uvicorn.run(
        create_app(settings, on_ready=ready),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # the app logs each tool call itself; uvicorn's line would be one more record per request
        lifespan="on",
        http=ConnectionGuard(limits).protocol(),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )


def one_line(error: Exception) -> str:
    """An exception as one line of its own words (a store's message can span lines)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]


def _public_host(public_url: str | None) -> tuple[str, ...]:
    """The host clients reach us by must pass the DNS-rebinding check."""
    return (urlsplit(public_url).netloc,) if public_url else ()
