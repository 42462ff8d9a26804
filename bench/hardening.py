"""What an attacker and a slow network cost `stripe-mcp serve`, measured: the figures of README's Hardening part.

Run by hand from the repository root:

    python bench/hardening.py            # writes bench/results-hardening.md
    python bench/hardening.py --out -    # prints it instead

Processes, all on 127.0.0.1, every loop and wait bounded:

* a fake Stripe: this file run with --upstream (bench/harness.py's responder), which answers GET /v1/charges with
  a 50 MB list and everything else with a small object; it exits on its own after 15 minutes;
* `stripe-mcp serve` on a temporary SQLite store with one all-tools server, budgets raised; for the slow-client
  figure a second one started under a 1,024-descriptor limit (`resource.setrlimit`, as `ulimit -n 1024` does);
* this process: the clients.

Figures (RSS = VmRSS of the serve process; peak = VmHWM, which only grows, so each figure reads it before and
after its own step, in an order that lets the larger steps come last):

1. a 2025-03-26 batch of 80 tools/list, and one of 2,000 members: HTTP status, body size, RSS;
2. tools/call with an `expand` of 500,000 invalid items (2.5 MB): its latency, and the worst latency of pings
   sent every 10 ms meanwhile on another connection;
3. a 50 MB answer from Stripe, alone and with 8 calls at once: the tool result's size, the peak RSS, how many
   of the 8 did not complete within 30 s, the worst ping latency meanwhile;
4. 10 legacy SSE sessions whose clients never read, each POSTed 20 tools/list: RSS, sessions left after 35 s;
5. 2,000 idle sockets (opened as fast as possible) against the 1,024-descriptor serve while 200 requests are
   made, each on a new connection: requests answered, idle sockets the server closed (shed), p50 and worst
   latency of the requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness import FakeStripe, cpu_seconds, free_port, machine_busy, pct, run_fake_stripe, stop  # noqa: E402

API_KEY = "sk_test_bench_hardening_4242"
JSON = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
BIG_LIST_BYTES = 50 * 1024 * 1024


class BigStripe(FakeStripe):
    """GET /v1/charges answers a 50 MB list (built once); the rest as harness.FakeStripe does."""

    big = b""

    def data_received(self, data: bytes) -> None:
        if b"GET /v1/charges" in data.split(b"\r\n", 1)[0]:
            if not BigStripe.big:
                item = json.dumps({"id": "ch_1", "object": "charge", "description": "x" * 5000})
                count = BIG_LIST_BYTES // len(item)
                BigStripe.big = (
                    '{"object":"list","has_more":false,"data":[' + ",".join([item] * count) + "]}"
                ).encode()
            body = BigStripe.big
            head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)
            self.transport.write(head + body)
            return
        super().data_received(data)


def proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


class Served:
    def __init__(self, workdir: Path, upstream: str, key: str, nofile: int | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        launcher = workdir / f"launch-{self.port}.py"
        limit = f"resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile}))" if nofile else "pass"
        launcher.write_text(f"import resource\n{limit}\nfrom stripe_mcp.cli import main\nmain()\n")
        command = [sys.executable, str(launcher), "serve", "--port", str(self.port), "--store"]
        command += [f"sqlite:///{workdir / 'store.sqlite3'}", "--stripe-base-url", upstream]
        command += ["--server-budget", "100000000/1", "--account-budget", "100000000/1"]
        env = {**os.environ, "STRIPE_MCP_ENCRYPTION_KEY": key, "STRIPE_MCP_ADMIN_TOKEN": "bench", "STRIPE_API_KEY": ""}
        self.log = workdir / f"serve-{self.port}.log"
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(command, cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT)
        import httpx

        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text())
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not start")
            time.sleep(0.1)

    def url(self) -> str:
        import httpx

        auth = {"authorization": "Bearer bench"}
        account = httpx.post(
            f"{self.base}/integrated-account", headers=auth, json={"name": "b", "stripe_api_key": API_KEY}
        )
        made = httpx.post(
            f"{self.base}/integrated-account/{account.json()['id']}/mcp", headers=auth, json={"name": "all"}, timeout=30
        )
        return made.json()["url"]

    def rss(self) -> int:
        return proc_kb(self.process.pid, "VmRSS")

    def peak(self) -> int:
        return proc_kb(self.process.pid, "VmHWM")


def session(http: Any, url: str, version: str) -> dict[str, str]:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}
    answer = http.post(url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}, headers=JSON)
    return {**JSON, "mcp-session-id": answer.headers["mcp-session-id"], "mcp-protocol-version": version}


class Pinger:
    """Pings on a connection of its own every 10 ms, keeping the worst latency."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers, self.worst, self.stopped = url, headers, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        import httpx

        with httpx.Client(timeout=60) as http:
            while not self.stopped.is_set():
                started = time.perf_counter()
                http.post(self.url, json={"jsonrpc": "2.0", "id": 9, "method": "ping"}, headers=self.headers)
                self.worst = max(self.worst, time.perf_counter() - started)
                time.sleep(0.01)

    def __enter__(self) -> Pinger:
        self.thread.start()
        time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(70)


def call(name: str, arguments: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def measure(served: Served, rows: list[tuple[str, str]]) -> None:
    import httpx

    url = served.url()
    with httpx.Client(timeout=60) as http:
        batch_headers = session(http, url, "2025-03-26")
        headers = session(http, url, "2025-06-18")
        before, peak0 = served.rss(), served.peak()
        answer = http.post(
            url, json=[{"jsonrpc": "2.0", "id": i, "method": "tools/list"} for i in range(80)], headers=batch_headers
        )
        rows.append(
            (
                "batch of 80 tools/list (2025-03-26)",
                f"HTTP {answer.status_code}, {len(answer.content):,} B; RSS {mb(before)} -> {mb(served.rss())}, peak +{mb(served.peak() - peak0)}",
            )
        )
        answer = http.post(
            url, json=[{"jsonrpc": "2.0", "id": i, "method": "tools/list"} for i in range(2000)], headers=batch_headers
        )
        rows.append(
            (
                "batch of 2,000 tools/list",
                f"HTTP {answer.status_code}, {len(answer.content):,} B: {answer.json()['error']['message']}",
            )
        )
        served32 = http.post(
            url, json=[{"jsonrpc": "2.0", "id": i, "method": "tools/list"} for i in range(32)], headers=batch_headers
        )
        replies = served32.json()
        done = sum(1 for reply in replies if "result" in reply)
        rows.append(
            (
                "batch of 32 tools/list (the member limit)",
                f"{done} answered in full, {len(replies) - done} -32013; {len(served32.content):,} B; peak +{mb(served.peak() - peak0)}",
            )
        )

        with Pinger(url, headers) as pinger:
            started = time.perf_counter()
            answer = http.post(
                url,
                json=call("get_single_stripe_charge_by_id", {"id": "ch_1", "expand": ["nope"] * 500_000}),
                headers=headers,
            )
            took = time.perf_counter() - started
        text = answer.json()["result"]["content"][0]["text"]
        rows.append(
            (
                "tools/call, expand of 500,000 invalid items (2.5 MB)",
                f"{took * 1000:.0f} ms: {text[:90]}…; worst concurrent ping {pinger.worst * 1000:.0f} ms",
            )
        )

        peak0 = served.peak()
        with Pinger(url, headers) as pinger:
            started = time.perf_counter()
            answer = http.post(url, json=call("list_all_stripe_charges", {"limit": 100}), headers=headers)
            took = time.perf_counter() - started
        result = answer.json()["result"]
        rows.append(
            (
                "a 50 MB answer from Stripe",
                f"{took * 1000:.0f} ms, tool result {len(answer.content):,} B ({result['structuredContent']['type']}); peak +{mb(served.peak() - peak0)}; worst concurrent ping {pinger.worst * 1000:.0f} ms",
            )
        )

        async def eight() -> list[Any]:
            async with httpx.AsyncClient(timeout=30) as client:

                async def one(i: int) -> Any:
                    try:
                        return await client.post(url, json=call("list_all_stripe_charges", {}, i), headers=headers)
                    except httpx.TimeoutException:
                        return None

                return await asyncio.gather(*(one(i) for i in range(8)))

        with Pinger(url, headers) as pinger:
            answers = asyncio.run(eight())
        missing = sum(1 for a in answers if a is None)
        rows.append(
            (
                "8 of those at once",
                f"{8 - missing} answered within 30 s, {missing} timed out; peak +{mb(served.peak() - peak0)}; worst concurrent ping {pinger.worst * 1000:.0f} ms",
            )
        )

        before = served.rss()
        base = served.base
        streams = []
        for _ in range(10):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", served.port))
            token = url.rsplit("/", 1)[1]
            sock.sendall(
                f"GET /mcp/{token}/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            head = b""
            while b"session_id=" not in head or not head.endswith(b"\r\n\r\n"):
                head += sock.recv(1)
            streams.append((sock, base + head.split(b"data: ", 1)[1].split(b"\r\n", 1)[0].decode()))
        statuses: dict[int, int] = {}
        for i in range(20):
            for _, endpoint in streams:
                status = http.post(
                    endpoint, json={"jsonrpc": "2.0", "id": i, "method": "tools/list"}, headers=JSON
                ).status_code
                statuses[status] = statuses.get(status, 0) + 1
        held = served.rss()
        time.sleep(35)
        left = sum(
            1
            for _, endpoint in streams
            if http.post(endpoint, json={"jsonrpc": "2.0", "id": 99, "method": "ping"}, headers=JSON).status_code == 202
        )
        rows.append(
            (
                "10 SSE sessions that never read, 20 tools/list each",
                f"POSTs answered {dict(sorted(statuses.items()))}; RSS {mb(before)} -> {mb(held)}; {left} of 10 sessions left after 35 s",
            )
        )
        for sock, _ in streams:
            sock.close()


def measure_idle_sockets(served: Served, rows: list[tuple[str, str]]) -> None:
    import httpx

    held: list[socket.socket] = []

    def open_idle() -> None:
        deadline = time.monotonic() + 60
        while len(held) < 2000 and time.monotonic() < deadline:
            try:
                held.append(socket.create_connection(("127.0.0.1", served.port), timeout=5))
            except OSError:
                time.sleep(0.01)

    def closed() -> int:
        count = 0
        for sock in held:
            sock.setblocking(False)
            try:
                count += sock.recv(1) == b""
            except BlockingIOError:
                pass
            except ConnectionError:
                count += 1
        return count

    latencies: list[float] = []
    failures = [0]

    def serve_users() -> None:
        for _ in range(200):
            begun = time.perf_counter()
            try:
                ok = httpx.get(f"{served.base}/healthz", timeout=10).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - begun)
            failures[0] += not ok

    opener = threading.Thread(target=open_idle, daemon=True)
    users = threading.Thread(target=serve_users, daemon=True)
    started = time.monotonic()
    opener.start()
    users.start()
    opener.join(60)
    opened_in = time.monotonic() - started
    time.sleep(0.5)  # the closes of the shed ones are on their way
    shed = closed()
    users.join(120)
    time.sleep(max(0.0, started + opened_in + 11 - time.monotonic()))  # past the 10 s header timeout
    later = closed()
    answered = len(latencies) - failures[0]
    rows.append(
        (
            "2,000 idle sockets opened at once at a 1,024-descriptor limit (cap 768), 200 requests meanwhile",
            f"{answered} of {len(latencies)} requests answered (p50 {pct(latencies, 50) * 1000:.1f} ms, worst "
            f"{max(latencies) * 1000:.0f} ms); {len(held)} idle sockets opened in {opened_in:.1f} s, {shed} of them "
            f"shed by the server at once, {len(held) - shed} kept; {later} closed 11 s after the last opened",
        )
    )
    for sock in held:
        sock.close()


def wait_for_quiet(max_wait: float, threshold: float = 0.5) -> float:
    """Wait (bounded) until other processes use less than `threshold` cores; their last measured use."""
    deadline = time.monotonic() + max_wait
    while True:
        mine, busy = cpu_seconds(os.getpid()), machine_busy()
        time.sleep(1.0)
        foreign = max(0.0, machine_busy() - busy - (cpu_seconds(os.getpid()) - mine))
        if foreign < threshold or time.monotonic() > deadline:
            return foreign
        print(f"machine busy with other processes ({foreign:.2f} cores); waiting...", flush=True)
        time.sleep(2.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results-hardening.md"))
    parser.add_argument("--max-wait", type=float, default=180.0, help="seconds to wait for a quieter machine")
    args = parser.parse_args()
    if args.upstream is not None:
        asyncio.run(run_fake_stripe(BigStripe, args.upstream))
        return 0
    from cryptography.fernet import Fernet

    foreign = wait_for_quiet(args.max_wait)
    workdir = Path(tempfile.mkdtemp(prefix="stripe-mcp-hardening-"))
    upstream = subprocess.Popen([sys.executable, __file__, "--upstream", "900"], stdout=subprocess.PIPE, text=True)
    assert upstream.stdout is not None
    upstream_url = f"http://127.0.0.1:{upstream.stdout.readline().strip()}"
    key = Fernet.generate_key().decode()
    rows: list[tuple[str, str]] = []
    try:
        served = Served(workdir, upstream_url, key)
        try:
            measure(served, rows)
        finally:
            stop(served.process)
        limited = Served(workdir, upstream_url, key, nofile=1024)
        try:
            measure_idle_sockets(limited, rows)
        finally:
            stop(limited.process)
    finally:
        stop(upstream)
    lines = [f"# Hardening figures ({datetime.now():%Y-%m-%d %H:%M}, `python bench/hardening.py`)", ""]
    lines += ["| case | measured |", "|---|---|", *(f"| {case} | {value} |" for case, value in rows)]
    lines += [
        "",
        f"Other processes used {foreign:.2f} cores just before the run; load average at the end "
        f"{Path('/proc/loadavg').read_text().split()[0]} (2 cores, shared).",
    ]
    text = "\n".join(lines) + "\n"
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
