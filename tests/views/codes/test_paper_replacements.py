"""One resident cannot grow the bundle every verifier downloads: replacements of a lost paper
code are limited per person, and officers at a desk (who see the person) are not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.codes import bundle, paper
from gantong.extensions import db
from gantong.models import Holder, PaperCode, utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def resident(client, make_user, make_holder):
    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    client.post(f"/entry/people/{holder_id}/paper")
    return holder_id


def paper_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(PaperCode))


def test_a_resident_replaces_a_lost_paper_code_at_most_the_limit_then_is_told_where_to_go(
    app, client, resident
):
    limit = app.config["PAPER_REPLACEMENTS_PER_PERIOD"]
    url = f"/entry/people/{resident}/paper/lost"
    for _ in range(limit):
        assert client.post(url, data={"confirm": "y"}).status_code == 303
    printed = paper_count(app)
    with app.app_context():
        revoked = len(bundle.revocations(utcnow()))
    refused = client.post(url, data={"confirm": "y"}, headers=EN)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert 'id="confirm-error"' in page and "service desk" in page
    assert "again after" in page  # the day it may be done again, not "later"
    # Nothing written: no new paper code, no new revoked serial in the bundle.
    assert paper_count(app) == printed
    with app.app_context():
        assert len(bundle.revocations(utcnow())) == revoked
    zh = client.post(url, data={"confirm": "y"}, headers=ZH).get_data(as_text=True)
    assert "服务窗口" in zh


def test_the_window_slides_a_replacement_is_possible_again_later(app, make_holder):
    holder_id = make_holder()
    start = utcnow()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        paper.issue(holder, now=start)
        limit = app.config["PAPER_REPLACEMENTS_PER_PERIOD"]
        for step in range(limit):
            paper.report_lost(holder, now=start + timedelta(minutes=step))
        with pytest.raises(paper.TooManyReplacements) as refused:
            paper.report_lost(holder, now=start + timedelta(hours=1))
        assert refused.value.again_at > start + timedelta(days=1)
        later = refused.value.again_at + timedelta(seconds=1)
        assert paper.report_lost(holder, now=later).revoked_at is None


def test_an_officer_at_the_desk_is_not_limited(app, client, make_user, make_holder):
    holder_id = make_holder(district="360102")
    _, phone = make_user(role="officer", district_code="360102", badge_number="DH-9")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    client.post(f"/entry/people/{holder_id}/paper")
    limit = app.config["PAPER_REPLACEMENTS_PER_PERIOD"]
    for _ in range(limit + 2):
        response = client.post(f"/entry/people/{holder_id}/paper/lost", data={"confirm": "y"})
        assert response.status_code == 303
    assert paper_count(app) == limit + 3


def test_expired_revoked_serials_leave_the_bundle(app, make_holder):
    holder_id = make_holder()
    start = utcnow()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        paper.issue(holder, now=start)
        paper.report_lost(holder, now=start)
        revoked = db.session.scalars(
            db.select(PaperCode).where(PaperCode.revoked_at.is_not(None))
        ).one()
        assert [entry["id"] for entry in bundle.revocations(start)] == [revoked.serial]
        assert bundle.revocations(revoked.expires_at + timedelta(seconds=1)) == []
