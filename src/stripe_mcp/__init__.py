"""stripe-mcp: the whole Stripe API as Model Context Protocol tools."""

__version__ = "0.2.0"
"""The one place the version is written: pyproject reads it for the distribution's metadata."""
