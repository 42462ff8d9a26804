"""A Streamable HTTP POST that may turn into an event stream: the handshake eras' way to ask mid-call.

The call runs at once. If it finishes without sending anything to the client, the POST is answered
with application/json as usual. If it first sends a request (elicitation/create), the answer becomes
text/event-stream: that request, any later ones, keep-alive comments while the user thinks, and the
reply last; then the stream closes. A client that hangs up cancels the call. Headers the reply would
have set (rate limits) cannot follow the stream's start: they are dropped, as on the legacy SSE transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from stripe_mcp.mcp.cancellation import wait_disconnect
from stripe_mcp.mcp.dispatch import Reply
from stripe_mcp.mcp.jsonrpc import INTERNAL_ERROR, JsonRpcError, error_bytes, one_line
from stripe_mcp.mcp.responses import reply_response

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
OUTBOX_SIZE = 16
EVENT_STREAM_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]


def message_event(body: bytes) -> bytes:
    return b"event: message\r\ndata: " + one_line(body) + b"\r\n\r\n"


class Outbox:
    """What a call sends its client before its reply; the reply itself goes in last."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Reply] = asyncio.Queue(OUTBOX_SIZE)

    async def send(self, body: bytes) -> None:
        await self.queue.put(body)


async def _finish(work: Awaitable[Reply], outbox: Outbox) -> None:
    try:
        reply = await work
    except Exception:  # the dispatcher answers every error itself; this keeps the stream from hanging
        logger.exception("an MCP call failed outside the dispatcher")
        reply = Reply(body=error_bytes(None, JsonRpcError(INTERNAL_ERROR, "Internal error")))
    await outbox.queue.put(reply)


async def reply_or_stream(
    request: Request, work: Awaitable[Reply], outbox: Outbox, extra_headers: Mapping[str, str] | None = None
) -> Response | EventStream:
    """Run `work` (a dispatch whose asker sends through `outbox`); answer as JSON or as an event stream."""
    task = asyncio.ensure_future(_finish(work, outbox))
    watch = asyncio.ensure_future(wait_disconnect(request.receive))
    first = asyncio.ensure_future(outbox.queue.get())
    await asyncio.wait({first, watch}, return_when=asyncio.FIRST_COMPLETED)
    if not first.done():
        first.cancel()
        task.cancel()
        await asyncio.gather(task, first, return_exceptions=True)
        return Response(status_code=204)  # the client went away: its call was cancelled
    item = first.result()
    if isinstance(item, Reply):
        watch.cancel()
        return reply_response(item, extra_headers)
    return EventStream(item, outbox, task, watch)


class EventStream:
    """The ASGI answer once the call has sent its client something: events until the reply."""

    def __init__(self, first: bytes, outbox: Outbox, task: asyncio.Task[None], watch: asyncio.Task[None]) -> None:
        self.first = first
        self.outbox = outbox
        self.task = task
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM_HEADERS})
            item: bytes | Reply | None = self.first
            while item is not None:
                if isinstance(item, Reply):
                    if item.body is not None:
                        await send({"type": "http.response.body", "body": message_event(item.body), "more_body": True})
                    break
                chunk = message_event(item) if item else b": keepalive\r\n\r\n"
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                item = await self._next()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            for pending in (self.task, self.watch):
                pending.cancel()  # the client left early, or both are done already
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(self.task, self.watch, return_exceptions=True)

    async def _next(self) -> bytes | Reply | None:
        """The next message or the reply; b"" when it is time for a keep-alive; None once the client left."""
        getter = asyncio.ensure_future(self.outbox.queue.get())
        await asyncio.wait({getter, self.watch}, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()  # a cancelled get takes nothing off the queue
        await asyncio.gather(getter, return_exceptions=True)
        return None if self.watch.done() else b""
