"""Scan Code Verification and the Verification Record, through the test client."""

from __future__ import annotations

import io
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import segno

from gantong.codes import keys
from gantong.core import tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import AuditEvent, FeverFinding, Holder, VerificationRecord, utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


@pytest.fixture
def station(client, make_staff, make_holder, make_user):
    """A logged-in volunteer at a point, and a green resident."""
    staff_id, phone, point_id = make_staff()
    owner_id, _ = make_user()
    holder_id = make_holder(owner_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"staff_id": staff_id, "point_id": point_id, "holder_id": holder_id}


def count_records(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord))


def verify_token(client, text):
    return client.post(
        "/checkpoint/verify/token", data={"token": text, "method": "camera"}, headers=EN
    )


def open_record(client, text):
    response = verify_token(client, text)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    record_url = response.headers["Location"]
    page = client.get(record_url, headers=EN).get_data(as_text=True)
    reference = re.search(r'name="reference" type="hidden" value="([^"]+)"', page).group(1)
    record_id = record_url.rsplit("/", 1)[1]
    return record_id, reference, page


def record_body(record_id, reference, temperature="36.5", decision="pass", **extra):
    return {
        "record_id": record_id,
        "reference": reference,
        "temperature": temperature,
        "decision": decision,
        **extra,
    }


def test_a_valid_code_opens_the_verification_record(app, client, station, screen_token):
    record_id, reference, page = open_record(client, screen_token(station["holder_id"]))
    assert "Green code" in page
    assert "张*三" in page and "张小三" not in page
    assert "360***********" in page
    with app.app_context():
        record = db.session.scalar(db.select(VerificationRecord))
        assert (
            record.record_id == record_id and record.method == "camera" and record.colour == "green"
        )
        assert record.recorded_at is None


def test_stale_token_colour_is_flagged_and_the_database_wins(app, client, station, screen_token):
    text = screen_token(station["holder_id"])  # says green
    with app.app_context():
        holder = db.session.get(Holder, station["holder_id"])
        registry.declare(holder, registry.DeclarationFacts(["fever"], False, None), author=None)
    _, _, page = open_record(client, text)
    assert "Yellow code" in page
    assert "the database is authoritative" in page


def forged(text: str) -> str:
    raw = bytearray(__import__("base45").b45decode(text[len(tokens.PREFIX) :]))
    raw[-1] ^= 1
    return tokens.PREFIX + __import__("base45").b45encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    "kind, title",
    [
        ("expired", "Expired code"),
        ("forged", "Forged or altered code"),
        ("unknown_key", "Code from an unknown issuer"),
        ("garbage", "Unreadable code"),
        ("broken_certificate", "Unreadable certificate"),
    ],
)
def test_refused_codes_get_their_own_screen_and_record_nothing(
    app, client, station, screen_token, kind, title
):
    if kind == "expired":
        text = screen_token(station["holder_id"], now=utcnow() - timedelta(seconds=121))
    elif kind == "forged":
        text = forged(screen_token(station["holder_id"]))
    elif kind == "unknown_key":
        stranger = tokens.generate_private_key()
        text = tokens.sign(
            tokens.Token(
                tokens.SCREEN, "abcdef01", "0123456789abcdef", "green", int(time.time()), 120
            ),
            stranger,
        )
    elif kind == "broken_certificate":
        # An EU DCC prefix no longer reads as an unreadable Gantong code (issue 22).
        text = "HC1:NOT-A-GANTONG-CODE"
    else:
        text = "GT9:NOT-A-GANTONG-CODE"
    response = verify_token(client, text)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in html
    assert "Nothing was recorded." in html
    assert count_records(app) == 0


def test_the_typed_number_finds_the_holder(app, client, station):
    with app.app_context():
        number = registry.dynamic_number(db.session.get(Holder, station["holder_id"]))
    response = client.post(
        "/checkpoint/verify/number", data={"number": number[:4] + " " + number[4:]}
    )
    assert response.status_code == 303
    bad = client.post("/checkpoint/verify/number", data={"number": "00000000"}, headers=EN)
    assert "Number not found" in bad.get_data(as_text=True)


def test_no_code_lane_needs_document_and_name_together_and_is_audited(app, client, station):
    with app.app_context():
        number = db.session.get(Holder, station["holder_id"]).doc_number
    wrong = client.post(
        "/checkpoint/verify/document", data={"doc_number": number, "name": "李四"}, headers=EN
    )
    assert "No holder found" in wrong.get_data(as_text=True)
    right = client.post(
        "/checkpoint/verify/document", data={"doc_number": number.lower(), "name": "张小三"}
    )
    assert right.status_code == 303
    with app.app_context():
        lookups = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "checkpoint.no_code_lookup")
        ).all()
        assert [e.actor_id for e in lookups] == [station["staff_id"]] * 2
        assert number not in "".join(e.after for e in lookups)


def test_no_code_lane_is_rate_limited_per_staff(app, client, station):
    app.config["NO_CODE_LIMIT_PER_STAFF"] = "3 per hour"
    statuses = [
        client.post(
            "/checkpoint/verify/document",
            data={"doc_number": f"36010219900101{i:04d}", "name": "王"},
        ).status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_photo_upload_is_decoded_on_the_server(app, client, station, screen_token):
    png = io.BytesIO()
    segno.make_qr(screen_token(station["holder_id"]), error="m").save(
        png, kind="png", scale=8, border=4
    )
    png.seek(0)
    response = client.post(
        "/checkpoint/verify/photo",
        data={"photo": (png, "code.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(VerificationRecord.method)) == "photo"


def test_submitting_a_fever_turns_the_code_yellow(app, client, station, screen_token):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    response = client.post(
        "/checkpoint/records", data=record_body(record_id, reference, "38.1", "refer")
    )
    assert response.status_code == 303
    with app.app_context():
        holder = db.session.get(Holder, station["holder_id"])
        assert holder.colour == "yellow"
        record = db.session.scalar(db.select(VerificationRecord))
        assert record.temperature == 38.1 and record.decision == "refer"
        # No GPS from the browser: the point's own position.
        assert record.position_source == "point" and record.latitude == 28.68


def test_record_validation_keeps_the_typed_values(app, client, station, screen_token):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    response = client.post(
        "/checkpoint/records",
        data=record_body(record_id, reference, "45.2", "pass", note="late"),
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="temperature-error">A temperature is between 34.0 and 43.0 °C.<' in html
    assert 'value="45.2"' in html and 'value="late"' in html
    assert (
        client.post(
            "/checkpoint/records",
            data=record_body(record_id, reference, "36.6", "maybe"),
            headers=EN,
        ).status_code
        == 200
    )
    with app.app_context():
        assert db.session.scalar(db.select(VerificationRecord.recorded_at)) is None


@pytest.mark.parametrize(
    ("temperature", "decision"), [("36.5", "pass"), ("37.2", "pass"), ("37.3", "refer")]
)
def test_an_unchosen_decision_follows_the_temperature_and_the_camera_comes_back(
    app, client, station, screen_token, temperature, decision
):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    response = client.post(
        "/checkpoint/records", data=record_body(record_id, reference, temperature, ""), headers=EN
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/checkpoint/scan")
    with app.app_context():
        assert db.session.scalar(db.select(VerificationRecord.decision)) == decision


def test_same_record_id_twice_is_stored_once_and_a_different_body_conflicts(
    app, client, station, screen_token
):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    body = record_body(
        record_id, reference, "36.6", "pass", latitude="28.1", longitude="115.2", accuracy="12"
    )
    first = client.post("/checkpoint/records", json=body)
    again = client.post("/checkpoint/records", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["record_id"] == again.get_json()["record_id"] == record_id
    changed = client.post("/checkpoint/records", json={**body, "temperature": "37.9"})
    assert changed.status_code == 409
    with app.app_context():
        record = db.session.scalar(db.select(VerificationRecord))
        assert record.temperature == 36.6 and record.position_source == "gps"


def test_concurrent_submissions_of_one_record_id_store_one_row(app, station, screen_token):
    client = app.test_client()
    client.post("/login", data={"phone": db_phone(app, station["staff_id"]), "password": PASSWORD})
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    body = record_body(record_id, reference, "38.4", "refer")
    statuses, barrier = [], threading.Barrier(2)

    def submit():
        barrier.wait()
        statuses.append(app.test_client().post("/checkpoint/records", json=body).status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 201]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(FeverFinding)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)) == 1


def db_phone(app, user_id):
    from gantong.models import User

    with app.app_context():
        return db.session.get(User, user_id).phone


def test_a_forged_reference_is_refused(app, client, station, screen_token):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    response = client.post(
        "/checkpoint/records", json=record_body(record_id, reference[:-2] + "xx")
    )
    assert response.status_code == 403
    other = client.post("/checkpoint/records", json=record_body("0" * 36, reference))
    assert other.status_code == 403


def test_a_queued_record_needs_no_session_or_csrf_token(app, client, station, screen_token):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    app.config["WTF_CSRF_ENABLED"] = True
    fresh = app.test_client()  # the session has expired meanwhile
    assert (
        fresh.post("/checkpoint/records", json=record_body(record_id, reference)).status_code == 201
    )


def test_voiding_a_fever_turns_the_code_back(app, client, station, screen_token):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    client.post("/checkpoint/records", data=record_body(record_id, reference, "38.0", "refer"))
    assert (
        client.post(f"/checkpoint/records/{record_id}/void", data={"reason": ""}).status_code == 303
    )
    with app.app_context():
        assert db.session.get(Holder, station["holder_id"]).colour == "yellow"
    assert (
        client.post(
            f"/checkpoint/records/{record_id}/void", data={"reason": "typed 38 for 36"}
        ).status_code
        == 303
    )
    with app.app_context():
        assert db.session.get(Holder, station["holder_id"]).colour == "green"
        record = db.session.scalar(db.select(VerificationRecord))
        assert record.void_reason == "typed 38 for 36" and record.voided_by == station["staff_id"]
        assert (
            db.session.scalar(
                db.select(AuditEvent).where(AuditEvent.action == "checkpoint.void")
            ).reason
            == "typed 38 for 36"
        )


def test_an_officer_of_the_district_may_void_another_may_not(
    app, client, station, screen_token, make_user
):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    client.post("/checkpoint/records", data=record_body(record_id, reference, "38.0", "refer"))
    _, outsider = make_user(role="officer", district_code="360111")
    _, officer = make_user(role="officer", district_code="360102")
    officer_client = app.test_client()
    officer_client.post("/login", data={"phone": outsider, "password": PASSWORD})
    assert (
        officer_client.post(
            f"/checkpoint/records/{record_id}/void", data={"reason": "x"}
        ).status_code
        == 404
    )
    officer_client.post("/logout")
    officer_client.post("/login", data={"phone": officer, "password": PASSWORD})
    assert (
        officer_client.post(
            f"/checkpoint/records/{record_id}/void", data={"reason": "wrong person"}
        ).status_code
        == 303
    )
    with app.app_context():
        assert db.session.get(Holder, station["holder_id"]).colour == "green"


def test_staff_of_point_a_cannot_read_point_b_records(
    app, client, station, screen_token, make_staff, make_point
):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    client.post("/checkpoint/records", data=record_body(record_id, reference))
    _, phone_b, _ = make_staff(make_point(name="八一广场"))
    other = app.test_client()
    other.post("/login", data={"phone": phone_b, "password": PASSWORD})
    assert other.get(f"/checkpoint/records/{record_id}").status_code == 404
    assert (
        other.post(f"/checkpoint/records/{record_id}/void", data={"reason": "x"}).status_code == 404
    )
    assert record_id not in other.get("/checkpoint/").get_data(as_text=True)


STAFF_PAGES = [
    ("get", "/checkpoint/"),
    ("get", "/checkpoint/scan"),
    ("post", "/checkpoint/verify"),
    ("post", "/checkpoint/verify/token"),
    ("post", "/checkpoint/verify/photo"),
    ("post", "/checkpoint/verify/number"),
    ("post", "/checkpoint/verify/document"),
    ("get", "/checkpoint/records/00000000-0000-0000-0000-000000000000"),
]


@pytest.mark.parametrize("method, path", STAFF_PAGES)
@pytest.mark.parametrize("role", ["resident", "officer", "admin"])
def test_other_roles_get_403_on_every_staff_page(client, make_user, method, path, role):
    _, phone = make_user(role=role, district_code="360102" if role == "officer" else None)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert getattr(client, method)(path).status_code == 403


@pytest.mark.parametrize("method, path", STAFF_PAGES)
def test_staff_pages_need_login(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_scanner_script_is_only_on_the_scanner_page(app, client, station, screen_token):
    scan = client.get("/checkpoint/scan").get_data(as_text=True)
    assert "qr-scanner.min.js" in scan and "js/scan.js" in scan
    record_id, _, record_page = open_record(client, screen_token(station["holder_id"]))
    pages = [
        client.get("/checkpoint/").get_data(as_text=True),
        record_page,
        client.get("/login").get_data(as_text=True),
    ]
    resident = app.test_client()
    owner = db_phone(app, db_owner(app, station["holder_id"]))
    resident.post("/login", data={"phone": owner, "password": PASSWORD})
    pages += [
        resident.get(f"/me/people/{station['holder_id']}").get_data(as_text=True),
        resident.get(f"/me/people/{station['holder_id']}/declare").get_data(as_text=True),
    ]
    for html in pages:
        assert "qr-scanner" not in html and "scan.js" not in html


def db_owner(app, holder_id):
    with app.app_context():
        return db.session.get(Holder, holder_id).account_id


def test_resident_sees_where_the_code_was_checked_but_not_by_whom(
    app, client, station, screen_token
):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    client.post("/checkpoint/records", data=record_body(record_id, reference, "36.4", "pass"))
    resident = app.test_client()
    resident.post(
        "/login",
        data={"phone": db_phone(app, db_owner(app, station["holder_id"])), "password": PASSWORD},
    )
    html = resident.get(f"/me/people/{station['holder_id']}/checks", headers=EN).get_data(
        as_text=True
    )
    assert "东湖站" in html and "Pass" in html
    assert db_phone(app, station["staff_id"]) not in html


def test_api_verify_with_a_point_token(app, client, station, screen_token):
    with app.app_context():
        from gantong.checkpoint import points

        api_token = points.new_api_token(station["point_id"], "gate 2")
    anonymous = app.test_client()
    assert anonymous.post("/api/v1/verify", json={"token": "x"}).status_code == 401
    headers = {"Authorization": f"Bearer {api_token}"}
    response = anonymous.post(
        "/api/v1/verify", json={"token": screen_token(station["holder_id"])}, headers=headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["colour"] == "green" and body["holder"]["masked_name"] == "张*三"
    submitted = anonymous.post(
        body["record_url"], json=record_body(body["record_id"], body["reference"])
    )
    assert submitted.status_code == 201
    refused = anonymous.post("/api/v1/verify", json={"token": "garbage"}, headers=headers)
    assert refused.status_code == 422 and refused.get_json()["reason"] == "malformed"


def test_api_verify_with_a_staff_session_needs_the_csrf_header(app, client, station, screen_token):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/api/v1/verify", json={"token": screen_token(station["holder_id"])})
    assert response.status_code == 400
    page = client.get("/checkpoint/").get_data(as_text=True)
    csrf_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = client.post(
        "/api/v1/verify",
        json={"token": screen_token(station["holder_id"])},
        headers={"X-CSRFToken": csrf_token},
    )
    assert response.status_code == 200


def test_verification_is_rate_limited_per_staff_account(app, client, station):
    app.config["VERIFY_LIMIT_PER_STAFF"] = "5 per minute"
    statuses = [verify_token(client, "garbage").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_the_limit_counts_every_way_of_verifying_together(app, client, station):
    app.config["VERIFY_LIMIT_PER_STAFF"] = "4 per minute"
    statuses = [verify_token(client, "garbage").status_code for _ in range(2)]
    statuses += [
        client.post("/checkpoint/verify/number", data={"number": "00000000"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200] * 4 + [429]


@pytest.mark.parametrize(
    "lane, path",
    [
        ("token", "/checkpoint/verify/token"),
        ("photo", "/checkpoint/verify/photo"),
        ("number", "/checkpoint/verify/number"),
        ("no_code", "/checkpoint/verify/document"),
    ],
)
def test_the_old_single_address_sends_each_lane_on_to_its_own(client, station, lane, path):
    # A scan page cached before each way had its address posts its lane here: 307 keeps the body.
    response = client.post("/checkpoint/verify", data={"lane": lane})
    assert response.status_code == 307 and response.headers["Location"].endswith(path)
    assert client.post("/checkpoint/verify", data={"lane": "fax"}).status_code == 400


@pytest.mark.nodb
def test_the_openapi_file_documents_verify():
    import pathlib

    text = (pathlib.Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml").read_text()
    assert "/api/v1/verify:" in text and "bearerAuth" in text


def test_keys_and_token_module_agree(app):
    with app.app_context():
        kid, _ = keys.signing_key()
        assert kid in keys.verification_keys()


def test_the_scan_page_takes_the_fever_threshold_and_its_decisions_from_the_rules(client, station):
    from gantong.core import rules

    scan = client.get("/checkpoint/scan").get_data(as_text=True)
    form = re.search(r'<form id="scan-record-form"[^>]*>', scan).group(0)
    assert f'data-fever="{rules.FEVER_THRESHOLD}"' in form
    assert 'data-at-fever="refer"' in form and 'data-below-fever="pass"' in form
    script = Path(__file__).resolve().parents[3] / "static" / "js" / "scan.js"
    assert "37.3" not in script.read_text(encoding="utf-8")
