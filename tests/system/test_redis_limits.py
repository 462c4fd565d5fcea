"""With RATELIMIT_STORAGE_URI pointing at Redis, the login limit holds across app instances
(as it must across gunicorn workers and hosts)."""

from __future__ import annotations

import os
import uuid

import pytest

from gantong import create_app
from gantong.auth.accounts import register
from gantong.extensions import db, limiter
from tests.conftest import TEST_HASH_METHOD

# Redis database 15, 14, … for xdist workers gw0, gw1, …: limiter.reset() empties its own only.
REDIS = os.environ.get(
    "TEST_REDIS_URL",
    f"redis://127.0.0.1:6379/{15 - int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0')[2:])}",
)


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS}")
        pytest.skip("Redis is not running")
    return REDIS


def test_login_limit_is_shared_through_redis(scratch_database_url, redis_url):
    phone = "+8613" + str(uuid.uuid4().int)[:9]
    config = {
        "TESTING": True,
        "SECRET_KEY": "r",
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": scratch_database_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "PASSWORD_HASH_METHOD": TEST_HASH_METHOD,
    }
    first = create_app(config)
    with first.app_context():
        db.create_all()
        register(phone, "correct horse")
    try:
        statuses = [
            first.test_client().post("/login", data={"phone": phone, "password": "x"}).status_code
            for _ in range(4)
        ]
        # A second app instance (another worker) sees the same counters: the address-and-account
        # pair's limit (5 failures a minute) is reached on its second try.
        second = create_app(config)
        statuses += [
            second.test_client().post("/login", data={"phone": phone, "password": "x"}).status_code
            for _ in range(2)
        ]
        assert statuses == [200] * 5 + [429]
    finally:
        limiter.reset()
        with first.app_context():
            db.engine.dispose()
