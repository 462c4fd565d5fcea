"""What a district officer reads (gantong.review.queries), called directly: the queue, search, a file."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, User, utcnow
from gantong.review import applications, claims, official_records, queries
from tests.conftest import resident_id

BASIS = "东卫疾控〔2020〕7号"


@pytest.fixture
def queue(app, officer, make_user, make_holder):
    """Pending items of 360102 filed 10, 5 and 1 days ago, and one of 360111; return the officer's id."""
    here = make_holder(make_user()[0], name="李小红", symptoms=["fever"])
    there = make_holder(
        make_user()[0],
        name="外区人",
        number=resident_id("36010219700101123"),
        district="360111",
        symptoms=["fever"],
    )
    officer_id = officer()
    now = utcnow()
    with app.app_context():
        holder = db.session.get(Holder, here)
        [hit] = registry.colour_of(holder).hits
        claims.file(holder, hit.key, "发热", "无", "", holder.account, now=now - timedelta(days=10))
        applications.apply(
            holder,
            [hit.key],
            applications.Evidence("negative_test"),
            holder.account,
            now=now - timedelta(days=5),
        )
        official_records.record(
            holder,
            db.session.get(User, officer_id),
            "suspected",
            BASIS,
            now=now - timedelta(days=1),
        )
        elsewhere = db.session.get(Holder, there)
        claims.file(
            elsewhere, "", "地址", "新地址", "", elsewhere.account, now=now - timedelta(days=20)
        )
    return officer_id


def kinds(page):
    return [item.kind for item in page.items]


def test_the_queue_is_the_districts_pending_items_oldest_first(app, queue):
    with app.app_context():
        page = queries.pending_queue("360102")
        assert kinds(page) == ["claim", "application", "official"]
        assert (page.page, page.pages, page.total) == (1, 1, 3)
        assert all(item.holder.name == "李小红" for item in page.items)
        assert [item.since for item in page.items] == sorted(item.since for item in page.items)
        assert kinds(queries.pending_queue("360111")) == ["claim"]
        assert queries.pending_queue("360103").total == 0


def test_the_queue_filters_by_kind_and_by_age(app, queue):
    with app.app_context():
        assert kinds(queries.pending_queue("360102", kind="official")) == ["official"]
        assert kinds(queries.pending_queue("360102", kind="unknown")) == [
            "claim",
            "application",
            "official",
        ]
        assert kinds(queries.pending_queue("360102", min_age_days=3)) == ["claim", "application"]
        assert kinds(queries.pending_queue("360102", min_age_days=7)) == ["claim"]


def test_a_decided_item_leaves_the_queue(app, queue, officer):
    second = officer()
    with app.app_context():
        entry = queries.pending_queue("360102", kind="official").items[0].item
        official_records.approve(entry, db.session.get(User, second), "确认")
        assert kinds(queries.pending_queue("360102")) == ["claim", "application"]


def test_the_queue_pages_and_a_page_out_of_range_is_the_nearest(app, queue):
    with app.app_context():
        first = queries.pending_queue("360102", per_page=2)
        assert (kinds(first), first.page, first.pages, first.total) == (
            ["claim", "application"],
            1,
            2,
            3,
        )
        second = queries.pending_queue("360102", page=2, per_page=2)
        assert kinds(second) == ["official"]
        assert queries.pending_queue("360102", page=9, per_page=2).page == 2
        assert queries.pending_queue("360102", page=-1, per_page=2).page == 1
        assert queries.pending_queue("360103", page=5).page == 1


def test_people_are_found_by_document_number_or_name_start_in_the_district(app, make_holder):
    here = make_holder(name="李小红")
    make_holder(name="李小红", number=resident_id("36010219700101123"), district="360111")
    with app.app_context():
        number = resident_id()
        spaced = f" {number[:6]} {number[6:14]} {number[14:].lower()} "

        def found(district, text):
            return [holder.id for holder in queries.find_people(district, text).rows]

        assert found("360102", spaced) == [here]
        assert found("360102", "李小红") == [here]
        assert found("360102", "李小") == [here]  # the start of a name
        assert found("360102", number[-4:]) == [here]  # the tail of a number
        assert found("360102", "小红") == []  # not the middle of a name
        assert found("360102", "   ") == []
        assert found("360103", "李小红") == []


def test_a_persons_file_gathers_the_facts_requests_and_names(app, queue):
    with app.app_context():
        holder = db.session.scalar(db.select(Holder).where(Holder.name == "李小红"))
        person = queries.person_file(holder)
        assert person["holder"] is holder and person["account"].id == holder.account_id
        assert person["result"].colour == "yellow"
        assert [
            len(person[key]) for key in ("records", "applications", "claims", "declarations")
        ] == [1, 1, 1, 1]
        assert person["changes"][0].after == "yellow"
        assert queue in person["users"] and holder.account_id in person["users"]
        assert queries.users_by_id([None]) == {}
