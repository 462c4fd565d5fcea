"""The browser verifier (static/js/verifier.js) against docs/token-vectors.json, in Chromium.

The same file the Python tests load (tests/unit/core/test_token_vectors.py): both sides are held
to the same bytes. Run with WebCrypto's Ed25519 and with the @noble/ed25519 fallback forced.
"""

import json
import pathlib

import pytest

VECTORS = json.loads(
    (pathlib.Path(__file__).resolve().parents[2] / "docs" / "token-vectors.json").read_text(
        encoding="utf-8"
    )
)

RUN = """async ([url, nobleUrl, vectors, engine]) => {
  const verifier = await import(url);
  verifier.configure({ nobleUrl });
  const results = { engine: await verifier.engine(engine), valid: [], invalid: [] };
  for (const c of vectors.valid) {
    const v = await verifier.verify(c.text, c.bundle || vectors.bundle, c.now, { engine });
    results.valid.push({ name: c.name, ok: v.ok, reason: v.reason, colour: v.colour, issuer: v.issuer,
                         fields: v.token });
  }
  for (const c of vectors.invalid) {
    const v = await verifier.verify(c.text, c.bundle || vectors.bundle, c.now, { engine });
    results.invalid.push({ name: c.name, ok: v.ok, reason: v.reason });
  }
  return results;
}"""


@pytest.mark.parametrize("engine", ["webcrypto", "noble"])
def test_the_browser_verifier_gives_every_vectors_expected_result(app, live_server, page, engine):
    page.goto(live_server + "/")
    with app.test_request_context():
        from flask import current_app

        asset_url = current_app.jinja_env.globals["asset_url"]
        url, noble_url = asset_url("js/verifier.js"), asset_url("vendor/noble-ed25519.js")
    results = page.evaluate(
        RUN,
        [
            live_server + url,
            live_server + noble_url,
            VECTORS,
            "noble" if engine == "noble" else None,
        ],
    )
    assert results["engine"] == engine  # Chromium has WebCrypto Ed25519; "noble" is forced
    assert len(results["valid"]) == len(VECTORS["valid"]) and len(results["invalid"]) == len(
        VECTORS["invalid"]
    )
    for case, got in zip(VECTORS["valid"], results["valid"], strict=True):
        assert got["ok"], (case["name"], got["reason"])
        assert got["colour"] == case["expect"]["colour"], case["name"]
        assert got["issuer"] == case["expect"]["issuer"], case["name"]
        assert got["fields"] == case["fields"], case["name"]
    for case, got in zip(VECTORS["invalid"], results["invalid"], strict=True):
        assert not got["ok"] and got["reason"] == case["reason"], (case["name"], got["reason"])


RUN_PRESENTATIONS = """async ([url, nobleUrl, vectors, engine]) => {
  const verifier = await import(url);
  verifier.configure({ nobleUrl });
  const results = { valid: [], invalid: [] };
  for (const c of vectors.presentation_valid) {
    const v = await verifier.verify(c.text, c.bundle || vectors.bundle, c.now, { engine });
    results.valid.push({ name: c.name, ok: v.ok, reason: v.reason, colour: v.colour,
                         fields: v.credential, id: v.credential_id });
  }
  for (const c of vectors.presentation_invalid) {
    const v = await verifier.verify(c.text, c.bundle || vectors.bundle, c.now, { engine });
    results.invalid.push({ name: c.name, ok: v.ok, reason: v.reason });
  }
  return results;
}"""


def test_the_browser_verifier_gives_every_presentation_vectors_result(app, live_server, page):
    """Holder credentials and presentations (section 8): ECDSA P-256 by WebCrypto, the
    revocation set decoded in the page; the issuer's Ed25519 with the noble fallback forced."""
    page.goto(live_server + "/")
    with app.test_request_context():
        from flask import current_app

        asset_url = current_app.jinja_env.globals["asset_url"]
        url, noble_url = asset_url("js/verifier.js"), asset_url("vendor/noble-ed25519.js")
    for engine in (None, "noble"):
        results = page.evaluate(
            RUN_PRESENTATIONS, [live_server + url, live_server + noble_url, VECTORS, engine]
        )
        for case, got in zip(VECTORS["presentation_valid"], results["valid"], strict=True):
            assert got["ok"], (case["name"], got["reason"])
            assert got["colour"] == case["expect"]["colour"], case["name"]
            assert got["id"] == case["expect"]["credential_id"], case["name"]
            assert got["fields"] == case["fields"], case["name"]
        for case, got in zip(VECTORS["presentation_invalid"], results["invalid"], strict=True):
            assert not got["ok"] and got["reason"] == case["reason"], (case["name"], got["reason"])
