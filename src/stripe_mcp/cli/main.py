"""The `stripe-mcp` group. Each command's module is imported only when that command runs (or for --help),
so serving never loads the code generator and generating never loads the web stack."""

from __future__ import annotations

import gc
import importlib
import sys
from typing import NoReturn

import click

COMMANDS = {
    "generate": "stripe_mcp.cli.codegen_commands:generate",
    "diff": "stripe_mcp.cli.codegen_commands:diff",
    "fetch-spec": "stripe_mcp.cli.codegen_commands:fetch_spec",
    "serve": "stripe_mcp.cli.serve:serve",
    "stdio": "stripe_mcp.cli.stdio:stdio",
    "accounts": "stripe_mcp.cli.provision:accounts",
    "servers": "stripe_mcp.cli.provision:servers",
    "api-tokens": "stripe_mcp.cli.provision:api_tokens",
}
# Load the web stack with the cyclic collector paused: its passes over a growing heap are a tenth of start-up, and
# what import leaves behind is nearly all kept for the process's life. The app freezes it and resumes collecting
# once it is ready (web/app.py); a command that ends before that resumes it as it closes.
PAUSE_COLLECTOR_WHILE_LOADING = {"serve"}


def fail(message: str) -> NoReturn:
    """Say what is wrong with the input, without a traceback, and exit 2 (as click does for bad usage)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class LazyGroup(click.Group):
    """Commands named in COMMANDS, each loaded from its module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, name = COMMANDS[cmd_name].partition(":")
        if cmd_name in PAUSE_COLLECTOR_WHILE_LOADING and gc.isenabled():
            gc.disable()
            ctx.call_on_close(gc.enable)
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command), COMMANDS[cmd_name]
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="stripe-mcp")
def main() -> None:
    """The whole Stripe API as MCP tools."""
