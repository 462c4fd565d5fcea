"""Paper codes: printing, checking online at the checkpoint, reporting lost; officers' no-phone holders."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from gantong.codes import keys, paper
from gantong.core import qr, tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import AuditEvent, Holder, PaperCode, VerificationRecord
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}


@pytest.fixture
def resident(client, make_user, make_holder):
    """A logged-in resident with one green holder."""
    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"user_id": user_id, "holder_id": holder_id}


def only_paper(app) -> PaperCode:
    with app.app_context():
        return db.session.scalars(db.select(PaperCode)).one()


def paper_text(app, serial: str) -> str:
    with app.app_context():
        return paper.token_text(paper.by_serial(serial))


def test_a_holder_prints_a_paper_code_whose_qr_is_a_long_lived_paper_token(app, client, resident):
    url = f"/entry/people/{resident['holder_id']}/paper"
    first = client.get(url, headers=EN).get_data(as_text=True)
    assert "Make the paper code" in first and "<svg" not in first.split("<main>")[1]
    response = client.post(url)
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    page = client.get(url, headers=EN).get_data(as_text=True)
    printed = only_paper(app)
    text = paper_text(app, printed.serial)
    assert qr.svg(text) in page  # the page's QR is exactly this token
    assert "No colour is printed" in page and "Green code" not in page
    with app.app_context():
        token = tokens.verify(text, keys.verification_keys(), int(time.time()))
    assert token.type == tokens.PAPER and token.colour is None and token.subject == printed.serial
    assert token.ttl == 365 * 24 * 3600
    assert printed.expires_at - printed.issued_at == timedelta(days=365)
    assert printed.printed_by == resident["user_id"]
    # The page uses the print stylesheet and keeps the token out of every URL.
    assert "paper.css" in page and text not in response.headers["Location"]


def test_printing_again_shows_the_same_paper_code(app, client, resident):
    url = f"/entry/people/{resident['holder_id']}/paper"
    client.post(url)
    client.post(url)
    printed = only_paper(app)
    assert qr.svg(paper_text(app, printed.serial)) in client.get(url).get_data(as_text=True)


def test_the_code_page_links_to_the_paper_code(client, resident):
    page = client.get(f"/me/people/{resident['holder_id']}", headers=EN).get_data(as_text=True)
    assert f'href="/entry/people/{resident["holder_id"]}/paper"' in page


@pytest.fixture
def staff_client(app, make_staff):
    """A second client, logged in as checkpoint staff."""
    _, phone, point_id = make_staff()
    other = app.test_client()
    other.post("/login", data={"phone": phone, "password": PASSWORD})
    return other


def verify(staff_client, text):
    return staff_client.post(
        "/checkpoint/verify/token", data={"token": text, "method": "camera"}, headers=EN
    )


def test_the_checkpoint_looks_the_colour_up_and_refuses_a_paper_code_reported_lost(
    app, client, resident, staff_client
):
    url = f"/entry/people/{resident['holder_id']}/paper"
    client.post(url)
    old = only_paper(app)
    old_text = paper_text(app, old.serial)
    # The colour changes after printing: the paper carries none, the checkpoint looks it up.
    with app.app_context():
        holder = db.session.get(Holder, resident["holder_id"])
        registry.declare(holder, registry.DeclarationFacts(["fever"], False, None), author=None)
    response = verify(staff_client, old_text)
    assert response.status_code == 303
    record_page = staff_client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Yellow code" in record_page and "张*三" in record_page
    assert f"Paper code {old.serial}" in record_page
    with app.app_context():
        record = db.session.scalars(db.select(VerificationRecord)).one()
        assert record.paper_serial == old.serial and record.holder_id == resident["holder_id"]
        assert record.colour == "yellow" and record.token_colour is None

    lost = client.post(f"{url}/lost", data={"confirm": "y"}, headers=EN)
    assert lost.status_code == 303
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "The old paper code no longer works" in page
    with app.app_context():
        papers = db.session.scalars(db.select(PaperCode).order_by(PaperCode.id)).all()
        assert (
            len(papers) == 2 and papers[0].revoked_at is not None and papers[1].revoked_at is None
        )
        assert papers[0].revoked_by == resident["user_id"]
        new_serial = papers[1].serial
        actions = db.session.scalars(
            db.select(AuditEvent.action)
            .where(AuditEvent.action.like("paper.%"))
            .order_by(AuditEvent.seq)
        ).all()
        assert actions == ["paper.issue", "paper.revoke", "paper.issue"]
    assert qr.svg(paper_text(app, new_serial)) in page and "reported lost" in page

    refused = verify(staff_client, old_text)
    assert refused.status_code == 200
    refused_page = refused.get_data(as_text=True)
    assert "Paper code reported lost" in refused_page and "Nothing was recorded" in refused_page
    assert verify(staff_client, paper_text(app, new_serial)).status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)) == 2


def test_the_api_tells_a_paper_serial_and_its_revocation(app, client, resident, make_point):
    from gantong.checkpoint import points

    with app.app_context():
        bearer = {"Authorization": "Bearer " + points.new_api_token(make_point())}
    device = app.test_client()
    url = f"/entry/people/{resident['holder_id']}/paper"
    client.post(url)
    printed = only_paper(app)
    text = paper_text(app, printed.serial)
    verified = device.post("/api/v1/verify", json={"token": text}, headers=bearer).get_json()
    assert verified["result"] == "verified" and verified["paper_serial"] == printed.serial
    assert verified["colour_source"] == "database" and verified["issuer"] is None
    assert verified["token_colour"] is None and verified["holder"]["masked_name"] == "张*三"
    client.post(f"{url}/lost", data={"confirm": "y"})
    refused = device.post("/api/v1/verify", json={"token": text}, headers=bearer)
    assert refused.status_code == 422 and refused.get_json()["reason"] == "paper_revoked"
    assert refused.get_json()["title"] and refused.get_json()["message"]


def test_reporting_lost_needs_the_tick_and_changes_nothing_without_it(app, client, resident):
    url = f"/entry/people/{resident['holder_id']}/paper"
    client.post(url)
    response = client.post(f"{url}/lost", data={}, headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="confirm-error"' in page and "Tick the box" in page
    with app.app_context():
        assert db.session.scalars(db.select(PaperCode)).one().revoked_at is None


def test_an_unknown_serial_is_refused(app, client, resident, staff_client):
    with app.app_context():
        kid, private = keys.signing_key()
        forged_serial = tokens.sign(
            tokens.Token(tokens.PAPER, kid, "0123456789abcdef", None, int(time.time()), 3600),
            private,
        )
    page = verify(staff_client, forged_serial).get_data(as_text=True)
    assert "Unknown paper code" in page


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_accounts_holder_is_404(client, resident, make_user, make_holder, method):
    other_id, _ = make_user()
    other_holder = make_holder(other_id, number=resident_id("36010219800101123"))
    assert getattr(client, method)(f"/entry/people/{other_holder}/paper").status_code == 404
    assert (
        client.post(f"/entry/people/{other_holder}/paper/lost", data={"confirm": "y"}).status_code
        == 404
    )


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_and_admins_get_403(client, make_user, make_holder, make_point, role):
    holder_id = make_holder()
    fields = {"point_id": make_point()} if role == "staff" else {}
    _, phone = make_user(role=role, **fields)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get(f"/entry/people/{holder_id}/paper").status_code == 403
    assert client.post(f"/entry/people/{holder_id}/paper").status_code == 403
    assert client.get("/entry/holders").status_code == 403
    assert client.get("/entry/holders/new").status_code == 403


def test_the_paper_pages_need_a_login(client, make_holder):
    response = client.get(f"/entry/people/{make_holder()}/paper")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.fixture
def officer(client, make_user):
    user_id, phone = make_user(
        role="officer", district_code="360102", badge_number="DH-1", department="东湖区疾控中心"
    )
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


def new_holder_form(**overrides):
    form = {
        "name": "王奶奶",
        "doc_type": "resident_id",
        "doc_number": resident_id("36010219400101123"),
        "doc_country": "",
        "nationality": "CN",
        "address": "东湖区八一大道 9 号",
    }
    form.update(overrides)
    return form


def test_an_officer_registers_a_person_without_any_account_and_prints_their_paper_code(
    app, client, officer
):
    response = client.post("/entry/holders/new", data=new_holder_form(), headers=EN)
    assert response.status_code == 303
    with app.app_context():
        holder = db.session.scalars(db.select(Holder)).one()
        assert holder.account_id is None and holder.district_code == "360102"
        printed = db.session.scalars(db.select(PaperCode)).one()
        assert printed.holder_id == holder.id and printed.printed_by == officer
        created = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "holder.create")
        )
        assert created.actor_id == officer
    assert response.headers["Location"].endswith(f"/entry/people/{holder.id}/paper")
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert qr.svg(paper_text(app, printed.serial)) in page
    listing = client.get("/entry/holders", headers=EN).get_data(as_text=True)
    assert "王奶奶" in listing and holder.doc_number in listing  # officers see full identities


def test_a_wrong_document_is_told_next_to_the_field_and_nothing_is_written(app, client, officer):
    response = client.post(
        "/entry/holders/new", data=new_holder_form(doc_number="360102194001011230"), headers=EN
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="doc_number-error"' in page and 'value="王奶奶"' in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Holder)) == 0


def test_a_registered_document_writes_nothing(app, client, officer, make_holder):
    make_holder(number=resident_id("36010219400101123"))
    response = client.post("/entry/holders/new", data=new_holder_form(), headers=EN)
    assert response.status_code == 200 and "registered already" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PaperCode)) == 0


def test_another_districts_officer_gets_404_and_no_data(app, client, make_user, make_holder):
    holder_id = make_holder(district="360102")
    _, phone = make_user(role="officer", district_code="360111")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.get(f"/entry/people/{holder_id}/paper")
    assert response.status_code == 404 and "张" not in response.get_data(as_text=True)
    assert client.post(f"/entry/people/{holder_id}/paper").status_code == 404
    assert "张小三" not in client.get("/entry/holders").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PaperCode)) == 0


def test_the_officer_can_report_a_no_phone_holders_paper_lost(app, client, officer):
    location = client.post("/entry/holders/new", data=new_holder_form()).headers["Location"]
    assert client.post(location + "/lost", data={"confirm": "y"}).status_code == 303
    with app.app_context():
        papers = db.session.scalars(db.select(PaperCode).order_by(PaperCode.id)).all()
        assert [p.revoked_by for p in papers] == [officer, None]


def test_serials_are_shown_grouped_for_reading_aloud(app, client, resident):
    url = f"/entry/people/{resident['holder_id']}/paper"
    client.post(url)
    serial = only_paper(app).serial
    page = client.get(url).get_data(as_text=True)
    assert re.search(" ".join([serial[i : i + 4] for i in range(0, 16, 4)]), page)
