"""The days a typed date may take when it starts a quarantine or ends one.

Pure, with the colour rules' own constants, so that every form that takes such a date and the
rules that count from it agree: a date outside its window is refused by the form with the
window's own message, never moved into the window. Each function returns the window of one kind
of date; `Window.refusal` says which end a day falls outside.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from gantong.core import rules

# A contact, a stay or an entry matters to the rules for QUARANTINE_DAYS after it: one longer
# ago has run its course and is not asked for (the declaration asks about "the last 14 days").
LOOK_BACK_DAYS = rules.QUARANTINE_DAYS
# An actual arrival may come this many days before the planned one; earlier than that, and the
# journey is not the one registered (a new registration is asked for).
ARRIVAL_EARLY_DAYS = rules.QUARANTINE_DAYS
# A negative test ends a quarantine only while it is recent.
NEGATIVE_TEST_VALID_DAYS = 7
# How far ahead one may register; further plans change too often to start a quarantine count.
MAX_DAYS_AHEAD = 90


class Refusal(StrEnum):
    """Why a day is outside its window: each has its own message in the forms."""

    LOOK_BACK = "look_back"  # longer ago than the rules look back
    EXPIRED = "expired"  # a test no longer valid
    BEFORE_REGISTRATION = "before_registration"
    BEFORE_PLANNED = "before_planned"  # too long before the planned arrival
    BEFORE_REASONS = "before_reasons"  # before the reasons it is to end began
    PASSED = "passed"  # a planned day that has passed
    IN_FUTURE = "in_future"
    TOO_FAR_AHEAD = "too_far_ahead"


@dataclass(frozen=True)
class Window:
    """The days a date may take, both ends included (empty when earliest > latest).

    `floors` are the lower bounds with the reason each stands for; the window starts at the
    latest of them. `ceiling` is the upper bound and its reason.
    """

    floors: tuple[tuple[Refusal, date], ...]
    ceiling: tuple[Refusal, date]

    @property
    def earliest(self) -> date:
        return max(day for _reason, day in self.floors)

    @property
    def latest(self) -> date:
        return self.ceiling[1]

    def refusal(self, day: date) -> Refusal | None:
        """Return why `day` is refused, or None when it is inside the window.

        Below several floors, the lowest one broken is the reason (1990 is refused for being
        long ago, not for being before yesterday's symptoms).
        """
        if day > self.latest:
            return self.ceiling[0]
        broken = [(floor, reason) for reason, floor in self.floors if day < floor]
        return min(broken)[1] if broken else None

    def __contains__(self, day: date) -> bool:
        return self.refusal(day) is None


def recent(today: date) -> Window:
    """A close contact (declared or official), an entry from overseas, a stay's last day."""
    return Window(
        ((Refusal.LOOK_BACK, today - timedelta(days=LOOK_BACK_DAYS)),), (Refusal.IN_FUTURE, today)
    )


def arrival(planned: date, registered_on: date, today: date) -> Window:
    """An actual arrival: not before the registration nor the planned day less the margin,
    and not in the future; so the quarantine it starts never starts before the registration."""
    return Window(
        (
            (Refusal.BEFORE_PLANNED, planned - timedelta(days=ARRIVAL_EARLY_DAYS)),
            (Refusal.BEFORE_REGISTRATION, registered_on),
        ),
        (Refusal.IN_FUTURE, today),
    )


def planned_arrival(today: date) -> Window:
    """A pre-entry registration's planned arrival: from today, up to MAX_DAYS_AHEAD ahead."""
    return Window(
        ((Refusal.PASSED, today),),
        (Refusal.TOO_FAR_AHEAD, today + timedelta(days=MAX_DAYS_AHEAD)),
    )


def _reasons_floor(reasons_since: Iterable[date]) -> tuple[Refusal, date]:
    return (Refusal.BEFORE_REASONS, max(reasons_since, default=date.min))


def negative_test(reasons_since: Iterable[date], today: date) -> Window:
    """The test that ends the named reasons: still valid, and taken after each of them began."""
    return Window(
        (
            (Refusal.EXPIRED, today - timedelta(days=NEGATIVE_TEST_VALID_DAYS)),
            _reasons_floor(reasons_since),
        ),
        (Refusal.IN_FUTURE, today),
    )


def isolation_end(reasons_since: Iterable[date], today: date) -> Window:
    """The day an isolation ended: not before the reasons it answers began, not in the future."""
    return Window((_reasons_floor(reasons_since),), (Refusal.IN_FUTURE, today))
