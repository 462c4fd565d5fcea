"""The temperature as a volunteer types it: a decimal comma, a word, kept and told in their language."""

from __future__ import annotations

import html as html_module
import json
import re

import pytest

from gantong.extensions import db
from gantong.models import VerificationRecord
from tests.views.checkpoint.test_checkpoint import EN, open_record, record_body, station  # noqa: F401
from tests.views.checkpoint.test_scan_records import scan

ZH = {"Accept-Language": "zh-CN"}


def stored_temperatures(app):
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(VerificationRecord.temperature).where(
                    VerificationRecord.recorded_at.is_not(None)
                )
            )
        )


def test_a_decimal_comma_is_a_decimal_point(app, client, station, screen_token):  # noqa: F811
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    response = client.post(
        "/checkpoint/records", data=record_body(record_id, reference, "37,5", ""), headers=EN
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-800:]
    as_json = client.post(
        "/checkpoint/scan-records",
        json=scan(screen_token(station["holder_id"]), temperature="36,6", decision=""),
    )
    assert as_json.status_code == 201, as_json.get_data(as_text=True)
    assert sorted(stored_temperatures(app)) == [36.6, 37.5]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (EN, "Type the temperature as a number, such as 36.5."),
        (ZH, "请以数字填写体温，例如 36.5。"),
    ],
)
def test_a_temperature_that_is_not_a_number_is_kept_and_told_next_to_the_field(
    app,
    client,
    station,  # noqa: F811
    screen_token,
    headers,
    message,
):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    response = client.post(
        "/checkpoint/records", data=record_body(record_id, reference, "abc", ""), headers=headers
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<p class="error" id="temperature-error">{message}</p>' in html
    field = re.search(r'<input[^>]*id="temperature"[^>]*>', html).group(0)
    # A text field keeps what was typed (a number field would drop "abc" and "37,5"), and no
    # min, max, step or required: the browser's own bubbles are in the browser's language.
    assert 'type="text"' in field and 'value="abc"' in field and 'inputmode="decimal"' in field
    assert not re.search(r"\b(min|max|step|required)=", field)
    assert stored_temperatures(app) == []


def test_the_scan_page_temperature_has_no_browser_checks_and_carries_our_messages(
    client,
    station,  # noqa: F811
):
    html = client.get("/checkpoint/scan", headers=ZH).get_data(as_text=True)
    field = re.search(r'<input[^>]*id="scan-temperature"[^>]*>', html).group(0)
    assert 'type="text"' in field and 'inputmode="decimal"' in field
    assert not re.search(r"\b(min|max|step|required)=", field)
    checks = json.loads(html_module.unescape(re.search(r'data-checks="([^"]+)"', field).group(1)))
    assert checks["number"] == "请以数字填写体温，例如 36.5。"
    assert (checks["min"], checks["max"]) == (34.0, 43.0)
    assert 'id="scan-temperature-error"' in html
