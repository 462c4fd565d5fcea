"""Which transactions take SQLite's write lock: only those that write.

SQLite in WAL mode lets any number of readers run beside one writer, but a transaction that
began as a read and then writes fails at once with "database is locked" when another connection
wrote in between (no busy wait is possible: its snapshot is stale). So every transaction that
may write begins IMMEDIATE (it queues for the write lock behind the busy timeout), and only the
views marked `@reads_first` begin deferred: their transactions read, and a service that finds it
must write calls `writing()` first, which ends the read transaction (nothing was written) so the
next one begins IMMEDIATE and reads afresh what it will decide on. A write in a deferred
transaction is refused with an error at once (`WriteInReadTransaction`), never left to fail
under concurrency. PostgreSQL needs none of this: there `writing()` does nothing.
"""
from __future__ import annotations

from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from gantong.extensions import db

_READS_FIRST = "_gantong_reads_first"


class WriteInReadTransaction(RuntimeError):
    """A @reads_first view wrote without calling transactions.writing() first."""


def reads_first(view):
    """Mark a view whose transactions begin deferred on SQLite (see the module's docstring)."""
    setattr(view, _READS_FIRST, True)
    return view


def deferred() -> bool:
    """Whether the next (or current) transaction of this request begins deferred."""
    if not has_request_context() or g.get("_gantong_writing"):
        return False
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, _READS_FIRST, False)


def writing(keep_loaded: bool = False) -> None:
    """Say that this request is about to write: on SQLite end the read transaction first.

    Objects loaded so far are expired (the rollback), so what is decided on is read again under
    the write lock. Call it before the first change; pending changes are an error.
    keep_loaded=True keeps them instead, for a write that decides nothing on what was loaded
    (the code page's dynamic numbers): nothing is read again.
    """
    if not deferred():
        return
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise WriteInReadTransaction("changes were made before transactions.writing()")
    if keep_loaded:
        commit_keeping_loaded()  # nothing is written: this only ends the read transaction
    else:
        session.rollback()
    g._gantong_writing = True


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session has loaded.

    For a view that writes a little in the middle (the code page's colour or number) and then
    renders what it read: the objects hold what was just committed, so reading them again query
    by query (lazy loads after the commit) would only cost time.
    """
    session = db.session()
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def begin_statement() -> str:
    return "BEGIN" if deferred() else "BEGIN IMMEDIATE"


def _refuse_writes(session, *args) -> None:
    if session.get_bind().dialect.name == "sqlite" and deferred():
        raise WriteInReadTransaction("a @reads_first view wrote: call transactions.writing() first")


def _refuse_orm_writes(state) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and deferred():
        if state.session.get_bind().dialect.name == "sqlite":
            raise WriteInReadTransaction("a @reads_first view wrote: call transactions.writing() first")


def _read_again_after_commit(session) -> None:
    # What was written is committed: the request's next transaction reads first again.
    if has_request_context():
        g.pop("_gantong_writing", None)


event.listen(Session, "after_commit", _read_again_after_commit)
event.listen(Session, "before_flush", _refuse_writes)
event.listen(Session, "do_orm_execute", _refuse_orm_writes)
