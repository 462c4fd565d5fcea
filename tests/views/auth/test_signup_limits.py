"""Sign-up rate limits: per number (typos free), a loose per-address limit a registration desk
does not reach, the true time to wait, and the form kept when refused."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import PASSWORD
from tests.views.entry.test_entry import trip_form

ZH, EN = {"Accept-Language": "zh"}, {"Accept-Language": "en"}
NUMBER = "13912345678"


def sign_up(client, phone, password=PASSWORD, confirm=PASSWORD, path="/register", **kwargs):
    return client.post(
        path, data={"phone": phone, "password": password, "confirm": confirm}, **kwargs
    )


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves, from 10 min 30 s into an hour: the windows' edges are known, and
    no wait falls on a whole minute."""
    now = [(time.time() // 3600 + 1) * 3600 + 630]
    monkeypatch.setattr(time, "time", lambda: now[0])

    def advance(seconds):
        now[0] += seconds

    return advance


def test_a_registration_desk_signs_up_a_queue_from_one_address(client):
    # A desk helping 60 people in turn, each with a typo first: 120 posts, none refused.
    for person in range(60):
        phone = f"139{person:08d}"
        typo = sign_up(client, phone, confirm="something else")
        assert typo.status_code == 200
        assert sign_up(client, phone).status_code == 303, person


def test_typos_do_not_count_against_the_number(client):
    for _ in range(25):
        response = sign_up(client, NUMBER, password="short", confirm="short", headers=EN)
        assert response.status_code == 200
        assert "A password has at least 8 characters." in response.get_data(as_text=True)
    assert sign_up(client, NUMBER).status_code == 303


@pytest.mark.parametrize(
    "headers, said",
    [
        (EN, r"This number has been tried too many times\. Try again in (\d+) minutes\."),
        (ZH, r"这个号码尝试次数过多，请 (\d+) 分钟后再试。"),
    ],
)
def test_a_number_tried_too_often_keeps_the_form_and_says_the_true_wait(
    app, client, make_user, clock, headers, said
):
    app.config["SIGNUP_LIMIT_PER_NUMBER"] = "3 per hour"
    make_user(phone="+86" + NUMBER)
    for _ in range(3):  # the number has an account: each try reached the accounts, and counts
        assert 'id="phone-error"' in sign_up(client, NUMBER, headers=headers).get_data(as_text=True)
    refused = sign_up(client, "139 1234 5678", headers=headers)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert 'value="139 1234 5678"' in html  # what was typed is kept
    assert PASSWORD not in html  # but never a password
    wait = re.search(r'id="phone-error">' + said + "<", html)
    assert wait, html
    # Three tries 49 min 30 s before the hour's window ends: it ends, then a third of its count
    # must fade from the next one (the sliding window counter) before a 4th fits under 3.
    minutes = int(wait.group(1))
    assert minutes == 70  # 49.5 + 20, rounded up
    assert (minutes - 1) * 60 < int(refused.headers["Retry-After"]) <= minutes * 60
    clock((minutes - 1) * 60)
    assert sign_up(client, NUMBER, headers=headers).status_code == 429
    clock(60)
    assert sign_up(client, NUMBER, headers=headers).status_code == 200  # taken, said as before


@pytest.mark.parametrize(
    "headers, said",
    [
        (EN, "Too many sign-ups from this network. Try again in 10 minutes."),
        (ZH, "这个网络的注册次数过多，请 10 分钟后再试。"),
    ],
)
def test_an_address_over_its_limit_keeps_the_form_and_says_the_wait_at_the_top(
    app, client, clock, headers, said
):
    # 10 min 30 s into a 15-minute window: 4 min 30 s left, then a third of 3 tries to fade
    # (5 minutes): 9.5 minutes, said as 10.
    app.config["SIGNUP_LIMIT_PER_ADDRESS"] = "3 per 15 minutes"
    for attempt in range(3):
        assert (
            sign_up(client, f"1391234567{attempt}", confirm="x", headers=headers).status_code == 200
        )
    refused = sign_up(client, "13912345679", headers=headers)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert 'value="13912345679"' in html
    assert f'role="alert">{said}<' in html
    assert "<form" in html and "Wait a few minutes" not in html
    clock(9 * 60)
    assert sign_up(client, "13912345679", headers=headers).status_code == 429
    clock(60)
    assert sign_up(client, "13912345679", headers=headers).status_code == 303


def test_the_pre_entry_sign_up_shares_the_budgets_and_keeps_its_own_form(app, client, make_user):
    app.config["SIGNUP_LIMIT_PER_NUMBER"] = "2 per hour"
    make_user(phone="+447911123456")
    assert sign_up(client, "+44 7911 123456").status_code == 200
    assert sign_up(client, "+44 7911 123456", path="/entry/register").status_code == 200
    refused = sign_up(client, "+44 7911 123456", path="/entry/register", headers=EN)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "Register before arrival" in html and 'value="+44 7911 123456"' in html
    assert 'id="phone-error">This number has been tried too many times.' in html


def person_form(path, today, **overrides):
    if path == "/entry/trip":
        return trip_form(today, **overrides)
    form = {
        "name": "John Smith",
        "doc_type": "passport",
        "doc_number": "K1234567",
        "doc_country": "GB",
        "nationality": "GB",
        "district": "360102",
        "address": "八一大道 9 号",
    }
    form.update(overrides)
    return form


@pytest.mark.parametrize("path", ["/entry/trip", "/me/people/new"])
@pytest.mark.parametrize(
    "headers, said",
    [
        (EN, r"This document has been tried too many times\. Try again in (\d+) minutes\."),
        (ZH, r"这个证件尝试次数过多，请 (\d+) 分钟后再试。"),
    ],
)
def test_a_document_tried_too_often_is_told_the_wait_and_typos_are_free(
    app, client, make_user, clock, today, path, headers, said
):
    app.config["SIGNUP_LIMIT_PER_DOCUMENT"] = "3 per hour"
    _, phone = make_user(phone="+447911123456")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    for _ in range(5):  # a typo elsewhere in the form: told, and not counted
        typo = client.post(path, data=person_form(path, today, address="", entry_port=""))
        assert typo.status_code == 200 and 'id="doc_number-error"' not in typo.get_data(
            as_text=True
        )
    registered = client.post(path, data=person_form(path, today), headers=headers)
    assert registered.status_code == 303  # the first try past the checks, counted
    for _ in range(2):
        taken = client.post(path, data=person_form(path, today), headers=headers)
        assert 'id="doc_number-error"' in taken.get_data(as_text=True)
        assert not re.search(said, taken.get_data(as_text=True))
    refused = client.post(path, data=person_form(path, today), headers=headers)
    html = refused.get_data(as_text=True)
    wait = re.search(r'id="doc_number-error">' + said + "<", html)
    assert wait, html
    assert int(wait.group(1)) == 70  # as for a number: 49.5 + 20 minutes, rounded up
    assert 'value="K1234567"' in html
    clock(70 * 60)
    again = client.post(path, data=person_form(path, today), headers=headers)
    assert not re.search(said, again.get_data(as_text=True))
