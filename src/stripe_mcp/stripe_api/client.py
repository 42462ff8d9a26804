"""The HTTP client to Stripe: pooled connections per host, each call sent once.

`Upstream.call` builds the request (request.py), sends it exactly once (never retried) and returns
the raw outcome as an `UpstreamResult`, which tools/results.py turns into an MCP tool result.
Transport failures never raise: they come back as an `UpstreamResult` with `failure` set, in fixed
wording (an exception's own text can quote the request). An answer larger than MAX_BODY_BYTES is not
read: it comes back with `too_large` set and no body.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from stripe_mcp.stripe_api.request import build_request, idempotency_key_for
from stripe_mcp.stripe_api.types import ToolModule

DEFAULT_BASE_URL = "https://api.stripe.com"
# The SDK's own defaults: 80 s per request, connection set up within 30 s.
DEFAULT_TIMEOUT = httpx.Timeout(80.0, connect=30.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
POOL_SHARDS = 4
# Stripe's answers are pages of at most 100 objects: far smaller than this. Anything larger is refused
# unread, so that one answer cannot take the process's memory.
MAX_BODY_BYTES = 4 * 1024 * 1024
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")


def _package_version() -> str:
    try:
        return metadata.version("stripe-mcp")
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "0+source"


USER_AGENT = f"stripe-mcp/{_package_version()}"


def is_live_key(api_key: str) -> bool:
    """A live-mode secret or restricted key (test keys start sk_test_ / rk_test_)."""
    return api_key.startswith(LIVE_KEY_PREFIXES)


@dataclass(frozen=True)
class UpstreamResult:
    """What came back from Stripe, or why nothing did (`failure`, with `sent` telling
    whether the request may have reached Stripe)."""

    method: str
    url: str
    status: int | None = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    body: bytes = b""
    failure: str | None = None
    sent: bool = True
    idempotency_key: str | None = None
    livemode: bool = False
    too_large: bool = False  # the answer was over the body limit and was not read

    @property
    def upstream(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Upstream:
    """Pooled httpx transports per Stripe host. Each call is sent exactly once and bounded
    as a whole by `total_timeout` (default: the read timeout), since httpx's timeouts bound
    each read and a slow trickle of bytes would never trip them."""

    def __init__(
        self,
        stripe_base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        total_timeout: float | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        shards: int = POOL_SHARDS,
    ) -> None:
        self.stripe_base_url = stripe_base_url.rstrip("/")
        self.timeout = timeout
        self.total_timeout = total_timeout if total_timeout is not None else timeout.read
        self.limits = limits
        self.shards = shards
        # Each host's `limits` shared among its `shards` pools: at rest a host keeps at most
        # shards * pool_limits.max_keepalive_connections idle connections.
        self.pool_limits = httpx.Limits(
            max_connections=max(1, (limits.max_connections or 100) // shards),
            max_keepalive_connections=max(1, (limits.max_keepalive_connections or 20) // shards),
            keepalive_expiry=limits.keepalive_expiry,
        )
        self._pools: dict[str, list[httpx.AsyncHTTPTransport]] = {}
        self._turn = itertools.count()

    def base_url_for(self, tool: ToolModule) -> str:
        # An overridden base URL (an emulator, a test) receives every operation.
        if tool.SERVER_URL and self.stripe_base_url == DEFAULT_BASE_URL:
            return tool.SERVER_URL.rstrip("/")
        return self.stripe_base_url

    def _transport(self, base_url: str) -> httpx.AsyncHTTPTransport:
        """One of a few connection pools for the host, in turn.

        httpcore walks every pooled connection on each request and response, so one pool of N
        connections costs O(N^2) under concurrency; four small pools cost 2.5x less CPU per call at
        16 concurrent calls (measured). The transport is used without an AsyncClient around it:
        a proxy to Stripe needs no cookie jar, redirects or auth flows, which cost a third of a call.
        """
        if base_url not in self._pools:
            self._pools[base_url] = [
                httpx.AsyncHTTPTransport(limits=self.pool_limits, retries=0) for _ in range(self.shards)
            ]
        pools = self._pools[base_url]
        return pools[next(self._turn) % len(pools)]

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for transports in pools:
            for transport in transports:
                await transport.aclose()

    async def call(
        self,
        tool: ToolModule,
        arguments: Mapping[str, Any],
        *,
        api_key: str,
        stripe_version: str,
        stripe_account: str | None = None,
    ) -> UpstreamResult:
        """Raises InvalidArgument (nothing sent) for arguments that cannot be sent."""
        base_url = self.base_url_for(tool)
        outgoing = build_request(tool, arguments, base_url=base_url)
        key = idempotency_key_for(outgoing.method, arguments.get("idempotency_key"))
        headers = _headers(api_key, stripe_version, stripe_account, key, outgoing.content_type)
        request = httpx.Request(
            outgoing.method,
            outgoing.url,
            headers=headers,
            content=outgoing.body,
            extensions={"timeout": self.timeout.as_dict()},
        )
        pending = UpstreamResult(
            method=outgoing.method,
            url=outgoing.url.split("?", 1)[0],
            idempotency_key=key,
            livemode=is_live_key(api_key),
        )
        return await self._send(self._transport(base_url), request, pending)

    async def _send(
        self, transport: httpx.AsyncHTTPTransport, request: httpx.Request, pending: UpstreamResult
    ) -> UpstreamResult:
        """Sends in a task of its own, bounded by an anyio deadline.

        httpcore shields the hand-back of a connection to its pool from anyio's cancellation only. An
        asyncio cancellation landing there (asyncio.timeout's, or a client cancelling the call) leaves the
        connection ACTIVE for good: kept by the pool, never reused, until the pool is full of them and
        every call fails. An anyio deadline waits for the hand-back, and the task group turns a
        cancellation of this call into an anyio cancellation of the task that sends.
        """
        outcome: list[UpstreamResult] = []

        async def exchange() -> None:
            outcome.append(await self._exchange(transport, request, pending))

        async with anyio.create_task_group() as group:
            group.start_soon(exchange)
        return outcome[0]

    async def _exchange(
        self, transport: httpx.AsyncHTTPTransport, request: httpx.Request, pending: UpstreamResult
    ) -> UpstreamResult:
        try:
            with anyio.fail_after(self.total_timeout):
                response = await transport.handle_async_request(request)
                try:
                    body = await _read_body(response, MAX_BODY_BYTES)
                finally:
                    await response.aclose()
        except TimeoutError:
            return replace(pending, failure=f"did not complete its answer within {self.total_timeout:g}s")
        except httpx.TimeoutException as error:
            return replace(pending, failure=_timeout_text(error, self.timeout), sent=not _never_sent(error))
        except httpx.RequestError as error:
            return replace(pending, failure=_transport_text(error), sent=not _never_sent(error))
        if body is None:
            return replace(pending, status=response.status_code, headers=response.headers, too_large=True)
        return replace(pending, status=response.status_code, headers=response.headers, body=body)


async def _read_body(response: httpx.Response, limit: int) -> bytes | None:
    """The (decoded) body, or None as soon as its declared length or the bytes read so far pass `limit`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():  # decoded: a compressed answer is held to the limit unpacked
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _headers(
    api_key: str,
    stripe_version: str,
    stripe_account: str | None,
    idempotency_key: str | None,
    content_type: str | None,
) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Stripe-Version": stripe_version,
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }
    if stripe_account:
        headers["Stripe-Account"] = stripe_account
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def _never_sent(error: httpx.RequestError) -> bool:
    return isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol))


def _timeout_text(error: httpx.TimeoutException, timeout: httpx.Timeout) -> str:
    if isinstance(error, httpx.ConnectTimeout):
        return f"could not be reached within {timeout.connect:g}s"
    if isinstance(error, httpx.PoolTimeout):
        return "had no free connection in the pool in time"
    if isinstance(error, httpx.WriteTimeout):
        return f"did not accept the request within {timeout.write:g}s"
    return f"did not answer within {timeout.read:g}s"


def _transport_text(error: httpx.RequestError) -> str:
    # Exception texts can quote the request; keep to fixed wording.
    if isinstance(error, httpx.ConnectError):
        return "refused or failed the connection"
    if isinstance(error, httpx.RemoteProtocolError):
        return "closed the connection without a complete answer"
    if isinstance(error, (httpx.ReadError, httpx.WriteError)):
        return "reset the connection"
    return f"failed ({type(error).__name__})"
