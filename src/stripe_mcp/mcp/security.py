"""Transport security shared by every HTTP route: Host and Origin checks against DNS rebinding."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_allowed(host: str | None, allowed: Sequence[str]) -> bool:
    if not host:
        return False
    host = host.strip().lower()
    name = _hostname(host)
    if name in LOOPBACK_HOSTS:
        return True
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == host or entry == name or (entry.endswith(":*") and entry[:-2] == name):
            return True
    return False


def origin_allowed(origin: str, allowed: Sequence[str]) -> bool:
    origin = origin.strip().lower().rstrip("/")
    try:
        parts = urlsplit(origin)
        name = parts.hostname
    except ValueError:
        return False
    if parts.scheme in ("http", "https") and name is not None and name in LOOPBACK_HOSTS:
        return True
    for entry in allowed:
        entry = entry.strip().lower().rstrip("/")
        if entry == origin or (entry.endswith(":*") and origin.startswith(entry[:-2] + ":")):
            return True
    return False
