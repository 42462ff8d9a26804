"""The HTTP client to Stripe: pooled connections per host, each call sent once.

`Upstream.call` builds the request (request.py), sends it once and returns the raw outcome as an
`UpstreamResult`, which tools/results.py turns into an MCP tool result. Transport failures never
raise: they come back as an `UpstreamResult` with `failure` set, in fixed wording (an exception's own
text can quote the request).

The connections are aiohttp's (its HTTP parser is C): a third of the CPU a call costs went to a pure
Python HTTP stack before. A POST is never re-sent; a GET or DELETE that meets a kept-alive connection
the peer had already closed is re-sent once on a new one (aiohttp does so, as RFC 9112 §9.3.1.1 allows
for idempotent requests), which Stripe cannot tell from one request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from yarl import URL

from stripe_mcp.stripe_api.request import build_request, idempotency_key_for
from stripe_mcp.stripe_api.types import ToolModule

DEFAULT_BASE_URL = "https://api.stripe.com"
# The SDK's own defaults: 80 s per request, connection set up within 30 s.
DEFAULT_TIMEOUT = httpx.Timeout(80.0, connect=30.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
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
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive when Stripe answered
    body: bytes = b""
    failure: str | None = None
    sent: bool = True
    idempotency_key: str | None = None
    livemode: bool = False

    @property
    def upstream(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Upstream:
    """One aiohttp connection pool per Stripe host. A call is bounded as a whole by `total_timeout`
    (default: the read timeout), since a read timeout bounds each read and a slow trickle of bytes
    would never trip it; `timeout.connect` bounds setting up a connection, `timeout.pool` the wait
    for a free one, `limits` the connections per host and how long an idle one is kept."""

    def __init__(
        self,
        stripe_base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        total_timeout: float | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        self.stripe_base_url = stripe_base_url.rstrip("/")
        self.timeout = timeout
        self.total_timeout = total_timeout if total_timeout is not None else timeout.read
        self.limits = limits
        self._client_timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_sum(timeout.pool, timeout.connect),
            sock_connect=timeout.connect,
            sock_read=timeout.read,
        )
        self._pools: dict[str, aiohttp.ClientSession] = {}
        self._tls: ssl.SSLContext | None = None

    def base_url_for(self, tool: ToolModule) -> str:
        # An overridden base URL (an emulator, a test) receives every operation.
        if tool.SERVER_URL and self.stripe_base_url == DEFAULT_BASE_URL:
            return tool.SERVER_URL.rstrip("/")
        return self.stripe_base_url

    def _pool(self, base_url: str) -> aiohttp.ClientSession:
        pool = self._pools.get(base_url)
        if pool is None:
            connector = aiohttp.TCPConnector(
                limit=self.limits.max_connections or 0,
                keepalive_timeout=self.limits.keepalive_expiry or 0,
                ssl=self._tls_context() if base_url.startswith("https:") else False,
            )
            # No cookie jar: a cookie one account's answer set must never travel with another's request.
            pool = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)
            self._pools[base_url] = pool
        return pool

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = httpx.create_ssl_context()  # the certifi bundle, as the Stripe SDK trusts
        return self._tls

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()

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
        pending = UpstreamResult(
            method=outgoing.method,
            url=outgoing.url.split("?", 1)[0],
            idempotency_key=key,
            livemode=is_live_key(api_key),
        )
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.total_timeout):
                # encoded=True: the path and query are sent exactly as request.py percent-encoded them.
                async with self._pool(base_url).request(
                    outgoing.method,
                    URL(outgoing.url, encoded=True),
                    headers=headers,
                    data=outgoing.body,
                    allow_redirects=False,
                    timeout=self._client_timeout,
                ) as response:
                    body = await response.read()
        except aiohttp.ConnectionTimeoutError:
            return replace(pending, failure=self._connect_timeout_text(time.monotonic() - started), sent=False)
        except aiohttp.SocketTimeoutError:
            return replace(pending, failure=f"did not answer within {self.timeout.read:g}s")
        except TimeoutError:  # the total bound (aiohttp's own timeouts are TimeoutErrors too: caught above)
            return replace(pending, failure=f"did not complete its answer within {self.total_timeout:g}s")
        except aiohttp.ClientError as error:
            return replace(pending, failure=_transport_text(error), sent=not _never_sent(error))
        return replace(pending, status=response.status, headers=response.headers, body=body)

    def _connect_timeout_text(self, elapsed: float) -> str:
        # aiohttp raises the same error whether the wait for a free connection or the connecting ran out;
        # connecting alone never outlasts timeout.connect.
        connect = self.timeout.connect
        if connect is not None and elapsed <= connect + 0.05:
            return f"could not be reached within {connect:g}s"
        return "had no free connection in the pool in time"


def _sum(*seconds: float | None) -> float | None:
    return None if any(s is None for s in seconds) else sum(s for s in seconds if s is not None)


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


def _never_sent(error: aiohttp.ClientError) -> bool:
    # ClientConnectorError: refused, unreachable, DNS or TLS set-up; an invalid URL is refused before that.
    return isinstance(error, (aiohttp.ClientConnectorError, aiohttp.InvalidURL))


def _transport_text(error: aiohttp.ClientError) -> str:
    # Exception texts can quote the request; keep to fixed wording.
    if isinstance(error, aiohttp.ClientConnectorError):
        return "refused or failed the connection"
    if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return "closed the connection without a complete answer"
    if isinstance(error, aiohttp.ClientOSError):
        return "reset the connection"
    if isinstance(error, aiohttp.ClientResponseError):
        return "answered with something that is not HTTP"
    return f"failed ({type(error).__name__})"
