"""What the benchmarks share: a fast fake Stripe, a raw HTTP client, /proc readings, percentiles, argument synthesis."""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class FakeStripe(asyncio.Protocol):
    """Minimal keep-alive HTTP/1.1 (Content-Length bodies only, all that httpx sends): a GET of a collection
    (no digit in the last path segment: ids here carry one) gets `list_body`, anything else `object_body`."""

    list_body = b'{"object":"list","data":[],"has_more":false}'
    object_body = b'{"id":"x","object":"thing"}'
    routes: dict[tuple[bytes, bytes], bytes] = {}  # (method, path) -> body, before the two defaults

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else len(lower)].strip())
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            method, target = head.split(b"\r\n", 1)[0].split(b" ", 2)[:2]
            path = target.split(b"?", 1)[0].rstrip(b"/")
            body = self.routes.get((method, path))
            if body is None:
                last = path.rsplit(b"/", 1)[-1]
                is_list = method == b"GET" and not any(48 <= c <= 57 for c in last) and last != b"v1"
                body = self.list_body if is_list else self.object_body
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_bench\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )


def with_fixtures(fixtures: Path) -> type[FakeStripe]:
    """A FakeStripe that answers what stripe-mock answers for the benchmark's operations: Stripe's own fixture
    objects (balance, a list of one customer, a customer, a refund), and the defaults for everything else."""
    objects = json.loads(fixtures.read_text())["resources"]
    customer = objects["customer"]

    def encoded(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    class StripeFixtures(FakeStripe):
        routes = {
            (b"GET", b"/v1/balance"): encoded(objects["balance"]),
            (b"GET", b"/v1/customers"): encoded(
                {"object": "list", "data": [customer], "has_more": False, "url": "/v1/customers"}
            ),
            (b"GET", b"/v1/customers/cus_1"): encoded(customer),
            (b"POST", b"/v1/refunds"): encoded(objects["refund"]),
        }

    return StripeFixtures


async def run_fake_stripe(protocol: type[FakeStripe], lifetime: float) -> None:
    """Serve on 127.0.0.1, print the port, and exit on its own after `lifetime` seconds."""
    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(lifetime)  # bounded: exits even if the parent never stops it
    server.close()


class RawConnection(asyncio.Protocol):
    """A keep-alive HTTP/1.1 client connection that sends prepared request bytes and reads Content-Length
    answers: next to nothing of the client's own CPU, so what is measured is the server."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.head: bytes | None = None  # of the answer being read
        self.total = 0  # its size, head included
        self.waiter: asyncio.Future[tuple[int, bytes, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = bytes(self.buffer[:end])
            lower = self.head.lower()
            at = lower.find(b"\r\ncontent-length:")
            stop = lower.find(b"\r\n", at + 2) if at >= 0 else -1
            length = int(lower[at + 17 : stop if stop >= 0 else len(lower)]) if at >= 0 else 0
            self.total = end + 4 + length
        if len(self.buffer) < self.total:
            return
        head, body = self.head, bytes(self.buffer[len(self.head) + 4 : self.total])
        del self.buffer[: self.total]
        self.head = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((int(head[9:12]), head, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))

    async def request(self, raw: bytes, timeout: float = 30.0) -> tuple[int, bytes, bytes]:
        """(status, head, body); bounded by `timeout`."""
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)  # type: ignore[attr-defined]
        async with asyncio.timeout(timeout):
            return await self.waiter

    def close(self) -> None:
        self.transport.close()


async def raw_connect(port: int) -> RawConnection:
    _, connection = await asyncio.get_running_loop().create_connection(RawConnection, "127.0.0.1", port)
    return connection


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    if body or method == "POST":
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def header(head: bytes, name: bytes) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode()
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


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


class Meter:
    """CPU seconds of some processes and of the whole machine between `start` and `stop`: what each used, and
    what processes outside the benchmark used meanwhile (in cores)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def start(self) -> None:
        self.cpu0 = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.busy0, self.wall0 = machine_busy(), time.perf_counter()

    def stop(self) -> tuple[dict[str, float], float]:
        used = {name: cpu_seconds(pid) - self.cpu0[name] for name, pid in self.pids.items()}
        wall = time.perf_counter() - self.wall0
        foreign = max(0.0, machine_busy() - self.busy0 - sum(used.values())) / wall
        return used, foreign


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))] if ordered else float("nan")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def serve_head() -> list[str]:
    script = Path(sys.executable).parent / "stripe-mcp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "stripe_mcp"]


def synthesize(schema: dict[str, Any], name: str = "") -> Any:
    """The smallest value the schema accepts: required members only, first enum, first anyOf branch but ``""``."""
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("enum") != [""]] or schema["anyOf"]
        return synthesize(branches[0], name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: synthesize(props.get(key, {"type": "string"}), key) for key in schema.get("required", [])}
    if kind == "array":
        return [synthesize(schema.get("items", {"type": "string"}), name) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    if schema.get("contentEncoding") == "base64":
        return "aGVsbG8="
    if schema.get("format") == "decimal":
        return "1"
    # Ids and free text alike: short, carries a digit (the fake answers an object for it), within maxLength.
    return f"{name or 'x'}_1"[: schema.get("maxLength", 5000)] or "1"
