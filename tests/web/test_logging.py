"""The serving process's log: JSON lines on standard error, written once each event-loop turn is over."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest

from stripe_mcp.web.logging import JsonLineFormatter, TurnWriter


class Recording:
    """A stream that keeps each write apart, to see which lines left together."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in "".join(self.writes).splitlines()]


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, Recording]]:
    stream = Recording()
    handler = TurnWriter()
    handler.setStream(stream)
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("stripe_mcp.test_turn_writer")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.handlers[:] = []


async def test_the_lines_of_one_turn_leave_after_it_in_one_write(logged: tuple[logging.Logger, Recording]) -> None:
    logger, stream = logged

    async def call(number: int) -> None:
        logger.info("tools/call", extra={"call": number})
        assert stream.writes == []  # the answer of this turn would go out first

    await asyncio.gather(*(call(number) for number in range(3)))
    await asyncio.sleep(0)  # the turn ends
    assert len(stream.writes) == 1
    assert [(line["event"], line["call"]) for line in stream.lines()] == [("tools/call", n) for n in range(3)]


async def test_flush_writes_what_waits(logged: tuple[logging.Logger, Recording]) -> None:
    logger, stream = logged
    logger.info("first")
    logger.handlers[0].flush()  # as logging.shutdown does at exit, when the loop may never turn again
    assert [line["event"] for line in stream.lines()] == ["first"]
    await asyncio.sleep(0)
    assert len(stream.lines()) == 1  # not written twice


def test_outside_a_loop_a_line_is_written_at_once_after_what_waited(logged: tuple[logging.Logger, Recording]) -> None:
    logger, stream = logged

    async def in_loop() -> None:
        logger.info("in the loop")
        await asyncio.to_thread(logger.info, "from a thread")  # no loop there: written at once, in order

    asyncio.run(in_loop())
    assert [line["event"] for line in stream.lines()] == ["in the loop", "from a thread"]
    logger.info("after the loop")
    assert [line["event"] for line in stream.lines()][-1] == "after the loop"
