"""A tool asking the client's user mid-call (elicitation), in every transport and era, with the official client.

The toy server's unlisted `confirm` tool asks "Proceed with ...?" and answers what the user said. In the
handshake eras the question goes out as elicitation/create on the call's own stream (Streamable HTTP's
SSE answer, the legacy SSE stream, stdio); in 2026-07-28 the call answers input_required and the client
retries with the answer and the sealed requestState. Only clients that declared elicitation are asked.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from starlette.testclient import TestClient

from mcp import Client
from stripe_mcp.mcp.input_required import StateSeal, call_binding
from stripe_mcp.mcp.sessions import SessionSigner
from tests.mcp.conformance.toyserver import SECRET, TOKEN, make_app, serve
from tests.support.paths import REPO

MODERN = "2026-07-28"
IN_PROCESS = "http://127.0.0.1:8000"
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def answering(action: str, content: dict[str, Any] | None = None, asked: list[str] | None = None) -> Any:
    """An elicitation callback that gives `action` (and `content`), noting each question in `asked`."""

    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if asked is not None:
            asked.append(params.message)
        return types.ElicitResult(action=action, content=content)

    return callback


def said(result: Any) -> dict[str, Any]:
    assert result.is_error is False, result.content[0].text
    return result.structured_content


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    with serve(make_app()) as base:
        yield f"{base}/mcp/{TOKEN}"


# --------------------------------------------------------------------------- Streamable HTTP, both eras


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["legacy", MODERN])
@pytest.mark.parametrize(
    ("action", "content"),
    [("accept", {"sure": True}), ("decline", None), ("cancel", None)],
    ids=["accept", "decline", "cancel"],
)
async def test_the_official_client_answers_in_both_eras(served: str, mode: str, action: str, content: Any) -> None:
    asked: list[str] = []
    async with Client(served, mode=mode, elicitation_callback=answering(action, content, asked)) as client:
        result = await asyncio.wait_for(client.call_tool("confirm", {"what": "the refund"}), 30)
        assert said(result)["action"] == action
        assert said(result)["content"] == (content or {})
    assert asked == ["Proceed with the refund?"]


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["legacy", MODERN])
async def test_a_client_without_elicitation_is_never_asked(served: str, mode: str) -> None:
    async with Client(served, mode=mode) as client:
        result = await client.call_tool("confirm", {})
        assert result.is_error is True and result.content[0].text == "cannot ask"
        echoed = await client.call_tool("echo", {"text": "plain"})  # and other calls answer as JSON, as before
        assert said(echoed) == {"text": "plain"}


@pytest.mark.integration
async def test_the_2026_retry_carries_the_state_the_server_sealed(served: str) -> None:
    async with Client(served, mode=MODERN, elicitation_callback=answering("accept", {"sure": True})) as client:
        result = await client.call_tool("confirm", {"what": "x"})
    assert said(result)["state"] == {"asked": "yes"}


# --------------------------------------------------------------------------- legacy SSE and stdio


@pytest.mark.integration
async def test_legacy_sse_asks_on_its_stream(served: str) -> None:
    async def run() -> Any:
        async with (
            sse_client(f"{served}/sse") as (read, write),
            ClientSession(read, write, elicitation_callback=answering("accept", {"sure": True})) as session,
        ):
            await session.initialize()
            return await session.call_tool("confirm", {"what": "it"})

    assert said(await asyncio.wait_for(run(), 30))["action"] == "accept"


STDIO_SCRIPT = """
import asyncio
from stripe_mcp.mcp.stdio import serve_stdio
from tests.mcp.conformance.toyserver import ToyServer
asyncio.run(serve_stdio(ToyServer()))
"""


@pytest.mark.integration
async def test_stdio_asks_on_its_output() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-c", STDIO_SCRIPT], cwd=str(REPO))

    async def run() -> Any:
        async with Client(params, mode="legacy", elicitation_callback=answering("decline")) as client:
            return await client.call_tool("confirm", {})

    assert said(await asyncio.wait_for(run(), 30))["action"] == "decline"


# --------------------------------------------------------------------------- the wire, in process


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with TestClient(make_app(), base_url=IN_PROCESS) as client:
        yield client


def legacy_session(http: httpx.Client, capabilities: dict[str, Any], version: str = "2025-11-25") -> str:
    params = {"protocolVersion": version, "capabilities": capabilities, "clientInfo": {"name": "raw", "version": "0"}}
    response = http.post(
        f"/mcp/{TOKEN}",
        json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params},
        headers=JSON_HEADERS,
    )
    assert response.status_code == 200
    return response.headers["mcp-session-id"]


def test_the_session_id_carries_what_the_client_declared(http: httpx.Client) -> None:
    signer = SessionSigner(SECRET)
    declared = signer.session(legacy_session(http, {"elicitation": {}}), TOKEN)
    assert declared is not None and declared.can_elicit is True
    url_only = signer.session(legacy_session(http, {"elicitation": {"url": {}}}), TOKEN)
    assert url_only is not None and url_only.can_elicit is False  # a form is what is asked
    too_early = signer.session(legacy_session(http, {"elicitation": {}}, "2025-03-26"), TOKEN)
    assert too_early is not None and too_early.can_elicit is False  # elicitation came with 2025-06-18
    forged = legacy_session(http, {}).replace(".n.", ".e.")
    assert signer.session(forged, TOKEN) is None


def test_a_session_without_elicitation_gets_json(http: httpx.Client) -> None:
    session = legacy_session(http, {})
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "confirm", "arguments": {}}}
    headers = {**JSON_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    answer = http.post(f"/mcp/{TOKEN}", json=call, headers=headers)
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["result"]["content"][0]["text"] == "cannot ask"


def test_a_stray_response_is_accepted_and_ignored(http: httpx.Client) -> None:
    session = legacy_session(http, {"elicitation": {}})
    headers = {**JSON_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    stray = {"jsonrpc": "2.0", "id": "elicit-" + "0" * 32, "result": {"action": "accept", "content": {"sure": True}}}
    assert http.post(f"/mcp/{TOKEN}", json=stray, headers=headers).status_code == 202


def modern_call(arguments: dict[str, Any], **extra: Any) -> tuple[dict[str, Any], dict[str, str]]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
    }
    params = {"name": "confirm", "arguments": arguments, "_meta": meta, **extra}
    headers = {**JSON_HEADERS, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "confirm"}
    return {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}, headers


def test_2026_asks_with_input_required_and_a_sealed_state(http: httpx.Client) -> None:
    message, headers = modern_call({"what": "the payout"})
    first = http.post(f"/mcp/{TOKEN}", json=message, headers=headers).json()["result"]
    assert first["resultType"] == "input_required"
    request = first["inputRequests"]["confirm"]
    assert request["method"] == "elicitation/create" and request["params"]["mode"] == "form"
    assert request["params"]["message"] == "Proceed with the payout?"
    state = first["requestState"]
    answer = {"confirm": {"action": "accept", "content": {"sure": True}}}

    retried, _ = modern_call({"what": "the payout"}, inputResponses=answer, requestState=state)
    done = http.post(f"/mcp/{TOKEN}", json=retried, headers=headers).json()["result"]
    assert done["resultType"] == "complete" and done["structuredContent"]["action"] == "accept"

    no_answer, _ = modern_call({"what": "the payout"}, inputResponses={}, requestState=state)
    again = http.post(f"/mcp/{TOKEN}", json=no_answer, headers=headers).json()["result"]
    assert again["resultType"] == "input_required"  # a missing answer is asked for again


@pytest.mark.parametrize("tamper", ["other-arguments", "altered", "foreign-secret", "expired", "garbage"])
def test_2026_refuses_a_state_it_did_not_seal_for_this_call(http: httpx.Client, tamper: str) -> None:
    message, headers = modern_call({"what": "a"})
    state = http.post(f"/mcp/{TOKEN}", json=message, headers=headers).json()["result"]["requestState"]
    arguments = {"what": "a"}
    if tamper == "other-arguments":
        arguments = {"what": "b"}
    elif tamper == "altered":
        version, body, mac = state.split(".")
        state = f"{version}.{body[:-1]}{'B' if body.endswith('A') else 'A'}.{mac}"
    elif tamper == "foreign-secret":
        state = StateSeal(b"another server").seal({"asked": "yes"}, call_binding(TOKEN, "confirm", arguments), 60)
    elif tamper == "expired":
        state = StateSeal(SECRET).seal({"asked": "yes"}, call_binding(TOKEN, "confirm", arguments), -1)
    else:
        state = "s1.not.sealed"
    answer = {"confirm": {"action": "accept", "content": {"sure": True}}}
    retried, _ = modern_call(arguments, inputResponses=answer, requestState=state)
    refused = http.post(f"/mcp/{TOKEN}", json=retried, headers=headers)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == -32602 and "requestState" in error["message"]


def test_an_elicitation_nobody_answers_ends_the_call(http: httpx.Client) -> None:
    session = legacy_session(http, {"elicitation": {}})
    headers = {**JSON_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    call = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "confirm", "arguments": {"timeout": 0.2}},
    }
    with http.stream("POST", f"/mcp/{TOKEN}", json=call, headers=headers) as answer:
        assert answer.headers["content-type"] == "text/event-stream"
        events = [json.loads(line[5:]) for line in answer.iter_lines() if line.startswith("data:")]
    assert events[0]["method"] == "elicitation/create" and events[0]["params"]["message"] == "Proceed with it?"
    assert events[-1]["id"] == 3 and events[-1]["result"]["structuredContent"]["action"] == "unanswered"
