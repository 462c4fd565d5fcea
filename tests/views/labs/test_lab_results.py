"""Labs post results (issue 22): a batch of 1,000, idempotent, bad ones refused with reasons;
the code page's latest result; an application citing it; a positive through an officer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gantong.core import lab_results
from gantong.extensions import db
from gantong.holders import registry
from gantong.labs import results
from gantong.models import Application, Declaration, Holder, LabResult, OfficialRecord, User, utcnow
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMS_BACKEND": "memory"}


@pytest.fixture
def lab_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def lab(app, make_user, lab_key):
    """A lab with its own key, a lab account and that account's API token."""
    with app.app_context():
        public = lab_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        row = results.add_lab("南昌市第一医院检验科", "360102", public)
        db.session.commit()
        lab_id = row.id
    user_id, phone = make_user(role="lab", lab_id=lab_id)
    with app.app_context():
        token = results.new_api_token(db.session.get(User, user_id), "LIS")
        db.session.commit()
    return {"id": lab_id, "token": token, "phone": phone, "user_id": user_id}


def login(app, phone):
    client = app.test_client()
    assert client.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 303
    return client


def post(client, token, items, **headers):
    return client.post(
        "/api/v1/lab-results",
        json={"results": items},
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def item(number, sample_id, hours_ago=31, result="negative", **fields):
    sampled = utcnow() - timedelta(hours=hours_ago)
    return {
        "doc_type": "resident_id",
        "doc_number": number,
        "sample_id": sample_id,
        "sampled_at": sampled.isoformat(),
        "resulted_at": (sampled + timedelta(hours=6)).isoformat(),
        "test_type": "pcr",
        "result": result,
        **fields,
    }


def test_a_batch_of_1000_is_stored_once_bad_ones_refused_and_matched_on_registration(
    app, client, lab, make_user, make_holder
):
    registered = resident_id("36010219800101123")
    make_holder(number=registered)
    later = resident_id("36010219850101555")
    batch = [item(registered, "S-0")]
    # 959 more good results for people not registered yet (pre-entry, or never).
    for index in range(1, 960):
        batch.append(
            item(
                resident_id(f"36010219700{index % 9 + 1}{index % 28 + 1:02d}{index % 1000:03d}"),
                f"S-{index}",
            )
        )
    batch[5] = item(later, "S-5")
    bad = [
        item("36010219800101124", "B-1"),  # check digit
        item(registered, "B-2", hours_ago=24 * 365 * 36),  # a test from 1990
        item(registered, "B-3", hours_ago=-5),  # sampled in the future
        item(registered, "B-4", test_type="blood"),
        item(registered, "B-5", result="maybe"),
        {**item(registered, "B-6"), "sampled_at": "yesterday"},
        "not an object",
        item(registered, "S-1"),  # a sample id twice in the batch
    ]
    bad += [item(registered, f"B-x{index}", signature="AAAA") for index in range(32)]
    batch += bad
    assert len(batch) == 1000

    response = post(client, lab["token"], batch)
    assert response.status_code == 200
    body = response.get_json()
    assert body["stored"] == 960
    assert body["matched"] == 1
    reasons = [refusal["reason"] for refusal in body["refused"]]
    assert reasons[:8] == [
        "doc_number",
        "sampled_too_old",
        "in_future",
        "test_type",
        "result",
        "time_format",
        "not_an_object",
        "duplicate_in_batch",
    ]
    assert reasons[8:] == ["signature"] * 32
    assert all(refusal["message"] for refusal in body["refused"])
    assert body["refused"][0]["index"] == 960

    again = post(client, lab["token"], batch[:960]).get_json()
    assert (again["stored"], again["already_stored"]) == (0, 960)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(LabResult)) == 960
        # The person registers later: their result waits for them, and is theirs now.
        holder = registry.add_holder(
            None,
            registry.Identity("王五", "resident_id", later, "", "CN", "360102", "八一大道 2 号"),
        )
        db.session.commit()
        assert [row.sample_id for row in results.for_holder(holder)] == ["S-5"]


def test_a_signed_result_is_traced_to_its_lab_and_a_token_is_needed(app, client, lab, lab_key):
    number = resident_id("36010219800101123")
    signed = item(number, "SIG-1")
    signed["signature"] = lab_results.sign(signed, lab_key)
    tampered = {**item(number, "SIG-2"), "signature": signed["signature"]}
    body = post(client, lab["token"], [signed, tampered]).get_json()
    assert body["stored"] == 1
    assert [refusal["reason"] for refusal in body["refused"]] == ["signature"]
    with app.app_context():
        assert db.session.scalar(db.select(LabResult.signed)) is True
    assert post(client, "gtl_wrong", [signed]).status_code == 401
    assert client.post("/api/v1/lab-results", json={"results": [signed]}).status_code == 401
    assert post(client, lab["token"], [signed] * 6000).status_code == 413


def test_code_page_shows_the_latest_result_and_an_officer_approves_an_application_citing_it(
    app, client, lab, make_user, make_holder
):
    user_id, phone = make_user()
    number = resident_id("36010219800101123")
    holder_id = make_holder(user_id, number=number, symptoms=["fever"])
    with app.app_context():
        # The fever was declared three days ago: the result sampled since may clear it.
        db.session.execute(db.update(Declaration).values(made_at=utcnow() - timedelta(days=3)))
        db.session.commit()
    post(client, lab["token"], [item(number, "N-1", hours_ago=31)])
    resident = login(app, phone)
    page = resident.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert "PCR negative · sampled 31 h ago" in page
    zh = resident.get(f"/me/people/{holder_id}").get_data(as_text=True)
    assert "核酸 阴性 · 采样 31 小时前" in zh
    history = resident.get(f"/me/people/{holder_id}/tests", headers=EN).get_data(as_text=True)
    assert "N-1" not in history and "南昌市第一医院检验科" in history

    form = resident.get(f"/me/people/{holder_id}/apply").get_data(as_text=True)
    assert "verified-results" in form
    key = re.search(r'name="hits" required type="checkbox" value="([^"]+)"', form).group(1)
    with app.app_context():
        result_id = db.session.scalar(db.select(LabResult.id))
    sent = resident.post(
        f"/me/people/{holder_id}/apply",
        data={
            "hits": key,
            "grounds": "negative_test",
            "lab_result": str(result_id),
        },
    )
    assert sent.status_code == 303
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.lab_result_id == result_id and application.test_date is None
        application_id = application.id

    _officer_id, officer_phone = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department="疾控"
    )
    officer = login(app, officer_phone)
    view = officer.get(f"/review/applications/{application_id}", headers=EN).get_data(as_text=True)
    assert 'id="cited-result"' in view and "PCR negative" in view
    assert "南昌市第一医院检验科" in view and "N-1" in view
    decided = officer.post(
        f"/review/applications/{application_id}",
        data={"decision": "approve", "reason": "核酸阴性，实验室已核验"},
    )
    assert decided.status_code == 303
    with app.app_context():
        assert db.session.get(Holder, holder_id).colour == "green"


def test_a_positive_turns_the_code_red_only_when_an_officer_confirms_it_with_the_lab_as_source(
    app, client, lab, make_user, make_holder
):
    user_id, phone = make_user()
    number = resident_id("36010219800101123")
    holder_id = make_holder(user_id, number=number)
    body = post(client, lab["token"], [item(number, "P-1", hours_ago=8, result="positive")])
    assert body.get_json()["positives"] == 1
    with app.app_context():
        entry = db.session.scalar(db.select(OfficialRecord))
        assert entry.state == "pending" and entry.recorded_by == lab["user_id"]
        assert db.session.get(Holder, holder_id).colour == "green"  # the lab alone: not red
        record_id = entry.id
    _officer_id, officer_phone = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department="疾控"
    )
    officer = login(app, officer_phone)
    page = officer.get(f"/review/records/{record_id}", headers=EN).get_data(as_text=True)
    assert 'id="lab-result"' in page and "PCR positive" in page and "signed" not in page
    decided = officer.post(
        f"/review/records/{record_id}",
        data={"decision": "approve", "reason": "核酸阳性复核"},
    )
    assert decided.status_code == 303
    with app.app_context():
        assert db.session.get(Holder, holder_id).colour == "red"
    resident = login(app, phone)
    code = resident.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert "Positive test result from 南昌市第一医院检验科" in code
    assert "PCR positive" in code
    history = resident.get(f"/me/people/{holder_id}/history", headers=EN).get_data(as_text=True)
    assert "recorded by lab 南昌市第一医院检验科" in history


def test_a_lab_account_sees_only_its_page(app, lab, make_user):
    client = login(app, lab["phone"])
    assert "南昌市第一医院检验科" in client.get("/lab", headers=EN).get_data(as_text=True)
    assert client.get("/me/people").status_code in (403, 404)
    _user, resident_phone = make_user()
    assert login(app, resident_phone).get("/lab").status_code == 403


@pytest.mark.parametrize("headers, message", [(EN, "A negative test counts for"), ({}, "阴性")])
def test_a_typed_negative_test_dated_1990_is_refused_next_to_the_field(
    app, make_user, make_holder, headers, message
):
    user_id, phone = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    resident = login(app, phone)
    form = resident.get(f"/me/people/{holder_id}/apply").get_data(as_text=True)
    key = re.search(r'name="hits" required type="checkbox" value="([^"]+)"', form).group(1)
    response = resident.post(
        f"/me/people/{holder_id}/apply",
        data={
            "hits": key,
            "grounds": "negative_test",
            "test_date": "1990-01-01",
            "institution": "南昌大学第一附属医院",
            "report_number": "NAT-1990",
        },
        headers=headers,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html and 'value="1990-01-01"' in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 0


def test_results_are_purged_by_the_retention_rules_unless_a_record_cites_them(
    app, client, lab, make_user, make_holder
):
    from gantong.admin import retention

    number = resident_id("36010219800101123")
    make_holder(number=number)
    post(client, lab["token"], [item(number, "OLD", hours_ago=24 * 20, result="positive")])
    post(client, lab["token"], [item(number, "KEEP", hours_ago=24 * 2)])
    stranger = resident_id("36010219850101555")
    post(client, lab["token"], [item(stranger, "WAITING", hours_ago=24 * 2)])
    with app.app_context():
        db.session.execute(
            db.update(LabResult)
            .where(LabResult.sample_id == "WAITING")
            .values(received_at=utcnow() - timedelta(days=15))
        )
        db.session.commit()
        # 10 days' retention: OLD is past it, but its official record cites it; WAITING has
        # waited past LAB_UNMATCHED_DAYS (14) for a person who never registered.
        assert retention.status(10).results_expired == 1
        retention.purge_verification_records(days=10)
        db.session.commit()
        kept = set(db.session.scalars(db.select(LabResult.sample_id)))
        assert kept == {"OLD", "KEEP"}
        db.session.execute(db.delete(OfficialRecord))
        retention.purge_verification_records(days=10)
        db.session.commit()
        assert set(db.session.scalars(db.select(LabResult.sample_id))) == {"KEEP"}


def test_statistics_count_results_per_day_and_positives_per_district(
    app, client, lab, make_user, make_holder
):
    here, there = resident_id("36010219800101123"), resident_id("36010319800101123")
    make_holder(number=here)
    make_holder(number=there, district="360103")
    post(
        client,
        lab["token"],
        [
            item(here, "A", hours_ago=8, result="positive"),
            item(there, "B", hours_ago=8, result="positive"),
            item(there, "C", hours_ago=9),
        ],
    )
    _id, phone = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department="疾控"
    )
    page = login(app, phone).get("/stats/", headers=EN).get_data(as_text=True)
    results_table = page[page.index('id="table-results"') :]
    positives_table = page[page.index('id="table-positives"') :]
    # The officer's district only: its one positive, its one result today.
    assert re.search(r'data-code="360102"><td>[^<]*</td><td>1</td>', positives_table)
    assert "360103" not in positives_table.split("</table>")[0]
    today = utcnow().astimezone(registry.rules.SHANGHAI).date().isoformat()
    assert re.search(rf'data-day="{today}"><td>[^<]*</td><td>1</td>', results_table)


def test_a_verified_certificate_counts_as_a_verified_result_for_the_rules(
    app, make_user, make_holder
):
    user_id, phone = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    with app.app_context():
        db.session.execute(db.update(Declaration).values(made_at=utcnow() - timedelta(days=3)))
        holder = db.session.get(Holder, holder_id)
        sampled = utcnow() - timedelta(hours=20)
        first = results.record_certificate_result(
            holder,
            "Robert Koch-Institut",
            "DEsBNsvNqHk=",
            "URN:UVCI:01DE/1",
            "pcr",
            "negative",
            sampled,
        )
        again = results.record_certificate_result(
            holder,
            "Robert Koch-Institut",
            "DEsBNsvNqHk=",
            "URN:UVCI:01DE/1",
            "pcr",
            "negative",
            sampled,
        )
        db.session.commit()
        assert first.id == again.id and first.source == "certificate"
        assert [row.id for row in results.citable(holder, utcnow())] == [first.id]
    page = login(app, phone).get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert "PCR negative · sampled 20 h ago" in page and "Robert Koch-Institut" in page
