"""The runtime in a fresh interpreter: start, list and call a tool, then look at what it imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import asyncio, json, sys
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from stripe_mcp.stripe_api.client import Upstream
import stripe_mcp.web.app, stripe_mcp.mcp.stdio
import stripe_mcp.web.console.routes  # what the app imports at its first console request

async def main():
    upstream = Upstream("http://127.0.0.1:9")
    server = StripeMcpServer(Registry(), upstream, Account("sk_test_x", "2023-08-16"))
    server.tools_json()
    await server.call_tool("list_all_stripe_customers", {"limit": 1})
    await upstream.aclose()

asyncio.run(main())
print(json.dumps(sorted(sys.modules)))
"""
NEVER_IN_THE_RUNTIME = {"stripe_mcp.codegen", "yaml", "datamodel_code_generator", "jinja2"}


@pytest.mark.integration
def test_runtime_never_imports_the_generator_yaml_or_jinja2(tmp_path: Path) -> None:
    """Jinja2 is the console's: an MCP-only process never loads it."""
    output = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert output.returncode == 0, output.stderr
    modules = json.loads(output.stdout)
    assert "stripe_mcp.web.console.routes" in modules  # the console's code, short of rendering a page, was imported
    packages = {".".join(m.split(".")[:2]) if m.startswith("stripe_mcp.") else m.split(".")[0] for m in modules}
    assert not packages & NEVER_IN_THE_RUNTIME, packages & NEVER_IN_THE_RUNTIME
