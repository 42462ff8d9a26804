"""MCP over standard input/output: newline-delimited JSON-RPC, one message per line.

The framing only; the messages go to `stripe_mcp.mcp.dispatch`. Protocol versions
2024-11-05 .. 2025-11-25 (with `initialize`). Standard output carries protocol messages
only: while serving the real stdout, `sys.stdout` points at stderr so a stray print()
cannot corrupt the stream, and logging must be configured to stderr (the default).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import sys
from typing import Any, BinaryIO, Protocol

from stripe_mcp.mcp.cancellation import InFlight, is_cancellation
from stripe_mcp.mcp.dispatch import Reply, dispatch_batch, dispatch_message
from stripe_mcp.mcp.jsonrpc import INVALID_REQUEST, PARSE_ERROR, JsonRpcError, error_bytes, one_line, request_id_of
from stripe_mcp.mcp.security import MAX_BODY_BYTES
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.mcp.versions import BATCH_VERSION, LATEST_LEGACY_VERSION

logger = logging.getLogger(__name__)


class LineReader(Protocol):
    async def readline(self) -> bytes: ...


class LineWriter(Protocol):
    def write(self, data: bytes) -> object: ...

    async def drain(self) -> None: ...


class _ThreadLineReader:
    """Blocking readline in a worker thread, for stdin that is not a pipe or a socket (a terminal, a file,
    /dev/null)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    async def readline(self) -> bytes:
        return await asyncio.to_thread(self.stream.readline, MAX_BODY_BYTES + 2)


class _ThreadWriter:
    """Writes to a blocking binary stream off the event loop."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.pending.append(data)

    async def drain(self) -> None:
        data, self.pending = b"".join(self.pending), []
        await asyncio.to_thread(self._flush, data)

    def _flush(self, data: bytes) -> None:
        self.stream.write(data)
        self.stream.flush()


def _is_pipe_or_socket(descriptor: int) -> bool:
    try:
        mode = os.fstat(descriptor).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def _stdin_reader() -> LineReader:
    # Only pipes and sockets can be watched by the event loop. A terminal would be made non-blocking (and stderr
    # shares it); epoll refuses regular files and /dev/null, and the loop reports that only later, in a callback,
    # so a read pipe transport on them would wait for ever.
    if not _is_pipe_or_socket(sys.stdin.fileno()):
        return _ThreadLineReader(sys.stdin.buffer)
    reader = asyncio.StreamReader(limit=MAX_BODY_BYTES + 2)
    loop = asyncio.get_running_loop()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    except (ValueError, OSError):
        return _ThreadLineReader(sys.stdin.buffer)
    return reader


class _Connection:
    def __init__(self, server: McpServer, writer: LineWriter) -> None:
        self.server = server
        self.writer = writer
        self.version = LATEST_LEGACY_VERSION  # until initialize says otherwise
        self.in_flight = InFlight()
        self.write_lock = asyncio.Lock()

    async def send(self, body: bytes) -> None:
        async with self.write_lock:
            self.writer.write(one_line(body) + b"\n")
            await self.writer.drain()

    async def answer(self, message: Any) -> None:
        if isinstance(message, list):
            reply = await self._batch(message)
        else:
            reply = await dispatch_message(self.server, message, self.version)
        if reply.negotiated is not None:
            self.version = reply.negotiated
        if reply.body is not None:
            await self.send(reply.body)

    async def _batch(self, messages: list[Any]) -> Reply:
        if self.version != BATCH_VERSION:
            error = JsonRpcError(INVALID_REQUEST, f"Batches are not supported at protocol version {self.version}")
            return Reply(body=error_bytes(None, error))
        return await dispatch_batch(self.server, messages, self.version)

    async def handle_line(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            await self.send(error_bytes(None, JsonRpcError(PARSE_ERROR, "Parse error")))
            return
        if is_cancellation(message):
            self.in_flight.cancel(message.get("params"))
        elif isinstance(message, dict) and message.get("method") == "initialize":
            await self.answer(message)  # inline: later messages depend on the negotiated version
        else:
            while self.in_flight.full():
                await asyncio.wait(self.in_flight.tasks, return_when=asyncio.FIRST_COMPLETED)
            self.in_flight.start(request_id_of(message), self.answer(message))


async def serve_stdio(server: McpServer, reader: LineReader | None = None, writer: LineWriter | None = None) -> None:
    """Serve `server` until the input ends; requests run concurrently, replies are written whole lines."""
    real_stdout = sys.stdout
    if writer is None:
        writer = _ThreadWriter(sys.stdout.buffer)
        sys.stdout = sys.stderr  # keep print() away from the protocol stream
    connection = _Connection(server, writer)
    try:
        if reader is None:
            reader = await _stdin_reader()
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # a line longer than MAX_BODY_BYTES; its tail arrives as the next "line"
                await connection.send(error_bytes(None, JsonRpcError(INVALID_REQUEST, "Message too large")))
                continue
            if not line:
                break
            if line.strip():
                await connection.handle_line(line)
        await connection.in_flight.wait()
    finally:
        connection.in_flight.cancel_all()  # only left over when we are cancelled ourselves
        sys.stdout = real_stdout
