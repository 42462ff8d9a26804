"""The runtime benchmark, side by side in one run: the direct call, `stripe-mcp serve` and FastMCP's from_openapi.

Run by hand from the repository root (see bench/README.md):  python bench/serve.py [--quick] [--reuse-venvs]

Everything binds 127.0.0.1 and every loop and wait is bounded. It makes fresh venvs (`pip install -e .`,
`pip install .`, and `pip install fastmcp==4.2.3` in one of its own), starts a fake Stripe that answers Stripe's
own fixture objects (stripe-mock cannot be installed here), and measures, with a raw HTTP client and with the
official MCP client: cold start, per-call latency over the direct call, server CPU per call under 16 concurrent
clients, memory, the first call of every tool, and resolve at 10,000 servers. The table, with the CPU other
processes used meanwhile, goes to bench/results-runtime.md and README.md.
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
from importlib import metadata
from pathlib import Path

import measure
import scale
import sides
from harness import pct, rss_mb, run_fake_stripe, stop, wait_for_quiet, with_fixtures
from sides import OPERATIONS, Side
from venvs import project_venvs

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT.parent / "shared" / "specs" / "stripe"
RESULTS = Path(__file__).resolve().parent / "results-runtime.md"
README = ROOT / "README.md"
README_BEGIN, README_END = "<!-- bench/serve.py: begin -->", "<!-- bench/serve.py: end -->"
EXPECTED_TOOLS = 468 + 1  # every Stripe operation, and query_stripe (the server can list)
LOAD_OPERATION = "list customers"

Row = tuple[str, str, str, bool | None]


def provision(python: str, store_url: str, env: dict[str, str]) -> str:
    """One account and one all-tools server, made by the venv measured; its URL token."""
    code = (
        "import asyncio\n"
        "from stripe_mcp.managed.secrets import encryption_keys\n"
        "from stripe_mcp.managed.service import create_account, create_server\n"
        "from stripe_mcp.managed.store import open_store\n"
        "from stripe_mcp.tools.registry import Registry\n"
        "async def run():\n"
        f"    store = open_store({store_url!r})\n"
        f"    account = await create_account(store, encryption_keys({store_url!r}), 'bench', {sides.API_KEY!r})\n"
        "    made = await create_server(store, Registry(), account.id, 'bench-all', {'methods': [], 'tags': []})\n"
        "    await store.close()\n"
        "    print(made.token)\n"
        "asyncio.run(run())\n"
    )
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True, env=env).stdout.strip()


def installed(python: str, code: str) -> str:
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def start_upstream(lifetime: float) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--upstream", str(lifetime)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        stop(process)
        raise RuntimeError(f"fake upstream did not start: {line!r}")
    return process, int(line)


def spec_json(workdir: Path) -> Path:
    """The spec stripe-mcp was generated from, as JSON for FastMCP (parsed once; the YAML parser is slow)."""
    import yaml

    target = workdir / "spec3.json"
    if not target.exists():
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        target.write_text(json.dumps(yaml.load((SPECS / "spec3.yaml").read_text(), Loader=loader)))
    return target


def cold_starts(serve: str, args: tuple[str, str, str, Path, dict[str, str]], runs: int) -> list[float]:
    """Spawn -> first full tools/list, `runs` + 1 times, the first (page cache) discarded."""
    store_url, upstream_url, token, workdir, env = args
    times = []
    for run in range(runs + 1):
        side, elapsed = sides.start_ours(serve, store_url, upstream_url, token, workdir, env, EXPECTED_TOOLS)
        side.stop()
        if run:
            times.append(elapsed)
    return times


def fmt_starts(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s ({', '.join(f'{t:.3f}' for t in times)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="fewer calls, short load, sizes to 1,000; writes nothing")
    parser.add_argument("--max-wait", type=float, default=600.0, help="seconds to wait for the machine to quiet down")
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "stripe-mcp-bench-venvs")
    parser.add_argument("--reuse-venvs", action="store_true", help="keep venvs a previous run made (not fresh)")
    parser.add_argument("--no-fastmcp", action="store_true", help="leave FastMCP out (it needs minutes and 2 GB)")
    parser.add_argument("--keep", action="store_true", help="leave the work directory (stores, logs) behind")
    args = parser.parse_args()
    if args.upstream is not None:
        asyncio.run(run_fake_stripe(with_fixtures(SPECS / "fixtures3.json"), args.upstream))
        return 0

    calls, load_seconds, sizes, starts = (
        (100, 3.0, [100, 1000], 2) if args.quick else (500, 10.0, [100, 1000, 10000], 5)
    )
    with_fastmcp = not args.no_fastmcp
    print("making venvs...", flush=True)
    venvs = project_venvs(ROOT, args.venvs, reuse=args.reuse_venvs, fastmcp=with_fastmcp)
    foreign_at_start = wait_for_quiet(args.max_wait)
    workdir = Path(tempfile.mkdtemp(prefix="stripe-mcp-bench-"))
    from cryptography.fernet import Fernet

    env = {**os.environ, "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "STRIPE_API_KEY": ""}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # as CI and this machine run: the editable checkout never gets bytecode
    editable, wheel = venvs["editable"], venvs["wheel"]
    store_url = f"sqlite:///{workdir / 'store.sqlite3'}"
    token = provision(editable.python, store_url, env)
    version = installed(
        editable.python, "from stripe_mcp.tools.registry import Registry; print(Registry().api_version)"
    )
    user_agent = installed(editable.python, "from stripe_mcp.stripe_api.client import USER_AGENT; print(USER_AGENT)")
    upstream, upstream_port = start_upstream(lifetime=3600)
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    rows: list[Row] = []
    notes = [
        f"CPU other processes used just before the run: {foreign_at_start:.2f} cores; load average {os.getloadavg()[0]:.2f}"
    ]
    running: list[Side] = []
    try:
        # 1. cold start: the wheel (what a user gets), editable as CI runs it (no bytecode cache), and with one
        print("cold starts...", flush=True)
        start_args = (store_url, upstream_url, token, workdir, env)
        wheel_starts = cold_starts(wheel.script("stripe-mcp"), start_args, starts)
        ci_starts = cold_starts(editable.script("stripe-mcp"), start_args, starts)
        cached_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached_env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")  # the checkout stays clean
        cached_starts = cold_starts(editable.script("stripe-mcp"), (*start_args[:4], cached_env), starts)
        target = statistics.median(wheel_starts) <= 0.5
        rows.append(
            (
                "Cold start, spawn -> first full tools/list: `pip install .` (compiled at install)",
                fmt_starts(wheel_starts),
                "<= 0.5 s",
                target,
            )
        )
        rows.append(
            (
                "Cold start: `pip install -e .`, PYTHONDONTWRITEBYTECODE=1 (CI)",
                fmt_starts(ci_starts),
                "<= 0.5 s",
                statistics.median(ci_starts) <= 0.5,
            )
        )
        rows.append(("Cold start: `pip install -e .`, bytecode cached", fmt_starts(cached_starts), "-", None))

        # 2. the servers for everything else
        ours, _ = sides.start_ours(
            editable.script("stripe-mcp"), store_url, upstream_url, token, workdir, env, EXPECTED_TOOLS
        )
        running.append(ours)
        assert ours.process is not None
        time.sleep(0.5)
        rss_ours_start = rss_mb(ours.process.pid)
        direct = sides.direct_side(upstream_port, version, user_agent)
        fastmcp: Side | None = None
        if with_fastmcp:
            print("FastMCP from_openapi (minutes)...", flush=True)
            fastmcp, fastmcp_start, list_bytes = sides.start_fastmcp(
                venvs["fastmcp"].python,
                Path(__file__).parent / "fastmcp_server.py",
                spec_json(workdir),
                upstream_url,
                version,
                workdir,
            )
            running.append(fastmcp)
            assert fastmcp.process is not None
            rss_fastmcp_start = rss_mb(fastmcp.process.pid)
            rows.append(
                (
                    "Cold start: FastMCP 4.2.3 from_openapi, spawn -> first tools/list",
                    f"{fastmcp_start:.1f} s ({list_bytes / 1e6:.1f} MB answer)",
                    "-",
                    None,
                )
            )
        measured = [ours, direct] + ([fastmcp] if fastmcp else [])
        processes = {"stripe-mcp": ours.process.pid, "direct": upstream.pid}
        if fastmcp is not None and fastmcp.process is not None:
            processes["FastMCP"] = fastmcp.process.pid

        # 3. sequential latency per operation, raw client
        for name in OPERATIONS:
            print(f"sequential {name}...", flush=True)
            result = measure.sequential(measured, name, calls, processes)
            added = result.p50_ms("stripe-mcp") - result.p50_ms("direct")
            rows.append(
                (
                    f"{name}: tools/call p50 added over the direct call ({calls} each, raw client)",
                    f"+{added:.3f} ms ({result.p50_ms('stripe-mcp'):.3f} vs {result.p50_ms('direct'):.3f})",
                    "<= +1.0 ms",
                    added <= 1.0,
                )
            )
            cpu = f"{result.server_cpu_us['stripe-mcp']:.0f} us"
            if fastmcp:
                extra = result.p50_ms("FastMCP") - result.p50_ms("direct")
                rows.append(
                    (f"{name}: FastMCP p50 added", f"+{extra:.3f} ms ({result.p50_ms('FastMCP'):.3f})", "-", None)
                )
                cpu += f"; FastMCP {result.server_cpu_us['FastMCP']:.0f} us"
            rows.append((f"{name}: server CPU per sequential call", cpu, "-", None))
            notes.append(f"sequential {name}: other processes used {result.foreign_cores:.2f} cores meanwhile")

        # 4. the official MCP client
        for name in OPERATIONS:
            print(f"MCP client {name}...", flush=True)
            ours_times = measure.mcp_client(ours, name, calls // 5)
            text = f"{pct(ours_times, 50) * 1000:.2f} ms"
            if fastmcp:
                text += f"; FastMCP {pct(measure.mcp_client(fastmcp, name, calls // 5), 50) * 1000:.2f} ms"
            rows.append(
                (f"{name}: p50 through the official MCP client (mcp {metadata.version('mcp')})", text, "-", None)
            )

        # 5. 16 concurrent clients, alternating halves
        print("load...", flush=True)
        halves: dict[str, list[measure.Load]] = {side.name: [] for side in measured}
        for _ in range(2):
            for side in measured:
                halves[side.name].append(measure.load(side, LOAD_OPERATION, 16, load_seconds / 2, processes))
        loads = {name: measure.merged(items) for name, items in halves.items()}
        ours_cpu = loads["stripe-mcp"].cpu_us["stripe-mcp"] / 1000
        rows.append(
            (
                f"Server CPU per tools/call ({LOAD_OPERATION}, 16 concurrent, raw clients)",
                f"{ours_cpu:.2f} ms at {loads['stripe-mcp'].rate:.0f} calls/s",
                "<= 0.8 ms",
                ours_cpu <= 0.8,
            )
        )
        rows.append(
            (
                "Direct calls, 16 concurrent: calls/s (fake Stripe's CPU per call)",
                f"{loads['direct'].rate:.0f} ({loads['direct'].cpu_us['direct']:.0f} us)",
                "-",
                None,
            )
        )
        if fastmcp:
            fm = loads["FastMCP"]
            ratio = fm.cpu_us["FastMCP"] / loads["stripe-mcp"].cpu_us["stripe-mcp"]
            rows.append(
                (
                    "FastMCP: server CPU per tools/call, 16 concurrent",
                    f"{fm.cpu_us['FastMCP'] / 1000:.2f} ms at {fm.rate:.0f} calls/s ({ratio:.1f}x ours)",
                    "4x ours",
                    ratio >= 4,
                )
            )
        for name, item in loads.items():
            notes.append(
                f"load {name}: {item.errors} errors; other processes used {item.foreign_cores:.2f} cores meanwhile"
            )

        # 6. memory, and the first call of every tool
        rss_ours_load = rss_mb(ours.process.pid)
        called, failures, first_calls = measure.call_every_tool(ours, ROOT / "src" / "stripe_mcp" / "generated")
        slowest = max(first_calls, key=first_calls.__getitem__)
        rows.append(
            (
                "RSS: after start / after load / after one call of every tool",
                f"{rss_ours_start:.1f} / {rss_ours_load:.1f} / {rss_mb(ours.process.pid):.1f} MB",
                "<= 80 MB",
                rss_mb(ours.process.pid) <= 80,
            )
        )
        rows.append(
            (
                f"First call of every tool ({called}, {called - len(failures)} ok): median / slowest",
                f"{statistics.median(first_calls.values()) * 1000:.1f} ms / {first_calls[slowest] * 1000:.0f} ms ({slowest})",
                "-",
                None,
            )
        )
        if fastmcp and fastmcp.process is not None:
            fm_rss = rss_mb(fastmcp.process.pid)
            rows.append(
                (
                    "FastMCP RSS: after start / after its tools/list and load",
                    f"{rss_fastmcp_start:.0f} / {fm_rss:.0f} MB ({fm_rss / rss_mb(ours.process.pid):.0f}x ours)",
                    "4x ours",
                    fm_rss >= 4 * rss_mb(ours.process.pid),
                )
            )
        if failures:
            notes.append(f"{len(failures)} tools answered isError with synthesized arguments (first: {failures[0]})")
    finally:
        for side in running:
            side.stop()
        stop(upstream)

    # 7. scale
    print("scale...", flush=True)
    for row in scale.measure(editable.python, editable.script("stripe-mcp"), workdir, sizes, env):
        rows.append(
            (
                f"{row['servers']:,} servers, {row['accounts']:,} accounts: resolve p50 first / built (p99), RSS",
                f"{row['first_p50_us']:.0f} / {row['again_p50_us']:.1f} us ({row['first_p99_us']:.0f} / {row['again_p99_us']:.0f}); {row['rss_after']:.1f} MB",
                "flat",
                None,
            )
        )
        rows.append(
            (
                f"{row['servers']:,} servers: serve, server/discover over {min(scale.SAMPLE, row['servers'])} URLs, p50 first / again, RSS start / end",
                f"{row['serve_first_p50_us'] / 1000:.2f} / {row['serve_again_p50_us'] / 1000:.2f} ms; {row['serve_rss_start']:.1f} / {row['serve_again_rss']:.1f} MB",
                "flat",
                None,
            )
        )
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}")
    notes.append(
        f"venvs: {', '.join(f'{n} installed in {v.installed_in:.0f} s' if v.installed_in else f'{n} reused' for n, v in venvs.items())}"
    )
    table = render(rows, notes)
    print("\n" + table)
    if not args.quick:
        RESULTS.write_text(table)
        write_readme(table)
        print(f"written to {RESULTS.relative_to(ROOT)} and README.md")
    return 0


def render(rows: list[Row], notes: list[str]) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, by `python bench/serve.py`.",
        "",
        "| figure | measured | target | met? |",
        "|---|---|---|---|",
    ]
    for figure, value, target, met in rows:
        lines.append(f"| {figure} | {value} | {target} | {'-' if met is None else ('yes' if met else '**NO**')} |")
    return "\n".join(lines + [""] + [f"- {note}" for note in notes]) + "\n"


def write_readme(table: str) -> None:
    text = README.read_text()
    if README_BEGIN not in text or README_END not in text:
        print("README.md has no bench markers; table not copied there")
        return
    before, rest = text.split(README_BEGIN, 1)
    after = rest.split(README_END, 1)[1]
    README.write_text(f"{before}{README_BEGIN}\n{table}{README_END}{after}")


if __name__ == "__main__":
    sys.exit(main())
