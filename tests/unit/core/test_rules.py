"""Unit tests for the colour rules (no Flask, no database)."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gantong.core.rules import (
    COLOUR_ORDER,
    GREEN,
    OFFICIAL_STATUSES,
    RED,
    SHANGHAI,
    SYMPTOMS,
    YELLOW,
    CheckpointFever,
    Declaration,
    Facts,
    OfficialRecord,
    RiskArea,
    Stay,
    ends_after,
    evaluate,
    local_date,
    worst_colour,
)

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """Return a Shanghai time on `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


TODAY = date(2026, 2, 1)
NOW = at(TODAY)
CONTACT = date(2026, 1, 1)
HUBEI = RiskArea(code="42", name="湖北省")

BLANK = Declaration(
    id=1,
    made_at=at(TODAY - timedelta(days=1)),
    symptoms=frozenset(),
    close_contact=False,
    contact_date=None,
)


def declare(**changes) -> Declaration:
    """Return a clean declaration with the given fields changed."""
    if "symptoms" in changes:
        changes["symptoms"] = frozenset(changes["symptoms"])
    return replace(BLANK, **changes)


def record(status: str, record_id: int, when: datetime, **fields) -> OfficialRecord:
    """Return an approved official record."""
    return OfficialRecord(
        id=record_id,
        status=status,
        at=when,
        basis="赣卫发12号",
        department="南昌市疾控中心",
        **fields,
    )


def fever(temperature: float = 38.1, **changes) -> CheckpointFever:
    """Return a checkpoint temperature record."""
    taken = CheckpointFever(id=3, at=NOW, point="东湖站", temperature=temperature)
    return replace(taken, **changes)


def keys(result) -> list[str]:
    """Return the keys of a result's hits, in order."""
    return [hit.key for hit in result.hits]


# Basics


def test_no_facts_is_green():
    result = evaluate(Facts(), [], NOW)
    assert result.colour == GREEN
    assert result.hits == ()
    assert result.turns_green_on() is None


def test_clean_declaration_is_green():
    assert evaluate(Facts(declarations=(declare(),)), [HUBEI], NOW).colour == GREEN


def test_ends_after_counts_whole_days():
    assert ends_after(date(2026, 1, 1)) == date(2026, 1, 15)
    assert ends_after(date(2026, 1, 1), 21) == date(2026, 1, 22)


def test_worst_colour():
    assert worst_colour([]) == GREEN
    assert worst_colour([YELLOW, GREEN]) == YELLOW
    assert worst_colour([YELLOW, RED, GREEN]) == RED


# Time zones


def test_utc_evening_is_already_the_next_day_in_shanghai():
    assert local_date(datetime(2026, 1, 14, 16, 30, tzinfo=UTC)) == date(2026, 1, 15)
    assert local_date(datetime(2026, 1, 14, 15, 59, tzinfo=UTC)) == date(2026, 1, 14)


def test_evaluate_uses_the_shanghai_date():
    facts = Facts(declarations=(declare(entry_date=date(2026, 1, 1)),))
    # Until 2026-01-15 Shanghai: the UTC date (the 14th) would still say yellow.
    assert evaluate(facts, [], datetime(2026, 1, 14, 16, 30, tzinfo=UTC)).colour == GREEN
    assert evaluate(facts, [], datetime(2026, 1, 14, 15, 59, tzinfo=UTC)).colour == YELLOW


def test_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2026, 1, 14, 16, 30))
    with pytest.raises(ValueError, match="aware"):
        evaluate(Facts(), [], datetime(2026, 1, 14, 16, 30))


# Official cases


@pytest.mark.parametrize("status", ["confirmed", "suspected"])
def test_official_case_is_red(status):
    result = evaluate(Facts(official_records=(record(status, 7, NOW),)), [], NOW)
    assert result.colour == RED
    (hit,) = result.hits
    assert hit.key == "case:official:7"
    assert hit.rule == "case"
    assert hit.source == "official"
    assert hit.params == {
        "status": status,
        "basis": "赣卫发12号",
        "department": "南昌市疾控中心",
    }
    assert hit.since == TODAY
    assert hit.until is None
    assert hit.needs_transcoding is False
    assert result.turns_green_on() is None


def test_official_cleared_after_confirmed_is_green():
    records = (
        record("confirmed", 7, NOW - timedelta(days=20)),
        record("cleared", 8, NOW - timedelta(days=1)),
    )
    assert evaluate(Facts(official_records=records), [], NOW).colour == GREEN


def test_confirmed_after_cleared_is_red():
    records = (
        record("cleared", 8, NOW - timedelta(days=20)),
        record("confirmed", 7, NOW - timedelta(days=1)),
    )
    result = evaluate(Facts(official_records=records), [], NOW)
    assert result.colour == RED
    assert keys(result) == ["case:official:7"]


def test_case_is_not_ended_by_a_cleared_key():
    facts = Facts(
        official_records=(record("confirmed", 7, NOW),),
        cleared=frozenset({"case:official:7"}),
    )
    assert evaluate(facts, [], NOW).colour == RED


# Close contacts


def test_declared_close_contact_is_red():
    facts = Facts(declarations=(declare(close_contact=True, contact_date=CONTACT),))
    result = evaluate(facts, [], at(CONTACT))
    assert result.colour == RED
    (hit,) = result.hits
    assert hit.key == "close_contact:decl:1"
    assert hit.source == "declaration"
    assert hit.params == {"contact_date": CONTACT}
    assert hit.since == CONTACT
    assert hit.until == date(2026, 1, 15)
    assert hit.needs_transcoding is True
    assert result.turns_green_on() is None


@pytest.mark.parametrize(
    ("now", "cleared", "colour"),
    [
        (at(CONTACT + timedelta(days=3)), True, RED),
        (at(CONTACT + timedelta(days=13), 23, 59), True, RED),
        (at(CONTACT + timedelta(days=14), 0, 0), True, GREEN),
        (at(CONTACT + timedelta(days=14), 0, 0), False, RED),
        (at(CONTACT + timedelta(days=60)), False, RED),
    ],
    ids=[
        "cleared-early",
        "day13-cleared",
        "day14-cleared",
        "day14-not-cleared",
        "late",
    ],
)
def test_close_contact_needs_both_time_and_transcoding(now, cleared, colour):
    facts = Facts(
        declarations=(declare(close_contact=True, contact_date=CONTACT),),
        cleared=frozenset({"close_contact:decl:1"} if cleared else ()),
    )
    assert evaluate(facts, [], now).colour == colour


def test_close_contact_without_date_counts_from_the_declaration_day():
    made_at = datetime(2026, 1, 1, 17, 0, tzinfo=UTC)  # 2026-01-02 in Shanghai
    facts = Facts(declarations=(declare(close_contact=True, made_at=made_at),))
    (hit,) = evaluate(facts, [], NOW).hits
    assert hit.since == date(2026, 1, 2)
    assert hit.until == date(2026, 1, 16)


def test_contact_date_without_close_contact_gives_nothing():
    facts = Facts(declarations=(declare(close_contact=False, contact_date=CONTACT),))
    assert evaluate(facts, [], at(CONTACT)).colour == GREEN


def test_official_close_contact_is_red_until_time_and_transcoding():
    contact = record("close_contact", 5, at(CONTACT), contact_date=CONTACT)
    facts = Facts(official_records=(contact,))
    result = evaluate(facts, [], at(CONTACT + timedelta(days=20)))
    assert result.colour == RED
    (hit,) = result.hits
    assert hit.key == "close_contact:official:5"
    assert hit.source == "official"
    assert hit.params["basis"] == "赣卫发12号"
    assert hit.until == date(2026, 1, 15)
    cleared = replace(facts, cleared=frozenset({"close_contact:official:5"}))
    day13 = at(CONTACT + timedelta(days=13), 23, 59)
    assert evaluate(cleared, [], day13).colour == RED
    assert evaluate(cleared, [], at(CONTACT + timedelta(days=14), 0, 0)).colour == GREEN


def test_official_cleared_ends_an_official_close_contact():
    records = (
        record("close_contact", 5, at(CONTACT), contact_date=CONTACT),
        record("cleared", 6, at(CONTACT + timedelta(days=2))),
    )
    result = evaluate(Facts(official_records=records), [], at(CONTACT + timedelta(days=3)))
    assert result.colour == GREEN


# Symptoms


def test_symptoms_are_yellow_until_cleared():
    facts = Facts(declarations=(declare(symptoms={"dry_cough", "fever"}),))
    result = evaluate(facts, [], NOW)
    assert result.colour == YELLOW
    (hit,) = result.hits
    assert hit.key == "symptoms:decl:1"
    assert hit.params == {"symptoms": ["fever", "dry_cough"]}
    assert hit.since == TODAY - timedelta(days=1)
    assert hit.until is None
    assert hit.needs_transcoding is True
    assert result.turns_green_on() is None


def test_clean_declaration_after_symptoms_stays_yellow():
    facts = Facts(
        declarations=(
            declare(id=1, symptoms={"fever"}, made_at=NOW - timedelta(days=2)),
            declare(id=2, made_at=NOW - timedelta(hours=1)),
        )
    )
    result = evaluate(facts, [], NOW)
    assert result.colour == YELLOW
    assert keys(result) == ["symptoms:decl:1"]


def test_clearing_the_key_ends_the_symptom_hit():
    facts = Facts(
        declarations=(declare(symptoms={"fever"}),),
        cleared=frozenset({"symptoms:decl:1"}),
    )
    assert evaluate(facts, [], NOW).colour == GREEN


def test_clearing_one_declaration_leaves_another():
    facts = Facts(
        declarations=(
            declare(id=1, symptoms={"fever"}),
            declare(id=2, symptoms={"fatigue"}),
        ),
        cleared=frozenset({"symptoms:decl:1"}),
    )
    assert keys(evaluate(facts, [], NOW)) == ["symptoms:decl:2"]


# Checkpoint fevers


@pytest.mark.parametrize(
    ("temperature", "colour"),
    [(36.5, GREEN), (37.2, GREEN), (37.3, YELLOW), (38.1, YELLOW)],
)
def test_fever_threshold(temperature, colour):
    facts = Facts(fevers=(fever(temperature),))
    assert evaluate(facts, [], NOW).colour == colour


def test_checkpoint_fever_hit():
    (hit,) = evaluate(Facts(fevers=(fever(38.1),)), [], NOW).hits
    assert hit.key == "checkpoint_fever:fever:3"
    assert hit.rule == "checkpoint_fever"
    assert hit.source == "checkpoint"
    assert hit.params == {"point": "东湖站", "temperature": 38.1}
    assert hit.until is None
    assert hit.needs_transcoding is True


def test_voided_fever_gives_nothing():
    assert evaluate(Facts(fevers=(fever(voided=True),)), [], NOW).colour == GREEN


def test_cleared_fever_gives_nothing():
    facts = Facts(fevers=(fever(),), cleared=frozenset({"checkpoint_fever:fever:3"}))
    assert evaluate(facts, [], NOW).colour == GREEN


# Risk areas


LEFT = date(2026, 1, 10)


def stayed(place: str, start: date = date(2026, 1, 5), end: date = LEFT) -> Facts:
    """Return facts with one declared stay."""
    return Facts(declarations=(declare(stays=(Stay(place, start, end),)),))


def test_province_area_matches_a_county_stay():
    result = evaluate(stayed("420102"), [HUBEI], at(LEFT))
    assert result.colour == YELLOW
    (hit,) = result.hits
    assert hit.key == "risk_area:decl:1:420102"
    assert hit.rule == "risk_area"
    assert hit.params["place"] == "420102"
    assert hit.params["area"] == "湖北省"
    assert hit.since == date(2026, 1, 5)
    assert hit.until == date(2026, 1, 24)
    assert hit.needs_transcoding is False


def test_province_stay_matches_a_city_area():
    wuhan = RiskArea(code="4201", name="武汉市")
    assert evaluate(stayed("42"), [wuhan], at(LEFT)).colour == YELLOW


@pytest.mark.parametrize(("place", "area"), [("36", "4201"), ("420102", "4202")])
def test_other_places_do_not_match(place, area):
    risk = RiskArea(code=area, name="某地")
    assert evaluate(stayed(place), [risk], at(LEFT)).colour == GREEN


@pytest.mark.parametrize(
    ("now", "colour"),
    [
        (at(LEFT + timedelta(days=13), 23, 59), YELLOW),
        (at(LEFT + timedelta(days=14), 0, 0), GREEN),
    ],
    ids=["day13", "day14"],
)
def test_risk_area_ends_14_days_after_leaving(now, colour):
    assert evaluate(stayed("420102"), [HUBEI], now).colour == colour


def test_risk_area_days_are_the_areas_own():
    area = RiskArea(code="42", name="湖北省", days=21)
    day20 = at(LEFT + timedelta(days=20), 23, 59)
    (hit,) = evaluate(stayed("420102"), [area], day20).hits
    assert hit.until == LEFT + timedelta(days=21)


@pytest.mark.parametrize(
    ("active_from", "active_to", "colour"),
    [
        (date(2026, 1, 11), None, GREEN),
        (None, date(2026, 1, 4), GREEN),
        (date(2026, 1, 11), date(2026, 1, 31), GREEN),
        (date(2026, 1, 10), None, YELLOW),
        (None, date(2026, 1, 5), YELLOW),
        (date(2026, 1, 1), date(2026, 1, 31), YELLOW),
    ],
    ids=["after", "before", "later-window", "last-day", "first-day", "around"],
)
def test_risk_area_counts_only_inside_its_window(active_from, active_to, colour):
    area = RiskArea(code="42", name="湖北省", active_from=active_from, active_to=active_to)
    assert evaluate(stayed("420102"), [area], at(LEFT)).colour == colour


def test_one_stay_in_several_areas_keeps_the_latest_end():
    areas = [
        RiskArea(code="42", name="湖北省"),
        RiskArea(code="4201", name="武汉市", days=21),
        RiskArea(code="420102", name="江岸区", days=7),
    ]
    result = evaluate(stayed("420102"), areas, at(LEFT))
    (hit,) = result.hits
    assert hit.params["area"] == "武汉市"
    assert hit.until == LEFT + timedelta(days=21)


def test_cleared_risk_area_gives_nothing():
    facts = replace(stayed("420102"), cleared=frozenset({"risk_area:decl:1:420102"}))
    assert evaluate(facts, [HUBEI], at(LEFT)).colour == GREEN


def test_risk_areas_are_never_red():
    areas = [HUBEI, RiskArea(code="4201", name="武汉市", days=28)]
    result = evaluate(stayed("420102"), areas, at(LEFT))
    assert result.colour == YELLOW


# Overseas entry


ENTRY = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("now", "colour"),
    [
        (at(ENTRY + timedelta(days=13), 23, 59), YELLOW),
        (at(ENTRY + timedelta(days=14), 0, 0), GREEN),
    ],
    ids=["day13", "day14"],
)
def test_overseas_entry_ends_14_days_after_arrival(now, colour):
    facts = Facts(declarations=(declare(entry_date=ENTRY, entry_port="昌北机场"),))
    assert evaluate(facts, [], now).colour == colour


def test_overseas_entry_hit():
    facts = Facts(declarations=(declare(entry_date=ENTRY, entry_port="昌北机场"),))
    result = evaluate(facts, [], at(ENTRY))
    (hit,) = result.hits
    assert hit.key == "overseas_entry:decl:1"
    assert hit.params["port"] == "昌北机场"
    assert hit.since == ENTRY
    assert hit.until == date(2026, 1, 15)
    assert hit.needs_transcoding is False
    assert result.turns_green_on() == date(2026, 1, 15)


def test_actual_arrival_overrides_the_declared_date():
    facts = Facts(
        declarations=(declare(entry_date=ENTRY, entry_port="昌北机场"),),
        arrival_date=date(2026, 1, 10),
    )
    result = evaluate(facts, [], at(date(2026, 1, 20)))
    assert result.colour == YELLOW
    assert result.hits[0].until == date(2026, 1, 24)
    assert result.hits[0].params["arrival_confirmed"] is True


def test_planned_arrival_in_the_future_is_already_yellow():
    facts = Facts(declarations=(declare(entry_date=TODAY + timedelta(days=5)),))
    result = evaluate(facts, [], NOW)
    assert result.colour == YELLOW
    assert result.hits[0].since == TODAY + timedelta(days=5)


def test_cleared_overseas_entry_gives_nothing():
    facts = Facts(
        declarations=(declare(entry_date=ENTRY),),
        cleared=frozenset({"overseas_entry:decl:1"}),
    )
    assert evaluate(facts, [], at(ENTRY)).colour == GREEN


# The result


def test_hits_are_red_first_then_by_date():
    facts = Facts(
        declarations=(
            declare(
                id=1,
                symptoms={"fever"},
                made_at=at(date(2026, 1, 20)),
                entry_date=date(2026, 1, 25),
            ),
        ),
        official_records=(record("confirmed", 7, at(date(2026, 1, 30))),),
        fevers=(fever(at=at(date(2026, 1, 10))),),
    )
    assert keys(evaluate(facts, [], NOW)) == [
        "case:official:7",
        "checkpoint_fever:fever:3",
        "symptoms:decl:1",
        "overseas_entry:decl:1",
    ]


def test_turns_green_on_is_the_latest_end_of_time_bound_hits():
    facts = Facts(
        declarations=(
            declare(
                entry_date=date(2026, 1, 25),
                stays=(Stay("420102", date(2026, 1, 20), date(2026, 1, 28)),),
            ),
        )
    )
    result = evaluate(facts, [HUBEI], NOW)
    assert result.colour == YELLOW
    assert result.turns_green_on() == date(2026, 2, 11)


def test_turns_green_on_is_none_when_a_hit_needs_action():
    facts = Facts(declarations=(declare(entry_date=date(2026, 1, 25), symptoms={"fatigue"}),))
    assert evaluate(facts, [], NOW).turns_green_on() is None


# Properties


DAYS = st.dates(date(2025, 12, 1), date(2026, 2, 28))
MOMENTS = st.datetimes(
    datetime(2025, 12, 1),
    datetime(2026, 2, 28),
    timezones=st.sampled_from([SHANGHAI, UTC]),
)
PLACES = st.sampled_from(["11", "36", "3601", "360102", "42", "4201", "420102", "4202"])


@st.composite
def stays(draw) -> Stay:
    """Draw a stay of up to ten days."""
    start = draw(DAYS)
    return Stay(draw(PLACES), start, start + timedelta(days=draw(st.integers(0, 10))))


def declarations(decl_id: int):
    """Return a strategy for a declaration with the given id."""
    return st.builds(
        Declaration,
        id=st.just(decl_id),
        made_at=MOMENTS,
        symptoms=st.frozensets(st.sampled_from(SYMPTOMS), max_size=3),
        close_contact=st.booleans(),
        contact_date=st.none() | DAYS,
        stays=st.lists(stays(), max_size=3).map(tuple),
        entry_date=st.none() | DAYS,
        entry_port=st.none() | st.just("昌北机场"),
    )


@st.composite
def holder_facts(draw, first_id: int = 1, statuses=OFFICIAL_STATUSES) -> Facts:
    """Draw facts whose ids start at `first_id`, so two draws never share a key."""
    count = draw(st.integers(0, 3))
    drawn_declarations = tuple(draw(declarations(first_id + index)) for index in range(count))
    drawn_fevers = tuple(
        CheckpointFever(
            id=first_id + index,
            at=draw(MOMENTS),
            point="东湖站",
            temperature=draw(st.sampled_from([36.5, 37.2, 37.3, 38.5])),
            voided=draw(st.booleans()),
        )
        for index in range(draw(st.integers(0, 2)))
    )
    drawn_records = tuple(
        OfficialRecord(
            id=first_id + index,
            status=draw(st.sampled_from(statuses)),
            at=draw(MOMENTS),
            contact_date=draw(st.none() | DAYS),
        )
        for index in range(draw(st.integers(0, 3)))
    )
    return Facts(
        declarations=drawn_declarations,
        fevers=drawn_fevers,
        official_records=drawn_records,
    )


RISK_AREAS = st.lists(
    st.builds(
        RiskArea,
        code=PLACES,
        name=st.just("某地"),
        days=st.integers(1, 28),
        active_from=st.none() | DAYS,
        active_to=st.none() | DAYS,
    ),
    max_size=4,
)

# A later official "cleared" record is the one fact meant to improve a colour.
WORSENING_STATUSES = tuple(s for s in OFFICIAL_STATUSES if s != "cleared")


@settings(deadline=None)
@given(
    base=holder_facts(),
    extra=holder_facts(first_id=1000, statuses=WORSENING_STATUSES),
    areas=RISK_AREAS,
    arrival=st.none() | DAYS,
    now=MOMENTS,
)
def test_adding_facts_never_improves_the_colour(base, extra, areas, arrival, now):
    base = replace(base, arrival_date=arrival)
    combined = replace(
        base,
        declarations=base.declarations + extra.declarations,
        fevers=base.fevers + extra.fevers,
        official_records=base.official_records + extra.official_records,
    )
    before = evaluate(base, areas, now)
    after = evaluate(combined, areas, now)
    assert COLOUR_ORDER[after.colour] >= COLOUR_ORDER[before.colour]
    assert set(keys(before)) <= set(keys(after))


@settings(deadline=None)
@given(facts=holder_facts(), areas=RISK_AREAS, now=MOMENTS)
def test_colour_is_the_worst_hit(facts, areas, now):
    result = evaluate(facts, areas, now)
    assert result.colour == worst_colour(hit.colour for hit in result.hits)
    assert len(set(keys(result))) == len(result.hits)
    order = [(-COLOUR_ORDER[hit.colour], hit.since) for hit in result.hits]
    assert order == sorted(order)
    assert all(hit.colour == YELLOW for hit in result.hits if hit.rule == "risk_area")


@settings(deadline=None)
@given(facts=holder_facts(), areas=RISK_AREAS, now=MOMENTS, data=st.data())
def test_clearing_keys_never_worsens_the_colour(facts, areas, now, data):
    before = evaluate(facts, areas, now)
    cleared = data.draw(st.frozensets(st.sampled_from(keys(before) or ["none"])))
    after = evaluate(replace(facts, cleared=cleared), areas, now)
    assert COLOUR_ORDER[after.colour] <= COLOUR_ORDER[before.colour]
    assert set(keys(after)) <= set(keys(before))


def test_a_retracted_close_contact_ends_at_once():
    """An accepted claim found the contact never happened: red ends now, not after 14 days."""
    now = datetime(2026, 3, 5, 12, tzinfo=SHANGHAI)
    declaration = Declaration(
        id=1, made_at=now, symptoms=frozenset(), close_contact=True, contact_date=date(2026, 3, 4)
    )
    facts = Facts(declarations=(declaration,))
    assert evaluate(facts, [], now).colour == RED
    cleared_only = Facts(declarations=(declaration,), cleared=frozenset({"close_contact:decl:1"}))
    assert evaluate(cleared_only, [], now).colour == RED
    retracted = Facts(
        declarations=(declaration,),
        cleared=frozenset({"close_contact:decl:1"}),
        retracted=frozenset({"close_contact:decl:1"}),
    )
    assert evaluate(retracted, [], now).colour == GREEN
