"""Soak test of `stripe-mcp serve`: 16 concurrent MCP clients for 5 minutes against a fast local fake Stripe.

Run by hand from the repository root:

    python bench/soak.py                 # 300 s, writes bench/results-soak.md
    python bench/soak.py --short         # 20 s smoke run, writes nothing
    python bench/soak.py --duration 900 --clients 32 --out /tmp/soak.md

Three processes, all on 127.0.0.1, every loop and wait bounded:

* a fast fake Stripe: this file run with --upstream (a raw asyncio HTTP/1.1 keep-alive responder: a list for a
  GET of a collection, an object otherwise; it exits on its own after the run's length plus 10 minutes);
* `stripe-mcp serve` on a temporary SQLite store, budgets raised (--server-budget/--account-budget 100000000/1)
  so that nothing is refused but the bookkeeping still runs on every call; two servers made through the admin
  API: all 468 tools, and read-only;
* this process: the clients (asyncio + httpx, one connection each). Half hold a 2025-06-18 session, half are
  stateless 2026-07-28; half use each server.

Each client loops: 80 % a tool from a hot set of 24 everyday tools, 10 % any tool of its server (the registry
keeps 24 tool modules by default (`--loaded-tools`), so this churns imports and evictions), 5 % tools/list, 5 % ping. Arguments are the
minimal valid ones synthesized from generated/schemas. A protocol error is anything but HTTP 200 with a
JSON-RPC result; a tool error is a result with isError (the fake never fails, so both must stay at zero).

Memory: VmRSS of the serve process every 5 s; the steady state starts when the warm-up (10 % of the run, at
least 5 s) ends and every hot tool has been called. Growth = (last sample - first steady sample) / first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
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

RESULTS = Path(__file__).resolve().parent / "results-soak.md"
ADMIN_TOKEN = "soak-admin-token-7a1f3c"
API_KEY = "sk_test_soak_4242424242"
LEGACY = "2025-06-18"
MODERN = "2026-07-28"
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0
SAMPLE_EVERY = 5.0
RSS_GROWTH_LIMIT = 0.10
HOT_TOOLS = (
    "get_single_stripe_customer_by_id",
    "list_all_stripe_customers",
    "search_stripe_customers",
    "get_single_stripe_charge_by_id",
    "list_all_stripe_charges",
    "search_stripe_charges",
    "get_single_stripe_refund_by_id",
    "list_all_stripe_refunds",
    "create_a_stripe_refund",
    "get_single_stripe_dispute_by_id",
    "list_all_stripe_disputes",
    "update_a_stripe_dispute_by_id",
    "get_single_stripe_payment_intent_by_id",
    "list_all_stripe_payment_intents",
    "get_single_stripe_invoice_by_id",
    "list_all_stripe_invoices",
    "get_single_stripe_subscription_by_id",
    "list_all_stripe_subscriptions",
    "list_all_stripe_customer_subscriptions",
    "get_single_stripe_balance_by_id",
    "list_all_stripe_balance_transactions",
    "get_single_stripe_product_by_id",
    "list_all_stripe_prices",
    "get_single_stripe_payout_by_id",
)


class SoakStripe(FakeStripe):
    """Bodies with a little content, so that lean results have something to drop."""

    list_body = b'{"object":"list","data":[{"id":"obj_1","object":"thing"}],"has_more":false}'
    object_body = b'{"id":"obj_1","object":"thing","metadata":{},"livemode":false,"created":1700000000}'


# --------------------------------------------------------------------------- helpers


def proc_status(pid: int, field_name: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field_name}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_kinds(pid: int) -> Counter[str]:
    """The serve process's open fds by kind: TCP sockets by remote port class, files, others."""
    peers: dict[str, int] = {}
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        for line in path.read_text().splitlines()[1:] if path.exists() else []:
            fields = line.split()
            peers[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    kinds: Counter[str] = Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            remote = peers.get(target[8:-1])
            kinds["listening socket" if remote == 0 else "connection" if remote else "other socket"] += 1
        elif target.startswith("/"):
            kinds["file"] += 1
        else:
            kinds[target.split(":", 1)[0]] += 1
    return kinds


def arguments_for(name: str) -> dict[str, Any]:
    return synthesize(json.loads((ROOT / "src" / "stripe_mcp" / "generated" / "schemas" / f"{name}.json").read_text()))


# --------------------------------------------------------------------------- the run


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"tools/call": [], "tools/list": [], "ping": []})
    protocol_errors: Counter[str] = field(default_factory=Counter)
    tool_errors: Counter[str] = field(default_factory=Counter)
    requests: int = 0


def _headers(modern: bool, method: str, name: str | None = None) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if modern:
        headers.update({"mcp-protocol-version": MODERN, "mcp-method": method})
        if name is not None:
            headers["mcp-name"] = name
    return headers


async def client_loop(
    index: int,
    url: str,
    tools: list[str],
    hot: list[str],
    args: dict[str, dict[str, Any]],
    stop_at: float,
    stats: Stats,
    seed: int,
) -> None:
    import httpx

    modern = index % 2 == 1
    chooser = random.Random(seed * 1000 + index)
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as client:
        session: dict[str, str] = {}
        if not modern:
            init = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": LEGACY,
                    "capabilities": {},
                    "clientInfo": {"name": "soak", "version": "0"},
                },
            }
            response = await client.post(url, json=init, headers=_headers(False, "initialize"))
            response.raise_for_status()
            session = {"mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": LEGACY}
            await client.post(
                url,
                json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                headers={**_headers(False, ""), **session},
            )
        request_id = 0
        while time.monotonic() < stop_at:
            request_id += 1
            roll = chooser.random()
            if roll < 0.80:
                method, name = "tools/call", chooser.choice(hot)
            elif roll < 0.90:
                method, name = "tools/call", chooser.choice(tools)
            elif roll < 0.95:
                method, name = "tools/list", None
            else:
                method, name = "ping", None
            if modern and method == "ping":
                method = "tools/list"  # 2026-07-28 has no ping
            params: dict[str, Any] = {"name": name, "arguments": args[name]} if name else {}
            if modern:
                params["_meta"] = meta
            message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            started = time.perf_counter()
            try:
                response = await client.post(
                    url, content=json.dumps(message), headers={**_headers(modern, method, name), **session}
                )
                content = response.content
            except httpx.HTTPError as error:
                stats.protocol_errors[f"{type(error).__name__}"] += 1
                continue
            finally:
                stats.requests += 1
            stats.latencies[method].append(time.perf_counter() - started)
            if response.status_code != 200:
                stats.protocol_errors[f"HTTP {response.status_code}"] += 1
                continue
            payload = json.loads(content)
            if "result" not in payload:
                stats.protocol_errors[f"JSON-RPC {payload.get('error', {}).get('code')}"] += 1
            elif method == "tools/call" and payload["result"].get("isError"):
                stats.tool_errors[name] += 1


async def run_clients(
    servers: list[tuple[str, list[str]]], clients: int, duration: float, warmup: float, pid: int, seed: int
) -> tuple[Stats, Stats, list[tuple[float, float, int]]]:
    """(warm-up stats, steady-state stats, samples of (seconds since start, RSS MB, open fds))."""
    args = {name: arguments_for(name) for _, tools in servers for name in tools}
    warm, steady = Stats(), Stats()
    samples: list[tuple[float, float, int]] = []
    started = time.monotonic()

    async def sampler(stop_at: float) -> None:
        while time.monotonic() < stop_at:
            samples.append((time.monotonic() - started, proc_status(pid, "VmRSS"), open_fds(pid)))
            await asyncio.sleep(min(SAMPLE_EVERY, max(0.0, stop_at - time.monotonic())))
        samples.append((time.monotonic() - started, proc_status(pid, "VmRSS"), open_fds(pid)))

    def phase(stats: Stats, stop_at: float) -> list[asyncio.Task[None]]:
        tasks = []
        for index in range(clients):
            url, tools = servers[index % len(servers)]
            hot = [name for name in HOT_TOOLS if name in tools]
            tasks.append(asyncio.create_task(client_loop(index, url, tools, hot, args, stop_at, stats, seed)))
        return tasks

    await asyncio.gather(*phase(warm, started + warmup))
    steady_end = started + warmup + duration
    await asyncio.gather(sampler(steady_end), *phase(steady, steady_end))
    return warm, steady, samples


def provision(base: str) -> list[tuple[str, list[str]]]:
    import httpx

    admin = httpx.Client(base_url=base, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30.0)
    with admin:
        account = admin.post("/integrated-account", json={"name": "soak", "stripe_api_key": API_KEY})
        account.raise_for_status()
        servers = []
        for name, config in (("all tools", {"methods": [], "tags": []}), ("read-only", {"methods": ["read"]})):
            made = admin.post(f"/integrated-account/{account.json()['id']}/mcp", json={"name": name, "config": config})
            made.raise_for_status()
            url = made.json()["url"]
            listed = httpx.post(
                url,
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/list",
                    "params": {
                        "_meta": {
                            "io.modelcontextprotocol/protocolVersion": MODERN,
                            "io.modelcontextprotocol/clientCapabilities": {},
                        }
                    },
                },
                headers=_headers(True, "tools/list"),
                timeout=30.0,
            )
            listed.raise_for_status()
            servers.append((url, [tool["name"] for tool in listed.json()["result"]["tools"]]))
    return servers


def render(rows: list[tuple[str, str]], notes: list[str]) -> str:
    lines = [
        f"# stripe-mcp soak ({datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]})",
        "",
        "`python bench/soak.py` (see its docstring for the set-up).",
        "",
        "| figure | measured |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines + [""] + [f"- {note}" for note in notes]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of steady state (default 300)")
    parser.add_argument("--short", action="store_true", help="a 20 s run (5 s warm-up + 15 s) that writes nothing")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=None, help=f"where to write the table (default {RESULTS.name}; --short: nowhere)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the temporary directory (store, serve log) behind")
    options = parser.parse_args()
    if options.upstream is not None:
        asyncio.run(run_fake_stripe(SoakStripe, options.upstream))
        return 0
    total = 20.0 if options.short else options.duration / 0.9
    warmup = max(5.0, total * 0.1) if not options.short else 5.0
    duration = total - warmup
    out = options.out if options.out is not None else (None if options.short else RESULTS)

    workdir = Path(tempfile.mkdtemp(prefix="stripe-mcp-soak-"))
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--upstream", str(total + 600)], stdout=subprocess.PIPE, text=True
    )
    serve = None
    try:
        assert upstream.stdout is not None
        port_line = upstream.stdout.readline().strip()
        if not port_line.isdigit():
            raise RuntimeError(f"fake upstream did not start: {port_line!r}")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "STRIPE_MCP_ADMIN_TOKEN": ADMIN_TOKEN, "STRIPE_API_KEY": ""}
        env.setdefault("STRIPE_MCP_ENCRYPTION_KEY", "")
        if not env["STRIPE_MCP_ENCRYPTION_KEY"]:
            from cryptography.fernet import Fernet

            env["STRIPE_MCP_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
        log = workdir / "serve.log"
        command = [
            *serve_head(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--store",
            f"sqlite:///{workdir / 'store.sqlite3'}",
            "--stripe-base-url",
            f"http://127.0.0.1:{port_line}",
            "--server-budget",
            "100000000/1",
            "--account-budget",
            "100000000/1",
        ]
        with log.open("w") as sink:
            serve = subprocess.Popen(command, cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT)
        import httpx

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if serve.poll() is not None:
                raise RuntimeError(f"stripe-mcp serve exited {serve.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"stripe-mcp serve did not start in {START_TIMEOUT}s")
            time.sleep(0.1)
        servers = provision(base)
        pids = [os.getpid(), serve.pid, upstream.pid]
        cpu0, busy0 = sum(cpu_seconds(p) for p in pids), machine_busy()
        print(
            f"soak: {options.clients} clients, {warmup:.0f} s warm-up + {duration:.0f} s steady state against {base}",
            flush=True,
        )
        warm, steady, samples = asyncio.run(
            run_clients(servers, options.clients, duration, warmup, serve.pid, options.seed)
        )
        foreign = max(0.0, (machine_busy() - busy0) - (sum(cpu_seconds(p) for p in pids) - cpu0)) / total
        serve_cpu = cpu_seconds(serve.pid)
        fds_at_end = fd_kinds(serve.pid)
        log_text = log.read_text()
    finally:
        if serve is not None:
            stop(serve)
        stop(upstream)
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    calls = steady.latencies["tools/call"]
    every = [x for values in steady.latencies.values() for x in values]
    rss_start, rss_end = samples[0][1], samples[-1][1]
    growth = (rss_end - rss_start) / rss_start
    rss_peak = max(s[1] for s in samples)
    errors = sum(steady.protocol_errors.values()) + sum(warm.protocol_errors.values())
    tool_errors = sum(steady.tool_errors.values()) + sum(warm.tool_errors.values())
    bad_log = [line for line in log_text.splitlines() if "Traceback" in line or '"level": "error"' in line]
    ms = lambda seconds: f"{seconds * 1000:.2f} ms"  # noqa: E731
    rows = [
        ("Run", f"{options.clients} clients; {warmup:.0f} s warm-up + {duration:.0f} s steady state"),
        (
            "Requests (steady state)",
            f"{steady.requests:,} ({steady.requests / duration:.0f}/s): "
            f"{len(calls):,} tools/call, {len(steady.latencies['tools/list']):,} tools/list, {len(steady.latencies['ping']):,} ping",
        ),
        (
            "Protocol errors (whole run)",
            f"{errors}" + (f" {dict(warm.protocol_errors + steady.protocol_errors)}" if errors else ""),
        ),
        (
            "Tool errors (whole run)",
            f"{tool_errors}" + (f" {dict(warm.tool_errors + steady.tool_errors)}" if tool_errors else ""),
        ),
        ("tools/call latency p50 / p99 / max", f"{ms(pct(calls, 50))} / {ms(pct(calls, 99))} / {ms(max(calls))}"),
        ("All requests p50 / p99", f"{ms(pct(every, 50))} / {ms(pct(every, 99))}"),
        (
            "tools/list (468 tools, 1.2 MB) p50 / p99",
            f"{ms(pct(steady.latencies['tools/list'], 50))} / {ms(pct(steady.latencies['tools/list'], 99))}",
        ),
        ("RSS of serve: steady start / end / peak", f"{rss_start:.1f} MB / {rss_end:.1f} MB / {rss_peak:.1f} MB"),
        ("RSS growth over the steady state", f"{growth * 100:+.1f} % (limit +{RSS_GROWTH_LIMIT * 100:.0f} %)"),
        ("Open fds of serve: steady start / end", f"{samples[0][2]} / {samples[-1][2]}"),
        ("Serve CPU, whole run", f"{serve_cpu:.0f} s ({serve_cpu / total:.2f} cores)"),
        ("Tracebacks or error lines in the serve log", str(len(bad_log))),
    ]
    notes = [
        f"RSS samples every {SAMPLE_EVERY:.0f} s (MB): "
        + ", ".join(f"{s[1]:.1f}" for s in samples[:: max(1, len(samples) // 12)]),
        "Open fds of serve, same samples: "
        + ", ".join(str(s[2]) for s in samples[:: max(1, len(samples) // 12)])
        + f"; once the clients have closed, by kind: {dict(sorted(fds_at_end.items()))} (the connections left are the "
        "upstream keep-alive pool, which grows to the peak of concurrent upstream calls, at most 16 per MCP server)",
        f"CPU used by processes outside the soak during the run: {foreign:.2f} cores of {os.cpu_count()} "
        "(a shared machine: latency moves with it)",
        "Mix per client: 80 % hot tools (24), 10 % any tool of its server (LRU churn), 5 % tools/list, 5 % ping "
        "(stateless clients send tools/list instead); half the clients on the all-tools server, half on the read-only one.",
    ]
    table = render(rows, notes)
    print(table)
    if out is not None:
        out.write_text(table)
        print(f"written to {out}")
    ok = errors == 0 and tool_errors == 0 and growth < RSS_GROWTH_LIMIT and not bad_log
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
