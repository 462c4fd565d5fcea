"""The verifier bundle and key rotation that no cached verifier notices."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.codes import bundle, keys, paper, trust_list
from gantong.core import tokens, verifier
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import AuditEvent, Holder, utcnow
from tests.conftest import PASSWORD, resident_id


@pytest.fixture
def staff(client, make_staff):
    _, phone, _ = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})


def _now() -> int:
    return int(utcnow().timestamp())


def test_a_screen_token_is_version_2_with_the_masked_name_and_tail(app, make_holder, screen_token):
    text = screen_token(make_holder(name="张小三", number="440524188001010014"))
    token = tokens.decode(text)
    assert token.version == 2 and token.masked_name == "张*三" and token.doc_tail == "0014"


def test_a_paper_token_is_version_2_and_reprints_the_same_text(app, make_holder):
    holder_id = make_holder(name="欧阳" + "娜" * 98)
    with app.app_context():
        printed = paper.issue(db.session.get(Holder, holder_id))
        text = paper.token_text(printed)
        assert paper.token_text(printed) == text
    token = tokens.decode(text)
    assert token.version == 2 and token.masked_name.endswith("…")
    import segno

    assert segno.make_qr(text, error="m", boost_error=False).version <= 7


def test_a_version_1_token_still_verifies_at_the_checkpoint(app, client, staff, make_holder):
    holder_id = make_holder()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        kid, private = keys.signing_key()
        text = tokens.sign(
            tokens.Token(tokens.SCREEN, kid, holder.code_id, "green", _now(), 120, version=1),
            private,
        )
    response = client.post("/checkpoint/verify/token", data={"token": text})
    assert response.status_code == 303


def test_the_staff_bundle_lists_keys_revocations_and_yellow_or_red_paper_serials(
    app, client, staff, make_holder
):
    yellow_id = make_holder(
        name="李四", number=resident_id("36010219800101123"), symptoms=["fever"]
    )
    green_id = make_holder()
    with app.app_context():
        yellow = db.session.get(Holder, yellow_id)
        registry.store_colour(yellow, utcnow())
        assert yellow.colour in ("yellow", "red")
        yellow_serial = paper.issue(yellow).serial
        lost = paper.issue(db.session.get(Holder, green_id))
        lost_serial, lost_text = lost.serial, paper.token_text(lost)
        new_green = paper.report_lost(db.session.get(Holder, green_id))
        green_serial = new_green.serial
        green_text = paper.token_text(new_green)
        yellow_colour = yellow.colour
    response = client.get("/checkpoint/bundle.json")
    assert response.status_code == 200 and response.headers["ETag"]
    document = response.get_json()
    assert verifier.check_bundle(document)
    assert document["refuse_after"] - document["issued_at"] == 24 * 3600
    assert {"id": lost_serial}.items() <= document["revoked"][0].items()
    assert document["paper_colours"] == {yellow_serial: yellow_colour}
    assert green_serial not in document["paper_colours"]
    now = _now()
    assert verifier.verify(lost_text, document, now).reason == "revoked"
    verdict = verifier.verify(green_text, document, now)
    assert verdict.ok and verdict.colour == "green"
    # Nothing about the person: no name, no document.
    assert "李" not in response.get_data(as_text=True) and "3601021980" not in response.get_data(
        as_text=True
    )


def test_the_bundle_answers_304_to_its_etag_and_changes_with_the_content(
    app, client, staff, make_holder
):
    first = client.get("/checkpoint/bundle.json")
    etag = first.headers["ETag"]
    again = client.get("/checkpoint/bundle.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()
    with app.app_context():
        keys.prepare_next()
    changed = client.get("/checkpoint/bundle.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_the_public_bundle_has_no_paper_colours_and_the_staff_one_needs_staff(
    app, client, make_holder
):
    public = client.get("/.well-known/gantong-verifier.json")
    assert public.status_code == 200 and "paper_colours" not in public.get_json()
    assert verifier.check_bundle(public.get_json())
    assert client.get("/checkpoint/bundle.json").status_code in (302, 401, 403)


def test_partners_are_in_the_bundle_with_the_cap(app, client, staff):
    private = tokens.generate_private_key()
    kid = tokens.new_kid()
    with app.app_context():
        trust_list.add_issuer("Partner", "HK", tokens.jwk(private.public_key(), kid))
    document = client.get("/checkpoint/bundle.json").get_json()
    (entry,) = document["partners"]
    assert entry["kid"] == kid and entry["max_ttl"] == 600 and entry["name"] == "Partner"
    old = tokens.sign(
        tokens.Token(tokens.SCREEN, kid, "a1b2c3d4e5f60718", "green", _now() - 700, 86400), private
    )
    assert verifier.verify(old, document, _now()).reason == "over_partner_cap"


def test_a_bundle_cached_before_a_rotation_verifies_codes_signed_after_it(
    app, client, staff, make_holder
):
    holder_id = make_holder()
    with app.app_context():
        old_kid = keys.signing_key()[0]
        prepared = keys.prepare_next()
        lead = keys.rotation_lead()
        assert lead >= max(app.config["JWKS_MAX_AGE"], app.config["BUNDLE_REFRESH_SECONDS"])
        assert prepared.signs_from >= utcnow() + timedelta(seconds=lead - 5)
        # Published at once, in the JWKS and the bundle, while the old key still signs.
        assert prepared.kid in {key["kid"] for key in keys.jwks()["keys"]}
        assert keys.signing_key()[0] == old_kid
    assert prepared.kid in {
        key["kid"] for key in client.get("/checkpoint/bundle.json").get_json()["keys"]
    }
    # Any bundle a verifier still uses was fetched after the key was published: the oldest such
    # copy at the switch is one fetched just after preparing; take one fetched a minute before it.
    with app.app_context():
        cached = bundle.build(staff=True, now=prepared.signs_from - timedelta(seconds=60))
        assert lead >= app.config["BUNDLE_REFUSE_SECONDS"]
    later = utcnow() + timedelta(seconds=lead + 1)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        _token, text = keys.signed_screen_token(holder, later)
        assert tokens.decode(text).kid == prepared.kid  # the next key took over
        assert keys.signing_key(later)[0] == prepared.kid
        actions = list(
            db.session.scalars(
                db.select(AuditEvent.action)
                .where(AuditEvent.action.like("key.%"))
                .order_by(AuditEvent.seq)
            )
        )
        assert actions == ["key.prepare", "key.rotate"]
    # The bundle fetched before the rotation still knows the new key, and the old key's codes
    # keep verifying (retired keys stay until their last token has expired).
    verdict = verifier.verify(text, cached, int(later.timestamp()))
    assert verdict.ok and verdict.colour == "green"
    assert old_kid in {
        key["kid"] for key in client.get("/checkpoint/bundle.json").get_json()["keys"]
    }
