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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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


@dataclass(frozen=True)
class ExportFilter:
    """What to export: a district ("" for every district) and a range of Asia/Shanghai days."""

    district_code: str
    start: date
    end: date

    def as_dict(self) -> dict:
        return {
            "district_code": self.district_code,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


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


def _as_is(value):
    return value


def _or_blank(value):
    return value or ""


@dataclass(frozen=True)
class Column:
    """One column of an export: its name in the header, what the query reads, how a cell is written."""

    name: str
    read: Any
    cell: Callable[[Any], Any] = _as_is


@dataclass(frozen=True)
class ExportKind:
    """One kind of export: its columns, and the rows it reads, a page at a time in the order of
    (moment, key), of a district."""

    columns: tuple[Column, ...]
    moment: Any
    key: Any
    district: Any
    join: tuple[Any, Any]

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def rows(self, selection: ExportFilter) -> Iterator[list]:
        """Yield one list of cells per row in the selection, oldest first."""
        first, after = figures.day_bounds(selection.start, selection.end)
        query = db.select(self.moment, self.key, *(column.read for column in self.columns)).join(
            *self.join
        )
        if selection.district_code:
            query = query.where(self.district == selection.district_code)
        for page in _pages(query, self.moment, self.key, first, after):
            for row in page:
                yield [
                    column.cell(value) for column, value in zip(self.columns, row[2:], strict=True)
                ]


_record = VerificationRecord
VERIFICATION_RECORDS = ExportKind(
    columns=(
        Column("record_id", _record.record_id),
        Column("verified_at", _record.verified_at, _local),
        Column("point_id", _record.point_id),
        Column("point_name", InformationPoint.name),
        Column("point_district_code", InformationPoint.district_code),
        Column("point_district", InformationPoint.district_code, _district_name),
        Column("holder_id", _record.holder_id),
        Column("method", _record.method),
        Column("colour", _record.colour),
        Column("token_colour", _record.token_colour, _or_blank),
        Column("recorded_at", _record.recorded_at, _local),
        Column("temperature", _record.temperature),
        Column("decision", _record.decision, _or_blank),
        Column("note", _record.note),
        Column("position_source", _record.position_source, _or_blank),
        Column("latitude", _record.latitude),
        Column("longitude", _record.longitude),
        Column("voided_at", _record.voided_at, _local),
        Column("void_reason", _record.void_reason, _or_blank),
        Column("paper_serial", _record.paper_serial, _or_blank),
        Column("issuer_id", _record.issuer_id),
        Column("partner_code_id", _record.partner_code_id, _or_blank),
    ),
    moment=_record.verified_at,
    key=_record.id,
    district=InformationPoint.district_code,
    join=(InformationPoint, InformationPoint.id == _record.point_id),
)
APPLICATIONS = ExportKind(
    columns=(
        Column("application_id", Application.id),
        Column("created_at", Application.created_at, _local),
        Column("holder_id", Application.holder_id),
        Column("holder_district_code", Holder.district_code),
        Column("holder_district", Holder.district_code, _district_name),
        Column("grounds", Application.grounds),
        Column("hit_keys", Application.hit_keys),
        Column("test_date", Application.test_date, _day),
        Column("institution", Application.institution),
        Column("report_number", Application.report_number),
        Column("isolation_end", Application.isolation_end, _day),
        Column("note", Application.note),
        Column("status", Application.status),
        Column("decided_at", Application.decided_at, _local),
        Column("decided_by", Application.decided_by),
        Column("decision_reason", Application.decision_reason),
    ),
    moment=Application.created_at,
    key=Application.id,
    district=Holder.district_code,
    join=(Holder, Holder.id == Application.holder_id),
)
EXPORTS = {"verification_records": VERIFICATION_RECORDS, "applications": APPLICATIONS}
KINDS = tuple(EXPORTS)
VERIFICATION_COLUMNS = VERIFICATION_RECORDS.header
APPLICATION_COLUMNS = APPLICATIONS.header


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


def rows_for(kind: str, selection: ExportFilter) -> tuple[tuple[str, ...], Iterator[list]]:
    """Return the header and the rows of one kind of export."""
    if kind not in EXPORTS:
        raise ValueError(kind)
    return EXPORTS[kind].header, EXPORTS[kind].rows(selection)


def in_language(
    columns: tuple[str, ...], rows: Iterable[list], language: str
) -> tuple[list[str], Iterator[list]]:
    """The header and the cells in the user's language: column names, colours, decisions, states,
    district names. (The codes export, for programs, is rows_for's own.)"""
    district_of = {
        i: columns.index(column + "_code")
        for i, column in enumerate(columns)
        if column + "_code" in columns
    }

    def translated():
        for row in rows:
            cells = [
                labels.export_cell(column, cell) for column, cell in zip(columns, row, strict=True)
            ]
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


def start_export(
    kind: str, selection: ExportFilter, actor, language: str = ""
) -> tuple[Iterable[str], Iterator[list]]:
    """Record in the audit trail who exported what, then return the header and the rows: in
    `language` ("zh", "en"), or with the stable codes when it is ""."""
    header, rows = rows_for(kind, selection)
    if language:
        header, rows = in_language(header, rows, language)
    audit.append("export." + kind, "export", kind, actor=actor, after=selection.as_dict())
    db.session.flush()
    return header, rows
