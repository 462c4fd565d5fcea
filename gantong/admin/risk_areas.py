"""Key areas (risk areas) and their quarantine days, as administrators set them.

The colour rules read the table every time they run, so a change counts for every colour
computed after it. The stored colours of the holders whose stays it can touch are refreshed
at once; time-based ends are the recompute job's (flask gantong recompute, from cron).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import or_

from gantong import audit
from gantong.core import divisions
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Declaration, Holder, RiskArea, Stay, User, utcnow

BATCH_SIZE = 500


@dataclass(frozen=True)
class AreaDetails:
    code: str
    name: str
    days: int
    active_from: date | None
    active_to: date | None
    active: bool


def default_name(code: str) -> str:
    """The division's Chinese name with its parent: 湖北省, 湖北省武汉市."""
    return divisions.display_name(code, "zh")


def _details_of(area: RiskArea) -> dict:
    return {
        "code": area.code,
        "name": area.name,
        "days": area.days,
        "active_from": area.active_from,
        "active_to": area.active_to,
        "active": area.active,
    }


def list_areas() -> list[RiskArea]:
    return list(
        db.session.scalars(
            db.select(RiskArea).order_by(RiskArea.active.desc(), RiskArea.code, RiskArea.id)
        )
    )


def save_area(
    area: RiskArea | None, details: AreaDetails, actor: User, now: datetime | None = None
) -> tuple[RiskArea, int]:
    """Add an area (area None) or change one; return it and how many stored colours changed."""
    codes = {details.code}
    if area is None:
        area = RiskArea(**asdict(details))
        db.session.add(area)
        db.session.flush()
        audit.append("risk_area.create", "risk_area", area.id, actor=actor, after=_details_of(area))
    else:
        codes.add(area.code)
        before = _details_of(area)
        for name, value in asdict(details).items():
            setattr(area, name, value)
        after = _details_of(area)
        if after == before:
            db.session.flush()
            return area, 0
        audit.append(
            "risk_area.update", "risk_area", area.id, actor=actor, before=before, after=after
        )
    db.session.flush()
    return area, refresh_affected(codes, now)


def affected_holders_query(codes: set[str]):
    """Ids of holders with a declared stay that an area with one of these codes matches."""
    conditions = []
    for code in codes:
        # A stay inside the area (its code starts with the area's), or a stay given more
        # broadly (a province) that contains it: the rules match both ways.
        prefixes = {code[:length] for length in (2, 4, 6) if length <= len(code)}
        conditions += [
            Stay.place_code.startswith(code, autoescape=True),
            Stay.place_code.in_(prefixes),
        ]
    return (
        db.select(Declaration.holder_id)
        .join(Stay, Stay.declaration_id == Declaration.id)
        .where(or_(*conditions))
        .distinct()
        .order_by(Declaration.holder_id)
    )


def refresh_affected(codes: set[str], now: datetime | None = None) -> int:
    """Refresh the stored colour of every holder the areas can touch; return how many changed."""
    moment = now or utcnow()
    query = affected_holders_query(codes)
    changed, last_id = 0, 0
    while True:
        ids = list(
            db.session.scalars(query.where(Declaration.holder_id > last_id).limit(BATCH_SIZE))
        )
        if not ids:
            return changed
        for holder in db.session.scalars(db.select(Holder).where(Holder.id.in_(ids))):
            before = holder.colour
            registry.store_colour(holder, moment)
            changed += holder.colour != before
        db.session.flush()
        last_id = ids[-1]
