"""Reads that tolerate seconds of lag, on PostgreSQL streaming replicas; everything else on the
primary.

Off unless DATABASE_REPLICA_URLS names replicas (comma-separated; PostgreSQL hot standbys of
the primary): then every request is served exactly as without it, and SQLite never routes.

How a request is routed:
- A view opts in with `@lag_tolerant` (the code page, the phone's credential, the verifier
  bundle and keys): what it reads may be a few seconds old. Every other view reads and writes on
  the primary, as before.
- In an opted-in request the session (`RoutingSession.get_bind`, the one place SQLAlchemy asks
  which engine runs a statement) sends each SELECT to the replica chosen for the request. The
  first write, flush, row lock (FOR UPDATE), text() statement or streamed read goes to the
  primary, and so does everything after it in the request: a request that decides to write
  reads what it decides on again under its lock on the primary (as services do anyway, see
  gantong/unit_of_work.py), and reads its own uncommitted rows there.
- Read-your-writes: a request that wrote on the primary for a logged-in account (a
  declaration, a claim, a device registration, a colour changed by the code page...) stores
  the primary's WAL position after its commit (`pg_current_wal_insert_lsn()`, at or past the
  end of its commit record; one round trip, only when replicas are configured) in the
  account's signed session cookie. That browser's
  following opted-in requests read from the primary until the replica has replayed that
  position (`pg_last_wal_replay_lsn()`), then from the replica again (and the cookie forgets
  it). A view whose writes its account never reads back from a replica (the checkpoint's scan
  records: the colours it reads are other people's) says `lag_tolerant(read_your_writes=False)`
  and pays neither the round trip nor the primary's reads afterwards.
- A replica is asked how far behind it is at most once every REPLICA_CHECK_SECONDS (1) per
  process, in the request that needs it: `pg_last_wal_replay_lsn()` and, when it has received
  more WAL than it replayed, the age of the last transaction it replayed; and, just before,
  the primary is asked where its WAL is (one round trip a check). A replica's own figures
  cannot see that its WAL receiver lost the primary (it has replayed all it received: no lag,
  for ever), so a replica must also have replayed a position the primary had at most
  REPLICA_MAX_LAG_SECONDS ago. One lagging more than that, or not answering (or promoted: no
  longer in recovery), is skipped; with none left the request reads on the primary. A statement that fails on a
  replica (it stopped, a recovery conflict cancelled the query) marks it down, and the unit of
  work runs the request again on the primary as it does a request whose connection dropped: it
  had written nothing yet (its first write would have moved it to the primary), so running it
  again repeats nothing. No 5xx for a replica.

What a lag-tolerant request may show: rows committed up to REPLICA_MAX_LAG_SECONDS (plus the
check interval) ago, except the account's own writes. That includes the account row itself: a
session ended elsewhere (logout, deactivation) stops opening lag-tolerant pages within that
time, and every other page at once.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from flask import Flask, current_app, g, has_request_context, request, session
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.expression import Select
from sqlalchemy.sql.selectable import CompoundSelect

from gantong.extensions import REPLICA_ROUTE, WRITE_WORDS, RoutingSession, db, writes_or_locks

log = logging.getLogger(__name__)

_POLICY = "_gantong_lag_tolerant"
_EXTENSION = "gantong_replicas"
PIN = "_primary_lsn"  # session cookie: the WAL position the account's last write committed at
# A replica that did not answer is asked again only after this (a host that drops packets
# would otherwise hold a request for the connect timeout every second).
DOWN_RETRY_SECONDS = 10.0
# The primary's WAL positions kept to judge replicas by (one a check; enough for a lag setting of
# a minute at the default check interval).
MARKS_KEPT = 64
PRIMARY_POSITION_SQL = "SELECT pg_current_wal_lsn()::text"
CONNECT_TIMEOUT_SECONDS = 2

LAG_SQL = """
SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
       CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())
       END
"""


@dataclass(frozen=True)
class Policy:
    read_your_writes: bool = True


def lag_tolerant(view=None, *, read_your_writes: bool = True):
    """Declare that a view's reads may be seconds old: they go to a replica when one is configured.

    `read_your_writes=False`: the view's own writes do not pin its account to the primary.
    """

    def mark(function):
        setattr(function, _POLICY, Policy(read_your_writes))
        return function

    return mark(view) if view is not None else mark


def policy_of(view) -> Policy | None:
    """The view's lag-tolerant policy, looked up through the decorators that wrap it."""
    while view is not None:
        policy = getattr(view, _POLICY, None)
        if policy is not None:
            return policy
        view = getattr(view, "__wrapped__", None)
    return None


def lsn_value(text: str) -> int:
    """A WAL position ("16/B374D848") as a number to compare."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass
class Replica:
    """One replica's engine and what its last check said (per process)."""

    url: str
    engine: Engine
    checked_at: float = float("-inf")  # time.monotonic() of the last check
    usable: bool = False
    replay_lsn: int = 0
    lag_seconds: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, max_lag: float) -> None:
        """Ask the replica how far behind it is (one round trip); unusable if it does not answer."""
        self.checked_at = time.monotonic()
        try:
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(LAG_SQL)
                recovering, replay, lag = cursor.fetchone()
                cursor.close()
            finally:
                connection.close()
        except Exception as error:  # noqa: BLE001 - any failure: skip it, never fail the page
            if self.usable or self.lag_seconds is not None:
                log.warning("replica %s not answering: %s", self.engine.url, error)
            self.usable, self.lag_seconds = False, None
            return
        self.lag_seconds = float(lag) if lag is not None else None
        self.replay_lsn = lsn_value(replay) if replay else 0
        # Promoted (no longer replaying): not a replica of this primary any more.
        self.usable = bool(recovering) and self.lag_seconds is not None
        self.usable = self.usable and self.lag_seconds <= max_lag

    def mark_down(self) -> None:
        self.usable, self.lag_seconds, self.checked_at = False, None, time.monotonic()


class Replicas:
    """The app's replicas, checked lazily; one set per process (engines do not cross a fork)."""

    def __init__(
        self,
        urls: list[str],
        engine_options: dict,
        max_lag: float,
        check_every: float,
        primary: Engine | None = None,
    ):
        self.urls, self.engine_options = urls, engine_options
        self.max_lag, self.check_every = max_lag, check_every
        self.primary = primary
        # The primary's WAL position, noted before each check: (time.monotonic(), position).
        self._marks: deque[tuple[float, int]] = deque(maxlen=MARKS_KEPT)
        self._pid: int | None = None
        self._replicas: list[Replica] = []
        self._turn = itertools.count()
        self.fallbacks = 0  # requests run again on the primary after a replica failed

    def all(self) -> list[Replica]:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._replicas = [Replica(url, self._engine(url)) for url in self.urls]
        return self._replicas

    def _engine(self, url: str) -> Engine:
        options = dict(self.engine_options)
        connect_args = {
            **options.pop("connect_args", {}),
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        }
        # Each SELECT alone (no BEGIN and ROLLBACK around reads), as the primary's reads are.
        engine = create_engine(
            url, isolation_level="AUTOCOMMIT", connect_args=connect_args, **options
        )
        event.listen(engine, "handle_error", _replica_failed)
        return engine

    def choose(self, pinned_at: int | None) -> Replica | None:
        """A usable replica that has replayed `pinned_at` (if given), else None (the primary)."""
        now = time.monotonic()
        replicas = self.all()
        start = next(self._turn)
        for offset in range(len(replicas)):
            replica = replicas[(start + offset) % len(replicas)]
            answered = replica.usable or replica.lag_seconds is not None
            wait = self.check_every if answered else DOWN_RETRY_SECONDS
            if now - replica.checked_at >= wait:
                with replica.lock:
                    if now - replica.checked_at >= wait:
                        self._mark_primary()
                        replica.check(self.max_lag)
                        replica.usable = replica.usable and self.replayed_recently(replica)
            if replica.usable and (pinned_at is None or replica.replay_lsn >= pinned_at):
                return replica
        return None

    def _mark_primary(self) -> None:
        """Note where the primary's WAL is now (one round trip, at most once a check interval).

        A replica's own figures cannot tell it is stale once its WAL receiver is cut off from the
        primary: it has replayed all it received, so it reports no lag at all, for ever. A replica
        that has replayed the position the primary had at a moment holds everything committed
        before that moment: that bounds its lag from the primary's side.
        """
        if self.primary is None:
            return
        try:
            # Closing the connection ends the read (the pool resets it on return).
            with self.primary.connect() as connection:
                position = connection.exec_driver_sql(PRIMARY_POSITION_SQL).scalar()
        except DBAPIError as error:  # the primary's own trouble is the request's, not this check's
            log.warning("could not read the primary's WAL position: %s", error)
            return
        self._marks.append((time.monotonic(), lsn_value(position)))

    def replayed_recently(self, replica: Replica) -> bool:
        """Whether the replica has replayed where the primary was at most max_lag seconds ago."""
        if self.primary is None:
            return True
        now = time.monotonic()
        return any(
            now - at <= self.max_lag and replica.replay_lsn >= position
            for at, position in self._marks
        )

    def dispose(self) -> None:
        for replica in self._replicas:
            replica.engine.dispose()


def _replica_failed(context) -> None:
    if has_request_context():
        g._gantong_replica_failed = True


def init_app(app: Flask) -> None:
    """Route opted-in requests' reads to the replicas, if DATABASE_REPLICA_URLS names any."""
    urls = [
        _with_driver(url.strip())
        for url in app.config.get("DATABASE_REPLICA_URLS", "").split(",")
        if url.strip()
    ]
    with app.app_context():
        primary = db.engine
    if not urls or primary.dialect.name != "postgresql":
        return
    options = {
        key: value
        for key, value in app.config["SQLALCHEMY_ENGINE_OPTIONS"].items()
        if key in ("pool_pre_ping", "pool_recycle", "pool_size", "max_overflow", "connect_args")
    }
    app.extensions[_EXTENSION] = Replicas(
        urls,
        options,
        float(app.config["REPLICA_MAX_LAG_SECONDS"]),
        float(app.config["REPLICA_CHECK_SECONDS"]),
        primary,
    )
    if not getattr(primary, "_gantong_replica_routing", False):
        primary._gantong_replica_routing = True
        event.listen(primary, "before_execute", _on_primary)
    app.before_request(_choose)
    app.teardown_request(_forget)
    _fall_back_on_replica_failure(app)
    _listen_for_commits()


def _with_driver(url: str) -> str:
    # As DATABASE_URL (gantong/config.py): a plain postgresql:// URL would mean psycopg2.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def replicas_of(app: Flask) -> Replicas | None:
    return app.extensions.get(_EXTENSION)


def _session():
    return db.session()


def _choose() -> None:
    replicas = replicas_of(current_app)
    route = _session().info
    route.pop(REPLICA_ROUTE, None)
    g._gantong_wrote = False
    g._gantong_replica = None
    g._gantong_replica_failed = False
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    policy = policy_of(view)
    g._gantong_policy = policy
    if policy is None or g.get("_gantong_primary_only"):
        return
    pin = session.get(PIN)
    pinned_at = lsn_value(pin) if isinstance(pin, str) and "/" in pin else None
    replica = replicas.choose(pinned_at)
    if replica is None:
        return
    if pinned_at is not None:
        session.pop(PIN, None)  # replayed: the account's writes are on the replica
    route[REPLICA_ROUTE] = replica
    g._gantong_replica = replica


def _forget(error: BaseException | None) -> None:
    _session().info.pop(REPLICA_ROUTE, None)
    # The request's own application context may be one a test pushed before it.
    for name in ("_gantong_primary_only", "_gantong_replica", "_gantong_policy"):
        g.pop(name, None)


def _on_primary(conn, statement, multiparams, params, execution_options) -> None:
    """A write on the primary in a request: the rest of it reads there, and it pins its account."""
    if not has_request_context() or not writes_or_locks(statement):
        return
    if isinstance(statement, Select | CompoundSelect):
        return  # a row lock writes nothing to replay
    if isinstance(statement, str | TextClause) and not (
        (statement if isinstance(statement, str) else statement.text)
        .lstrip()
        .upper()
        .startswith(WRITE_WORDS)
    ):
        return  # an advisory lock, a locking read
    g._gantong_wrote = True
    _session().info.pop(REPLICA_ROUTE, None)


_session_listeners_installed = False


def _listen_for_commits() -> None:
    """Listen on every routing session, once per process, and only once replicas are configured
    (a do_orm_execute listener costs every statement a little)."""
    global _session_listeners_installed
    if not _session_listeners_installed:
        _session_listeners_installed = True
        event.listen(RoutingSession, "after_commit", _after_commit)
        event.listen(RoutingSession, "do_orm_execute", _name_the_statement)


def _name_the_statement(state) -> None:
    # SQLAlchemy passes get_bind no clause for an ORM UNION (the code page's one query): give
    # it the statement, so that get_bind can tell a plain read from a write.
    if REPLICA_ROUTE in state.session.info:
        state.bind_arguments.setdefault("clause", state.statement)


def _after_commit(db_session) -> None:
    """After a request's write is committed: pin the account to the primary until replayed."""
    if not has_request_context() or not g.get("_gantong_wrote"):
        return
    g._gantong_wrote = False
    replicas = replicas_of(current_app)
    policy = g.get("_gantong_policy")
    if replicas is None or (policy is not None and not policy.read_your_writes):
        return
    if "_user_id" not in session:
        return  # no account to read its writes back (an API token, a logged-out browser)
    connection = db.engine.raw_connection()
    try:
        # The connection's own transaction state is the pool's: in autocommit, one round trip.
        previous = connection.autocommit
        connection.autocommit = True
        cursor = connection.cursor()
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        session[PIN] = cursor.fetchone()[0]
        cursor.close()
        connection.autocommit = previous
    finally:
        connection.close()


def _fall_back_on_replica_failure(app: Flask) -> None:
    """Wrap app.full_dispatch_request (inside the unit of work's wrapper): a request a replica
    failed is marked to run on the primary, and handed on as one whose connection dropped."""
    dispatch = app.full_dispatch_request

    @functools.wraps(dispatch)
    def full_dispatch_request():
        try:
            return dispatch()
        except DBAPIError as error:
            replica = g.get("_gantong_replica")
            if replica is None or not g.get("_gantong_replica_failed"):
                raise
            log.warning("replica %s failed a read; running the request on the primary", replica.url)
            replica.mark_down()
            replicas_of(current_app).fallbacks += 1
            g._gantong_primary_only = True
            # The request lost its replica before it wrote anything (its first write would have
            # moved it to the primary): for the unit of work it is a request whose connection
            # dropped, which it rolls back and runs again once
            # (unit_of_work.run_again_on_dropped_connection), on the primary this time.
            error.connection_invalidated = True
            raise

    app.full_dispatch_request = full_dispatch_request
