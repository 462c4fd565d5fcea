"""The migrations build the schema the models describe (flask db upgrade, never create_all)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from gantong import create_app
from gantong.extensions import db


def test_upgrade_from_empty_matches_the_models_and_downgrades(scratch_database_url):
    # An empty database of its own: SQLite, or PostgreSQL when DATABASE_URL is set.
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "m", "SQLALCHEMY_DATABASE_URI": scratch_database_url}
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []
        result = app.test_cli_runner().invoke(args=["gantong", "demo"])
        assert result.exit_code == 0, result.output
        downgrade(revision="base")
        with db.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()


def test_points_made_before_the_mode_stay_in_record_mode(scratch_database_url):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "m", "SQLALCHEMY_DATABASE_URI": scratch_database_url}
    )
    with app.app_context():
        upgrade(revision="10566fc70e97")  # the revision before the point's mode
        with db.engine.begin() as connection:
            connection.execute(
                db.text(
                    "INSERT INTO information_point (name, district_code, address, active,"
                    " created_at) VALUES ('东湖站', '360102', '', :yes, :now)"
                ),
                {"yes": True, "now": "2026-12-01 00:00:00"},
            )
        upgrade()
        with db.engine.connect() as connection:
            row = connection.execute(
                db.text("SELECT mode, keeps_records FROM information_point")
            ).one()
        assert (row.mode, bool(row.keeps_records)) == ("record", True)
        downgrade(revision="base")
        db.engine.dispose()
