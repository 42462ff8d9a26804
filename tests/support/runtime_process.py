"""Run `stripe-mcp serve` as a real process on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningServer:
    def __init__(self, process: subprocess.Popen, base_url: str, output: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.output = output

    @property
    def printed(self) -> str:
        return self.output.read_text()

    def printed_mcp_url(self) -> str:
        match = re.search(r"(http://\S+/mcp/\S+)", self.printed)
        assert match, f"no MCP URL printed:\n{self.printed}"
        return match.group(1)


@contextmanager
def serve(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """Start `stripe-mcp serve` in `workdir`; wait until /healthz answers; stop it (by its PID) after."""
    port = free_port()
    output = workdir / f"serve-{port}.log"
    command = [sys.executable, "-m", "stripe_mcp", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    full_env = {**os.environ, **(env or {})}
    with output.open("w") as sink:
        process = subprocess.Popen(command, cwd=workdir, env=full_env, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"stripe-mcp serve exited with {process.returncode}:\n{output.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"stripe-mcp serve did not start in {START_TIMEOUT}s:\n{output.read_text()}")
            time.sleep(0.1)
        yield RunningServer(process, base_url, output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def managed_env(admin_token: str) -> dict[str, str]:
    """A managed deployment's environment: the admin API open with `admin_token`, a new encryption key, and no
    default server for STRIPE_API_KEY."""
    return {
        "STRIPE_MCP_ADMIN_TOKEN": admin_token,
        "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "STRIPE_API_KEY": "",
    }


@contextmanager
def serve_managed(workdir: Path, stripe_url: str, admin_token: str) -> Iterator[RunningServer]:
    """`serve` with `managed_env`, a new SQLite store in `workdir` and Stripe at `stripe_url`."""
    store = f"sqlite:///{workdir / 'store.sqlite3'}"
    with serve(workdir, "--store", store, "--stripe-base-url", stripe_url, env=managed_env(admin_token)) as server:
        yield server
