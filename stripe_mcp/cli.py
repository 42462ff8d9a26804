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


if __name__ == "__main__":
    main()
