"""What a server loads before it answers tools/list: neither pydantic nor the admin API, the console or OAuth, nor
querying, approvals, discovery or ChatGPT's profile.

Those modules were over a third of start-up's imports, and a client waits for tools/list before anything else. They
come with the first request that needs them: the first tool call (pydantic validates its arguments), the first
admin, console or OAuth request, the first server with that feature. Run in a new interpreter, since this one has
long imported them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

CHILD = r"""
import asyncio, json, sys
import httpx
from stripe_mcp.cli import serve  # noqa: F401  all that `stripe-mcp serve` imports
from stripe_mcp.web.app import create_app
from stripe_mcp.web.settings import Settings

PEOPLE = (
    "pydantic",
    "stripe_mcp.web.admin.routes",
    "stripe_mcp.web.console.routes",
    "stripe_mcp.web.oauth.endpoints",
)
# What only some servers use: loaded with the first one that does.
FEATURES = (
    "stripe_mcp.tools.query.scan",
    "stripe_mcp.tools.approval_gate",
    "stripe_mcp.tools.discovery",
    "stripe_mcp.tools.chatgpt",
    "stripe_mcp.mcp.sse",  # the deprecated transport of 2024-11-05
    "stripe_mcp.managed.oauth.documents",
)
LATER = PEOPLE + FEATURES
MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}


def loaded():
    return [name for name in LATER if name in sys.modules]


async def main():
    ready = []
    settings = Settings(
        store_url=sys.argv[1],
        default_api_key="sk_test_start_up_0123456789",
        admin_token="start-up-admin-token-0123456789",
        public_url="http://127.0.0.1:8000",
    )
    app = create_app(settings, on_ready=ready.append)
    seen = {"at start": loaded()}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            path = httpx.URL(ready[0].default_url).path
            headers = {"accept": "application/json", "mcp-protocol-version": MODERN, "mcp-method": "tools/list"}
            message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": META}}
            listed = await http.post(path, json=message, headers=headers)
            seen["tools"] = len(listed.json()["result"]["tools"])
            seen["after tools/list"] = loaded()
            seen["sign-in page"] = (await http.get("/admin/sign-in")).status_code
            seen["admin API"] = (await http.get("/integrated-account")).status_code
            seen["after the console and admin API"] = [name for name in PEOPLE if name in sys.modules]
    print(json.dumps(seen))


asyncio.run(main())
"""


def test_tools_list_is_answered_before_pydantic_or_the_admin_api_is_imported(tmp_path: Path) -> None:
    env = {**os.environ, "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, f"sqlite:///{tmp_path / 'store.sqlite3'}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["at start"] == [] and seen["after tools/list"] == []
    assert seen["tools"] > 100  # a first page
    # The routes built on their first request answer as before: the page, and the admin API's 401 without a token.
    assert seen["sign-in page"] == 200 and seen["admin API"] == 401
    assert seen["after the console and admin API"] == [
        "pydantic",
        "stripe_mcp.web.admin.routes",
        "stripe_mcp.web.console.routes",
        "stripe_mcp.web.oauth.endpoints",
    ]
