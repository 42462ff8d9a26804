"""The resolve cache: a URL's server is built once (its key decrypted once) while its stored record stays the same,
built again when the record changes, refused once it is gone, and the cache is bounded. In process, on SQLite."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from starlette.responses import Response

from stripe_mcp.managed.secrets import KeyBox
from stripe_mcp.managed.service import create_account, create_server
from stripe_mcp.managed.store.base import ServerRecord
from stripe_mcp.mcp.types import McpServer
from stripe_mcp.web import runtime as runtime_module
from stripe_mcp.web.runtime import Runtime, close_runtime, open_runtime
from stripe_mcp.web.settings import Settings

API_KEY = "sk_test_resolve_cache_4242"


class CountingKeys(KeyBox):
    decrypted = 0

    def decrypt(self, token: bytes) -> str:
        CountingKeys.decrypted += 1
        return super().decrypt(token)


@pytest.fixture
async def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.setattr(runtime_module, "RESOLVE_CACHE_SECONDS", 0.0)  # every request reads the record again
    CountingKeys.decrypted = 0
    opened = await open_runtime(
        Settings(store_url=f"sqlite:///{tmp_path / 'store.sqlite3'}", stripe_base_url="http://127.0.0.1:9"),
        CountingKeys(Fernet.generate_key()),
    )
    try:
        yield opened
    finally:
        await close_runtime(opened)


async def provision(runtime: Runtime, count: int = 1, config: dict | None = None) -> list[tuple[str, ServerRecord]]:
    assert runtime.keys is not None
    account = await create_account(runtime.store, runtime.keys, "resolve", API_KEY)
    made = [
        await create_server(runtime.store, runtime.registry, account.id, f"s{i}", config or {"methods": ["read"]})
        for i in range(count)
    ]
    return [(created.token, created.record) for created in made]


async def resolve(runtime: Runtime, token: str) -> McpServer | Response:
    return await runtime.resolve(None, token)  # type: ignore[arg-type]  (no api-token auth: no request needed)


async def test_a_server_is_built_once_while_its_record_stays_the_same(runtime: Runtime) -> None:
    [(token, _)] = await provision(runtime)
    decrypted_at_start = CountingKeys.decrypted
    first = await resolve(runtime, token)
    assert not isinstance(first, Response)
    for _ in range(50):
        assert await resolve(runtime, token) is first
    assert CountingKeys.decrypted - decrypted_at_start == 1


async def test_a_changed_record_builds_the_server_again(runtime: Runtime) -> None:
    [(token, record)] = await provision(runtime)
    before = await resolve(runtime, token)
    changed = dataclasses.replace(record, name="renamed", config={**record.config, "methods": ["list"]})
    await runtime.store.delete_server(record.account_id, record.id)
    await runtime.store.add_server(changed)
    after = await resolve(runtime, token)
    assert not isinstance(after, Response) and after is not before
    assert after.name == "stripe-mcp: renamed"
    assert set(after.tool_names) < set(before.tool_names)  # type: ignore[union-attr]


async def test_a_deleted_server_is_refused_at_the_next_read(runtime: Runtime) -> None:
    [(token, record)] = await provision(runtime)
    assert not isinstance(await resolve(runtime, token), Response)
    await runtime.store.delete_server(record.account_id, record.id)  # as another replica would: no forget_servers
    refused = await resolve(runtime, token)
    assert isinstance(refused, Response) and refused.status_code == 404
    assert runtime._servers == {}


async def test_the_cache_is_bounded_and_servers_share_their_tool_names(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_module, "RESOLVE_CACHE_SIZE", 3)
    made = await provision(runtime, 5)
    servers = [await resolve(runtime, token) for token, _ in made]
    assert len(runtime._servers) == 3
    assert [cached.record.id for cached in runtime._servers.values()] == [record.id for _, record in made[2:]]
    # The same filter: one tuple of names for all of them, however many servers.
    assert len({id(server.tool_names) for server in servers}) == 1  # type: ignore[union-attr]
    again = await resolve(runtime, made[0][0])  # evicted: built again, and kept as the most recent
    assert not isinstance(again, Response) and again is not servers[0]
    assert next(reversed(runtime._servers.values())).record.id == made[0][1].id
