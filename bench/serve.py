"""Runtime benchmark of `stripe-mcp serve`: cold start, tools/list, memory, tools/call overhead, throughput.

Run by hand from the repository root:  python bench/serve.py  [--quick]

Everything binds 127.0.0.1 and every loop is bounded. Three processes take part:

* a fast fake Stripe (this file run with --upstream: a raw asyncio HTTP/1.1 responder that answers
  200 {"object":"list",...} to collection GETs and {"id":"x","object":"thing"} to everything else);
* `stripe-mcp serve` (the installed console script, so the PID measured is the server itself),
  on a SQLite store provisioned beforehand with one all-tools server (config {"methods": [], "tags": []});
* this process, the client (httpx).

The table is printed and written to bench/results-runtime.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402  (bench/, beside this file)
    FakeStripe,
    cpu_seconds,
    free_port,
    machine_busy,
    pct,
    run_fake_stripe,
    serve_head,
    stop,
    synthesize,
)

RESULTS = Path(__file__).resolve().parent / "results-runtime.md"
API_KEY = "sk_test_bench_runtime_4242"
LEGACY = "2025-06-18"
MODERN = "2026-07-28"
CUSTOMER_TOOL = "get_single_stripe_customer_by_id"
EXPECTED_TOOLS = 468
START_TIMEOUT = 30.0
POLL_INTERVAL = 0.005

# --------------------------------------------------------------------------- helpers


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def wait_for_quiet(max_wait: float, threshold: float = 0.5) -> float:
    """Wait (bounded) until other processes use less than `threshold` cores; returns their last measured use."""
    deadline = time.monotonic() + max_wait
    while True:
        mine0, busy0 = cpu_seconds(os.getpid()), machine_busy()
        time.sleep(1.0)
        foreign = max(0.0, machine_busy() - busy0 - (cpu_seconds(os.getpid()) - mine0))
        if foreign < threshold or time.monotonic() > deadline:
            return foreign
        print(f"machine busy with other processes ({foreign:.2f} cores); waiting...", flush=True)
        time.sleep(2.0)


def budget_options() -> list[str]:
    """Per-server/account call budgets, when this version has them, raised far above what the bench sends
    (their bookkeeping still runs on every call, so its cost is measured)."""
    text = subprocess.run([*serve_head(), "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    return [
        option for flag in ("--server-budget", "--account-budget") if flag in text for option in (flag, "100000000/1")
    ]


def serve_command(port: int, store_url: str, upstream_url: str, extra: list[str]) -> list[str]:
    return [
        *serve_head(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        store_url,
        "--stripe-base-url",
        upstream_url,
        *extra,
    ]


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if name is not None:
        headers["mcp-name"] = name
    return headers


def modern_body(request_id: int, method: str, params: dict[str, Any]) -> bytes:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": meta}}
    ).encode()


def legacy_session(client, url: str) -> dict[str, str]:
    """initialize + notifications/initialized; returns the headers later requests need."""
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": LEGACY,
    }
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
    }
    response = client.post(url, content=json.dumps(init), headers=headers)
    response.raise_for_status()
    headers["mcp-session-id"] = response.headers["mcp-session-id"]
    client.post(url, content=b'{"jsonrpc":"2.0","method":"notifications/initialized"}', headers=headers)
    return headers


def call_body(request_id: int, name: str, arguments: dict[str, Any]) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    ).encode()


# --------------------------------------------------------------------------- minimal arguments from a JSON schema


def minimal_arguments(tool_names: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in tool_names:
        schema = json.loads((ROOT / "src" / "stripe_mcp" / "generated" / "schemas" / f"{name}.json").read_text())
        out[name] = synthesize(schema)
    return out


# --------------------------------------------------------------------------- setup


def provision(workdir: Path, encryption_key: str) -> str:
    from stripe_mcp.managed.secrets import KeyBox
    from stripe_mcp.managed.service import create_account, create_server
    from stripe_mcp.managed.store import open_store
    from stripe_mcp.tools.registry import Registry

    async def run() -> str:
        store = open_store(f"sqlite:///{workdir / 'store.sqlite3'}")
        try:
            account = await create_account(store, KeyBox(encryption_key.encode()), "bench", API_KEY)
            created = await create_server(store, Registry(), account.id, "bench-all", {"methods": [], "tags": []})
            return created.token
        finally:
            await store.close()

    return asyncio.run(run())


def start_upstream(lifetime: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--upstream", str(lifetime)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        stop(process)
        raise RuntimeError(f"fake upstream did not start: {line!r}")
    return process, f"http://127.0.0.1:{line}"


class Serve:
    extra: list[str] = []

    def __init__(self, workdir: Path, store_url: str, upstream_url: str, env: dict[str, str], token: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/mcp/{token}"
        self.log = workdir / f"serve-{self.port}.log"
        with self.log.open("w") as sink:
            self.started = time.perf_counter()
            self.process = subprocess.Popen(
                serve_command(self.port, store_url, upstream_url, self.extra),
                cwd=workdir,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"stripe-mcp serve exited {self.process.returncode}:\n{self.log.read_text()}")

    def wait_tools_list(self, client) -> float:
        """Seconds from spawn to the first tools/list answer carrying every tool."""
        import httpx

        deadline = self.started + START_TIMEOUT
        body = modern_body(1, "tools/list", {})
        headers = modern_headers("tools/list")
        while time.perf_counter() < deadline:
            self.check_alive()
            try:
                response = client.post(self.url, content=body, headers=headers)
                if response.status_code == 200:
                    count = len(response.json()["result"]["tools"])
                    elapsed = time.perf_counter() - self.started
                    if count != EXPECTED_TOOLS:
                        raise RuntimeError(f"tools/list returned {count} tools, expected {EXPECTED_TOOLS}")
                    return elapsed
            except httpx.TransportError:
                pass
            time.sleep(POLL_INTERVAL)
        raise RuntimeError(f"no tools/list answer within {START_TIMEOUT}s:\n{self.log.read_text()}")

    def wait_healthy(self, client) -> None:
        import httpx

        deadline = time.perf_counter() + START_TIMEOUT
        while time.perf_counter() < deadline:
            self.check_alive()
            try:
                if client.get(f"{self.base}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"/healthz did not answer within {START_TIMEOUT}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        stop(self.process)


# --------------------------------------------------------------------------- measurements


def measure_tools_list(client, url: str, count: int) -> tuple[int, list[float]]:
    headers = legacy_session(client, url)
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
    size = 0
    for _ in range(10):  # warm-up: first call serializes and caches the list
        size = len(client.post(url, content=body, headers=headers).content)
    times = []
    for _ in range(count):
        t = time.perf_counter()
        response = client.post(url, content=body, headers=headers)
        _ = response.content
        times.append(time.perf_counter() - t)
        assert response.status_code == 200
    return size, times


def call_every_tool(client, url: str) -> tuple[int, list[str], dict[str, float]]:
    headers = legacy_session(client, url)
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
    names = [tool["name"] for tool in client.post(url, content=body, headers=headers).json()["result"]["tools"]]
    arguments = minimal_arguments(names)
    failures = []
    seconds: dict[str, float] = {}
    for index, name in enumerate(names, start=2):
        started = time.perf_counter()
        response = client.post(url, content=call_body(index, name, arguments[name]), headers=headers)
        seconds[name] = time.perf_counter() - started
        payload = response.json()
        result = payload.get("result")
        if response.status_code != 200 or result is None or result.get("isError"):
            text = (result or {}).get("content", [{}])[0].get("text") if result else json.dumps(payload.get("error"))
            failures.append(f"{name}: {str(text)[:160]}")
    return len(names), failures, seconds


def measure_ping(client, url: str, count: int) -> list[float]:
    """MCP ping: the HTTP + transport path alone (no tool, no upstream)."""
    headers = legacy_session(client, url)
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    times = []
    for _ in range(count + 20):
        started = time.perf_counter()
        response = client.post(url, content=body, headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:200]
    return times[20:]


def measure_overhead(client, url: str, upstream_url: str, count: int, protocol: str) -> tuple[list[float], list[float]]:
    """Sequential MCP tools/call vs direct GET, interleaved in blocks of 50 so drift hits both equally."""
    from stripe_mcp.stripe_api.client import USER_AGENT
    from stripe_mcp.tools.registry import Registry

    if protocol == LEGACY:
        mcp_headers = legacy_session(client, url)
        make_body = lambda i: call_body(i, CUSTOMER_TOOL, {"id": "cus_1"})  # noqa: E731
    else:
        mcp_headers = modern_headers("tools/call", CUSTOMER_TOOL)
        make_body = lambda i: modern_body(i, "tools/call", {"name": CUSTOMER_TOOL, "arguments": {"id": "cus_1"}})  # noqa: E731
    direct_url = f"{upstream_url}/v1/customers/cus_1"
    direct_headers = {
        "Authorization": f"Bearer {API_KEY}",
        "Stripe-Version": Registry().api_version,
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }
    bodies = [make_body(i) for i in range(count + 50)]
    for i in range(50):  # warm-up both paths
        client.post(url, content=bodies[i], headers=mcp_headers).raise_for_status()
        client.get(direct_url, headers=direct_headers).raise_for_status()
    mcp, direct = [], []
    block = 50
    for start in range(0, count, block):
        for i in range(start, min(count, start + block)):
            t = time.perf_counter()
            response = client.post(url, content=bodies[50 + i], headers=mcp_headers)
            _ = response.content
            mcp.append(time.perf_counter() - t)
            if response.status_code != 200 or b'"isError":false' not in response.content:
                raise RuntimeError(f"tools/call failed: {response.status_code} {response.content[:300]!r}")
        for _ in range(start, min(count, start + block)):
            t = time.perf_counter()
            response = client.get(direct_url, headers=direct_headers)
            _ = response.content
            direct.append(time.perf_counter() - t)
            assert response.status_code == 200
    return mcp, direct


async def _throughput(
    url: str, upstream_url: str, mode: str, clients: int, seconds: float, cap: int
) -> tuple[int, float, int]:
    import httpx

    from stripe_mcp.stripe_api.client import USER_AGENT
    from stripe_mcp.tools.registry import Registry

    direct_url = f"{upstream_url}/v1/customers/cus_1"
    direct_headers = {
        "Authorization": f"Bearer {API_KEY}",
        "Stripe-Version": Registry().api_version,
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    done = 0
    errors = 0
    stop_at = 0.0

    async def worker(index: int) -> None:
        nonlocal done, errors
        async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
            if mode == "mcp":
                init = {
                    "jsonrpc": "2.0",
                    "id": 0,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": LEGACY,
                        "capabilities": {},
                        "clientInfo": {"name": "b", "version": "0"},
                    },
                }
                headers = {
                    "content-type": "application/json",
                    "accept": "application/json, text/event-stream",
                    "mcp-protocol-version": LEGACY,
                }
                response = await client.post(url, content=json.dumps(init), headers=headers)
                headers["mcp-session-id"] = response.headers["mcp-session-id"]
                body = call_body(1, CUSTOMER_TOOL, {"id": "cus_1"})
            await ready.wait()
            while time.perf_counter() < stop_at and done < cap:
                if mode == "mcp":
                    response = await client.post(url, content=body, headers=headers)
                    ok = response.status_code == 200 and b'"isError":false' in response.content
                else:
                    response = await client.get(direct_url, headers=direct_headers)
                    ok = response.status_code == 200
                done += 1
                errors += not ok

    ready = asyncio.Event()
    tasks = [asyncio.create_task(worker(i)) for i in range(clients)]
    await asyncio.sleep(0.5)  # sessions and connections set up before the clock starts
    started = time.perf_counter()
    stop_at = started + seconds
    ready.set()
    await asyncio.wait_for(asyncio.gather(*tasks), seconds + 30)
    return done, time.perf_counter() - started, errors


@dataclass
class Load:
    rate: float
    errors: int
    cpu_per_call_us: dict[str, float]  # client, server, upstream
    foreign_cores: float  # CPU used meanwhile by processes outside this benchmark, in cores


def merge_loads(loads: list[Load]) -> Load:
    return Load(
        statistics.mean(load.rate for load in loads),
        sum(load.errors for load in loads),
        {name: statistics.mean(load.cpu_per_call_us[name] for load in loads) for name in loads[0].cpu_per_call_us},
        statistics.mean(load.foreign_cores for load in loads),
    )


def measure_throughput(
    url: str, upstream_url: str, mode: str, clients: int, seconds: float, pids: dict[str, int]
) -> Load:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    busy0 = machine_busy()
    t0 = time.perf_counter()
    done, elapsed, errors = asyncio.run(_throughput(url, upstream_url, mode, clients, seconds, cap=1_000_000))
    wall = time.perf_counter() - t0
    busy1 = machine_busy()
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    foreign = max(0.0, (busy1 - busy0) - sum(used.values())) / wall
    return Load(done / elapsed, errors, {name: value / max(done, 1) * 1e6 for name, value in used.items()}, foreign)


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="fewer requests, 3 s throughput runs (smoke test)")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=180.0,
        help="seconds to wait for other processes to quiet down before measuring (default 180)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the temporary directory (logs, store) behind")
    args = parser.parse_args()
    if args.upstream is not None:
        asyncio.run(run_fake_stripe(FakeStripe, args.upstream))
        return 0

    import httpx
    from cryptography.fernet import Fernet

    list_count, call_count, seconds = (60, 100, 3.0) if args.quick else (300, 500, 10.0)
    foreign_at_start = wait_for_quiet(args.max_wait)
    workdir = Path(tempfile.mkdtemp(prefix="stripe-mcp-bench-"))
    encryption_key = Fernet.generate_key().decode()
    env = {**os.environ, "STRIPE_API_KEY": API_KEY, "STRIPE_MCP_ENCRYPTION_KEY": encryption_key}
    os.environ["STRIPE_MCP_ENCRYPTION_KEY"] = encryption_key
    store_url = f"sqlite:///{workdir / 'store.sqlite3'}"
    token = provision(workdir, encryption_key)
    Serve.extra = budget_options()
    upstream, upstream_url = start_upstream(lifetime=900)
    rows: list[tuple[str, str, str, bool | None]] = []
    notes: list[str] = [
        f"CPU used by other processes just before the run: {foreign_at_start:.2f} cores; "
        f"load average {Path('/proc/loadavg').read_text().split()[0]}"
    ]
    server: Serve | None = None
    try:
        # 1. cold start, median of 3 (plus one discarded run that warms the page cache and .pyc files)
        starts = []
        for run in range(4):
            with httpx.Client(timeout=5.0) as client:
                cold = Serve(workdir, store_url, upstream_url, env, token)
                try:
                    elapsed = cold.wait_tools_list(client)
                finally:
                    cold.stop()
            if run:
                starts.append(elapsed)
            print(
                f"cold start run {run}: {elapsed * 1000:.0f} ms{' (warm-up, discarded)' if not run else ''}", flush=True
            )
        cold_median = statistics.median(starts)
        rows.append(
            (
                "Cold start: spawn -> first full tools/list (median of 3)",
                f"{cold_median:.3f} s ({', '.join(f'{s:.3f}' for s in starts)})",
                "<= 0.5 s",
                cold_median <= 0.5,
            )
        )

        server = Serve(workdir, store_url, upstream_url, env, token)
        with httpx.Client(timeout=10.0) as client:
            server.wait_healthy(client)
            time.sleep(0.5)
            rss_start = rss_mb(server.process.pid)
            print(f"RSS after start: {rss_start:.1f} MB", flush=True)

            # 2. tools/list
            cpu0 = cpu_seconds(server.process.pid)
            size, times = measure_tools_list(client, server.url, list_count)
            list_cpu = (cpu_seconds(server.process.pid) - cpu0) / (list_count + 10) * 1000
            p50, p99 = pct(times, 50) * 1000, pct(times, 99) * 1000
            rss_list = rss_mb(server.process.pid)
            print(f"tools/list: {size} bytes, p50 {p50:.2f} ms, p99 {p99:.2f} ms; RSS {rss_list:.1f} MB", flush=True)
            rows.append(
                ("tools/list body (468 tools)", f"{size:,} B ({size / 1048576:.2f} MiB)", "<= 2 MB", size <= 2_000_000)
            )
            rows.append(
                (f"tools/list p50 ({list_count} sequential, keep-alive)", f"{p50:.2f} ms", "<= 3 ms", p50 <= 3.0)
            )
            rows.append(("tools/list p99 / server CPU per tools/list", f"{p99:.2f} ms / {list_cpu:.2f} ms", "-", None))

            # 3. memory after calling every tool once
            called, failures, first_calls = call_every_tool(client, server.url)
            slowest = max(first_calls, key=first_calls.get)
            time.sleep(0.3)
            rss_all = rss_mb(server.process.pid)
            print(f"called {called} tools ({len(failures)} tool errors); RSS {rss_all:.1f} MB", flush=True)
            for failure in failures[:10]:
                print(f"  tool error: {failure}")
            rows.append(("RSS after start (ready, idle)", f"{rss_start:.1f} MB", "-", None))
            rows.append(
                (
                    f"RSS after one call of every tool ({called} calls, {called - len(failures)} ok)",
                    f"{rss_all:.1f} MB",
                    "<= 80 MB",
                    rss_all <= 80,
                )
            )
            rows.append(
                (
                    "First call of every tool: total / median / slowest",
                    f"{sum(first_calls.values()):.2f} s / {statistics.median(first_calls.values()) * 1000:.1f} ms / "
                    f"{first_calls[slowest] * 1000:.0f} ms ({slowest})",
                    "-",
                    None,
                )
            )

            # 4. per-call overhead, legacy sessions (primary) and stateless 2026-07-28 (for information)
            ours = {"client": os.getpid(), "server": server.process.pid, "upstream": upstream.pid}
            cpu0, busy0, wall0 = {n: cpu_seconds(p) for n, p in ours.items()}, machine_busy(), time.perf_counter()
            mcp, direct = measure_overhead(client, server.url, upstream_url, call_count, LEGACY)
            call_cpu = (cpu_seconds(server.process.pid) - cpu0["server"]) / (call_count + 50) * 1e6
            foreign = max(0.0, machine_busy() - busy0 - sum(cpu_seconds(p) - cpu0[n] for n, p in ours.items()))
            notes.append(
                f"CPU used by processes outside the benchmark during the sequential tools/call run: "
                f"{foreign / (time.perf_counter() - wall0):.2f} cores of {os.cpu_count()}"
            )
            added = (pct(mcp, 50) - pct(direct, 50)) * 1000
            print(
                f"tools/call p50 {pct(mcp, 50) * 1000:.3f} ms vs direct {pct(direct, 50) * 1000:.3f} ms "
                f"(p99 {pct(mcp, 99) * 1000:.2f} / {pct(direct, 99) * 1000:.2f})",
                flush=True,
            )
            rows.append(
                (
                    f"tools/call p50 added vs direct GET ({call_count} each, {LEGACY})",
                    f"{added:.3f} ms ({pct(mcp, 50) * 1000:.3f} vs {pct(direct, 50) * 1000:.3f})",
                    "<= 1 ms",
                    added <= 1.0,
                )
            )
            rows.append(("Server CPU per sequential tools/call", f"{call_cpu:.0f} us", "-", None))
            ping_cpu0 = cpu_seconds(server.process.pid)
            pings = measure_ping(client, server.url, call_count)
            ping_cpu = (cpu_seconds(server.process.pid) - ping_cpu0) / (call_count + 20) * 1e6
            rows.append(
                (
                    "MCP ping (HTTP + transport only): p50 / server CPU",
                    f"{pct(pings, 50) * 1000:.3f} ms / {ping_cpu:.0f} us",
                    "-",
                    None,
                )
            )
            mcp2, direct2 = measure_overhead(client, server.url, upstream_url, call_count, MODERN)
            added2 = (pct(mcp2, 50) - pct(direct2, 50)) * 1000
            print(
                f"stateless tools/call p50 {pct(mcp2, 50) * 1000:.3f} ms vs direct {pct(direct2, 50) * 1000:.3f} ms",
                flush=True,
            )
            rows.append(
                (
                    f"tools/call p50 added, stateless {MODERN}",
                    f"{added2:.3f} ms ({pct(mcp2, 50) * 1000:.3f} vs {pct(direct2, 50) * 1000:.3f})",
                    "(<= 1 ms)",
                    added2 <= 1.0,
                )
            )

        # 5. throughput, 16 concurrent clients
        pids = {"client": os.getpid(), "server": server.process.pid, "upstream": upstream.pid}
        # Alternated halves (direct, MCP, direct, MCP), so a change in the machine's other load hits both.
        halves = {"direct": [], "mcp": []}
        for _ in range(2):
            for mode in ("direct", "mcp"):
                halves[mode].append(measure_throughput(server.url, upstream_url, mode, 16, seconds / 2, pids))
        load_direct, load_mcp = (merge_loads(halves[mode]) for mode in ("direct", "mcp"))
        for label, load in (("direct", load_direct), ("mcp", load_mcp)):
            cpu = ", ".join(f"{name} {value:.0f}" for name, value in load.cpu_per_call_us.items())
            print(
                f"{label}: {load.rate:.0f} calls/s ({load.errors} errors); CPU us/call: {cpu}; "
                f"other processes used {load.foreign_cores:.2f} cores meanwhile",
                flush=True,
            )
        direct_rate, direct_errors, mcp_rate, mcp_errors = (
            load_direct.rate,
            load_direct.errors,
            load_mcp.rate,
            load_mcp.errors,
        )
        ratio = mcp_rate / direct_rate
        rows.append((f"Throughput, 16 clients x {seconds:g} s: MCP tools/call", f"{mcp_rate:.0f} calls/s", "-", None))
        rows.append(("Throughput, 16 clients: direct GET", f"{direct_rate:.0f} calls/s", "-", None))
        rows.append(("Throughput ratio MCP / direct", f"{ratio * 100:.0f} %", ">= 70 %", ratio >= 0.70))
        rows.append(
            (
                "CPU per call under load, us (client / server / upstream): MCP",
                " / ".join(f"{v:.0f}" for v in load_mcp.cpu_per_call_us.values()),
                "-",
                None,
            )
        )
        rows.append(
            (
                "CPU per call under load, us (client / server / upstream): direct",
                " / ".join(f"{v:.0f}" for v in load_direct.cpu_per_call_us.values()),
                "-",
                None,
            )
        )
        notes.append(
            f"CPU used by processes outside the benchmark (other engineers' tests) during the throughput runs: "
            f"{load_direct.foreign_cores:.2f} cores (direct), {load_mcp.foreign_cores:.2f} cores (MCP) of {os.cpu_count()}"
        )
        rss_end = rss_mb(server.process.pid)
        rows.append(("RSS at the end (after load)", f"{rss_end:.1f} MB", "-", None))
        if direct_errors or mcp_errors:
            notes.append(f"errors during throughput: direct {direct_errors}, mcp {mcp_errors}")
        if failures:
            notes.append(f"{len(failures)} tools answered isError with synthesized arguments (first: {failures[0]})")
    finally:
        if server is not None:
            server.stop()
        stop(upstream)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}")

    table = render(rows, notes)
    print()
    print(table)
    if not args.quick:
        RESULTS.write_text(table)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


def render(rows: list[tuple[str, str, str, bool | None]], notes: list[str]) -> str:
    lines = [
        f"# stripe-mcp runtime benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]})",
        "",
        "| figure | measured | target | met? |",
        "|---|---|---|---|",
    ]
    for figure, measured, target, met in rows:
        mark = "-" if met is None else ("yes" if met else "**NO**")
        lines.append(f"| {figure} | {measured} | {target} | {mark} |")
    if notes:
        lines.append("")
        lines.extend(f"- {note}" for note in notes)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
