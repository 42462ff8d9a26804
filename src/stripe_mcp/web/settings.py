"""What a serving process is configured with, and the one place its defaults are written down.

The `stripe-mcp` command takes its option defaults from here, so `--help` shows what the runtime does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from stripe_mcp.managed.budgets import BudgetRule
from stripe_mcp.managed.oauth import DocumentPolicy
from stripe_mcp.managed.store import DEFAULT_STORE_URL
from stripe_mcp.stripe_api.client import DEFAULT_BASE_URL
from stripe_mcp.tools.approvals import DEFAULT_APPROVAL_SECONDS
from stripe_mcp.tools.registry import DEFAULT_MAX_LOADED_MODULES, DEFAULT_PACKAGE

DEFAULT_HOST = "127.0.0.1"  # loopback unless asked: the admin API and every MCP URL hold secrets
DEFAULT_PORT = 8000
DEFAULT_BUDGET = BudgetRule(50, 10)  # tool calls per seconds, per server and per account


@dataclass(frozen=True)
class Settings:
    store_url: str = DEFAULT_STORE_URL
    stripe_base_url: str = DEFAULT_BASE_URL
    stripe_version: str | None = None  # default: the API version of the generated tools
    public_url: str = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    default_api_key: str | None = None
    admin_token: str | None = None
    upstream_timeout: float = 30.0  # seconds per Stripe request
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    server_budget: BudgetRule = DEFAULT_BUDGET
    account_budget: BudgetRule = DEFAULT_BUDGET
    generated_package: str = DEFAULT_PACKAGE
    loaded_tools: int = DEFAULT_MAX_LOADED_MODULES  # tool modules kept imported: memory against re-imports
    approval_ttl: float = DEFAULT_APPROVAL_SECONDS  # how long a question waits for a person, and a yes for the call
    client_documents: DocumentPolicy = DocumentPolicy.PUBLIC  # which OAuth Client ID Metadata Documents are fetched
    clock: Callable[[], float] = time.time  # injectable, for expiry tests


DEFAULTS = Settings()
