"""Redirect URIs (OAuth 2.1, RFC 8252 for native apps) and resource indicators (RFC 8707)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_URI_CHARS = 2000
# Schemes a browser must never be sent to with a code; anything else that is not http(s) is an app's own.
UNSAFE_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "ws", "wss"})
SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
HOST = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be a redirect URI, else None: it must be https, http on a loopback host, or an app's scheme."""
    if not uri or len(uri) > MAX_URI_CHARS or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in uri):
        return "a redirect URI is an absolute URI of at most 2000 visible characters"
    try:
        parts = urlsplit(uri)
        host, port = parts.hostname, parts.port
    except ValueError:
        return f"{uri!r} is not a URI"
    if "#" in uri:
        return "a redirect URI has no fragment"
    if parts.username is not None or parts.password is not None:
        return "a redirect URI carries no user name or password"
    if parts.scheme in ("http", "https"):
        if not host or not HOST.fullmatch(parts.netloc.rsplit(":", 1)[0] if port else parts.netloc):
            return f"{uri!r} has no host name a browser can go to"
        if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
            return "plain http is allowed only on a loopback host (127.0.0.1, [::1] or localhost); use https"
        return None
    if not SCHEME.fullmatch(parts.scheme) or parts.scheme in UNSAFE_SCHEMES:
        return f"{uri!r}: use https, http on a loopback host, or the app's own scheme"
    return None  # a native app's private-use scheme (RFC 8252 section 7.1)


def is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def redirect_matches(registered: Sequence[str], given: str) -> bool:
    """`given` is one of the registered URIs exactly, or differs from a loopback one only in its port (RFC 8252 7.3)."""
    if given in registered:
        return True
    if not is_loopback(given):
        return False
    wanted = urlsplit(given)
    for uri in registered:
        if is_loopback(uri):
            known = urlsplit(uri)
            if (known.hostname, known.path, known.query) == (wanted.hostname, wanted.path, wanted.query):
                return True
    return False


def origin_of(uri: str) -> str:
    """Where a redirect to `uri` goes, as a CSP source: scheme://host[:port], or an app's scheme (`app:`)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else f"{parts.scheme}:"


def host_of(uri: str) -> str:
    """What the consent page names as where the browser goes next: the host, or the app's scheme."""
    parts = urlsplit(uri)
    return parts.hostname or f"{parts.scheme}:"


def canonical_url(url: str) -> str | None:
    """The canonical form of an http(s) resource URI (lowercase scheme and host, no trailing slash), or None."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.fragment or "#" in url:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """`uri` with `params` added to its query (keeping what it had); None values are left out."""
    parts = urlsplit(uri)
    added = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
