"""The `stripe-mcp` command (entry point `stripe_mcp.cli:main`); main.py holds the group and its commands' homes."""

from stripe_mcp.cli.main import main

__all__ = ["main"]
