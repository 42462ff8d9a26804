"""Hardening of the MCP framings (issue "Hardening, round two"): what one request, one batch or one slow SSE client
may cost, JSON-RPC batch members without an id, and stdio on /dev/null.

The toy server of tests/mcp/conformance runs in process (Starlette's TestClient), or behind uvicorn on 127.0.0.1
for the SSE streams.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from stripe_mcp.mcp import dispatch, sse
from stripe_mcp.mcp.asking import CANNOT_ASK
from stripe_mcp.mcp.dispatch import MAX_BATCH_MEMBERS, MAX_RESPONSE_BYTES
from stripe_mcp.mcp.jsonrpc import RESPONSE_TOO_LARGE
from tests.mcp.conformance.toyserver import TOKEN, ToyServer, make_app, serve
from tests.support.paths import REPO

BASE = "http://127.0.0.1:8000"
URL = f"{BASE}/mcp/{TOKEN}"
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def rpc(method: str, id: Any = 1, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


def big_tools(target_bytes: int = 1_500_000, count: int = 468) -> list[dict[str, Any]]:
    """A tool list the size of the real one (468 tools, 1.3 MB)."""
    filler = "x" * (target_bytes // count - 200)
    return [{"name": f"tool_{i}", "description": filler, "inputSchema": {"type": "object"}} for i in range(count)]


def session(http: httpx.Client, version: str = "2025-03-26") -> dict[str, str]:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "hardening", "version": "0"}}
    answer = http.post(URL, json=rpc("initialize", 0, **params), headers=JSON_HEADERS)
    assert answer.status_code == 200, answer.text
    return {**JSON_HEADERS, "mcp-session-id": answer.headers["mcp-session-id"], "mcp-protocol-version": version}


@pytest.fixture
def big_app():
    return make_app(ToyServer(tools=big_tools()))


@pytest.fixture
def http(big_app) -> Iterator[httpx.Client]:
    with TestClient(big_app, base_url=BASE) as client:
        yield client


# --------------------------------------------------------------------------- 1. what one batch may cost


def test_a_batch_of_tools_list_is_held_to_the_response_limit(http: httpx.Client) -> None:
    """80 batched tools/list of 4.3 KB answered 102 MB (2,000 members: MemoryError, HTTP 500)."""
    headers = session(http)
    batch = [rpc("tools/list", i) for i in range(MAX_BATCH_MEMBERS)]
    answer = http.post(URL, json=batch, headers=headers)
    assert answer.status_code == 200
    assert len(answer.content) <= MAX_RESPONSE_BYTES + MAX_BATCH_MEMBERS * 300
    replies = answer.json()
    assert [reply["id"] for reply in replies] == list(range(MAX_BATCH_MEMBERS))  # every member answered
    served = [reply for reply in replies if "result" in reply]
    refused = [reply for reply in replies if "error" in reply]
    assert 1 <= len(served) < MAX_BATCH_MEMBERS and len(served) + len(refused) == MAX_BATCH_MEMBERS
    assert all(len(reply["result"]["tools"]) == 468 for reply in served)
    assert replies.index(refused[0]) == len(served)  # the served ones first, then nothing more is run
    for reply in refused:
        assert reply["error"]["code"] == RESPONSE_TOO_LARGE
        assert reply["error"]["data"] == {"limit": MAX_RESPONSE_BYTES}
        assert str(MAX_RESPONSE_BYTES) in reply["error"]["message"]


def test_a_batch_over_the_member_limit_is_refused_whole(http: httpx.Client) -> None:
    headers = session(http)
    for count in (MAX_BATCH_MEMBERS + 1, 80, 2_000):
        answer = http.post(URL, json=[rpc("tools/list", i) for i in range(count)], headers=headers)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == -32600 and error["data"] == {"limit": MAX_BATCH_MEMBERS}
        assert str(MAX_BATCH_MEMBERS) in error["message"] and str(count) in error["message"]
        assert len(answer.content) < 500
    exactly = http.post(URL, json=[rpc("ping", i) for i in range(MAX_BATCH_MEMBERS)], headers=headers)
    assert exactly.status_code == 200 and len(exactly.json()) == MAX_BATCH_MEMBERS


def test_one_response_over_the_limit_is_a_json_rpc_error(monkeypatch: pytest.MonkeyPatch, http: httpx.Client) -> None:
    monkeypatch.setattr(dispatch, "MAX_RESPONSE_BYTES", 1_000_000)  # below one tools/list of the big toy
    headers = session(http, "2025-06-18")
    answer = http.post(URL, json=rpc("tools/list", 7), headers=headers)
    assert answer.status_code == 200
    reply = answer.json()
    assert reply["id"] == 7 and reply["error"]["code"] == RESPONSE_TOO_LARGE and len(answer.content) < 500
    assert http.post(URL, json=rpc("ping", 8), headers=headers).json()["result"] == {}


# --------------------------------------------------------------------------- 14. members without an id


def test_a_batch_member_without_an_id_is_answered_as_json_rpc_says(http: httpx.Client) -> None:
    """JSON-RPC 2.0 §6: an invalid member is answered -32600 with a null id; only a notification is not answered."""
    headers = session(http)
    batch = [
        rpc("ping", 1),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},  # a notification: no answer
        {"foo": "boo"},  # no id, but no request either
        {"jsonrpc": "2.0", "params": {}},  # no method
        {"jsonrpc": "1.0", "method": "ping"},  # not JSON-RPC 2.0
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": [1]},  # a notification, malformed
    ]
    replies = http.post(URL, json=batch, headers=headers).json()
    assert replies[0] == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert [(reply["id"], reply["error"]["code"]) for reply in replies[1:]] == [(None, -32600)] * 3


def test_a_single_object_without_an_id_that_is_no_request_is_an_error(http: httpx.Client) -> None:
    headers = session(http, "2025-06-18")
    answer = http.post(URL, json={"foo": "boo"}, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == -32600 and answer.json()["id"] is None
    notification = http.post(URL, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    assert notification.status_code == 202 and notification.content == b""


# --------------------------------------------------------------------------- 6. legacy SSE sessions


def _sse_sessions(app) -> dict[str, sse.SseSession]:
    return next(route.endpoint.__self__.transport.sessions for route in app.routes if route.path.endswith("/sse"))


def _wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class IdleSseClient:
    """Opens the GET stream, reads its first event (the endpoint), then reads nothing more."""

    def __init__(self, base: str, token: str = TOKEN) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server's sends block
        self.sock.settimeout(5)
        self.sock.connect((host, int(port)))
        request = f"GET /mcp/{token}/sse HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
        self.sock.sendall(request.encode())
        head = b""
        while b"session_id=" not in head or not head.endswith(b"\r\n\r\n"):
            head += self.sock.recv(1)
        self.status = int(head.split(b" ", 2)[1])
        self.endpoint = base + head.split(b"data: ", 1)[1].split(b"\r\n", 1)[0].decode()

    def close(self) -> None:
        self.sock.close()


@pytest.mark.integration
def test_legacy_sse_sessions_are_capped_per_url_and_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "SSE_MAX_SESSIONS", 12)
    app = make_app()
    with serve(app) as base, httpx.Client(timeout=5) as http:
        streams = [IdleSseClient(base) for _ in range(sse.SSE_MAX_SESSIONS_PER_URL)]
        try:
            refused = http.get(f"{base}/mcp/{TOKEN}/sse", headers={"accept": "text/event-stream"})
            assert refused.status_code == 429 and refused.json()["error"]["code"] == -32600
            assert str(sse.SSE_MAX_SESSIONS_PER_URL) in refused.json()["error"]["message"]
            assert len(_sse_sessions(app)) == sse.SSE_MAX_SESSIONS_PER_URL
        finally:
            for stream in streams:
                stream.close()
        _wait_until(lambda: not _sse_sessions(app))
        # The process-wide cap: with the per-URL one out of the way.
        monkeypatch.setattr(sse, "SSE_MAX_SESSIONS_PER_URL", 100)
        streams = [IdleSseClient(base) for _ in range(12)]
        try:
            refused = http.get(f"{base}/mcp/{TOKEN}/sse", headers={"accept": "text/event-stream"})
            assert refused.status_code == 429 and "12" in refused.json()["error"]["message"]
        finally:
            for stream in streams:
                stream.close()


@pytest.mark.integration
def test_a_client_that_never_reads_its_stream_is_bounded_then_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A never-read stream made the server hold ~71 MB per session; now its backlog is bounded and it is ended."""
    monkeypatch.setattr(sse, "SSE_SEND_SECONDS", 1.0)
    app = make_app(ToyServer(tools=big_tools()))
    with serve(app) as base, httpx.Client(timeout=5) as http:
        idle = IdleSseClient(base)
        try:
            for i in range(40):  # 40 x 1.5 MB of replies asked for
                answer = http.post(idle.endpoint, json=rpc("tools/list", i + 1), headers=JSON_HEADERS)
                assert answer.status_code in (202, 429, 404)  # 404 once the session is dropped
                for held in _sse_sessions(app).values():
                    assert held.pending_bytes <= sse.SSE_MAX_PENDING_BYTES + 64 * 1000
            _wait_until(lambda: not _sse_sessions(app))  # the stream that takes nothing is ended
        finally:
            idle.close()


async def test_a_reply_that_would_pass_the_backlog_limit_is_replaced_by_a_short_error() -> None:
    toy = ToyServer(tools=big_tools(3_000_000))
    session = sse.SseSession(TOKEN)
    await sse._answer_on_stream(toy, session, rpc("tools/list", 1), CANNOT_ASK)  # alone, a large reply still goes out
    assert session.pending_bytes > sse.SSE_MAX_PENDING_BYTES / 2
    await sse._answer_on_stream(toy, session, rpc("tools/list", 2), CANNOT_ASK)
    assert session.pending_bytes < sse.SSE_MAX_PENDING_BYTES
    await sse._answer_on_stream(toy, session, rpc("ping", 3), CANNOT_ASK)  # small replies still fit
    first, second, third = [json.loads(await session.take()) for _ in range(3)]
    assert len(first["result"]["tools"]) == 468
    assert (
        second["id"] == 2
        and second["error"]["code"] == RESPONSE_TOO_LARGE
        and "read the stream" in second["error"]["message"]
    )
    assert third == {"jsonrpc": "2.0", "id": 3, "result": {}}
    assert session.pending_bytes == 0


# --------------------------------------------------------------------------- stdio on /dev/null


@pytest.mark.integration
def test_stdio_with_stdin_from_dev_null_exits_at_once(tmp_path) -> None:
    env = {"STRIPE_API_KEY": "sk_test_stdio_devnull", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "stripe_mcp", "stdio"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        cwd=REPO,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"" and b"Traceback" not in done.stderr
    lines = tmp_path / "requests.jsonl"
    lines.write_text(json.dumps(rpc("ping", 3)) + "\n")
    with lines.open("rb") as stdin:  # a regular file: epoll refuses it too
        done = subprocess.run(
            [sys.executable, "-m", "stripe_mcp", "stdio"],
            stdin=stdin,
            capture_output=True,
            env=env,
            cwd=REPO,
            timeout=30,
        )
    assert done.returncode == 0 and json.loads(done.stdout) == {"jsonrpc": "2.0", "id": 3, "result": {}}
