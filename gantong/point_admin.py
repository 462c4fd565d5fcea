"""Editing information points: name, district, address, position, and whether they are in use.

Creating points and their API tokens is in points.py; every change here is an audit event.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from . import audit
from .extensions import db
from .models import InformationPoint, PointApiToken, User

PAGE_SIZE = 50


@dataclass(frozen=True)
class PointDetails:
    name: str
    district_code: str
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None


def _details_of(point: InformationPoint) -> dict:
    return {"name": point.name, "district_code": point.district_code, "address": point.address,
            "latitude": point.latitude, "longitude": point.longitude}


def update_point(point: InformationPoint, details: PointDetails, actor: User) -> None:
    """Change a point's name, district, address or position."""
    before = _details_of(point)
    for name, value in asdict(details).items():
        setattr(point, name, value)
    after = _details_of(point)
    if after != before:
        changed = [name for name in after if after[name] != before[name]]
        audit.append("point.update", "point", point.id, actor=actor,
                     before={name: before[name] for name in changed},
                     after={name: after[name] for name in changed})
    db.session.commit()


def set_point_active(point: InformationPoint, active: bool, actor: User, reason: str = "") -> None:
    """Take a point out of use (its staff and API tokens stop verifying) or back into use."""
    if point.active == active:
        return
    point.active = active
    audit.append("point.reactivate" if active else "point.deactivate", "point", point.id,
                 actor=actor, before={"active": not active}, after={"active": active}, reason=reason)
    db.session.commit()


def list_points(district_code: str = "", page: int = 1) -> tuple[list[InformationPoint], bool]:
    """Points by district then name, a page at a time; return them and whether more follow."""
    query = db.select(InformationPoint)
    if district_code:
        query = query.where(InformationPoint.district_code == district_code)
    page = max(page, 1)
    rows = list(db.session.scalars(
        query.order_by(InformationPoint.district_code, InformationPoint.name, InformationPoint.id)
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def api_tokens(point: InformationPoint) -> list[PointApiToken]:
    """The point's API tokens (hashes only), newest first."""
    return list(db.session.scalars(
        db.select(PointApiToken).where(PointApiToken.point_id == point.id)
        .order_by(PointApiToken.id.desc())))


def staff_at(point: InformationPoint) -> list[User]:
    return list(db.session.scalars(
        db.select(User).where(User.point_id == point.id, User.role == "staff").order_by(User.id)))


def active_points() -> list[InformationPoint]:
    return list(db.session.scalars(
        db.select(InformationPoint).where(InformationPoint.active)
        .order_by(InformationPoint.district_code, InformationPoint.name)))
