"""Partners' verifier pages on other sites fetch our keys and bundle: CORS for GET, no credentials."""

from __future__ import annotations

import pytest

PUBLIC = ["/.well-known/jwks.json", "/.well-known/gantong-verifier.json", "/audit/head.json"]
PARTNER = "https://verifier.partner.example"


@pytest.mark.parametrize("path", PUBLIC)
def test_a_page_on_another_site_may_read_the_public_documents(client, path):
    response = client.get(path, headers={"Origin": PARTNER})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    # No credentials: a wildcard origin never comes with cookies, and none are asked for.
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "ETag" in response.headers.get("Access-Control-Expose-Headers", "") or path.endswith(
        "jwks.json"
    )


def test_the_bundle_preflight_allows_a_conditional_get_and_nothing_else(client):
    response = client.options(
        "/.well-known/gantong-verifier.json",
        headers={
            "Origin": PARTNER,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert set(response.headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
    }
    assert "if-none-match" in response.headers["Access-Control-Allow-Headers"].lower()


def test_pages_with_a_session_send_no_cors_header(client):
    response = client.get("/login", headers={"Origin": PARTNER})
    assert "Access-Control-Allow-Origin" not in response.headers
