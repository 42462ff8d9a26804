"""`stripe-mcp accounts|servers|api-tokens` on a SQLite store: the same service as the admin API, readable output."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from stripe_mcp.cli import main
from stripe_mcp.managed.budgets import BudgetRule
from stripe_mcp.managed.secrets import token_hash
from stripe_mcp.managed.service import create_server
from stripe_mcp.managed.store import open_store
from stripe_mcp.tools.registry import Registry
from stripe_mcp.web.settings import DEFAULT_HOST, DEFAULT_PORT, DEFAULTS

API_KEY = "sk_test_cli_provisioning_4242"
ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
Cli = Callable[..., Result]


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
def cli(store_url: str) -> Cli:
    """Run a command on the test's store; assert its exit code (0 unless `code` says otherwise)."""
    runner = CliRunner()
    env = {"STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "STRIPE_API_KEY": API_KEY}

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(main, [*args, "--store", store_url], env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def added_account(cli: Cli, name: str) -> str:
    found = re.fullmatch(r"added account (acct_\w+)\n", cli("accounts", "add", "--name", name).stdout)
    assert found, "no account id printed"
    return found.group(1)


def created_server(cli: Cli, account_id: str, *options: str) -> tuple[str, str]:
    """The new server's id and the token of its printed URL."""
    printed = cli("servers", "create", "--account", account_id, *options).stdout
    found = re.fullmatch(r"created server (srv_\w+); its MCP URL \(shown once\):\nhttp://\S+/mcp/(\S+)\n", printed)
    assert found, printed
    return found.group(1), found.group(2)


def listed(cli: Cli, account_id: str) -> list[str]:
    return cli("servers", "list", "--account", account_id).stdout.splitlines()


def test_servers_list_shows_live_servers_one_readable_line_each(cli: Cli, store_url: str) -> None:
    account_id = added_account(cli, "shop")
    support, support_token = created_server(
        cli, account_id, "--name", "support desk", "--methods", "read,create", "--expires-at", "2031-01-02T03:04:05Z"
    )
    guarded, guarded_token = created_server(
        cli, account_id, "--name", "guarded", "--tags", "disputes", "--require-api-token"
    )

    async def expired_server() -> None:
        # A server whose expiry passed before any clean-up ran: still in the store, no longer served.
        store = open_store(store_url)
        try:
            now = time.time()
            await create_server(
                store, Registry(), account_id, "expired", {"methods": ["read"]}, now - 60, now=now - 3600
            )
        finally:
            await store.close()

    asyncio.run(expired_server())

    lines = listed(cli, account_id)
    assert [line.split("  ")[:2] for line in lines] == [[support, "support desk"], [guarded, "guarded"]]
    first, second = lines
    assert "  methods=read,create  tags=all  exposure=all  " in first
    assert "  api_token_required=no  expires_at=2031-01-02T03:04:05Z  " in first
    assert "  methods=all  tags=disputes  " in second and "  api_token_required=yes  " in second
    assert "  expires_at=never  " in second
    for line in lines:
        assert re.search(rf"  created_at={ISO_TIME}  last_used_at=never  calls_24h=0$", line), line
        assert re.search(r"  tools=[1-9]\d*  ", line), line
        assert not set("{}[]'") & set(line), line  # fields, not a Python dict
    output = "\n".join(lines)
    assert support_token not in output and guarded_token not in output
    assert token_hash(support_token) not in output


def test_servers_list_of_an_unknown_account_is_an_error(cli: Cli, store_url: str) -> None:
    added_account(cli, "shop")  # the store exists: the account is what is missing
    refused = cli("servers", "list", "--account", "acct_missing", code=2)
    assert refused.stdout == ""
    assert refused.stderr == f"store: {store_url}\nerror: no integrated account acct_missing\n"


def test_servers_revoke_removes_the_server_and_its_token(cli: Cli, store_url: str) -> None:
    shop, other = added_account(cli, "shop"), added_account(cli, "other")
    kept, _ = created_server(cli, shop, "--name", "kept")
    revoked, token = created_server(cli, shop, "--name", "revoked")

    foreign = cli("servers", "revoke", "--account", other, "--id", revoked, code=2)
    assert foreign.stderr == f"store: {store_url}\nerror: no server {revoked} on account {other}\n"
    assert [line.split("  ")[0] for line in listed(cli, shop)] == [kept, revoked]

    assert cli("servers", "revoke", "--account", shop, "--id", revoked).stdout == f"revoked {revoked}\n"
    assert [line.split("  ")[0] for line in listed(cli, shop)] == [kept]

    async def by_token() -> object:
        store = open_store(store_url)
        try:
            return await store.server_by_token_hash(token_hash(token))
        finally:
            await store.close()

    assert asyncio.run(by_token()) is None  # its URL answers 404 from now on

    again = cli("servers", "revoke", "--account", shop, "--id", revoked, code=2)
    assert again.stderr == f"store: {store_url}\nerror: no server {revoked} on account {shop}\n"


def test_option_defaults_are_the_runtime_settings() -> None:
    from stripe_mcp.cli.provision import servers
    from stripe_mcp.cli.serve import serve
    from stripe_mcp.cli.stdio import stdio

    served = {p.name: p.default for p in serve.params}
    assert (served["host"], served["port"]) == (DEFAULT_HOST, DEFAULT_PORT)
    assert served["store_url"] == DEFAULTS.store_url
    assert served["stripe_base_url"] == DEFAULTS.stripe_base_url
    assert served["upstream_timeout"] == DEFAULTS.upstream_timeout
    assert served["loaded_tools"] == DEFAULTS.loaded_tools
    assert isinstance(served["server_budget"], str) and isinstance(served["account_budget"], str)
    assert BudgetRule.parse(served["server_budget"]) == DEFAULTS.server_budget
    assert BudgetRule.parse(served["account_budget"]) == DEFAULTS.account_budget
    assert {p.name: p.default for p in stdio.params}["stripe_base_url"] == DEFAULTS.stripe_base_url
    create = servers.commands["create"]
    assert {p.name: p.default for p in create.params}["store_url"] == DEFAULTS.store_url
    assert {p.name: p.default for p in create.params}["public_url"] == DEFAULTS.public_url


def test_servers_create_takes_the_approval_mode(cli: Cli, store_url: str) -> None:
    account_id = added_account(cli, "shop")
    gated, _ = created_server(cli, account_id, "--name", "refunds", "--approval", "destructive")
    plain, _ = created_server(cli, account_id, "--name", "plain")
    lines = {line.split("  ")[0]: line for line in listed(cli, account_id)}
    assert "  approval=destructive  " in lines[gated]
    assert "approval=" not in lines[plain]  # none is the default, and not worth a field
    refused = cli("servers", "create", "--account", account_id, "--name", "x", "--approval", "sometimes", code=2)
    assert "'sometimes' is not one of 'none', 'destructive', 'writes'" in refused.stderr

    async def stored() -> dict[str, object]:
        store = open_store(store_url)
        try:
            return {s.id: s.config.get("approval", "none") for s in await store.list_servers(account_id)}
        finally:
            await store.close()

    assert asyncio.run(stored()) == {gated: "destructive", plain: "none"}


def test_approval_option_defaults() -> None:
    from stripe_mcp.cli.serve import serve
    from stripe_mcp.cli.stdio import stdio

    assert {p.name: p.default for p in serve.params}["approval_ttl"] == DEFAULTS.approval_ttl == 900
    assert {p.name: p.default for p in stdio.params}["approval"] == "none"


def test_an_oauth_server_from_the_command_line(cli: Cli) -> None:
    account_id = added_account(cli, "oauth shop")
    printed = cli("servers", "create", "--account", account_id, "--name", "assistant", "--auth", "oauth").stdout
    found = re.fullmatch(
        r"created server (srv_\w+); its MCP URL \(no secret: clients connect with OAuth\):\nhttp://\S+/mcp/(\S+)\n",
        printed,
    )
    assert found and found.group(1) == found.group(2), printed  # the URL's path is the server's id
    [line] = listed(cli, account_id)
    assert "  auth=oauth  " in line
    refused = cli(
        "servers", "create", "--account", account_id, "--name", "x", "--auth", "oauth", "--require-api-token", code=2
    )
    assert "require_api_token_auth" in refused.output
    unknown = cli("servers", "create", "--account", account_id, "--name", "x", "--auth", "pw", code=2)
    assert "'pw' is not one of 'url_token', 'oauth'" in unknown.output
