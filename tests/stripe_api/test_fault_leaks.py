"""1,000 tool calls against a faulty loopback Stripe: each ends within its timeout with a clear tool error,
and afterwards no connection or task is left behind.

The fakes (tests/fakes.py's FakeStripe and ResettingServer) run on their own event loop in a thread, so
`asyncio.all_tasks()` of the test's loop counts only the MCP side; sockets are read from /proc/self
(`fd` links joined with `net/tcp`), split into the client side (remote port = a fake's, per fake) and
all of them.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from stripe_mcp.stripe_api.client import Timeouts, Upstream
from stripe_mcp.tools.registry import Registry
from stripe_mcp.tools.server import Account, StripeMcpServer
from tests.support.fakes import (
    FakeStripe,
    ResettingServer,
    respond,
    respond_raw,
    sleep_then,
    stripe_error,
    trickle,
    unused_port_url,
)

API_KEY = "sk_test_fault_leaks_secret_42424242"
READ_TIMEOUT = 0.15
TOTAL_TIMEOUT = 0.3
FAULTED_CALLS = 1000
CONCURRENCY = 32
SETTLE_SECONDS = 5.0
TOOL = "get_single_stripe_customer_by_id"
TIMED_OUT = (
    r"(did not answer within|did not complete its answer within|could not be reached within|had no free connection)"
)


async def _deep_json(request: Request) -> Response:
    """200 with JSON nested 5,000 levels: deeper than the interpreter can parse."""
    return Response(b'{"a":' * 5000 + b"1" + b"}" * 5000, 200, media_type="application/json")


# kind -> (customer id the fake scripts, expected error text)
FAULTS: dict[str, tuple[str, str]] = {
    "500": ("cus_500", r"Stripe api_error \(HTTP 500"),
    "502-html": ("cus_502", r"with HTTP 502 and text/html \(\d+ bytes\), not a Stripe error object"),
    "503-empty": ("cus_503", r"with HTTP 503 and an empty body"),
    "malformed-json": ("cus_badjson", r"with HTTP 200 and a body that is not valid JSON"),
    "deep-json": ("cus_deep", r"JSON nested too deeply to pass on"),
    "429-storm": ("cus_429", r"Stripe invalid_request_error \(HTTP 429, code rate_limit"),
    "timeout": ("cus_slow", r"did not (complete its answer|answer) within"),
    "trickle": ("cus_trickle", r"did not (complete its answer|answer) within"),  # the total bound, or a read under load
    "reset": (
        "cus_reset",
        r"(reset the connection|closed the connection without a complete answer|did not answer within)",
    ),
    "refused": ("cus_refused", r"refused or failed the connection"),
}


class ThreadLoop:
    """An event loop in a daemon thread, for the fakes."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fakes-loop", daemon=True)

    def __enter__(self) -> ThreadLoop:
        self.thread.start()
        return self

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeStripe, ResettingServer]]:
    with ThreadLoop() as thread_loop:
        fake, resetting = FakeStripe(), ResettingServer()
        thread_loop.run(fake.start())
        thread_loop.run(resetting.start())
        fake.on("GET", "/v1/customers/cus_ok", respond(200, {"id": "cus_ok", "object": "customer"}))
        fake.on(
            "GET",
            "/v1/customers/cus_500",
            stripe_error(500, type="api_error", message="Something went wrong on Stripe's end."),
        )
        fake.on("GET", "/v1/customers/cus_502", respond_raw(502, b"<html><body>Bad Gateway</body></html>", "text/html"))
        fake.on("GET", "/v1/customers/cus_503", respond_raw(503, b"", "application/json"))
        fake.on("GET", "/v1/customers/cus_badjson", respond_raw(200, b'{"id": "cus_1", "object": ', "application/json"))
        fake.on("GET", "/v1/customers/cus_deep", _deep_json)
        fake.on(
            "GET",
            "/v1/customers/cus_429",
            stripe_error(
                429,
                type="invalid_request_error",
                code="rate_limit",
                message="Too many requests",
                headers={"Retry-After": "2", "Stripe-Rate-Limited-Reason": "global-rate"},
            ),
        )
        fake.on("GET", "/v1/customers/cus_slow", sleep_then(1.0, respond(200, {"id": "cus_slow"})))
        fake.on("GET", "/v1/customers/cus_trickle", trickle(30, 0.05))
        try:
            yield fake, resetting
        finally:
            thread_loop.run(resetting.stop())
            thread_loop.run(fake.stop())


# --------------------------------------------------------------------------- /proc accounting


def _socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _tcp_peers() -> dict[str, int]:
    """inode -> remote port, for every TCP (v4 and v6) socket this process can see."""
    peers = {}
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            peers[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    return peers


def socket_counts(fake_port: int, resetting_port: int) -> tuple[int, int, int]:
    """(client sockets connected to FakeStripe, to the ResettingServer, all sockets of this process)."""
    inodes = _socket_inodes()
    remote_ports = Counter(_tcp_peers().get(inode) for inode in inodes)
    return remote_ports[fake_port], remote_ports[resetting_port], len(inodes)


# --------------------------------------------------------------------------- the run


@pytest.mark.integration  # a thousand calls against two fake upstreams
async def test_a_thousand_faulted_calls_end_in_time_and_leak_nothing(fakes: tuple[FakeStripe, ResettingServer]) -> None:
    fake, resetting = fakes
    registry = Registry()
    timeout = Timeouts(READ_TIMEOUT)

    def upstream_at(url: str) -> Upstream:
        return Upstream(url, timeout=timeout, total_timeout=TOTAL_TIMEOUT)

    upstreams = {
        "fake": upstream_at(fake.base_url),
        "reset": upstream_at(resetting.base_url),
        "refused": upstream_at(unused_port_url()),
    }
    account = Account(API_KEY, registry.api_version)
    servers = {
        kind: StripeMcpServer(
            registry,
            upstreams["reset" if kind == "reset" else "refused" if kind == "refused" else "fake"],
            account,
            server_id=f"srv_fault_{kind}",
        )
        for kind in FAULTS
    }
    fake_port, resetting_port = (int(url.rsplit(":", 1)[1]) for url in (fake.base_url, resetting.base_url))
    gate = asyncio.Semaphore(CONCURRENCY)
    durations: dict[str, list[float]] = collections.defaultdict(list)
    problems: list[str] = []
    rate_limited_headers: list[dict[str, str]] = []
    timed_out: Counter[str] = collections.Counter()

    async def one(kind: str) -> None:
        customer, expected = FAULTS[kind]
        async with gate:
            started = time.monotonic()
            outcome = await servers[kind].call_tool(TOOL, {"id": customer})
            elapsed = time.monotonic() - started
        durations[kind].append(elapsed)
        text = outcome.result["content"][0]["text"]
        if not outcome.result.get("isError"):
            problems.append(f"{kind}: not an error: {text[:200]}")
        elif not re.search(expected, text):
            if re.search(TIMED_OUT, text):  # on a loaded machine any fault can turn into one of the timeouts
                timed_out[kind] += 1
            else:
                problems.append(f"{kind}: {text[:200]}")
        if API_KEY in text or API_KEY in str(outcome.result.get("structuredContent")):
            problems.append(f"{kind}: the API key leaked")
        if kind == "429-storm" and "HTTP 429" in text:
            rate_limited_headers.append(dict(outcome.headers))

    async def wave(count: int) -> None:
        kinds = list(FAULTS)
        await asyncio.wait_for(asyncio.gather(*(one(kinds[i % len(kinds)]) for i in range(count))), 120)
        # Then 16 good calls at once, so that the keep-alive pool is full both times it is counted.
        good = await asyncio.gather(*(servers["500"].call_tool(TOOL, {"id": "cus_ok"}) for _ in range(16)))
        assert not any(outcome.result["isError"] for outcome in good)

    async def settle() -> tuple[int, int, int, int]:
        """Wait (bounded) until the fakes' sleeping handlers are done and the counts stop moving."""
        deadline = time.monotonic() + SETTLE_SECONDS
        last = None
        while True:
            await asyncio.sleep(0.3)
            counts = (*socket_counts(fake_port, resetting_port), len(asyncio.all_tasks()))
            if counts == last or time.monotonic() > deadline:
                return counts
            last = counts

    try:
        await wave(100)  # warm-up: pools filled, modules imported
        to_fake_before, to_resetting_before, sockets_before, tasks_before = await settle()
        started = time.monotonic()
        await wave(FAULTED_CALLS)
        wall = time.monotonic() - started
        to_fake_after, to_resetting_after, sockets_after, tasks_after = await settle()
    finally:
        for upstream in upstreams.values():
            await upstream.aclose()
    to_fake_closed, to_resetting_closed, sockets_closed, _ = await settle()
    client_before, client_after = to_fake_before + to_resetting_before, to_fake_after + to_resetting_after

    assert problems == [], problems[:10]
    assert sum(len(v) for v in durations.values()) == 100 + FAULTED_CALLS
    assert all(h.get("retry-after") == "2" for h in rate_limited_headers) and rate_limited_headers
    slowest = {kind: round(max(values), 3) for kind, values in durations.items()}
    print(
        f"\n{FAULTED_CALLS} faulted calls in {wall:.1f}s; slowest per fault (s): {slowest}; "
        f"ended by a timeout instead, under load: {dict(timed_out) or 0}"
    )
    print(
        f"client sockets to FakeStripe {to_fake_before} -> {to_fake_after} -> {to_fake_closed} after aclose, "
        f"to the ResettingServer {to_resetting_before} -> {to_resetting_after}; "
        f"all sockets {sockets_before} -> {sockets_after} -> {sockets_closed}; tasks {tasks_before} -> {tasks_after}"
    )
    # No growth: after 1,000 faults the only connections left are those the pool may keep idle. The pool
    # keeps a connection a call handed back in good order (for `keepalive_expiry`), and never more than
    # were in use at once: at most CONCURRENCY calls ran together. A connection to the ResettingServer
    # never ends a call in good order, so none is kept. Each kept connection is counted twice among all
    # sockets (the fakes' ends are in this process too); nothing else is added.
    assert 0 < to_fake_after <= CONCURRENCY, (to_fake_before, to_fake_after, CONCURRENCY)
    assert to_resetting_after == 0
    assert sockets_after - 2 * client_after <= sockets_before - 2 * client_before + 2, (sockets_before, sockets_after)
    assert tasks_after <= tasks_before, (tasks_before, tasks_after)
    assert to_fake_closed == to_resetting_closed == 0  # closing the upstreams closes every connection
