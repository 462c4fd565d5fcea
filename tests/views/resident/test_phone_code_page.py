"""The code page's hooks for the phone: deferred scripts under hashed URLs, the service worker."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD


def test_the_phone_scripts_are_deferred_and_cached_and_the_server_code_stays(
    client, make_user, make_holder
):
    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    html = client.get(f"/me/people/{holder_id}").get_data(as_text=True)
    scripts = re.findall(r"<script [^>]*>", html)
    phone_code = next(tag for tag in scripts if "holder-code.js" in tag)
    encoder = next(tag for tag in scripts if "vendor/qrcode.js" in tag)
    for tag in (phone_code, encoder):
        assert " defer" in tag
        url = re.search(r'src="([^"]+)"', tag).group(1)
        assert re.fullmatch(r"/a/[0-9a-f]{12}/.+\.js", url), url
        cached = client.get(url)
        assert cached.status_code == 200
        assert "immutable" in cached.headers["Cache-Control"]
    # What the script needs comes as data, in the page's language; nothing inline.
    assert f'data-credential="/me/people/{holder_id}/credential"' in phone_code
    assert 'data-devices="/me/devices"' in phone_code
    assert "起离线" in phone_code
    # Without JavaScript the server-drawn code and its refresh are still there.
    assert 'class="qr-svg"' in html and 'hx-trigger="every 60s"' in html


def test_the_service_worker_is_served_fresh_for_the_resident_scope(client, make_user):
    user_id, phone = make_user()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.get("/me/sw.js")
    assert response.status_code == 200
    assert response.mimetype in ("application/javascript", "text/javascript")
    assert response.headers["Cache-Control"] == "no-cache"
    assert b"gantong-holder-v1" in response.get_data()


def test_no_phone_script_before_the_first_declaration(client, make_user, make_holder):
    user_id, phone = make_user()
    holder_id = make_holder(user_id, declared=False)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    html = client.get(f"/me/people/{holder_id}").get_data(as_text=True)
    assert "js/holder-code.js" not in html and "vendor/qrcode.js" not in html
