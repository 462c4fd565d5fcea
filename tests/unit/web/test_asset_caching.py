"""Hashed static files: cached a year without revalidation, and gzipped for gzip-only clients."""

import gzip

import pytest


@pytest.mark.parametrize("filename", ["app.css", "js/scan.js"])
def test_a_hashed_asset_is_immutable_and_gzipped(app, client, filename):
    with app.test_request_context():
        url = app.jinja_env.globals["asset_url"](filename)
    with open(f"{app.static_folder}/{filename}", "rb") as handle:
        original = handle.read()
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Cache-Control"] == "max-age=31536000, public, immutable"
    assert "no-cache" not in zipped.headers["Cache-Control"]
    assert (
        zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    )
    assert gzip.decompress(zipped.data) == original and len(zipped.data) < len(original)
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.data == original
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}
    )
    assert again.status_code == 304


def test_an_old_digest_is_cached_briefly_and_paths_stay_inside_static(client):
    stale = client.get("/a/000000000000/app.css")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/a/000000000000/../config.py").status_code == 404
    assert client.get("/a/000000000000/app.css.map").status_code == 404
