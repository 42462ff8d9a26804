"""Run the app in the test's own event loop, behind uvicorn on 127.0.0.1, with the settings a test chooses
(an injected clock, a fake Stripe): what a spawned `stripe-mcp serve` cannot be given."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from stripe_mcp.web.app import create_app
from stripe_mcp.web.settings import Settings

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


@asynccontextmanager
async def in_process(settings: Settings, port: int) -> AsyncIterator[str]:
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                    raise AssertionError("the app stopped before it started")
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STOP_TIMEOUT)
