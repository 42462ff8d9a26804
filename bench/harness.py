"""What the benchmarks share: a fast fake Stripe, /proc readings, percentiles, argument synthesis."""

from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


class FakeStripe(asyncio.Protocol):
    """Minimal keep-alive HTTP/1.1 (Content-Length bodies only, all that httpx sends): a GET of a collection
    (no digit in the last path segment: ids here carry one) gets `list_body`, anything else `object_body`."""

    list_body = b'{"object":"list","data":[],"has_more":false}'
    object_body = b'{"id":"x","object":"thing"}'

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
            last = target.split(b"?", 1)[0].rstrip(b"/").rsplit(b"/", 1)[-1]
            is_list = method == b"GET" and not any(48 <= c <= 57 for c in last) and last != b"v1"
            body = self.list_body if is_list else self.object_body
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_bench\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )


async def run_fake_stripe(protocol: type[FakeStripe], lifetime: float) -> None:
    """Serve on 127.0.0.1, print the port, and exit on its own after `lifetime` seconds."""
    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(lifetime)  # bounded: exits even if the parent never stops it
    server.close()


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
