"""Information points (creating, editing, switching off) and their API tokens; every change is
an audit event."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass

from gantong import audit
from gantong.core.kinds import PointMode
from gantong.extensions import db
from gantong.models import InformationPoint, PointApiToken, User, utcnow
from gantong.web.paging import Page, page_of

TOKEN_PREFIX = "gtp_"


def find_by_name(name: str) -> InformationPoint | None:
    return db.session.scalar(db.select(InformationPoint).where(InformationPoint.name == name))


def add_point(
    name: str,
    district_code: str,
    address: str = "",
    latitude=None,
    longitude=None,
    actor=None,
    mode: str = PointMode.RECORD,
    keeps_records: bool = True,
) -> InformationPoint:
    point = InformationPoint(
        name=name,
        district_code=district_code,
        address=address,
        latitude=latitude,
        longitude=longitude,
        mode=mode,
        keeps_records=keeps_records,
    )
    db.session.add(point)
    db.session.flush()
    audit.append(
        "point.create",
        "point",
        point.id,
        actor=actor,
        after={
            "name": name,
            "district_code": district_code,
            "mode": mode,
            "keeps_records": keeps_records,
        },
    )
    db.session.flush()
    return point


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token(point_id: int, label: str = "", actor=None) -> str:
    """Make a token for the point; return it (shown once): only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = PointApiToken(point_id=point_id, token_hash=_hash(token), label=label)
    db.session.add(row)
    db.session.flush()
    audit.append(
        "point.api_token.create", "point", point_id, actor=actor, after={"token_id": row.id}
    )
    db.session.flush()
    return token


def point_for_api_token(token: str) -> InformationPoint | None:
    """Return the active point a live API token belongs to, or None."""
    query = (
        db.select(InformationPoint)
        .join(PointApiToken, PointApiToken.point_id == InformationPoint.id)
        .where(
            PointApiToken.token_hash == _hash(token),
            PointApiToken.revoked_at.is_(None),
            InformationPoint.active,
        )
    )
    return db.session.scalar(query)


def revoke_api_token(token_id: int, actor=None) -> None:
    row = db.session.get(PointApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(
            "point.api_token.revoke",
            "point",
            row.point_id,
            actor=actor,
            after={"token_id": token_id},
        )
        db.session.flush()


PAGE_SIZE = 50


@dataclass(frozen=True)
class PointDetails:
    name: str
    district_code: str
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    mode: str = PointMode.RECORD
    keeps_records: bool = True  # read only at a verify-only point


def _details_of(point: InformationPoint) -> dict:
    return {
        "name": point.name,
        "district_code": point.district_code,
        "address": point.address,
        "latitude": point.latitude,
        "longitude": point.longitude,
        "mode": point.mode,
        "keeps_records": point.keeps_records,
    }


def update_point(point: InformationPoint, details: PointDetails, actor: User) -> None:
    """Change a point's name, district, address, position or mode."""
    before = _details_of(point)
    for name, value in asdict(details).items():
        setattr(point, name, value)
    after = _details_of(point)
    if after != before:
        changed = [name for name in after if after[name] != before[name]]
        audit.append(
            "point.update",
            "point",
            point.id,
            actor=actor,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    db.session.flush()


def set_point_active(point: InformationPoint, active: bool, actor: User, reason: str = "") -> None:
    """Take a point out of use (its staff and API tokens stop verifying) or back into use."""
    audit.switch_active(point, "point", "point", active, actor, reason)


def list_points(district_code: str = "", page: int = 1) -> Page:
    """Points by district then name, a page at a time."""
    query = db.select(InformationPoint)
    if district_code:
        query = query.where(InformationPoint.district_code == district_code)
    query = query.order_by(
        InformationPoint.district_code, InformationPoint.name, InformationPoint.id
    )
    return page_of(query, page, PAGE_SIZE)


def api_tokens(point: InformationPoint) -> list[PointApiToken]:
    """The point's API tokens (hashes only), newest first."""
    return list(
        db.session.scalars(
            db.select(PointApiToken)
            .where(PointApiToken.point_id == point.id)
            .order_by(PointApiToken.id.desc())
        )
    )


def staff_at(point: InformationPoint) -> list[User]:
    return list(
        db.session.scalars(
            db.select(User).where(User.point_id == point.id, User.role == "staff").order_by(User.id)
        )
    )


def active_points() -> list[InformationPoint]:
    return list(
        db.session.scalars(
            db.select(InformationPoint)
            .where(InformationPoint.active)
            .order_by(InformationPoint.district_code, InformationPoint.name)
        )
    )
