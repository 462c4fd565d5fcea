"""Statistics: codes by colour, verifications, fevers and pending cases, for one scope.

A scope is the whole province, one city (four digits) or one district (six digits); officers
only ever get their own district's scope. Days are Asia/Shanghai days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func

from gantong.core import divisions, rules
from gantong.extensions import db
from gantong.models import (
    Application,
    Claim,
    ColourChange,
    FeverFinding,
    Holder,
    InformationPoint,
    LabResult,
    VerificationRecord,
)

COLOURS = (rules.GREEN, rules.YELLOW, rules.RED)
# Upper bounds in days of the age buckets of pending applications and claims; the last is open.
AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, None))
POINTS_SHOWN = 30


@dataclass(frozen=True)
class Scope:
    """The area the numbers cover: "" the province, a city code or a district code."""

    code: str = ""

    @property
    def level(self) -> str:
        return {0: "province", 4: "city", 6: "district"}[len(self.code)]

    def where(self, column):
        """A filter on a district-code column that keeps only this scope's rows."""
        if not self.code:
            return db.true()
        if len(self.code) == 6:
            return column == self.code
        return column.startswith(self.code, autoescape=True)

    def areas(self) -> list[str]:
        """The codes one level down that the colour table lists, even when they count nothing."""
        if self.level == "province":
            return [
                code
                for code in divisions.all_divisions()
                if len(code) == 4 and code.startswith(divisions.JIANGXI)
            ]
        if self.level == "city":
            return [
                code for code in divisions.jiangxi_district_codes() if code.startswith(self.code)
            ]
        return [self.code]


@dataclass
class AreaColours:
    code: str
    green: int = 0
    yellow: int = 0
    red: int = 0

    @property
    def total(self) -> int:
        return self.green + self.yellow + self.red


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class PointCount:
    point_id: int
    name: str
    district_code: str
    count: int


@dataclass(frozen=True)
class AgeCount:
    low: int
    high: int | None
    applications: int
    claims: int


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants that open the first day and close the last, in Asia/Shanghai."""
    return rules.day_start(start), rules.day_start(end + timedelta(days=1))


def _local_day(column):
    # Asia/Shanghai has kept UTC+8 without summer time since 1991, so on SQLite (UTC text)
    # adding eight hours gives the local date; PostgreSQL converts with its own zone data.
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", column))
    return func.date(column, "+8 hours")


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _every_day(start: date, end: date, counts: dict[date, int]) -> list[DayCount]:
    days = (end - start).days + 1
    return [
        DayCount(start + timedelta(days=n), counts.get(start + timedelta(days=n), 0))
        for n in range(days)
    ]


def colours_by_area(scope: Scope) -> list[AreaColours]:
    """Count stored colours per city (province scope) or per district (city or district scope)."""
    if scope.level == "province":
        area = func.substr(Holder.district_code, 1, 4)
    else:
        area = Holder.district_code
    area = area.label("area")
    # Only holders with a code: one who has not declared yet has no colour.
    has_code = db.select(ColourChange.id).where(ColourChange.holder_id == Holder.id).exists()
    query = (
        db.select(area, Holder.colour, func.count())
        .where(scope.where(Holder.district_code), has_code)
        .group_by(area, Holder.colour)
    )
    rows = {code: AreaColours(code) for code in scope.areas()}
    for code, colour, count in db.session.execute(query):
        row = rows.setdefault(code, AreaColours(code))
        if colour in COLOURS:
            setattr(row, colour, count)
    return list(rows.values())


def verifications_per_day(scope: Scope, start: date, end: date) -> list[DayCount]:
    """Count verifications at the scope's points on each day from start to end."""
    return _per_day(
        VerificationRecord.verified_at,
        start,
        end,
        scope,
        district=InformationPoint.district_code,
        join=(InformationPoint, InformationPoint.id == VerificationRecord.point_id),
    )


def verifications_per_point(
    scope: Scope, start: date, end: date, limit: int = POINTS_SHOWN
) -> list[PointCount]:
    """The scope's busiest points from start to end, busiest first."""
    first, after = day_bounds(start, end)
    count = func.count(VerificationRecord.id).label("count")
    query = (
        db.select(InformationPoint.id, InformationPoint.name, InformationPoint.district_code, count)
        .join(VerificationRecord, VerificationRecord.point_id == InformationPoint.id)
        .where(
            VerificationRecord.verified_at >= first,
            VerificationRecord.verified_at < after,
            scope.where(InformationPoint.district_code),
        )
        .group_by(InformationPoint.id, InformationPoint.name, InformationPoint.district_code)
        .order_by(count.desc(), InformationPoint.id)
        .limit(limit)
    )
    return [PointCount(*row) for row in db.session.execute(query)]


def fevers_per_day(scope: Scope, start: date, end: date) -> list[DayCount]:
    """Count fevers found at checkpoints (not voided) among the scope's holders, per day."""
    return _per_day(
        FeverFinding.at,
        start,
        end,
        scope,
        FeverFinding.voided_at.is_(None),
        district=Holder.district_code,
        join=(Holder, Holder.id == FeverFinding.holder_id),
    )


def results_per_day(scope: Scope, start: date, end: date) -> list[DayCount]:
    """Count verified test results received each day; within a city or district, those of the
    holders living there (a result for nobody registered yet counts for the province only)."""
    return _per_day(
        LabResult.received_at,
        start,
        end,
        scope,
        district=Holder.district_code,
        join=(Holder, Holder.id == LabResult.holder_id),
    )


@dataclass(frozen=True)
class AreaCount:
    code: str
    count: int


def positives_by_area(scope: Scope, start: date, end: date) -> list[AreaCount]:
    """Count positive results sampled from start to end, per city (province scope) or per
    district, by where the holder lives."""
    first, after = day_bounds(start, end)
    area = (
        func.substr(Holder.district_code, 1, 4)
        if scope.level == "province"
        else Holder.district_code
    ).label("area")
    query = (
        db.select(area, func.count())
        .select_from(LabResult)
        .join(Holder, Holder.id == LabResult.holder_id)
        .where(
            LabResult.result == rules.POSITIVE,
            LabResult.sampled_at >= first,
            LabResult.sampled_at < after,
            scope.where(Holder.district_code),
        )
        .group_by(area)
    )
    counts = dict(db.session.execute(query).all())
    return [AreaCount(code, counts.get(code, 0)) for code in scope.areas()]


def _per_day(
    moment, start: date, end: date, scope: Scope, *conditions, district, join
) -> list[DayCount]:
    """Count the rows whose `moment` falls on each day from start to end (Asia/Shanghai days) and
    that meet the conditions; within a scope, those whose `district` (reached by `join`) is in it."""
    first, after = day_bounds(start, end)
    day = _local_day(moment).label("day")
    query = (
        db.select(day, func.count())
        .where(moment >= first, moment < after, *conditions)
        .group_by(day)
    )
    if scope.code:
        query = query.join(*join).where(scope.where(district))
    counts = {_as_date(value): count for value, count in db.session.execute(query)}
    return _every_day(start, end, counts)


def _pending_ages(model, scope: Scope, now: datetime) -> dict[int, int]:
    bucket = case(
        *[
            (model.created_at > now - timedelta(days=high), index)
            for index, (_low, high) in enumerate(AGE_BUCKETS)
            if high is not None
        ],
        else_=len(AGE_BUCKETS) - 1,
    ).label("bucket")
    query = (
        db.select(bucket, func.count())
        .join(Holder, Holder.id == model.holder_id)
        .where(model.status == "pending", scope.where(Holder.district_code))
        .group_by(bucket)
    )
    return dict(db.session.execute(query).all())


def pending_by_age(scope: Scope, now: datetime) -> list[AgeCount]:
    """Count pending transcoding applications and claims by how long they have waited."""
    applications = _pending_ages(Application, scope, now)
    claims = _pending_ages(Claim, scope, now)
    return [
        AgeCount(low, high, applications.get(index, 0), claims.get(index, 0))
        for index, (low, high) in enumerate(AGE_BUCKETS)
    ]


def default_range(today: date, days: int = 14) -> tuple[date, date]:
    """The last `days` days up to today."""
    return today - timedelta(days=days - 1), today


@dataclass(frozen=True)
class DistrictRow:
    code: str
    points: int
    active_points: int
    holders: int


def districts_overview() -> list[DistrictRow]:
    """Every Jiangxi district with its information points and code holders counted."""
    points = {
        code: (total, active or 0)
        for code, total, active in db.session.execute(
            db.select(
                InformationPoint.district_code,
                func.count(),
                func.sum(case((InformationPoint.active, 1), else_=0)),
            ).group_by(InformationPoint.district_code)
        )
    }
    holders = dict(
        db.session.execute(
            db.select(Holder.district_code, func.count()).group_by(Holder.district_code)
        ).all()
    )
    return [
        DistrictRow(code, *points.get(code, (0, 0)), holders.get(code, 0))
        for code in divisions.jiangxi_district_codes()
    ]
