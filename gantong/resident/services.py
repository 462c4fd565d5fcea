"""The resident's code: what the code page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gantong.codes import keys
from gantong.core import rules, tokens
from gantong.holders import registry
from gantong.models import ColourChange, Holder
from gantong.review import applications, claims

RECENT_CHANGES = 3  # colour changes the code page shows; the history page has them all


@dataclass(frozen=True)
class ScreenCode:
    result: rules.Result
    token: tokens.Token
    text: str  # the token as the QR carries it
    number: str  # the dynamic number under the QR
    expires_at: datetime  # when the token or the number stops being accepted, whichever is first
    recent_changes: list[
        ColourChange
    ]  # the latest colour changes, newest first (the first is the code's issue)


def screen_code(holder: Holder, now: datetime) -> ScreenCode | None:
    """The holder's colour of now (stored if it changed), a signed screen token, the number.

    None while the holder has no code yet (no declaration): nothing is signed. The page is a
    reading request: the colour and the numbers are written (and lock) only when they change.
    """
    result = registry.colour_of(holder, now)
    if result.colour != holder.colour:  # stored only when it changed, decided again under the lock
        registry.lock(holder)
        result = registry.store_colour(holder, now)
    # The page lists the latest changes; their query also says whether a code was ever given.
    recent_changes = registry.colour_history(holder, limit=RECENT_CHANGES)
    if not recent_changes:
        return None
    number = registry.dynamic_number(holder, now)
    token, text = keys.signed_screen_token(holder, now)
    expires_at = min(
        datetime.fromtimestamp(token.issued_at + token.ttl, now.tzinfo),
        registry.number_valid_until(now),
    )
    return ScreenCode(result, token, text, number, expires_at, recent_changes)


@dataclass(frozen=True)
class Transcoding:
    """Where the holder's transcoding stands for the reasons behind the code of now."""

    can_apply: bool  # a reason an application may clear, that none pending or approved names
    pending: bool  # an application waits for an officer's decision on one of the reasons
    approved_on: date | None  # the latest approval of a reason still behind the code
    ends_on: date | None  # the day the approved reasons end (the latest of them)
    green_on: date | None  # the day the code turns green with nothing more to do, if it will


def transcoding(holder: Holder, result: rules.Result) -> Transcoding:
    """What the code page says about transcoding: apply, waiting, or approved and when it ends."""
    pending = applications.pending_keys(holder)
    approved = applications.approved_on(holder)
    # An approved reason may stay until its own end (a close contact: 14 days after it).
    covered = [hit for hit in result.hits if hit.key in approved and hit.until is not None]
    ends_by_itself = all(
        (hit in covered) or (hit.until is not None and not hit.needs_transcoding)
        for hit in result.hits
    )
    return Transcoding(
        can_apply=any(
            applications.clearable(hit) and hit.key not in pending and hit.key not in approved
            for hit in result.hits
        ),
        pending=any(hit.key in pending for hit in result.hits),
        approved_on=max((rules.local_date(approved[hit.key]) for hit in covered), default=None),
        ends_on=max((hit.until for hit in covered), default=None),
        green_on=max(hit.until for hit in result.hits) if covered and ends_by_itself else None,
    )


def can_claim(holder: Holder, result: rules.Result) -> bool:
    """Whether a claim could change the colour: a fact behind it that no pending claim names."""
    pending = claims.pending_keys(holder)
    return any(hit.key not in pending for hit in result.hits)
