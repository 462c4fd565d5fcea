"""The default rate-limit storage is shared by every worker.

Each gunicorn worker builds its own storage object at start. Two storage objects stand for two
workers here: on memory:// each counts its own 10 failed logins a minute (20 in all, as
measured with two workers); on the default database:// both count in one place and the limit
holds as configured.
"""

from __future__ import annotations

import os
import uuid

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from gantong.config import Config
from gantong.web import rate_limits

LOGIN = parse("10 per minute")


def allowed(first, second, key: str, tries: int = 30) -> int:
    workers = [FixedWindowRateLimiter(first), FixedWindowRateLimiter(second)]
    return sum(workers[n % 2].hit(LOGIN, key) for n in range(tries))


@pytest.fixture
def database_uri(tmp_path):
    return (
        os.environ.get("DATABASE_URL", "").replace("postgresql://", "postgresql+psycopg://", 1)
        or f"sqlite:///{tmp_path / 'gantong.sqlite'}"
    )


@pytest.mark.nodb
def test_memory_storage_doubles_the_limit_with_two_workers():
    assert (
        allowed(storage_from_string("memory://"), storage_from_string("memory://"), "login:x") == 20
    )


def test_the_default_database_storage_holds_the_limit_across_workers(database_uri):
    assert Config.RATELIMIT_STORAGE_URI == "database://" or os.environ.get("RATELIMIT_STORAGE_URI")
    first = storage_from_string("database://", database_uri=database_uri)
    second = storage_from_string("database://", database_uri=database_uri)
    key = f"login:{uuid.uuid4()}"
    try:
        assert allowed(first, second, key) == 10
    finally:
        first.reset()


def test_a_new_window_starts_from_zero(database_uri):
    storage = storage_from_string("database://", database_uri=database_uri)
    key = f"k:{uuid.uuid4()}"
    try:
        assert [storage.incr(key, 60) for _ in range(3)] == [1, 2, 3]
        assert storage.incr(f"{key}-gone", -1) == 1 and storage.incr(f"{key}-gone", 60) == 1
        storage.clear(key)
        assert storage.get(key) == 0 and storage.check()
    finally:
        storage.reset()


@pytest.mark.nodb
def test_sqlite_counters_live_beside_the_database():
    assert (
        rate_limits.counter_url("sqlite:////srv/gantong.sqlite")
        == "sqlite:////srv/gantong-limits.sqlite"
    )
    assert rate_limits.counter_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
