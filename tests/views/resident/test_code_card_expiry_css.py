"""The code card's inline CSS greys the QR out when the token or the number expires: one rule a
5-second step, and none past the longest a card can live (the number's slot bounds a long TTL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gantong.holders import registry
from gantong.models import utcnow
from gantong.web.assets import EXPIRY_STEP
from tests.conftest import PASSWORD


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TOKEN_TTL": 3600}


def expiry_rules(css: str) -> dict[int, int]:
    """The card's classes e<seconds> and the animation delay each sets."""
    return {
        int(seconds): int(delay)
        for seconds, delay in re.findall(r"\.e(\d+) \.qr-svg[^{]*\{animation-delay:(\d+)s\}", css)
    }


def test_a_long_token_ttl_adds_no_rules_past_the_numbers_slot(app, client, make_user, make_holder):
    longest = registry.NUMBER_STEP + registry.NUMBER_GRACE
    rules = expiry_rules(app.config["INLINE_CSS"])
    # Every step a card can carry, each greying out after its own seconds, and nothing beyond:
    # an hour's TTL made 720 rules (59 KB of CSS on every page) where 133 can ever apply.
    assert rules == {seconds: seconds for seconds in range(0, longest + 1, EXPIRY_STEP)}
    assert len(app.config["INLINE_CSS"]) < 20_000

    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    before = utcnow()
    html = client.get(f"/me/people/{holder_id}").get_data(as_text=True)
    after = utcnow()
    shown = int(re.search(r'id="code-card" class="card \w+ e(\d+)"', html).group(1))
    # The card greys out when its number stops being accepted (the token lives an hour), to
    # the step, and the CSS on the page has the rule for it.
    assert shown in rules and rules[shown] == shown
    ends = registry.number_valid_until(after)
    assert (ends - after - timedelta(seconds=EXPIRY_STEP)).total_seconds() <= shown
    assert shown <= (registry.number_valid_until(before) - before).total_seconds()
    assert f"<style>{app.config['INLINE_CSS']}</style>" in html
