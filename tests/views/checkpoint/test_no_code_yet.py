"""A holder who has not declared has no code: the no-code lane says so, statistics don't count them."""

from __future__ import annotations

from gantong.extensions import db
from gantong.models import Holder, VerificationRecord
from gantong.stats import figures
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}


def test_the_no_code_lane_finds_a_holder_without_a_code_and_says_declare_first(
    app, client, make_staff, make_holder, make_user
):
    staff_id, phone, _point_id = make_staff()
    owner_id, _ = make_user()
    number = resident_id("36010219900101456")
    make_holder(owner_id, name="赵六", number=number, declared=False)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    answer = client.post(
        "/checkpoint/verify/document", data={"doc_number": number, "name": "赵六"}, headers=EN
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "No code yet" in html and "Nothing was recorded." in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)) == 0
    zh = client.post("/checkpoint/verify/document", data={"doc_number": number, "name": "赵六"})
    assert "尚未赋码" in zh.get_data(as_text=True)


def test_statistics_count_only_holders_with_a_code(app, make_holder, make_user):
    owner_id, _ = make_user()
    make_holder(owner_id, number=resident_id("36010219900101234"), declared=False)
    make_holder(owner_id, name="钱七", number=resident_id("36010219900101345"))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Holder)) == 2
        (row,) = [r for r in figures.colours_by_area(figures.Scope("360102")) if r.code == "360102"]
        assert (row.green, row.yellow, row.red) == (1, 0, 0)
