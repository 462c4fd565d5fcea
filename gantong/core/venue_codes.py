"""Venue codes: the printed code's random part, the repeat window, a queued visit's time, and
the hourly counts of the statistics. Pure: no Flask, no database."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from gantong.core.rules import SHANGHAI

# 16 characters of an alphabet without look-alikes (0/O, 1/l/I): 80 bits, unguessable, and
# short enough for a large QR a phone reads from a metre away.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 16
# The categories a venue is put in (their labels are in gantong/venues/labels.py).
CATEGORIES = ("shop", "transport", "school", "office", "health", "public", "other")


class TimeRefused(ValueError):
    """A queued visit's time is in the future or further back than the server accepts."""


def new_code() -> str:
    """Return a fresh random venue code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def looks_like_code(text: str) -> bool:
    """Whether `text` could be a venue code at all (anything else is not looked up)."""
    return len(text) == CODE_LENGTH and all(char in ALPHABET for char in text)


def is_repeat(last_visit: datetime | None, at: datetime, repeat_minutes: int) -> bool:
    """Whether a check-in at `at` repeats the holder's visit at `last_visit` (within the window,
    either side: a queued visit may arrive after a later live one)."""
    if last_visit is None:
        return False
    return abs(at - last_visit) < timedelta(minutes=repeat_minutes)


def queued_time(
    claimed: datetime, now: datetime, max_hours: int, skew_seconds: int = 120
) -> datetime:
    """Return the time a visit queued on a phone happened, as the phone says.

    :raise TimeRefused: if it is naive, later than now (beyond a phone clock's small skew, which
        is taken as now), or more than `max_hours` back.
    """
    if claimed.tzinfo is None or claimed.utcoffset() is None:
        raise TimeRefused("naive")
    if claimed > now + timedelta(seconds=skew_seconds):
        raise TimeRefused("future")
    if claimed < now - timedelta(hours=max_hours):
        raise TimeRefused("too old")
    return min(claimed, now)


def visits_per_hour(times: Iterable[datetime]) -> list[tuple[int, int]]:
    """Return (hour of day in Asia/Shanghai, visits) for all 24 hours."""
    counts = Counter(moment.astimezone(SHANGHAI).hour for moment in times)
    return [(hour, counts.get(hour, 0)) for hour in range(24)]
