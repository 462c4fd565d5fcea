"""Fixtures: an app on a fresh database (SQLite by default, DATABASE_URL if set), a client,
logged-in helpers and factories for accounts and holders.

On PostgreSQL only the tests that touch the database run: those marked `nodb` or
`sqlite_only` are deselected (never skipped). Under pytest-xdist each worker has its own
PostgreSQL database (test_gw0, test_gw1, … beside DATABASE_URL's), built from clean."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from werkzeug.routing.rules import Rule

from gantong import create_app
from gantong.auth.accounts import register
from gantong.core.identity import check_digit
from gantong.extensions import db, limiter
from gantong.holders import registry

# A new app a test compiles all its ~95 URL rules again, and werkzeug builds each rule's two URL
# builders by generating and compiling Python (ast, compile): 80-90 % of create_app's time,
# 50-150 ms a test. A builder is a pure function of the rule's parsed parts, its defaults and
# its converters' kinds (the rule comes in as an argument, `.self`), so one compiled for an
# identical rule of an earlier app is the same function: the tests reuse it.
_builders: dict = {}
_compile_builder = Rule._compile_builder


def _cached_compile_builder(self, append_unknown: bool = True):
    key = (
        tuple(self._trace),
        tuple(sorted((name, repr(value)) for name, value in (self.defaults or {}).items())),
        # Converters are called through the rule when a URL is built; only a default folded
        # into a constant at compile time depends on their kind and settings.
        tuple(
            sorted(
                (name, type(c).__qualname__, repr({k: v for k, v in vars(c).items() if k != "map"}))
                for name, c in self._converters.items()
            )
        ),
        append_unknown,
    )
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


Rule._compile_builder = _cached_compile_builder

PASSWORD = "correct horse"
USING_POSTGRES = bool(os.environ.get("DATABASE_URL"))
TEST_HASH_METHOD = "pbkdf2:sha256:1"
# "gw0", "gw1", … in an xdist worker; "" when pytest runs alone.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _named(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _admin_url(url: str) -> str:
    """The URL as psycopg takes it (no +driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _recreate_database(url: str) -> None:
    """Drop (if there) and create the database `url` names, connected to DATABASE_URL's."""
    import psycopg

    name = make_url(url).database
    with psycopg.connect(_admin_url(os.environ["GANTONG_TEST_BASE_URL"]), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database(url: str) -> None:
    import psycopg

    name = make_url(url).database
    with psycopg.connect(_admin_url(os.environ["GANTONG_TEST_BASE_URL"]), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if USING_POSTGRES:
    # Before any app reads it: a worker's apps (and the processes they start) use its own database.
    os.environ.setdefault("GANTONG_TEST_BASE_URL", os.environ["DATABASE_URL"])
    if WORKER:
        base = os.environ["GANTONG_TEST_BASE_URL"]
        os.environ["DATABASE_URL"] = _named(base, f"{make_url(base).database}_{WORKER}")


def resident_id(first17: str = "36010219900101123") -> str:
    return first17 + check_digit(first17)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Deselect what proves nothing on this database: on PostgreSQL the tests marked nodb or
    sqlite_only, on SQLite those marked postgres_only (each only marker needs its reason)."""
    kept, deselected = [], []
    for item in items:
        only = {name: item.get_closest_marker(name) for name in ("sqlite_only", "postgres_only")}
        for name, marker in only.items():
            if marker is not None and not marker.kwargs.get("reason"):
                raise pytest.UsageError(f"{item.nodeid}: {name} needs a reason")
        if USING_POSTGRES:
            elsewhere = only["sqlite_only"] or item.get_closest_marker("nodb")
        else:
            elsewhere = only["postgres_only"]
        (deselected if elsewhere else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI=true) a skipped test fails: what CI does not run, it has not proven."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"


@pytest.fixture(scope="session")
def _schema():
    """On PostgreSQL, build the schema once per run (per worker: its own database), from clean."""
    if USING_POSTGRES:
        if WORKER:
            _recreate_database(os.environ["DATABASE_URL"])
        app = create_app({"TESTING": True})
        with app.app_context():
            db.drop_all()
            db.create_all()
            _create_empty_function()
            db.session.commit()
            db.engine.dispose()
    yield


def _create_empty_function() -> None:
    """A function that empties every table and restarts every id sequence, in one call."""
    deletes = "; ".join(
        f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables)
    )
    db.session.execute(
        db.text(f"""
        CREATE OR REPLACE FUNCTION gantong_test_empty() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            {deletes};
            PERFORM setval(c.oid, 1, false) FROM pg_class c
            WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace;
        END $$""")
    )


def empty_database() -> None:
    """Empty every table, ids from 1 again as on a fresh SQLite file (TRUNCATE took 420 ms)."""
    db.session.execute(db.text("SELECT gantong_test_empty()"))
    db.session.commit()


@pytest.fixture
def scratch_database_url(tmp_path):
    """The SQLAlchemy URL of a database of the test's own, empty: a SQLite file, or on
    PostgreSQL a new database beside the test database, dropped afterwards (a new name each
    time: gantong.web.rate_limits keeps an engine per URL)."""
    if not USING_POSTGRES:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    url = make_url(os.environ["DATABASE_URL"])
    scratch = _named(
        url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
        f"{url.database}_scratch_{uuid.uuid4().hex[:8]}",
    )
    _recreate_database(scratch)
    yield scratch
    _drop_database(scratch)


# Test settings; view tests post forms without CSRF tokens (one test checks CSRF itself).
TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_STORAGE_URI": "database://",
    # One round of PBKDF2 instead of scrypt (147 ms a hash): tests prove logic, not cost.
    "PASSWORD_HASH_METHOD": TEST_HASH_METHOD,
    # Whatever the shell exports: text-message links in the tests start with this address.
    "PUBLIC_URL": "http://localhost:5000",
}


@pytest.fixture
def app_config():
    """The test settings, for a test or a conftest to change."""
    return dict(TEST_CONFIG)


# One empty SQLite schema per process, copied for each test: create_all took 35-60 ms a test.
_sqlite_template: list[Path] = []


def _empty_sqlite_schema() -> Path:
    if not _sqlite_template:
        folder = Path(tempfile.mkdtemp(prefix="gantong-schema-"))
        template = folder / "schema.sqlite"
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{template}"})
        with app.app_context():
            db.create_all()
            db.session.remove()
            # The last connection to close folds the WAL into the file, so that a copy of the
            # file alone is the whole schema.
            db.engine.dispose()
        assert not template.with_name("schema.sqlite-wal").exists()
        _sqlite_template.append(template)
    return _sqlite_template[0]


def open_app(config: dict, folder) -> object:
    """An app on the test database: a new SQLite file in `folder`, or DATABASE_URL's (emptied)."""
    config = dict(config)
    if not USING_POSTGRES:
        database = folder / "test.sqlite"
        shutil.copyfile(_empty_sqlite_schema(), database)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    return create_app(config)


def close_app(app) -> None:
    with app.app_context():
        db.session.remove()
        if USING_POSTGRES:
            # Every test starts from empty tables with ids from 1, as on a fresh SQLite file.
            empty_database()
        db.engine.dispose()
    # On SQLite the counters live in a file beside the test's own database, which no later test
    # opens: emptying it (creating it first, 25-30 ms) is only needed for shared storage.
    if USING_POSTGRES or not app.config["RATELIMIT_STORAGE_URI"].startswith("database://"):
        limiter.reset()


@pytest.fixture
def app(tmp_path, _schema, app_config):
    app = open_app(app_config, tmp_path)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    counter = iter(range(100, 10_000))

    def make(role="resident", phone=None, **fields):
        with app.app_context():
            user = register(phone or f"+86139{next(counter):08d}", PASSWORD, role=role, **fields)
            return user.id, user.phone

    return make


@pytest.fixture
def make_holder(app):
    def make(
        account_id=None, name="张小三", number=None, district="360102", declared=True, **facts
    ):
        # A holder has a code from their first declaration: by default they have made one.
        from gantong.models import User

        with app.app_context():
            account = db.session.get(User, account_id) if account_id else None
            holder = registry.add_holder(
                account,
                registry.Identity(
                    name=name,
                    doc_type="resident_id",
                    doc_number=number or resident_id(),
                    doc_country="",
                    nationality="CN",
                    district_code=district,
                    address="八一大道 1 号",
                ),
                is_self=True,
            )
            if facts or declared:
                registry.declare(
                    holder,
                    registry.DeclarationFacts(
                        symptoms=facts.get("symptoms", []),
                        close_contact=facts.get("close_contact", False),
                        contact_date=facts.get("contact_date"),
                        stays=facts.get("stays", []),
                    ),
                    author=account,
                )
            return holder.id

    return make


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, phone, password=PASSWORD):
        return self.client.post("/login", data={"phone": phone, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def today():
    from gantong.core.rules import local_date
    from gantong.models import utcnow

    return local_date(utcnow())


@pytest.fixture
def make_point(app):
    def make(name="东湖站", district="360102", latitude=28.68, longitude=115.9):
        from gantong.checkpoint import points

        with app.app_context():
            return points.add_point(
                name=name,
                district_code=district,
                address="测试路 1 号",
                latitude=latitude,
                longitude=longitude,
            ).id

    return make


@pytest.fixture
def make_staff(make_user, make_point):
    def make(point_id=None):
        point_id = point_id or make_point()
        user_id, phone = make_user(role="staff", point_id=point_id)
        return user_id, phone, point_id

    return make


@pytest.fixture
def screen_token(app):
    """Return a freshly signed screen token for a holder (as the code page would show it)."""

    def make(holder_id, now=None):
        from gantong.codes import keys
        from gantong.models import Holder

        with app.app_context():
            return keys.signed_screen_token(db.session.get(Holder, holder_id), now)[1]

    return make
