"""Each account keeps its language (chosen at registration, changed with the language switch)
and its text messages are sent in it; their links start with PUBLIC_URL, which production needs."""

from __future__ import annotations

import click
import pytest

from gantong import create_app
from gantong.extensions import db
from gantong.holders import notifications, sms
from gantong.models import Holder, Notification, User
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMS_BACKEND": "memory", "PUBLIC_URL": "https://gantong.example.cn"}


def language_of(app, phone: str) -> str:
    with app.app_context():
        return db.session.scalar(db.select(User.language).where(User.phone == phone))


@pytest.mark.parametrize(("headers", "language"), [(EN, "en"), (ZH, "zh")])
def test_the_account_keeps_the_language_it_registered_in(app, client, headers, language):
    response = client.post(
        "/register",
        data={"phone": "13912345678", "password": PASSWORD, "confirm": PASSWORD},
        headers=headers,
    )
    assert response.status_code == 303
    assert language_of(app, "+8613912345678") == language


def test_switching_language_while_logged_in_changes_the_account_s(app, client, make_user):
    _, phone = make_user()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get("/language/en?next=/me").status_code == 302
    assert language_of(app, phone) == "en"
    client.get("/language/zh")
    assert language_of(app, phone) == "zh"
    client.get("/language/xx")  # not a language of ours: nothing changes
    assert language_of(app, phone) == "zh"


def test_switching_language_logged_out_changes_only_the_cookie(app, client, make_user):
    _, phone = make_user()
    response = client.get("/language/en")
    assert "lang=en" in response.headers["Set-Cookie"]
    assert language_of(app, phone) == "zh"


@pytest.mark.parametrize(
    ("language", "start", "absent"),
    [("en", "Gantong Code: ", "赣通码"), ("zh", "【赣通码】", "Gantong Code")],
)
def test_a_notification_sms_goes_in_the_account_s_language_with_the_public_address(
    app, make_user, make_holder, language, start, absent
):
    user_id, phone = make_user(language=language)
    holder_id = make_holder(user_id, name="王小明")
    with app.app_context():
        sms.outbox(app).clear()
        holder = db.session.get(Holder, holder_id)
        notification = notifications.colour_changed(
            holder, "green", "yellow", "fever", at=holder.created_at
        )
        db.session.commit()
        sent = [text for to, text in sms.outbox(app) if to == phone]
        link = f"https://gantong.example.cn/me/notifications#n{notification.id}"
    assert len(sent) == 1
    assert sent[0].startswith(start) and absent not in sent[0], sent[0]
    assert sent[0].endswith(link) and "localhost" not in sent[0]


PRODUCTION = {"SECRET_KEY": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"}


@pytest.mark.nodb
def test_production_refuses_to_start_without_public_url():
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app({**PRODUCTION, "PUBLIC_URL": ""})
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app({**PRODUCTION, "PUBLIC_URL": "gantong.example.cn"})  # no scheme
    app = create_app({**PRODUCTION, "PUBLIC_URL": "https://gantong.example.cn/"})
    assert app.config["PUBLIC_URL"] == "https://gantong.example.cn"


@pytest.mark.nodb
def test_development_and_tests_fall_back_to_the_local_address():
    assert create_app({**PRODUCTION, "PUBLIC_URL": "", "TESTING": True}).config["PUBLIC_URL"]
    assert create_app({**PRODUCTION, "PUBLIC_URL": "", "DEBUG": True}).config["PUBLIC_URL"]


@pytest.mark.nodb
def test_a_flask_command_starts_without_public_url_but_sends_no_link_without_it():
    # `flask db upgrade` builds the app inside click's context: a migration sends no message.
    with click.Context(click.Command("db")):
        app = create_app({**PRODUCTION, "PUBLIC_URL": ""})
    assert app.config["PUBLIC_URL"] == ""
    with app.app_context(), pytest.raises(RuntimeError, match="PUBLIC_URL"):
        notifications.link(Notification(id=1))
