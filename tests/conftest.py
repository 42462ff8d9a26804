"""Shared fixtures: localstripe per test module, one redis-server per session, a store on both backends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from stripe_mcp.managed.store import open_store
from stripe_mcp.managed.store.base import Store
from tests.support.fakes import fake_stripe, resetting_server  # noqa: F401  (fixtures for every test module)
from tests.support.localstripe_server import localstripe
from tests.support.redis_server import RunningRedis, redis_server

STORE_TEST_DB = 1  # tests/test_store.py; the replica tests use their own database number


@pytest.fixture(autouse=True)
def serving_log_restored() -> Iterator[None]:
    """`stripe-mcp serve` run in process (CliRunner) points the `stripe_mcp` log at its own stderr and stops it
    propagating; put it back after each test, so no later test's log capture depends on the order tests ran in."""
    log = logging.getLogger("stripe_mcp")
    saved = (log.handlers[:], log.level, log.propagate)
    yield
    log.handlers[:], log.level, log.propagate = saved


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    """localstripe on 127.0.0.1; its state is process-wide, so one module at a time owns it."""
    with localstripe() as url:
        yield url


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRedis]:
    """A throw-away redis-server (skipped when the binary is missing, unless CI is set)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture(scope="session")
def redis_url(redis_service: RunningRedis) -> str:
    return redis_service.url(0)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The store's backend; the redis cases need a redis-server, so they are integration tests."""
    return request.param


@pytest.fixture
def store_url(store_backend: str, tmp_path, request: pytest.FixtureRequest) -> str:
    """A store URL for the backend, empty at the start of each test; reopen it to simulate a restart."""
    if store_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    running: RunningRedis = request.getfixturevalue("redis_service")
    running.flush(STORE_TEST_DB)
    return running.url(STORE_TEST_DB)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()
