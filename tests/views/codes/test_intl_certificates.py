"""International certificates: the trust lists, the checkpoint's page, pre-entry and officers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import segno

from gantong.extensions import db
from gantong.labs import results as lab_results_service
from gantong.models import (
    AuditEvent,
    DccSigner,
    ForeignCertificate,
    Holder,
    LabResult,
    PreEntry,
    ShcIssuer,
    utcnow,
)
from tests.conftest import PASSWORD
from tests.intl_factory import gateway_file, hcert_of_a_test, make_hc1, make_signer, tampered
from tests.views.entry.test_entry import trip_form

EN = {"Accept-Language": "en"}
DATA = Path(__file__).parents[2] / "data" / "credentials"
SHC = DATA / "smart-health-cards" / "examples"
SHC_ISS = "https://spec.smarthealth.cards/examples/issuer"


@pytest.fixture(scope="module")
def signer():
    return make_signer()


def example_issuer(url: str) -> dict:
    """The SHC examples' issuer as its well-known addresses answer (JWKS, CRLs)."""
    assert url.startswith(SHC_ISS + "/")
    return json.loads((SHC / "issuer" / url.removeprefix(SHC_ISS + "/")).read_text())


@pytest.fixture
def trusted(app, client, make_user, signer, monkeypatch):
    """An administrator imported our test DSC and the SHC examples' issuer (its keys and
    revocation list fetched from its well-known addresses)."""
    from gantong.codes import intl_trust

    monkeypatch.setattr(intl_trust, "fetch_json", example_issuer)
    _, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post(
        "/admin/certificates/dsc",
        data={"file": (io.BytesIO(gateway_file((signer[1], "DE"))), "trust-list.json")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 303
    response = client.post(
        "/admin/certificates/shc",
        data={"iss": SHC_ISS, "name": "SMART example issuer"},
        headers=EN,
    )
    assert response.status_code == 303
    client.post("/logout")
    with app.app_context():
        assert db.session.scalar(db.select(DccSigner.country)) == "DE"
        actions = set(db.session.scalars(db.select(AuditEvent.action)))
        assert {"dcc_signer.add", "shc_issuer.add"} <= actions


def test_administrators_manage_the_lists_and_no_one_else_sees_them(
    app, client, make_user, trusted, make_staff
):
    _, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get("/admin/certificates", headers=EN).get_data(as_text=True)
    assert "SMART example issuer" in page and "DE test DSC" in page
    # A second import of the same file adds nothing; a broken file is refused next to the field.
    again = client.post(
        "/admin/certificates/dsc",
        data={"file": (io.BytesIO(b"not json"), "x.json")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert "not JSON in the gateway" in again.get_data(as_text=True)
    taken = client.post(
        "/admin/certificates/shc", data={"iss": SHC_ISS, "name": "again"}, headers=EN
    )
    assert "on the list already" in taken.get_data(as_text=True)
    client.post("/logout")
    _, staff_phone, _ = make_staff()
    client.post("/login", data={"phone": staff_phone, "password": PASSWORD})
    assert client.get("/admin/certificates").status_code == 403
    assert (
        client.post("/admin/certificates/shc", data={"iss": "https://x", "name": "x"}).status_code
        == 403
    )
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ShcIssuer.id))) == 1


def qr_png(text: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make_qr(text, error="L").save(buffer, kind="png", scale=4)
    buffer.seek(0)
    return buffer


def _scan(client, text):
    return client.post("/checkpoint/verify/token", data={"token": text}, headers=EN).get_data(
        as_text=True
    )


def test_the_checkpoint_shows_what_a_certificate_is_and_refuses_an_altered_one(
    client, trusted, make_staff, signer
):
    _, phone, _ = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    text = make_hc1(*signer, hcert_of_a_test())
    page = _scan(client, text)
    assert "Test result: negative" in page and "Erika Mustermann" in page
    assert "1964-08-12" in page and "verified against DE DSC" in page
    assert "not a Gantong code: it has no colour" in page
    forged = _scan(client, tampered(text))
    assert "Forged or altered certificate" in forged and 'role="alert"' in forged
    assert "verified against" not in forged
    assert "Unreadable certificate" in _scan(client, text[:200])
    card = _scan(client, (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text())
    assert "Vaccination" in card and "John B. Anyperson" in card
    assert "verified against SMART example issuer" in card
    revoked = _scan(client, (SHC / "example-03-f-qr-code-numeric-value-0.txt").read_text())
    assert "Revoked by its issuer" in revoked
    # A photo of the code, read on the server (the page without scripts), says the same.
    photo = client.post(
        "/checkpoint/verify/photo",
        data={"photo": (qr_png(text), "code.png")},
        content_type="multipart/form-data",
        headers=EN,
    ).get_data(as_text=True)
    assert "Test result: negative" in photo and "verified against DE DSC" in photo
    # A certificate from the dgc-testdata: genuine, signer not on our list.
    data = json.loads((DATA / "dgc-testdata/DE/2DCode/raw/2.json").read_text())
    assert "Issuer not on our trust list" in _scan(client, data["PREFIX"])


def test_a_returnee_attaches_a_certificate_and_the_officer_sees_it_verified(
    app, client, make_user, trusted, signer, today
):
    _, phone = make_user(phone="+447911123456")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    text = make_hc1(*signer, hcert_of_a_test(name=("John", "Smith")))
    # An altered certificate is refused next to its field, and nothing is written.
    refused = client.post(
        "/entry/trip", data=trip_form(today, certificate=tampered(text)), headers=EN
    )
    assert refused.status_code == 200
    assert "altered or forged" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PreEntry.id))) == 0
    # Attached as a photo of its QR code (on a phone, the file input opens the camera).
    response = client.post(
        "/entry/trip",
        data=trip_form(today, certificate_photo=(qr_png(text), "certificate.png")),
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 303
    with app.app_context():
        row = db.session.scalar(db.select(ForeignCertificate))
        assert (row.kind, row.status, row.name) == ("test", "verified", "John Smith")
        assert json.loads(row.details)["result"] == "negative"
        # The verified negative counts as a verified result for the rules (issue 22, part 1).
        result = db.session.scalar(db.select(LabResult))
        assert (result.source, result.result, result.test_type) == (
            "certificate",
            "negative",
            "pcr",
        )
        assert result.holder_id == db.session.scalar(db.select(PreEntry.holder_id))
        assert result.issuer_name.startswith("DE DSC") and result.signed
        holder = db.session.get(Holder, result.holder_id)
        assert [r.id for r in lab_results_service.citable(holder, utcnow())] == [result.id]
    client.post("/logout")
    _, officer = make_user(role="officer", district_code="360102")
    client.post("/login", data={"phone": officer, "password": PASSWORD})
    page = client.get("/entry/arrivals", headers=EN).get_data(as_text=True)
    assert "Test result: negative · verified" in page and "verified against DE DSC" in page
    client.post("/logout")
    _, elsewhere = make_user(role="officer", district_code="360111")
    client.post("/login", data={"phone": elsewhere, "password": PASSWORD})
    assert "John Smith" not in client.get("/entry/arrivals", headers=EN).get_data(as_text=True)


def test_a_signer_taken_off_the_list_stops_verifying(
    app, client, make_user, trusted, signer, make_staff
):
    _, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    with app.app_context():
        signer_id = db.session.scalar(db.select(DccSigner.id))
    refused = client.post(f"/admin/certificates/dsc/{signer_id}/active", data={}, headers=EN)
    assert refused.status_code == 200 and "Say why." in refused.get_data(as_text=True)
    done = client.post(
        f"/admin/certificates/dsc/{signer_id}/active", data={"reason": "key leaked"}, headers=EN
    )
    assert done.status_code == 303
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "dcc_signer.deactivate")
        )
        assert event.reason == "key leaked"
    client.post("/logout")
    _, staff, _ = make_staff()
    client.post("/login", data={"phone": staff, "password": PASSWORD})
    page = _scan(client, make_hc1(*signer, hcert_of_a_test()))
    assert "Issuer not on our trust list" in page and "verified against" not in page


def test_a_partner_gate_verifies_a_certificate_through_the_api(app, trusted, make_point, signer):
    """/api/v1/verify reads an international certificate as the checkpoint's page does: it was
    refused as `malformed`, so a partner's gate could not check one at all."""
    from gantong.checkpoint import points
    from gantong.models import VerificationRecord

    with app.app_context():
        token = points.new_api_token(make_point(), "入境闸机")
    gate = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    text = make_hc1(*signer, hcert_of_a_test())
    body = gate.post("/api/v1/verify", json={"token": text}, headers=headers).get_json()
    assert body["result"] == "certificate" and body["verified"] is True
    assert (body["format"], body["kind"], body["status"]) == ("eu-dcc", "test", "verified")
    assert body["name"] == "Erika Mustermann" and body["birth_date"] == "1964-08-12"
    assert body["details"]["result"] == "negative" and "DE" in body["signer"]
    forged = gate.post("/api/v1/verify", json={"token": tampered(text)}, headers=headers)
    assert forged.status_code == 200
    assert forged.get_json()["status"] == "bad_signature" and not forged.get_json()["verified"]
    assert forged.get_json()["title"] == "Forged or altered certificate"
    card = (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text()
    shc = gate.post("/api/v1/verify", json={"token": card}, headers=headers).get_json()
    assert (shc["format"], shc["kind"], shc["verified"]) == ("shc", "vaccination", True)
    unreadable = gate.post("/api/v1/verify", json={"token": text[:200]}, headers=headers)
    assert unreadable.status_code == 422
    assert unreadable.get_json()["reason"] == "certificate_unreadable"
    with app.app_context():  # a certificate carries no colour: no record is opened
        assert db.session.scalar(db.select(db.func.count(VerificationRecord.id))) == 0
