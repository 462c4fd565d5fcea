"""Statistics: the numbers on the page equal SQL written here, not the app's own counting code."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from gantong.extensions import db
from gantong.models import Application, Claim, FeverFinding, VerificationRecord, utcnow
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}
SVG = "{http://www.w3.org/2000/svg}"
RANGE = "start=2024-05-01&end=2024-05-03"

# (district, facts) of the seeded holders: symptoms make a code yellow, a recent contact red.
HOLDERS = [
    ("360102", {}),
    ("360102", {}),
    ("360102", {}),
    ("360102", {"symptoms": ["fever"]}),
    ("360102", {"symptoms": ["dry_cough"]}),
    ("360102", {"close_contact": True}),
    ("360103", {}),
    ("360103", {"symptoms": ["fatigue"]}),
    ("360702", {}),
    ("360702", {}),
    ("360702", {"close_contact": True}),
]
# Verification times in UTC: 2024-05-01 15:30Z is 23:30 in Shanghai, 16:30Z is already 2 May.
SHANGHAI_EDGE = [datetime(2024, 5, 1, 15, 30, tzinfo=UTC), datetime(2024, 5, 1, 16, 30, tzinfo=UTC)]


def utc(day: int, hour: int) -> datetime:
    return datetime(2024, 5, day, hour, tzinfo=UTC)


@pytest.fixture
def seeded(app, make_holder, make_point, today):
    """Holders in three districts of two cities, points, verifications, fevers and pending cases."""
    holder_ids = []
    for n, (district, facts) in enumerate(HOLDERS, start=1):
        if facts.get("close_contact"):
            facts = {**facts, "contact_date": today - timedelta(days=2)}
        holder_ids.append(
            make_holder(
                number=resident_id(f"36010219900{n:03d}123"[:17]), district=district, **facts
            )
        )
    donghu, xihu, zhanggong = (
        make_point("东湖站"),
        make_point("西湖站", "360103"),
        make_point("章贡站", "360702"),
    )
    times = {
        donghu: SHANGHAI_EDGE + [utc(2, 2), utc(2, 3), utc(3, 1)],
        xihu: [utc(1, 1), utc(1, 2), utc(3, 4)],
        zhanggong: [utc(2, 5), utc(2, 6), utc(2, 7), utc(3, 8), utc(4, 8)],
    }
    now = utcnow()
    with app.app_context():
        for point_id, moments in times.items():
            for moment in moments:
                db.session.add(
                    VerificationRecord(
                        record_id=str(uuid.uuid4()),
                        point_id=point_id,
                        method="camera",
                        colour="green",
                        verified_at=moment,
                        holder_id=holder_ids[0],
                    )
                )
        for holder_index, moment, voided in [
            (3, utc(1, 3), False),
            (3, utc(2, 3), True),
            (7, utc(2, 3), False),
            (10, SHANGHAI_EDGE[1], False),
        ]:
            db.session.add(
                FeverFinding(
                    holder_id=holder_ids[holder_index],
                    record_id=str(uuid.uuid4()),
                    point_name="东湖站",
                    temperature=38.0,
                    at=moment,
                    voided_at=moment if voided else None,
                )
            )
        for holder_index, age, status in [
            (3, timedelta(hours=2), "pending"),
            (4, timedelta(days=2), "pending"),
            (7, timedelta(days=10), "pending"),
            (5, timedelta(days=1), "approved"),
            (10, timedelta(days=5), "pending"),
        ]:
            db.session.add(
                Application(
                    holder_id=holder_ids[holder_index],
                    hit_keys="symptoms:1",
                    grounds="negative_test",
                    status=status,
                    created_at=now - age,
                )
            )
        for holder_index, age in [(5, timedelta(hours=30)), (10, timedelta(days=8))]:
            db.session.add(
                Claim(
                    holder_id=holder_ids[holder_index],
                    wrong_fact="x",
                    correct_fact="y",
                    acknowledged=True,
                    created_at=now - age,
                )
            )
        db.session.commit()
    return {"holders": holder_ids, "points": (donghu, xihu, zhanggong)}


@pytest.fixture
def log_in(client, make_user, make_point):
    def log_in(role, district="360102"):
        fields = {
            "officer": {"district_code": district, "badge_number": "B-1"},
            "staff": {"point_id": make_point("别处")},
        }.get(role, {})
        _, phone = make_user(role=role, **fields)
        client.post("/login", data={"phone": phone, "password": PASSWORD})

    return log_in


def sql(app, text, **params):
    with app.app_context():
        return db.session.execute(db.text(text), params).all()


def is_postgres(app):
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def local_day_sql(app, column):
    """Our own SQL for an Asia/Shanghai day, written here, apart from the app's."""
    if is_postgres(app):
        return f"CAST(({column} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
    return f"date({column}, '+8 hours')"


def table(html, table_id, key):
    """The rows of a table on the page: {row's data-<key>: [numbers in its cells]}."""
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for attrs, cells in re.findall(r"<tr([^>]*)>(.*?)</tr>", body, re.S):
        found = re.search(rf'data-{key}="([^"]+)"', attrs)
        if found:
            texts = [
                re.sub(r"<[^>]+>", "", cell).strip()
                for cell in re.findall(r"<td>(.*?)</td>", cells, re.S)
            ]
            rows[found.group(1)] = [int(text) for text in texts if text.isdigit()]
    return rows


def test_colours_per_city_and_per_district_equal_sql(app, client, seeded, log_in):
    log_in("admin")
    html = client.get("/stats/", headers=EN).get_data(as_text=True)
    expected = Counter()
    for city, colour, number in sql(
        app,
        "SELECT substr(district_code, 1, 4), colour, count(*) FROM holder "
        "GROUP BY substr(district_code, 1, 4), colour",
    ):
        expected[city, colour] = number
    rows = table(html, "table-colours", "code")
    assert len(rows) == 11  # every city of Jiangxi, even with nobody
    for city, numbers in rows.items():
        assert numbers == [
            expected[city, "green"],
            expected[city, "yellow"],
            expected[city, "red"],
        ], city
    assert rows["3601"] == [4, 3, 1] and rows["3607"] == [2, 0, 1]

    drilled = client.get("/stats/?area=3601", headers=EN).get_data(as_text=True)
    expected = Counter()
    for district, colour, number in sql(
        app,
        "SELECT district_code, colour, count(*) FROM holder "
        "WHERE district_code LIKE '3601%' GROUP BY district_code, colour",
    ):
        expected[district, colour] = number
    rows = table(drilled, "table-colours", "code")
    assert "360102" in rows and "360702" not in rows
    for district, numbers in rows.items():
        assert numbers == [
            expected[district, "green"],
            expected[district, "yellow"],
            expected[district, "red"],
        ]


def test_verifications_per_day_and_per_point_equal_sql(app, client, seeded, log_in):
    log_in("admin")
    html = client.get(f"/stats/?{RANGE}", headers=EN).get_data(as_text=True)
    day = local_day_sql(app, "verified_at")
    expected = {
        str(value): number
        for value, number in sql(
            app, f"SELECT {day}, count(*) FROM verification_record GROUP BY {day}"
        )
    }
    days = table(html, "table-days", "day")
    assert list(days) == ["2024-05-01", "2024-05-02", "2024-05-03"]
    for value, numbers in days.items():
        assert numbers == [expected.get(value, 0)], value
    # The record at 23:30 counts on 1 May, the one at 00:30 on 2 May; 4 May is outside the range.
    assert days == {"2024-05-01": [3], "2024-05-02": [6], "2024-05-03": [3]}

    per_point = dict(
        sql(
            app,
            "SELECT point_id, count(*) FROM verification_record "
            "WHERE verified_at >= :first AND verified_at < :after GROUP BY point_id",
            first=datetime(2024, 4, 30, 16, tzinfo=UTC),
            after=datetime(2024, 5, 3, 16, tzinfo=UTC),
        )
    )
    shown = {int(point): numbers for point, numbers in table(html, "table-points", "point").items()}
    assert shown == {point: [number] for point, number in per_point.items()}


def test_fevers_and_pending_cases_equal_sql(app, client, seeded, log_in):
    log_in("admin")
    html = client.get(f"/stats/?{RANGE}", headers=EN).get_data(as_text=True)
    day = local_day_sql(app, "at")
    expected = {
        str(value): number
        for value, number in sql(
            app, f"SELECT {day}, count(*) FROM fever_finding WHERE voided_at IS NULL GROUP BY {day}"
        )
    }
    assert {value: numbers[0] for value, numbers in table(html, "table-fevers", "day").items()} == {
        value: expected.get(value, 0) for value in ("2024-05-01", "2024-05-02", "2024-05-03")
    }

    body = re.search(r'<table id="table-pending">(.*?)</table>', html, re.S).group(1)
    shown = [
        [int(n) for n in re.findall(r"<td>(\d+)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
        if "<td>" in row
    ]
    now = utcnow()

    def pending(table_name, newer_than, older_than):
        conditions = ["status = 'pending'"]
        params = {}
        if newer_than is not None:
            conditions.append("created_at > :newer")
            params["newer"] = now - timedelta(days=newer_than)
        if older_than is not None:
            conditions.append("created_at <= :older")
            params["older"] = now - timedelta(days=older_than)
        return sql(
            app, f"SELECT count(*) FROM {table_name} WHERE {' AND '.join(conditions)}", **params
        )[0][0]

    buckets = [(1, None), (3, 1), (7, 3), (None, 7)]
    assert shown == [
        [pending("application", *bucket), pending("claim", *bucket)] for bucket in buckets
    ]
    assert shown == [[1, 0], [1, 1], [1, 0], [1, 1]]


def test_an_officer_sees_only_their_district(app, client, seeded, log_in):
    log_in("officer", district="360102")
    html = client.get(f"/stats/?{RANGE}", headers=EN).get_data(as_text=True)
    assert table(html, "table-colours", "code") == {"360102": [3, 2, 1]}
    day = local_day_sql(app, "r.verified_at")
    expected = {
        str(value): number
        for value, number in sql(
            app,
            f"SELECT {day}, count(*) FROM verification_record r JOIN information_point p ON p.id = r.point_id "
            f"WHERE p.district_code = '360102' GROUP BY {day}",
        )
    }
    assert {value: numbers[0] for value, numbers in table(html, "table-days", "day").items()} == {
        value: expected.get(value, 0) for value in ("2024-05-01", "2024-05-02", "2024-05-03")
    }
    assert set(table(html, "table-points", "point")) == {str(seeded["points"][0])}
    assert "西湖站" not in html and "章贡站" not in html
    for other in ("360103", "3601", "360702", "99"):
        assert client.get(f"/stats/?area={other}").status_code == 404


@pytest.mark.parametrize("role", ["resident", "staff"])
def test_residents_and_staff_get_no_statistics(client, log_in, role):
    log_in(role)
    assert client.get("/stats/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/stats/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


ALLOWED_ELEMENTS = {"svg", "title", "g", "rect", "text", "line", "circle", "path"}


def assert_valid_svg(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    assert re.fullmatch(r"0 0 \d+(\.\d+)? \d+(\.\d+)?", root.get("viewBox"))
    assert root.find(SVG + "title").text
    for element in root.iter():
        assert element.tag.startswith(SVG) and element.tag[len(SVG) :] in ALLOWED_ELEMENTS, (
            element.tag
        )
        assert "style" not in element.attrib and not any(
            name.startswith("on") for name in element.attrib
        )
        for name in ("x", "y", "width", "height", "x1", "x2", "y1", "y2", "cx", "cy", "r"):
            if name in element.attrib and element is not root:
                value = float(element.get(name))
                assert value == value and value >= 0, (element.tag, name, value)
    return root


def test_every_chart_on_the_page_is_valid_svg(app, client, seeded, log_in):
    log_in("admin")
    for url in (f"/stats/?{RANGE}", "/stats/?area=3601", "/stats/?area=360102", "/stats/"):
        html = client.get(url, headers=EN).get_data(as_text=True)
        charts = re.findall(
            r'<svg xmlns="http://www.w3.org/2000/svg" class="chart".*?</svg>', html, re.S
        )
        assert len(charts) == 7, url
        ids = {assert_valid_svg(chart).get("id") for chart in charts}
        assert ids == {
            "chart-colours",
            "chart-days",
            "chart-points",
            "chart-fevers",
            "chart-pending",
            "chart-results",
            "chart-positives",
        }
        assert " style=" not in html and "<script>" not in html


def test_the_date_filter_swaps_only_the_numbers_for_htmx(client, seeded, log_in):
    log_in("admin")
    response = client.get(
        f"/stats/?{RANGE}", headers={**EN, "HX-Request": "true", "HX-Target": "stats"}
    )
    html = response.get_data(as_text=True)
    assert html.startswith('<div id="stats">') and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_a_wrong_range_keeps_what_was_typed_and_shows_the_default(client, seeded, log_in, today):
    log_in("admin")
    html = client.get("/stats/?start=2024-05-03&end=2024-05-01", headers=EN).get_data(as_text=True)
    assert 'id="end-error">The last day is before the first.' in html
    assert 'value="2024-05-01"' in html
    assert table(html, "table-days", "day").keys() == {
        (today - timedelta(days=n)).isoformat() for n in range(14)
    }
