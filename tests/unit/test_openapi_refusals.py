"""docs/openapi.yaml lists every reason /api/v1/verify can refuse a code for: a client that
validates answers against the document must not meet a reason it does not name."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from gantong.checkpoint.labels import REFUSALS

pytestmark = pytest.mark.nodb

OPENAPI = pathlib.Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
# Refusals only the checkpoint's pages give: a photo, the no-code lane's document search and
# the page's own offline verifier; the API takes none of those inputs.
PAGE_ONLY = {
    "photo_unreadable",
    "photo_no_code",
    "no_code",
    "no_match",
    "bundle_stale",
    "needs_server",
}


def test_every_refusal_the_api_can_give_is_in_the_document():
    schema = yaml.safe_load(OPENAPI.read_text())["components"]["schemas"]["Refused"]
    documented = set(schema["properties"]["reason"]["enum"])
    assert set(REFUSALS) - PAGE_ONLY <= documented, set(REFUSALS) - PAGE_ONLY - documented
    assert documented <= set(REFUSALS), documented - set(REFUSALS)
