"""The admin's retention page: the setting, the oldest record kept, and the purge run in batches
with its progress, after a confirmation; without JavaScript a button sends the next batch."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.models import AuditEvent, VerificationRecord, utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RETENTION_DAYS": 10, "RETENTION_BATCH_SIZE": 2}


@pytest.fixture
def admin(client, make_user):
    user_id, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


@pytest.fixture
def records(app, make_point):
    """Five expired records and two kept ones."""
    point_id = make_point()
    now = utcnow()
    moments = [now - timedelta(days=30 + n) for n in range(5)] + [now - timedelta(days=2), now]
    with app.app_context():
        for moment in moments:
            db.session.add(
                VerificationRecord(
                    record_id=str(uuid.uuid4()),
                    point_id=point_id,
                    method="camera",
                    colour="green",
                    verified_at=moment,
                )
            )
        db.session.commit()
    return moments


def count(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord))


def test_the_page_shows_the_setting_the_oldest_record_kept_and_what_has_expired(
    app, client, admin, records
):
    html = client.get("/admin/retention", headers=EN).get_data(as_text=True)
    assert re.search(r'id="retention-days">10 days', html)
    assert re.search(r'id="expired">5<', html) and re.search(r'id="kept">2<', html)
    assert 'id="oldest-kept">' in html and "none" not in html.split('id="oldest-kept">')[1][:40]
    zh = client.get("/admin/retention").get_data(as_text=True)
    assert "数据保存" in zh and "10 天" in zh


def test_the_purge_needs_the_confirmation(app, client, admin, records):
    response = client.post("/admin/retention", data={}, headers=EN)
    assert response.status_code == 200
    assert "Tick the box to confirm the deletion." in response.get_data(as_text=True)
    assert count(app) == 7


def test_the_purge_runs_a_batch_per_request_with_progress_then_reports(
    app, client, admin, make_user, records
):
    first = client.post("/admin/retention", data={"confirm": "y"}, headers=EN)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and count(app) == 5
    assert re.search(r'<progress id="purge-progress" value="2" max="5"', html)
    assert "2 of 5" in html and 'hx-trigger="load"' in html  # htmx sends the next batch at once
    second = client.post(
        "/admin/retention", data={"confirm": "y", "total": "5", "deleted": "2"}, headers=EN
    )
    assert 'value="4" max="5"' in second.get_data(as_text=True) and count(app) == 3
    last = client.post(
        "/admin/retention", data={"confirm": "y", "total": "5", "deleted": "4"}, headers=EN
    )
    assert last.status_code == 303 and count(app) == 2
    page = client.get("/admin/retention", headers=EN).get_data(as_text=True)
    assert (
        "5 expired verification records and venue check-ins deleted." in page
        and 'id="expired">0<' in page
    )
    with app.app_context():
        events = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "retention.purge")
        ).all()
        assert [event.actor_id for event in events] == [admin, admin, admin]
    assert count(app) == 2  # the two recent records are kept


def test_only_admins_see_the_retention_page(client, make_user):
    _, phone = make_user(
        role="officer", district_code="360102", badge_number="DH-1", department="疾控"
    )
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get("/admin/retention").status_code == 403
    assert client.post("/admin/retention", data={"confirm": "y"}).status_code == 403
