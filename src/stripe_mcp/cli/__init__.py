"""The `stripe-mcp` command. Each command imports only its own side: serving never loads the code generator."""

from __future__ import annotations

import sys
from datetime import UTC
from pathlib import Path

import click

# The package's own generated/ (src/stripe_mcp/generated in a checkout): what `serve` loads.
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "generated"


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group()
@click.version_option(package_name="stripe-mcp")
def main() -> None:
    """The whole Stripe API as MCP tools."""


@main.command()
@click.option(
    "--spec", "spec", required=True, type=click.Path(path_type=Path), help="Stripe OpenAPI spec (JSON or YAML)."
)
@click.option(
    "--out",
    default=DEFAULT_OUT,
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write.",
)
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 listing stale files when --out is not what --spec generates."
)
def generate(spec: Path, out: Path, check: bool) -> None:
    """Render one tool module and one JSON schema per Stripe operation."""
    from stripe_mcp.codegen.generate import generate_files, stale_files, write_tree
    from stripe_mcp.codegen.loader import SpecError
    from stripe_mcp.codegen.stripe import ConventionError

    bar = None

    def start(total: int) -> None:
        nonlocal bar
        bar = click.progressbar(length=total, label="rendering tools", file=sys.stderr)
        bar.__enter__()

    try:
        result = generate_files(spec, on_start=start, on_done=lambda: bar.update(1) if bar else None)
    except (SpecError, ConventionError) as exc:
        fail(str(exc))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)

    if check:
        stale = stale_files(result.files, out)
        if stale:
            click.echo(
                f"{out} is stale against {spec}: {len(stale)} file(s) differ. Run: stripe-mcp generate --spec {spec} --out {out}"
            )
            for path in stale:
                click.echo(f"  {path}")
            sys.exit(1)
        click.echo(
            f"{out} is up to date: {result.tool_count} tools from Stripe API {result.api_version} ({result.seconds:.1f} s)"
        )
        return
    try:
        write_tree(result.files, out)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror or exc}); it was left as it was")
    click.echo(
        f"generated {result.tool_count} tools, {len(result.files)} files from Stripe API {result.api_version} "
        f"into {out} in {result.seconds:.1f} s"
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--store",
    "store_url",
    default="sqlite:///.stripe-mcp/store.sqlite3",
    show_default=True,
    help="sqlite:///PATH (embedded) or redis://HOST:PORT/DB.",
)
@click.option(
    "--stripe-base-url",
    default="https://api.stripe.com",
    show_default=True,
    help="Where Stripe is (an emulator in tests).",
)
@click.option(
    "--stripe-version", default=None, help="Stripe-Version header. Default: the API version of the generated tools."
)
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
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds per Stripe request.",
)
@click.option("--server-budget", default="50/10", show_default=True, help="Tool calls per seconds for one MCP server.")
@click.option(
    "--account-budget",
    default="50/10",
    show_default=True,
    help="Tool calls per seconds for one account, all its servers together.",
)
@click.option(
    "--loaded-tools",
    default=24,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Tool modules kept imported; more saves re-imports (~3 ms) when agents use many tools, fewer saves memory.",
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
) -> None:
    """Serve MCP over HTTP for every server in the store, and the admin API (STRIPE_MCP_ADMIN_TOKEN)."""
    import asyncio
    import os

    import uvicorn

    from stripe_mcp.managed.budgets import BudgetError, BudgetRule
    from stripe_mcp.managed.secrets import MissingEncryptionKey
    from stripe_mcp.managed.store import StoreUrlError
    from stripe_mcp.web.app import create_app
    from stripe_mcp.web.logging import configure_logging
    from stripe_mcp.web.runtime import preflight
    from stripe_mcp.web.settings import Settings

    try:
        budgets = {"server_budget": BudgetRule.parse(server_budget), "account_budget": BudgetRule.parse(account_budget)}
    except BudgetError as exc:
        fail(str(exc))
    settings = Settings(
        admin_token=os.environ.get("STRIPE_MCP_ADMIN_TOKEN") or None,
        loaded_tools=loaded_tools,
        **budgets,
        store_url=store_url,
        stripe_base_url=stripe_base_url,
        stripe_version=stripe_version,
        public_url=public_url or f"http://{host}:{port}",
        default_api_key=os.environ.get("STRIPE_API_KEY") or None,
        upstream_timeout=upstream_timeout,
        allowed_hosts=allowed_hosts + _public_host(public_url),
        allowed_origins=allowed_origins,
    )

    def ready(runtime) -> None:
        click.echo(
            f"stripe-mcp: {len(runtime.registry.tools)} tools (Stripe API {runtime.stripe_version}) on {settings.public_url}"
        )
        if runtime.default_url:
            click.echo(f"read-only MCP server for STRIPE_API_KEY: {runtime.default_url}")

    configure_logging()
    try:
        asyncio.run(preflight(settings))
    except (MissingEncryptionKey, StoreUrlError) as exc:
        fail(str(exc))
    except (OSError, ConnectionError) as exc:
        fail(f"cannot open the store {store_url}: {exc}")
    # Open legacy SSE streams would otherwise hold a shutdown forever.
    uvicorn.run(
        create_app(settings, on_ready=ready),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )


@main.command()
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
@click.option("--stripe-base-url", default="https://api.stripe.com", show_default=True)
@click.option("--stripe-version", default=None)
def stdio(
    methods: str,
    tags: str,
    discovery: bool,
    full_results: bool,
    stripe_account: str | None,
    stripe_base_url: str,
    stripe_version: str | None,
) -> None:
    """One MCP server on standard input/output (desktop clients), for STRIPE_API_KEY."""
    import asyncio
    import os

    from stripe_mcp.managed.service import STRIPE_ACCOUNT
    from stripe_mcp.mcp.stdio import serve_stdio
    from stripe_mcp.stripe_api.client import Upstream
    from stripe_mcp.tools.discovery import DiscoveryServer, SearchIndex
    from stripe_mcp.tools.filters import PolicyError, validate_filter
    from stripe_mcp.tools.registry import Registry
    from stripe_mcp.tools.server import Account, StripeMcpServer

    api_key = os.environ.get("STRIPE_API_KEY")
    if not api_key:
        fail("set STRIPE_API_KEY to the Stripe key the tools act with")
    registry = Registry()
    try:
        tool_filter = validate_filter(registry, _split(methods), _split(tags))
    except PolicyError as exc:
        fail(str(exc))
    if stripe_account and not STRIPE_ACCOUNT.fullmatch(stripe_account):
        fail("--stripe-account must be a connected account id, acct_...")

    async def run() -> None:
        upstream = Upstream(stripe_base_url)
        server = StripeMcpServer(
            registry,
            upstream,
            Account(api_key, stripe_version or registry.api_version, stripe_account),
            tool_filter,
            full_results=full_results,
        )
        try:
            await serve_stdio(DiscoveryServer(server, SearchIndex(registry)) if discovery else server)
        finally:
            await upstream.aclose()

    asyncio.run(run())


# Spec updates: what a new spec changes for agents, and fetching it (the code generator's side).


@main.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--format", "output_format", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=1000),
    default=None,
    help="Markdown: shed detail to fit (a pull-request body holds 65536 characters).",
)
def diff(old: Path, new: Path, output_format: str, max_chars: int | None) -> None:
    """Tools added, removed and changed from OLD to NEW (each a spec file or a generated/ folder).

    Every change is marked breaking or additive. Exit 0 whatever the changes (it is a report).
    """
    from stripe_mcp.codegen.diff import diff_paths, render_json, render_markdown
    from stripe_mcp.codegen.loader import SpecError

    try:
        report = diff_paths(old, new)
    except SpecError as exc:
        fail(str(exc))
    click.echo(render_json(report) if output_format == "json" else render_markdown(report, max_chars), nl=False)


@main.command("fetch-spec")
@click.option("--ref", default=None, help="Tag (e.g. v526) or commit of stripe/openapi. Default: the newest vN tag.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the spec, outside the repository. Default: ../specs-cache/spec3.yaml beside it.",
)
@click.option(
    "--pin",
    "pin",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The pin to update. Default: specs/stripe.yaml.",
)
@click.option(
    "--source-url",
    default=None,
    help="Download base: URL = <base>/<commit or tag>/<source.path>. Default: from the pin's source.url.",
)
@click.option(
    "--remote",
    default=None,
    help="git remote whose tags are listed. Default: the GitHub repository of the pin (none with --source-url).",
)
@click.option(
    "--timeout", default=60.0, show_default=True, type=click.FloatRange(1, 600), help="Seconds per network step."
)
def fetch_spec(
    ref: str | None, out: Path | None, pin: Path | None, source_url: str | None, remote: str | None, timeout: float
) -> None:
    """Download Stripe's OpenAPI spec at a ref, check it, and move the pin (specs/stripe.yaml) to it."""
    from stripe_mcp.codegen.fetch import fetch_spec as fetch
    from stripe_mcp.codegen.loader import SpecError

    try:
        fetched = fetch(ref=ref, out=out, pin_path=pin, source_url=source_url, remote=remote, timeout=timeout)
    except SpecError as exc:
        fail(str(exc))
    where = fetched.tag or fetched.commit
    click.echo(
        f"fetched Stripe API {fetched.api_version} ({where}, {fetched.bytes} bytes) into {fetched.out}; updated {fetched.pin}"
    )


# Provisioning from the command line: the same service functions as the admin API, on the store directly.

store_option = click.option("--store", "store_url", default="sqlite:///.stripe-mcp/store.sqlite3", show_default=True)
public_url_option = click.option(
    "--public-url", default="http://127.0.0.1:8000", show_default=True, help="Base of the MCP URL printed."
)


def _with_store(store_url: str, action):
    """Open the store and keys, run `action(store, keys, registry)`, close; clean errors for bad input."""
    import asyncio

    from stripe_mcp.managed.secrets import MissingEncryptionKey, encryption_keys
    from stripe_mcp.managed.store import StoreUrlError, open_store
    from stripe_mcp.tools.filters import PolicyError
    from stripe_mcp.tools.registry import Registry

    async def run():
        keys = encryption_keys(store_url)
        store = open_store(store_url)
        try:
            return await action(store, keys, Registry())
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (PolicyError, MissingEncryptionKey, StoreUrlError) as exc:
        fail(str(exc))
    except (OSError, ConnectionError) as exc:
        fail(f"cannot open the store {store_url}: {exc}")


@main.group()
def accounts() -> None:
    """Integrated Stripe accounts."""


@accounts.command("add")
@click.option("--name", required=True)
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
    import re

    from stripe_mcp.managed import service

    if not re.fullmatch(r"(sk|rk)_(test|live)_[A-Za-z0-9_]+", stripe_api_key):
        fail("that is not a Stripe secret or restricted key (sk_test_..., sk_live_..., rk_...)")
    record = _with_store(
        store_url, lambda store, keys, registry: service.create_account(store, keys, name, stripe_api_key)
    )
    click.echo(f"added account {record.id}")


@accounts.command("list")
@store_option
def accounts_list(store_url: str) -> None:
    for account in _with_store(store_url, lambda store, keys, registry: store.list_accounts()):
        click.echo(f"{account.id}  {account.name}  {account.key_hint}")


@main.group()
def servers() -> None:
    """MCP servers of an account."""


@servers.command("create")
@click.option("--account", "account_id", required=True)
@click.option("--name", required=True)
@click.option("--methods", default="", help="Comma-separated: read, write, or kinds.")
@click.option("--tags", default="")
@click.option("--require-api-token", is_flag=True, help="Also require Authorization: Bearer <api token>.")
@click.option("--stripe-account", default=None, help="Act on this connected account (Stripe-Account header), acct_...")
@click.option(
    "--expires-at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ"]),
    default=None,
    help="e.g. 2026-12-01T00:00:00Z",
)
@store_option
@public_url_option
def servers_create(
    account_id, name, methods, tags, require_api_token, stripe_account, expires_at, store_url, public_url
) -> None:
    """Create a server and print its MCP URL (shown this once)."""
    from stripe_mcp.managed import service

    expires = None
    if expires_at is not None:
        expires = (expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)).timestamp()
    config = {
        "methods": _split(methods),
        "tags": _split(tags),
        "require_api_token_auth": require_api_token,
        "stripe_account": stripe_account,
    }

    async def create(store, keys, registry):
        if await store.get_account(account_id) is None:
            fail(f"no integrated account {account_id}")
        return await service.create_server(store, registry, account_id, name, config, expires)

    created = _with_store(store_url, create)
    click.echo(f"created server {created.record.id}; its MCP URL (shown once):")
    click.echo(f"{public_url.rstrip('/')}/mcp/{created.token}")


@servers.command("list")
@click.option("--account", "account_id", required=True)
@store_option
def servers_list(account_id: str, store_url: str) -> None:
    for server in _with_store(store_url, lambda store, keys, registry: store.list_servers(account_id)):
        click.echo(f"{server.id}  {server.name}  {server.config}  expires_at={server.expires_at}")


@servers.command("revoke")
@click.option("--account", "account_id", required=True)
@click.option("--id", "server_id", required=True)
@store_option
def servers_revoke(account_id: str, server_id: str, store_url: str) -> None:
    if not _with_store(store_url, lambda store, keys, registry: store.delete_server(account_id, server_id)):
        fail(f"no server {server_id} on account {account_id}")
    click.echo(f"revoked {server_id}")


@main.group("api-tokens")
def api_tokens() -> None:
    """API tokens: the second factor of servers with require_api_token_auth."""


@api_tokens.command("create")
@click.option("--admin", is_flag=True, help="The token also signs in to the admin console at /admin.")
@store_option
def api_tokens_create(admin: bool, store_url: str) -> None:
    from stripe_mcp.managed import service

    record, token = _with_store(store_url, lambda store, keys, registry: service.create_api_token(store, admin=admin))
    click.echo(f"created API token {record.id} (shown once):")
    click.echo(token)


def _public_host(public_url: str | None) -> tuple[str, ...]:
    """The host clients reach us by must pass the DNS-rebinding check."""
    from urllib.parse import urlsplit

    return (urlsplit(public_url).netloc,) if public_url else ()


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


if __name__ == "__main__":
    main()
