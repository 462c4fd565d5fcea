"""The code page: size budget, security headers, htmx fragment, tokens and keys."""

from __future__ import annotations

import gzip
import re
import time
from datetime import timedelta

from gantong.codes import keys
from gantong.core import tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, utcnow

RED_DEMO = "13900000006"


def demo_login(app, client, phone):
    result = app.test_cli_runner().invoke(args=["gantong", "demo"])
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"phone": phone, "password": "gantong-demo"})
    assert response.status_code == 303


def test_code_page_of_the_red_demo_holder_fits_14000_bytes_gzipped(app, client):
    demo_login(app, client, RED_DEMO)
    response = client.get("/me", follow_redirects=True, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    body = response.get_data()
    html = gzip.decompress(body).decode()
    assert "<svg" in html and "<style>" in html
    assert "红码" in html
    assert len(body) <= 14_000, len(body)
    # Everything needed to show the code is inline: no stylesheet link on this page.
    assert 'rel="stylesheet"' not in html


def test_worst_case_code_page_with_many_reasons_and_changes_fits(
    app, client, make_user, make_holder, today
):
    user_id, phone = make_user()
    holder_id = make_holder(
        user_id,
        symptoms=["fever", "dry_cough", "fatigue", "sore_throat"],
        close_contact=True,
        contact_date=today - timedelta(days=2),
        stays=[
            ("4201", today - timedelta(days=6), today - timedelta(days=3)),
            ("4202", today - timedelta(days=5), today - timedelta(days=4)),
            ("42", today - timedelta(days=9), today - timedelta(days=1)),
        ],
    )
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        for _ in range(5):  # more history than the page shows
            registry.declare(holder, registry.DeclarationFacts(["fever"], False, None), author=None)
    client.post("/login", data={"phone": phone, "password": "correct horse"})
    response = client.get(f"/me/people/{holder_id}", headers={"Accept-Encoding": "gzip"})
    assert len(response.get_data()) <= 14_000
    assert gzip.decompress(response.get_data()).decode().count('class="why"') >= 4


def test_csp_allows_no_inline_script_and_pages_have_none(app, client):
    demo_login(app, client, RED_DEMO)
    for path in ["/me/people/3", "/me/people/3/declare", "/me/people/new", "/me/people/3/history"]:
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert script_src.strip() == "'self'"
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        html = response.get_data(as_text=True)
        # Every <script> has a src; no handlers, no style attributes (the CSP would block them).
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert not re.search(r"\sstyle=", html), path
        # Nothing from another host.
        assert not re.search(r'(src|href|action)="(https?:)?//', html), path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "HX-Request" in response.headers["Vary"]


def test_inline_css_is_allowed_by_its_hash(app, client):
    demo_login(app, client, RED_DEMO)
    response = client.get("/me/people/3")
    assert f"'{app.config['INLINE_CSS_HASH']}'" in response.headers["Content-Security-Policy"]
    import base64
    import hashlib

    css = re.search(r"<style>(.*?)</style>", response.get_data(as_text=True), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert app.config["INLINE_CSS_HASH"] == "sha256-" + digest


def test_htmx_poll_gets_only_the_card_with_a_fresh_token(app, client):
    demo_login(app, client, RED_DEMO)
    response = client.get("/me/people/3", headers={"HX-Request": "true", "HX-Target": "code-card"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="code-card"')
    assert "<html" not in html
    assert 'hx-trigger="every 60s"' in html


def test_code_page_qr_carries_a_valid_screen_token(app, client):
    import zxingcpp
    from PIL import Image  # noqa: F401 - zxingcpp reads PIL images

    demo_login(app, client, "13900000001")
    html = client.get("/me", follow_redirects=True).get_data(as_text=True)
    svg = re.search(r"<svg viewBox=[^>]*class=\"qr-svg\".*?</svg>", html, re.S).group(0)
    path = re.search(r' d="([^"]+)"', svg).group(1)
    text = decode_svg_path(path, zxingcpp)
    with app.app_context():
        token = tokens.verify(text, keys.verification_keys(), int(time.time()))
        holder = db.session.scalar(db.select(Holder).where(Holder.code_id == token.subject))
    assert holder.name == "张三" and token.colour == "green"
    assert token.ttl == 120
    # The dynamic number under the QR is the holder's, for this slot.
    number = re.search(r'class="number"[^>]*>(\d{4}) (\d{4})<', html)
    with app.app_context():
        found = registry.holders_by_number(number.group(1) + number.group(2))
    assert [h.id for h in found] == [holder.id]


def test_code_page_qr_decodes_at_a_third_of_the_size_blurred(app, client):
    """A cheap camera: the QR drawn at 8 px a module, shrunk to a third and blurred, still reads."""
    import zxingcpp

    demo_login(app, client, "13900000001")
    for _ in range(3):  # three tokens, three QRs (each may take another mask)
        html = client.get("/me", follow_redirects=True).get_data(as_text=True)
        path = re.search(r'class="qr-svg"><path[^>]* d="([^"]+)"', html).group(1)
        text = decode_svg_path(path, zxingcpp, shrink=3, blur=1.0)
        assert text.startswith(tokens.PREFIX)


def decode_svg_path(path: str, zxingcpp, shrink: int = 1, blur: float = 0.0) -> str:
    """Rasterise segno's run-length SVG path (h-moves on half-pixel rows) and decode it."""
    from PIL import Image, ImageDraw, ImageFilter

    scale = 8
    image = Image.new("L", (100 * scale, 100 * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, number, second in re.findall(r"([Mmh])(-?[\d.]+)(?:[ ,](-?[\d.]+))?", path):
        if command == "M":
            x, y = float(number), float(second)
        elif command == "m":
            x, y = x + float(number), y + float(second)
        else:
            width = float(number)
            top = int((y - 0.5) * scale)
            draw.rectangle(
                [int(x * scale), top, int((x + width) * scale) - 1, top + scale - 1], fill=0
            )
            x += width
    if shrink > 1:
        image = image.resize((image.width // shrink, image.height // shrink), Image.BILINEAR)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    results = zxingcpp.read_barcodes(image)
    assert results, "the QR did not decode"
    return results[0].text


def test_jwks_publishes_the_verification_keys(app, client):
    with app.app_context():
        kid, _ = keys.signing_key()
    body = client.get("/.well-known/jwks.json").get_json()
    assert [key["kid"] for key in body["keys"]] == [kid]
    assert body["keys"][0]["kty"] == "OKP" and body["keys"][0]["crv"] == "Ed25519"
    public = tokens.public_key_from_jwk(body["keys"][0])
    with app.app_context():
        assert tokens.public_bytes(public) == tokens.public_bytes(keys.verification_keys()[kid])


def test_a_token_of_the_previous_key_verifies_after_rotation(app, make_holder):
    holder_id = make_holder()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        _, old_text = keys.signed_screen_token(holder)
        result = app.test_cli_runner().invoke(args=["gantong", "keys", "rotate"])
        assert result.exit_code == 0
        new_token, new_text = keys.signed_screen_token(holder)
        now = int(time.time())
        public = keys.verification_keys()
        assert tokens.verify(old_text, public, now).kid != new_token.kid
        assert tokens.verify(new_text, public, now).kid == new_token.kid


def test_stored_private_keys_are_encrypted(app):
    with app.app_context():
        kid, private = keys.signing_key()
        from gantong.models import SigningKey

        row = db.session.get(SigningKey, kid)
        raw = private.private_bytes_raw()
        assert raw not in row.private_key


def test_recompute_turns_ended_hits_green(app, make_holder, today):
    holder_id = make_holder(stays=[("4201", today - timedelta(days=10), today - timedelta(days=1))])
    with app.app_context():
        from gantong.demo import seed_risk_areas

        seed_risk_areas()
        holder = db.session.get(Holder, holder_id)
        registry.store_colour(holder)
        assert holder.colour == "yellow"
        # Day 13 after leaving: still yellow; day 14: green.
        assert sum(registry.recompute_in_pages(utcnow() + timedelta(days=12))) == 0
        assert sum(registry.recompute_in_pages(utcnow() + timedelta(days=13, hours=1))) == 1
        assert db.session.get(Holder, holder_id).colour == "green"
        changes = registry.colour_history(db.session.get(Holder, holder_id))
        assert [(c.before, c.after) for c in changes[:2]] == [
            ("yellow", "green"),
            ("green", "yellow"),
        ]
    assert app.test_cli_runner().invoke(args=["gantong", "recompute"]).exit_code == 0


def test_the_gzipped_page_is_the_page(app, client):
    """The code page's head is compressed once a process: each gzipped page is still whole."""
    demo_login(app, client, RED_DEMO)
    plain = client.get("/me/people/3")
    assert "Content-Encoding" not in plain.headers
    pages = [client.get("/me/people/3", headers={"Accept-Encoding": "gzip"}) for _ in range(3)]
    for response in pages:
        assert response.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["Vary"]
        html = gzip.decompress(response.get_data()).decode()
        # The same page as sent plain, but for its clock, token and number.
        assert html.count("<style>") == 1 and html.rstrip().endswith("</html>")
        assert html.split("</style>")[0] == plain.get_data(as_text=True).split("</style>")[0]
        assert "<svg" in html and "红码" in html
    refused = client.get("/me/people/3", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers
