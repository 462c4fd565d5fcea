"""Mutual recognition: the trust list, partner tokens at the checkpoint, the issuer CLI."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest

from gantong.codes import keys, trust_list
from gantong.core import tokens
from gantong.core.rules import SHANGHAI
from gantong.extensions import db
from gantong.models import AuditEvent, TrustedIssuer, VerificationRecord, utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
PARTNER = "南昌市电子健康码"


def new_partner_key():
    private = tokens.generate_private_key()
    return tokens.new_kid(), private


def partner_token(
    kid, private, colour="yellow", ttl=600, token_type=tokens.SCREEN, subject="a1b2c3d4e5f60718"
):
    return tokens.sign(
        tokens.Token(
            type=token_type,
            kid=kid,
            subject=subject,
            colour=colour if token_type == tokens.SCREEN else None,
            issued_at=int(time.time()),
            ttl=ttl,
        ),
        private,
    )


@pytest.fixture
def partner(app):
    """A partner issuer on the trust list, with its private key (which it alone holds)."""
    kid, private = new_partner_key()
    with app.app_context():
        issuer = trust_list.add_issuer(
            PARTNER,
            "南昌市",
            tokens.jwk(private.public_key(), kid),
            valid_from=utcnow() - timedelta(days=1),
        )
        return {"id": issuer.id, "kid": kid, "private": private}


@pytest.fixture
def staff(client, make_staff):
    _, phone, point_id = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return point_id


def verify(client, text):
    return client.post(
        "/checkpoint/verify/token", data={"token": text, "method": "camera"}, headers=EN
    )


def test_a_partner_token_is_accepted_with_the_partners_name_and_then_refused_once_deactivated(
    app, client, partner, staff
):
    response = verify(client, partner_token(partner["kid"], partner["private"], colour="yellow"))
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert f"Issued by {PARTNER}" in page and "Yellow code" in page
    assert "We hold no record of this issuer" in page
    with app.app_context():
        record = db.session.scalars(db.select(VerificationRecord)).one()
        assert record.issuer_id == partner["id"] and record.partner_code_id == "a1b2c3d4e5f60718"
        assert (
            record.holder_id is None
            and record.colour == "yellow"
            and record.token_colour == "yellow"
        )
    # The volunteer can still submit the record, fever or not: there is no holder to mark.
    reference = re.search(r'name="reference" type="hidden" value="([^"]+)"', page).group(1)
    submitted = client.post(
        "/checkpoint/records",
        data={
            "record_id": record.record_id,
            "reference": reference,
            "temperature": "37.8",
            "decision": "refer",
        },
    )
    assert submitted.status_code == 303

    with app.app_context():
        trust_list.set_active(partner["id"], False, reason="agreement ended")
    refused = verify(client, partner_token(partner["kid"], partner["private"]))
    assert refused.status_code == 200
    assert "Issuer no longer recognised" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)) == 1
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "issuer.deactivate")
        )
        assert event.reason == "agreement ended" and json.loads(event.after)["active"] is False


def test_a_partner_token_is_refused_once_the_validity_ends(app, client, partner, staff):
    assert verify(client, partner_token(partner["kid"], partner["private"])).status_code == 303
    with app.app_context():
        issuer = trust_list.get(partner["id"])
        trust_list.update_issuer(
            issuer.id,
            issuer.name,
            issuer.region,
            issuer.valid_from,
            utcnow() - timedelta(seconds=1),
        )
    page = verify(client, partner_token(partner["kid"], partner["private"])).get_data(as_text=True)
    assert "Issuer&#39;s recognition has ended" in page or "Issuer's recognition has ended" in page
    with app.app_context():
        assert (
            db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "issuer.update"))
            is not None
        )


def test_an_issuer_not_yet_valid_is_refused(app, client, staff):
    kid, private = new_partner_key()
    with app.app_context():
        trust_list.add_issuer(
            "九江健康码",
            "九江市",
            tokens.jwk(private.public_key(), kid),
            valid_from=utcnow() + timedelta(days=1),
        )
    assert "Issuer not recognised yet" in verify(client, partner_token(kid, private)).get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("case", "title"),
    [
        ("unknown", "Code from an unknown issuer"),
        ("forged", "Forged or altered code"),
        ("paper", "Paper code of another issuer"),
        ("expired", "Expired code"),
    ],
)
def test_anything_else_is_refused_with_the_reason(app, client, partner, staff, case, title):
    if case == "unknown":
        kid, private = new_partner_key()
        text = partner_token(kid, private)
    elif case == "forged":
        text = partner_token(partner["kid"], tokens.generate_private_key())
    elif case == "paper":
        text = partner_token(partner["kid"], partner["private"], token_type=tokens.PAPER)
    else:
        text = tokens.sign(
            tokens.Token(
                tokens.SCREEN,
                partner["kid"],
                "a1b2c3d4e5f60718",
                "green",
                int(time.time()) - 700,
                600,
            ),
            partner["private"],
        )
    response = verify(client, text)
    assert response.status_code == 200 and title in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)) == 0


def test_the_api_names_the_issuer_and_takes_the_colour_from_the_token(app, partner, make_point):
    from gantong.checkpoint import points

    with app.app_context():
        bearer = {"Authorization": "Bearer " + points.new_api_token(make_point())}
    body = (
        app.test_client()
        .post(
            "/api/v1/verify",
            json={"token": partner_token(partner["kid"], partner["private"], colour="red")},
            headers=bearer,
        )
        .get_json()
    )
    assert (
        body["result"] == "verified"
        and body["colour"] == "red"
        and body["colour_source"] == "token"
    )
    assert body["holder"] is None and body["reasons"] == []
    assert body["issuer"] == {
        "name": PARTNER,
        "region": "南昌市",
        "partner_code_id": "a1b2c3d4e5f60718",
    }


def test_key_ids_are_unique_across_the_trust_list_and_our_own_keys(app, partner):
    with app.app_context():
        own_kid, own_private = keys.signing_key()
        for kid in (partner["kid"], own_kid):
            with pytest.raises(trust_list.IssuerError) as refused:
                trust_list.add_issuer(
                    "Copy", "", tokens.jwk(tokens.generate_private_key().public_key(), kid)
                )
            assert refused.value.field == "kid"
        assert db.session.scalar(db.select(db.func.count()).select_from(TrustedIssuer)) == 1


@pytest.mark.parametrize(
    ("jwk", "field"),
    [
        ("not json", "jwk"),
        ({"kty": "RSA", "kid": "0a0b0c0d"}, "jwk"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "short", "kid": "0a0b0c0d"}, "jwk"),
        ("private", "jwk"),
        ("no kid", "kid"),
        ("long kid", "kid"),
    ],
)
def test_a_bad_key_is_refused_naming_the_field(app, jwk, field):
    public = tokens.jwk(tokens.generate_private_key().public_key(), "0a0b0c0d")
    if jwk == "private":
        jwk = {**public, "d": public["x"]}
    elif jwk == "no kid":
        jwk = {k: v for k, v in public.items() if k != "kid"}
    elif jwk == "long kid":
        jwk = {**public, "kid": "key-2024-01"}
    with app.app_context():
        with pytest.raises(trust_list.IssuerError) as refused:
            trust_list.add_issuer("Partner", "", jwk)
        assert refused.value.field == field
        if jwk == "private" or (isinstance(jwk, dict) and "d" in jwk):
            assert str(refused.value) == trust_list.MSG_JWK_PRIVATE
        assert db.session.scalar(db.select(db.func.count()).select_from(TrustedIssuer)) == 0


def test_validity_must_end_after_it_starts(app):
    kid, private = new_partner_key()
    now = utcnow()
    with app.app_context(), pytest.raises(trust_list.IssuerError) as refused:
        trust_list.add_issuer(
            "Partner", "", tokens.jwk(private.public_key(), kid), now, now - timedelta(days=1)
        )
    assert refused.value.field == "valid_to"


def test_trusted_keys_are_those_of_active_issuers_valid_now(app, partner):
    kid, private = new_partner_key()
    with app.app_context():
        later = trust_list.add_issuer(
            "Later",
            "",
            tokens.jwk(private.public_key(), kid),
            valid_from=utcnow() + timedelta(hours=1),
        )
        assert set(trust_list.trusted_keys()) == {partner["kid"]}
        assert set(trust_list.trusted_keys(utcnow() + timedelta(hours=2))) == {
            partner["kid"],
            later.kid,
        }
        trust_list.set_active(partner["id"], False)
        assert set(trust_list.trusted_keys()) == set()
        assert [issuer.name for issuer in trust_list.list_issuers()] == ["Later", PARTNER]
        stored = json.loads(trust_list.get(partner["id"]).public_jwk)
        assert set(stored) == {"kty", "crv", "x", "kid", "use", "alg"}  # public members only


def test_our_jwk_set_is_what_a_partner_would_put_on_its_trust_list(
    app, client, screen_token, make_holder
):
    holder_id = make_holder()
    text = screen_token(holder_id)
    published = client.get("/.well-known/jwks.json").get_json()["keys"]
    public_keys = {key["kid"]: tokens.public_key_from_jwk(key) for key in published}
    assert tokens.verify(text, public_keys, int(time.time())).type == tokens.SCREEN


def test_the_issuer_cli_adds_lists_and_deactivates(app):
    runner = app.test_cli_runner()
    kid, private = new_partner_key()
    jwk = json.dumps(tokens.jwk(private.public_key(), kid))
    added = runner.invoke(
        args=[
            "gantong",
            "issuer",
            "add",
            "上饶健康码",
            "--region",
            "上饶市",
            "--jwk",
            jwk,
            "--valid-from",
            "2020-01-01",
            "--valid-to",
            "2099-12-31",
        ]
    )
    assert added.exit_code == 0, added.output
    assert kid in added.output
    listed = runner.invoke(args=["gantong", "issuer", "list"])
    assert "上饶健康码" in listed.output and "trusted" in listed.output
    again = runner.invoke(args=["gantong", "issuer", "add", "Copy", "--jwk", jwk])
    assert again.exit_code != 0 and "in use already" in again.output
    with app.app_context():
        issuer_id = trust_list.by_kid(kid).id
        # A bare valid-to date trusts through that day, Shanghai time.
        assert (
            trust_list.by_kid(kid)
            .valid_to.astimezone(SHANGHAI)
            .isoformat()
            .startswith("2100-01-01T00:00")
        )
    off = runner.invoke(
        args=["gantong", "issuer", "deactivate", str(issuer_id), "--reason", "test"]
    )
    assert off.exit_code == 0 and "inactive" in off.output
    assert "inactive" in runner.invoke(args=["gantong", "issuer", "list"]).output


def test_partner_demo_makes_a_partner_once_and_prints_a_token_the_checkpoint_accepts(
    app, client, staff, tmp_path
):
    # The partner keeps its private key outside our database: here, in the test's folder.
    app.config["PARTNER_DEMO_KEY_FILE"] = str(tmp_path / "partner_key.json")
    runner = app.test_cli_runner()
    png = tmp_path / "partner.png"
    first = runner.invoke(args=["gantong", "partner-demo", "--colour", "green", "--png", str(png)])
    assert first.exit_code == 0, first.output
    assert PARTNER in first.output and png.exists()
    text = next(line for line in first.output.splitlines() if line.startswith(tokens.PREFIX))
    second = runner.invoke(args=["gantong", "partner-demo"])
    assert second.exit_code == 0, second.output
    assert (tmp_path / "partner_key.json").exists()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TrustedIssuer)) == 1
    response = verify(client, text)
    assert response.status_code == 303
    assert f"Issued by {PARTNER}" in client.get(response.headers["Location"], headers=EN).get_data(
        as_text=True
    )
    # The photo lane reads the PNG it wrote, as a volunteer would try it.
    with open(png, "rb") as handle:
        photo = client.post(
            "/checkpoint/verify/photo",
            data={"photo": (handle, "partner.png")},
            content_type="multipart/form-data",
        )
    assert photo.status_code == 303


def test_a_partner_screen_token_is_a_pass_for_the_cap_only_whatever_ttl_it_carries(
    app, client, partner, staff
):
    from datetime import timedelta

    from gantong.models import utcnow

    cap = app.config["PARTNER_MAX_TTL"]
    assert cap == 600  # the default
    issued = int((utcnow() - timedelta(seconds=cap + 5)).timestamp())
    token = tokens.Token(
        tokens.SCREEN, partner["kid"], "a1b2c3d4e5f60718", "green", issued, 7 * 86400
    )
    refused = verify(client, tokens.sign(token, partner["private"]))
    assert refused.status_code == 200 and "Partner code too old" in refused.get_data(as_text=True)
    fresh = tokens.Token(
        tokens.SCREEN,
        partner["kid"],
        "a1b2c3d4e5f60718",
        "green",
        int(utcnow().timestamp()) - 60,
        7 * 86400,
    )
    assert verify(client, tokens.sign(fresh, partner["private"])).status_code == 303


@pytest.mark.parametrize(("ahead", "accepted"), [(60, True), (120, False)])
def test_a_partner_code_stamped_ahead_gets_a_minute_of_tolerance_not_five(
    app, client, partner, staff, ahead, accepted
):
    # Its cap counts from its stamp: five minutes ahead would make a 10-minute cap 15 minutes.
    text = tokens.sign(
        tokens.Token(
            tokens.SCREEN,
            partner["kid"],
            "a1b2c3d4e5f60718",
            "green",
            int(time.time()) + ahead,
            600,
        ),
        partner["private"],
    )
    response = verify(client, text)
    if accepted:
        assert response.status_code == 303
    else:
        assert "Code from the future" in response.get_data(as_text=True)
