"""Fixtures: an app on a fresh database (SQLite by default, DATABASE_URL if set), a client,
logged-in helpers and factories for accounts and holders."""
from __future__ import annotations

import os

import pytest

from gantong import create_app
from gantong.auth.accounts import register
from gantong.core.identity import check_digit
from gantong.extensions import db, limiter
from gantong.holders import registry

PASSWORD = "correct horse"
USING_POSTGRES = bool(os.environ.get("DATABASE_URL"))
TEST_HASH_METHOD = "pbkdf2:sha256:1"


def resident_id(first17: str = "36010219900101123") -> str:
    return first17 + check_digit(first17)


@pytest.fixture(scope="session")
def _schema():
    """On PostgreSQL, build the schema once per run, from clean."""
    if USING_POSTGRES:
        app = create_app({"TESTING": True})
        with app.app_context():
            db.drop_all()
            db.create_all()
    yield


@pytest.fixture
def app_config():
    """Test settings; view tests post forms without CSRF tokens (one test checks CSRF itself)."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "database://",
        # One round of PBKDF2 instead of scrypt (147 ms a hash): tests prove logic, not cost.
        "PASSWORD_HASH_METHOD": TEST_HASH_METHOD,
    }


@pytest.fixture
def app(tmp_path, _schema, app_config):
    config = dict(app_config)
    if not USING_POSTGRES:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'test.sqlite'}"
    app = create_app(config)
    with app.app_context():
        if not USING_POSTGRES:
            db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        if USING_POSTGRES:
            # Every test starts from empty tables with ids from 1, as on a fresh SQLite file.
            names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
            db.session.execute(db.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()
        db.engine.dispose()
    limiter.reset()


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
    def make(account_id=None, name="张小三", number=None, district="360102", declared=True, **facts):
        # A holder has a code from their first declaration: by default they have made one.
        from gantong.models import User

        with app.app_context():
            account = db.session.get(User, account_id) if account_id else None
            holder = registry.add_holder(
                account,
                registry.Identity(
                    name=name, doc_type="resident_id", doc_number=number or resident_id(),
                    doc_country="", nationality="CN", district_code=district, address="八一大道 1 号",
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
            return points.add_point(name=name, district_code=district, address="测试路 1 号",
                                    latitude=latitude, longitude=longitude).id

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
