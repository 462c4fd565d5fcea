"""CSV exports: streamed with flat memory, UTF-8 with a BOM, formula cells escaped, audited."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gantong.admin import exports
from gantong.extensions import db
from gantong.models import Application, AuditEvent, VerificationRecord
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}
DAYS, PER_DAY = 10, 10_000


@pytest.fixture
def admin(client, make_user):
    user_id, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


def add_records(app, point_id, moments, **fields):
    """Insert verification records in bulk, ten thousand a statement."""
    rows = [
        {
            "record_id": str(uuid.uuid4()),
            "point_id": point_id,
            "method": "camera",
            "colour": "green",
            "verified_at": moment,
            "temperature": 36.5,
            "decision": "pass",
            "note": "",
            "position_source": "point",
            **fields,
        }
        for moment in moments
    ]
    with app.app_context():
        for start in range(0, len(rows), 10_000):
            db.session.execute(db.insert(VerificationRecord), rows[start : start + 10_000])
            db.session.commit()


def export(client, **form):
    data = {
        "kind": "verification_records",
        "district": "",
        "start": "2024-05-01",
        "end": "2024-05-31",
        "columns": "codes",
        **form,
    }
    return client.post("/admin/exports", data=data, buffered=False)


def streamed_export_peak(client, path, **form) -> tuple[int, int]:
    """Stream an export to a file; return the peak Python allocation while serving it, and its size."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        response = export(client, **form)
        assert response.status_code == 200
        size = 0
        with open(path, "wb") as out:
            for chunk in response.response:
                out.write(chunk)
                size += len(chunk)
        response.close()
        return tracemalloc.get_traced_memory()[1], size
    finally:
        tracemalloc.stop()


def test_a_csv_of_100000_records_streams_with_flat_memory(app, client, admin, make_point, tmp_path):
    point_id = make_point("南昌站北广场")
    # Every day at 08:00 Shanghai onwards, one record a second: 10 days of 10,000.
    moments = [
        datetime(2024, 5, day, 0, tzinfo=UTC) + timedelta(seconds=n)
        for day in range(1, DAYS + 1)
        for n in range(PER_DAY)
    ]
    add_records(app, point_id, moments[:-1])
    add_records(app, point_id, moments[-1:], note="=1+1")

    # A first export loads what stays loaded (division names, compiled queries): not counted.
    streamed_export_peak(client, tmp_path / "warm.csv", start="2024-04-01", end="2024-04-01")
    one_day_peak, one_day_size = streamed_export_peak(
        client, tmp_path / "day.csv", end="2024-05-01"
    )
    all_peak, all_size = streamed_export_peak(client, tmp_path / "all.csv")
    print(
        f"peak allocation: {PER_DAY} rows {one_day_peak / 1e6:.2f} MB of {one_day_size / 1e6:.1f} MB; "
        f"{DAYS * PER_DAY} rows {all_peak / 1e6:.2f} MB of {all_size / 1e6:.1f} MB"
    )
    # Ten times the rows, the same memory: nothing grows with the row count.
    assert all_size > 9 * one_day_size
    assert all_peak < one_day_peak * 1.25
    assert all_peak < 4_000_000

    raw = (tmp_path / "all.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == exports.VERIFICATION_COLUMNS
    assert len(rows) == 1 + DAYS * PER_DAY
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["verified_at"] == "2024-05-01 08:00:00" and first["point_name"] == "南昌站北广场"
    assert first["point_district"] == "南昌市东湖区" and first["temperature"] == "36.5"
    assert rows[-1][rows[0].index("note")] == "'=1+1"


@pytest.mark.parametrize(
    "typed", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", '=HYPERLINK("http://x")']
)
def test_a_cell_that_starts_like_a_formula_comes_out_escaped(app, client, admin, make_point, typed):
    point_id = make_point()
    add_records(app, point_id, [datetime(2024, 5, 2, tzinfo=UTC)], note=typed)
    text = export(client).get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[0]["note"] == "'" + typed


@pytest.mark.nodb
def test_ordinary_cells_and_numbers_are_left_alone():
    assert exports.escape_cell("南昌站") == "南昌站"
    assert exports.escape_cell("a=b") == "a=b"
    assert exports.escape_cell(-3.5) == -3.5


def test_exports_filter_by_district_and_day_and_are_audited(app, client, admin, make_point):
    donghu, xihu = make_point(), make_point("西湖站", "360103")
    add_records(
        app,
        donghu,
        [datetime(2024, 5, 1, 15, 59, tzinfo=UTC), datetime(2024, 5, 1, 16, 0, tzinfo=UTC)],
    )
    add_records(app, xihu, [datetime(2024, 5, 1, 12, tzinfo=UTC)])
    response = export(client, district="360102", start="2024-05-02", end="2024-05-02")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="verification_records-360102-2024-05-02-2024-05-02.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    # 16:00 UTC is midnight in Shanghai: only that one is on 2 May, and only Donghu's.
    assert [row["verified_at"] for row in rows] == ["2024-05-02 00:00:00"]
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "export.verification_records")
        )
        assert event.actor_id == admin and '"district_code": "360102"' in event.after


def test_applications_export_has_its_columns(app, client, admin, make_holder):
    holder_id = make_holder()
    other = make_holder(number=resident_id("36070219900101123"), district="360702")
    with app.app_context():
        for owner in (holder_id, other):
            db.session.add(
                Application(
                    holder_id=owner,
                    hit_keys="symptoms:1",
                    grounds="negative_test",
                    institution="@南昌大学第一附属医院",
                    created_at=datetime(2024, 5, 3, tzinfo=UTC),
                )
            )
        db.session.commit()
    response = export(client, kind="applications", district="360102")
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == exports.APPLICATION_COLUMNS
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["holder_id"], row["holder_district"], row["status"]) == (
        str(holder_id),
        "南昌市东湖区",
        "pending",
    )
    assert row["institution"] == "'@南昌大学第一附属医院"


def test_a_wrong_export_form_is_shown_again(app, client, admin):
    response = client.post(
        "/admin/exports",
        headers=EN,
        data={"kind": "verification_records", "start": "2024-05-03", "end": "2024-05-01"},
    )
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert 'id="end-error">The last day is before the first.' in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(db.select(AuditEvent).where(AuditEvent.action.startswith("export.")))
            is None
        )


def test_records_of_the_same_moment_across_pages_are_each_exported_once(
    app, client, admin, make_point
):
    point_id = make_point()
    moment = datetime(2024, 5, 2, 3, tzinfo=UTC)
    add_records(
        app, point_id, [moment] * (exports.PAGE_SIZE * 2 + 500) + [moment + timedelta(seconds=1)]
    )
    rows = list(
        csv.DictReader(io.StringIO(export(client).get_data().decode("utf-8-sig"), newline=""))
    )
    assert len(rows) == exports.PAGE_SIZE * 2 + 501
    assert len({row["record_id"] for row in rows}) == len(rows)
    assert rows[-1]["verified_at"] == "2024-05-02 11:00:01"


def test_an_export_is_in_the_users_language_unless_codes_are_asked_for(
    app, client, admin, make_point
):
    point_id = make_point()
    add_records(app, point_id, [datetime(2024, 5, 2, 3, tzinfo=UTC)])

    def table(**form):
        text = export(client, **form).get_data().decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text, newline="")))

    zh = table(columns="language")
    row = dict(zip(zh[0], zh[1], strict=True))
    assert (
        zh[0][:2] == ["记录", "核验时间"] and row["码色"] == "绿码" and row["核验方式"] == "摄像头"
    )
    assert row["检查点所在区县"] == "南昌市东湖区"
    client.get("/language/en")
    en = table(columns="language")
    row = dict(zip(en[0], en[1], strict=True))
    assert (
        en[0][:2] == ["Record", "Verified at"]
        and row["Colour"] == "Green code"
        and row["Method"] == "camera"
    )
    assert row["Point's district"] == "Donghu District, Nanchang"
    codes = table(columns="codes")
    assert (
        tuple(codes[0]) == exports.VERIFICATION_COLUMNS
        and codes[1][codes[0].index("colour")] == "green"
    )
    assert (
        tuple(table(columns="")[0]) != exports.VERIFICATION_COLUMNS
    )  # the page's language by default
    query = client.post(
        "/admin/exports?columns=codes",
        data={"kind": "verification_records", "start": "2024-05-01", "end": "2024-05-31"},
    )
    assert query.get_data().decode("utf-8-sig").startswith("record_id,verified_at")
