"""Code holders: adding people, declarations, and keeping the stored colour current."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from gantong import audit, transactions
from gantong.core import rules, tokens
from gantong.extensions import db
from gantong.holders import notifications
from gantong.models import (
    Clearance,
    ColourChange,
    Declaration,
    DynamicNumber,
    FeverFinding,
    Holder,
    OfficialRecord,
    PreEntry,
    RiskArea,
    Stay,
    User,
    utcnow,
)

# How a holder is related to the account's owner (shown beside their full name).
RELATION_SELF, RELATION_OTHER = "self", "other"
RELATIONS = (RELATION_SELF, "child", "parent", "spouse", RELATION_OTHER)


class DocumentTaken(Exception):
    """The document is registered to a holder already."""


@dataclass
class Identity:
    name: str
    doc_type: str
    doc_number: str
    doc_country: str
    nationality: str
    district_code: str
    address: str


@dataclass
class DeclarationFacts:
    symptoms: list[str]
    close_contact: bool
    contact_date: date | None
    stays: list[tuple[str, date, date]] = field(default_factory=list)
    entry_date: date | None = None
    entry_port: str | None = None


def document_registered(identity: Identity) -> bool:
    query = db.select(Holder.id).where(
        Holder.doc_type == identity.doc_type,
        Holder.doc_country == identity.doc_country,
        Holder.doc_number == identity.doc_number,
    )
    return db.session.scalar(query) is not None


def add_holder(account: User | None, identity: Identity, is_self: bool = False, *,
               actor: User | None = None, commit: bool = True, issue_code: bool = False,
               relation: str | None = None) -> Holder:
    """Create a code holder; raise DocumentTaken if the document is registered already.

    The holder has no code until their first declaration (refresh_colour issues it), unless
    issue_code: an officer registering a person in front of them for a paper code.
    `actor` is who registered the person when it is not the account (an officer); with
    commit=False the caller finishes the transaction (pre-entry, paper code).
    """
    if document_registered(identity):
        raise DocumentTaken()
    holder = Holder(
        account=account,
        is_self=is_self,
        code_id=tokens.new_subject(),
        secret=secrets.token_bytes(20),
        name=identity.name,
        doc_type=identity.doc_type,
        doc_number=identity.doc_number,
        doc_country=identity.doc_country,
        nationality=identity.nationality,
        district_code=identity.district_code,
        address=identity.address,
        colour=rules.GREEN,
        relation=relation or (RELATION_SELF if is_self else RELATION_OTHER),
    )
    db.session.add(holder)
    try:
        db.session.flush()
    except IntegrityError as error:  # a concurrent registration of the same document
        db.session.rollback()
        raise DocumentTaken() from error
    audit.append("holder.create", "holder", holder.id, actor=actor or account)
    if issue_code:
        db.session.add(ColourChange(holder_id=holder.id, before=None, after=rules.GREEN))
        audit.append("code.issue", "holder", holder.id, actor=actor or account, after={"colour": rules.GREEN})
    if commit:
        db.session.commit()
    return holder


def declare(holder: Holder, facts: DeclarationFacts, author: User | None) -> Declaration:
    """Add a declaration (never edit one) and refresh the holder's colour, in one transaction."""
    declaration = Declaration(
        holder=holder,
        author_id=author.id if author else None,
        symptoms=",".join(s for s in rules.SYMPTOMS if s in facts.symptoms),
        close_contact=facts.close_contact,
        contact_date=facts.contact_date if facts.close_contact else None,
        entry_date=facts.entry_date,
        entry_port=facts.entry_port or None,
        acknowledged=True,
    )
    declaration.stays = [Stay(place_code=code, start=start, end=end) for code, start, end in facts.stays]
    db.session.add(declaration)
    db.session.flush()
    refresh_colour(holder, actor=author, commit=False)
    db.session.commit()
    return declaration


def risk_areas() -> list[rules.RiskArea]:
    rows = db.session.scalars(db.select(RiskArea).where(RiskArea.active))
    return [
        rules.RiskArea(
            code=row.code, name=row.name, days=row.days,
            active_from=row.active_from, active_to=row.active_to,
        )
        for row in rows
    ]


def facts_for(holder: Holder) -> rules.Facts:
    """Gather the holder's facts for the colour rules."""
    declarations = tuple(
        rules.Declaration(
            id=row.id,
            made_at=row.made_at,
            symptoms=frozenset(row.symptom_list),
            close_contact=row.close_contact,
            contact_date=row.contact_date,
            stays=tuple(rules.Stay(s.place_code, s.start, s.end) for s in row.stays),
            entry_date=row.entry_date,
            entry_port=row.entry_port,
        )
        for row in holder.declarations
    )
    # A pre-entry's quarantine counts from the actual arrival once known.
    declarations, arrival_date = arrival_facts(holder, declarations)
    findings = db.session.scalars(db.select(FeverFinding).where(FeverFinding.holder_id == holder.id))
    fevers = tuple(
        rules.CheckpointFever(
            id=finding.id, at=finding.at, point=finding.point_name,
            temperature=finding.temperature, voided=finding.voided_at is not None,
        )
        for finding in findings
    )
    in_force = db.session.scalars(
        db.select(OfficialRecord)
        .where(OfficialRecord.holder_id == holder.id, OfficialRecord.state == "in_force")
        .order_by(OfficialRecord.id)
    )
    official_records = tuple(
        rules.OfficialRecord(
            id=record.id, status=record.status,
            # In force from the second officer's approval, not from the first officer's draft.
            at=record.decided_at or record.recorded_at,
            contact_date=record.contact_date, basis=record.basis, department=record.department,
        )
        for record in in_force
    )
    clearances = db.session.execute(
        db.select(Clearance.hit_key, Clearance.source).where(Clearance.holder_id == holder.id)
    ).all()
    cleared = frozenset(key for key, _source in clearances)
    # An accepted claim says the fact was wrong, not that it has run its course.
    retracted = frozenset(key for key, source in clearances if source.startswith("claim:"))
    return rules.Facts(declarations=declarations, fevers=fevers, official_records=official_records,
                       cleared=cleared, retracted=retracted, arrival_date=arrival_date)


def lock(holder: Holder, fresh: bool = False) -> None:
    """Serialise decisions about one holder until the transaction ends.

    fresh=True also reads the holder's row again under the lock (its stored colour may have been
    changed by the transaction that held the lock before): pass it before refreshing the colour.
    """
    # On SQLite every write transaction begins IMMEDIATE and holds the database lock already.
    if db.session.get_bind().dialect.name == "postgresql":
        if fresh:
            db.session.execute(db.select(Holder).where(Holder.id == holder.id).with_for_update()
                               .execution_options(populate_existing=True))
        else:
            db.session.execute(db.select(Holder.id).where(Holder.id == holder.id).with_for_update())


def evaluate(holder: Holder, now: datetime | None = None) -> rules.Result:
    return rules.evaluate(facts_for(holder), risk_areas(), now or utcnow())


def refresh_colour(
    holder: Holder, now: datetime | None = None, actor: User | None = None, commit: bool = True,
    reason: str = "",
) -> rules.Result:
    """Recompute the colour; a change is stored with a history row, an audit event and a notice."""
    # `reason` is the deciding officer's words, shown to the holder beside the change.
    # A holder's first code comes with their first declaration (or a fact an officer records):
    # until then nothing is stored, and the code page asks for a declaration.
    moment = now or utcnow()
    result = evaluate(holder, moment)
    first = not has_code(holder)
    if first and not holder.declarations and result.colour == rules.GREEN:
        return result
    if first or result.colour != holder.colour:
        before = None if first else holder.colour
        db.session.add(
            ColourChange(
                holder_id=holder.id,
                at=moment,
                before=before,
                after=result.colour,
                rules=",".join(sorted({hit.rule for hit in result.hits})),
                actor_id=actor.id if actor else None,
                reason=reason,
            )
        )
        audit.append(
            "code.issue" if first else "colour.change", "holder", holder.id, actor=actor,
            before={"colour": before}, after={"colour": result.colour}, at=moment,
            reason=reason,
        )
        if before is not None:
            notifications.colour_changed(holder, before, result.colour, reason, moment)
        holder.colour = result.colour
        holder.colour_at = moment
        if commit:
            db.session.commit()
    return result


def current_colour(holder: Holder, now: datetime | None = None) -> rules.Result:
    """Return the holder's colour of now, storing it only when it changed (the code page).

    The facts are read without the write lock; only a change takes it, and is decided again
    under it on facts read afresh, so a fever recorded in between is never overwritten.
    """
    moment = now or utcnow()
    result = evaluate(holder, moment)
    if result.colour == holder.colour:
        return result
    transactions.writing()
    lock(holder, fresh=True)
    return refresh_colour(holder, moment, commit=False)


def recompute_all(now: datetime | None = None, batch: int = 500) -> int:
    """Refresh every holder's stored colour (hits that end with time); return how many changed."""
    changed = 0
    last_id = 0
    while True:
        query = db.select(Holder).where(Holder.id > last_id).order_by(Holder.id).limit(batch)
        page = db.session.scalars(query).all()
        if not page:
            return changed
        for holder in page:
            before = holder.colour
            refresh_colour(holder, now, commit=False)
            changed += holder.colour != before
        db.session.commit()
        last_id = page[-1].id


def has_code(holder: Holder) -> bool:
    """Whether the holder has been given a code (their first declaration, or an officer's fact)."""
    query = db.select(ColourChange.id).where(ColourChange.holder_id == holder.id).limit(1)
    return db.session.scalar(query) is not None


def coded_ids(holders: list[Holder]) -> set[int]:
    """The ids among `holders` that have been given a code."""
    ids = [holder.id for holder in holders]
    query = db.select(ColourChange.holder_id).where(ColourChange.holder_id.in_(ids)).distinct()
    return set(db.session.scalars(query))


def colour_history(holder: Holder, limit: int | None = None) -> list[ColourChange]:
    query = (
        db.select(ColourChange)
        .where(ColourChange.holder_id == holder.id)
        .order_by(ColourChange.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


NUMBER_STEP = 60


def dynamic_number(holder: Holder, now: datetime | None = None) -> str:
    """Return the holder's number for this minute, registered so that a checkpoint can look it up."""
    moment = now or utcnow()
    number = tokens.dynamic_number(holder.secret, int(moment.timestamp()), step=NUMBER_STEP)
    start = datetime.fromtimestamp(int(moment.timestamp()) // NUMBER_STEP * NUMBER_STEP, moment.tzinfo)
    query = db.select(DynamicNumber.id).where(
        DynamicNumber.holder_id == holder.id, DynamicNumber.number == number
    )
    if db.session.scalar(query) is None:
        transactions.writing()
        if db.session.scalar(query) is not None:  # another request registered it meanwhile
            return number
        # Typed numbers stay good for one more minute, as a printed TOTP would.
        db.session.execute(
            db.delete(DynamicNumber).where(
                DynamicNumber.holder_id == holder.id, DynamicNumber.valid_until < moment
            )
        )
        db.session.add(
            DynamicNumber(number=number, holder_id=holder.id, valid_from=start,
                          valid_until=start + timedelta(seconds=2 * NUMBER_STEP))
        )
        db.session.commit()
    return number


def number_valid_until(now: datetime) -> datetime:
    """When the number shown at `now` stops being accepted (the end of the next minute)."""
    start = int(now.timestamp()) // NUMBER_STEP * NUMBER_STEP
    return datetime.fromtimestamp(start + 2 * NUMBER_STEP, now.tzinfo)


def holders_by_number(number: str, now: datetime | None = None) -> list[Holder]:
    """Return the holders whose code shows this number now (almost always one, or none)."""
    moment = now or utcnow()
    query = (
        db.select(Holder)
        .join(DynamicNumber, DynamicNumber.holder_id == Holder.id)
        .where(DynamicNumber.number == number, DynamicNumber.valid_from <= moment,
               DynamicNumber.valid_until > moment)
        .distinct()
    )
    return list(db.session.scalars(query))


def pre_entry_of(holder: Holder) -> PreEntry | None:
    """Return the holder's latest pre-entry registration, or None."""
    query = db.select(PreEntry).where(PreEntry.holder_id == holder.id).order_by(PreEntry.id.desc()).limit(1)
    return db.session.scalar(query)


def arrival_facts(holder: Holder, declarations: tuple[rules.Declaration, ...]
                  ) -> tuple[tuple[rules.Declaration, ...], date | None]:
    """Return the declarations and the arrival date the colour rules should count from."""
    pre_entry = pre_entry_of(holder)
    if pre_entry is None or pre_entry.actual_arrival is None:
        return declarations, None
    return rules.with_actual_arrival(declarations, pre_entry.origin_division, pre_entry.planned_arrival,
                               pre_entry.actual_arrival)
