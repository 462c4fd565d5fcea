"""Two app hosts behind HAProxy, one SIGKILLed under a scan-record load: every acknowledged
record is stored exactly once, nothing unacknowledged is stored, the load goes on through the
other host, and the login limit is counted across both hosts (in Redis).

A short run of bench/failover/failover.py (its figures, timed, are in bench/README.md; here only
counts are asserted)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres_only(reason="app hosts share one PostgreSQL primary")

BENCH = Path(__file__).resolve().parents[2] / "bench" / "failover" / "failover.py"
# Redis database 13, 12, … for xdist workers gw0, gw1, …: apart from test_redis_limits' 15, 14.
REDIS = os.environ.get(
    "TEST_FAILOVER_REDIS_URL",
    f"redis://127.0.0.1:6379/{13 - int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0')[2:])}",
)


def load_bench():
    spec = importlib.util.spec_from_file_location("failover_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def haproxy_and_redis():
    import redis

    missing = []
    if not shutil.which(os.environ.get("HAPROXY", "/usr/sbin/haproxy")):
        missing.append("haproxy (apt-get install haproxy)")
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.exceptions.ConnectionError:
        missing.append(f"Redis at {REDIS}")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail("missing: " + ", ".join(missing))
        pytest.skip("missing: " + ", ".join(missing))


def test_a_host_killed_under_load_loses_no_record_and_stores_none_twice(
    scratch_database_url, haproxy_and_redis, tmp_path
):
    bench = load_bench()
    result = bench.run(
        scratch_database_url,
        REDIS,
        tmp_path,
        clients=6,
        kill_at=3.0,
        restart_at=None,
        seconds=7.0,
        workers=1,
    )
    report = bench.report(result)
    assert result.acknowledged > 0, report
    assert result.lost == [], report
    assert result.duplicates == 0, report
    assert result.unacknowledged_stored == [], report
    assert result.stored == result.acknowledged, report
    # No record refused (422) or in conflict (409): a retried record is the same body again.
    assert result.other_answers == {}, report
    # Both hosts served before the kill, and the survivor went on after it.
    assert result.served_by["host1"] > 0 and result.served_by["host2"] > 0, report
    assert result.acknowledged_after_kill > 0, report
    # What clients saw fail was the lost host's: connection errors or 5xx, never a 4xx.
    assert all(
        outcome.startswith("conn:") or outcome.startswith("5") for outcome in result.failures
    ), report
    assert result.login_statuses == [200] * 5 + [429], report
