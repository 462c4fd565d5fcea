"""Code holders: adding people, declarations, and keeping the stored colour current."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Integer,
    LargeBinary,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError

from gantong import audit
from gantong.core import numbers, rules, tokens
from gantong.core.kinds import OfficialRecordState
from gantong.extensions import db
from gantong.holders import notifications
from gantong.labs import results as lab_results
from gantong.models import (
    Clearance,
    ColourChange,
    Declaration,
    FeverFinding,
    Holder,
    LabResult,
    OfficialRecord,
    PreEntry,
    RiskArea,
    Stay,
    User,
    UTCDateTime,
    Venue,
    VenueRiskWindow,
    VenueVisit,
    utcnow,
)

# How a holder is related to the account's owner (shown beside their full name).
RELATION_SELF, RELATION_OTHER = "self", "other"
RELATIONS = (RELATION_SELF, "child", "parent", "spouse", RELATION_OTHER)


class DocumentTaken(Exception):
    """The document is registered to a holder already."""


class AccountFlagged(Exception):
    """Officers flagged the account for registering someone else's document: it may add no
    people, nor declare for anyone but its own holder, until the flag is cleared."""


def check_not_flagged(account: User | None, holder: Holder | None = None) -> None:
    """:raise AccountFlagged: if a flagged account adds a person, or declares for anyone but
    its own holder (`holder` given)."""
    if account is None or account.flagged_at is None:
        return
    if holder is not None and holder.is_self and holder.account_id == account.id:
        return
    raise AccountFlagged()


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


def add_holder(
    account: User | None,
    identity: Identity,
    is_self: bool = False,
    *,
    actor: User | None = None,
    issue_code: bool = False,
    relation: str | None = None,
) -> Holder:
    """Create a code holder; raise DocumentTaken if the document is registered already.

    The holder has no code until their first declaration (store_colour issues it), unless
    issue_code: an officer registering a person in front of them for a paper code.
    `actor` is who registered the person when it is not the account (an officer).
    """
    if account is not None and account.role == "resident":
        check_not_flagged(account)
    if document_registered(identity):
        raise DocumentTaken()
    holder = Holder(
        account_id=account.id if account else None,
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
    try:
        with db.session.begin_nested():  # only this insert is undone if it collides
            db.session.add(holder)
    except IntegrityError as error:  # a concurrent registration of the same document
        raise DocumentTaken() from error
    if account is not None:
        db.session.expire(account, ["holders"])  # the account's people, read again with this one
    audit.append("holder.create", "holder", holder.id, actor=actor or account)
    if issue_code:
        db.session.add(ColourChange(holder_id=holder.id, before=None, after=rules.GREEN))
        audit.append(
            "code.issue", "holder", holder.id, actor=actor or account, after={"colour": rules.GREEN}
        )
    # Results a lab posted before the person registered (pre-entry too) are theirs now.
    lab_results.match_new_holder(holder)
    db.session.flush()
    return holder


def declare(holder: Holder, facts: DeclarationFacts, author: User | None) -> Declaration:
    """Add a declaration (never edit one) and refresh the holder's colour.

    :raise AccountFlagged: if a flagged account declares for someone but its own holder.
    """
    if author is not None and author.role == "resident":
        check_not_flagged(author, holder)
    lock(holder)  # before the declaration that refers to it (see store_colour)
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
    declaration.stays = [
        Stay(place_code=code, start=start, end=end) for code, start, end in facts.stays
    ]
    db.session.add(declaration)
    db.session.flush()
    store_colour(holder, actor=author)
    return declaration


# The colour's facts and the active risk areas come back as one UNION ALL of plain rows: the
# code page computes the colour on every load, and this is one query where the ORM took seven
# (and one more per declaration for its stays). Each kind of row names its fields once, in
# _fact_branches; they are laid into shared columns by their type (at1, d2, s1...) and read
# back by the same names (FactRow).
_SLOT_TYPES = (
    ("at", UTCDateTime),
    ("d", Date),
    ("b", Boolean),
    ("f", Float),
    ("n", Integer),
    ("s", String),
    ("x", LargeBinary),
)


@cache
def _fact_branches() -> dict:
    """Each kind of row: its id, its fields by name, and what narrows its SELECT to the holder."""
    holder_id = bindparam("holder_id", type_=Integer)
    latest_pre_entry = (
        select(PreEntry.id)
        .where(PreEntry.holder_id == holder_id)
        .order_by(PreEntry.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return _holder_fact_branches(
        lambda column: column == holder_id, lambda: PreEntry.id == latest_pre_entry
    )


def _tagged_fact_branches(holder_ids) -> dict:
    """_fact_branches for every holder whose id `holder_ids` (a SELECT of ids) gives, each row
    carrying its holder's id in the field holder_id (None for a risk area: everyone's)."""
    latest_pre_entries = (
        select(func.max(PreEntry.id))
        .where(PreEntry.holder_id.in_(holder_ids))
        .group_by(PreEntry.holder_id)
    )
    branches = _holder_fact_branches(
        lambda column: column.in_(holder_ids), lambda: PreEntry.id.in_(latest_pre_entries)
    )
    holder_columns = {
        "declaration": Declaration.holder_id,
        "stay": Declaration.holder_id,
        "fever": FeverFinding.holder_id,
        "official": OfficialRecord.holder_id,
        "test_result": LabResult.holder_id,
        "venue_exposure": VenueVisit.holder_id,
        "clearance": Clearance.holder_id,
        "pre_entry": PreEntry.holder_id,
        "risk_area": cast(null(), Integer),
    }
    return {
        kind: (id_, {**fields, "holder_id": holder_columns[kind]}, narrow)
        for kind, (id_, fields, narrow) in branches.items()
    }


def _holder_fact_branches(holder_is: Callable, latest_pre_entry: Callable) -> dict:
    # holder_is(column): the condition that a row's holder column names the holder (or holders);
    # latest_pre_entry(): the condition that a pre-entry row is its holder's latest.
    return {
        "declaration": (
            Declaration.id,
            {
                "made_at": Declaration.made_at,
                "contact_date": Declaration.contact_date,
                "entry_date": Declaration.entry_date,
                "symptoms": Declaration.symptoms,
                "entry_port": Declaration.entry_port,
                "close_contact": Declaration.close_contact,
            },
            # A voided declaration (an identity check in person) stays on file but counts for nothing.
            lambda query: query.where(
                holder_is(Declaration.holder_id), Declaration.voided_at.is_(None)
            ),
        ),
        "stay": (
            Stay.id,
            {
                "declaration_id": Stay.declaration_id,
                "start": Stay.start,
                "end": Stay.end,
                "place_code": Stay.place_code,
            },
            lambda query: query.join(Declaration, Declaration.id == Stay.declaration_id).where(
                holder_is(Declaration.holder_id), Declaration.voided_at.is_(None)
            ),
        ),
        "fever": (
            FeverFinding.id,
            {
                "at": FeverFinding.at,
                "voided_at": FeverFinding.voided_at,
                "point_name": FeverFinding.point_name,
                "temperature": FeverFinding.temperature,
            },
            lambda query: query.where(holder_is(FeverFinding.holder_id)),
        ),
        # In force from the second officer's approval, not from the first officer's draft.
        "official": (
            OfficialRecord.id,
            {
                "at": func.coalesce(OfficialRecord.decided_at, OfficialRecord.recorded_at),
                "contact_date": OfficialRecord.contact_date,
                "status": OfficialRecord.status,
                "basis": OfficialRecord.basis,
                "department": OfficialRecord.department,
                # A lab's positive put in force: the lab and the sample time are its source.
                "lab": LabResult.issuer_name,
                "lab_sampled_at": LabResult.sampled_at,
                "trace_venue": OfficialRecord.trace_venue,
                "trace_from": OfficialRecord.trace_from,
                "trace_to": OfficialRecord.trace_to,
            },
            lambda query: query.outerjoin(
                LabResult, LabResult.id == OfficialRecord.lab_result_id
            ).where(
                holder_is(OfficialRecord.holder_id),
                OfficialRecord.state == OfficialRecordState.IN_FORCE,
            ),
        ),
        # Verified test results (a lab's, or a verified certificate's), for the code page's
        # latest result and the rules that ask for a recent negative.
        "test_result": (
            LabResult.id,
            {
                "sampled_at": LabResult.sampled_at,
                "signed": LabResult.signed,
                "source": LabResult.source,
                "issuer_name": LabResult.issuer_name,
                "test_type": LabResult.test_type,
                "result": LabResult.result,
            },
            lambda query: query.where(holder_is(LabResult.holder_id)),
        ),
        # The holder's check-ins inside a window when the venue was marked a risk area (the
        # holder's visits by time: ix_venue_visit_holder_at).
        "venue_exposure": (
            VenueRiskWindow.id,
            {
                "visited_at": VenueVisit.at,
                "starts_at": VenueRiskWindow.starts_at,
                "ends_at": VenueRiskWindow.ends_at,
                "venue": Venue.name,
                "days": VenueRiskWindow.days,
            },
            lambda query: (
                query.select_from(VenueVisit)
                .join(VenueRiskWindow, VenueRiskWindow.venue_id == VenueVisit.venue_id)
                .join(Venue, Venue.id == VenueVisit.venue_id)
                .where(
                    holder_is(VenueVisit.holder_id),
                    VenueRiskWindow.active,
                    VenueVisit.at >= VenueRiskWindow.starts_at,
                    VenueVisit.at <= VenueRiskWindow.ends_at,
                )
            ),
        ),
        "clearance": (
            Clearance.id,
            {"hit_key": Clearance.hit_key, "source": Clearance.source},
            lambda query: query.where(holder_is(Clearance.holder_id)),
        ),
        "pre_entry": (
            PreEntry.id,
            {
                "created_at": PreEntry.created_at,
                "planned_arrival": PreEntry.planned_arrival,
                "actual_arrival": PreEntry.actual_arrival,
                "origin_division": PreEntry.origin_division,
                "arrival_source": PreEntry.arrival_source,
                "arrival_noted_at": PreEntry.arrival_noted_at,
            },
            lambda query: query.where(latest_pre_entry()),
        ),
        "risk_area": (
            RiskArea.id,
            {
                "active_from": RiskArea.active_from,
                "active_to": RiskArea.active_to,
                "code": RiskArea.code,
                "name": RiskArea.name,
                "days": RiskArea.days,
            },
            lambda query: query.where(RiskArea.active),
        ),
    }


def _slot_type(column) -> str:
    for prefix, kind in _SLOT_TYPES:
        if isinstance(column.type, kind):
            return prefix
    raise TypeError(f"no shared column for {column.type!r}")


def _slots_of(branches: dict) -> dict[str, dict[str, str]]:
    """Each kind's fields and the shared column that carries each (the first date in d1...)."""
    slots = {}
    for kind, (_id, fields, _narrow) in branches.items():
        used: dict[str, int] = {}
        slots[kind] = {}
        for field_name, column in fields.items():
            prefix = _slot_type(column)
            used[prefix] = used.get(prefix, 0) + 1
            slots[kind][field_name] = f"{prefix}{used[prefix]}"
    return slots


@cache
def _slots() -> dict[str, dict[str, str]]:
    return _slots_of(_fact_branches())


class FactRow:
    """One row of the facts query, read by the field names its kind gave (row.made_at, row.start)."""

    __slots__ = ("id", "_row", "_slots")

    def __init__(self, row, slots: dict[str, dict[str, str]] | None = None):
        self.id, self._row, self._slots = row.id, row, (slots or _slots())[row.kind]

    def __getattr__(self, field_name: str):
        try:
            return getattr(self._row, self._slots[field_name])
        except KeyError:
            raise AttributeError(field_name) from None


def _fact_rows(holder_id: int) -> dict[str, list[FactRow]]:
    """Every fact the colour rules need about one holder, and the active risk areas, by kind."""
    by_kind: dict[str, list[FactRow]] = {kind: [] for kind in _fact_branches()}
    for row in db.session.execute(_facts_query(), {"holder_id": holder_id}):
        by_kind[row.kind].append(FactRow(row))
    for rows in by_kind.values():
        rows.sort(key=lambda row: row.id)
    return by_kind


@cache
def _facts_query():
    # Built once per process: the statement and its cache key are reused by every code page.
    return _union_of(_fact_branches(), _slots())


def _union_of(branches: dict, slots: dict[str, dict[str, str]]):
    # The columns a branch leaves empty are typed NULLs, because PostgreSQL types a UNION's
    # columns pair by pair and an untyped NULL would become text.
    shared = sorted({slot for fields in slots.values() for slot in fields.values()})
    null_of = dict(_SLOT_TYPES)
    selects = []
    for kind, (id_, fields, narrow) in branches.items():
        filled = {slots[kind][name]: column for name, column in fields.items()}
        columns = [literal_column(f"'{kind}'", String).label("kind"), id_.label("id")]
        for slot in shared:
            value = filled.get(slot)
            if value is None:
                value = cast(null(), null_of[slot.rstrip("0123456789")])
            columns.append(value.label(slot))
        selects.append(narrow(select(*columns)))
    return union_all(*selects)


_UNIONS: dict[str, tuple] = {}


def fact_rows_with(name: str, extra: Callable[[], dict], params: dict) -> dict[str, list[FactRow]]:
    """The holder's fact rows (params["holder_id"]) and a page's own kinds of rows, `extra()`
    given as _fact_branches gives its own (with their own bound parameters), in one query.

    The statement is built once per process and `name`.
    """
    built = _UNIONS.get(name)
    if built is None:
        branches = {**_fact_branches(), **extra()}
        slots = _slots_of(branches)
        built = _UNIONS[name] = (_union_of(branches, slots), slots)
    query, slots = built
    by_kind: dict[str, list[FactRow]] = {kind: [] for kind in slots}
    for row in db.session.execute(query, params):
        by_kind[row.kind].append(FactRow(row, slots))
    for rows in by_kind.values():
        rows.sort(key=lambda row: row.id)
    return by_kind


_MANY: dict[str, tuple] = {}


@dataclass
class ManyFacts:
    """The fact rows of several holders read at once (facts_of_many_with), and the rows of the
    caller's own kinds."""

    holders: dict[int, FactRow]  # each holder named: id, code_id, colour, colour_at
    by_holder: dict[int, dict[str, list[FactRow]]]
    shared: dict[str, list[FactRow]]  # the risk areas, and the caller's own kinds

    def of(self, holder_id: int) -> dict[str, list[FactRow]] | None:
        """One holder's rows as fact_rows gives them; None if the holder was not read."""
        return self.by_holder.get(holder_id)


def facts_of_many_with(
    name: str, holder_ids: Callable, extra: Callable[[], dict], params: dict
) -> ManyFacts:
    """The facts of every holder whose id `holder_ids()` (a SELECT of holder ids, with its own
    bound parameters) gives, with the active risk areas and the caller's own kinds of rows
    (`extra()`, as fact_rows_with takes them), in one query: the rows are split per holder.

    A holder the SELECT names gets rows by kind even without facts. The statement is built once
    per process and `name`.
    """
    built = _MANY.get(name)
    if built is None:
        ids = holder_ids()
        branches = {
            **_tagged_fact_branches(ids),
            # Each holder named, with what a caller shows of them without loading the row.
            "holder": (
                Holder.id,
                {"code_id": Holder.code_id, "colour": Holder.colour, "colour_at": Holder.colour_at},
                lambda query: query.where(Holder.id.in_(ids)),
            ),
            **extra(),
        }
        slots = _slots_of(branches)
        built = _MANY[name] = (_union_of(branches, slots), slots)
    query, slots = built
    holder_kinds = [kind for kind in _fact_branches() if kind != "risk_area"]
    shared: dict[str, list[FactRow]] = {kind: [] for kind in slots}
    holders: dict[int, FactRow] = {}
    by_holder: dict[int, dict[str, list[FactRow]]] = {}
    rows = [FactRow(row, slots) for row in db.session.execute(query, params)]
    rows.sort(key=lambda row: row.id)
    for row in rows:
        if row._row.kind == "holder":
            holders[row.id] = row
            by_holder[row.id] = {kind: [] for kind in _fact_branches()}
    for row in rows:
        kind = row._row.kind
        if kind in holder_kinds:
            by_holder[row.holder_id][kind].append(row)
        elif kind != "holder":
            shared[kind].append(row)
    for facts in by_holder.values():
        facts["risk_area"] = shared["risk_area"]
    return ManyFacts(holders, by_holder, shared)


def fact_rows(holder: Holder) -> dict[str, list[FactRow]]:
    """The holder's facts and the active risk areas as rows by kind (one query), for colour_of
    and awaits_arrival to share."""
    return _fact_rows(holder.id)


def awaits_arrival(rows: dict[str, list[FactRow]]) -> bool:
    """Whether the holder's latest pre-entry registration (in fact_rows) has no arrival yet."""
    return any(row.actual_arrival is None for row in rows["pre_entry"])


def colour_facts(
    holder: Holder, rows: dict[str, list[FactRow]] | None = None
) -> tuple[rules.Facts, list[rules.RiskArea]]:
    """Gather the holder's facts and the active risk areas for the colour rules (one query)."""
    rows = rows if rows is not None else _fact_rows(holder.id)
    # The declaration a pre-entry registration wrote is made in the registration's instant:
    # its reasons name the registration, not "your declaration".
    registered_at = {row.created_at for row in rows["pre_entry"]}
    stays: dict[int, list] = {}
    for row in rows["stay"]:
        stays.setdefault(row.declaration_id, []).append(
            rules.Stay(row.place_code, row.start, row.end)
        )
    declarations = tuple(
        rules.Declaration(
            id=row.id,
            made_at=row.made_at,
            symptoms=frozenset(s for s in row.symptoms.split(",") if s),
            close_contact=bool(row.close_contact),
            contact_date=row.contact_date,
            stays=tuple(stays.get(row.id, ())),
            entry_date=row.entry_date,
            entry_port=row.entry_port,
            record=rules.REGISTRATION if row.made_at in registered_at else rules.DECLARATION,
        )
        for row in rows["declaration"]
    )
    arrival_date = arrival_source = arrival_noted_on = None
    for row in rows["pre_entry"]:
        # A pre-entry's quarantine counts from the actual arrival once known.
        if row.actual_arrival is not None:
            declarations, arrival_date = rules.with_actual_arrival(
                declarations, row.origin_division, row.planned_arrival, row.actual_arrival
            )
            if arrival_date is not None:
                arrival_source = row.arrival_source
                # Rows from before the day was kept name the arrival day instead.
                noted = row.arrival_noted_at
                arrival_noted_on = rules.local_date(noted) if noted else row.actual_arrival
    fevers = tuple(
        rules.CheckpointFever(
            id=row.id,
            at=row.at,
            point=row.point_name,
            temperature=row.temperature,
            voided=row.voided_at is not None,
        )
        for row in rows["fever"]
    )
    official_records = tuple(
        rules.OfficialRecord(
            id=row.id,
            status=row.status,
            at=row.at,
            contact_date=row.contact_date,
            basis=row.basis,
            department=row.department,
            lab=row.lab or "",
            sampled_at=row.lab_sampled_at,
            venue=row.trace_venue or "",
            venue_from=row.trace_from,
            venue_to=row.trace_to,
        )
        for row in rows["official"]
    )
    test_results = tuple(
        rules.TestResult(
            id=row.id,
            source=row.source,
            issuer=row.issuer_name,
            test_type=row.test_type,
            result=row.result,
            sampled_at=row.sampled_at,
            signed=bool(row.signed),
        )
        for row in rows["test_result"]
    )
    venue_exposures = tuple(
        rules.VenueExposure(
            window_id=row.id,
            venue=row.venue,
            visited_at=row.visited_at,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            days=row.days,
        )
        for row in rows["venue_exposure"]
    )
    clearances = [(row.hit_key, row.source) for row in rows["clearance"]]
    cleared = frozenset(key for key, _source in clearances)
    # An accepted claim says the fact was wrong, not that it has run its course.
    retracted = frozenset(key for key, source in clearances if source.startswith("claim:"))
    areas = [
        rules.RiskArea(
            code=row.code,
            name=row.name,
            days=row.days,
            active_from=row.active_from,
            active_to=row.active_to,
        )
        for row in rows["risk_area"]
    ]
    facts = rules.Facts(
        declarations=declarations,
        fevers=fevers,
        official_records=official_records,
        cleared=cleared,
        retracted=retracted,
        arrival_date=arrival_date,
        arrival_source=arrival_source,
        arrival_noted_on=arrival_noted_on,
        test_results=test_results,
        venue_exposures=venue_exposures,
    )
    return facts, areas


def lock(holder: Holder) -> None:
    """Serialise decisions about one holder until the transaction ends.

    Also reads the holder's row again under the lock (its stored colour may have been changed
    by the transaction that held the lock before): a colour is computed and compared with the
    stored one only after this (one row, in the statement that locks it).
    """
    locked(holder.id)


def locked(holder_id: int) -> Holder:
    """Lock the holder (as `lock`) and return their row, read under the lock."""
    # PostgreSQL locks the row; on SQLite the unit of work takes the database's write lock for
    # any FOR UPDATE (gantong/unit_of_work.py), and what is read from here on is current.
    # The row must be fetched for populate_existing to refresh the loaded holder.
    holder = db.session.scalars(
        db.select(Holder)
        .where(Holder.id == holder_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    _locked_ids().add(holder_id)
    return holder


_LOCKED = "gantong.locked_holders"


def _locked_ids() -> set[int]:
    """The holders locked in the session's current transaction (a lock ends with it)."""
    transaction = db.session().get_transaction()
    held = db.session.info.get(_LOCKED)
    if held is None or held[0] is not transaction:
        held = (transaction, set())
        db.session.info[_LOCKED] = held
    return held[1]


def is_locked(holder: Holder) -> bool:
    """Whether this transaction holds the holder's lock (taken with `lock`)."""
    return holder.id in _locked_ids()


def colour_of(
    holder: Holder, now: datetime | None = None, rows: dict[str, list[FactRow]] | None = None
) -> rules.Result:
    """The holder's colour of now, computed from their facts (read now, or the fact_rows given);
    nothing is stored (store_colour does)."""
    facts, areas = colour_facts(holder, rows)
    return rules.evaluate(facts, areas, now or utcnow(), lab_results.policy())


def store_colour(
    holder: Holder,
    now: datetime | None = None,
    actor: User | None = None,
    reason: str = "",
) -> rules.Result:
    """Store the holder's colour of now when it changed (or their first code), with a history
    row, an audit event and a notice; return it.

    With colour_of (which stores nothing) the pair every caller uses. The colour is computed
    under the holder's lock (taken here if this transaction does not hold it yet), so that a
    fever recorded in between is never overwritten. A caller that inserts rows referring to the
    holder (a declaration, a finding) locks it before them: on PostgreSQL such a row takes a
    key-share lock on the holder, and taking the full lock after it can deadlock.
    """
    # `reason` is the deciding officer's words, shown to the holder beside the change.
    # A holder's first code comes with their first declaration (or a fact an officer records):
    # until then nothing is stored, and the code page asks for a declaration.
    moment = now or utcnow()
    # Computed only under the holder's lock, on its row read afresh: a colour computed without it
    # was written over a fever another connection committed meanwhile (PostgreSQL).
    if not is_locked(holder):
        lock(holder)
    result = colour_of(holder, moment)
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
            "code.issue" if first else "colour.change",
            "holder",
            holder.id,
            actor=actor,
            before={"colour": before},
            after={"colour": result.colour},
            at=moment,
            reason=reason,
        )
        if before is not None:
            notifications.colour_changed(holder, before, result.colour, reason, moment)
        holder.colour = result.colour
        holder.colour_at = moment
        holder.colour_version = (holder.colour_version or 0) + 1
        db.session.flush()
    return result


def recompute_in_pages(now: datetime | None = None, batch: int = 500) -> Iterator[int]:
    """Refresh every holder's stored colour (hits that end with time), a page at a time.

    Yields how many changed in each page: the command commits each page (unit_of_work.commit_each).
    """
    last_id = 0
    while True:
        query = db.select(Holder).where(Holder.id > last_id).order_by(Holder.id).limit(batch)
        page = db.session.scalars(query).all()
        if not page:
            return
        changed = 0
        for holder in page:
            before = holder.colour
            store_colour(holder, now)
            changed += holder.colour != before
        yield changed
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


# A number lasts a 10-minute slot, and is still accepted for the first minute of the next (a
# volunteer typing it as it changes). It is derived (gantong/core/numbers.py): the code page
# and the phone show it and the checkpoint finds the holder with no write at all.
NUMBER_STEP = 600
NUMBER_GRACE = 60
_NUMBER_KEY_INFO = b"gantong dynamic numbers"


def _number_key() -> bytes:
    return _derived_number_key(current_app.config["SECRET_KEY"])


@cache
def _derived_number_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_NUMBER_KEY_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def dynamic_number(holder: Holder, now: datetime | None = None) -> str:
    """Return the holder's number for the slot of now (nothing is written)."""
    moment = int((now or utcnow()).timestamp())
    return numbers.number(_number_key(), holder.id, numbers.slot_of(moment, NUMBER_STEP))


def numbers_ahead(holder: Holder, start: int, until: int) -> dict:
    """Return the holder's numbers from the slot of `start` to the one of `until`, for the phone."""
    first = numbers.slot_of(start, NUMBER_STEP)
    last = numbers.slot_of(max(start, until - 1), NUMBER_STEP)
    key = _number_key()
    return {
        "from": first * NUMBER_STEP,
        "step": NUMBER_STEP,
        "list": [numbers.number(key, holder.id, slot) for slot in range(first, last + 1)],
    }


def number_valid_until(now: datetime) -> datetime:
    """When the number shown at `now` stops being accepted (a minute into the next slot)."""
    start = int(now.timestamp()) // NUMBER_STEP * NUMBER_STEP
    return datetime.fromtimestamp(start + NUMBER_STEP + NUMBER_GRACE, now.tzinfo)


def holders_by_number(number: str, now: datetime | None = None) -> list[Holder]:
    """Return the holders with a code whose number is this one now (one, or none; two when
    the slot just changed and the number is both one holder's new and another's old)."""
    moment = int((now or utcnow()).timestamp())
    slot = numbers.slot_of(moment, NUMBER_STEP)
    slots = [slot] + ([slot - 1] if moment - slot * NUMBER_STEP < NUMBER_GRACE else [])
    key = _number_key()
    ids = {numbers.holder_id(key, number, each) for each in slots} - {None}
    if not ids:
        return []
    has_code = db.select(ColourChange.id).where(ColourChange.holder_id == Holder.id).exists()
    query = db.select(Holder).where(Holder.id.in_(ids), has_code).order_by(Holder.id)
    return list(db.session.scalars(query))


def pre_entry_of(holder: Holder) -> PreEntry | None:
    """Return the holder's latest pre-entry registration, or None."""
    query = (
        db.select(PreEntry)
        .where(PreEntry.holder_id == holder.id)
        .order_by(PreEntry.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)
