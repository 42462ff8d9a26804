"""Hardening seen from the command line (issue "Hardening, round two"): `api-tokens list|revoke`, `serve` on a store
it cannot use (one `error:` line, exit 2), the notice of a revoked default server, and `serve` under clients that
open sockets and send nothing, too slowly or too much."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from stripe_mcp.cli import main
from stripe_mcp.web.connections import DESCRIPTOR_HEADROOM, MAX_HEADER_BYTES
from tests.support.runtime_process import RunningServer, free_port, serve

API_KEY = "sk_test_hardening_cli_4242"
ADMIN_TOKEN = "admin-token-hardening-cli-93b2"
ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


# --------------------------------------------------------------------------- api-tokens list|revoke


def test_api_tokens_list_and_revoke(tmp_path: Path) -> None:
    runner, store = CliRunner(), f"sqlite:///{tmp_path / 'store.sqlite3'}"
    env = {"STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "STRIPE_API_KEY": API_KEY}

    def cli(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, [*args, "--store", store], env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.stdout if code == 0 else result.output  # stderr names the store opened

    account = re.search(r"acct_\w+", cli("accounts", "add", "--name", "shop")).group(0)
    scoped = cli("api-tokens", "create", "--account", account, "--expires-at", "2099-01-01T00:00:00Z")
    admin = cli("api-tokens", "create", "--admin")
    scoped_id, scoped_token = re.search(r"(tok_\w+).*\n(smcp_api_\S+)", scoped).groups()
    admin_id = re.search(r"tok_\w+", admin).group(0)
    lines = cli("api-tokens", "list").splitlines()
    assert [line.split()[0] for line in lines] == [scoped_id, admin_id]
    assert re.fullmatch(
        rf"{scoped_id}  account={account}  admin=no  created_at={ISO_TIME}  expires_at=2099-01-01T00:00:00Z  "
        "last_used_at=never",
        lines[0],
    )
    assert "account=all  admin=yes" in lines[1] and scoped_token not in "".join(lines)
    assert cli("api-tokens", "revoke", "--id", scoped_id) == f"revoked {scoped_id}\n"
    assert [line.split()[0] for line in cli("api-tokens", "list").splitlines()] == [admin_id]
    assert "no API token" in cli("api-tokens", "revoke", "--id", scoped_id, code=2)
    assert "cannot be limited" in cli("api-tokens", "create", "--admin", "--account", account, code=2)
    assert "no integrated account" in cli("api-tokens", "create", "--account", "acct_nope", code=2)


# --------------------------------------------------------------------------- serve on a store it cannot use


def serve_exits(tmp_path: Path, store: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "STRIPE_API_KEY": API_KEY}
    command = [sys.executable, "-m", "stripe_mcp", "serve", "--port", str(free_port()), "--store", store]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.integration
@pytest.mark.parametrize("case", ["corrupt", "read-only", "unreachable redis", "a directory"])
def test_serve_on_a_store_it_cannot_use_says_so_in_one_line(tmp_path: Path, case: str) -> None:
    """A read-only, corrupt or unreachable store printed a 42-line traceback."""
    path = tmp_path / "store.sqlite3"
    store = f"sqlite:///{path}"
    if case == "corrupt":
        path.write_bytes(b"not a database, " * 1000)
    elif case == "read-only":
        make = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('CREATE TABLE t (x)')"
        subprocess.run([sys.executable, "-c", make, str(path)], check=True)
        path.chmod(0o444)
        if os.geteuid() == 0:  # root writes a 0444 file anyway: make it immutable instead
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
                pytest.skip("running as root on a file system without chattr +i: no way to make the store read-only")
    elif case == "unreachable redis":
        store = f"redis://127.0.0.1:{free_port()}/0"
    else:
        path.mkdir()
    try:
        done = serve_exits(tmp_path, store)
    finally:
        if case == "read-only" and os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open the store"), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


# --------------------------------------------------------------------------- the revoked default server


@pytest.mark.integration
def test_serve_says_the_default_server_was_revoked_and_how_to_make_one(tmp_path: Path) -> None:
    env = {"STRIPE_MCP_ADMIN_TOKEN": ADMIN_TOKEN, "STRIPE_API_KEY": API_KEY}
    store = ("--store", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    with serve(tmp_path, *store, env=env) as first:
        url = first.printed_mcp_url()
        accounts = httpx.get(f"{first.base_url}/integrated-account", headers=auth).json()["data"]
        account = accounts[0]["id"]
        servers = httpx.get(f"{first.base_url}/integrated-account/{account}/mcp", headers=auth).json()["data"]
        revoked = httpx.delete(f"{first.base_url}/integrated-account/{account}/mcp/{servers[0]['id']}", headers=auth)
        assert revoked.status_code == 204
    with serve(tmp_path, *store, env=env) as again:
        printed = again.printed
        assert "/mcp/" not in printed  # no URL printed, the old one not made again
        assert "revoked at" in printed and f"stripe-mcp servers create --account {account}" in printed
        token_url = f"{again.base_url}/mcp/{url.rsplit('/', 1)[1]}"
        assert httpx.post(token_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}).status_code == 404


# --------------------------------------------------------------------------- slow clients


@contextmanager
def serve_limited(workdir: Path, *args: str, nofile: int | None = None) -> Iterator[RunningServer]:
    """`stripe-mcp serve` in a process whose descriptor limit is `nofile`, as one started under `ulimit -n`."""
    launcher = workdir / "launch.py"
    limit = f"resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile}))" if nofile else "pass"
    launcher.write_text(f"import resource, sys\n{limit}\nfrom stripe_mcp.cli import main\nmain()\n")
    env = {**os.environ, "STRIPE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "STRIPE_API_KEY": ""}
    port = free_port()
    output = workdir / f"serve-{port}.log"
    command = [sys.executable, str(launcher), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with output.open("w") as sink:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, output.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        yield RunningServer(process, base, output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def connect(server: RunningServer, count: int = 1) -> list[socket.socket]:
    port = int(server.base_url.rsplit(":", 1)[1])
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the server closed it (whatever it sent before); reads what is there without waiting."""
    sock.setblocking(False)
    try:
        while chunk := sock.recv(65536):
            del chunk
        return True
    except BlockingIOError:
        return False
    except ConnectionError:
        return True
    finally:
        sock.setblocking(True)


def wait_closed(sockets: list[socket.socket], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not all(closed_by_peer(sock) for sock in sockets):
        assert time.monotonic() < deadline, "the server kept a connection it should have closed"
        time.sleep(0.1)


@pytest.mark.integration
def test_idle_sockets_do_not_starve_real_requests(tmp_path: Path) -> None:
    """1,100 half-open sockets (no token needed) under a 1,024-descriptor limit made every real request fail."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        pytest.skip(f"this test holds 1,100 sockets open; the descriptor limit here is {soft}")
    nofile, held_count = 1024, 1100
    with serve_limited(tmp_path, "--header-timeout", "60", nofile=nofile) as server:
        held = connect(server, held_count)
        try:
            answers = [httpx.get(f"{server.base_url}/healthz", timeout=10).status_code for _ in range(20)]
            assert answers == [200] * 20  # each on a connection of its own, as 20 users would
            time.sleep(0.5)  # the closes of the shed connections are on their way
            shed = sum(closed_by_peer(sock) for sock in held)
            # At most the descriptor limit less the headroom stay open; the longest idle went first.
            assert held_count - shed <= nofile - DESCRIPTOR_HEADROOM, shed
            assert closed_by_peer(held[0]) and not closed_by_peer(held[-1])
        finally:
            for sock in held:
                sock.close()


@pytest.mark.integration
def test_silent_slow_and_oversized_clients_are_closed(tmp_path: Path) -> None:
    """Sockets held for 60 s were never closed, nor one whose headers never ended."""
    with serve_limited(tmp_path, "--header-timeout", "1", "--body-timeout", "1") as server:
        silent, slow_headers, slow_body, huge = connect(server, 4)
        slow_headers.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        slow_body.sendall(b"POST /integrated-account HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
        huge.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * (MAX_HEADER_BYTES + 10))
        try:
            huge.settimeout(10)
            assert huge.recv(4096).startswith(b"HTTP/1.1 431 ")
            wait_closed([silent, slow_headers, slow_body, huge])
            assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200  # others are served
            # A large body that arrives in one piece with its headers is no header flood: two requests, two answers.
            keep_alive = connect(server)[0]
            keep_alive.settimeout(10)
            body = b'{"name": "' + b"x" * 200_000 + b'"}'
            head = b"POST /integrated-account HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            keep_alive.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            keep_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answers = b""
            while answers.count(b"HTTP/1.1 ") < 2 or not answers.endswith(b"}"):
                chunk = keep_alive.recv(65536)
                assert chunk, answers
                answers += chunk
            assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answers) == [b"403", b"200"]
            keep_alive.close()
        finally:
            for sock in (silent, slow_headers, slow_body, huge):
                sock.close()
