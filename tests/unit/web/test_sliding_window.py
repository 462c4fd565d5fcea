"""The sliding window counter never lets more than the limit through, at a window's edge too."""

from __future__ import annotations

import pytest

from gantong.web import rate_limits


class Clock:
    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def storage(scratch_database_url):
    # The app's storage on an empty database of its own (PostgreSQL when DATABASE_URL is set).
    storage = rate_limits.DatabaseStorage(database_uri=scratch_database_url)
    yield storage
    storage.reset()


@pytest.mark.parametrize("after_the_edge", [0.1, 1.0, 30.0, 89.0])
def test_a_full_window_stays_full_just_after_the_edge(storage, monkeypatch, after_the_edge):
    window = 900  # LOGIN_LIMIT_PER_ACCOUNT's 15 minutes
    edge = 1_800_000 * window
    clock = Clock(edge - 2.0)
    monkeypatch.setattr(rate_limits, "time", clock)
    assert all(storage.acquire_sliding_window_entry("login:x", 10, window) for _ in range(10))
    assert not storage.acquire_sliding_window_entry("login:x", 10, window)
    # The CI failure: with the weighted count rounded down, 10 * 0.9999 + 0 counted as 9.
    clock.now = edge + after_the_edge
    assert not storage.acquire_sliding_window_entry("login:x", 10, window)


def test_the_window_slides_as_the_attempts_age(storage, monkeypatch):
    window = 900
    edge = 1_800_000 * window
    clock = Clock(edge - 1.0)
    monkeypatch.setattr(rate_limits, "time", clock)
    assert all(storage.acquire_sliding_window_entry("login:y", 10, window) for _ in range(10))
    # Half of the previous window still overlaps: 5 of its 10 count, 5 more are allowed.
    clock.now = edge + window / 2
    assert sum(storage.acquire_sliding_window_entry("login:y", 10, window) for _ in range(8)) == 5


class Item:
    """The two things seconds_until_allowed asks of a limits RateLimitItem."""

    def __init__(self, amount: int, expiry: int):
        self.amount, self.expiry = amount, expiry

    def get_expiry(self) -> int:
        return self.expiry

    def key_for(self, *identifiers: str) -> str:
        return "/".join(identifiers)


@pytest.mark.parametrize(
    "limit, hits_at",
    [
        (3, [100.0, 200.0, 300.0]),  # full in one window
        (3, [100.0, 800.0, 850.0]),  # spread over the edge of two windows
        (5, [10.0, 20.0, 30.0, 40.0, 890.0]),
        (2, [899.5, 900.5]),
    ],
)
def test_the_wait_said_is_the_wait_the_counter_keeps(storage, monkeypatch, limit, hits_at):
    window = 900
    start = 1_800_000 * window
    clock = Clock(start)
    monkeypatch.setattr(rate_limits, "time", clock)
    for at in hits_at:
        clock.now = start + at
        assert storage.acquire_sliding_window_entry("signup:x", limit, window)
    assert not storage.acquire_sliding_window_entry("signup:x", limit, window)
    item = Item(limit, window)
    wait = rate_limits.seconds_until_allowed(storage, item, "signup:x")
    refused_at = clock.now
    assert wait > 1.0
    # Refused until the moment said (less its second of margin), let through from it on.
    clock.now = refused_at + wait - 1.5
    assert not storage.acquire_sliding_window_entry("signup:x", limit, window)
    clock.now = refused_at + wait
    assert storage.acquire_sliding_window_entry("signup:x", limit, window)


def test_no_wait_while_there_is_room(storage, monkeypatch):
    monkeypatch.setattr(rate_limits, "time", Clock(1_800_000 * 900 + 5))
    assert storage.acquire_sliding_window_entry("signup:y", 3, 900)
    assert rate_limits.seconds_until_allowed(storage, Item(3, 900), "signup:y") == 0.0
