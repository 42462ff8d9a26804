"""`python -m stripe_mcp`: the `stripe-mcp` command."""

from stripe_mcp.cli import main

main()
