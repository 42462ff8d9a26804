"""The HTTP client to Stripe: pooled connections per host, each call sent once.

`Upstream.call` builds the request (request.py), sends it once (wire.py) and returns the raw outcome as an
`UpstreamResult`, which tools/results.py turns into an MCP tool result. Transport failures never raise:
they come back as an `UpstreamResult` with `failure` set, in fixed wording (an exception's own text can
quote the request). An answer larger than MAX_BODY_BYTES is not read: it comes back with `too_large` set
and no body.

wire.py (and aiohttp with it) is imported when the first call is sent, not with this module: importing
aiohttp builds two TLS contexts and a few dozen classes, 40 % of a server's start-up, which a server
answers tools/list without. The first tool call of a process pays it once (~60 ms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stripe_mcp import __version__
from stripe_mcp.stripe_api.request import build_request, idempotency_key_for
from stripe_mcp.stripe_api.types import SendFailure, ToolModule

if TYPE_CHECKING:
    from stripe_mcp.stripe_api.wire import Wire

DEFAULT_BASE_URL = "https://api.stripe.com"
# Stripe's answers are pages of at most 100 objects: far smaller than this. Anything larger is refused
# unread, so that one answer cannot take the process's memory.
MAX_BODY_BYTES = 4 * 1024 * 1024
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")


@dataclass(frozen=True)
class Timeouts:
    """Seconds: `read` bounds each wait for bytes of an answer (and, by default, the call as a whole:
    Upstream's `total_timeout`), `connect` setting up a connection, `pool` the wait for a free one.
    `connect` and `pool` default to `read`."""

    read: float
    connect: float | None = None
    pool: float | None = None


@dataclass(frozen=True)
class Limits:
    """Connections per Stripe host, and how long an idle one is kept for the next call."""

    max_connections: int = 100
    keepalive_expiry: float = 5.0


DEFAULT_TIMEOUT = Timeouts(80.0, connect=30.0)  # the Stripe SDK's own: 80 s per request, 30 s to connect
DEFAULT_LIMITS = Limits()


USER_AGENT = f"stripe-mcp/{__version__}"  # the version MCP clients see in serverInfo too


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
    too_large: bool = False  # the answer was over the body limit and was not read

    @property
    def upstream(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Upstream:
    """Pooled connections per Stripe host. A call is bounded as a whole by `total_timeout` (default: the
    read timeout), since a read timeout bounds each read and a slow trickle of bytes would never trip it."""

    def __init__(
        self,
        stripe_base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: Timeouts = DEFAULT_TIMEOUT,
        total_timeout: float | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.stripe_base_url = stripe_base_url.rstrip("/")
        self.timeout = timeout
        self.total_timeout = total_timeout if total_timeout is not None else timeout.read
        self.limits = limits
        self._wire: Wire | None = None

    def base_url_for(self, tool: ToolModule) -> str:
        # An overridden base URL (an emulator, a test) receives every operation.
        if tool.SERVER_URL and self.stripe_base_url == DEFAULT_BASE_URL:
            return tool.SERVER_URL.rstrip("/")
        return self.stripe_base_url

    async def aclose(self) -> None:
        wire, self._wire = self._wire, None
        if wire is not None:
            await wire.aclose()

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
        wire = self._wire or self._open_wire()
        answer = await wire.exchange(
            outgoing.method, outgoing.url, base_url, headers, outgoing.body, self.total_timeout, MAX_BODY_BYTES
        )
        if isinstance(answer, SendFailure):
            return replace(pending, failure=answer.text, sent=answer.sent)
        status, answer_headers, body = answer
        if body is None:
            return replace(pending, status=status, headers=answer_headers, too_large=True)
        return replace(pending, status=status, headers=answer_headers, body=body)

    def _open_wire(self) -> Wire:
        from stripe_mcp.stripe_api.wire import Wire  # once per Upstream: see the module docstring

        read = self.timeout.read
        self._wire = Wire(
            read=read,
            connect=self.timeout.connect if self.timeout.connect is not None else read,
            pool=self.timeout.pool if self.timeout.pool is not None else read,
            max_connections=self.limits.max_connections,
            keepalive=self.limits.keepalive_expiry,
        )
        return self._wire


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
