"""Dates and times are written in one place (gantong/web/i18n.py): day first with the month's
name in English, the 年月日 form in Chinese, a 24-hour clock in Asia/Shanghai."""

from __future__ import annotations

import pathlib
import re
from datetime import UTC, date, datetime

import pytest

from gantong import create_app
from gantong.web import i18n

ROOT = pathlib.Path(__file__).resolve().parents[3]
MOMENT = datetime(2026, 12, 6, 23, 25, tzinfo=UTC)  # 07:25 on 7 December in Shanghai


@pytest.fixture(scope="module")
def app():
    return create_app(
        {"TESTING": True, "SECRET_KEY": "dates", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )


@pytest.mark.nodb
@pytest.mark.parametrize(
    ("language", "moment", "day", "short_day"),
    [
        ("en", "7 Dec 2026, 07:25", "7 Dec 2026", "7 Dec"),
        ("zh", "2026年12月7日 07:25", "2026年12月7日", "12月7日"),
    ],
)
def test_moments_and_days_in_each_language(app, language, moment, day, short_day):
    with app.test_request_context(headers={"Cookie": f"lang={language}"}):
        assert i18n.moment(MOMENT) == moment
        assert i18n.day(date(2026, 12, 7)) == day
        assert i18n.short_day(date(2026, 12, 7)) == short_day
        assert i18n.moment(None) == i18n.day(None) == ""
        rendered = app.jinja_env.from_string("{{ at|moment }} · {{ on|day }}").render(
            at=MOMENT, on=date(2026, 12, 7)
        )
        assert rendered == f"{moment} · {day}"


@pytest.mark.nodb
def test_a_morning_and_an_evening_in_english_read_on_a_24_hour_clock(app):
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert i18n.moment(datetime(2026, 7, 12, 11, 5, tzinfo=UTC)) == "12 Jul 2026, 19:05"


@pytest.mark.nodb
def test_only_the_one_place_formats_dates_for_people():
    # Machine formats (CSV cells, the audit trail's canonical form) are not for reading.
    allowed = {"gantong/web/i18n.py", "gantong/admin/exports.py", "gantong/audit.py"}
    found = []
    for path in (ROOT / "gantong").rglob("*.py"):
        name = path.relative_to(ROOT).as_posix()
        text = path.read_text()
        if name not in allowed and re.search(r"format_date|format_datetime|\.strftime\(", text):
            found.append(name)
    assert found == []


@pytest.mark.nodb
def test_templates_show_dates_only_through_the_filters():
    # isoformat() is for machines: attribute values (datetime=, data-*, min/max), never text.
    found = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"[\w.]+\.isoformat\(\)", text):
            before = text[max(0, match.start() - 40) : match.start()]
            if not re.search(r'(="\{\{ *|\b(max|min|value)=)$', before):
                found.append(f"{path.name}: {before}{match.group(0)}")
    assert found == []


@pytest.mark.nodb
@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_code_cards_clock_is_babels_seconds_pattern(app, language):
    from flask_babel import format_datetime

    moments = [MOMENT, MOMENT.replace(tzinfo=None), datetime(2026, 3, 1, 16, 0, 59, tzinfo=UTC)]
    with app.test_request_context(headers={"Cookie": f"lang={language}"}):
        for moment in moments:
            expected = format_datetime(moment, i18n.SECONDS_PATTERN)
            assert i18n.moment_seconds(moment) == expected
        assert i18n.moment_seconds(MOMENT) == "2026-12-07 07:25:00"
        assert i18n.moment_seconds(None) == ""
