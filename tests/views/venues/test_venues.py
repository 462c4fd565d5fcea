"""Venue codes through the test client: venues and posters, the resident's check-in (once per
30 minutes, family one tap away, queued offline visits), officers' traces and contacts filed
with a second officer, risk windows, statistics, retention, and every refusal from outside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gantong.admin import retention
from gantong.core import rules
from gantong.extensions import db
from gantong.models import AuditEvent, Holder, OfficialRecord, VenueCode, VenueVisit, utcnow
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}


@pytest.fixture
def login(app):
    def make(phone):
        client = app.test_client()
        response = client.post("/login", data={"phone": phone, "password": PASSWORD})
        assert response.status_code == 303
        return client

    return make


@pytest.fixture
def officers(make_user):
    first = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department="疾控"
    )
    second = make_user(
        role="officer", district_code="360102", badge_number="DH-0307", department="疾控"
    )
    other = make_user(
        role="officer", district_code="360103", badge_number="XH-0101", department="疾控"
    )
    return first, second, other


def add_venue(client, name="八一广场超市", district="360102"):
    response = client.post(
        "/venues/new",
        data={"name": name, "address": "八一大道 1 号", "district": district, "category": "shop"},
    )
    assert response.status_code == 303, response.text
    venue_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return venue_id


def code_of(app, venue_id):
    with app.app_context():
        return db.session.scalar(db.select(VenueCode.code).where(VenueCode.venue_id == venue_id))


def visits(app, holder_id=None):
    with app.app_context():
        query = db.select(VenueVisit).order_by(VenueVisit.id)
        if holder_id is not None:
            query = query.where(VenueVisit.holder_id == holder_id)
        return [(v.holder_id, v.at, v.colour, v.queued) for v in db.session.scalars(query)]


def test_check_in_poster_repeat_family_yellow_revoked(app, make_user, make_holder, login, client):
    admin_id, admin_phone = make_user(role="admin")
    admin = login(admin_phone)
    venue_id = add_venue(admin)
    code = code_of(app, venue_id)
    poster = admin.get(f"/venues/{venue_id}/codes/1/poster").text
    assert f"http://localhost:5000/v/{code}" in poster and "<svg" in poster
    assert "Scan the QR" in poster and "扫描二维码" in poster
    assert "A6" in admin.get(f"/venues/{venue_id}").text
    assert 'class="poster a6"' in admin.get(f"/venues/{venue_id}/codes/1/poster?size=a6").text

    # Not logged in: log in and come back.
    page = client.get(f"/v/{code}")
    assert page.status_code == 200 and f"/login?next=/v/{code}" in page.text
    assert visits(app) == []

    account_id, phone = make_user()
    own = make_holder(account_id, name="张小三")
    with app.app_context():
        from gantong.holders import registry
        from gantong.models import User

        account = db.session.get(User, account_id)
        child = registry.add_holder(
            account,
            registry.Identity(
                name="张小宝",
                doc_type="resident_id",
                doc_number=resident_id("36010220150101123"),
                doc_country="",
                nationality="CN",
                district_code="360102",
                address="八一大道 1 号",
            ),
            is_self=False,
            relation="child",
        ).id
        db.session.commit()
    resident = login(phone)
    first = resident.get(f"/v/{code}", headers=EN)
    assert first.status_code == 200
    assert "Green" in first.text and "张*三" in first.text and "八一广场超市" in first.text
    assert "Checked in at" in first.text and "You may enter" in first.text
    again = resident.get(f"/v/{code}")
    assert "已" in again.text or "Already" in again.text
    assert len(visits(app, own)) == 1
    # The family member is one tap away and checks in on their own.
    assert f"/v/{code}?person={child}" in first.text
    resident.get(f"/v/{code}?person={child}")
    assert len(visits(app, child)) == 1
    # Without a declaration there is no code: no colour is shown, the person is asked to declare.
    child_page = resident.get(f"/v/{code}?person={child}", headers=EN).text
    assert "No code yet: declare first." in child_page and "Green" not in child_page
    # Someone else's person: 404, nothing stored.
    stranger_id, stranger_phone = make_user()
    assert login(stranger_phone).get(f"/v/{code}?person={child}").status_code == 404
    # The holder sees their own visits.
    checks = resident.get(f"/me/people/{own}/checks", headers=EN).text
    assert "八一广场超市" in checks

    # A yellow resident is told not to enter; the venue's officer sees the check-in.
    sick_id, sick_phone = make_user()
    sick = make_holder(
        sick_id, name="李小四", number=resident_id("36010219850101123"), symptoms=["fever"]
    )
    page = login(sick_phone).get(f"/v/{code}", headers=EN)
    assert "Yellow" in page.text and "Do not enter" in page.text
    assert visits(app, sick)[0][2] == "yellow"

    # A work account holds no people: it is told check-in is for residents, nothing stored.
    assert admin.get(f"/v/{code}").status_code == 403

    # Revoked: a clear page, and nothing stored; an unknown code: 404.
    with app.app_context():
        code_id = db.session.scalar(db.select(VenueCode.id).where(VenueCode.code == code))
    admin.post(f"/venues/{venue_id}/codes/{code_id}/revoke")
    gone = resident.get(f"/v/{code}?person={child}", headers=EN)
    assert gone.status_code == 410 and "no longer in use" in gone.text
    assert resident.get("/v/abcdefghjkmnpqrs").status_code == 404
    assert len(visits(app)) == 3


def test_queued_visit_is_stored_once_with_its_time_within_bounds(
    app, make_user, make_holder, login
):
    _, admin_phone = make_user(role="admin")
    venue_id = add_venue(login(admin_phone))
    code = code_of(app, venue_id)
    account_id, phone = make_user()
    holder = make_holder(account_id)
    resident = login(phone)
    at = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    body = {"visit_id": "6f1c2b9e-1111-4a7e-9c1d-000000000001", "at": at.isoformat()}
    first = resident.post(f"/v/{code}/queued", json=body)
    assert first.status_code == 201, first.text
    assert resident.post(f"/v/{code}/queued", json=body).status_code == 200
    assert visits(app, holder) == [(holder, at, "green", True)]
    # Too old, or in the future: refused; without a login: 401.
    old = {
        "visit_id": "6f1c2b9e-1111-4a7e-9c1d-000000000002",
        "at": (utcnow() - timedelta(days=3)).isoformat(),
    }
    assert resident.post(f"/v/{code}/queued", json=old).status_code == 422
    future = {
        "visit_id": "6f1c2b9e-1111-4a7e-9c1d-000000000003",
        "at": (utcnow() + timedelta(hours=1)).isoformat(),
    }
    assert resident.post(f"/v/{code}/queued", json=future).status_code == 422
    assert app.test_client().post(f"/v/{code}/queued", json=body).status_code == 401
    # A live check-in now is not within 30 minutes of the queued one: stored.
    resident.get(f"/v/{code}")
    assert len(visits(app, holder)) == 2


def test_trace_file_contacts_second_officer_red_with_source(
    app, make_user, make_holder, login, officers
):
    (_, first_phone), (_, second_phone), (_, other_phone) = officers
    first, second, other = login(first_phone), login(second_phone), login(other_phone)
    venue_id = add_venue(first)
    code = code_of(app, venue_id)
    local_id, local_phone = make_user()
    local = make_holder(local_id, name="王小五")
    far_id, far_phone = make_user()
    far = make_holder(
        far_id, name="赵小六", number=resident_id("36010319900101123"), district="360103"
    )
    login(local_phone).get(f"/v/{code}")
    login(far_phone).get(f"/v/{code}")
    now = utcnow().astimezone(rules.SHANGHAI)
    window = {
        "start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    # A reason is required.
    missing = first.get(f"/venues/{venue_id}/trace", query_string=window, headers=EN)
    assert "Say why." in missing.text
    found = first.get(
        f"/venues/{venue_id}/trace", query_string={**window, "reason": "确诊病例 2026-17 行程"}
    )
    assert found.status_code == 200
    assert "王*五" in found.text and "赵" not in found.text and 'id="elsewhere"' in found.text
    with app.app_context():
        [event] = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "venue.trace")
        )
        assert event.reason == "确诊病例 2026-17 行程" and event.subject_id == str(venue_id)
    # Another district's officer sees nothing; an administrator does not trace.
    assert other.get(f"/venues/{venue_id}").status_code == 404
    assert (
        other.get(f"/venues/{venue_id}/trace", query_string={**window, "reason": "x"}).status_code
        == 404
    )
    assert (
        other.post(
            f"/venues/{venue_id}/contacts", data={**window, "reason": "x", "people": [local]}
        ).status_code
        == 404
    )
    _, admin_phone = make_user(role="admin")
    assert (
        login(admin_phone)
        .get(f"/venues/{venue_id}/trace", query_string={**window, "reason": "x"})
        .status_code
        == 403
    )
    # The visitor from another district cannot be filed by a forged form either.
    filed = first.post(
        f"/venues/{venue_id}/contacts",
        data={**window, "reason": "赣疫通〔2026〕17号", "people": [local, far]},
    )
    assert filed.status_code == 200  # far is not a choice: the form is shown again
    filed = first.post(
        f"/venues/{venue_id}/contacts",
        data={**window, "reason": "赣疫通〔2026〕17号", "people": [local]},
    )
    assert filed.status_code == 303
    with app.app_context():
        [record] = db.session.scalars(db.select(OfficialRecord))
        assert (record.holder_id, record.state, record.trace_venue) == (
            local,
            "pending",
            "八一广场超市",
        )
        assert db.session.get(Holder, local).colour == "green"
        record_id = record.id
    # The same officer cannot approve; a second officer does, and the code turns red.
    assert (
        first.post(
            f"/review/records/{record_id}", data={"decision": "approve", "reason": "核实"}
        ).status_code
        == 403
    )
    assert other.get(f"/review/records/{record_id}").status_code == 404
    assert "八一广场超市" in second.get(f"/review/records/{record_id}").text
    second.post(f"/review/records/{record_id}", data={"decision": "approve", "reason": "核实无误"})
    with app.app_context():
        assert db.session.get(Holder, local).colour == "red"
    code_page = login(local_phone).get(f"/me/people/{local}", headers=EN).text
    assert "At 八一广场超市 between" in code_page and "from a trace of 八一广场超市" in code_page
    # Filing the same window again files nobody twice.
    first.post(
        f"/venues/{venue_id}/contacts",
        data={**window, "reason": "赣疫通〔2026〕17号", "people": [local]},
    )
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OfficialRecord)) == 1
    # The venue's officer sees a yellow check-in on the venue page, masked; nobody else does.
    sick_id, sick_phone = make_user()
    make_holder(sick_id, name="李小四", number=resident_id("36010219850101123"), symptoms=["fever"])
    login(sick_phone).get(f"/v/{code}")
    flagged = first.get(f"/venues/{venue_id}").text
    flagged = flagged[flagged.index('id="flagged"') :]
    assert "李*四" in flagged[: flagged.index("</table>")]


def test_risk_window_turns_visitors_yellow_stats_and_retention(
    app, make_user, make_holder, login, officers
):
    (_, first_phone), _, _ = officers
    officer = login(first_phone)
    venue_id = add_venue(officer)
    code = code_of(app, venue_id)
    visitor_id, visitor_phone = make_user()
    visitor = make_holder(visitor_id)
    login(visitor_phone).get(f"/v/{code}")
    now = utcnow().astimezone(rules.SHANGHAI)
    window = {
        "start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    bad = officer.post(
        f"/venues/{venue_id}/risk", data={**window, "days": 14, "reason": ""}, headers=EN
    )
    assert "Say why." in bad.text
    officer.post(f"/venues/{venue_id}/risk", data={**window, "days": 14, "reason": "聚集性疫情"})
    with app.app_context():
        assert db.session.get(Holder, visitor).colour == "yellow"
    page = login(visitor_phone).get(f"/me/people/{visitor}", headers=EN).text
    assert "Checked in at 八一广场超市" in page and "Source: your check-in at 八一广场超市" in page
    stats = officer.get("/stats/", headers=EN).text
    # One check-in, counted in its Shanghai hour and its colour (green when shown).
    hour = utcnow().astimezone(rules.SHANGHAI).hour
    assert f"<td>{hour:02d}:00</td><td>1</td>" in stats
    assert '<tr data-colour="green"><td>Green code</td><td>1</td>' in stats
    # Visits expire with verification records.
    with app.app_context():
        db.session.execute(db.update(VenueVisit).values(at=datetime(2020, 1, 1, tzinfo=UTC)))
        db.session.commit()
        result = retention.purge_verification_records(28)
        db.session.commit()
        assert result.deleted == 1 and visits(app) == []


def test_case_places_from_own_check_ins(app, make_user, make_holder, login, officers):
    (_, first_phone), _, (_, other_phone) = officers
    officer = login(first_phone)
    venue_id = add_venue(officer)
    code = code_of(app, venue_id)
    case_id, case_phone = make_user()
    case = make_holder(case_id)
    login(case_phone).get(f"/v/{code}")
    page = officer.get(f"/venues/cases/{case}", query_string={"reason": "流调"})
    assert "八一广场超市" in page.text and f"/venues/{venue_id}/trace?" in page.text
    assert (
        login(other_phone).get(f"/venues/cases/{case}", query_string={"reason": "x"}).status_code
        == 404
    )
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "venue.trace_case")
            )
            == 1
        )
