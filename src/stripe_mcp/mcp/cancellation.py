"""Stopping work nobody waits for: `notifications/cancelled` by request id, and a client that hangs up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from starlette.types import Receive

from stripe_mcp.mcp.jsonrpc import RequestId, is_request_id

MAX_IN_FLIGHT = 16  # concurrent requests per SSE session / stdio connection

T = TypeVar("T")


class InFlight:
    """The running requests of one connection, by JSON-RPC id, so notifications/cancelled can stop them."""

    def __init__(self, limit: int = MAX_IN_FLIGHT) -> None:
        self.limit = limit
        self.tasks: set[asyncio.Task[None]] = set()
        self.by_id: dict[RequestId, asyncio.Task[None]] = {}

    def full(self) -> bool:
        return len(self.tasks) >= self.limit

    def start(self, request_id: RequestId | None, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        if request_id is not None:
            self.by_id[request_id] = task
        task.add_done_callback(lambda done: self._forget(request_id, done))
        return task

    def _forget(self, request_id: RequestId | None, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if request_id is not None and self.by_id.get(request_id) is task:
            del self.by_id[request_id]

    def cancel(self, params: Any) -> None:
        """Act on the params of a notifications/cancelled; an unknown or finished id is ignored."""
        if isinstance(params, dict) and is_request_id(request_id := params.get("requestId")):
            task = self.by_id.get(request_id)
            if task is not None:
                task.cancel()

    def cancel_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()

    async def wait(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def is_cancellation(message: Any) -> bool:
    return isinstance(message, dict) and message.get("method") == "notifications/cancelled" and "id" not in message


async def wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def until_disconnect(receive: Receive, work: Awaitable[T]) -> T | None:
    """Run `work`, cancelling it if the client disconnects first; None when it was cancelled so."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(wait_disconnect(receive))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # this handler itself is being cancelled (shutdown): take the work with it
        task.cancel()
        raise
    finally:
        watch.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None
    return task.result()
