"""The code on the phone, the server's side: devices, the credential and its ETag, presentations
verified online and against the bundle (docs/token-format.md, section 8)."""

from __future__ import annotations

import base64
import re
import time
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import event

from gantong.core import credentials, verifier
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import AuditEvent, Holder, HolderCredential
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


@contextmanager
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def new_device():
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return key, base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def gate(app, make_staff):
    """A client verifying through /api/v1/verify with a point's API token."""
    _staff_id, _phone, point_id = make_staff()
    with app.app_context():
        from gantong.checkpoint import points

        api_token = points.new_api_token(point_id, "gate")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token}"}
    return lambda text: client.post("/api/v1/verify", json={"token": text}, headers=headers)


@pytest.fixture
def resident(app, make_user, make_holder):
    """A logged-in resident with a green holder and one registered phone."""
    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    client = app.test_client()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    key, public = new_device()
    answer = client.post("/me/devices", json={"public_key": public, "label": "  Pixel   of Li "})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return {
        "client": client,
        "user_id": user_id,
        "holder_id": holder_id,
        "key": key,
        "public": public,
        "device": answer.get_json()["id"],
    }


def fetch(resident, **headers):
    return resident["client"].get(
        f"/me/people/{resident['holder_id']}/credential?device={resident['device']}",
        headers=headers,
    )


def presentation(document, key, at=None):
    signed = base64.urlsafe_b64decode(document["credential"] + "==")
    return credentials.present(signed, int(at if at is not None else time.time()), key)


def test_registering_a_phone_is_audited_and_idempotent(app, resident):
    client = resident["client"]
    again = client.post("/me/devices", json={"public_key": resident["public"]})
    assert again.status_code == 200 and again.get_json()["id"] == resident["device"]
    assert again.get_json()["label"] == "Pixel of Li"
    bad = client.post("/me/devices", json={"public_key": "AAAA"}, headers=EN)
    assert bad.status_code == 422 and "P-256" in bad.get_json()["errors"]["public_key"][0]
    # A cross-site form cannot post it: JSON only.
    assert client.post("/me/devices", data={"public_key": resident["public"]}).status_code == 415
    with app.app_context():
        events = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "device.register")
        ).all()
        assert [event.subject_id for event in events] == [str(resident["device"])]


def test_the_credential_verifies_and_its_304_is_small_and_cheap(app, resident):
    answer = fetch(resident)
    assert answer.status_code == 200
    document = answer.get_json()
    etag = answer.headers["ETag"]
    assert document["colour"] == "green" and document["masked_name"] == "张*三"
    assert document["valid_until"] - document["valid_from"] == 12 * 3600
    assert len(document["numbers"]["list"]) >= 72
    with app.app_context():
        holder = db.session.get(Holder, resident["holder_id"])
        now = int(time.time())
        assert (
            registry.dynamic_number(holder)
            == document["numbers"]["list"][
                (now - document["numbers"]["from"]) // document["numbers"]["step"]
            ]
        )
        from gantong.codes import bundle

        offline = bundle.build(staff=False)
    verdict = verifier.verify(presentation(document, resident["key"]), offline, int(time.time()))
    assert verdict.ok and verdict.colour == "green" and verdict.credential_id == document["id"]
    # The same credential again while nothing changed: a 304, no body, one statement besides
    # the session's account.
    with statements(app) as seen:
        again = fetch(resident, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert len([s for s in seen if s.startswith("SELECT")]) <= 2, seen
    assert not any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in seen)
    size = sum(len(f"{k}: {v}\r\n") for k, v in again.headers.items()) + len(b"HTTP/1.1 304\r\n")
    assert size < 600, again.headers
    # Without If-None-Match the same credential is sent again, not a new one.
    assert fetch(resident).get_json()["id"] == document["id"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(HolderCredential)) == 1


def test_only_the_owner_gets_the_credential(app, resident, make_user, make_holder):
    client = resident["client"]
    other_user, other_phone = make_user()
    other_holder = make_holder(other_user, number="360102199001011239")
    url = "/me/people/{}/credential?device={}"
    assert client.get(url.format(other_holder, resident["device"])).status_code == 404
    stranger = app.test_client()
    stranger.post("/login", data={"phone": other_phone, "password": PASSWORD})
    # Another account's phone, or another account's person: 404, never the credential.
    assert stranger.get(url.format(resident["holder_id"], resident["device"])).status_code == 404
    _key, public = new_device()
    mine = stranger.post("/me/devices", json={"public_key": public}).get_json()["id"]
    assert stranger.get(url.format(resident["holder_id"], mine)).status_code == 404
    assert stranger.get(url.format(other_holder, mine)).status_code == 200
    assert client.get(url.format(resident["holder_id"], mine)).status_code == 404
    assert client.get(f"/me/people/{resident['holder_id']}/credential").status_code == 404
    staff_id, staff_phone = make_user(role="staff")
    staff = app.test_client()
    staff.post("/login", data={"phone": staff_phone, "password": PASSWORD})
    assert staff.get(url.format(resident["holder_id"], resident["device"])).status_code == 403
    assert app.test_client().get(url.format(resident["holder_id"], mine)).status_code in (302, 401)


def test_a_family_member_managed_by_the_account_gets_a_credential(app, resident, make_holder):
    with app.app_context():
        from gantong.models import User

        account = db.session.get(User, resident["user_id"])
        child = registry.add_holder(
            account,
            registry.Identity(
                "李小明", "resident_id", "36010220150101123X", "", "CN", "360102", "x"
            ),
            is_self=False,
            relation="child",
        )
        registry.declare(
            child, registry.DeclarationFacts([], False, None, stays=[]), author=account
        )
        child_id = child.id
    answer = resident["client"].get(f"/me/people/{child_id}/credential?device={resident['device']}")
    assert answer.status_code == 200 and answer.get_json()["masked_name"] == "李*明"


def test_turning_red_revokes_the_green_credential_and_the_304_ends(app, resident, make_staff):
    first = fetch(resident)
    green = first.get_json()
    old_presentation = presentation(green, resident["key"])
    with app.app_context():
        holder = db.session.get(Holder, resident["holder_id"])
        registry.declare(
            holder,
            registry.DeclarationFacts([], True, registry.utcnow().date(), stays=[]),
            author=None,
        )
        db.session.commit()
        assert holder.colour == "red"
        from gantong.codes import bundle

        fresh = bundle.build(staff=True)
    # Offline, with a fresh bundle: the old green credential is refused.
    assert verifier.verify(old_presentation, fresh, int(time.time())).reason == "revoked"
    # The phone's conditional request gets the new, red credential.
    changed = fetch(resident, **{"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["colour"] == "red"
    assert changed.headers["ETag"] != first.headers["ETag"]
    red = presentation(changed.get_json(), resident["key"])
    assert verifier.verify(red, fresh, int(time.time())).colour == "red"
    # Online, the old presentation shows the colour of now: red, its green flagged stale.
    answer = gate(app, make_staff)(old_presentation)
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert body["colour"] == "red"
    assert body["token_colour"] == "green" and body["token_colour_stale"] is True


def test_the_server_refuses_stale_copied_and_removed_presentations(app, resident, make_staff):
    document = fetch(resident).get_json()
    api = gate(app, make_staff)

    def verify(text):
        answer = api(text)
        assert answer.status_code in (200, 422), answer.get_json()
        return answer.status_code, answer.get_json().get("reason") or answer.get_json()["colour"]

    now = int(time.time())
    assert verify(presentation(document, resident["key"], now)) == (200, "green")
    # Three minutes old: a screenshot.
    assert verify(presentation(document, resident["key"], now - 180)) == (422, "stale_presentation")
    # Moved to another browser profile, without the device key.
    other, _public = new_device()
    assert verify(presentation(document, other, now)) == (422, "bad_device_signature")
    # The holder removes the phone: its credential stops verifying, online and in the bundle.
    client = resident["client"]
    page = client.get("/me/devices", headers=EN).get_data(as_text=True)
    assert "Pixel of Li" in page and "Remove" in page
    assert client.post(f"/me/devices/{resident['device']}/remove").status_code == 303
    assert "Pixel of Li" not in client.get("/me/devices", headers=EN).get_data(as_text=True)
    assert verify(presentation(document, resident["key"], now)) == (422, "revoked")
    with app.app_context():
        from gantong.codes import bundle

        fresh = bundle.build(staff=False)
        removed = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "device.remove")
        )
        assert removed.subject_id == str(resident["device"])
    text = presentation(document, resident["key"], now)
    assert verifier.verify(text, fresh, now).reason == "revoked"
    # A removed phone gets no credential, and cannot be added back.
    assert fetch(resident).status_code == 404
    again = client.post("/me/devices", json={"public_key": resident["public"]})
    assert again.status_code == 409
    # Another account cannot remove it: 404.
    assert client.post("/me/devices/999999/remove").status_code == 404


def test_the_checkpoint_page_takes_a_presentation(app, resident, make_staff):
    document = fetch(resident).get_json()
    _staff_id, phone, _point = make_staff()
    staff = app.test_client()
    staff.post("/login", data={"phone": phone, "password": PASSWORD})
    text = presentation(document, resident["key"])
    answer = staff.post(
        "/checkpoint/verify/token", data={"token": text, "method": "camera"}, headers=EN
    )
    assert answer.status_code == 303
    page = staff.get(answer.headers["Location"], headers=EN).get_data(as_text=True)
    assert re.search(r"张\*三", page)
