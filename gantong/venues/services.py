"""Venues, their codes, check-ins, traces, contacts filed from a trace, risk windows, figures.

Services flush; the request (or command) commits. A venue sees nothing about its visitors:
only officers of the venue's district trace, each trace with a reason, audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from gantong import audit
from gantong.core import date_windows, rules, venue_codes
from gantong.core.kinds import Colour, OfficialRecordState
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    Holder,
    OfficialRecord,
    User,
    Venue,
    VenueCode,
    VenueRiskWindow,
    VenueVisit,
    VerificationRecord,
    utcnow,
)
from gantong.review import decisions, official_records

# How long a visitor counts as being there around the time they checked in, when a trace starts
# from a case's own visits (a venue and a window typed by an officer is taken as given).
STAY_MINUTES = 60
# The most visitors one trace lists (a station's busiest hours): narrow the window for more.
TRACE_LIMIT = 2000
# How far back a case's visits are looked for.
CASE_LOOKBACK_DAYS = 14


class WindowRefused(ValueError):
    """A window that ends before it starts, or is longer than a trace may be."""


class QueuedVisitRefused(ValueError):
    """A queued visit that is not for one of the account's people, or reuses another visit's id."""


MAX_WINDOW = timedelta(days=14)


def check_window(start: datetime, end: datetime) -> None:
    """:raise WindowRefused: unless the window starts before it ends and spans at most 14 days."""
    if end <= start or end - start > MAX_WINDOW:
        raise WindowRefused()


# Venues and codes


def add_venue(
    name: str,
    address: str,
    district_code: str,
    category: str,
    actor: User,
    point_id: int | None = None,
    entrance: str = "",
) -> Venue:
    """Add a venue with its first code."""
    venue = Venue(
        name=name,
        address=address,
        district_code=district_code,
        category=category,
        point_id=point_id,
        created_by=actor.id,
    )
    db.session.add(venue)
    db.session.flush()
    audit.append(
        "venue.create",
        "venue",
        venue.id,
        actor=actor,
        after={"name": name, "district": district_code, "category": category},
    )
    add_code(venue, entrance, actor)
    return venue


def add_code(venue: Venue, entrance: str, actor: User) -> VenueCode:
    """Issue a new code for the venue (another entrance, or after a revocation)."""
    code = VenueCode(venue_id=venue.id, code=venue_codes.new_code(), entrance=entrance)
    db.session.add(code)
    db.session.flush()
    audit.append("venue.code", "venue_code", code.id, actor=actor, after={"venue_id": venue.id})
    return code


def revoke_code(code: VenueCode, actor: User, now: datetime | None = None) -> None:
    """Revoke a printed code: scanning it shows a clear page, and stores nothing."""
    if code.revoked_at is not None:
        return
    code.revoked_at = now or utcnow()
    audit.append(
        "venue.code_revoke",
        "venue_code",
        code.id,
        actor=actor,
        after={"venue_id": code.venue_id},
        at=code.revoked_at,
    )
    db.session.flush()


def find_code(text: str) -> VenueCode | None:
    """Return the code with this text (revoked or not), or None."""
    if not venue_codes.looks_like_code(text):
        return None
    return db.session.scalar(db.select(VenueCode).where(VenueCode.code == text))


def venues_in(district_code: str | None) -> list[Venue]:
    """Return the venues of a district, or every venue for None (an administrator)."""
    query = db.select(Venue).order_by(Venue.district_code, Venue.name, Venue.id)
    if district_code is not None:
        query = query.where(Venue.district_code == district_code)
    return list(db.session.scalars(query))


def venue_for_point(point_id: int) -> Venue | None:
    return db.session.scalar(db.select(Venue).where(Venue.point_id == point_id).limit(1))


# Check-in


@dataclass(frozen=True)
class CheckIn:
    """What a check-in stored (or found stored within the repeat window) and the colour now."""

    visit: VenueVisit
    result: rules.Result
    stored: bool
    has_code: bool = True


def _recent_visit(holder: Holder, venue_id: int, at: datetime, minutes: int) -> VenueVisit | None:
    window = timedelta(minutes=minutes)
    return db.session.scalar(
        db.select(VenueVisit)
        .where(
            VenueVisit.holder_id == holder.id,
            VenueVisit.at > at - window,
            VenueVisit.at < at + window,
            VenueVisit.venue_id == venue_id,
        )
        .order_by(VenueVisit.at.desc())
        .limit(1)
    )


def check_in(
    code: VenueCode,
    holder: Holder,
    account: User,
    repeat_minutes: int,
    now: datetime | None = None,
    at: datetime | None = None,
    visit_id: str | None = None,
) -> CheckIn:
    """Store the holder's visit, once per `repeat_minutes` at the venue; return it and the colour.

    `at` and `visit_id` come from a visit queued on the phone offline: `at` is when it happened
    (checked by venue_codes.queued_time before), `visit_id` the phone's id for it, stored once.
    """
    moment = now or utcnow()
    happened = at or moment
    if visit_id is not None:
        known = db.session.scalar(db.select(VenueVisit).where(VenueVisit.visit_id == visit_id))
        if known is not None:
            if known.holder_id != holder.id or known.code_id != code.id:
                raise QueuedVisitRefused()
            return CheckIn(known, registry.colour_of(holder, moment), False)
    # Two reloads at once must not both store: the holder's lock serialises them.
    registry.lock(holder)
    result = registry.colour_of(holder, moment)
    has_code = registry.has_code(holder)
    recent = _recent_visit(holder, code.venue_id, happened, repeat_minutes)
    if recent is not None:
        return CheckIn(recent, result, False, has_code)
    visit = VenueVisit(
        visit_id=visit_id or str(uuid.uuid4()),
        venue_id=code.venue_id,
        code_id=code.id,
        holder_id=holder.id,
        account_id=account.id,
        at=happened,
        received_at=moment,
        colour=result.colour,
        queued=at is not None,
    )
    db.session.add(visit)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise QueuedVisitRefused() from None
    return CheckIn(visit, result, True, has_code)


def visits_of(holder: Holder, limit: int = 200) -> list[VenueVisit]:
    """The holder's own check-ins, newest first (the holder's "where my code was checked")."""
    return list(
        db.session.scalars(
            db.select(VenueVisit)
            .where(VenueVisit.holder_id == holder.id)
            .order_by(VenueVisit.at.desc())
            .limit(limit)
        )
    )


def flagged_visits(venue: Venue, since: datetime) -> list[VenueVisit]:
    """The venue's yellow and red check-ins since a moment, newest first (for its officers)."""
    return list(
        db.session.scalars(
            db.select(VenueVisit)
            .where(
                VenueVisit.venue_id == venue.id,
                VenueVisit.at >= since,
                VenueVisit.colour.in_((Colour.YELLOW, Colour.RED)),
            )
            .order_by(VenueVisit.at.desc())
            .limit(200)
        )
    )


# Tracing


@dataclass(frozen=True)
class Visitor:
    """One person at the venue in the window: their first and last check-in there, and count."""

    holder: Holder
    first: datetime
    last: datetime
    visits: int


@dataclass(frozen=True)
class Trace:
    venue: Venue
    start: datetime
    end: datetime
    visitors: list[Visitor]
    # Visitors who live in other districts: counted, never shown (their officers trace them).
    elsewhere: int
    truncated: bool


def _visitors(venue: Venue, start: datetime, end: datetime, district_code: str):
    # ix_venue_visit_venue_at serves the range; one row per holder.
    return db.session.execute(
        db.select(
            VenueVisit.holder_id,
            func.min(VenueVisit.at),
            func.max(VenueVisit.at),
            func.count(),
            Holder.district_code == district_code,
        )
        .join(Holder, Holder.id == VenueVisit.holder_id)
        .where(VenueVisit.venue_id == venue.id, VenueVisit.at >= start, VenueVisit.at <= end)
        .group_by(VenueVisit.holder_id, Holder.district_code)
        .order_by(func.min(VenueVisit.at), VenueVisit.holder_id)
        .limit(TRACE_LIMIT + 1)
    ).all()


def trace(
    venue: Venue,
    start: datetime,
    end: datetime,
    officer: User,
    reason: str,
    now: datetime | None = None,
    audited: bool = True,
) -> Trace:
    """Who checked in at the venue in the window, in the officer's district; audited with why.

    :raise OutOfDistrict: unless the officer is of the venue's district.
    :raise ReasonRequired: without a reason. :raise WindowRefused: for a bad window.
    """
    if officer.role != "officer" or officer.district_code != venue.district_code:
        raise decisions.OutOfDistrict()
    reason = decisions.required_reason(reason)
    check_window(start, end)
    rows = _visitors(venue, start, end, officer.district_code)
    truncated = len(rows) > TRACE_LIMIT
    rows = rows[:TRACE_LIMIT]
    local = [row for row in rows if row[4]]
    holders = {
        holder.id: holder
        for holder in db.session.scalars(
            db.select(Holder).where(Holder.id.in_([row[0] for row in local]))
        )
    }
    visitors = [Visitor(holders[row[0]], row[1], row[2], row[3]) for row in local]
    if audited:
        audit.append(
            "venue.trace",
            "venue",
            venue.id,
            actor=officer,
            after={
                "from": start.isoformat(),
                "to": end.isoformat(),
                "visitors": len(visitors),
            },
            reason=reason,
            at=now or utcnow(),
        )
    return Trace(venue, start, end, visitors, len(rows) - len(local), truncated)


@dataclass(frozen=True)
class CasePlace:
    """A venue a case was at, and the window around it that a trace of it would read."""

    venue: Venue
    start: datetime
    end: datetime
    how: str  # "visit" (a check-in) or "checkpoint" (a record at the venue's point)


def case_places(
    case: Holder, officer: User, reason: str, now: datetime | None = None
) -> list[CasePlace]:
    """The venues of the officer's district a case was at in the last 14 days: from the case's
    own check-ins and from checkpoint records at a point that is a venue; audited with why."""
    decisions.check_officer(officer, case)
    reason = decisions.required_reason(reason)
    moment = now or utcnow()
    since = moment - timedelta(days=CASE_LOOKBACK_DAYS)
    stay = timedelta(minutes=STAY_MINUTES)
    places: list[CasePlace] = []
    visits = db.session.execute(
        db.select(VenueVisit.at, Venue)
        .join(Venue, Venue.id == VenueVisit.venue_id)
        .where(VenueVisit.holder_id == case.id, VenueVisit.at >= since)
        .order_by(VenueVisit.at)
    ).all()
    places += [CasePlace(venue, at - stay, at + stay, "visit") for at, venue in visits]
    records = db.session.execute(
        db.select(VerificationRecord.verified_at, Venue)
        .join(Venue, Venue.point_id == VerificationRecord.point_id)
        .where(VerificationRecord.holder_id == case.id, VerificationRecord.verified_at >= since)
        .order_by(VerificationRecord.verified_at)
    ).all()
    places += [CasePlace(venue, at - stay, at + stay, "checkpoint") for at, venue in records]
    places = [place for place in places if place.venue.district_code == officer.district_code]
    places.sort(key=lambda place: place.start)
    audit.append(
        "venue.trace_case",
        "holder",
        case.id,
        actor=officer,
        after={"places": len(places)},
        reason=reason,
        at=moment,
    )
    return places


def file_contacts(
    venue: Venue,
    start: datetime,
    end: datetime,
    holder_ids: list[int],
    basis: str,
    officer: User,
    now: datetime | None = None,
) -> list[OfficialRecord]:
    """File visitors of a trace as close contacts: one official record each, pending until a
    second officer of the district approves it (the two-officer rule red needs).

    Only people the trace finds (in the window, of the officer's district, within the last 14
    days) are filed, and none twice for the same venue and window. The record names the venue and window as its source.
    """
    moment = now or utcnow()
    found = trace(venue, start, end, officer, basis, moment, audited=False)
    wanted = set(holder_ids)
    filed: list[OfficialRecord] = []
    for visitor in found.visitors:
        if visitor.holder.id not in wanted or _filed_already(visitor.holder, venue, start, end):
            continue
        # The contact day is the visit's; a visit past the rules' look-back (14 days) is no
        # contact any more, and is not filed.
        contact_day = rules.local_date(visitor.first)
        if contact_day not in _recent_days(moment):
            continue
        entry = official_records.record(
            visitor.holder,
            officer,
            "close_contact",
            basis,
            contact_date=contact_day,
            now=moment,
            trace=(venue.name, start, end),
        )
        filed.append(entry)
    audit.append(
        "venue.file_contacts",
        "venue",
        venue.id,
        actor=officer,
        after={
            "from": start.isoformat(),
            "to": end.isoformat(),
            "records": [entry.id for entry in filed],
        },
        reason=basis,
        at=moment,
    )
    return filed


def _recent_days(moment: datetime):
    return date_windows.recent(rules.local_date(moment))


def _filed_already(holder: Holder, venue: Venue, start: datetime, end: datetime) -> bool:
    return (
        db.session.scalar(
            db.select(OfficialRecord.id)
            .where(
                OfficialRecord.holder_id == holder.id,
                OfficialRecord.trace_venue == venue.name,
                OfficialRecord.trace_from == start,
                OfficialRecord.trace_to == end,
                OfficialRecord.state != OfficialRecordState.REJECTED,
            )
            .limit(1)
        )
        is not None
    )


# Risk windows


def mark_risk(
    venue: Venue,
    start: datetime,
    end: datetime,
    days: int,
    reason: str,
    officer: User,
    now: datetime | None = None,
) -> VenueRiskWindow:
    """Mark the venue a risk area for a window: its visitors in the window get the risk-area
    rule's hit; their stored colours are refreshed now."""
    if officer.role != "officer" or officer.district_code != venue.district_code:
        raise decisions.OutOfDistrict()
    reason = decisions.required_reason(reason)
    check_window(start, end)
    moment = now or utcnow()
    window = VenueRiskWindow(
        venue_id=venue.id,
        starts_at=start,
        ends_at=end,
        days=days,
        reason=reason,
        set_by=officer.id,
        set_at=moment,
    )
    db.session.add(window)
    db.session.flush()
    audit.append(
        "venue.risk",
        "venue",
        venue.id,
        actor=officer,
        after={"window": window.id, "from": start.isoformat(), "to": end.isoformat(), "days": days},
        reason=reason,
        at=moment,
    )
    _refresh_visitors(venue, start, end, officer, reason, moment)
    return window


def end_risk(
    window: VenueRiskWindow, officer: User, reason: str, now: datetime | None = None
) -> None:
    """Take a risk window back (marked by mistake): its hits end; colours are refreshed."""
    venue = window.venue
    if officer.role != "officer" or officer.district_code != venue.district_code:
        raise decisions.OutOfDistrict()
    reason = decisions.required_reason(reason)
    moment = now or utcnow()
    window.active = False
    audit.append(
        "venue.risk_end",
        "venue",
        venue.id,
        actor=officer,
        after={"window": window.id},
        reason=reason,
        at=moment,
    )
    db.session.flush()
    _refresh_visitors(venue, window.starts_at, window.ends_at, officer, reason, moment)


def _refresh_visitors(venue, start, end, officer, reason, moment) -> None:
    holder_ids = db.session.scalars(
        db.select(VenueVisit.holder_id)
        .where(VenueVisit.venue_id == venue.id, VenueVisit.at >= start, VenueVisit.at <= end)
        .distinct()
    ).all()
    for holder_id in sorted(holder_ids):
        holder = db.session.get(Holder, holder_id)
        registry.store_colour(holder, moment, actor=officer, reason=reason)


def risk_windows(venue: Venue) -> list[VenueRiskWindow]:
    return list(
        db.session.scalars(
            db.select(VenueRiskWindow)
            .where(VenueRiskWindow.venue_id == venue.id)
            .order_by(VenueRiskWindow.starts_at.desc())
        )
    )


# Figures


@dataclass(frozen=True)
class VenueFigures:
    per_hour: list[tuple[int, int]]
    colours: dict[str, int]
    total: int


def _utc_hour(column):
    """The hour of a UTC time column, on either database."""
    if db.session.get_bind().dialect.name == "sqlite":
        # Stored as text, "2026-12-07 04:05:06.000000" (UTC): the hour is characters 12-13.
        return func.cast(func.substr(column, 12, 2), db.Integer)
    return func.cast(func.extract("hour", func.timezone("UTC", column)), db.Integer)


# Asia/Shanghai has been UTC+8 all year since 1991: an hour of the day moves by 8.
SHANGHAI_OFFSET_HOURS = 8


def area_figures(area, first: date, last: date) -> VenueFigures:
    """Check-ins at the venues of an area between two days (`area(column)` narrows a district
    code column to it: stats.figures.Scope.where), by hour of the day and by the colour shown;
    counted by the database (a station's month is a million rows)."""
    start, end = rules.day_start(first), rules.day_start(last + timedelta(days=1))
    hour = _utc_hour(VenueVisit.at)
    rows = db.session.execute(
        db.select(hour, VenueVisit.colour, func.count())
        .join(Venue, Venue.id == VenueVisit.venue_id)
        .where(VenueVisit.at >= start, VenueVisit.at < end, area(Venue.district_code))
        .group_by(hour, VenueVisit.colour)
    ).all()
    colours = {colour.value: 0 for colour in Colour}
    per_hour = dict.fromkeys(range(24), 0)
    for utc_hour, colour, count in rows:
        colours[colour] = colours.get(colour, 0) + count
        per_hour[(int(utc_hour) + SHANGHAI_OFFSET_HOURS) % 24] += count
    return VenueFigures(sorted(per_hour.items()), colours, sum(colours.values()))
