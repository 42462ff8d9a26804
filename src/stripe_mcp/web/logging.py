"""The serving process's log: one JSON object per line on standard error, for a log collector to read."""

from __future__ import annotations

import asyncio
import json
import logging

import orjson


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: the message plus the structured fields given as `extra`."""

    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in self.STANDARD})
        try:
            return orjson.dumps(line, default=str).decode()
        except TypeError:  # what orjson refuses (a lone surrogate, a huge integer): the standard library writes it
            return json.dumps(line, default=str)


class TurnWriter(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the records of one event-loop turn together, once the turn is over.

    A tool call logs its line before its answer goes out; written at once, the line (formatting it, one write)
    would hold the answer up. Here it waits for the end of the turn, which sends the answers first, and the
    lines of every call the turn finished leave in one write. Outside a running loop a record is written at once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._waiting: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write_waiting()
            super().emit(record)
            return
        self._waiting.append(record)
        if len(self._waiting) == 1:
            loop.call_soon(self._write_waiting)

    def flush(self) -> None:
        self._write_waiting()
        super().flush()

    def _write_waiting(self) -> None:
        self.acquire()
        try:
            records, self._waiting = self._waiting, []
            if records:
                self._write(records)
        finally:
            self.release()

    def _write(self, records: list[logging.LogRecord]) -> None:
        lines = []
        for record in records:
            try:
                lines.append(self.format(record) + self.terminator)
            except Exception:
                self.handleError(record)
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except Exception:
            self.handleError(records[0])


def configure_logging() -> None:
    # A line carries none of these: do not collect them for every record (one per tool call). Leaving _srcfile
    # unset is the Logging HOWTO's own way to skip the caller's file and line, walked up the stack per record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = TurnWriter()
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger("stripe_mcp")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
