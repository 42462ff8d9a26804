"""The command line as a new user meets it: which store a command opened, a key that does not fit the store,
help on every command, and every server option the admin API has."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet

from stripe_mcp.cli import main
from stripe_mcp.cli.main import COMMANDS, LazyGroup
from stripe_mcp.managed.secrets import KeyBox

API_KEY = "sk_test_first_hour_4242"
STORE = ".stripe-mcp/store.sqlite3"


def run(*args: str, env: dict[str, str] | None = None, code: int = 0, answer: str | None = None) -> Result:
    environment = {"STRIPE_MCP_ENCRYPTION_KEY": "", "STRIPE_API_KEY": API_KEY, **(env or {})}
    result = CliRunner().invoke(main, list(args), env=environment, input=answer, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory as the working directory, as after `cd` into a clone."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def account_in(here: Path) -> str:
    added = run("accounts", "add", "--name", "acme")
    assert added.stderr == f"store: sqlite:///{STORE} ({here / STORE}) (new)\n"
    found = re.fullmatch(r"added account (acct_\w+)\n", added.stdout)
    assert found, added.stdout
    return found.group(1)


def test_a_command_says_which_store_it_opened(here: Path) -> None:
    account_in(here)
    listed = run("accounts", "list")
    assert listed.stderr == f"store: sqlite:///{STORE} ({here / STORE})\n"
    assert "  acme  sk_test_...4242" in listed.stdout


def test_a_command_run_in_another_directory_makes_no_empty_store(
    here: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    account_in(here)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(elsewhere)
        for command in (("accounts", "list"), ("servers", "list", "--account", "acct_x")):
            refused = run(*command, code=2)
            assert refused.stdout == ""
            assert f"there is no store at sqlite:///{STORE} ({elsewhere / STORE})" in refused.stderr
            assert "--store" in refused.stderr
        assert list(elsewhere.iterdir()) == []  # neither a store nor a key file was made there
    # Pointed at the real one, the same command works from anywhere.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(elsewhere)
        assert "acme" in run("accounts", "list", "--store", f"sqlite:///{here / STORE}").stdout


def test_a_new_encryption_key_over_a_key_file_store_says_whose_key_and_the_ways_out(here: Path) -> None:
    """The README's order: the first start writes the key file; later a new STRIPE_MCP_ENCRYPTION_KEY is exported."""
    account_in(here)
    key_file = here / f"{STORE}.key"
    file_key = KeyBox(key_file.read_bytes().strip())
    new_key = Fernet.generate_key().decode()
    for command in (("serve", "--port", "0"), ("accounts", "list"), ("accounts", "add", "--name", "second")):
        refused = run(*command, env={"STRIPE_MCP_ENCRYPTION_KEY": new_key}, code=2)
        said = refused.stderr
        assert f"sqlite:///{STORE} ({here / STORE})" in said
        assert f"encrypted with key id {file_key.key_id}" in said
        assert f"STRIPE_MCP_ENCRYPTION_KEY is key id {KeyBox(new_key.encode()).key_id}" in said
        assert f"The key file {key_file} holds key id {file_key.key_id}, which opens them" in said
        assert "unset STRIPE_MCP_ENCRYPTION_KEY" in said
        assert f"export STRIPE_MCP_ENCRYPTION_KEY=$(cat {key_file})" in said
        assert "--store sqlite:///OTHER/store.sqlite3" in said
        assert new_key not in said and key_file.read_text().strip() not in said
        assert "Traceback" not in refused.output
    # Each way out works.
    assert "acme" in run("accounts", "list").stdout
    assert "acme" in run("accounts", "list", env={"STRIPE_MCP_ENCRYPTION_KEY": key_file.read_text().strip()}).stdout
    assert run("accounts", "list", "--store", "sqlite:///other/store.sqlite3", code=2).stderr.startswith(
        "error: there is no store"
    )
    assert run("accounts", "add", "--name", "second", "--store", "sqlite:///other/store.sqlite3").stdout.startswith(
        "added account "
    )


def test_a_redis_store_without_an_encryption_key_refuses_to_start() -> None:
    """Nothing listens on port 9: the refusal comes before any connection, instead of a 503 on the first account."""
    for command in (("serve", "--port", "0"), ("accounts", "add", "--name", "acme")):
        refused = run(*command, "--store", "redis://:secret-password@127.0.0.1:9/0", code=2)
        assert refused.stderr.startswith("store: redis://127.0.0.1:9/0\n" if command[0] == "accounts" else "error: "), (
            refused.stderr
        )
        assert "the store redis://127.0.0.1:9/0 needs STRIPE_MCP_ENCRYPTION_KEY, the same key on every replica" in (
            refused.stderr
        )
        assert "Fernet.generate_key()" in refused.stderr
        assert "secret-password" not in refused.output


def test_servers_create_takes_every_config_key(here: Path) -> None:
    account_id = account_in(here)
    created = run(
        "servers",
        "create",
        "--account",
        account_id,
        "--name",
        "finance",
        "--tags",
        "finance",
        "--tool-exposure",
        "discovery",
        "--full-results",
        "--require-api-token",
        "--stripe-account",
        "acct_1Connected",
    )
    assert created.stdout.startswith("created server srv_")
    [line] = run("servers", "list", "--account", account_id).stdout.splitlines()
    for field in (
        "tags=finance",
        "exposure=discovery",
        "full_results=yes",
        "api_token_required=yes",
        "stripe_account=acct_1Connected",
    ):
        assert f"  {field}  " in line, line
    # Plain words and ISO 8601 times, never a Python dict or a unix float.
    assert re.search(r"  created_at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  last_used_at=never  ", line), line
    assert "{" not in line and "expires_at=never" in line
    bad = run("servers", "create", "--account", account_id, "--name", "x", "--tool-exposure", "some", code=2)
    assert "'some' is not one of 'all', 'discovery', 'chatgpt'" in bad.stderr


def test_accounts_remove_takes_the_account_and_its_servers(here: Path) -> None:
    account_id = account_in(here)
    run("servers", "create", "--account", account_id, "--name", "support", "--methods", "read")
    asked = run("accounts", "remove", "--id", account_id, answer="n\n", code=1)
    assert "Remove the account, its stored Stripe key and every MCP server on it?" in asked.stdout
    assert account_id in run("accounts", "list").stdout
    assert run("accounts", "remove", "--id", account_id, "--yes").stdout == f"removed account {account_id}\n"
    assert run("accounts", "list").stdout == ""
    assert run("servers", "list", "--account", account_id, code=2).stderr.endswith(
        f"error: no integrated account {account_id}\n"
    )
    again = run("accounts", "remove", "--id", account_id, "--yes", code=2)
    assert again.stderr.endswith(f"error: no integrated account {account_id}\n")


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[str, click.Command]]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in _commands(command, ctx)]
    return found


def test_every_command_and_option_has_help() -> None:
    assert isinstance(main, LazyGroup)
    commands = _commands(main, click.Context(main))
    assert {name for name, _ in commands} >= set(COMMANDS) | {"accounts remove", "servers create", "api-tokens create"}
    missing = []
    for name, command in commands:
        if not (command.help or "").strip():
            missing.append(name)
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip():
                missing.append(f"{name} {param.opts[0]}")
    assert missing == []
