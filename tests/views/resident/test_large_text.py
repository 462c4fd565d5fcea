"""Large-text mode (长辈模式): one switch in the header, a cookie, a class on <html>."""

from __future__ import annotations

import gzip
import re

import pytest

from tests.conftest import PASSWORD

SWITCH = re.compile(r'<a id="text-size" href="([^"]*)">([^<]*)</a>')


@pytest.fixture
def resident(client, make_user, make_holder):
    user_id, phone = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return holder_id


@pytest.mark.parametrize(
    ("language", "large", "standard"),
    [("zh-CN", "长辈模式", "标准模式"), ("en", "Large text", "Standard text")],
)
def test_the_switch_sets_a_cookie_goes_back_and_the_page_is_large(
    client, resident, language, large, standard
):
    headers = {"Accept-Language": language}
    code = f"/me/people/{resident}"
    html = client.get(code, headers=headers).get_data(as_text=True)
    assert '<html lang="' in html and 'class="large"' not in html
    href, label = SWITCH.search(html).groups()
    assert label == large

    response = client.get(href.replace("&amp;", "&"), headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == code
    assert "text=large" in response.headers["Set-Cookie"]

    html = client.get(code, headers=headers).get_data(as_text=True)
    assert re.search(r'<html lang="[^"]+" class="large">', html)
    href, label = SWITCH.search(html).groups()
    assert label == standard
    # Every page of the resident's keeps it, without JavaScript (server-rendered).
    for path in [f"{code}/declare", "/me/notifications", "/me/people/new"]:
        assert 'class="large"' in client.get(path, headers=headers).get_data(as_text=True)

    client.get(href.replace("&amp;", "&"))
    assert 'class="large"' not in client.get(code).get_data(as_text=True)


def test_the_switch_goes_back_only_to_this_site(client):
    response = client.get("/text-size/large?next=//evil.example/")
    assert response.headers["Location"] == "/"


def test_the_code_page_in_large_text_fits_14000_bytes_gzipped(client, resident):
    client.get("/text-size/large?next=/")
    response = client.get(f"/me/people/{resident}", headers={"Accept-Encoding": "gzip"})
    body = response.get_data()
    assert 'class="large"' in gzip.decompress(body).decode()
    print(f"code page in large text: {len(body)} bytes gzipped")
    assert len(body) <= 14_000, len(body)
