"""`stripe-mcp stdio`: one MCP server on standard input/output (desktop clients), for STRIPE_API_KEY."""

from __future__ import annotations

import asyncio
import os
import time

import click

from stripe_mcp.cli.main import comma_list, fail
from stripe_mcp.cli.upstream_options import stripe_base_url_option, stripe_version_option
from stripe_mcp.managed.service import STRIPE_ACCOUNT
from stripe_mcp.mcp.stdio import serve_stdio
from stripe_mcp.stripe_api.client import Upstream
from stripe_mcp.tools.approval_gate import ApprovalGate
from stripe_mcp.tools.approvals import APPROVAL_MODES
from stripe_mcp.tools.discovery import DiscoveryServer
from stripe_mcp.tools.filters import PolicyError, validate_filter
from stripe_mcp.tools.ranking import SearchIndex
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from stripe_mcp.web.settings import DEFAULTS


@click.command()
@click.option(
    "--methods",
    default="",
    help="Comma-separated: read, write, or kinds (get,list,search,create,update,delete,custom).",
)
@click.option("--tags", default="", help="Comma-separated functional areas or resources, e.g. disputes,customers.")
@click.option(
    "--discovery",
    is_flag=True,
    help="List three tools (search_tools, get_tool_schema, call_tool) instead of every tool.",
)
@click.option("--full-results", is_flag=True, help="Keep null fields and empty collections in results.")
@click.option("--stripe-account", default=None, help="Act on this connected account (Stripe-Account header), acct_...")
@click.option(
    "--approval",
    type=click.Choice(APPROVAL_MODES),
    default="none",
    show_default=True,
    help="Calls that need a person's yes: the client asks its user (MCP elicitation); a client that cannot be "
    "asked is refused.",
)
@stripe_base_url_option
@stripe_version_option
def stdio(
    methods: str,
    tags: str,
    discovery: bool,
    full_results: bool,
    stripe_account: str | None,
    approval: str,
    stripe_base_url: str,
    stripe_version: str | None,
) -> None:
    """One MCP server on standard input/output (desktop clients), for STRIPE_API_KEY."""
    api_key = os.environ.get("STRIPE_API_KEY")
    if not api_key:
        fail("set STRIPE_API_KEY to the Stripe key the tools act with")
    registry = Registry()
    try:
        tool_filter = validate_filter(registry, comma_list(methods), comma_list(tags))
    except PolicyError as exc:
        fail(str(exc))
    if stripe_account and not STRIPE_ACCOUNT.fullmatch(stripe_account):
        fail("--stripe-account must be a connected account id, acct_...")
    account = Account(api_key, stripe_version or registry.api_version, stripe_account)

    # No console behind stdio: a question goes to the client's user or the call is refused.
    gate = None if approval == "none" else ApprovalGate(approval, ttl=DEFAULTS.approval_ttl, clock=time.time)

    async def run() -> None:
        upstream = Upstream(stripe_base_url)
        server = StripeMcpServer(registry, upstream, account, tool_filter, full_results=full_results, approvals=gate)
        try:
            await serve_stdio(DiscoveryServer(server, SearchIndex(registry)) if discovery else server)
        finally:
            await upstream.aclose()

    asyncio.run(run())
