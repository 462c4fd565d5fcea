"""The station page's queries read a point's records in index order (SQLite's query plan)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.checkpoint import verification
from gantong.extensions import db
from gantong.models import InformationPoint, utcnow

pytestmark = pytest.mark.sqlite_only(reason="SQLite's EXPLAIN QUERY PLAN")


def plan(statement) -> str:
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    return " | ".join(
        row[-1] for row in db.session.execute(db.text(f"EXPLAIN QUERY PLAN {compiled}"))
    )


def test_newest_records_and_todays_count_use_the_points_time_index(app, make_staff):
    _staff, _phone, point_id = make_staff()
    with app.app_context():
        point = db.session.get(InformationPoint, point_id)
        captured = []
        original = db.session.scalars
        db.session.scalars = lambda query, *a, **k: (
            captured.append(query) or original(query, *a, **k)
        )
        try:
            verification.latest_records(point)
        finally:
            del db.session.scalars
        newest = plan(captured[0])
        assert "ix_verification_record_point_time" in newest and "TEMP B-TREE" not in newest, newest
        count = (
            db.select(db.func.count())
            .select_from(verification.VerificationRecord)
            .where(
                verification.VerificationRecord.point_id == point.id,
                verification.VerificationRecord.verified_at >= utcnow() - timedelta(hours=8),
            )
        )
        assert "ix_verification_record_point_time" in plan(count), plan(count)
