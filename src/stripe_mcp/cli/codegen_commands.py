"""The code generator's commands: generate, diff and fetch-spec.

The generator's modules are imported inside each command: its dependencies are the `codegen` extra, and
`stripe-mcp --help` must work without them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import click

from stripe_mcp.cli.main import fail

# The package's own generated/ (src/stripe_mcp/generated in a checkout): what `serve` loads.
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "generated"


# The `codegen` extra, by the modules it installs; the generator imports some of them only in its worker processes.
CODEGEN_MODULES = ("yaml", "jinja2", "datamodel_code_generator", "ruff")


def require_codegen_extra(command: str) -> None:
    """A missing generator dependency says how to install it, instead of a traceback halfway through."""
    for module in CODEGEN_MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            fail(
                f"`stripe-mcp {command}` needs the code generator's dependencies, and {module} is not installed: "
                "pip install 'stripe-mcp[codegen]'"
            )


@click.command()
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
    require_codegen_extra("generate")
    from stripe_mcp.codegen.generate import generate_files, stale_files, write_tree
    from stripe_mcp.codegen.loader import SpecError
    from stripe_mcp.codegen.stripe import ConventionError
    from stripe_mcp.codegen.toolchain import ToolchainError

    updates: list[Callable[[int], None]] = []  # the bar's, once the tool count is known
    with contextlib.ExitStack() as bar:

        def start(total: int) -> None:
            updates.append(
                bar.enter_context(click.progressbar(length=total, label="rendering tools", file=sys.stderr)).update
            )

        def done(count: int) -> None:
            for update in updates:
                update(count)

        try:
            result = generate_files(spec, on_start=start, on_done=done)
        except (SpecError, ConventionError, ToolchainError) as exc:
            fail(str(exc))

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


@click.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="markdown for a pull-request body, json (stripe-mcp-diff/1) for programs.",
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
    require_codegen_extra("diff")
    from stripe_mcp.codegen.diff import diff_paths, render_json, render_markdown
    from stripe_mcp.codegen.loader import SpecError

    try:
        report = diff_paths(old, new)
    except SpecError as exc:
        fail(str(exc))
    click.echo(render_json(report) if output_format == "json" else render_markdown(report, max_chars), nl=False)


@click.command("fetch-spec")
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
    require_codegen_extra("fetch-spec")
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
