"""Streamable HTTP at ``/mcp/{token}``: one POST per message, answered with application/json.

The ``MCP-Protocol-Version`` header picks the era. Missing or 2024-11-05 .. 2025-11-25 is the
handshake era: `initialize` issues a signed Mcp-Session-Id, later requests must carry it, and
2025-03-26 allows batches. Anything else is the stateless 2026-07-28 era: no sessions, the
headers must agree with the envelope, and a client that hangs up cancels its request.
GET (no server-initiated stream) and DELETE (a signed session holds nothing to end) answer 405.

A tool call may ask its client's user something (asking.py): in the handshake eras, when the session's
client declared elicitation, the POST's answer turns into an event stream carrying elicitation/create
(event_stream.py) and the client posts its response back here; in 2026-07-28 the call answers
input_required and the client retries it (input_required.py).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stripe_mcp.mcp.asking import CANNOT_ASK, PendingRequests, RoundTripAsker, is_response
from stripe_mcp.mcp.cancellation import until_disconnect
from stripe_mcp.mcp.dispatch import dispatch, dispatch_batch, dispatch_message, error_reply
from stripe_mcp.mcp.event_stream import EventStream, Outbox, reply_or_stream
from stripe_mcp.mcp.input_required import RetryAsker, StateSeal
from stripe_mcp.mcp.jsonrpc import INVALID_REQUEST, JsonRpcError, parse_envelope, request_id_of
from stripe_mcp.mcp.modern import envelope_error, header_version
from stripe_mcp.mcp.responses import error_response, find_server, http_error, reply_response
from stripe_mcp.mcp.security import TransportSecurity, accepts_event_stream, accepts_json, is_json_content, read_message
from stripe_mcp.mcp.sessions import HEADER_SESSION, SessionSigner, SignedSession
from stripe_mcp.mcp.types import McpServer, Resolver
from stripe_mcp.mcp.versions import (
    BATCH_VERSION,
    DEFAULT_HEADER_VERSION,
    ELICITATION_VERSIONS,
    HEADER_VERSION,
    LEGACY_VERSIONS,
    SUPPORTED_VERSIONS,
    unsupported_version,
)


class StreamableHttp:
    """The endpoint of every MCP URL; `handle` is its Starlette endpoint."""

    def __init__(self, resolve: Resolver, security: TransportSecurity, signer: SessionSigner, seal: StateSeal) -> None:
        self.resolve = resolve
        self.security = security
        self.signer = signer
        self.seal = seal
        # Elicitations sent on this process's event streams, awaiting the client's posted response. A
        # response that reaches another replica finds nothing here: the call ends unanswered there.
        self.pending = PendingRequests()

    async def handle(self, request: Request) -> Response | EventStream:
        token = request.path_params["token"]
        if (refusal := self.security.refusal(request)) is not None:
            return error_response(refusal)
        server = await find_server(self.resolve, request, token)
        if isinstance(server, Response):
            return server
        if request.method != "POST":
            return Response(status_code=405, headers={"Allow": "POST"})
        if not is_json_content(request):
            return http_error(415, INVALID_REQUEST, "Content-Type must be application/json")
        if not accepts_json(request):
            return http_error(406, INVALID_REQUEST, "Accept must allow application/json")
        try:
            message = await read_message(request)
        except JsonRpcError as error:
            return error_response(error)
        requested = request.headers.get(HEADER_VERSION)
        if requested is None or requested.strip() in LEGACY_VERSIONS:
            return await self._legacy_post(request, server, token, message, requested)
        return await self._modern_post(request, server, token, message)

    async def _legacy_post(
        self, request: Request, server: McpServer, token: str, message: Any, requested: str | None
    ) -> Response | EventStream:
        is_initialize = isinstance(message, dict) and message.get("method") == "initialize"
        session_id = request.headers.get(HEADER_SESSION)
        session: SignedSession | None = None
        if session_id is not None and not is_initialize:
            session = self.signer.session(session_id, token)
            if session is None:
                return http_error(404, INVALID_REQUEST, "Session not found")
        elif not is_initialize:
            return http_error(400, INVALID_REQUEST, "Missing Mcp-Session-Id header")
        version = (requested or "").strip() or (session.version if session else None) or DEFAULT_HEADER_VERSION
        if isinstance(message, list):
            if version != BATCH_VERSION:
                return http_error(400, INVALID_REQUEST, f"Batches are not supported at protocol version {version}")
            return reply_response(await dispatch_batch(server, message, version, depth_checked=True))
        if is_response(message):
            self.pending.deliver(message, token)  # the answer to an elicitation sent on an event stream
            return Response(status_code=202)
        if self._may_ask(request, session, version, message):
            outbox = Outbox()
            asker = RoundTripAsker(outbox.send, self.pending, token, version)
            return await reply_or_stream(
                request, dispatch_message(server, message, version, depth_checked=True, asker=asker), outbox
            )
        reply = await dispatch_message(server, message, version, depth_checked=True)
        extra = {}
        if reply.negotiated is not None:
            extra["Mcp-Session-Id"] = self.signer.issue(token, reply.negotiated, can_elicit=reply.can_elicit)
        return reply_response(reply, extra)

    @staticmethod
    def _may_ask(request: Request, session: SignedSession | None, version: str, message: Any) -> bool:
        """A tools/call of a session whose client declared elicitation, at a version that has it, on a POST
        whose answer may be an event stream."""
        return (
            session is not None
            and session.can_elicit
            and version in ELICITATION_VERSIONS
            and isinstance(message, dict)
            and message.get("method") == "tools/call"
            and accepts_event_stream(request)
        )

    async def _modern_post(self, request: Request, server: McpServer, token: str, message: Any) -> Response:
        version = header_version(request.headers)
        if isinstance(message, list):
            return http_error(400, INVALID_REQUEST, "Batches are not supported at this protocol version")
        envelope = parse_envelope(message)
        if isinstance(envelope, JsonRpcError):
            return reply_response(error_reply(request_id_of(message), envelope, version))
        if envelope is None or envelope.is_notification:
            if version not in SUPPORTED_VERSIONS:
                return error_response(unsupported_version(version))
            return Response(status_code=202)  # this era defines no client notifications over HTTP
        refusal = envelope_error(envelope, request.headers)
        if refusal is not None:
            return reply_response(error_reply(envelope.request_id, refusal, version))
        asker = RetryAsker(envelope.params, self.seal, token) if envelope.method == "tools/call" else CANNOT_ASK
        reply = await until_disconnect(request.receive, dispatch(server, envelope, version, asker))
        if reply is None:
            return Response(status_code=204)  # the client went away: its request was cancelled
        return reply_response(reply)
