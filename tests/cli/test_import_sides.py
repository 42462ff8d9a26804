"""Each `stripe-mcp` command imports only its own side, checked in a fresh interpreter after the command ran:
serving never loads the code generator, generating never loads the web stack or the Stripe client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.codegen.spec_fragments import Spec

GENERATED = Path(__file__).resolve().parents[2] / "src" / "stripe_mcp" / "generated"
WEB_STACK = {"starlette", "uvicorn", "httpx", "redis"}
GENERATOR = {"stripe_mcp.codegen", "yaml", "datamodel_code_generator"}

# Runs one command as `stripe-mcp` would, then writes the names of the modules it imported to argv[1].
SCRIPT = """
import json, sys
from stripe_mcp.cli import main
try:
    main(sys.argv[2:], standalone_mode=False)
except SystemExit as exit:
    print("exit", exit.code, file=sys.stderr)
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def imported_by(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules the command imported, and what it said on stderr."""
    listing = tmp_path / "modules.json"
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(listing), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        input="",  # stdio reads the end of its input at once
    )
    assert run.returncode == 0, run.stderr
    return set(json.loads(listing.read_text())), run.stderr


def packages(modules: set[str]) -> set[str]:
    """ "stripe_mcp.codegen.loader" -> "stripe_mcp.codegen"; "httpx._client" -> "httpx"."""
    return {".".join(m.split(".")[:2]) if m.startswith("stripe_mcp.") else m.split(".")[0] for m in modules}


@pytest.mark.integration
def test_generate_loads_nothing_of_the_web_stack(tmp_path: Path) -> None:
    spec = Spec()
    spec.get("/v1/widgets/{widget}", spec.resource("widget"))
    modules, said = imported_by(
        tmp_path, "generate", "--spec", str(spec.write(tmp_path)), "--out", str(tmp_path / "out")
    )
    assert (tmp_path / "out" / "manifest.json").exists(), said
    loaded = packages(modules)
    assert "stripe_mcp.codegen" in loaded
    assert not loaded & WEB_STACK, loaded & WEB_STACK
    assert not loaded & {"stripe_mcp.web", "stripe_mcp.mcp", "stripe_mcp.stripe_api", "stripe_mcp.managed"}


@pytest.mark.integration
def test_diff_loads_nothing_of_the_web_stack(tmp_path: Path) -> None:
    modules, said = imported_by(tmp_path, "diff", str(GENERATED), str(GENERATED), "--format", "json")
    loaded = packages(modules)
    assert "stripe_mcp.codegen.diff" in modules, said
    assert not loaded & WEB_STACK, loaded & WEB_STACK


@pytest.mark.integration
def test_stdio_loads_nothing_of_the_generator_or_the_web_app(tmp_path: Path) -> None:
    """stdin is empty: the server starts, reads the end of its input and stops."""
    modules, said = imported_by(tmp_path, "stdio", "--methods", "read", env={"STRIPE_API_KEY": "sk_test_import_sides"})
    loaded = packages(modules)
    assert "stripe_mcp.mcp.stdio" in modules and "exit" not in said, said
    assert not loaded & GENERATOR, loaded & GENERATOR
    assert not loaded & {"uvicorn", "jinja2"}
    assert "stripe_mcp.web.app" not in modules


@pytest.mark.integration
def test_serve_loads_nothing_of_the_generator(tmp_path: Path) -> None:
    """serve's modules are all loaded before its preflight, which opens the store and stops on the bad key."""
    env = {"STRIPE_MCP_ENCRYPTION_KEY": "not a key", "STRIPE_MCP_ADMIN_TOKEN": "admin-token-import-sides"}
    modules, said = imported_by(tmp_path, "serve", "--store", f"sqlite:///{tmp_path / 'store.sqlite3'}", env=env)
    assert "exit 2" in said and "STRIPE_MCP_ENCRYPTION_KEY" in said, said
    loaded = packages(modules)
    assert {"stripe_mcp.web", "uvicorn", "starlette"} <= loaded
    assert not loaded & GENERATOR, loaded & GENERATOR
    assert "jinja2" not in loaded  # the console loads it with its first page
