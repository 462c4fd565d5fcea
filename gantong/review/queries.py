"""What a district officer reads: the pending queue, people, and one person's file."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, func, literal, or_, union_all

from gantong.checkpoint import verification
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Application, Claim, ColourChange, Holder, OfficialRecord, User, utcnow
from gantong.review import applications, claims, official_records
from gantong.web.paging import Page

KINDS = ("application", "claim", "official")
PER_PAGE = 20


@dataclass
class QueueItem:
    kind: str
    item: Application | Claim | OfficialRecord
    holder: Holder
    since: datetime


@dataclass
class QueuePage:
    items: list[QueueItem]
    page: int
    pages: int
    total: int


def _pending(kind: str, district: str, cutoff: datetime | None):
    model, since, pending = {
        "application": (
            Application,
            Application.created_at,
            Application.status == applications.PENDING,
        ),
        "claim": (Claim, Claim.created_at, Claim.status == claims.PENDING),
        "official": (
            OfficialRecord,
            OfficialRecord.recorded_at,
            OfficialRecord.state == official_records.PENDING,
        ),
    }[kind]
    query = (
        db.select(literal(kind, String).label("kind"), model.id.label("id"), since.label("since"))
        .join(Holder, Holder.id == model.holder_id)
        .where(pending, Holder.district_code == district)
    )
    return query.where(since <= cutoff) if cutoff is not None else query


def pending_queue(
    district: str,
    kind: str = "",
    min_age_days: int = 0,
    page: int = 1,
    now: datetime | None = None,
    per_page: int = PER_PAGE,
) -> QueuePage:
    """Return one page of the district's pending applications, claims and records, oldest first."""
    cutoff = (now or utcnow()) - timedelta(days=min_age_days) if min_age_days else None
    kinds = [kind] if kind in KINDS else list(KINDS)
    everything = union_all(*(_pending(name, district, cutoff) for name in kinds)).subquery()
    total = db.session.scalar(db.select(db.func.count()).select_from(everything)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        db.select(everything.c.kind, everything.c.id)
        .order_by(everything.c.since, everything.c.kind, everything.c.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    models = {"application": Application, "claim": Claim, "official": OfficialRecord}
    items = []
    for row_kind, row_id in rows:
        item = db.session.get(models[row_kind], row_id)
        since = item.recorded_at if row_kind == "official" else item.created_at
        items.append(QueueItem(row_kind, item, item.holder, since))
    return QueuePage(items, page, pages, total)


# Fewer characters of a number match too many people to be a tail worth showing.
DOCUMENT_TAIL_MIN = 4


def _starting_with(text: str) -> str:
    """A LIKE pattern for values that start with `text`, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def find_people(district: str, text: str, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Find the district's holders whose name starts with `text` or whose document number ends
    with it (4 characters or more), by name; one page, and whether another follows."""
    text = text.strip()
    if not text:
        return Page([], 1, False)
    # lower() on both sides: the index is of lower(name) (see the model).
    matches = [func.lower(Holder.name).like(_starting_with(text.lower()), escape="\\")]
    number = "".join(text.split()).upper()
    if len(number) >= DOCUMENT_TAIL_MIN:
        # The tail of the number is the start of the number reversed (see the model).
        matches.append(Holder.doc_number_reversed.like(_starting_with(number[::-1]), escape="\\"))
    query = (
        db.select(Holder)
        .where(Holder.district_code == district, or_(*matches))
        .order_by(Holder.name, Holder.id)
        .limit(per_page + 1)  # one more than shown says whether a next page exists
        .offset((page - 1) * per_page)
    )
    rows = list(db.session.scalars(query))
    return Page(rows[:per_page], page, len(rows) > per_page)


def person_file(holder: Holder, now: datetime | None = None) -> dict:
    """Everything an officer weighs about one holder: facts, hits, checks, history, requests."""
    moment = now or utcnow()
    changes = list(
        db.session.scalars(
            db.select(ColourChange)
            .where(ColourChange.holder_id == holder.id)
            .order_by(ColourChange.id.desc())
        )
    )
    records = official_records.for_holder(holder)
    holder_applications = applications.for_holder(holder)
    holder_claims = claims.for_holder(holder)
    named = {record.recorded_by for record in records} | {record.approved_by for record in records}
    named |= {item.decided_by for item in [*holder_applications, *holder_claims]}
    named |= {declaration.author_id for declaration in holder.declarations}
    return {
        "holder": holder,
        "account": db.session.get(User, holder.account_id) if holder.account_id else None,
        "result": registry.colour_of(holder, moment),
        "declarations": list(reversed(holder.declarations)),
        "checks": verification.checks_for_holder(holder),
        "changes": changes,
        "records": records,
        "applications": holder_applications,
        "claims": holder_claims,
        "users": users_by_id(named),
    }


def users_by_id(ids) -> dict[int, User]:
    """Return the named accounts by id, to say who recorded, approved or decided what."""
    wanted = {user_id for user_id in ids if user_id is not None}
    if not wanted:
        return {}
    return {
        user.id: user for user in db.session.scalars(db.select(User).where(User.id.in_(wanted)))
    }
