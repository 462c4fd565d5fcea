"""One owner for every transaction: the request commits once, or the command does.

Services add and flush; they never commit. A request's changes are committed once, after its
view has returned a response (any status below 500: a refusal's audit event is kept), and
rolled back when the view raised or answered 500. An application context outside a request
(a script, a test) is a unit of work too: it commits when it ends without an error, and
every CLI command commits when it returns (`committing`). A batch job that must commit as it
goes (thousands of holders) says so with `commit_each`, at its edge, never inside a service.

Each request says once whether it reads or writes, and the engine layer below takes what each
database needs from that; no domain code knows about it:
- `writes` (the default for POST, PUT, PATCH, DELETE, and for commands): on SQLite every
  transaction begins IMMEDIATE, so a writer queues for the database's one write lock behind
  the busy timeout instead of failing.
- `reads` (the default for GET and HEAD; `@reads` declares it for a POST whose checks read
  first, as the checkpoint's scans do): on SQLite a transaction begins deferred and reads
  beside any writer. Its first write or row lock (`SELECT ... FOR UPDATE`) takes the write
  lock first: the read snapshot ends (nothing was written in it) and the transaction goes on
  IMMEDIATE, reading what is committed from then on. On PostgreSQL a reading transaction runs
  without BEGIN and ROLLBACK (each SELECT on its own, in autocommit); its first write, row
  lock or streamed read opens a real transaction, unless the write declares itself a whole
  transaction (`ALONE`: one INSERT that is the request's only write, as a batch of scan records).
So a service that decides on a row locks it (`with_for_update()`, as PostgreSQL needs anyway)
and reads it under the lock with populate_existing: on both databases what it decides on is
current, and everything it writes is committed together at the edge.

The connection pool does not ping on every checkout (a round trip per request): connections
are recycled (`pool_recycle` in gantong/config.py), and a request whose very first statement
meets a dropped connection is run again once on a fresh one (`run_again_on_dropped_connection`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.expression import Select
from sqlalchemy.sql.selectable import CompoundSelect

from gantong.extensions import db

READS, WRITES = "reads", "writes"
# An execution option for a write that is a whole transaction by itself (one multi-row INSERT,
# atomic as any statement): in a reading request on PostgreSQL it runs on its own, committed by
# the server as it completes (durably: synchronous_commit=on), without a BEGIN and a COMMIT
# round trip around it. Only for a request's one and last write; elsewhere it changes nothing.
ALONE = "gantong_alone"
_MODE_ATTRIBUTE = "_gantong_transaction_mode"
_WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER")
_STATE = "gantong_transaction"  # Connection.info: how the current transaction began
_DEFERRED, _IMMEDIATE, _AUTOCOMMIT, _BEGUN = "deferred", "immediate", "autocommit", "begun"

T = TypeVar("T")


def reads(view):
    """Declare that a view reads first: its transactions take SQLite's write lock only when they write."""
    setattr(view, _MODE_ATTRIBUTE, READS)
    return view


def writes(view):
    """Declare that a view writes: every transaction of it takes SQLite's write lock at BEGIN."""
    setattr(view, _MODE_ATTRIBUTE, WRITES)
    return view


def mode() -> str:
    """Whether the current request (or command) reads or writes."""
    if not has_request_context():
        return WRITES
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    declared = getattr(view, _MODE_ATTRIBUTE, None)
    if declared:
        return declared
    return READS if request.method in ("GET", "HEAD", "OPTIONS") else WRITES


def committing(command: Callable[..., T]) -> Callable[..., T]:
    """Wrap a CLI command's callback: it commits when it returns, and rolls back when it fails.

    gantong/cli.py wraps every command with it, so that a command commits even when it runs
    inside an application context it did not push (a test's, `flask shell`).
    """
    if getattr(command, "_gantong_commits", False):
        return command  # wrapped already (the commands are shared by every app made)

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            result = command(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    run._gantong_commits = True
    return run


def commit_each(steps: Iterable[T]) -> Iterator[T]:
    """Commit after each step a batch job yields, so that no transaction holds its locks for long.

    For commands only (recomputing every colour, the retention purge): a request commits once.
    """
    for step in steps:
        db.session.commit()
        yield step


def init_app(app: Flask) -> None:
    """Commit at the edge of every request and command; set up the engine for both databases."""
    # Registered after db.init_app: teardown functions run in reverse, so this one runs before
    # Flask-SQLAlchemy removes the session.
    app.before_request(_request_begins)
    app.after_request(_request_answered)
    app.teardown_request(_request_ends)
    app.teardown_appcontext(_context_ends)
    with app.app_context():
        engine = db.engine
    if not getattr(engine, "_gantong_unit_of_work", False):
        engine._gantong_unit_of_work = True
        event.listen(engine, "begin", _on_begin)
        event.listen(engine, "before_execute", _before_execute)
        event.listen(engine, "commit", _on_end)
        event.listen(engine, "rollback", _on_end)
        event.listen(engine, "after_cursor_execute", _count_statement)
    run_again_on_dropped_connection(app)


def _request_begins() -> None:
    g._gantong_request = True
    g._gantong_statements = 0


def _request_answered(response):
    if response.status_code < 500:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def _request_ends(error: BaseException | None) -> None:
    # The request's own application context may be one a test pushed before it: from here on
    # that context is no longer the request's.
    g.pop("_gantong_request", None)


def _context_ends(error: BaseException | None) -> None:
    if g.get("_gantong_request") or error is not None:
        return  # a request's context: committed after its view, or rolled back on an error
    session = db.session()
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        session.commit()


def run_again_on_dropped_connection(app: Flask):
    """Wrap app.full_dispatch_request: a request whose first statement met a dropped connection
    (a database restart, an idle connection cut by a firewall) runs again once, on a fresh one.

    Only then: nothing of the request had reached the database, so running it again repeats
    nothing. SQLAlchemy has already dropped the pool's stale connections (an invalidation).
    """
    dispatch = app.full_dispatch_request

    def full_dispatch_request():
        try:
            return dispatch()
        except DBAPIError as error:
            if (
                not error.connection_invalidated
                or g.get("_gantong_statements", 0) > 0
                or g.get("_gantong_ran_again")
            ):
                raise
            g._gantong_ran_again = True
            db.session.rollback()
            return dispatch()

    app.full_dispatch_request = full_dispatch_request


def _count_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context() and statement not in ("BEGIN", "COMMIT"):
        g._gantong_statements = g.get("_gantong_statements", 0) + 1


def _on_begin(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        if mode() == READS:
            conn.info[_STATE] = _DEFERRED
            conn.exec_driver_sql("BEGIN")
        else:
            conn.info[_STATE] = _IMMEDIATE
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        dbapi_connection = conn.connection.dbapi_connection
        reading = mode() == READS
        # psycopg begins a transaction before the first statement unless in autocommit: a
        # reading request's SELECTs go alone, with no BEGIN before and no ROLLBACK after.
        dbapi_connection.autocommit = reading
        conn.info[_STATE] = _AUTOCOMMIT if reading else _BEGUN


def _on_end(conn: Connection) -> None:
    if not conn.invalidated:  # a dropped connection has no info to clear (and reading it raises)
        conn.info.pop(_STATE, None)


def _before_execute(conn: Connection, statement, multiparams, params, execution_options) -> None:
    state = conn.info.get(_STATE)
    if state == _DEFERRED and _writes_or_locks(statement):
        # SQLite: the read snapshot ends (nothing was written in it) and the transaction goes
        # on holding the write lock, waiting for it behind the busy timeout.
        conn.info[_STATE] = _IMMEDIATE
        conn.exec_driver_sql("COMMIT")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif (
        state == _AUTOCOMMIT
        and (_writes_or_locks(statement) or _streams(statement, execution_options))
        and not _alone(statement, execution_options)
    ):
        # PostgreSQL: the reading request writes, locks or streams: from here on one transaction,
        # committed (or rolled back) at the request's edge like any other.
        conn.info[_STATE] = _BEGUN
        conn.exec_driver_sql("BEGIN")


def _writes_or_locks(statement) -> bool:
    if isinstance(statement, str):
        return statement.lstrip().upper().startswith(_WRITE_WORDS)
    if isinstance(statement, TextClause):
        return statement.text.lstrip().upper().startswith(_WRITE_WORDS)
    if isinstance(statement, Select | CompoundSelect):
        return statement._for_update_arg is not None
    # Insert, Update, Delete, a savepoint (taken only around a write), DDL.
    return True


def _alone(statement, execution_options) -> bool:
    options = {**getattr(statement, "_execution_options", {}), **(execution_options or {})}
    return bool(options.get(ALONE))


def _streams(statement, execution_options) -> bool:
    options = {**getattr(statement, "_execution_options", {}), **(execution_options or {})}
    return bool(options.get("stream_results") or options.get("yield_per"))


def sqlite_connection_settings(dbapi_connection) -> None:
    """WAL (readers beside one writer), foreign keys, and a busy wait for the write lock.

    synchronous=FULL, said rather than left to the build's default: in WAL mode every commit
    syncs the log before it returns, so a request answers only after its records are on disk
    (NORMAL could lose the last commits on a power cut; a health record is not traded for speed).
    """
    # We issue BEGIN ourselves (_on_begin); pysqlite's own deferred BEGIN would get in the way.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        sqlite_connection_settings(dbapi_connection)
