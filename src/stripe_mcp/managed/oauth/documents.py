"""Client ID Metadata Documents: a client whose client_id is a URL describes itself in the JSON document there.

The authorization server fetches a URL an unknown client chose, so the fetch is fenced (SSRF): a short
timeout, a small size limit, no redirects, no proxies from the environment, and by default only public
addresses over https. The address is checked once and then connected to as checked, so a name that resolves
again differently (DNS rebinding) cannot lead the request elsewhere; TLS still verifies the host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from stripe_mcp.managed.oauth import DocumentPolicy
from stripe_mcp.managed.oauth.errors import OAuthError

if TYPE_CHECKING:
    import httpx

FETCH_TIMEOUT_SECONDS = 5.0
MAX_DOCUMENT_BYTES = 5 * 1024  # the draft's recommended limit
DEFAULT_CACHE_SECONDS = 3600
MIN_CACHE_SECONDS, MAX_CACHE_SECONDS = 60, 24 * 3600


@dataclass(frozen=True)
class ClientDocument:
    metadata: dict[str, Any]
    max_age: float  # seconds it may be used before it is fetched again


def is_document_url(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def document_url_problem(url: str, policy: DocumentPolicy) -> str | None:
    """Why `url` cannot be fetched as a client's document under `policy`, else None."""
    if policy is DocumentPolicy.OFF:
        return "this server does not accept Client ID Metadata Documents; register the client instead"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return "the client_id is not a URL"
    schemes = ("https", "http") if policy is DocumentPolicy.PRIVATE else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        return "a client_id URL must be https" + (" or http" if policy is DocumentPolicy.PRIVATE else "")
    if parts.path in ("", "/") or any(segment in (".", "..") for segment in parts.path.split("/")):
        return "a client_id URL has a path, without . or .. segments"
    if "#" in url or parts.username is not None or parts.password is not None:
        return "a client_id URL has no fragment, user name or password"
    return None


async def fetch_document(
    url: str,
    policy: DocumentPolicy,
    *,
    timeout: float = FETCH_TIMEOUT_SECONDS,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> ClientDocument:
    """The client's metadata at `url`, or OAuthError(invalid_client) saying why it cannot be used."""
    problem = document_url_problem(url, policy)
    if problem is not None:
        raise OAuthError("invalid_client", problem)
    try:
        async with asyncio.timeout(timeout):
            address = await _address(url, policy)
            body, headers = await _get(url, address, timeout, max_bytes)
    except TimeoutError:
        raise OAuthError(
            "invalid_client", f"the client's metadata document did not arrive within {timeout} s"
        ) from None
    try:
        metadata = json.loads(body)
    except ValueError:
        raise OAuthError("invalid_client", "the client's metadata document is not JSON") from None
    if not isinstance(metadata, dict):
        raise OAuthError("invalid_client", "the client's metadata document is not a JSON object")
    if metadata.get("client_id") != url:
        raise OAuthError("invalid_client", "the client_id in the client's metadata document is not its URL")
    return ClientDocument(metadata, cache_seconds(headers.get("cache-control", "")))


async def _address(url: str, policy: DocumentPolicy) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise OAuthError("invalid_client", f"the host of the client_id, {host}, does not resolve") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise OAuthError("invalid_client", f"the host of the client_id, {host}, does not resolve")
    if policy is DocumentPolicy.PUBLIC and not all(_public(a) for a in addresses):
        raise OAuthError(
            "invalid_client", f"the host of the client_id, {host}, resolves to a private or loopback address"
        )
    return addresses[0]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return ip.is_global and not ip.is_multicast


async def _get(url: str, address: str, timeout: float, max_bytes: int) -> tuple[bytes, httpx.Headers]:
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    pinned = urlunsplit(
        (parts.scheme, f"{literal}:{parts.port}" if parts.port else literal, parts.path, parts.query, "")
    )
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    headers = {"host": parts.netloc, "accept": "application/json"}
    import httpx  # here: most servers never fetch a document, and every start would pay for the import

    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as http:
            async with http.stream("GET", pinned, headers=headers, extensions=extensions) as response:
                if response.status_code != 200:
                    raise OAuthError(
                        "invalid_client",
                        f"the client's metadata document answered HTTP {response.status_code}, not 200",
                    )
                media = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if media != "application/json" and not media.endswith("+json"):
                    raise OAuthError(
                        "invalid_client", "the client's metadata document is not served as application/json"
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise OAuthError("invalid_client", f"the client's metadata document is over {max_bytes} bytes")
                return bytes(body), response.headers
    except httpx.HTTPError:
        raise OAuthError("invalid_client", "the client's metadata document could not be fetched") from None


def cache_seconds(cache_control: str) -> float:
    """How long to keep a document: its Cache-Control max-age, within MIN_ and MAX_CACHE_SECONDS."""
    seconds = float(DEFAULT_CACHE_SECONDS)
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            seconds = MIN_CACHE_SECONDS
        elif name == "max-age" and value.strip().isdigit():
            seconds = float(value)
    return min(max(seconds, MIN_CACHE_SECONDS), MAX_CACHE_SECONDS)
