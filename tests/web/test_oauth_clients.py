"""OAuth from the Node clients people use, against a real `stripe-mcp serve`: mcp-remote (Claude Desktop's bridge),
on an OAuth server and on a url_token one, the MCP Inspector's CLI, and the official conformance suite's
authorization-server scenarios.

Each client opens "a browser" at the authorization URL; here that browser is a stub that writes the URL to a
file. A person then signs in to the console and consents over HTTP, and the browser's last step (following the
redirect to the client's loopback callback) is done by the test. Needs Node 22 and the clients in .ci/node/
(`.ci/install-conformance`): skipped when they are missing, a failure when CI is set.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
import pytest

from tests.support.oauth import Person, stripe_tools
from tests.support.paths import REPO
from tests.support.runtime_process import RunningServer, free_port, managed_env, serve

pytestmark = pytest.mark.integration  # Node, its MCP clients and a `stripe-mcp serve` process

NODE_DIR = REPO / ".ci" / "node"
NODE = NODE_DIR / "bin" / "node"
CLIENTS = NODE_DIR / "clients" / "node_modules"
MCP_REMOTE = CLIENTS / "mcp-remote" / "dist" / "proxy.js"
INSPECTOR = CLIENTS / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
CONFORMANCE = NODE_DIR / "c0.2.0-alpha.12" / "node_modules" / ".bin" / "conformance"
ADMIN_TOKEN = "oauth-clients-admin-token-77e1"
WAIT_SECONDS = 60.0


def _require(*paths: Path) -> None:
    missing = [str(p.relative_to(REPO)) for p in paths if not p.exists()]
    if not missing:
        return
    message = f"missing {', '.join(missing)}: run .ci/install-conformance"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("oauth-clients")
    env = managed_env(ADMIN_TOKEN)
    store = f"sqlite:///{workdir / 'store.sqlite3'}"
    with serve(workdir, "--store", store, "--stripe-base-url", "http://127.0.0.1:9", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def server(running: RunningServer) -> dict[str, Any]:
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    account = httpx.post(
        f"{running.base_url}/integrated-account", headers=auth, json={"name": "node", "stripe_api_key": "sk_test_node1"}
    ).json()
    config = {"methods": ["read"], "tags": ["customers"], "auth": "oauth"}
    made = httpx.post(
        f"{running.base_url}/integrated-account/{account['id']}/mcp",
        headers=auth,
        json={"name": "node", "config": config},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


@pytest.fixture
async def person(running: RunningServer) -> AsyncIterator[Person]:
    someone = Person(running.base_url, ADMIN_TOKEN)
    await someone.sign_in()
    yield someone
    await someone.aclose()


class StubBrowser:
    """A BROWSER that only writes down the URL it is asked to open."""

    def __init__(self, directory: Path) -> None:
        self.opened = directory / "opened.txt"
        self.program = directory / "browser"
        self.program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{self.opened}"\n')
        self.program.chmod(0o755)

    async def url(self) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        while not (self.opened.exists() and self.opened.read_text().strip()):
            assert time.monotonic() < deadline, "the client never opened the authorization URL"
            await asyncio.sleep(0.1)
        return self.opened.read_text().split()[0]


def node_env(home: Path, browser: StubBrowser, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{NODE.parent}:{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "MCP_REMOTE_CONFIG_DIR": str(home / ".mcp-auth"),
        "BROWSER": str(browser.program),
        "DISPLAY": "",
        **extra,
    }


async def follow_to_callback(redirect: str) -> None:
    """The browser's last step: the client's loopback callback, as 127.0.0.1 (whatever name it registered)."""
    parts = urlsplit(redirect)
    assert parts.hostname in ("localhost", "127.0.0.1") and "code=" in parts.query, redirect
    target = urlunsplit((parts.scheme, f"127.0.0.1:{parts.port}", parts.path, parts.query, ""))
    async with httpx.AsyncClient(timeout=30.0) as http:
        answer = await http.get(target)
    assert answer.status_code < 400, answer.text


async def read_message(stream: asyncio.StreamReader, request_id: int) -> dict[str, Any]:
    """The JSON-RPC answer to `request_id` among the lines the client writes."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        line = await asyncio.wait_for(stream.readline(), max(0.1, deadline - time.monotonic()))
        assert line, "the client closed its output"
        message = json.loads(line)
        if message.get("id") == request_id:
            return dict(message)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_mcp_remote_connects_after_consent(
    tmp_path: Path, server: dict[str, Any], person: Person, running: RunningServer
) -> None:
    _require(NODE, MCP_REMOTE)
    browser = StubBrowser(tmp_path)
    process = await asyncio.create_subprocess_exec(
        str(NODE),
        str(MCP_REMOTE),
        server["url"],
        "--transport",
        "http-only",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=node_env(tmp_path, browser),
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "claude", "version": "1"}}
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}).encode())
        process.stdin.write(b"\n")
        await process.stdin.drain()
        authorization_url = await browser.url()
        assert authorization_url.startswith(f"{running.base_url}/oauth/authorize?")
        page = await person.consent_page(authorization_url)
        assert "<strong>localhost</strong>" in page.text  # where the code goes, named plainly
        await follow_to_callback(await person.answer(page))
        initialized = await read_message(process.stdout, 1)
        assert initialized["result"]["serverInfo"]["name"] == "stripe-mcp: node", initialized
        process.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        process.stdin.write(b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n')
        await process.stdin.drain()
        listed = await read_message(process.stdout, 2)
        assert stripe_tools(t["name"] for t in listed["result"]["tools"]) == server["tool_count"]
    finally:
        await stop(process)


async def test_mcp_remote_on_a_url_token_server_learns_why_oauth_cannot_help(
    tmp_path: Path, running: RunningServer, person: Person
) -> None:
    """The issue's first report: a require_api_token_auth server's 401 starts OAuth in mcp-remote, which used to
    end in "Dynamic Client Registration rejected (HTTP 404)". It now registers, and the browser's answer says why."""
    _require(NODE, MCP_REMOTE)
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    account = httpx.post(
        f"{running.base_url}/integrated-account",
        headers=auth,
        json={"name": "locked", "stripe_api_key": "sk_test_node2"},
    ).json()
    locked = httpx.post(
        f"{running.base_url}/integrated-account/{account['id']}/mcp",
        headers=auth,
        json={"name": "locked", "config": {"methods": ["read"], "require_api_token_auth": True}},
    ).json()
    browser = StubBrowser(tmp_path)
    process = await asyncio.create_subprocess_exec(
        str(NODE),
        str(MCP_REMOTE),
        locked["url"],
        "--transport",
        "http-only",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=node_env(tmp_path, browser),
    )
    assert process.stdin is not None
    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "claude", "version": "1"}}
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}).encode())
        process.stdin.write(b"\n")
        await process.stdin.drain()
        authorization_url = await browser.url()
        assert authorization_url.startswith(f"{running.base_url}/oauth/authorize?")
        answer = await person.http.get(authorization_url)
        assert answer.status_code == 303, answer.text
        callback = urlsplit(answer.headers["location"])
        error = dict(parse_qsl(callback.query))
        assert error["error"] == "invalid_target", error  # mcp-remote sent no resource: it found no metadata
        # mcp-remote's callback page shows the person the description.
        async with httpx.AsyncClient(timeout=30.0) as http:
            shown = await http.get(
                urlunsplit(("http", f"127.0.0.1:{callback.port}", callback.path, callback.query, ""))
            )
        assert "url_token server's URL is its credential" in shown.text, shown.text
        assert "send an API token in Authorization: Bearer" in shown.text, shown.text
    finally:
        await stop(process)


async def test_the_inspector_cli_lists_tools_after_consent(
    tmp_path: Path, server: dict[str, Any], person: Person, running: RunningServer
) -> None:
    _require(NODE, INSPECTOR)
    browser = StubBrowser(tmp_path)
    callback = f"http://127.0.0.1:{free_port()}/callback"
    process = await asyncio.create_subprocess_exec(
        str(NODE),
        str(INSPECTOR),
        "--cli",
        server["url"],
        "--transport",
        "http",
        "--method",
        "tools/list",
        "--callback-url",
        callback,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        # No TTY here: MCP_AUTO_OPEN_ENABLED lets it run the interactive OAuth and "open" the browser anyway.
        env=node_env(tmp_path, browser, MCP_AUTO_OPEN_ENABLED="true", MCP_INSPECTOR_SECRET_STORE="memory"),
    )
    assert process.stdout is not None
    try:
        authorization_url = await browser.url()
        assert authorization_url.startswith(f"{running.base_url}/oauth/authorize?")
        redirect = await person.approve(authorization_url)
        assert redirect.startswith(callback + "?")
        await follow_to_callback(redirect)
        output = await asyncio.wait_for(process.stdout.read(), WAIT_SECONDS)
        assert await asyncio.wait_for(process.wait(), WAIT_SECONDS) == 0, output
        assert stripe_tools(t["name"] for t in json.loads(output)["tools"]) == server["tool_count"]
    finally:
        await stop(process)


async def test_the_conformance_suites_authorization_server_scenarios(
    tmp_path: Path, server: dict[str, Any], person: Person, running: RunningServer
) -> None:
    """authorization-server-metadata-endpoint and authorization-code-grant, with a client registered for it."""
    _require(NODE, CONFORMANCE)
    port = free_port()
    registered = httpx.post(
        f"{running.base_url}/oauth/register",
        json={
            "client_name": "conformance suite",
            "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
            "token_endpoint_auth_method": "none",
        },
    ).json()
    process = await asyncio.create_subprocess_exec(
        str(CONFORMANCE),
        "authorization",
        "--url",
        running.base_url,
        "--client-id",
        registered["client_id"],
        "--resource",
        server["url"],
        "--port",
        str(port),
        "-o",
        str(tmp_path / "results"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=CONFORMANCE.parents[2],
        env={**os.environ, "PATH": f"{NODE.parent}:{os.environ.get('PATH', '')}", "NO_COLOR": "1"},
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not (seen and seen[-1].startswith(f"{running.base_url}/oauth/authorize?")):
            line = await asyncio.wait_for(process.stdout.readline(), max(0.1, deadline - time.monotonic()))
            assert line, "".join(seen)
            seen.append(line.decode().strip())
        await follow_to_callback(await person.approve(seen[-1]))
        rest = (await asyncio.wait_for(process.stdout.read(), WAIT_SECONDS)).decode()
        code = await asyncio.wait_for(process.wait(), WAIT_SECONDS)
        report = "\n".join(seen) + rest
        assert code == 0, report
        assert "FAILURE" not in rest and "WARNING" not in rest, report
    finally:
        await stop(process)
