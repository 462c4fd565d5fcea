"""Production's connection pool: no ping on every checkout (a round trip a request), recycled
connections instead (a dropped one is met by unit_of_work's retry)."""

from __future__ import annotations

import pytest

from gantong.config import Config

pytestmark = pytest.mark.nodb


def test_the_pool_does_not_ping_on_checkout_in_production():
    assert Config.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"] is False
    assert Config.SQLALCHEMY_ENGINE_OPTIONS["pool_recycle"] > 0
