"""Schemathesis over docs/openapi.yaml, and a hypothesis fuzz of every form field and every path
id. No response is 500 or more, and a refused request (4xx) leaves the database exactly as it was.
Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import inspect
import pathlib
import re

import pytest
import schemathesis
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gantong.extensions import db
from gantong.models import AuditEvent
from tests.conftest import PASSWORD

SCHEMA = schemathesis.openapi.from_path(
    pathlib.Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def snapshot(app) -> dict:
    with app.app_context():
        counts = {
            table.name: db.session.scalar(db.select(db.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }
        counts["audit_head"] = db.session.scalar(db.select(db.func.max(AuditEvent.seq)))
        db.session.remove()
        return counts


@pytest.fixture
def point_token(app, make_staff):
    from gantong.checkpoint import points

    _, _, point_id = make_staff()
    with app.app_context():
        return points.new_api_token(point_id, "fuzz")


def _send(client, case, headers):
    kwargs = {
        "headers": {
            **headers,
            **{k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"},
        }
    }
    if case.body is not None and not isinstance(case.body, type(None)):
        body = case.body
        if isinstance(body, (dict, list, str, int, float, bool)):
            kwargs["json"] = body
        else:
            kwargs["data"] = body
    return getattr(client, case.method.lower())(
        case.formatted_path, query_string=case.query, **kwargs
    )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path", ["/api/v1/verify", "/checkpoint/records"])
def test_schemathesis_over_the_openapi_file(app, point_token, path, mode):
    operation = SCHEMA[path]["POST"]
    documented = {int(code) for code in operation.definition.raw["responses"]}
    client = app.test_client()
    headers = {"Authorization": f"Bearer {point_token}"}
    baseline = snapshot(app)

    @FUZZ
    @given(operation.as_strategy(generation_mode=mode))
    def check(case):
        response = _send(client, case, headers)
        assert response.status_code < 500, (case.body, response.status_code)
        assert response.status_code in documented, (case.body, response.status_code)
        if 400 <= response.status_code < 500:
            assert snapshot(app) == baseline, case.body

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_over_the_lab_results_endpoint(app, make_user, mode):
    """A lab's batch (issue 22): never a 5xx; a refused request, or a batch of which nothing
    was stored, changes nothing."""
    from gantong.labs import results
    from gantong.models import User

    with app.app_context():
        lab_id = results.add_lab("检验所", "360102").id
        db.session.commit()
    user_id, _phone = make_user(role="lab", lab_id=lab_id)
    with app.app_context():
        token = results.new_api_token(db.session.get(User, user_id), "fuzz")
        db.session.commit()
    operation = SCHEMA["/api/v1/lab-results"]["POST"]
    documented = {int(code) for code in operation.definition.raw["responses"]}
    client = app.test_client()
    baseline = snapshot(app)

    @settings(FUZZ, max_examples=12)
    @given(operation.as_strategy(generation_mode=mode))
    def check(case):
        response = _send(client, case, {"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (case.body, response.status_code)
        assert response.status_code in documented, (case.body, response.status_code)
        if response.status_code >= 400 or not response.get_json()["stored"]:
            assert snapshot(app) == baseline, case.body

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_over_the_scan_records_endpoint(app, make_staff, mode):
    """The scan page's queue endpoint, with a staff session: arrays, strings, numbers and nested
    bodies (the negative mode) as well as records; never a 5xx, a refusal changes nothing."""
    operation = SCHEMA["/checkpoint/scan-records"]["POST"]
    documented = {int(code) for code in operation.definition.raw["responses"]}
    client = app.test_client()
    _, phone, _ = make_staff()
    assert client.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 303
    baseline = snapshot(app)

    @FUZZ
    @given(operation.as_strategy(generation_mode=mode))
    def check(case):
        response = _send(client, case, {})
        assert response.status_code < 500, (case.body, response.status_code)
        assert response.status_code in documented, (case.body, response.status_code)
        if 400 <= response.status_code < 500:
            assert snapshot(app) == baseline, case.body

    check()


# Every form field of the app, by name, and every route.


def _form_fields() -> list[str]:
    import gantong.admin.forms
    import gantong.auth.forms
    import gantong.checkpoint.forms
    import gantong.entry.forms
    import gantong.resident.forms
    import gantong.review.forms
    import gantong.stats.views
    import gantong.web.fields

    names = set()
    for module in (
        gantong.admin.forms,
        gantong.auth.forms,
        gantong.checkpoint.forms,
        gantong.entry.forms,
        gantong.resident.forms,
        gantong.review.forms,
        gantong.stats.views,
        gantong.web.fields,
    ):
        for _name, form in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(form, FlaskForm)
                or form.__module__ == module.__name__
                and hasattr(form, "_unbound_fields")
            ):
                for attribute in dir(form):
                    if not attribute.startswith("_") and hasattr(
                        getattr(form, attribute), "field_class"
                    ):
                        names.add(attribute)
    return sorted(names)


FIELDS = _form_fields()
NASTY = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "0",
            "-1",
            str(2**31),
            str(2**63),
            "9" * 40,
            "sNaN",
            "NaN",
            "1e999",
            "0001-01-01",
            "9999-12-31",
            "٣",
            "<script>",
            "' OR 1=1",
            "%00",
            "//evil.example",
            "\r\nX: y",
        ]
    ),
    st.integers(-(2**70), 2**70).map(str),
)
ID = st.one_of(st.integers(0, 2**70), st.sampled_from([1, 2, 2**31 - 1, 2**31, 2**63 - 1, 2**63]))


def _routes(app):
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "asset") or "sw.js" in rule.rule:
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            rules.append((method, rule.rule))
    return rules


def _fill(rule: str, draw) -> str:
    return re.sub(
        r"<(?:int:)?(\w+)>",
        lambda m: (
            str(draw(ID))
            if "int:" in m.group(0)
            else draw(st.sampled_from(["x", "0" * 36, "%00", str(2**63)]))
        ),
        rule,
    )


@pytest.mark.parametrize("role", ["anonymous", "resident", "staff", "officer", "admin"])
def test_every_form_field_and_path_id_fuzzed(app, make_user, make_staff, make_holder, role):
    client = app.test_client()
    if role == "staff":
        _, phone, _ = make_staff()
    elif role != "anonymous":
        fields = {
            "officer": {"district_code": "360102", "badge_number": "DH-1", "department": "东湖"}
        }.get(role, {})
        user_id, phone = make_user(role=role, **fields)
        make_holder(user_id if role == "resident" else None)
    if role != "anonymous":
        client.post("/login", data={"phone": phone, "password": PASSWORD})
    routes = [route for route in _routes(app) if route[1] != "/logout"]
    baseline = snapshot(app)

    @settings(
        max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(data=st.data())
    def check(data):
        method, rule = data.draw(st.sampled_from(routes))
        path = _fill(rule, data.draw)
        form = data.draw(st.dictionaries(st.sampled_from(FIELDS), NASTY, max_size=6))
        if method == "GET":
            response = client.get(path, query_string=form)
        else:
            response = client.post(path, data=form)
        assert response.status_code < 500, (method, path, form, response.status_code)
        if 400 <= response.status_code < 500:
            nonlocal baseline
            assert snapshot(app) == baseline, (method, path, form)
        else:
            baseline = snapshot(app)

    check()
