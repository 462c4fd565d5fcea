"""Finding a person (name prefix, document tail, district, pages) and recording a case status."""

from __future__ import annotations

import re

import pytest

from gantong.extensions import db
from gantong.models import OfficialRecord
from gantong.review import queries
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def officer(make_user):
    def make(district="360102", badge="DH-0301"):
        return make_user(
            role="officer", district_code=district, badge_number=badge, department="东湖区疾控中心"
        )

    return make


@pytest.fixture
def login(app):
    def make(phone):
        client = app.test_client()
        response = client.post("/login", data={"phone": phone, "password": PASSWORD})
        assert response.status_code == 303
        return client

    return make


def people_found(html: str) -> set[int]:
    return {int(found) for found in re.findall(r'href="/review/people/(\d+)"', html)}


def test_a_name_prefix_and_a_document_tail_find_the_district_s_people(make_holder, officer, login):
    zhang = make_holder(name="张小三", number=resident_id("36010219900101123"))
    zhang_wei = make_holder(name="张伟", number=resident_id("36010219850505001"))
    li = make_holder(name="李四", number=resident_id("36010219700303777"))
    elsewhere = make_holder(
        name="张三丰", number=resident_id("36010319900101555"), district="360103"
    )
    client = login(officer()[1])

    def find(text):
        return people_found(client.get("/review/people", query_string={"q": text}).text)

    assert find("张") == {zhang, zhang_wei}
    assert find("张小") == {zhang}
    tail = resident_id("36010219900101123")[-4:]
    assert find(tail) == {zhang}
    assert find(tail.lower()) == {zhang}
    assert find(resident_id("36010219700303777")[-6:]) == {li}
    assert find(resident_id("36010219700303777")) == {li}
    # Fewer than 4 characters of a number is no tail; the middle of a number is no tail either.
    assert find(tail[-3:]) == set()
    assert find(resident_id("36010219900101123")[6:12]) == set()
    # Another district's officer never sees them, whatever they type.
    assert elsewhere not in find("张三")
    other = login(officer(district="360103", badge="XH-0101")[1])
    assert people_found(other.get("/review/people", query_string={"q": "张"}).text) == {elsewhere}


def test_wildcards_in_the_search_are_plain_characters(make_holder, officer, login):
    make_holder(name="张小三")
    client = login(officer()[1])
    for text in ("%", "_", "%小", "____"):
        assert people_found(client.get("/review/people", query_string={"q": text}).text) == set()


def test_the_search_is_paged_and_htmx_gets_only_the_list(app, make_holder, officer, login):
    app.config["REVIEW_PAGE_SIZE"] = 2
    ids = [
        make_holder(name=f"王{index}", number=resident_id(f"3601021990010100{index}"))
        for index in range(5)
    ]
    client = login(officer()[1])
    seen = []
    page = 1
    while True:
        html = client.get("/review/people", query_string={"q": "王", "page": page}, headers=EN)
        html = html.text
        found = people_found(html)
        assert len(found) <= 2
        seen += sorted(found)
        if "Next" not in html:
            break
        page += 1
    assert sorted(seen) == sorted(ids) and page == 3
    fragment = client.get(
        "/review/people",
        query_string={"q": "王"},
        headers={"HX-Request": "true", "HX-Target": "people-list"},
    ).text
    assert "<html" not in fragment and 'id="people-list"' in fragment
    assert len(people_found(fragment)) == 2
    whole = client.get("/review/people", query_string={"q": "王"}).text
    assert 'hx-get="/review/people"' in whole and 'hx-target="#people-list"' in whole


@pytest.mark.parametrize(
    ("headers", "text"), [(ZH, "请选择病例状态"), (EN, "Choose the case status.")]
)
def test_the_case_status_starts_empty_and_must_be_chosen(
    app, make_holder, officer, login, headers, text
):
    holder_id = make_holder(name="张小三")
    client = login(officer()[1])
    page = client.get(f"/review/people/{holder_id}", headers=headers).text
    select = re.search(r'<select[^>]*name="status".*?</select>', page, re.S).group(0)
    first = re.search(r"<option[^>]*>", select).group(0)
    assert 'value=""' in first and "selected" in first
    response = client.post(
        f"/review/people/{holder_id}/records",
        data={"status": "", "basis": "东卫疾控〔2020〕12号"},
        headers=headers,
    )
    assert response.status_code == 200
    assert text in response.text and 'id="status-error"' in response.text
    # What was typed stays.
    assert "东卫疾控〔2020〕12号" in response.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OfficialRecord)) == 0


def test_find_people_returns_one_page_and_says_whether_more_follow(app, make_holder):
    for index in range(3):
        make_holder(name=f"赵{index}", number=resident_id(f"3601021990010100{index}"))
    with app.app_context():
        first = queries.find_people("360102", "赵", page=1, per_page=2)
        second = queries.find_people("360102", "赵", page=2, per_page=2)
    assert len(first.rows) == 2 and first.has_next
    assert len(second.rows) == 1 and not second.has_next


@pytest.mark.postgres_only(reason="PostgreSQL's plan with the pattern operator class")
def test_the_search_is_served_by_the_district_s_name_and_document_tail_indexes(app, make_holder):
    make_holder(name="张小三")
    with app.app_context():
        # A district of 20,000 people, so the planner weighs a real choice.
        db.session.execute(
            db.text(
                "INSERT INTO holder (is_self, relation, code_id, secret, name, doc_type,"
                " doc_country, doc_number, doc_number_reversed, nationality, district_code,"
                " address, colour, colour_at, created_at)"
                " SELECT true, 'self', 'c' || n, '\\x00', '王' || n, 'resident_id', '',"
                " lpad(n::text, 18, '0'), reverse(lpad(n::text, 18, '0')), 'CN', '360102',"
                " '八一大道', 'green', now(), now() FROM generate_series(1, 20000) AS n"
            )
        )
        db.session.execute(db.text("ANALYZE holder"))
        captured = []
        original = db.session.scalars
        db.session.scalars = lambda query, *a, **k: (
            captured.append(query) or original(query, *a, **k)
        )
        try:
            found = queries.find_people("360102", "张1234")
        finally:
            del db.session.scalars
        compiled = captured[0].compile(db.engine, compile_kwargs={"literal_binds": True})
        # psycopg's paramstyle doubles a literal %; EXPLAIN is sent as plain text.
        sql = str(compiled).replace("%%", "%")
        plan = "\n".join(row[0] for row in db.session.execute(db.text(f"EXPLAIN {sql}")))
        db.session.rollback()
    assert found.rows == []
    assert "ix_holder_district_name" in plan and "ix_holder_district_doc_tail" in plan, plan
    assert "~>=~" in plan, plan  # LIKE 'x%' became an index range, not a filter


@pytest.mark.parametrize(
    ("headers", "written"),
    [(EN, r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d"), (ZH, r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d")],
)
def test_the_person_file_writes_times_day_first_or_in_chinese(
    make_holder, officer, login, headers, written
):
    holder_id = make_holder(name="张小三")
    page = login(officer()[1]).get(f"/review/people/{holder_id}", headers=headers).text
    assert re.search(written, page)
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{2}", page)  # never 12/7/26


def test_a_latin_name_is_found_whatever_its_case(make_holder, officer, login):
    """Names in Latin letters (a passport's) are typed in any case: SQLite's LIKE ignored the
    case and PostgreSQL's did not, so "li" found Li Wei on one database and nobody on the other."""
    li_wei = make_holder(name="Li Wei", number=resident_id("36010219900101123"))
    lin = make_holder(name="LIN Mei", number=resident_id("36010219850505001"))
    client = login(officer()[1])

    def find(text):
        return people_found(client.get("/review/people", query_string={"q": text}).text)

    assert find("li") == {li_wei, lin}
    assert find("LI W") == {li_wei}
    assert find("lin m") == {lin}
