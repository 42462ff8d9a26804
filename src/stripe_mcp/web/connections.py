"""The connections of `stripe-mcp serve`: a cap below the process's descriptor limit, and timeouts for clients that
send or read too slowly (uvicorn has neither a header timeout nor a cap on open sockets).

- A connection has `header_timeout` seconds to send a request's headers (at most MAX_HEADER_BYTES of them), from
  when it opens and after each response; `body_timeout` seconds to send the body; and a response it takes nothing
  of for `send_timeout` seconds is abandoned (its buffer with it). Each is closed then.
- At most `max_connections` are open: by default the descriptor limit less DESCRIPTOR_HEADROOM, kept for the
  store, the connections to Stripe and the log. A connection beyond it sheds the open connection that has waited
  longest without a request in progress; when every one is busy, the new one is closed instead.

The guard is a subclass of uvicorn's httptools protocol: ASGI starts only once headers are complete, too late to
see a client that never sends them.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 30.0
SEND_TIMEOUT_SECONDS = 30.0
MAX_HEADER_BYTES = 64 * 1024
DESCRIPTOR_HEADROOM = 256
MIN_CONNECTIONS = 16
_TOO_LARGE_BODY = b'{"error": {"code": "headers_too_large", "message": "the request headers are too large"}}'
TOO_LARGE_HEADERS = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY)
)


def default_max_connections() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(MIN_CONNECTIONS, soft - DESCRIPTOR_HEADROOM)


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    body_timeout: float = BODY_TIMEOUT_SECONDS
    send_timeout: float = SEND_TIMEOUT_SECONDS


class ConnectionGuard:
    """The open connections of one server, oldest first, and what was done to the ones that misbehaved."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open: dict[GuardedProtocol, None] = {}  # insertion-ordered: the oldest first
        self.shed = 0  # idle connections closed to make room for a new one
        self.refused = 0  # new connections closed because every open one was busy
        self.timed_out = 0  # closed for a header, body or send timeout, or headers too large

    def admit(self, connection: GuardedProtocol) -> bool:
        if len(self.open) >= self.limits.max_connections:
            idle = next((open_ for open_ in self.open if open_.idle), None)
            if idle is None:
                self.refused += 1
                return False
            self.forget(idle)
            idle.transport.close()
            self.shed += 1
        self.open[connection] = None
        return True

    def forget(self, connection: GuardedProtocol) -> None:
        self.open.pop(connection, None)

    def protocol(self) -> type[GuardedProtocol]:
        """The protocol class for uvicorn's `http` option, bound to this guard."""
        guard = self

        class Bound(GuardedProtocol):
            pass

        Bound.guard = guard
        return Bound


class GuardedProtocol(HttpToolsProtocol):
    guard: ConnectionGuard

    awaiting_headers = True  # between requests (or before the first): the next one's headers are not complete
    _header_bytes = 0
    _headers_completed = 0  # requests whose headers were complete, so far
    _deadline: asyncio.TimerHandle | None = None  # the header or the body timeout, whichever applies now
    _stalled: asyncio.TimerHandle | None = None  # the send timeout, while the client reads nothing

    @property
    def idle(self) -> bool:
        """No request in progress: nothing is lost when this connection is closed to make room."""
        return self.awaiting_headers and (self.cycle is None or self.cycle.response_complete)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.admit(self):
            transport.close()
            return
        self._arm(self.guard.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self)
        self._disarm()
        if self._stalled is not None:
            self._stalled.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        waiting, completed = self.awaiting_headers, self._headers_completed
        super().data_received(data)
        if waiting and completed == self._headers_completed:  # no request's headers ended in this chunk
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self.guard.timed_out += 1
                self.transport.write(TOO_LARGE_HEADERS)
                self.transport.close()

    def on_headers_complete(self) -> None:
        self.awaiting_headers = False
        self._headers_completed += 1
        self._header_bytes = 0
        self._arm(self.guard.limits.body_timeout)
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.transport is self.transport:  # the request's own cycle
            self.cycle.transport = HeadWithBody(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self.awaiting_headers = True
        self._disarm()  # the request is in; the app's own time is not the client's to spend
        super().on_message_complete()
        if self.cycle is None or self.cycle.response_complete:  # answered before its body was all in
            self._arm(self.guard.limits.header_timeout)

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if self.awaiting_headers and not pipelined and not self.transport.is_closing():
            self._arm(self.guard.limits.header_timeout)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None:
            self._stalled = self.loop.call_later(self.guard.limits.send_timeout, self._abandon)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._time_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _time_out(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.guard.timed_out += 1
            self.transport.close()

    def _abandon(self) -> None:
        """The client took nothing of its response for send_timeout seconds: drop it and what waits for it."""
        self._stalled = None
        self.guard.timed_out += 1
        self.transport.abort()


class HeadWithBody:
    """The connection as one response writes to it: the response's head waits for its first body bytes, so that
    a head and a body written in the same turn of the event loop leave in one send.

    uvicorn sends them apart, and on loopback each send wakes the client and costs the kernel a receive as well.
    A head whose body is not written in that turn (a stream's) leaves when the turn ends.
    """

    __slots__ = ("_transport", "_loop", "_head", "_started")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._started = False

    def write(self, data: bytes) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        elif not self._started:  # the head (or a 100 Continue): hold it for what follows
            self._started = True
            self._head = data
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():  # the client may have gone since
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self._transport.get_extra_info(name, default)
