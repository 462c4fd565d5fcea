"""The 12 ways a database writer can tamper with the audit trail, each found
against a signed head kept outside the database (5 of them passed `audit verify` alone)."""

from __future__ import annotations

import json

import pytest

from gantong import audit, audit_heads
from gantong.extensions import db
from gantong.models import AuditEvent, AuditHeadKey


def append_events(app, count, start=1):
    with app.app_context():
        for number in range(start, start + count):
            audit.append(
                "application.approve",
                "application",
                number,
                actor=number,
                before={"status": "pending"},
                after={"status": "approved"},
                reason=f"理由 {number}",
            )
        db.session.commit()


@pytest.fixture
def kept(app, tmp_path):
    """Eight events, a head signed and kept in a file (as anyone may copy /audit/head.json)."""
    append_events(app, 8)
    client = app.test_client()
    published = client.get("/audit/head.json")
    assert published.status_code == 200 and published.get_json()["seq"] == 8
    path = tmp_path / "head.json"
    path.write_text(published.get_data(as_text=True))
    return path


def sql(app, *statements):
    """Tamper as an intruder with database access would: plain SQL, past the app."""
    with app.app_context():
        for statement in statements:
            db.session.execute(db.text(statement))
        db.session.commit()


def rehash_from(app, seq):
    """What a careful intruder does after an edit: recompute every hash from `seq` to the head."""
    with app.app_context():
        events = list(db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq)))
        prev = audit.GENESIS
        fixes = []
        for event in events:
            if event.seq >= seq:
                event.prev_hash = prev
                fixes.append((event.seq, prev, audit.event_hash(event)))
                prev = fixes[-1][2]
            else:
                prev = event.hash
        db.session.rollback()
        for number, prev_hash, new_hash in fixes:
            db.session.execute(
                db.text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev_hash, "h": new_hash, "s": number},
            )
        db.session.commit()


def renumber(app):
    """Close the gaps after deleting events, then rehash everything."""
    with app.app_context():
        seqs = list(db.session.scalars(db.select(AuditEvent.seq).order_by(AuditEvent.seq)))
        for new, old in enumerate(seqs, start=1):
            db.session.execute(
                db.text("UPDATE audit_event SET seq = :n WHERE seq = :o"), {"n": -new, "o": old}
            )
        db.session.execute(db.text("UPDATE audit_event SET seq = -seq"))
        db.session.commit()
    rehash_from(app, 1)


TAMPERING = {
    "delete the newest event": lambda app: sql(app, "DELETE FROM audit_event WHERE seq = 8"),
    "delete the newest 3": lambda app: sql(app, "DELETE FROM audit_event WHERE seq > 5"),
    "delete all": lambda app: sql(app, "DELETE FROM audit_event"),
    "delete a middle event": lambda app: sql(app, "DELETE FROM audit_event WHERE seq = 4"),
    "delete a middle event and renumber": lambda app: (
        sql(app, "DELETE FROM audit_event WHERE seq = 4"),
        renumber(app),
    ),
    "edit a middle event and rehash to the head": lambda app: (
        sql(app, "UPDATE audit_event SET reason = '改过' WHERE seq = 3"),
        rehash_from(app, 3),
    ),
    "edit the newest event and rehash it": lambda app: (
        sql(app, "UPDATE audit_event SET actor_id = 99 WHERE seq = 8"),
        rehash_from(app, 8),
    ),
    "reorder two events": lambda app: sql(
        app,
        "UPDATE audit_event SET seq = -1 WHERE seq = 2",
        "UPDATE audit_event SET seq = 2 WHERE seq = 5",
        "UPDATE audit_event SET seq = 5 WHERE seq = -1",
    ),
    "change a stored hash": lambda app: sql(
        app, f"UPDATE audit_event SET hash = '{'ab' * 32}' WHERE seq = 6"
    ),
    "edit a middle event, no rehash": lambda app: sql(
        app, "UPDATE audit_event SET reason = 'x' WHERE seq = 5"
    ),
    "change a prev_hash": lambda app: sql(
        app, f"UPDATE audit_event SET prev_hash = '{'cd' * 32}' WHERE seq = 7"
    ),
    "delete all and rebuild as many new events": lambda app: (
        sql(app, "DELETE FROM audit_event"),
        append_events(app, 8, start=100),
    ),
}


@pytest.mark.nodb
def test_twelve_tamper_cases():
    assert len(TAMPERING) == 12


def test_an_untouched_chain_passes_against_its_kept_head(app, kept):
    append_events(app, 2, start=50)  # the trail grew since: still fine
    runner = app.test_cli_runner()
    for args in (
        ["--since-signed-head", str(kept)],
        ["--expect-head", json.loads(kept.read_text())["head_hash"]],
    ):
        result = runner.invoke(args=["gantong", "audit", "verify", *args])
        assert result.exit_code == 0 and "still in the chain" in result.output, result.output


@pytest.mark.parametrize("case", list(TAMPERING))
def test_every_tampering_is_found_against_the_kept_signed_head(app, kept, case):
    TAMPERING[case](app)
    runner = app.test_cli_runner()
    signed = runner.invoke(args=["gantong", "audit", "verify", "--since-signed-head", str(kept)])
    assert signed.exit_code == 1 and "BROKEN" in signed.output, (case, signed.output)
    expected = runner.invoke(
        args=[
            "gantong",
            "audit",
            "verify",
            "--expect-head",
            json.loads(kept.read_text())["head_hash"],
        ]
    )
    assert expected.exit_code == 1, (case, expected.output)


def test_a_forged_head_is_refused(app, kept):
    data = json.loads(kept.read_text())
    forged = {**data, "seq": 3}
    with app.app_context():
        with pytest.raises(audit_heads.BadHead):
            audit_heads.read_kept(json.dumps(forged))
        with pytest.raises(audit_heads.BadHead):
            audit_heads.read_kept("not json")


def test_a_key_written_into_the_database_cannot_sign_heads(app, kept):
    """Someone with the database can write a key row, but not one that opens under the app secret."""
    from gantong.core import tokens

    with app.app_context():
        private = tokens.generate_private_key()
        row = AuditHeadKey(
            kid="evil0001",
            public_key=tokens.public_bytes(private.public_key()),
            private_key=tokens.encrypt_private_key(private, "not-the-secret", "evil0001"),
        )
        db.session.add(row)
        db.session.commit()
        signed_at = audit_heads.audit.utcnow().replace(microsecond=0)
        signature = private.sign(audit_heads.signed_bytes(1, "00" * 32, signed_at))
        forged = {
            "seq": 1,
            "head_hash": "00" * 32,
            "signed_at": audit._utc_iso(signed_at),
            "kid": "evil0001",
            "public_key": audit_heads._b64(tokens.public_bytes(private.public_key())),
            "signature": audit_heads._b64(signature),
        }
        with pytest.raises(audit_heads.BadHead):
            audit_heads.read_kept(json.dumps(forged))


def test_the_admin_page_checks_against_a_kept_head(app, client, make_user, kept):
    from tests.conftest import PASSWORD

    _, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    en = {"Accept-Language": "en"}
    good = client.post("/admin/audit/check", data={"kept": kept.read_text()}, headers=en)
    assert "The chain still holds the kept head." in good.get_data(as_text=True)
    sql(app, "DELETE FROM audit_event WHERE seq > 5")
    bad = client.post("/admin/audit/check", data={"kept": kept.read_text()}, headers=en)
    assert "Tampered:" in bad.get_data(as_text=True)
    assert client.post("/admin/audit/head").status_code == 303
    assert client.get("/audit/head.json").get_json()["seq"] >= 5
