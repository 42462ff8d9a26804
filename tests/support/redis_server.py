"""Run a throw-away redis-server on 127.0.0.1 for tests.

No persistence (`--save ""`, `--appendonly no`), a temporary working directory, an ephemeral
port; started as a subprocess, ready once PING answers, stopped by its PID. When the binary is
missing the tests that need it are skipped, except in CI (env CI set), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.support.runtime_process import free_port

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
CANDIDATES = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    return next((path for path in CANDIDATES if os.access(path, os.X_OK)), None)


def require_redis_binary() -> str:
    binary = redis_binary()
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI is set, so this is a failure, not a skip")
        pytest.skip(message)
    return binary


class RunningRedis:
    def __init__(self, process: subprocess.Popen, port: int, workdir: Path) -> None:
        self.process = process
        self.port = port
        self.workdir = workdir

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5, socket_connect_timeout=5)

    def flush(self, db: int) -> None:
        with self.client(db) as client:
            client.flushdb()


@contextmanager
def redis_server(workdir: Path) -> Iterator[RunningRedis]:
    binary = require_redis_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "redis.log"
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--logfile",
        str(log),
    ]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                text = log.read_text() if log.exists() else ""
                raise AssertionError(f"redis-server exited with {process.returncode}:\n{text}")
            try:
                with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1) as client:
                    if client.ping():
                        break
            except redis.exceptions.RedisError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not answer PING within {START_TIMEOUT}s")
            time.sleep(0.05)
        yield RunningRedis(process, port, workdir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
