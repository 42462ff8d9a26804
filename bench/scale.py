"""Scale: resolve latency and memory with 100, 1,000 and 10,000 servers (and a tenth as many accounts) in the store.

bench/serve.py runs it as part of the whole benchmark; alone: python bench/scale.py [--sizes 100,1000,10000]
(in a venv where stripe-mcp is installed). Two views at each size, on one SQLite store grown step by step:

* in process: `Runtime.resolve` of SAMPLE tokens drawn at random, the first pass building each server (a store
  read, a key decrypted), the second finding it built (the resolve cache holds 1,024); p50/p99 per resolve and
  the RSS of that process;
* `stripe-mcp serve`: RSS after start, then a stateless `server/discover` (the lightest request that resolves
  the URL) for the same tokens, twice; p50 per request and RSS after each pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import free_port, pct, raw_connect, raw_request, rss_mb, stop

SAMPLE = 1000  # below the resolve cache (1,024): the second pass finds every server built
CONFIGS = [
    {"methods": ["read"]},
    {"methods": ["read"], "tags": ["customers"]},
    {"methods": [], "tags": []},
    {"methods": ["create"], "tags": ["payments"], "tool_exposure": "discovery"},
]


# --------------------------------------------------------------------------- in the venv measured


async def _provision(store_url: str, accounts: int, servers: int, tokens: Path) -> None:
    from stripe_mcp.managed.secrets import encryption_keys
    from stripe_mcp.managed.service import create_account, create_server
    from stripe_mcp.managed.store import open_store
    from stripe_mcp.tools.registry import Registry

    store, registry, keys = open_store(store_url), Registry(), encryption_keys(store_url)
    try:
        have = await store.list_accounts()
        made = [a.id for a in have]
        for index in range(len(have), accounts):
            made.append((await create_account(store, keys, f"scale-{index}", f"sk_test_scale_{index:06d}")).id)
        known = tokens.read_text().split() if tokens.exists() else []
        with tokens.open("a") as out:
            for index in range(len(known), servers):
                created = await create_server(
                    store, registry, made[index % len(made)], f"s{index}", CONFIGS[index % len(CONFIGS)]
                )
                out.write(created.token + "\n")
    finally:
        await store.close()


async def _resolve(store_url: str, tokens: Path, sample: int) -> dict[str, Any]:
    from stripe_mcp.managed.secrets import encryption_keys
    from stripe_mcp.web.runtime import close_runtime, open_runtime
    from stripe_mcp.web.settings import Settings

    chosen = random.Random(14).sample(tokens.read_text().split(), min(sample, len(tokens.read_text().split())))
    runtime = await open_runtime(Settings(store_url=store_url), encryption_keys(store_url))
    try:
        rss_before = rss_mb(os.getpid())
        passes = []
        for _ in range(2):
            times = []
            for token in chosen:
                started = time.perf_counter()
                server = await runtime.resolve(None, token)  # type: ignore[arg-type]  (no api-token servers here)
                times.append(time.perf_counter() - started)
                assert not hasattr(server, "status_code"), token[:12]
            passes.append(times)
        return {
            "rss_before": rss_before,
            "rss_after": rss_mb(os.getpid()),
            "first_p50_us": pct(passes[0], 50) * 1e6,
            "first_p99_us": pct(passes[0], 99) * 1e6,
            "again_p50_us": pct(passes[1], 50) * 1e6,
            "again_p99_us": pct(passes[1], 99) * 1e6,
            "resolved": len(chosen),
        }
    finally:
        await close_runtime(runtime)


# --------------------------------------------------------------------------- driving it


def _run(python: str, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [python, __file__, *args], check=True, capture_output=True, text=True, env=env, timeout=1800
    ).stdout


async def _discover_all(port: int, tokens: list[str]) -> list[float]:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}).encode()
    headers = {
        "content-type": "application/json",
        "accept": "application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "server/discover",
    }
    connection = await raw_connect(port)
    times = []
    try:
        for token in tokens:
            request = raw_request("POST", f"/mcp/{token}", headers, body)
            started = time.perf_counter()
            status, _, answer = await connection.request(request)
            times.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"server/discover answered {status}: {answer[:200]!r}")
    finally:
        connection.close()
    return times


def measure(python: str, serve: str, workdir: Path, sizes: list[int], env: dict[str, str]) -> list[dict[str, Any]]:
    """One row per size: the in-process resolve figures and the serve process's."""
    store_url = f"sqlite:///{workdir / 'scale.sqlite3'}"
    tokens = workdir / "scale-tokens.txt"
    rows = []
    for size in sizes:
        started = time.perf_counter()
        _run(python, "provision", store_url, str(max(1, size // 10)), str(size), str(tokens), env=env)
        provisioned = time.perf_counter() - started
        row: dict[str, Any] = {"servers": size, "accounts": max(1, size // 10), "provisioned_s": provisioned}
        row |= json.loads(_run(python, "resolve", store_url, str(tokens), str(SAMPLE), env=env))
        chosen = random.Random(14).sample(tokens.read_text().split(), min(SAMPLE, size))
        port = free_port()
        with (workdir / f"scale-serve-{size}.log").open("w") as log:
            process = subprocess.Popen(
                [serve, "serve", "--port", str(port), "--store", store_url, "--stripe-base-url", "http://127.0.0.1:9"],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    first = asyncio.run(_discover_all(port, chosen[:1]))
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.05)
            del first
            row["serve_rss_start"] = rss_mb(process.pid)
            for name in ("serve_first", "serve_again"):
                times = asyncio.run(_discover_all(port, chosen))
                row[f"{name}_p50_us"] = pct(times, 50) * 1e6
                row[f"{name}_rss"] = rss_mb(process.pid)
        finally:
            stop(process)
        rows.append(row)
        print(
            f"scale {size}: {json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in row.items()})}",
            flush=True,
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    provision = sub.add_parser("provision")
    provision.add_argument("store_url")
    provision.add_argument("accounts", type=int)
    provision.add_argument("servers", type=int)
    provision.add_argument("tokens", type=Path)
    resolve = sub.add_parser("resolve")
    resolve.add_argument("store_url")
    resolve.add_argument("tokens", type=Path)
    resolve.add_argument("sample", type=int)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    if args.command == "provision":
        asyncio.run(_provision(args.store_url, args.accounts, args.servers, args.tokens))
    elif args.command == "resolve":
        print(json.dumps(asyncio.run(_resolve(args.store_url, args.tokens, args.sample))))
    else:
        import tempfile

        from cryptography.fernet import Fernet

        workdir = Path(tempfile.mkdtemp(prefix="stripe-mcp-scale-"))
        env = {**os.environ, "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "STRIPE_API_KEY": ""}
        serve = str(Path(sys.executable).parent / "stripe-mcp")
        for row in measure(sys.executable, serve, workdir, [int(s) for s in args.sizes.split(",")], env):
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
