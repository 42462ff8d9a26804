"""The serving process's log: one JSON object per line on standard error, for a log collector to read."""

from __future__ import annotations

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


def configure_logging() -> None:
    # A line carries none of these: do not collect them for every record (one per tool call). Leaving _srcfile
    # unset is the Logging HOWTO's own way to skip the caller's file and line, walked up the stack per record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger("stripe_mcp")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
