"""Login limits slow the attacker without locking the owner out: failures count per account and
address pair first; the account as a whole only past what one address can send, and then the
owner still gets in with the code texted to their phone."""

from __future__ import annotations

import re

from gantong.holders import sms
from tests.conftest import PASSWORD


def attempt(client, phone, password, address):
    return client.post(
        "/login",
        data={"phone": phone, "password": password},
        environ_base={"REMOTE_ADDR": address},
    ).status_code


def test_the_owner_gets_in_from_another_address_while_one_hammers_the_account(client, make_user):
    _, phone = make_user()
    statuses = [attempt(client, phone, "wrong", "203.0.113.9") for _ in range(60)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}  # the attacker slows down
    assert attempt(client, phone, PASSWORD, "198.51.100.7") == 303  # the owner does not


def test_one_address_trying_many_accounts_slows_that_address_only(app, client, make_user):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "30 per 15 minutes"
    accounts = [make_user()[1] for _ in range(7)]
    statuses = [
        attempt(client, phone, f"guess {n}", "203.0.113.9")
        for phone in accounts[:4]
        for n in range(12)
    ]
    statuses += [
        attempt(client, phone, f"guess {n}", "203.0.113.9")
        for phone in accounts[4:]
        for n in range(5)
    ]
    assert statuses.count(200) == 30 and statuses[-5:] == [429] * 5
    for phone in accounts:
        assert attempt(client, phone, PASSWORD, "198.51.100.7") == 303


def test_past_the_account_limit_the_owner_gets_in_with_the_texted_code(app, client, make_user):
    """Many addresses at once hold the account's password logins back; the owner's phone
    is the proof that still lets them in (no CAPTCHA)."""
    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    statuses = [attempt(client, phone, "wrong", f"10.0.{n // 4}.{n}") for n in range(120)]
    assert statuses.count(200) == 100
    assert attempt(client, phone, PASSWORD, "198.51.100.7") == 429
    owner = app.test_client()
    owner.post("/account/password/forgot", data={"phone": phone})
    [code] = [
        re.search(r"\b(\d{6})\b", text).group(1)
        for to, text in sms.outbox(app)
        if to == phone and re.search(r"\b\d{6}\b", text)
    ]
    form = {"phone": phone, "code": code, "password": "a new secret", "confirm": "a new secret"}
    assert owner.post("/account/password/reset", data=form).status_code == 303
    assert owner.get("/account/password").status_code == 200  # in, with the new password
