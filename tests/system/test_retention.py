"""Retention and backups: purge deletes only old verification records, never a hit; the backup
is a database that opens and passes SQLite's integrity check."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gantong import create_app
from gantong.admin import retention
from gantong.checkpoint import verification
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    AuditEvent,
    FeverFinding,
    Holder,
    InformationPoint,
    VerificationRecord,
    utcnow,
)


def add_record(point_id, moment, holder_id=None):
    db.session.add(
        VerificationRecord(
            record_id=str(uuid.uuid4()),
            point_id=point_id,
            method="camera",
            colour="green",
            verified_at=moment,
            holder_id=holder_id,
        )
    )


def remaining(app):
    with app.app_context():
        return sorted(db.session.scalars(db.select(VerificationRecord.verified_at)).all())


def test_purge_deletes_only_records_before_the_cutoff_day_in_batches(app, make_point):
    point_id = make_point()
    # Noon in Shanghai on 1 June; 28 days kept means from 4 May 00:00 Shanghai (3 May 16:00 UTC).
    now = datetime(2024, 6, 1, 4, tzinfo=UTC)
    cutoff = datetime(2024, 5, 3, 16, tzinfo=UTC)
    old = [cutoff - timedelta(days=n, seconds=1) for n in range(5)]
    kept = [cutoff, cutoff + timedelta(days=10), now]
    with app.app_context():
        for moment in old + kept:
            add_record(point_id, moment)
        db.session.commit()
        result = retention.purge_verification_records(28, now=now, batch=2)
    assert (result.deleted, result.batches, result.cutoff) == (5, 3, cutoff)
    assert remaining(app) == kept
    with app.app_context():
        [event] = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "retention.purge")
        ).all()
        assert '"deleted": 5' in event.after
        again = retention.purge_verification_records(28, now=now, batch=2)
        assert again.deleted == 0
        assert (
            db.session.scalar(
                db.select(db.func.count()).where(AuditEvent.action == "retention.purge")
            )
            == 1
        )


def test_purge_never_removes_a_fever_hit(app, make_point, make_holder, make_staff):
    staff_id, _, point_id = make_staff()
    holder_id = make_holder()
    long_ago = utcnow() - timedelta(days=40)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        point = db.session.get(InformationPoint, point_id)
        record, _ = verification.open_record(holder, point, None, "camera", None, long_ago)
        verification.submit_record(
            verification.reference_for(record),
            record.record_id,
            verification.RecordBody(temperature=38.2, decision="refer"),
            now=long_ago,
        )
        assert db.session.get(Holder, holder_id).colour == "yellow"
        result = retention.purge_verification_records(28)
        assert result.deleted == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)) == 0
        finding = db.session.scalar(db.select(FeverFinding))
        assert finding.holder_id == holder_id and finding.temperature == 38.2
        holder = db.session.get(Holder, holder_id)
        assert registry.store_colour(holder).colour == "yellow"
        assert holder.colour == "yellow"


def test_the_purge_command_uses_retention_days_and_logs_what_it_deleted(app, make_point):
    point_id = make_point()
    now = utcnow()
    with app.app_context():
        for days in (40, 30, 20, 1):
            add_record(point_id, now - timedelta(days=days))
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["gantong", "purge", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "2 verification records and venue check-ins from before" in result.output
    assert result.output.count("purged 1 verification records") == 2
    assert len(remaining(app)) == 2

    app.config["RETENTION_DAYS"] = 10
    result = runner.invoke(args=["gantong", "purge"])
    assert "1 verification records and venue check-ins from before" in result.output
    assert len(remaining(app)) == 1
    assert runner.invoke(args=["gantong", "purge", "--days", "0"]).exit_code == 2


@pytest.fixture
def sqlite_app(tmp_path):
    """A file-backed SQLite app whatever DATABASE_URL says: backups are SQLite's."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "backup",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite'}",
        }
    )
    with app.app_context():
        db.create_all()
        for n in range(50):
            registry.add_holder(
                None,
                registry.Identity(
                    name=f"测试{n}",
                    doc_type="passport",
                    doc_number=f"E{n:08d}",
                    doc_country="US",
                    nationality="US",
                    district_code="360102",
                    address="x",
                ),
            )
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.sqlite_only(
    reason="gantong backup copies the SQLite file; on PostgreSQL it prints pg_dump's line"
)
def test_backup_makes_a_database_that_opens_and_passes_the_integrity_check(sqlite_app, tmp_path):
    target = tmp_path / "backups" / "gantong-2024-06-01.sqlite"
    target.parent.mkdir()
    runner = sqlite_app.test_cli_runner()
    result = runner.invoke(args=["gantong", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "integrity check: ok" in result.output
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert copy.execute("SELECT count(*) FROM holder").fetchone() == (50,)
        assert copy.execute("SELECT count(*) FROM audit_event").fetchone() == (50,)
    finally:
        copy.close()
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no partial file left

    # The backup is a database the app runs on: restore is copying it into place.
    restored = create_app(
        {"TESTING": True, "SECRET_KEY": "backup", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"}
    )
    with restored.app_context():
        from gantong import audit

        assert audit.verify_chain().ok
        db.engine.dispose()

    again = runner.invoke(args=["gantong", "backup", str(target)])
    assert again.exit_code == 2 and "exists already" in again.output
    live = runner.invoke(args=["gantong", "backup", str(tmp_path / "live.sqlite")])
    assert live.exit_code == 2


@pytest.mark.nodb
def test_backup_refuses_on_postgresql_and_prints_the_pg_dump_line(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "backup",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://gantong:secret@db.invalid/gantong",
        }
    )
    result = app.test_cli_runner().invoke(args=["gantong", "backup", str(tmp_path / "x.dump")])
    assert result.exit_code == 2
    assert (
        f'pg_dump --format=custom --file "{tmp_path / "x.dump"}" "$DATABASE_URL"' in result.output
    )
    assert "pg_restore" in result.output and "secret" not in result.output
    assert not (tmp_path / "x.dump").exists()
