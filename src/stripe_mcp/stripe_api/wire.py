"""The connections to Stripe: one aiohttp pool per host, and what each way an exchange can fail means.

aiohttp parses HTTP in C (a third of the CPU a call cost went to a pure Python HTTP stack before).
A POST is never re-sent; a GET or DELETE that meets a kept-alive connection the peer had already
closed is re-sent once on a new one (aiohttp does so, as RFC 9112 §9.3.1.1 allows for idempotent
requests), which Stripe cannot tell from one request. client.py imports this module when it makes
its first pool: see there why.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping

import aiohttp
import certifi
from yarl import URL

from stripe_mcp.stripe_api.types import SendFailure

Answer = tuple[int, Mapping[str, str], bytes | None]  # status, headers (case-insensitive), body (None: over the limit)


class Wire:
    """Pools of connections per base URL, with the timeouts of one Upstream (see its docstring)."""

    def __init__(self, *, read: float, connect: float, pool: float, max_connections: int, keepalive: float) -> None:
        self.read = read
        self.connect = connect
        self.max_connections = max_connections
        self.keepalive = keepalive
        self.timeouts = aiohttp.ClientTimeout(total=None, connect=pool + connect, sock_connect=connect, sock_read=read)
        self.pools: dict[str, aiohttp.ClientSession] = {}
        self._tls: ssl.SSLContext | None = None

    async def exchange(
        self,
        method: str,
        url: str,
        base_url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        total: float,
        limit: int,
    ) -> Answer | SendFailure:
        """Stripe's answer, or why there is none; a body over `limit` bytes is not read (None)."""
        pool = self.pools.get(base_url) or self._open(base_url)
        started = time.monotonic()
        try:
            async with asyncio.timeout(total):
                # encoded=True: the path and query are sent exactly as request.py percent-encoded them.
                async with pool.request(
                    method, URL(url, encoded=True), headers=headers, data=body, allow_redirects=False
                ) as response:
                    return response.status, response.headers, await _read_body(response, limit)
        except aiohttp.ConnectionTimeoutError:
            return SendFailure(self._connect_timeout_text(time.monotonic() - started), sent=False)
        except aiohttp.SocketTimeoutError:
            return SendFailure(f"did not answer within {self.read:g}s", sent=True)
        except TimeoutError:  # the total bound (aiohttp's own timeouts are TimeoutErrors too: caught above)
            return SendFailure(f"did not complete its answer within {total:g}s", sent=True)
        except aiohttp.ClientError as error:
            return SendFailure(_failure_text(error), sent=not _never_sent(error))

    async def aclose(self) -> None:
        pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            await pool.close()

    def _open(self, base_url: str) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections,
            keepalive_timeout=self.keepalive,
            ssl=self._tls_context() if base_url.startswith("https:") else False,
        )
        # No cookie jar: a cookie one account's answer set must never travel with another's request.
        pool = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False, timeout=self.timeouts
        )
        self.pools[base_url] = pool
        return pool

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=certifi.where())  # the bundle the Stripe SDK trusts
        return self._tls

    def _connect_timeout_text(self, elapsed: float) -> str:
        # aiohttp raises the same error whether the wait for a free connection or the connecting ran out;
        # connecting alone never outlasts the connect timeout.
        if elapsed <= self.connect + 0.05:
            return f"could not be reached within {self.connect:g}s"
        return "had no free connection in the pool in time"


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The (decoded) body, or None as soon as its declared length or the bytes read so far pass `limit`."""
    if response.content_length is not None and response.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():  # decoded: a compressed answer is held to the limit unpacked
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _never_sent(error: aiohttp.ClientError) -> bool:
    # ClientConnectorError: refused, unreachable, DNS or TLS set-up; an invalid URL is refused before that.
    return isinstance(error, (aiohttp.ClientConnectorError, aiohttp.InvalidURL))


def _failure_text(error: aiohttp.ClientError) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        return "refused or failed the connection"
    if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return "closed the connection without a complete answer"
    if isinstance(error, aiohttp.ClientOSError):
        return "reset the connection"
    if isinstance(error, aiohttp.ClientResponseError):
        return "answered with something that is not HTTP"
    return f"failed ({type(error).__name__})"
