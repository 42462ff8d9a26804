"""A toy McpServer behind `mcp_routes`, shared by the transport tests and the conformance run.

python -m tests.mcp.conformance.toyserver --port 8765   # serve http://127.0.0.1:8765/mcp/<TOKEN>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stripe_mcp.mcp.asking import CANNOT_ASK, Asker, Question
from stripe_mcp.mcp.jsonrpc import INVALID_PARAMS, JsonRpcError
from stripe_mcp.mcp.routes import mcp_routes
from stripe_mcp.mcp.types import CallOutcome, McpServer

TOKEN = "tok_toy_0123456789abcdef"
LOCKED_TOKEN = "tok_locked_needs_bearer"  # answers 401 unless Authorization: Bearer let-me-in
SECRET = b"toy-session-secret"
RATE_HEADERS = {"ratelimit-limit": "100", "ratelimit-remaining": "0", "ratelimit-reset": "1", "retry-after": "1"}
CONFIRM_SCHEMA = {"type": "object", "properties": {"sure": {"type": "boolean", "title": "Sure?"}}, "required": ["sure"]}

TOOLS: list[dict[str, Any]] = [
    {
        "name": "echo",
        "title": "Echo",
        "description": "Return the arguments, as text and as structured content.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
        "annotations": {
            "title": "Echo",
            "readOnlyHint": True,
            "destructiveHint": False,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
    {
        "name": "fail",
        "title": "Fail",
        "description": "Always fail like a rate-limited upstream API call (isError, with rate-limit headers).",
        "inputSchema": {"type": "object", "additionalProperties": False},
        "annotations": {
            "title": "Fail",
            "readOnlyHint": True,
            "destructiveHint": False,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
]


class ToyServer:
    """Two tools: `echo` and `fail`. Unlisted: `explode` raises, `slow` sleeps, `over_budget` is refused,
    `confirm` asks the client's user (elicitation) and answers what they said."""

    name = "toy-mcp"
    version = "1.2.3"
    instructions: str | None = "A toy server for transport tests."

    def __init__(self, tools: list[dict[str, Any]] | None = None, *, indent: int | None = None) -> None:
        # `indent` puts newlines in the cached list, as a server's own serializer might.
        self._tools_json = json.dumps(TOOLS if tools is None else tools, indent=indent).encode()
        self.calls: list[str] = []
        self.cancelled = 0  # `slow` calls stopped before they finished

    def tools_json(self) -> bytes:
        return self._tools_json

    async def call_tool(self, name: str, arguments: dict[str, Any], asker: Asker = CANNOT_ASK) -> CallOutcome:
        self.calls.append(name)
        if name == "confirm":
            return await self._confirm(arguments, asker)
        if name == "echo":
            text = json.dumps(arguments)
            return CallOutcome(
                {"content": [{"type": "text", "text": text}], "structuredContent": arguments, "isError": False}
            )
        if name == "fail":
            error = {"type": "rate_limit_error", "message": "Too many requests", "status": 429}
            return CallOutcome(
                {"content": [{"type": "text", "text": json.dumps(error)}], "isError": True}, headers=RATE_HEADERS
            )
        if name == "over_budget":  # what a rate-limited server answers before calling anything
            raise JsonRpcError(
                -32029,
                "Request budget exceeded",
                data={"retry_after": 3},
                http_status=429,
                headers={"retry-after": "3"},
            )
        if name == "explode":
            raise RuntimeError("the toy server exploded")
        if name == "slow":
            try:
                await asyncio.sleep(float(arguments.get("seconds", 5)))
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            return CallOutcome({"content": [{"type": "text", "text": "done"}], "isError": False})
        raise JsonRpcError(INVALID_PARAMS, f"Unknown tool: {name[:64]}")

    async def _confirm(self, arguments: dict[str, Any], asker: Asker) -> CallOutcome:
        answered = asker.answered("confirm")
        if answered is not None:
            answer, state = answered.answer, dict(answered.state)
        elif not asker.can_elicit:
            return CallOutcome({"content": [{"type": "text", "text": "cannot ask"}], "isError": True})
        else:
            question = Question(f"Proceed with {arguments.get('what', 'it')}?", CONFIRM_SCHEMA, {"asked": "yes"})
            answer, state = await asker.elicit("confirm", question, timeout=float(arguments.get("timeout", 10))), {}
        said = {"action": answer.action, "content": dict(answer.content), "state": state}
        return CallOutcome(
            {"content": [{"type": "text", "text": json.dumps(said)}], "structuredContent": said, "isError": False}
        )


def make_app(server: McpServer | None = None, secret: bytes = SECRET, **options: Any) -> Starlette:
    toy = server or ToyServer()

    async def resolve(request: Request, token: str) -> McpServer | Response:
        if token == TOKEN:
            return toy
        if token == LOCKED_TOKEN:
            if request.headers.get("authorization") == "Bearer let-me-in":
                return toy
            return JSONResponse({"error": {"code": "unauthorized", "message": "API token required"}}, 401)
        return JSONResponse({"error": {"code": "not_found", "message": "Not found"}}, 404)

    app = Starlette(routes=mcp_routes(resolve, session_secret=secret, **options))
    app.state.toy = toy
    return app


@contextmanager
def serve(app: Starlette, timeout: float = 10.0) -> Iterator[str]:
    """Run `app` with uvicorn on 127.0.0.1 and an ephemeral port in a thread; yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    print(f"http://127.0.0.1:{args.port}/mcp/{TOKEN}", flush=True)
    uvicorn.run(make_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
