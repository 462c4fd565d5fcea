"""The record limits' counters (gantong/web/rate_limits.py, DatabaseStorage.spend_together):
several windows read and counted at once, on PostgreSQL in one statement; what fits in every
window is granted, nothing more, and a worker that counted meanwhile makes the call give its
hits back."""

from __future__ import annotations

import os
import threading
import time
import uuid

import psycopg
import pytest
from sqlalchemy import text

from gantong.web import rate_limits


@pytest.fixture
def storage(app):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    counters = rate_limits.DatabaseStorage(database_uri=uri)
    yield counters
    counters.reset()


def count_of(storage, key: str, expiry: int) -> int:
    _previous, current = storage.sliding_window_keys(key, expiry, time.time())
    return storage.get(current)


def test_what_fits_in_every_window_is_granted_and_nothing_more(storage):
    minute, hour = f"m:{uuid.uuid4()}", f"h:{uuid.uuid4()}"
    windows = [(minute, 5, 60), (hour, 8, 3600)]
    assert storage.spend_together(windows, 3) == 3
    assert storage.spend_together(windows, 4) == 2  # the minute's 5 is the tighter
    assert storage.spend_together(windows, 1) == 0  # full: nothing counted
    assert count_of(storage, minute, 60) == 5 and count_of(storage, hour, 3600) == 5


def test_workers_counting_at_once_never_pass_the_limit(storage):
    key = f"race:{uuid.uuid4()}"
    granted = []

    def worker():
        for _ in range(10):
            granted.append(storage.spend_together([(key, 12, 60)], 1))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 40 tries at a limit of 12: at most 12 counted, and the counter holds exactly what was
    # granted (a call that lost a race gave its hit back).
    assert sum(granted) <= 12
    assert count_of(storage, key, 60) == sum(granted)


@pytest.mark.postgres_only(reason="a row lock held by another PostgreSQL connection")
def test_a_worker_counting_between_the_read_and_the_count_makes_the_call_give_back(storage):
    key = f"lost:{uuid.uuid4()}"
    expiry = 60
    assert storage.spend_together([(key, 10, expiry)], 4) == 4
    _previous, current = storage.sliding_window_keys(key, expiry, time.time())
    url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
    database = storage._engine().url.database
    other = psycopg.connect(url.rsplit("/", 1)[0] + "/" + database)
    # Another worker counts 5 and has not committed yet: this call reads 4, grants 4 more...
    other.execute(
        f"UPDATE {rate_limits.TABLE} SET count = count + 5 WHERE key = %s",
        (rate_limits.stored_key(current),),
    )
    answer = []
    call = threading.Thread(
        target=lambda: answer.append(storage.spend_together([(key, 10, expiry)], 4))
    )
    call.start()
    with storage._engine().connect() as connection:
        for _ in range(200):  # ...and waits for the other's row lock
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar()
            if waiting:
                break
            time.sleep(0.01)
    assert waiting
    other.commit()
    other.close()
    call.join()
    # 4 + 5 + 4 would pass 10: the call counted nothing in the end.
    assert answer == [0]
    assert count_of(storage, key, expiry) == 9
