"""No date a form accepts makes a quarantine end before it began, or start before the person
registered or before the rules' look-back; a date outside its window is refused next to its field,
never moved into the window.

Each example posts a date to the real form (its validators, in a request of the app) and, when the
form takes it, feeds what the form hands on to the pure colour rules. The windows are those of
gantong.core.date_windows, which the forms use: nothing here restates them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gantong.core import date_windows, rules
from gantong.entry.forms import ArrivalForm
from gantong.models import today as shanghai_today
from gantong.models import utcnow
from gantong.resident.forms import ApplicationForm, DeclarationForm
from gantong.review.forms import OfficialRecordForm

pytestmark = pytest.mark.nodb

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Days from today: mostly near (where the windows' edges are), sometimes decades away.
OFFSETS = st.one_of(st.integers(-30, 30), st.integers(-40_000, 25_000))


def day_from(today: date, offset: int) -> date:
    return min(max(today + timedelta(days=offset), date(1900, 1, 1)), date(2099, 12, 31))


def posted(app, form_class, data: dict, *args, **kwargs):
    """The form as a POST of `data` builds it; validated."""
    with app.test_request_context(method="POST", data=data):
        form = form_class(*args, **kwargs)
        return form, form.validate()


def assert_refused_at(form, field_name: str, typed: date) -> None:
    field = form[field_name]
    assert field.errors, f"{field_name}={typed} was taken"
    assert field._value() == typed.isoformat(), "the form keeps what was typed"


def assert_sane(hit: rules.Hit, today: date) -> None:
    if hit.until is not None:
        assert hit.until > hit.since, f"{hit.key} ends before it began"


@SETTINGS
@given(contact=OFFSETS, entry=OFFSETS, port=st.booleans())
def test_a_declaration(app, contact, entry, port):
    today = shanghai_today()
    contact_day, entry_day = day_from(today, contact), day_from(today, entry)
    data = {
        "acknowledge": "y",
        "close_contact": "y",
        "contact_date": contact_day.isoformat(),
        "entry_date": entry_day.isoformat(),
        "entry_port": "Changbei" if port else "",
    }
    form, valid = posted(app, DeclarationForm, data)
    window = date_windows.recent(today)
    for name, typed in (("contact_date", contact_day), ("entry_date", entry_day)):
        if typed not in window:
            assert_refused_at(form, name, typed)
        else:
            assert not form[name].errors
    if not port:
        assert not valid and form.entry_port.errors  # an entry date needs its port
    if not valid:
        return
    details = form.details()
    now = utcnow()
    facts = rules.Facts(
        declarations=(
            rules.Declaration(
                id=1,
                made_at=now,
                symptoms=frozenset(details.symptoms),
                close_contact=details.close_contact,
                contact_date=details.contact_date,
                entry_date=details.entry_date,
                entry_port=details.entry_port,
            ),
        )
    )
    hits = {hit.rule: hit for hit in rules.evaluate(facts, [], now).hits}
    # The typed days, not moved: the contact starts on its day, the entry counts from its own.
    assert hits["close_contact"].since == contact_day
    if "overseas_entry" in hits:
        assert hits["overseas_entry"].since == entry_day
    for hit in hits.values():
        assert_sane(hit, today)
        assert hit.since >= today - timedelta(days=rules.QUARANTINE_DAYS)
        assert hit.since <= today


@SETTINGS
@given(port=st.just("Changbei"))
def test_an_entry_port_without_a_date_is_refused_not_counted_from_today(app, port):
    form, valid = posted(app, DeclarationForm, {"acknowledge": "y", "entry_port": port})
    assert not valid and form.entry_date.errors


@SETTINGS
@given(registered=st.integers(-60, 0), ahead=st.integers(0, 90), arrived=OFFSETS)
def test_an_officers_arrival(app, registered, ahead, arrived):
    today = shanghai_today()
    registered_on = today + timedelta(days=registered)
    planned = registered_on + timedelta(days=ahead)  # the registration form's own window
    arrival_day = day_from(today, arrived)
    form, valid = posted(
        app,
        ArrivalForm,
        {"arrived_on": arrival_day.isoformat()},
        planned=planned,
        registered_on=registered_on,
    )
    if arrival_day not in date_windows.arrival(planned, registered_on, today):
        assert not valid
        assert_refused_at(form, "arrived_on", arrival_day)
        return
    assert valid, form.errors
    registration = rules.Declaration(
        id=1,
        made_at=rules.day_start(registered_on),
        symptoms=frozenset(),
        close_contact=False,
        contact_date=None,
        entry_date=planned,
        entry_port="Changbei",
    )
    declarations, arrival = rules.with_actual_arrival(
        (registration,), None, planned, form.arrived_on.data
    )
    facts = rules.Facts(declarations=declarations, arrival_date=arrival, arrival_source="officer")
    now = datetime.combine(today, datetime.min.time(), rules.SHANGHAI) + timedelta(hours=12)
    for hit in rules.evaluate(facts, [], now).hits:
        assert hit.since == arrival_day, "the quarantine counts from the day typed"
        assert hit.since >= registered_on, "a quarantine that starts before the registration"
        assert_sane(hit, today)


@SETTINGS
@given(contact=OFFSETS)
def test_an_officers_close_contact_record(app, contact):
    today = shanghai_today()
    contact_day = day_from(today, contact)
    form, valid = posted(
        app,
        OfficialRecordForm,
        {
            "status": "close_contact",
            "contact_date": contact_day.isoformat(),
            "basis": "东卫〔2020〕3号",
        },
    )
    if contact_day not in date_windows.recent(today):
        assert not valid
        assert_refused_at(form, "contact_date", contact_day)
        return
    assert valid, form.errors
    now = utcnow()
    record = rules.OfficialRecord(
        id=1, status="close_contact", at=now, contact_date=form.contact_date.data
    )
    [hit] = rules.evaluate(rules.Facts(official_records=(record,)), [], now).hits
    assert hit.since == contact_day and hit.since >= today - timedelta(days=rules.QUARANTINE_DAYS)
    assert_sane(hit, today)


@SETTINGS
@given(
    reasons=st.lists(st.integers(-30, 0), min_size=1, max_size=3),
    test=OFFSETS,
    isolation=OFFSETS,
)
def test_a_transcoding_applications_evidence(app, reasons, test, isolation):
    today = shanghai_today()
    hits_since = {f"symptoms:decl:{n}": today + timedelta(days=d) for n, d in enumerate(reasons)}
    test_day, isolation_day = day_from(today, test), day_from(today, isolation)
    data = {
        "hits": list(hits_since),
        "grounds": "negative_test",
        "test_date": test_day.isoformat(),
        "institution": "南昌大学一附院",
        "report_number": "NAT-0211",
        "isolation_end": isolation_day.isoformat(),
    }
    form, valid = posted(app, ApplicationForm, data, hits_since)
    since = list(hits_since.values())
    if test_day not in date_windows.negative_test(since, today):
        assert_refused_at(form, "test_date", test_day)
    else:
        assert not form.test_date.errors
        # A test taken before a reason began, or longer ago than it counts, is never taken.
        assert test_day >= max(since)
        assert test_day >= today - timedelta(days=date_windows.NEGATIVE_TEST_VALID_DAYS)
    if isolation_day not in date_windows.isolation_end(since, today):
        assert_refused_at(form, "isolation_end", isolation_day)
    else:
        assert max(since) <= isolation_day <= today
    assert valid == (not form.test_date.errors and not form.isolation_end.errors)
