"""The pure parts of venue codes: the code, a queued visit's time, and the risk-area hit a venue's risk window gives its visitors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gantong.core import rules, venue_codes

pytestmark = pytest.mark.nodb
NOW = datetime(2026, 12, 7, 4, tzinfo=UTC)  # noon in Shanghai


def test_codes_are_random_and_only_codes_are_looked_up():
    codes = {venue_codes.new_code() for _ in range(200)}
    assert len(codes) == 200 and all(venue_codes.looks_like_code(code) for code in codes)
    assert not venue_codes.looks_like_code("offline")
    assert not venue_codes.looks_like_code("0" * 16)  # no look-alikes in the alphabet


def test_a_queued_time_is_taken_only_within_its_bounds():
    assert venue_codes.queued_time(NOW - timedelta(hours=23), NOW, 24) == NOW - timedelta(hours=23)
    # A phone clock a minute fast is taken as now; an hour fast is refused.
    assert venue_codes.queued_time(NOW + timedelta(minutes=1), NOW, 24) == NOW
    for refused in (NOW + timedelta(hours=1), NOW - timedelta(hours=25), NOW.replace(tzinfo=None)):
        with pytest.raises(venue_codes.TimeRefused):
            venue_codes.queued_time(refused, NOW, 24)


def window(visited_at, days=14, start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1)):
    return rules.VenueExposure(7, "八一广场超市", visited_at, start, end, days)


def test_a_visit_inside_a_venue_risk_window_is_yellow_for_its_days():
    facts = rules.Facts(venue_exposures=(window(NOW), window(NOW - timedelta(minutes=30))))
    result = rules.evaluate(facts, [], NOW)
    [hit] = result.hits
    assert (result.colour, hit.key, hit.rule) == ("yellow", "risk_area:venue:7", "risk_area")
    assert hit.params["venue"] == "八一广场超市" and hit.record == rules.VENUE_VISIT
    assert hit.until == date(2026, 12, 21)
    assert rules.evaluate(facts, [], NOW + timedelta(days=14)).colour == "green"
    # Outside the window, or cleared: nothing.
    outside = rules.Facts(venue_exposures=(window(NOW + timedelta(hours=2)),))
    assert rules.evaluate(outside, [], NOW).colour == "green"
    cleared = rules.Facts(venue_exposures=(window(NOW),), cleared=frozenset({hit.key}))
    assert rules.evaluate(cleared, [], NOW).colour == "green"


def test_a_contact_filed_from_a_trace_names_the_venue_and_window():
    record = rules.OfficialRecord(
        1,
        "close_contact",
        NOW,
        date(2026, 12, 6),
        "赣疫通17号",
        "疾控",
        venue="八一广场超市",
        venue_from=NOW,
        venue_to=NOW,
    )
    [hit] = rules.evaluate(rules.Facts(official_records=(record,)), [], NOW).hits
    assert hit.colour == "red"
    assert (hit.params["venue"], hit.params["from"], hit.params["to"]) == ("八一广场超市", NOW, NOW)
