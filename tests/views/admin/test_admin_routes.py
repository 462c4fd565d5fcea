"""Every admin route refuses every role but the admin's: parametrized over routes and roles."""

from __future__ import annotations

import re

import pytest

from gantong import create_app
from gantong.auth.accounts import register
from gantong.checkpoint import points
from gantong.extensions import db, limiter
from tests.conftest import PASSWORD, TEST_HASH_METHOD, USING_POSTGRES, empty_database

EN = {"Accept-Language": "en"}
# Under xdist (--dist loadgroup) the module's one app and its clients stay on one worker.
pytestmark = pytest.mark.xdist_group("admin_routes")


def _admin_routes() -> list[tuple[str, str]]:
    """Every (method, URL) of the admin blueprint, ids filled with 1: read from the app itself."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "routes", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        routes += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


ADMIN_ROUTES = _admin_routes()


@pytest.mark.nodb
def test_the_route_list_covers_the_admin_blueprint():
    urls = {url for _method, url in ADMIN_ROUTES}
    assert {
        "/admin/",
        "/admin/points",
        "/admin/accounts/new",
        "/admin/risk-areas",
        "/admin/issuers",
        "/admin/exports",
        "/admin/audit",
        "/admin/points/1/tokens",
    } <= urls
    assert len(ADMIN_ROUTES) >= 25


@pytest.fixture(scope="module")
def clients_by_role(_schema, tmp_path_factory):
    """One logged-in client per role on one app for the whole module: 130 requests, not 130 apps."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PASSWORD_HASH_METHOD": TEST_HASH_METHOD,
    }
    if not USING_POSTGRES:
        config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{tmp_path_factory.mktemp('routes') / 'routes.sqlite'}"
        )
    app = create_app(config)
    with app.app_context():
        if not USING_POSTGRES:
            db.create_all()
        point = points.add_point("东湖站", "360102")
        fields = {
            "staff": {"point_id": point.id},
            "officer": {"district_code": "360102", "badge_number": "DH-1"},
        }
        phones = {
            role: register(f"+861370000010{n}", PASSWORD, role=role, **fields.get(role, {})).phone
            for n, role in enumerate(["resident", "staff", "officer", "admin"])
        }
    clients = {"anonymous": app.test_client()}
    for role, phone in phones.items():
        clients[role] = app.test_client()
        assert (
            clients[role].post("/login", data={"phone": phone, "password": PASSWORD}).status_code
            == 303
        )
    yield clients
    with app.app_context():
        db.session.remove()
        if USING_POSTGRES:
            empty_database()
        db.engine.dispose()
    limiter.reset()


@pytest.mark.parametrize("role", ["anonymous", "resident", "staff", "officer"])
@pytest.mark.parametrize("method, url", ADMIN_ROUTES)
def test_every_admin_route_refuses_every_other_role(clients_by_role, role, method, url):
    response = clients_by_role[role].open(url, method=method, data={"reason": "x", "label": "x"})
    if role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403


def test_an_admin_reaches_the_admin_pages(clients_by_role):
    for method, url in ADMIN_ROUTES:
        if method == "GET" and "/1" not in url:
            assert clients_by_role["admin"].get(url, headers=EN).status_code == 200, url
