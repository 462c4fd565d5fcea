"""Where a resident lands after logging in: their own code, the family's one tap away."""

from __future__ import annotations

import re

import pytest

from gantong.extensions import db
from gantong.holders import registry
from gantong.models import User
from tests.conftest import PASSWORD, resident_id


@pytest.fixture
def family(app, make_user, make_holder):
    """An account with its own person (first) and a child: (phone, own id, child id)."""
    user_id, phone = make_user()
    own = make_holder(user_id, name="王大明")
    with app.app_context():
        child = registry.add_holder(
            db.session.get(User, user_id),
            registry.Identity(
                name="王小明",
                doc_type="resident_id",
                doc_number=resident_id("36010220150101123"),
                doc_country="",
                nationality="CN",
                district_code="360102",
                address="八一大道 1 号",
            ),
            relation="child",
        )
        registry.declare(child, registry.DeclarationFacts([], False, None), author=None)
        return phone, own, child.id


@pytest.mark.parametrize(("language", "switch"), [("zh-CN", "切换人员"), ("en", "Switch person")])
def test_with_a_family_member_login_lands_on_the_own_code_with_the_family_one_tap_away(
    client, family, language, switch
):
    phone, own, child = family
    headers = {"Accept-Language": language}
    response = client.post("/login", data={"phone": phone, "password": PASSWORD}, headers=headers)
    assert response.status_code == 303
    landing = client.get(response.headers["Location"], headers=headers, follow_redirects=True)
    assert landing.request.path == f"/me/people/{own}"
    html = landing.get_data(as_text=True)
    switcher = re.search(r'<ul class="switch" aria-label="([^"]*)">(.*?)</ul>', html, re.S)
    assert switcher is not None and switcher.group(1) == switch
    assert f'href="/me/people/{child}"' in switcher.group(2)
    # The people list is still there, from the code page.
    assert 'href="/me"' in switcher.group(2)


def test_the_brand_link_of_a_family_account_opens_the_own_code(client, family):
    phone, own, _ = family
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get("/", follow_redirects=True).request.path == f"/me/people/{own}"
