"""The `stripe-mcp` command. Each command imports only its own side: serving never loads the code generator."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_OUT = Path("generated")


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group()
@click.version_option(package_name="stripe-mcp")
def main() -> None:
    """The whole Stripe API as MCP tools."""


@main.command()
@click.option("--spec", "spec", required=True, type=click.Path(path_type=Path), help="Stripe OpenAPI spec (JSON or YAML).")
@click.option("--out", default=DEFAULT_OUT, show_default=True, type=click.Path(path_type=Path, file_okay=False), help="Folder to write.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing stale files when --out is not what --spec generates.")
def generate(spec: Path, out: Path, check: bool) -> None:
    """Render one tool module and one JSON schema per Stripe operation."""
    from codegen.generate import generate_files, stale_files, write_tree
    from codegen.loader import SpecError
    from codegen.stripe import ConventionError

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
            click.echo(f"{out} is stale against {spec}: {len(stale)} file(s) differ. Run: stripe-mcp generate --spec {spec} --out {out}")
            for path in stale:
                click.echo(f"  {path}")
            sys.exit(1)
        click.echo(f"{out} is up to date: {result.tool_count} tools from Stripe API {result.api_version} ({result.seconds:.1f} s)")
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
@click.option("--store", "store_url", default="sqlite:///.stripe-mcp/store.sqlite3", show_default=True,
              help="sqlite:///PATH (embedded) or redis://HOST:PORT/DB.")
@click.option("--stripe-base-url", default="https://api.stripe.com", show_default=True, help="Where Stripe is (an emulator in tests).")
@click.option("--stripe-version", default=None, help="Stripe-Version header. Default: the API version of the generated tools.")
@click.option("--public-url", default=None, help="Base of the MCP URLs printed and returned. Default: http://HOST:PORT.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, help="Host header to accept besides loopback (repeatable).")
@click.option("--allowed-origin", "allowed_origins", multiple=True, help="Origin to accept besides loopback (repeatable).")
@click.option("--upstream-timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 600), help="Seconds per Stripe request.")
def serve(host: str, port: int, store_url: str, stripe_base_url: str, stripe_version: str | None, public_url: str | None,
          allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...], upstream_timeout: float) -> None:
    """Serve MCP over HTTP for every server in the store."""
    import os

    import uvicorn

    import asyncio

    from runtime.app import Settings, create_app, preflight
    from runtime.secrets import MissingEncryptionKey
    from runtime.store import StoreUrlError

    settings = Settings(
        store_url=store_url,
        stripe_base_url=stripe_base_url,
        stripe_version=stripe_version,
        public_url=public_url or f"http://{host}:{port}",
        default_api_key=os.environ.get("STRIPE_API_KEY") or None,
        upstream_timeout=upstream_timeout,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
    )

    def ready(runtime) -> None:
        click.echo(f"stripe-mcp: {len(runtime.registry.tools)} tools (Stripe API {runtime.stripe_version}) on {settings.public_url}")
        if runtime.default_url:
            click.echo(f"read-only MCP server for STRIPE_API_KEY: {runtime.default_url}")

    try:
        asyncio.run(preflight(settings))
    except (MissingEncryptionKey, StoreUrlError) as exc:
        fail(str(exc))
    uvicorn.run(create_app(settings, on_ready=ready), host=host, port=port, log_level="warning", lifespan="on")


@main.command()
@click.option("--methods", default="", help="Comma-separated: read, write, or kinds (get,list,search,create,update,delete,custom).")
@click.option("--tags", default="", help="Comma-separated functional areas or resources, e.g. disputes,customers.")
@click.option("--stripe-base-url", default="https://api.stripe.com", show_default=True)
@click.option("--stripe-version", default=None)
def stdio(methods: str, tags: str, stripe_base_url: str, stripe_version: str | None) -> None:
    """One MCP server on standard input/output (desktop clients), for STRIPE_API_KEY."""
    import asyncio
    import os

    from runtime.policy import PolicyError, validate_filter
    from runtime.registry import Registry
    from runtime.server import Account, StripeMcpServer
    from runtime.stdio import serve_stdio
    from runtime.upstream import Upstream

    api_key = os.environ.get("STRIPE_API_KEY")
    if not api_key:
        fail("set STRIPE_API_KEY to the Stripe key the tools act with")
    registry = Registry()
    try:
        tool_filter = validate_filter(registry, _split(methods), _split(tags))
    except PolicyError as exc:
        fail(str(exc))

    async def run() -> None:
        upstream = Upstream(stripe_base_url)
        server = StripeMcpServer(registry, upstream, Account(api_key, stripe_version or registry.api_version), tool_filter)
        try:
            await serve_stdio(server)
        finally:
            await upstream.aclose()

    asyncio.run(run())


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


if __name__ == "__main__":
    main()
