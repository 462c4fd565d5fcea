"""Venue codes: the printed code's random part and a queued visit's time.
Pure: no Flask, no database."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

# 16 characters of an alphabet without look-alikes (0/O, 1/l/I): 79 bits, unguessable, and
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
