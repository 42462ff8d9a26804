"""Run localstripe (a stateful Stripe emulator) on 127.0.0.1 for tests.

localstripe's CLI listens on every interface and keeps its data in /tmp/localstripe.pickle;
instead this serves its module-level aiohttp app (`localstripe.server.app`) from a
background thread bound to loopback on an ephemeral port, with the pickle writes turned
off and the store emptied on start and stop. localstripe's store is a process-wide
global, so only one instance runs per process at a time; its app binds to the first event
loop that serves it, so every run shares one daemon loop thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiohttp import web
from localstripe.resources import store
from localstripe.server import app

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

_running = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _shared_loop() -> asyncio.AbstractEventLoop:
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        threading.Thread(target=_loop.run_forever, name="localstripe", daemon=True).start()
    return _loop


def start_localstripe() -> tuple[str, Callable[[], None]]:
    """Start localstripe; returns its base URL and a function that stops it."""
    if not _running.acquire(blocking=False):
        raise RuntimeError("localstripe is already running in this process")
    store.dump_to_disk = lambda: None  # the instance attribute shadows the pickling method
    store.clear()
    loop = _shared_loop()
    try:
        runner, port = asyncio.run_coroutine_threadsafe(_serve(), loop).result(START_TIMEOUT)
    except BaseException:
        _running.release()
        raise

    def stop() -> None:
        try:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(STOP_TIMEOUT)
        finally:
            store.clear()
            _running.release()

    return f"http://127.0.0.1:{port}", stop


@contextmanager
def localstripe() -> Iterator[str]:
    base_url, stop = start_localstripe()
    try:
        yield base_url
    finally:
        stop()


async def _serve() -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]
