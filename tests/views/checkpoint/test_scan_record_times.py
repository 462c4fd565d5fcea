"""The phone's scan time is a claim: bounded by the bundle's life, checked against the arrival.

A record arriving long after its scan is flagged late (scan_records.LATE_AFTER) and checked for
a stale colour at its arrival too; a late fever counts from its arrival; a partner's code past
its cap at the arrival (plus the grace) is refused; a paper code scanned before its loss was
reported is kept, flagged.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from gantong.checkpoint import scan_records
from gantong.codes import keys, paper, trust_list
from gantong.core import tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    ColourChange,
    FeverFinding,
    Holder,
    SigningKey,
    VerificationRecord,
    utcnow,
)
from tests.conftest import PASSWORD

HOUR = 3600


@pytest.fixture
def station(client, make_staff, make_holder):
    staff_id, phone, point_id = make_staff()
    holder_id = make_holder()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"staff_id": staff_id, "point_id": point_id, "holder_id": holder_id}


def scan(token, at, temperature="36.5", decision="", shown="green"):
    body = {
        "record_id": str(uuid.uuid4()),
        "token": token,
        "scanned_at": at,
        "offline": True,
        "temperature": temperature,
        "decision": decision,
        "note": "",
    }
    if shown is not None:
        body["shown_colour"] = shown
    return body


def old_keys(app) -> None:
    """Our signing keys made three days ago, so a token stamped hours ago is genuine."""
    with app.app_context():
        keys.signing_key()
        for key in db.session.scalars(db.select(SigningKey)):
            key.created_at = utcnow() - timedelta(days=3)
        db.session.commit()


def screen_text(app, holder_id, seconds_ago: int) -> tuple[str, int]:
    """A screen token stamped `seconds_ago`, and that moment (the phone's scan time)."""
    old_keys(app)
    with app.app_context():
        moment = utcnow() - timedelta(seconds=seconds_ago)
        text = keys.signed_screen_token(db.session.get(Holder, holder_id), moment)[1]
    return text, int(moment.timestamp())


def turn_yellow(app, holder_id) -> None:
    with app.app_context():
        registry.declare(
            db.session.get(Holder, holder_id),
            registry.DeclarationFacts(
                symptoms=["fever"], close_contact=False, contact_date=None, stays=[]
            ),
            author=None,
        )
        db.session.commit()
        assert db.session.get(Holder, holder_id).colour != "green"


def post(client, body):
    return client.post("/checkpoint/scan-records", json=body)


def the_record(app) -> VerificationRecord:
    with app.app_context():
        (record,) = db.session.scalars(db.select(VerificationRecord))
        db.session.expunge(record)
        return record


def test_a_scan_older_than_a_bundle_may_be_used_offline_is_refused(app, client, station):
    refuse = app.config["BUNDLE_REFUSE_SECONDS"]
    text, at = screen_text(app, station["holder_id"], refuse + HOUR)
    response = post(client, scan(text, at))
    assert response.status_code == 422 and response.get_json()["error"] == "scan_time"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(VerificationRecord.id))) == 0


def test_a_record_arriving_long_after_its_scan_is_flagged_late_and_officers_see_it(
    app, client, station, make_user
):
    text, at = screen_text(app, station["holder_id"], 3 * HOUR)
    response = post(client, scan(text, at))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["late"] is True
    record = the_record(app)
    assert record.late_arrival and int(record.verified_at.timestamp()) == at
    client.post("/logout")
    _, phone = make_user(role="officer", district_code="360102")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get("/review/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="stale-colours"' in page and "arrived 3.0 h after the scan" in page


def test_a_record_arriving_within_minutes_is_not_late(app, client, station):
    text, at = screen_text(app, station["holder_id"], 60)
    response = post(client, scan(text, at))
    assert response.status_code == 201 and response.get_json()["late"] is False
    assert not the_record(app).late_arrival


def test_a_late_fever_counts_from_its_arrival_and_the_record_keeps_the_claimed_scan_time(
    app, client, station
):
    text, at = screen_text(app, station["holder_id"], 20 * HOUR)
    arrival = utcnow()
    response = post(client, scan(text, at, temperature="38.6", decision="refer"))
    assert response.status_code == 201 and response.get_json()["fever"]
    with app.app_context():
        (finding,) = db.session.scalars(db.select(FeverFinding))
        assert finding.at >= arrival - timedelta(seconds=1)
        assert db.session.get(Holder, station["holder_id"]).colour != "green"
    assert int(the_record(app).verified_at.timestamp()) == at


def green_since_days_ago(app, holder_id) -> None:
    """The holder's history says green since three days ago (not only since the test began)."""
    with app.app_context():
        long_ago = utcnow() - timedelta(days=3)
        for change in db.session.scalars(
            db.select(ColourChange).where(ColourChange.holder_id == holder_id)
        ):
            change.at = long_ago
        db.session.get(Holder, holder_id).colour_at = long_ago
        db.session.commit()


def test_a_back_dated_scan_before_a_colour_change_is_still_flagged_stale(app, client, station):
    green_since_days_ago(app, station["holder_id"])
    text, at = screen_text(app, station["holder_id"], 2 * HOUR)  # signed while green
    turn_yellow(app, station["holder_id"])
    with app.app_context():  # as stored, the holder was green at the claimed scan time
        assert (
            scan_records.colour_at(
                db.session.get(Holder, station["holder_id"]), utcnow() - timedelta(seconds=2 * HOUR)
            )
            == "green"
        )
    response = post(client, scan(text, at))
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["stale_colour"] and answer["late"]
    assert the_record(app).stale_colour


def paper_text(app, holder_id, days_ago: float = 1) -> tuple[str, str]:
    old_keys(app)
    with app.app_context():
        printed = paper.issue(
            db.session.get(Holder, holder_id), now=utcnow() - timedelta(days=days_ago)
        )
        db.session.commit()
        return paper.token_text(printed), printed.serial


def test_a_paper_code_without_the_colour_shown_is_flagged_when_the_holder_is_not_green(
    app, client, station
):
    text, _serial = paper_text(app, station["holder_id"])
    turn_yellow(app, station["holder_id"])
    response = post(client, scan(text, int(time.time()), decision="refer", shown=None))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["stale_colour"]
    assert the_record(app).stale_colour


def test_a_paper_code_without_the_colour_shown_of_a_green_holder_is_not_flagged(
    app, client, station
):
    text, _serial = paper_text(app, station["holder_id"])
    response = post(client, scan(text, int(time.time()), decision="pass", shown=None))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert not response.get_json()["stale_colour"]


@pytest.fixture
def partner(app):
    private = tokens.generate_private_key()
    kid = tokens.new_kid()
    with app.app_context():
        trust_list.add_issuer(
            "南昌市电子健康码",
            "南昌市",
            tokens.jwk(private.public_key(), kid),
            valid_from=utcnow() - timedelta(days=2),
        )
        db.session.commit()
    return kid, private


def partner_text(partner, issued_at: int) -> str:
    kid, private = partner
    return tokens.sign(
        tokens.Token(
            type=tokens.SCREEN,
            kid=kid,
            subject="a1b2c3d4e5f60718",
            colour="green",
            issued_at=issued_at,
            ttl=600,
        ),
        private,
    )


def test_a_partner_code_past_its_cap_at_the_arrival_is_refused_whatever_the_scan_time(
    app, client, station, partner
):
    issued = int(time.time()) - 3 * HOUR
    response = post(client, scan(partner_text(partner, issued), issued + 100))
    assert response.status_code == 422 and response.get_json()["reason"] == "over_partner_cap"


def test_a_partner_code_arriving_within_its_cap_and_the_grace_is_stored(
    app, client, station, partner
):
    cap = app.config["PARTNER_MAX_TTL"]
    issued = int(time.time()) - cap - scan_records.OFFLINE_GRACE + 120
    response = post(client, scan(partner_text(partner, issued), issued + 100))
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_paper_code_scanned_before_its_loss_was_reported_is_kept_flagged(
    app, client, station, make_user
):
    text, _serial = paper_text(app, station["holder_id"])
    scanned_at = int(time.time()) - 600
    with app.app_context():
        paper.report_lost(db.session.get(Holder, station["holder_id"]), limited=False)
        db.session.commit()
    response = post(client, scan(text, scanned_at))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["revoked_paper"] is True
    assert the_record(app).revoked_paper
    client.post("/logout")
    _, phone = make_user(role="officer", district_code="360102")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get("/review/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "paper code reported lost after the scan" in page


def test_a_paper_code_scanned_after_its_loss_was_reported_is_refused(app, client, station):
    text, _serial = paper_text(app, station["holder_id"])
    with app.app_context():
        paper.report_lost(
            db.session.get(Holder, station["holder_id"]),
            limited=False,
            now=utcnow() - timedelta(minutes=10),
        )
        db.session.commit()
    response = post(client, scan(text, int(time.time())))
    assert response.status_code == 422 and response.get_json()["reason"] == "paper_revoked"
