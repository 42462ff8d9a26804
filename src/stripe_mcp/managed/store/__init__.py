"""Where accounts, servers and API tokens live: `open_store` picks the backend for a store URL.

SQLite (`sqlite_store`) is the embedded default; Redis (`redis_store`) serves several replicas.
The interface both implement is `base.Store`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse, urlsplit

from stripe_mcp.managed.store.base import Store

DEFAULT_STORE_URL = "sqlite:///.stripe-mcp/store.sqlite3"


class StoreUrlError(ValueError):
    pass


def unavailable_errors() -> tuple[type[Exception], ...]:
    """What any backend raises when it cannot be opened, reached or written, for commands that report it."""
    from stripe_mcp.managed.store.redis_store import RedisStore
    from stripe_mcp.managed.store.sqlite_store import SqliteStore

    return SqliteStore.unavailable + RedisStore.unavailable


def sqlite_path(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(parsed.path[1:] if url.startswith("sqlite:///") else parsed.path) if parsed.scheme == "sqlite" else None


def store_label(url: str) -> str:
    """The store as a person finds it: a SQLite file's absolute path, a Redis URL without its password."""
    path = sqlite_path(url)
    if path is not None:
        return f"{url} ({path.resolve()})" if not path.is_absolute() else url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the store given"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def store_exists(url: str) -> bool:
    """Whether a SQLite store's file is there already (a Redis store is a server: it always counts as there)."""
    path = sqlite_path(url)
    return path is None or path.exists()


def open_store(url: str) -> Store:
    path = sqlite_path(url)
    if path is not None:
        if not str(path):
            raise StoreUrlError(f"{url}: no file path (use sqlite:///PATH)")
        from stripe_mcp.managed.store.sqlite_store import SqliteStore

        return SqliteStore(path)
    if urlparse(url).scheme in ("redis", "rediss", "unix"):
        from stripe_mcp.managed.store.redis_store import RedisStore

        return RedisStore(url)
    raise StoreUrlError(f"unsupported store {url!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
