"""Backups of a SQLite database with SQLite's online backup API, while the app keeps running."""

from __future__ import annotations

import os
import sqlite3
import tempfile

from gantong.extensions import db

PAGES_PER_STEP = 1024


class NotSQLite(Exception):
    """The database is not SQLite: back it up with the database's own tools."""


def pg_dump_command(path: str) -> str:
    # The URL stays in the environment: a printed command must not carry a password.
    return f'pg_dump --format=custom --file "{path}" "$DATABASE_URL"'


def backup_sqlite(path: str) -> str:
    """Copy the live database into a new single file at path; return its integrity check ("ok")."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise NotSQLite(pg_dump_command(path))
    target = os.path.abspath(path)
    live = engine.url.database and os.path.abspath(engine.url.database)
    if target == live:
        raise ValueError("the backup would overwrite the live database")
    if os.path.exists(target):
        raise FileExistsError(target)
    # Written beside the target and renamed into place: a failed backup never leaves a
    # half-written file under the target's name.
    directory = os.path.dirname(target)
    handle, partial = tempfile.mkstemp(prefix=".backup-", suffix=".sqlite", dir=directory)
    os.close(handle)
    raw = engine.raw_connection()
    try:
        copy = sqlite3.connect(partial)
        try:
            # In steps: between them other connections may write; SQLite restarts the copy
            # if they do, so the result is always one consistent moment.
            raw.driver_connection.backup(copy, pages=PAGES_PER_STEP)
            # A rollback journal, not WAL: one file, ready to be copied elsewhere.
            copy.execute("PRAGMA journal_mode=DELETE")
            integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()
        if integrity != "ok":
            raise RuntimeError(f"the copy failed its integrity check: {integrity}")
        os.replace(partial, target)
        return integrity
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    finally:
        raw.close()
