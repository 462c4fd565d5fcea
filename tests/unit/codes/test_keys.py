"""Signing keys: rotation, retirement, and the paper codes that depend on a key."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from gantong.codes import keys, paper, trust_list
from gantong.core import tokens
from gantong.extensions import db
from gantong.models import AuditEvent, Holder, SigningKey, utcnow
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}


@pytest.fixture
def staff(client, make_staff):
    _, phone, _ = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})


def verify(client, text):
    return client.post("/checkpoint/verify/token", data={"token": text}, headers=EN)


def print_paper(app, holder_id) -> tuple[str, str]:
    with app.app_context():
        printed = paper.issue(db.session.get(Holder, holder_id))
        return printed.serial, paper.token_text(printed)


def test_a_token_of_the_previous_key_verifies_after_rotation_and_is_refused_after_retirement(
    app, client, staff, make_holder, screen_token
):
    holder_id = make_holder()
    old_text = screen_token(holder_id)
    with app.app_context():
        old_kid = tokens.decode(old_text).kid
        new_kid = keys.rotate().kid
    assert new_kid != old_kid
    assert tokens.decode(screen_token(holder_id)).kid == new_kid  # the new key signs
    assert verify(client, old_text).status_code == 303  # the previous key keeps verifying
    with app.app_context():
        assert keys.retire(old_kid) == []
        assert old_kid not in {key["kid"] for key in keys.jwks()["keys"]}
    refused = verify(client, old_text)
    assert refused.status_code == 200 and "Code signed by a retired key" in refused.get_data(
        as_text=True
    )
    assert verify(client, screen_token(holder_id)).status_code == 303
    with app.app_context():
        actions = list(
            db.session.scalars(
                db.select(AuditEvent.action)
                .where(AuditEvent.action.like("key.%"))
                .order_by(AuditEvent.seq)
            )
        )
        assert actions == ["key.rotate", "key.retire"]


def test_retiring_a_key_that_live_paper_codes_depend_on_is_refused_with_their_list(
    app, client, staff, make_holder
):
    first = make_holder()
    second = make_holder(name="李四", number=resident_id("36010219800101123"))
    serials = {print_paper(app, first)[0], print_paper(app, second)[0]}
    with app.app_context():
        old_kid = keys.signing_key()[0]
        keys.rotate()
        with pytest.raises(keys.KeyInUse) as refused:
            keys.retire(old_kid)
        assert {paper_code.serial for paper_code in refused.value.paper_codes} == serials
        assert db.session.get(SigningKey, old_kid).retired_at is None

    runner = app.test_cli_runner()
    result = runner.invoke(args=["gantong", "keys", "retire", old_kid])
    assert result.exit_code == 1
    assert "2 live paper codes depend on key" in result.output
    assert all(serial in result.output for serial in serials)
    with app.app_context():
        assert db.session.get(SigningKey, old_kid).retired_at is None


def test_reprinted_codes_let_the_key_retire(app, client, staff, make_holder):
    holder_id = make_holder()
    print_paper(app, holder_id)
    with app.app_context():
        old_kid = keys.signing_key()[0]
        keys.rotate()
        # Reprinting: report the old one lost, and the new one is signed by the new key.
        reprinted = paper.report_lost(db.session.get(Holder, holder_id))
        assert reprinted.kid != old_kid
        assert keys.retire(old_kid) == []
        assert verify(client, paper.token_text(reprinted)).status_code == 303


def test_forcing_retirement_ends_the_paper_codes_that_depend_on_it(app, client, staff, make_holder):
    holder_id = make_holder()
    serial, text = print_paper(app, holder_id)
    with app.app_context():
        old_kid = keys.signing_key()[0]
        keys.rotate()
    result = app.test_cli_runner().invoke(args=["gantong", "keys", "retire", old_kid, "--force"])
    assert result.exit_code == 0, result.output
    assert f"no longer valid: paper code {serial}" in result.output
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "key.retire"))
        assert json.loads(event.after) == {
            "retired": True,
            "forced": True,
            "live_paper_serials": [serial],
        }
        holder = db.session.get(Holder, holder_id)
        assert paper.live_paper(holder) is None  # the holder's page offers a new one
        assert paper.issue(holder).kid != old_kid
    assert "Code signed by a retired key" in verify(client, text).get_data(as_text=True)


def test_the_signing_key_and_unknown_keys_cannot_be_retired(app):
    with app.app_context():
        kid = keys.signing_key()[0]
        with pytest.raises(keys.KeyNotRetirable):
            keys.retire(kid)
        with pytest.raises(keys.KeyNotRetirable):
            keys.retire("00000000")
    result = app.test_cli_runner().invoke(args=["gantong", "keys", "retire", kid])
    assert result.exit_code != 0 and "rotate first" in result.output


def test_expired_and_revoked_paper_codes_do_not_hold_a_key(app, make_holder):
    holder_id = make_holder()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        long_ago = utcnow() - timedelta(days=400)
        paper.issue(holder, now=long_ago)  # expired by now
        revoked = paper.report_lost(holder)
        old_kid = revoked.kid
        paper.report_lost(holder)
        keys.rotate()
        # Only the newest paper code (unrevoked, unexpired) holds the old key.
        assert len(keys.live_paper_codes(old_kid)) == 1


def test_a_new_key_never_takes_a_kid_on_the_trust_list(app, monkeypatch):
    with app.app_context():
        partner_key = tokens.generate_private_key()
        trust_list.add_issuer("Partner", "", tokens.jwk(partner_key.public_key(), "0badc0de"))
        proposed = iter(["0badc0de", "0badc0de", "12345678"])
        monkeypatch.setattr(tokens, "new_kid", lambda: next(proposed))
        assert keys.rotate().kid == "12345678"
