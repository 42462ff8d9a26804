"""Calls to Stripe: parameter encoding, request building and the pooled HTTP client.

A tool module (see generated/) describes one Stripe operation; `build_request` turns a
tool call's validated arguments into the HTTP request Stripe expects, and `Upstream.call`
sends it once (never retried) and returns the raw outcome as an `UpstreamResult`, which
runtime/results.py turns into an MCP tool result. Transport failures never raise: they
come back as an `UpstreamResult` with `failure` set.

Encoding follows the official Stripe SDK (stripe/_encode.py `_api_encode`, then
`urlencode` with `[`/`]` left literal), with two deliberate differences for values the
SDK mangles: a boolean directly inside an array is sent as `true`/`false` (the SDK sends
`True`/`False`) and a None directly inside an array is dropped (the SDK sends `None`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

import httpx

DEFAULT_BASE_URL = "https://api.stripe.com"
# The SDK's own defaults: 80 s per request, connection set up within 30 s.
DEFAULT_TIMEOUT = httpx.Timeout(80.0, connect=30.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
POOL_SHARDS = 4
SPECIAL_ARGUMENTS = frozenset({"next_cursor", "idempotency_key"})
MAX_IDEMPOTENCY_KEY_LENGTH = 255

_OFFSET_CURSOR_PREFIX = "offset:"
# Leading bytes of the file types Stripe's file upload accepts most often; anything else
# goes up as an octet stream, as the SDK does.
_FILE_SIGNATURES = (
    (b"%PDF", "upload.pdf", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "upload.png", "image/png"),
    (b"\xff\xd8\xff", "upload.jpg", "image/jpeg"),
    (b"GIF8", "upload.gif", "image/gif"),
)


class ToolModule(Protocol):
    HTTP_METHOD: str
    PATH: str
    SERVER_URL: str | None
    PATH_ARGUMENTS: Mapping[str, str]
    QUERY_ARGUMENTS: tuple[str, ...]
    BODY_ARGUMENTS: tuple[str, ...]
    BODY_ENCODING: str | None
    PAGINATION: str | None


class InvalidArgument(ValueError):
    """A tool argument that cannot be sent to Stripe; the request is never sent."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class OutgoingRequest:
    method: str
    url: str  # absolute, query string included
    query: list[tuple[str, str]]
    body: bytes | None
    content_type: str | None


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

    @property
    def upstream(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


# --- encoding -------------------------------------------------------------------------


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Stripe's bracket form encoding of (JSON-like) parameters, in the SDK's order."""
    return [pair for key, value in params.items() for pair in _flatten(key, value)]


def _flatten(key: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if isinstance(value, Mapping):
        for subkey, subvalue in value.items():
            yield from _flatten(f"{key}[{subkey}]", subvalue)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _flatten(f"{key}[{index}]", item)
    elif isinstance(value, bool):
        yield key, "true" if value else "false"
    else:
        yield key, str(value)


def form_encode(pairs: list[tuple[str, str]]) -> str:
    # Like the SDK: brackets stay literal, which Stripe accepts and keeps logs readable.
    return urlencode(pairs).replace("%5B", "[").replace("%5D", "]")


# --- pagination cursors for endpoints Stripe does not paginate --------------------------


def encode_offset_cursor(offset: int) -> str:
    raw = f"{_OFFSET_CURSOR_PREFIX}{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_offset_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        offset = int(text.removeprefix(_OFFSET_CURSOR_PREFIX))
        valid = text.startswith(_OFFSET_CURSOR_PREFIX) and offset >= 0
    except (ValueError, UnicodeError, binascii.Error):
        valid = False
    if not valid:
        raise InvalidArgument("next_cursor", "is not a cursor returned by this tool")
    return offset


# --- request building ----------------------------------------------------------------


def build_request(tool: ToolModule, arguments: Mapping[str, Any], *, base_url: str) -> OutgoingRequest:
    url = base_url.rstrip("/") + _fill_path(tool, arguments)
    query = encode_params(_query_params(tool, arguments))
    if query:
        url += "?" + form_encode(query)
    body, content_type = _body(tool, arguments)
    return OutgoingRequest(tool.HTTP_METHOD.upper(), url, query, body, content_type)


def _fill_path(tool: ToolModule, arguments: Mapping[str, Any]) -> str:
    path = tool.PATH
    for argument, placeholder in tool.PATH_ARGUMENTS.items():
        value = arguments.get(argument)
        if value is None:
            raise InvalidArgument(argument, "is required")
        path = path.replace("{" + placeholder + "}", quote(_check_id(argument, value), safe=""))
    return path


def _check_id(argument: str, value: Any) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidArgument(argument, "must be a string")
    text = str(value)
    if not text:
        raise InvalidArgument(argument, "must not be empty")
    if text == "." or ".." in text or "/" in text or "\\" in text:
        raise InvalidArgument(argument, "must not contain '/', '\\' or '..'")
    if any(_is_control(char) for char in text):
        raise InvalidArgument(argument, "must not contain control characters")
    return text


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _query_params(tool: ToolModule, arguments: Mapping[str, Any]) -> dict[str, Any]:
    params = _pick(arguments, tool.QUERY_ARGUMENTS)
    if tool.PAGINATION in ("cursor", "search") and "limit" in arguments:
        params["limit"] = arguments["limit"]
    cursor = arguments.get("next_cursor")
    if tool.PAGINATION == "cursor" and cursor:
        params["starting_after"] = cursor
    elif tool.PAGINATION == "search" and cursor:
        params["page"] = cursor
    elif tool.PAGINATION == "local":
        params.pop("limit", None)
        if cursor:
            decode_offset_cursor(cursor)  # refuse a bad cursor before calling Stripe
    return params


def _pick(arguments: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    wanted = set(names) - SPECIAL_ARGUMENTS
    return {name: value for name, value in arguments.items() if name in wanted}


def _body(tool: ToolModule, arguments: Mapping[str, Any]) -> tuple[bytes | None, str | None]:
    if tool.HTTP_METHOD.upper() != "POST":
        return None, None
    params = _pick(arguments, tool.BODY_ARGUMENTS)
    if tool.BODY_ENCODING == "multipart":
        return _multipart_body(params)
    return form_encode(encode_params(params)).encode("ascii"), "application/x-www-form-urlencoded"


def _multipart_body(params: dict[str, Any]) -> tuple[bytes, str]:
    content = _decode_file(params.pop("file", None))
    fields = dict(encode_params(params))
    files = {"file": _file_part(content)} if content is not None else None
    request = httpx.Request("POST", "http://multipart.invalid/", data=fields, files=files)
    return request.read(), request.headers["Content-Type"]


def _decode_file(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument("file", "must be the file's content as base64 text")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("file", "is not valid base64") from None


def _file_part(content: bytes) -> tuple[str, bytes, str]:
    for signature, filename, content_type in _FILE_SIGNATURES:
        if content.startswith(signature):
            return filename, content, content_type
    return "blob", content, "application/octet-stream"


# --- sending -------------------------------------------------------------------------


def _package_version() -> str:
    try:
        return metadata.version("stripe-mcp")
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "0+source"


USER_AGENT = f"stripe-mcp/{_package_version()}"


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
            per_pool = httpx.Limits(
                max_connections=max(1, (self.limits.max_connections or 100) // self.shards),
                max_keepalive_connections=max(1, (self.limits.max_keepalive_connections or 20) // self.shards),
                keepalive_expiry=self.limits.keepalive_expiry,
            )
            self._pools[base_url] = [httpx.AsyncHTTPTransport(limits=per_pool, retries=0) for _ in range(self.shards)]
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
        idempotency_key = _idempotency_key(outgoing.method, arguments.get("idempotency_key"))
        headers = _headers(api_key, stripe_version, stripe_account, idempotency_key, outgoing.content_type)
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
            idempotency_key=idempotency_key,
            livemode=api_key.startswith(("sk_live_", "rk_live_")),
        )
        return await self._send(self._transport(base_url), request, pending)

    async def _send(
        self, transport: httpx.AsyncHTTPTransport, request: httpx.Request, pending: UpstreamResult
    ) -> UpstreamResult:
        try:
            async with asyncio.timeout(self.total_timeout):
                response = await transport.handle_async_request(request)
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
        except TimeoutError:
            return replace(pending, failure=f"did not complete its answer within {self.total_timeout:g}s")
        except httpx.TimeoutException as error:
            return replace(pending, failure=_timeout_text(error, self.timeout), sent=not _never_sent(error))
        except httpx.RequestError as error:
            return replace(pending, failure=_transport_text(error), sent=not _never_sent(error))
        return replace(pending, status=response.status_code, headers=response.headers, body=body)


def _idempotency_key(method: str, given: Any) -> str | None:
    if method != "POST":
        return None
    if given is None:
        return str(uuid.uuid4())
    if not isinstance(given, str) or not given or len(given) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidArgument("idempotency_key", f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    if any(_is_control(char) for char in given) or not given.isascii():
        raise InvalidArgument("idempotency_key", "must be printable ASCII")
    return given


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
