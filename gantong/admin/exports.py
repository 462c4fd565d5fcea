"""CSV exports of verification records and of transcoding applications, streamed page by page.

Rows are read a page at a time (a server-side cursor on PostgreSQL, keyset pages on SQLite),
in a reading request (gantong/unit_of_work.py: no write lock on SQLite): memory stays flat
however many rows there are, and checkpoints keep writing while a long export runs. The text
is UTF-8 with a byte order mark so that spreadsheet programs read the Chinese right; a text
cell that a spreadsheet would run as a formula is escaped.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_

from gantong import audit
from gantong.admin import labels
from gantong.core import divisions, rules
from gantong.extensions import db
from gantong.models import Application, Holder, InformationPoint, VerificationRecord
from gantong.stats import figures

BOM = "\ufeff"
# A spreadsheet runs a cell that starts with one of these; tab and carriage return too (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PAGE_SIZE = 1000
ROWS_PER_CHUNK = 500

VERIFICATION_COLUMNS = (
    "record_id", "verified_at", "point_id", "point_name", "point_district_code", "point_district",
    "holder_id", "method", "colour", "token_colour", "recorded_at", "temperature", "decision",
    "note", "position_source", "latitude", "longitude", "voided_at", "void_reason",
    "paper_serial", "issuer_id", "partner_code_id",
)
APPLICATION_COLUMNS = (
    "application_id", "created_at", "holder_id", "holder_district_code", "holder_district",
    "grounds", "hit_keys", "test_date", "institution", "report_number", "isolation_end", "note",
    "status", "decided_at", "decided_by", "decision_reason",
)
KINDS = ("verification_records", "applications")


@dataclass(frozen=True)
class ExportFilter:
    """What to export: a district ("" for every district) and a range of Asia/Shanghai days."""

    district_code: str
    start: date
    end: date

    def as_dict(self) -> dict:
        return {"district_code": self.district_code, "start": self.start.isoformat(),
                "end": self.end.isoformat()}


def escape_cell(value):
    """Return the value, with text that starts like a formula quoted so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _local(moment: datetime | None) -> str:
    return moment.astimezone(rules.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _district_name(code: str | None) -> str:
    return divisions.display_name(code, "zh") if code else ""


def _pages(query, moment_column, id_column, first: datetime, after: datetime) -> Iterator[list]:
    """Yield the rows from first to after, oldest first, a page at a time; each row starts (moment, id)."""
    query = query.order_by(moment_column, id_column)
    if db.session.get_bind().dialect.name == "postgresql":
        # One snapshot through a server-side cursor: PostgreSQL readers hold up no writer, and
        # one sorted read does not depend on the planner's statistics being fresh.
        in_range = query.where(moment_column >= first, moment_column < after)
        result = db.session.execute(in_range.execution_options(yield_per=PAGE_SIZE))
        yield from result.partitions()
        return
    # SQLite: keyset pages (its driver has no server-side cursor).
    last = None
    while True:
        # One lower bound only, the page's own: given two, SQLite may start the index at the
        # range's start for every page.
        lower = last[0] if last else first
        page_query = query.where(moment_column >= lower, moment_column < after)
        if last is not None:
            page_query = page_query.where(or_(moment_column > last[0], id_column > last[1]))
        rows = db.session.execute(page_query.limit(PAGE_SIZE)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0], rows[-1][1]


def verification_rows(selection: ExportFilter) -> Iterator[list]:
    """Yield one list of cells per verification record in the selection, oldest first."""
    first, after = figures.day_bounds(selection.start, selection.end)
    record = VerificationRecord
    query = (
        db.select(
            record.verified_at, record.id, record.record_id, record.point_id, InformationPoint.name,
            InformationPoint.district_code, record.holder_id, record.method, record.colour,
            record.token_colour, record.recorded_at, record.temperature, record.decision,
            record.note, record.position_source, record.latitude, record.longitude,
            record.voided_at, record.void_reason, record.paper_serial, record.issuer_id,
            record.partner_code_id,
        )
        .join(InformationPoint, InformationPoint.id == record.point_id)
    )
    if selection.district_code:
        query = query.where(InformationPoint.district_code == selection.district_code)
    for page in _pages(query, record.verified_at, record.id, first, after):
        for row in page:
            (verified_at, _id, record_id, point_id, point_name, district, holder_id, method, colour,
             token_colour, recorded_at, temperature, decision, note, position_source, latitude,
             longitude, voided_at, void_reason, paper_serial, issuer_id, partner_code_id) = row
            yield [
                record_id, _local(verified_at), point_id, point_name, district,
                _district_name(district), holder_id, method, colour, token_colour or "",
                _local(recorded_at), temperature, decision or "", note, position_source or "",
                latitude, longitude, _local(voided_at), void_reason or "", paper_serial or "",
                issuer_id, partner_code_id or "",
            ]


def application_rows(selection: ExportFilter) -> Iterator[list]:
    """Yield one list of cells per transcoding application made in the selection, oldest first."""
    first, after = figures.day_bounds(selection.start, selection.end)
    application = Application
    query = (
        db.select(
            application.created_at, application.id, application.holder_id, Holder.district_code,
            application.grounds, application.hit_keys, application.test_date,
            application.institution, application.report_number, application.isolation_end,
            application.note, application.status, application.decided_at, application.decided_by,
            application.decision_reason,
        )
        .join(Holder, Holder.id == application.holder_id)
    )
    if selection.district_code:
        query = query.where(Holder.district_code == selection.district_code)
    for page in _pages(query, application.created_at, application.id, first, after):
        for row in page:
            (created_at, application_id, holder_id, district, grounds, hit_keys, test_date,
             institution, report_number, isolation_end, note, status, decided_at, decided_by,
             decision_reason) = row
            yield [
                application_id, _local(created_at), holder_id, district, _district_name(district),
                grounds, hit_keys, _day(test_date), institution, report_number,
                _day(isolation_end), note, status, _local(decided_at), decided_by, decision_reason,
            ]


def rows_for(kind: str, selection: ExportFilter) -> tuple[tuple[str, ...], Iterator[list]]:
    """Return the header and the rows of one kind of export."""
    if kind == "verification_records":
        return VERIFICATION_COLUMNS, verification_rows(selection)
    if kind == "applications":
        return APPLICATION_COLUMNS, application_rows(selection)
    raise ValueError(kind)


def in_language(columns: tuple[str, ...], rows: Iterable[list], language: str) -> tuple[list[str], Iterator[list]]:
    """The header and the cells in the user's language: column names, colours, decisions, states,
    district names. (The codes export, for programs, is rows_for's own.)"""
    district_of = {i: columns.index(column + "_code") for i, column in enumerate(columns)
                   if column + "_code" in columns}

    def translated():
        for row in rows:
            cells = [labels.export_cell(column, cell) for column, cell in zip(columns, row, strict=True)]
            for i, code_at in district_of.items():
                cells[i] = divisions.display_name(row[code_at], language) if row[code_at] else ""
            yield cells

    return labels.export_header(columns), translated()


def csv_chunks(header: Iterable[str], rows: Iterable[list]) -> Iterator[str]:
    """Yield the CSV text in chunks of a few hundred rows, the byte order mark first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow([escape_cell("" if cell is None else cell) for cell in row])
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def filename(kind: str, selection: ExportFilter) -> str:
    district = selection.district_code or "all"
    return f"{kind}-{district}-{selection.start.isoformat()}-{selection.end.isoformat()}.csv"


def start_export(kind: str, selection: ExportFilter, actor, language: str = "") -> tuple[Iterable[str], Iterator[list]]:
    """Record in the audit trail who exported what, then return the header and the rows: in
    `language` ("zh", "en"), or with the stable codes when it is ""."""
    header, rows = rows_for(kind, selection)
    if language:
        header, rows = in_language(header, rows, language)
    audit.append("export." + kind, "export", kind, actor=actor, after=selection.as_dict())
    db.session.flush()
    return header, rows
