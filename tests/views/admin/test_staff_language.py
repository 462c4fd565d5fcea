"""No raw id on a staff page, every message in the user's language,
SMS kept short; the record page's banner shows the colour as it is now."""

from __future__ import annotations

import re

import pytest

from gantong.auth import password_reset
from gantong.extensions import db
from gantong.holders import notifications, registry, sms
from gantong.models import Holder, Notification
from tests.conftest import PASSWORD
from tests.views.checkpoint.test_checkpoint import open_record, record_body

EN = {"Accept-Language": "en"}


@pytest.fixture
def admin(client, make_user):
    user_id, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


def visible(html: str) -> str:
    """The page's text outside the <details> that keep the stored codes for filtering."""
    return re.sub(r"<details>.*?</details>", "", html, flags=re.S)


def test_the_audit_trail_names_actors_and_actions_in_the_users_language(
    app, client, admin, make_user, make_holder
):
    owner_id, _ = make_user()
    make_holder(owner_id, symptoms=["fever"])  # holder.create and code.issue by a resident
    zh = visible(client.get("/admin/audit").get_data(as_text=True))
    assert "居民" in zh and "赋码" in zh and "添加人员" in zh
    assert "code.issue" not in zh and "holder.create" not in zh and ">resident" not in zh
    en = visible(client.get("/admin/audit", headers=EN).get_data(as_text=True))
    assert "Resident" in en and "code issued" in en
    # The codes stay, for the action filter, inside each event's details.
    assert "<code>code.issue</code>" in client.get("/admin/audit").get_data(as_text=True)


@pytest.mark.nodb
def test_every_audit_action_the_app_writes_has_a_label():
    import pathlib

    from gantong.admin import exports
    from gantong.admin.labels import AUDIT_SUBJECTS
    from gantong.core.kinds import AuditAction

    package = pathlib.Path(__file__).resolve().parents[3] / "gantong"
    source = "\n".join(path.read_text() for path in package.rglob("*.py"))
    written = set(re.findall(r'audit\.append\(\s*"([a-z_.]+[a-z])"', source))
    written |= {
        a
        for pair in re.findall(r'"([a-z_.]+)" if \w+ else "([a-z_.]+)"', source)
        for a in pair
        if "." in a
    }
    written |= {"export." + kind for kind in exports.KINDS}
    written |= {
        f"{kind}.{verb}" for kind in ("application", "claim") for verb in ("create", "withdraw")
    }
    written |= {
        f"{prefix}.{verb}"
        for prefix in ("account", "point")
        for verb in ("deactivate", "reactivate")
    }
    assert written and written - set(AuditAction) == set()
    subjects = set(re.findall(r'audit\.append\([^,]+,\s*"([a-z_]+)"', source))
    assert subjects - set(AUDIT_SUBJECTS) == set()


def test_a_broken_chain_is_named_in_the_users_language(app, client, admin, make_user, make_holder):
    make_holder(make_user()[0], symptoms=["fever"])
    with app.app_context():
        db.session.execute(db.text("UPDATE audit_event SET reason = 'x' WHERE seq = 1"))
        db.session.commit()
    zh = client.get("/admin/audit/check").get_data(as_text=True)
    assert "内容被改动" in zh and "content was changed" not in zh
    assert "its content was changed" in client.get("/admin/audit/check", headers=EN).get_data(
        as_text=True
    )
    with app.app_context():
        db.session.execute(db.text("DELETE FROM audit_event WHERE seq = 1"))
        db.session.commit()
    assert "应为第 1 条事件，实为第 2 条" in client.get("/admin/audit/check").get_data(as_text=True)


def test_the_person_file_names_the_nationality(app, client, make_user, make_holder):
    make_holder(make_user()[0])
    _, phone = make_user(
        role="officer", district_code="360102", badge_number="DH-1", department="疾控"
    )
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    zh = client.get("/review/people/1").get_data(as_text=True)
    assert re.search(r"<td>中国</td>", zh) and "<td>CN</td>" not in zh
    assert re.search(
        r"<td>China</td>", client.get("/review/people/1", headers=EN).get_data(as_text=True)
    )


@pytest.fixture
def station(client, make_staff, make_holder, make_user):
    owner_id, _ = make_user()
    holder_id = make_holder(owner_id)
    _, phone, point_id = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"holder_id": holder_id, "point_id": point_id}


def test_tampered_values_get_wtforms_messages_in_the_users_language(
    app, client, station, screen_token
):
    record_id, reference, _ = open_record(client, screen_token(station["holder_id"]))
    zh = client.post(
        "/checkpoint/records", data=record_body(record_id, reference, "abc", "open-the-gate")
    )
    html = zh.get_data(as_text=True)
    assert "不是有效的选择" in html and "Not a valid choice" not in html
    en = client.post(
        "/checkpoint/records",
        data=record_body(record_id, reference, "36.5", "open-the-gate"),
        headers=EN,
    ).get_data(as_text=True)
    assert "Not a valid choice" in en
    as_json = client.post(
        "/checkpoint/records", json=record_body(record_id, reference, "36.5", "x")
    )
    assert as_json.status_code == 422 and "不是有效的选择" in str(as_json.get_json())


def test_after_a_fever_the_record_page_shows_the_colour_now(app, client, station, screen_token):
    record_id, reference, page = open_record(client, screen_token(station["holder_id"]))
    assert 'class="card green"' in page
    client.post("/checkpoint/records", data=record_body(record_id, reference, "38.4", "refer"))
    html = client.get(f"/checkpoint/records/{record_id}").get_data(as_text=True)
    assert 'class="card yellow"' in html and 'class="card green"' not in html
    assert "当前为黄码；扫码时为绿码。" in html


def test_the_reset_sms_is_chinese_first_and_from_the_catalogue(app, make_user):
    with app.test_request_context(headers=EN):
        text = password_reset.reset_text("123456")
    assert text.startswith("【赣通码】重置密码验证码 123456，10 分钟内有效。")
    assert text.endswith("Gantong Code: password reset code 123456, valid for 10 minutes.")
    assert sms.segments(text) <= 2


def test_an_sms_keeps_within_two_segments_and_links_to_the_notification(
    app, make_user, make_holder, make_staff
):
    app.config["SMS_BACKEND"] = "memory"
    owner_id, phone = make_user()
    holder_id = make_holder(owner_id, name="欧阳娜娜")
    reason = (
        "经流调核实，" + "该人员于近期与确诊病例在同一空间停留较长时间，" * 40
    )  # about 1,000 characters
    assert len(reason) > 900
    with app.test_request_context():
        holder = db.session.get(Holder, holder_id)
        registry.declare(
            holder,
            registry.DeclarationFacts(symptoms=["fever"], close_contact=False, contact_date=None),
            author=holder.account,
        )
        notification = notifications.notify(
            holder, notifications.COLOUR_CHANGE, before="green", after="red", reason=reason
        )
        db.session.commit()
        notification_id = notification.id
        kept = db.session.get(Notification, notification_id)
        assert reason in notifications.notification_text(kept)  # the whole reason stays in the app
    texts = [text for to, text in sms.outbox(app) if to == phone]
    assert texts and all(sms.segments(text) <= 2 and len(text) <= sms.MAX_CHARS for text in texts)
    last = texts[-1]
    assert last.startswith("【赣通码】欧**娜的赣通码已由绿码转为红码。") and reason[:20] not in last
    assert last.endswith(f"http://localhost:5000/me/notifications#n{notification_id}")


@pytest.mark.nodb
def test_a_message_too_long_is_cut_with_an_ellipsis_and_keeps_the_link():
    text = sms.fit("很长" * 200, " 详情：https://gantong.example/me/notifications#n12")
    assert len(text) == sms.MAX_CHARS and sms.segments(text) == 2
    assert "…" in text and text.endswith("#n12")
    assert (
        sms.segments("短" * 70) == 1
        and sms.segments("短" * 71) == 2
        and sms.segments("短" * 135) == 3
    )
