"""web/connections.py in process: the guarded uvicorn protocol fed bytes by hand, with a transport that records what
it was sent, so each rule is seen exactly (the served process is tests/cli/test_hardening_cli.py's business)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from stripe_mcp.web.connections import (
    MAX_HEADER_BYTES,
    ConnectionGuard,
    ConnectionLimits,
    GuardedProtocol,
    HeadWithBody,
)


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent = b""
        self.writes: list[bytes] = []  # each send apart
        self.closing = False
        self.aborted = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.sent += data
        self.writes.append(data)

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.aborted = self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def echo_length(scope: Any, receive: Any, send: Any) -> None:
    """Reads the whole body, answers its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
    )
    await send({"type": "http.response.body", "body": body})


async def stream_later(scope: Any, receive: Any, send: Any) -> None:
    """A streamed answer whose first chunk comes after a wait, as an event stream's does."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    await asyncio.sleep(0.05)
    await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def connection(guard: ConnectionGuard, app: Any = echo_length) -> tuple[GuardedProtocol, Transport]:
    config = uvicorn.Config(app, http=guard.protocol(), lifespan="off", log_level="warning")
    config.load()
    protocol = guard.protocol()(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


def statuses(transport: Transport) -> list[bytes]:
    return re.findall(rb"HTTP/1\.1 (\d{3}) ", transport.sent)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_large_request_in_one_chunk_is_no_header_flood() -> None:
    """Headers and a 200 KB body in one read were counted as header bytes: a stray 431 followed the answer."""
    protocol, transport = connection(ConnectionGuard(ConnectionLimits(10)))
    body = b"x" * 200_000
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await settle()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert statuses(transport) == [b"200", b"200"] and b"200000" in transport.sent
    assert not transport.closing


async def test_a_head_and_its_body_leave_in_one_send() -> None:
    """uvicorn writes them apart: two wake-ups of the client and two loopback receives for one answer."""
    protocol, transport = connection(ConnectionGuard(ConnectionLimits(10)))
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
    await settle()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    await settle()
    assert statuses(transport) == [b"200", b"200"]
    assert len(transport.writes) == 2 and all(w.endswith((b"\r\n\r\n3", b"\r\n\r\n0")) for w in transport.writes)
    assert transport.closing  # after the whole answer of a Connection: close request


async def test_a_streamed_head_leaves_before_its_first_chunk() -> None:
    protocol, transport = connection(ConnectionGuard(ConnectionLimits(10)), stream_later)
    protocol.data_received(b"GET /events HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert statuses(transport) == [b"200"] and b"data:" not in transport.sent  # the client knows it has a stream
    await asyncio.sleep(0.1)
    assert b"data: 1" in transport.sent


async def test_a_held_head_is_dropped_when_its_client_has_gone() -> None:
    transport = Transport()
    writer = HeadWithBody(transport, asyncio.get_running_loop())
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
    transport.close()  # the connection was lost before the turn ended
    await settle()
    assert transport.writes == []


async def test_headers_that_never_end_get_431() -> None:
    guard = ConnectionGuard(ConnectionLimits(10))
    protocol, transport = connection(guard)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n")
    for _ in range(MAX_HEADER_BYTES // 1000 + 1):
        protocol.data_received(b"X-Pad: " + b"a" * 991 + b"\r\n")
    assert statuses(transport) == [b"431"] and transport.closing and guard.timed_out == 1
    head, _, body = transport.sent.partition(b"\r\n\r\n")
    assert int(re.search(rb"content-length: (\d+)", head).group(1)) == len(body)


async def test_a_silent_connection_is_closed_after_the_header_timeout() -> None:
    guard = ConnectionGuard(ConnectionLimits(10, header_timeout=0.05))
    _, transport = connection(guard)
    await asyncio.sleep(0.2)
    assert transport.closing and guard.timed_out == 1


async def test_a_body_that_does_not_come_is_closed_after_the_body_timeout() -> None:
    guard = ConnectionGuard(ConnectionLimits(10, body_timeout=0.05))
    protocol, transport = connection(guard)
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{")
    await asyncio.sleep(0.2)
    assert transport.closing and guard.timed_out == 1


@pytest.mark.integration
async def test_a_client_that_reads_nothing_is_abandoned() -> None:
    guard = ConnectionGuard(ConnectionLimits(10, send_timeout=0.05))
    protocol, transport = connection(guard)
    protocol.pause_writing()  # the transport's buffer is over its high-water mark
    await asyncio.sleep(0.2)
    assert transport.aborted and guard.timed_out == 1
    other, other_transport = connection(guard)
    other.pause_writing()
    other.resume_writing()  # it read in time
    await asyncio.sleep(0.2)
    assert not other_transport.aborted


async def test_at_the_cap_the_longest_idle_connection_is_shed() -> None:
    guard = ConnectionGuard(ConnectionLimits(3))
    (busy, busy_transport), (old, old_transport), (young, young_transport) = [connection(guard) for _ in range(3)]
    busy.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{")  # a request in progress
    _, newest_transport = connection(guard)
    assert old_transport.closing and not busy_transport.closing and not young_transport.closing
    assert not newest_transport.closing and guard.shed == 1
    for protocol in (old,):
        protocol.connection_lost(None)
    young.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{")
    newest = next(conn for conn in guard.open if conn not in (busy, young))
    newest.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{")
    _, refused_transport = connection(guard)  # every open one is busy: the new one is closed instead
    assert refused_transport.closing and guard.refused == 1
