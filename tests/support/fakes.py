"""A loopback fake of Stripe whose answer per request is scripted by the test.

`FakeStripe` is a Starlette app served by uvicorn on 127.0.0.1 (ephemeral port) in the
test's own event loop; it records every request it receives. `ResettingServer` is a raw
asyncio server that reads a request and drops the connection without answering (an
ASGI app cannot do that). Both start and stop within bounded waits.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0

Behaviour = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # decoded
    raw_path: str  # as sent, percent-encoding kept
    query: str  # raw query string
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)


# --- behaviours ----------------------------------------------------------------------


def respond(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> Behaviour:
    """A JSON answer (Stripe's own content type)."""

    async def behaviour(request: Request) -> Response:
        return Response(json.dumps(body if body is not None else {}), status, headers, "application/json")

    return behaviour


def respond_raw(status: int, content: bytes, content_type: str, headers: dict[str, str] | None = None) -> Behaviour:
    async def behaviour(request: Request) -> Response:
        return Response(content, status, headers, content_type)

    return behaviour


def stripe_error(
    status: int, request_id: str = "req_fake123", headers: dict[str, str] | None = None, **error: Any
) -> Behaviour:
    return respond(status, {"error": error}, {"Request-Id": request_id, **(headers or {})})


def sleep_then(seconds: float, then: Behaviour) -> Behaviour:
    async def behaviour(request: Request) -> Response:
        await asyncio.sleep(seconds)
        return await then(request)

    return behaviour


def trickle(chunks: int, interval: float, chunk: bytes = b" ") -> Behaviour:
    """Headers at once, then the body a chunk at a time: no single read ever waits long."""

    async def body() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            await asyncio.sleep(interval)
            yield chunk

    async def behaviour(request: Request) -> Response:
        return StreamingResponse(body(), 200, media_type="application/json")

    return behaviour


# --- the fake ------------------------------------------------------------------------


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[tuple[str, str], Behaviour] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.base_url = ""

    def on(self, method: str, path: str, behaviour: Behaviour) -> None:
        self._scripts[(method.upper(), path)] = behaviour

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                raw_path=request.scope["raw_path"].decode("ascii"),
                query=request.scope["query_string"].decode("ascii"),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
            )
        )
        behaviour = self._scripts.get((request.method, request.url.path))
        if behaviour is None:
            message = f"the fake has no script for {request.method} {request.url.path}"
            return await stripe_error(404, type="invalid_request_error", code="resource_missing", message=message)(
                request
            )
        return await behaviour(request)

    def app(self) -> Starlette:
        route = Route("/{path:path}", self._handle, methods=["GET", "POST", "DELETE"])
        return Starlette(routes=[route])

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(START_TIMEOUT):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await asyncio.wait_for(self._task, STOP_TIMEOUT)


class ResettingServer:
    """Reads the request head, then resets the connection (RST, not a clean close)."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self.base_url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.requests.append(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), STOP_TIMEOUT))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        # Linger 0 turns close() into a TCP reset.
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def start(self) -> None:
        self._server = await asyncio.wait_for(asyncio.start_server(self._handle, "127.0.0.1", 0), START_TIMEOUT)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await asyncio.wait_for(self._server.wait_closed(), STOP_TIMEOUT)


def unused_port_url() -> str:
    """A loopback URL nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def fake_stripe() -> AsyncIterator[FakeStripe]:
    fake = FakeStripe()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def resetting_server() -> AsyncIterator[ResettingServer]:
    server = ResettingServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
