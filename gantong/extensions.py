"""Extensions, created unbound here and bound to the app in create_app()."""

from flask import request
from flask_babel import Babel
from flask_compress import Compress
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.expression import Select
from sqlalchemy.sql.selectable import CompoundSelect


class Base(DeclarativeBase):
    # Named constraints so that Alembic can alter them on SQLite and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# Session.info: the replica an opted-in request reads on (gantong/web/replicas.py sets it at the
# request's start); absent, every statement goes to the primary.
REPLICA_ROUTE = "gantong.replica"
WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "MERGE", "SAVEPOINT", "CREATE", "DROP", "ALTER")


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending an opted-in request's plain reads to its replica.

    The first flush, write, row lock or text() statement goes to the primary, and every
    statement after it in the request (it reads its own writes, and decides under its locks).
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        replica = self.info.get(REPLICA_ROUTE)
        if replica is None or bind is not None:
            return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if self._flushing or (clause is not None and writes_or_locks(clause)):
            self.info.pop(REPLICA_ROUTE, None)  # from now on the primary, for the whole request
        elif clause is not None and _plain_read(clause):
            return replica.engine
        # Asked for the dialect or a connection with nothing to run yet, or a text() read: the
        # primary, and the request goes on reading on the replica (a write through such a
        # connection moves it too: gantong/web/replicas.py listens on the primary).
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _plain_read(statement) -> bool:
    """A SELECT that locks nothing and is not streamed: what a replica may answer."""
    if not isinstance(statement, Select | CompoundSelect):
        return False  # text() (it may lock, as pg_advisory_xact_lock does), writes, DDL
    if statement._for_update_arg is not None:
        return False
    options = statement._execution_options
    return not (options.get("stream_results") or options.get("yield_per"))


def writes_or_locks(statement) -> bool:
    """Whether a statement writes or takes a lock (a row's, or an advisory one)."""
    if isinstance(statement, str):
        return statement.lstrip().upper().startswith(WRITE_WORDS)
    if isinstance(statement, TextClause):
        text = statement.text.lstrip().upper()
        return text.startswith(WRITE_WORDS) or "FOR UPDATE" in text or "PG_ADVISORY" in text
    if isinstance(statement, Select | CompoundSelect):
        return statement._for_update_arg is not None
    return True  # Insert, Update, Delete, DDL


# Objects stay readable after a commit: a streamed response, a batch command or a test goes on
# using what it loaded without reading it again (gantong/unit_of_work.py commits).
# RoutingSession: an opted-in request's reads on a replica when replicas are configured
# (gantong/web/replicas.py); without them it is Flask-SQLAlchemy's session.
db = SQLAlchemy(
    model_class=Base,
    session_options={"expire_on_commit": False, "class_": RoutingSession},
)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()
compress = Compress()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def remote_address() -> str:
    """Return the client address (the proxy's ProxyFix has already rewritten it)."""
    return request.remote_addr or "unknown"
