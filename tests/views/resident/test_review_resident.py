"""The resident's side of review: apply for transcoding, My Claim, follow, withdraw, notifications and the
transparency list on the code page."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.models import Application, AuditEvent, Claim, Holder, User
from gantong.review import applications, official_records
from tests.conftest import PASSWORD, resident_id
from tests.views.review.test_review import DEPARTMENT, error_next_to, file_application

EN = {"Accept-Language": "en"}


@pytest.fixture
def resident(client, make_user, make_holder):
    """A logged-in resident who declared a fever (yellow)."""
    user_id, phone = make_user()
    holder_id = make_holder(user_id, name="李小红", symptoms=["fever"])
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"user_id": user_id, "phone": phone, "holder_id": holder_id}


@pytest.fixture
def officer_id(make_user):
    user_id, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department=DEPARTMENT
    )
    return user_id


def fever_key(app, holder_id):
    with app.app_context():
        return applications.open_hits(db.session.get(Holder, holder_id))[0].key


def count(app, model):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_a_yellow_resident_applies_with_a_negative_test(app, client, resident, today):
    url = f"/me/people/{resident['holder_id']}/apply"
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "Symptoms declared: Fever" in page
    key = fever_key(app, resident["holder_id"])

    # Missing evidence: the message sits next to each field, what was typed stays, nothing is written.
    response = client.post(
        url,
        data={"hits": key, "grounds": "negative_test", "institution": "南昌大学一附院"},
        headers=EN,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert error_next_to(html, "test_date") == "Give the date of the test."
    assert error_next_to(html, "report_number") == "Give the number of the test report."
    assert 'value="南昌大学一附院"' in html
    assert count(app, Application) == 0

    response = client.post(
        url,
        data={
            "hits": key,
            "grounds": "negative_test",
            "test_date": today.isoformat(),
            "institution": "南昌大学一附院",
            "report_number": "NAT-0211",
        },
    )
    assert response.status_code == 303
    detail = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Pending" in detail and "NAT-0211" in detail and "Negative nucleic-acid test" in detail
    with app.app_context():
        item = db.session.scalars(db.select(Application)).one()
        assert (item.hit_keys, item.status, item.applicant_id) == (
            key,
            "pending",
            resident["user_id"],
        )
        assert (
            db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq.desc())).first().action
            == "application.create"
        )


def test_one_pending_application_per_hit(app, client, resident, today):
    key = fever_key(app, resident["holder_id"])
    file_application(app, resident["holder_id"])
    url = f"/me/people/{resident['holder_id']}/apply"
    assert "has an application pending already" in client.get(url, headers=EN).get_data(
        as_text=True
    )
    response = client.post(
        url,
        data={"hits": key, "grounds": "isolation_completed", "isolation_end": today.isoformat()},
    )
    assert response.status_code == 200
    assert count(app, Application) == 1


def test_a_green_holder_has_nothing_to_apply_for(app, client, make_user, make_holder):
    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    html = client.get(f"/me/people/{holder_id}/apply", headers=EN).get_data(as_text=True)
    assert "The code is green: there is nothing to clear." in html and 'name="hits"' not in html


def test_a_resident_withdraws_a_pending_application(app, client, resident):
    application_id = file_application(app, resident["holder_id"])
    response = client.post(
        f"/me/applications/{application_id}/withdraw", headers=EN, follow_redirects=True
    )
    assert "Application withdrawn." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, application_id).status == "withdrawn"
    again = client.post(
        f"/me/applications/{application_id}/withdraw", headers=EN, follow_redirects=True
    )
    assert "This was decided already." in again.get_data(as_text=True)
    # Withdrawn, the fever can be named again.
    assert 'name="hits"' in client.get(f"/me/people/{resident['holder_id']}/apply").get_data(
        as_text=True
    )


def test_a_resident_cannot_open_another_residents_application_or_claim(
    app, client, resident, make_user, make_holder
):
    other_id, _ = make_user()
    other_holder = make_holder(
        other_id, name="王五", number=resident_id("36010219770707345"), symptoms=["fever"]
    )
    application_id = file_application(app, other_holder)
    with app.app_context():
        from gantong.review import claims

        holder = db.session.get(Holder, other_holder)
        claim_id = claims.file(holder, "", "名字错了", "王伍", "", holder.account).id
    for path in [
        f"/me/applications/{application_id}",
        f"/me/claims/{claim_id}",
        f"/me/people/{other_holder}/apply",
        f"/me/people/{other_holder}/claim",
        f"/me/people/{other_holder}/requests",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "王五" not in response.get_data(as_text=True)
    assert client.post(f"/me/applications/{application_id}/withdraw").status_code == 404
    assert client.post(f"/me/claims/{claim_id}/withdraw").status_code == 404
    with app.app_context():
        assert db.session.get(Application, application_id).status == "pending"
        assert db.session.get(Claim, claim_id).status == "pending"


def test_a_claim_needs_the_acknowledgement_and_then_is_followed(app, client, resident):
    url = f"/me/people/{resident['holder_id']}/claim"
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "Criminal Law, article 330" in page and "Something else" in page
    key = fever_key(app, resident["holder_id"])
    form = {
        "fact": key,
        "wrong_fact": "我没有发热",
        "correct_fact": "无症状",
        "explanation": "误勾选",
    }
    response = client.post(url, data=form, headers=EN)
    assert response.status_code == 200
    assert "You must confirm that the claim is true." in response.get_data(as_text=True)
    assert "我没有发热" in response.get_data(as_text=True)
    assert count(app, Claim) == 0
    response = client.post(url, data={**form, "acknowledge": "y"})
    assert response.status_code == 303
    with app.app_context():
        item = db.session.scalars(db.select(Claim)).one()
        assert (item.hit_key, item.acknowledged, item.status) == (key, True, "pending")
    listing = client.get(f"/me/people/{resident['holder_id']}/requests", headers=EN).get_data(
        as_text=True
    )
    assert f"/me/claims/{item.id}" in listing and "Pending" in listing
    client.post(f"/me/claims/{item.id}/withdraw")
    with app.app_context():
        assert db.session.get(Claim, item.id).status == "withdrawn"


def test_decisions_and_changes_reach_the_notifications_and_the_code_page(
    app, client, resident, officer_id
):
    application_id = file_application(app, resident["holder_id"])
    with app.app_context():
        applications.decide(
            db.session.get(Application, application_id),
            db.session.get(User, officer_id),
            True,
            "核酸阴性，报告属实",
        )
    code = client.get(f"/me/people/{resident['holder_id']}", headers=EN).get_data(as_text=True)
    assert "Green code" in code
    changes = re.search(r'<table id="changes">.*?</table>', code, re.S).group(0)
    assert "Yellow code → Green code" in changes
    assert "核酸阴性，报告属实" in changes and DEPARTMENT in changes and "DH-0301" in changes
    assert re.search(r"Notifications \(\d+\)", code)

    notices = client.get("/me/notifications", headers=EN).get_data(as_text=True)
    assert f"Transcoding application no. {application_id} for 李*红 was approved." in notices
    assert "The code of 李*红 changed from Yellow code to Green code." in notices
    assert not re.search(
        r"Notifications \(\d+\)",
        client.get(f"/me/people/{resident['holder_id']}", headers=EN).get_data(as_text=True),
    )
    detail = client.get(f"/me/applications/{application_id}", headers=EN).get_data(as_text=True)
    assert "Approved" in detail and "DH-0301" in detail

    history = client.get(f"/me/people/{resident['holder_id']}/history", headers=EN).get_data(
        as_text=True
    )
    assert "核酸阴性，报告属实" in history and "DH-0301" in history


def test_worst_case_code_page_with_officers_long_reasons_fits_the_budget(
    app, client, make_user, make_holder, today
):
    user_id, phone = make_user()
    holder_id = make_holder(
        user_id,
        symptoms=["fever", "dry_cough", "fatigue", "sore_throat"],
        stays=[("4201", today - timedelta(days=6), today - timedelta(days=3))],
    )
    officers = []
    for badge in ("DH-0301", "DH-0307"):
        officer_user, _ = make_user(
            role="officer",
            district_code="360102",
            badge_number=badge,
            department="南昌市东湖区疾病预防控制中心流行病学调查科",
        )
        officers.append(officer_user)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        first, second = (db.session.get(User, user) for user in officers)
        for number in range(3):
            # Each record turns the code red and the next "cleared" yellow again: officers' words on every change.
            entry = official_records.record(
                holder, first, "suspected", f"东卫疾控〔2020〕{number}号" + "长" * 85
            )
            official_records.approve(entry, second, "长" * 900)
            official_records.record(
                holder, second, "cleared", f"东卫疾控〔2020〕{number}号" + "长" * 85
            )
        assert holder.colour == "yellow"
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.get(f"/me/people/{holder_id}", headers={"Accept-Encoding": "gzip"})
    body = response.get_data()
    assert len(body) <= 14_000, len(body)
    assert "DH-0307" in gzip.decompress(body).decode()


def test_resident_pages_carry_no_inline_script_or_style(app, client, resident):
    application_id = file_application(app, resident["holder_id"])
    holder = resident["holder_id"]
    for path in [
        f"/me/people/{holder}/apply",
        f"/me/people/{holder}/claim",
        f"/me/people/{holder}/requests",
        f"/me/applications/{application_id}",
        "/me/notifications",
        f"/me/people/{holder}",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html) and not re.search(r"\sstyle=", html), path


def test_sms_goes_out_only_when_the_decision_commits(app, resident, officer_id, monkeypatch):
    from gantong.holders import sms

    sent = []
    monkeypatch.setattr(sms, "send", lambda phone, text: sent.append(phone))
    application_id = file_application(app, resident["holder_id"])
    with app.app_context():
        from gantong.holders import notifications

        holder = db.session.get(Holder, resident["holder_id"])
        notifications.notify(
            holder, notifications.APPLICATION_DECIDED, number=application_id, status="approved"
        )
        db.session.rollback()
        assert sent == []
        notifications.notify(
            holder, notifications.APPLICATION_DECIDED, number=application_id, status="approved"
        )
        db.session.commit()
        assert sent == [resident["phone"]]
