"""The measurements bench/serve.py makes of each side: sequential latency, load, the official MCP client."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Meter, pct, raw_request, synthesize
from sides import OPERATIONS, Side, mcp_headers

BLOCK = 50  # sequential calls per side in a row, the sides taking turns so that a change of load hits all


@dataclass
class Sequential:
    seconds: dict[str, list[float]]  # side -> per-call wall time
    server_cpu_us: dict[str, float]  # side -> CPU of its measured process per call
    foreign_cores: float

    def p50_ms(self, side: str) -> float:
        return pct(self.seconds[side], 50) * 1000


async def _timed_calls(side: Side, operation: str, count: int) -> list[float]:
    connection = await side.connect()
    request = side.requests[operation]
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            status, _, body = await connection.request(request)
            times.append(time.perf_counter() - started)
            if not side.good(status, body):
                raise RuntimeError(f"{side.name} {operation}: {status} {body[:300]!r}")
    finally:
        connection.close()
    return times


def sequential(sides: list[Side], operation: str, count: int, processes: dict[str, int]) -> Sequential:
    """`count` calls per side in blocks of BLOCK, after BLOCK warm-ups; one keep-alive connection per block."""
    for side in sides:
        asyncio.run(_timed_calls(side, operation, BLOCK))
    seconds: dict[str, list[float]] = {side.name: [] for side in sides}
    cpu: dict[str, float] = {side.name: 0.0 for side in sides}
    foreign = []
    for _ in range(max(1, count // BLOCK)):
        for side in sides:
            meter = Meter({side.name: processes[side.name]})
            meter.start()
            seconds[side.name] += asyncio.run(_timed_calls(side, operation, BLOCK))
            used, other = meter.stop()
            cpu[side.name] += used[side.name]
            foreign.append(other)
    per_call = {name: cpu[name] / len(seconds[name]) * 1e6 for name in cpu}
    return Sequential(seconds, per_call, statistics.mean(foreign))


@dataclass
class Load:
    rate: float  # calls per second
    errors: int
    cpu_us: dict[str, float]  # process -> CPU per call
    foreign_cores: float


async def _load(side: Side, operation: str, clients: int, seconds: float) -> tuple[int, int, float]:
    """`clients` connections, each with a session of its own, calling back to back for `seconds`."""
    requests = [(await side.own_requests())[operation] for _ in range(clients)]
    connections = [await side.connect() for _ in range(clients)]
    done = errors = 0
    stop_at = 0.0

    async def client(connection: Any, request: bytes) -> None:
        nonlocal done, errors
        while time.perf_counter() < stop_at:
            try:
                status, _, body = await connection.request(request)
            except (TimeoutError, ConnectionError):  # counted; this client's connection is out of step: it stops
                errors += 1
                return
            done += 1
            errors += not side.good(status, body)

    for connection, request in zip(connections, requests, strict=True):  # open and warm before the clock starts
        await connection.request(request)
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.wait_for(
        asyncio.gather(*(client(c, r) for c, r in zip(connections, requests, strict=True))), seconds + 60
    )
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return done, errors, elapsed


def load(side: Side, operation: str, clients: int, seconds: float, processes: dict[str, int]) -> Load:
    meter = Meter(processes)
    meter.start()
    done, errors, elapsed = asyncio.run(_load(side, operation, clients, seconds))
    used, foreign = meter.stop()
    return Load(done / elapsed, errors, {name: value / max(done, 1) * 1e6 for name, value in used.items()}, foreign)


def merged(loads: list[Load]) -> Load:
    return Load(
        statistics.mean(item.rate for item in loads),
        sum(item.errors for item in loads),
        {name: statistics.mean(item.cpu_us[name] for item in loads) for name in loads[0].cpu_us},
        statistics.mean(item.foreign_cores for item in loads),
    )


async def _mcp_client_calls(url: str, tool: str, arguments: dict[str, Any], count: int) -> list[float]:
    from mcp import Client

    times = []
    async with Client(url, mode="legacy") as client:
        for index in range(count + 10):
            started = time.perf_counter()
            result = await client.call_tool(tool, arguments)
            if index >= 10:
                times.append(time.perf_counter() - started)
            if result.is_error:
                raise RuntimeError(f"{url} {tool}: {result.content[0]}")
    return times


def mcp_client(side: Side, operation: str, count: int) -> list[float]:
    """Sequential calls through the official MCP client (its Streamable HTTP transport), after 10 warm-ups."""
    assert side.mcp_url is not None
    op = OPERATIONS[operation]
    tool = op.ours if side.name == "stripe-mcp" else op.fastmcp
    return asyncio.run(asyncio.wait_for(_mcp_client_calls(side.mcp_url, tool, op.arguments, count), 600))


def call_every_tool(side: Side, generated: Path) -> tuple[int, list[str], dict[str, float]]:
    """One tools/call of each of stripe-mcp's tools with the smallest arguments its schema accepts."""
    path = side.requests["balance"].split(b" ", 2)[1].decode()
    session = [line for line in side.requests["balance"].split(b"\r\n") if line.lower().startswith(b"mcp-session-id")]
    session_id = session[0].split(b":", 1)[1].strip().decode()
    names = sorted(p.stem for p in (generated / "schemas").glob("*.json"))

    async def run() -> tuple[list[str], dict[str, float]]:
        connection = await side.connect()
        failures, seconds = [], {}
        try:
            for index, name in enumerate(names, start=10):
                arguments = synthesize(json.loads((generated / "schemas" / f"{name}.json").read_text()))
                call = {
                    "jsonrpc": "2.0",
                    "id": index,
                    "method": "tools/call",
                    "params": {"name": name, "arguments": arguments},
                }
                started = time.perf_counter()
                status, _, body = await connection.request(
                    raw_request("POST", path, mcp_headers(session_id), json.dumps(call).encode())
                )
                seconds[name] = time.perf_counter() - started
                if not side.good(status, body):
                    failures.append(f"{name}: {body[:160]!r}")
        finally:
            connection.close()
        return failures, seconds

    failures, seconds = asyncio.run(run())
    return len(names), failures, seconds
