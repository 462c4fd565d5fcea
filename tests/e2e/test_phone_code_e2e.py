"""The code on the phone (issue 18): a credential kept with a device key, presentations made
and drawn by the page itself, shown offline from a cold start, refused when stale, copied or
revoked; and the QR of the longest presentation small enough for a cheap camera."""

from __future__ import annotations

import zxingcpp  # noqa: F401 - the decoder the QR tests use
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gantong.core import credentials
from tests.views.resident.test_code_page import decode_svg_path


def asset(app, filename: str) -> str:
    with app.test_request_context():
        return app.jinja_env.globals["asset_url"](filename)


def longest_presentation() -> str:
    """A presentation whose credential carries the longest masked name and a full tail."""
    names = [
        credentials.fit_name(name)
        for name in ("阿卜杜热合曼·买买提明", "M****** R***** W*****", "Ñ*** Ö**** Ü*****", "张*三")
    ]
    name = max(names, key=lambda text: len(text.encode()))
    assert len(name.encode()) == credentials.MAX_NAME_BYTES
    device = ec.generate_private_key(ec.SECP256R1())
    credential = credentials.Credential(
        kid="0a1b2c3d",
        code_id="0123456789abcdef",
        colour="yellow",
        valid_from=1_800_000_000,
        lifetime=credentials.MAX_LIFETIME,
        device_key=device.public_key().public_bytes(
            encoding=serialization.Encoding.X962,
            format=serialization.PublicFormat.CompressedPoint,
        ),
        masked_name=name,
        doc_tail="123X",
    )
    raw = credentials.sign_credential(credential, Ed25519PrivateKey.generate())
    return credentials.present(raw, 4_294_967_295, device)


def test_longest_presentation_is_a_version_10_qr_that_reads_at_a_third_blurred(
    app, live_server, page
):
    """The phone's encoder (qrcode-generator) draws the longest presentation at level M in at
    most version 10, and zxing-cpp reads it shrunk to a third and blurred, as a cheap camera."""
    text = longest_presentation()
    assert len(text) == 310
    page.goto(live_server + "/login")
    page.add_script_tag(url=asset(app, "vendor/qrcode.js"))
    page.add_script_tag(url=asset(app, "js/holder-code.js"))
    drawn = page.evaluate("(text) => window.gantongHolder.draw(text)", text)
    assert drawn["version"] <= 10
    path = drawn["svg"].split(' d="')[1].split('"')[0]
    assert decode_svg_path(path, zxingcpp, shrink=3, blur=1.0) == text
