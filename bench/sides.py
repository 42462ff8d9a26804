"""What the benchmark compares, each as prepared raw HTTP requests: the direct call to the fake Stripe, stripe-mcp
serve, and FastMCP's from_openapi; how each is started, and the three operations each is asked for."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import RawConnection, free_port, header, raw_connect, raw_request, stop

API_KEY = "sk_test_bench_runtime_4242"
LEGACY = "2025-06-18"
MODERN = "2026-07-28"
START_TIMEOUT = 30.0
FASTMCP_START_TIMEOUT = 600.0  # from_openapi on Stripe's spec takes minutes on 2 busy cores
POLL_INTERVAL = 0.005


@dataclass(frozen=True)
class Operation:
    ours: str  # stripe-mcp's tool
    fastmcp: str  # FastMCP's tool (the spec's operationId)
    arguments: dict[str, Any]
    method: str  # the direct call
    path: str
    body: bytes = b""


OPERATIONS = {
    "balance": Operation("get_single_stripe_balance_by_id", "GetBalance", {}, "GET", "/v1/balance"),
    "list customers": Operation(
        "list_all_stripe_customers", "GetCustomers", {"limit": 3}, "GET", "/v1/customers?limit=3"
    ),
    "refund": Operation(
        "create_a_stripe_refund",
        "PostRefunds",
        {"charge": "ch_1", "amount": 100},
        "POST",
        "/v1/refunds",
        b"charge=ch_1&amount=100",
    ),
}


def stripe_headers(version: str, user_agent: str, method: str) -> dict[str, str]:
    """What stripe-mcp sends Stripe (stripe_api/client.py), for the direct call to send the same."""
    headers = {
        "authorization": f"Bearer {API_KEY}",
        "stripe-version": version,
        "user-agent": user_agent,
        "accept": "application/json",
    }
    if method == "POST":
        headers |= {
            "idempotency-key": "bench-0000-4000-8000-000000000000",
            "content-type": "application/x-www-form-urlencoded",
        }
    return headers


@dataclass
class Side:
    """One of the three: `requests[operation]` are the bytes one call sends; `check` tells a good answer."""

    name: str
    port: int
    process: subprocess.Popen | None = None  # the server measured (None: the direct side measures the fake)
    requests: dict[str, bytes] = field(default_factory=dict)
    mcp_url: str | None = None
    session: tuple[str, str] | None = None  # (path, which Operation field names the tool): how to open a session

    def good(self, status: int, body: bytes) -> bool:
        if self.mcp_url is None:
            return status == 200
        return status == 200 and b'"isError":false' in body

    async def connect(self) -> RawConnection:
        return await raw_connect(self.port)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    async def own_requests(self) -> dict[str, bytes]:
        """The requests of a session of its own (the direct side's are always the same): concurrent clients of
        one session would reuse one JSON-RPC id, and an MCP server may answer only one of them."""
        if self.session is None:
            return self.requests
        return await open_session(self, *self.session)


def direct_side(upstream_port: int, version: str, user_agent: str) -> Side:
    side = Side("direct", upstream_port)
    for name, op in OPERATIONS.items():
        side.requests[name] = raw_request(op.method, op.path, stripe_headers(version, user_agent, op.method), op.body)
    return side


def mcp_headers(session_id: str | None = None) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": LEGACY,
    }
    if session_id is not None:
        headers["mcp-session-id"] = session_id
    return headers


INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
    }
).encode()


async def open_session(side: Side, path: str, tool_of: str) -> dict[str, bytes]:
    """initialize (+ initialized), then the tools/call request of every operation, on one signed or stored session."""
    connection = await side.connect()
    try:
        status, head, body = await connection.request(raw_request("POST", path, mcp_headers(), INITIALIZE))
        session_id = header(head, b"mcp-session-id")
        if status != 200 or session_id is None:
            raise RuntimeError(f"{side.name}: initialize answered {status}: {body[:300]!r}")
        note = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
        await connection.request(raw_request("POST", path, mcp_headers(session_id), note))
    finally:
        connection.close()
    requests = {}
    for index, (name, op) in enumerate(OPERATIONS.items(), start=1):
        tool = getattr(op, tool_of)
        call = {
            "jsonrpc": "2.0",
            "id": index,
            "method": "tools/call",
            "params": {"name": tool, "arguments": op.arguments},
        }
        requests[name] = raw_request("POST", path, mcp_headers(session_id), json.dumps(call).encode())
    return requests


def modern_tools_list() -> tuple[dict[str, str], bytes]:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {
        "content-type": "application/json",
        "accept": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": "tools/list",
    }
    return headers, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}).encode()


async def _poll(port: int, request: bytes, process: subprocess.Popen, deadline: float) -> tuple[int, bytes, bytes]:
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            connection = await raw_connect(port)
        except OSError:
            await asyncio.sleep(POLL_INTERVAL)
            continue
        try:
            return await connection.request(request, timeout=max(1.0, deadline - time.perf_counter()))
        finally:
            connection.close()
    raise RuntimeError("the server did not answer in time")


def start_ours(
    serve: str, store_url: str, upstream_url: str, token: str, workdir: Path, env: dict[str, str], expected_tools: int
) -> tuple[Side, float]:
    """`stripe-mcp serve` of `serve` (a venv's console script); seconds from spawn to the first tools/list
    answer carrying every tool."""
    port = free_port()
    log = (workdir / f"serve-{port}.log").open("w")
    budgets = ["--server-budget", "100000000/1", "--account-budget", "100000000/1"]  # still counted per call
    started = time.perf_counter()
    process = subprocess.Popen(
        [serve, "serve", "--host", "127.0.0.1", "--port", str(port), "--store", store_url]
        + ["--stripe-base-url", upstream_url, *budgets],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    path = f"/mcp/{token}"
    headers, body = modern_tools_list()
    try:
        status, _, answer = asyncio.run(
            _poll(port, raw_request("POST", path, headers, body), process, started + START_TIMEOUT)
        )
    except BaseException:
        stop(process)
        raise
    elapsed = time.perf_counter() - started
    count = len(json.loads(answer)["result"]["tools"]) if status == 200 else -1
    if count != expected_tools:
        stop(process)
        raise RuntimeError(f"tools/list answered {status} with {count} tools, expected {expected_tools}")
    side = Side("stripe-mcp", port, process, mcp_url=f"http://127.0.0.1:{port}{path}", session=(path, "ours"))
    side.requests = asyncio.run(open_session(side, path, "ours"))
    return side, elapsed


def start_fastmcp(
    python: str, script: Path, spec_json: Path, upstream_url: str, version: str, workdir: Path
) -> tuple[Side, float, int]:
    """FastMCP.from_openapi on the same spec; seconds from spawn to the first tools/list answer, and its size."""
    port = free_port()
    log = (workdir / f"fastmcp-{port}.log").open("w")
    started = time.perf_counter()
    process = subprocess.Popen(
        [python, str(script), str(spec_json), upstream_url, str(port), API_KEY, version],
        cwd=workdir,
        env={**os.environ, "FASTMCP_SHOW_SERVER_BANNER": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = started + FASTMCP_START_TIMEOUT
    try:
        status, head, _ = asyncio.run(
            _poll(port, raw_request("POST", "/mcp", mcp_headers(), INITIALIZE), process, deadline)
        )
        session_id = header(head, b"mcp-session-id")
        if status != 200 or session_id is None:
            raise RuntimeError(f"FastMCP initialize answered {status}")
        listing = raw_request(
            "POST", "/mcp", mcp_headers(session_id), b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
        )
        status, _, answer = asyncio.run(_poll(port, listing, process, deadline))
    except BaseException:
        stop(process)
        raise
    elapsed = time.perf_counter() - started
    if status != 200:
        stop(process)
        raise RuntimeError(f"FastMCP tools/list answered {status}")
    side = Side("FastMCP", port, process, mcp_url=f"http://127.0.0.1:{port}/mcp", session=("/mcp", "fastmcp"))
    side.requests = asyncio.run(open_session(side, "/mcp", "fastmcp"))
    return side, elapsed, len(answer)
