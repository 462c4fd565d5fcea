"""Information points and their API tokens."""
from __future__ import annotations

import hashlib
import secrets

from . import audit
from .extensions import db
from .models import InformationPoint, PointApiToken, utcnow

TOKEN_PREFIX = "gtp_"


def find_by_name(name: str) -> InformationPoint | None:
    return db.session.scalar(db.select(InformationPoint).where(InformationPoint.name == name))


def add_point(name: str, district_code: str, address: str = "", latitude=None, longitude=None,
              actor=None) -> InformationPoint:
    point = InformationPoint(name=name, district_code=district_code, address=address,
                             latitude=latitude, longitude=longitude)
    db.session.add(point)
    db.session.flush()
    audit.append("point.create", "point", point.id, actor=actor,
                 after={"name": name, "district_code": district_code})
    db.session.commit()
    return point


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token(point_id: int, label: str = "", actor=None) -> str:
    """Make a token for the point; return it (shown once): only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = PointApiToken(point_id=point_id, token_hash=_hash(token), label=label)
    db.session.add(row)
    db.session.flush()
    audit.append("point.api_token.create", "point", point_id, actor=actor, after={"token_id": row.id})
    db.session.commit()
    return token


def point_for_api_token(token: str) -> InformationPoint | None:
    """Return the active point a live API token belongs to, or None."""
    query = (
        db.select(InformationPoint)
        .join(PointApiToken, PointApiToken.point_id == InformationPoint.id)
        .where(PointApiToken.token_hash == _hash(token), PointApiToken.revoked_at.is_(None),
               InformationPoint.active)
    )
    return db.session.scalar(query)


def revoke_api_token(token_id: int, actor=None) -> None:
    row = db.session.get(PointApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append("point.api_token.revoke", "point", row.point_id, actor=actor, after={"token_id": token_id})
        db.session.commit()
