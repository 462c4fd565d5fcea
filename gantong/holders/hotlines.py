"""The epidemic-prevention hotline of each district, shown on the code page (12320 when unset)."""

from __future__ import annotations

import re

from gantong import audit
from gantong.extensions import db
from gantong.models import DistrictHotline, User, utcnow

# The national public-health hotline, answered in every district.
DEFAULT_HOTLINE = "12320"
# Digits, with the spaces and dashes an area code is written with: 12320, 0791-12345678.
HOTLINE_FORMAT = re.compile(r"[0-9][0-9 \-]{2,18}[0-9]")


def hotline(district_code: str) -> str:
    """Return the district's hotline, or the national one when none is set."""
    row = db.session.get(DistrictHotline, district_code)
    return row.phone if row is not None else DEFAULT_HOTLINE


def all_set() -> list[DistrictHotline]:
    return list(
        db.session.scalars(db.select(DistrictHotline).order_by(DistrictHotline.district_code))
    )


def set_hotline(district_code: str, phone: str, actor: User) -> None:
    """Set (or, with an empty phone, clear back to 12320) a district's hotline; audited."""
    row = db.session.get(DistrictHotline, district_code)
    before = {"phone": row.phone if row else DEFAULT_HOTLINE}
    phone = " ".join(phone.split())
    if not phone or phone == DEFAULT_HOTLINE:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(
            DistrictHotline(district_code=district_code, phone=phone, updated_by=actor.id)
        )
    else:
        row.phone, row.updated_at, row.updated_by = phone, utcnow(), actor.id
    audit.append(
        "hotline.set",
        "district",
        district_code,
        actor=actor,
        before=before,
        after={"phone": phone or DEFAULT_HOTLINE},
    )
    db.session.flush()
