"""Provisioning from the command line: accounts, servers and API tokens, through managed.service as the
admin API does, on the store directly (a running `serve` on the same store sees the changes within a second)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import click

from stripe_mcp.cli.main import comma_list, fail
from stripe_mcp.managed import service
from stripe_mcp.managed.secrets import KeyBox, MissingEncryptionKey, encryption_keys
from stripe_mcp.managed.store import StoreUrlError, open_store, store_exists, store_label, unavailable_errors
from stripe_mcp.managed.store.base import ApiTokenRecord, ServerRecord, Store
from stripe_mcp.managed.store_keys import check_store_keys
from stripe_mcp.managed.times import iso
from stripe_mcp.tools.approvals import APPROVAL_MODES
from stripe_mcp.tools.filters import EXPOSURES, PolicyError
from stripe_mcp.tools.registry import Registry
from stripe_mcp.web.settings import DEFAULTS

T = TypeVar("T")
Action = Callable[[Store, KeyBox | None, Registry], Awaitable[T]]

store_option = click.option(
    "--store",
    "store_url",
    default=DEFAULTS.store_url,
    show_default=True,
    help="The store `stripe-mcp serve` uses: sqlite:///PATH (relative to this directory) or redis://HOST:PORT/DB.",
)
account_option = click.option("--account", "account_id", required=True, help="The integrated account's id, acct_...")
public_url_option = click.option(
    "--public-url", default=DEFAULTS.public_url, show_default=True, help="Base of the MCP URL printed."
)


class Refused(Exception):
    """Input the command cannot act on; said on stderr, exit 2, nothing changed."""


def with_store(store_url: str, action: Action[T], *, creates: bool = False) -> T:
    """Open the store and keys, run `action(store, keys, registry)`, close; clean errors for bad input.

    Says on stderr which store it opened. Only a command that `creates` (adding an account or an API token)
    may start a new SQLite store: any other one run in the wrong directory says so instead of making an
    empty store there.
    """
    try:
        where, exists = store_label(store_url), store_exists(store_url)
    except StoreUrlError as exc:
        fail(str(exc))
    if not exists and not creates:
        fail(
            f"there is no store at {where}. Run this where `stripe-mcp serve` keeps its store (the directory "
            "holding .stripe-mcp/), or pass --store with its location."
        )
    click.echo(f"store: {where}{'' if exists else ' (new)'}", err=True)

    async def run() -> T:
        keys = encryption_keys(store_url)
        store = open_store(store_url)
        try:
            await check_store_keys(store, store_url, keys)
            return await action(store, keys, Registry())
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (Refused, PolicyError, MissingEncryptionKey, StoreUrlError) as exc:
        fail(str(exc))
    except unavailable_errors() as exc:
        fail(f"cannot open the store {where}: {' '.join(str(exc).split()) or type(exc).__name__}")


async def existing_account(store: Store, account_id: str) -> None:
    if await store.get_account(account_id) is None:
        raise Refused(f"no integrated account {account_id}")


expires_at_option = click.option(
    "--expires-at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ"]),
    default=None,
    help="When it stops working, e.g. 2026-12-01T00:00:00Z (UTC unless it says otherwise). Default: never.",
)


def timestamp(when: datetime | None) -> float | None:
    """A --expires-at as Unix time: UTC unless it says otherwise."""
    return None if when is None else (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def server_line(record: ServerRecord, tool_count: int, usage: service.ServerUsage) -> str:
    """One server on one line: id, name, then key=value fields; times in ISO 8601 (UTC)."""
    config = record.config
    fields = [
        f"methods={','.join(config.get('methods', ())) or 'all'}",
        f"tags={','.join(config.get('tags', ())) or 'all'}",
        f"exposure={config.get('tool_exposure', 'all')}",
        f"tools={tool_count}",
        f"api_token_required={'yes' if config.get('require_api_token_auth') else 'no'}",
    ]
    if service.uses_oauth(config):
        fields.append("auth=oauth")
    if config.get("full_results"):
        fields.append("full_results=yes")
    if config.get("approval"):
        fields.append(f"approval={config['approval']}")
    if config.get("stripe_account"):
        fields.append(f"stripe_account={config['stripe_account']}")
    fields += [
        f"expires_at={'never' if record.expires_at is None else iso(record.expires_at)}",
        f"created_at={iso(record.created_at)}",
        f"last_used_at={'never' if usage.last_used_at is None else iso(usage.last_used_at)}",
        f"calls_24h={usage.calls_24h}",
    ]
    return "  ".join([record.id, record.name, *fields])


@click.group()
def accounts() -> None:
    """Integrated Stripe accounts: add, list, remove."""


@accounts.command("add")
@click.option("--name", required=True, help="What people call the account, e.g. acme; shown in lists and the console.")
@click.option(
    "--stripe-api-key",
    envvar="STRIPE_API_KEY",
    prompt=True,
    hide_input=True,
    help="Default: $STRIPE_API_KEY, else asked.",
)
@store_option
def accounts_add(name: str, stripe_api_key: str, store_url: str) -> None:
    """Add an account; its key is stored encrypted and never shown again."""
    if not service.STRIPE_KEY.fullmatch(stripe_api_key):
        fail("that is not a Stripe secret or restricted key (sk_test_..., sk_live_..., rk_...)")

    async def add(store: Store, keys: KeyBox | None, registry: Registry) -> str:
        return (await service.create_account(store, keys, name, stripe_api_key)).id

    click.echo(f"added account {with_store(store_url, add, creates=True)}")


@accounts.command("list")
@store_option
def accounts_list(store_url: str) -> None:
    """Every account: id, name and the hint of its key."""

    async def listed(store: Store, keys: KeyBox | None, registry: Registry) -> list[str]:
        return [f"{a.id}  {a.name}  {a.key_hint}" for a in await store.list_accounts()]

    for line in with_store(store_url, listed):
        click.echo(line)


@accounts.command("remove")
@click.option("--id", "account_id", required=True, help="The account to remove, acct_...")
@click.confirmation_option(prompt="Remove the account, its stored Stripe key and every MCP server on it?")
@store_option
def accounts_remove(account_id: str, store_url: str) -> None:
    """Remove an account, its stored key and all its servers: their URLs answer 404 from then on."""

    async def remove(store: Store, keys: KeyBox | None, registry: Registry) -> None:
        if not await service.delete_account(store, account_id):
            raise Refused(f"no integrated account {account_id}")

    with_store(store_url, remove)
    click.echo(f"removed account {account_id}")


@click.group()
def servers() -> None:
    """MCP servers of an account: create, list, revoke."""


@servers.command("create")
@account_option
@click.option("--name", required=True, help='Shown to agents as the server\'s name, e.g. "support (read-only)".')
@click.option("--methods", default="", help="Comma-separated: read, write, or kinds. Default: every kind.")
@click.option(
    "--tags", default="", help="Comma-separated functional areas or resources, e.g. support. Default: every tool."
)
@click.option(
    "--tool-exposure",
    type=click.Choice(EXPOSURES),
    default="all",
    show_default=True,
    help="What agents list: every tool, the three discovery tools, or ChatGPT's search and fetch.",
)
@click.option("--full-results", is_flag=True, help="Keep null fields and empty collections in results.")
@click.option("--require-api-token", is_flag=True, help="Also require Authorization: Bearer <api token>.")
@click.option(
    "--auth",
    type=click.Choice(service.AUTH_MODES),
    default="url_token",
    show_default=True,
    help="url_token: a secret URL. oauth: a URL without secret; clients connect with OAuth and a person's consent.",
)
@click.option("--stripe-account", default=None, help="Act on this connected account (Stripe-Account header), acct_...")
@click.option(
    "--approval",
    type=click.Choice(APPROVAL_MODES),
    default="none",
    show_default=True,
    help="Calls that reach Stripe only after a person said yes: destructive tools, every write, or none.",
)
@expires_at_option
@store_option
@public_url_option
def servers_create(
    account_id: str,
    name: str,
    methods: str,
    tags: str,
    tool_exposure: str,
    full_results: bool,
    require_api_token: bool,
    auth: str,
    stripe_account: str | None,
    approval: str,
    expires_at: datetime | None,
    store_url: str,
    public_url: str,
) -> None:
    """Create a server and print its MCP URL (shown this once)."""
    expires = timestamp(expires_at)
    # The admin API's config keys, one option each.
    config = {
        "methods": comma_list(methods),
        "tags": comma_list(tags),
        "tool_exposure": tool_exposure,
        "full_results": full_results,
        "require_api_token_auth": require_api_token,
        "auth": auth,
        "stripe_account": stripe_account,
        "approval": approval,
    }

    async def create(store: Store, keys: KeyBox | None, registry: Registry) -> service.CreatedServer:
        await existing_account(store, account_id)
        return await service.create_server(store, registry, account_id, name, config, expires)

    created = with_store(store_url, create)
    shown = "no secret: clients connect with OAuth" if auth == "oauth" else "shown once"
    click.echo(f"created server {created.record.id}; its MCP URL ({shown}):")
    click.echo(f"{public_url.rstrip('/')}/mcp/{created.token}")


@servers.command("list")
@account_option
@store_option
def servers_list(account_id: str, store_url: str) -> None:
    """The account's servers, as the admin API lists them: expired ones left out, never a token."""

    async def listed(store: Store, keys: KeyBox | None, registry: Registry) -> list[str]:
        await existing_account(store, account_id)
        now = time.time()
        return [
            server_line(
                record,
                len(service.server_tools(registry, record.config).tool_names),
                await service.server_usage(store, record.id, now),
            )
            for record in await service.list_servers(store, account_id, now)
        ]

    for line in with_store(store_url, listed):
        click.echo(line)


@servers.command("revoke")
@account_option
@click.option("--id", "server_id", required=True, help="The server to revoke, srv_... (see servers list).")
@store_option
def servers_revoke(account_id: str, server_id: str, store_url: str) -> None:
    """Revoke a server: its URL answers 404 from then on."""

    async def revoke(store: Store, keys: KeyBox | None, registry: Registry) -> None:
        if not await service.revoke_server(store, account_id, server_id, keys=keys):
            raise Refused(f"no server {server_id} on account {account_id}")

    with_store(store_url, revoke)
    click.echo(f"revoked {server_id}")


@click.group("api-tokens")
def api_tokens() -> None:
    """API tokens: the second factor of servers with require_api_token_auth."""


@api_tokens.command("create")
@click.option("--admin", is_flag=True, help="The token also signs in to the admin console at /admin.")
@click.option("--account", "account_id", default=None, help="Only this account's servers accept the token.")
@expires_at_option
@store_option
def api_tokens_create(admin: bool, account_id: str | None, expires_at: datetime | None, store_url: str) -> None:
    """Create an API token and print it (shown this once)."""

    async def create(store: Store, keys: KeyBox | None, registry: Registry) -> tuple[str, str]:
        record, token = await service.create_api_token(
            store, admin=admin, account_id=account_id, expires_at=timestamp(expires_at)
        )
        return record.id, token

    token_id, token = with_store(store_url, create, creates=True)
    click.echo(f"created API token {token_id} (shown once):")
    click.echo(token)


def token_line(record: ApiTokenRecord) -> str:
    """One API token on one line: its id, then key=value fields (never the token)."""
    fields = [
        f"account={record.account_id or 'all'}",
        f"admin={'yes' if record.admin else 'no'}",
        f"created_at={iso(record.created_at)}",
        f"expires_at={'never' if record.expires_at is None else iso(record.expires_at)}",
        f"last_used_at={'never' if record.last_used_at is None else iso(record.last_used_at)}",
    ]
    return "  ".join([record.id, *fields])


@api_tokens.command("list")
@store_option
def api_tokens_list(store_url: str) -> None:
    """The API tokens that hold (revoked and expired ones are refused, so not listed); never the tokens."""

    async def listed(store: Store, keys: KeyBox | None, registry: Registry) -> list[str]:
        return [token_line(record) for record in await service.list_api_tokens(store, time.time())]

    for line in with_store(store_url, listed):
        click.echo(line)


@api_tokens.command("revoke")
@click.option("--id", "token_id", required=True, help="The token's id, tok_... (from api-tokens list).")
@store_option
def api_tokens_revoke(token_id: str, store_url: str) -> None:
    """Revoke an API token: every server and console session refuses it from then on."""

    async def revoke(store: Store, keys: KeyBox | None, registry: Registry) -> None:
        if not await service.revoke_api_token(store, token_id):
            raise Refused(f"no API token {token_id}")

    with_store(store_url, revoke)
    click.echo(f"revoked {token_id}")
