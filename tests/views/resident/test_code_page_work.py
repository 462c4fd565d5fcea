"""The least work on the code page, the busiest page, counted in queries, not timed."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from gantong.core import tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import DynamicNumber, Holder, utcnow
from tests.conftest import PASSWORD


@contextmanager
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def reads(seen):
    return [s for s in seen if s.startswith("SELECT")]


def test_the_colour_facts_are_one_query_however_many_declarations(
    app, client, make_user, make_holder, today
):
    user_id, phone = make_user()
    holder_id = make_holder(
        user_id, stays=[("4201", today - timedelta(days=6), today - timedelta(days=3))]
    )
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    client.get(f"/me/people/{holder_id}")
    with statements(app) as few:
        assert client.get(f"/me/people/{holder_id}").status_code == 200
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        for day in range(8):
            registry.declare(
                holder,
                registry.DeclarationFacts(
                    [],
                    False,
                    None,
                    stays=[
                        ("4202", today - timedelta(days=day + 2), today - timedelta(days=day + 1))
                    ],
                ),
                author=None,
            )
    with statements(app) as many:
        assert client.get(f"/me/people/{holder_id}").status_code == 200
    # Nine declarations with a stay each cost no query more than one did (no query per declaration).
    assert len(reads(many)) == len(reads(few)), reads(many)
    assert sum("UNION ALL" in s for s in reads(few)) == 1
    # At most three statements a page, on both databases: the account with its people; the
    # facts with the changes, notifications, applications, claims, hotline and keys; the number.
    assert len(reads(few)) <= 3 and len(reads(many)) <= 3, reads(many)
    assert not any(
        s.startswith("SELECT stay.") or s.startswith("SELECT declaration.") for s in reads(few)
    )


def test_a_page_that_writes_its_number_reads_nothing_again_after_the_commit(
    app, client, make_user, make_holder
):
    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    client.get(f"/me/people/{holder_id}")
    with statements(app) as quiet:
        client.get(f"/me/people/{holder_id}")
    with app.app_context():
        db.session.execute(db.delete(DynamicNumber))
        db.session.commit()
    with statements(app) as writing:
        assert client.get(f"/me/people/{holder_id}").status_code == 200
    assert any(s.startswith("INSERT INTO dynamic_number") for s in writing)
    # Taking the write lock ends the read snapshot; only the number is checked again under it,
    # and nothing loaded before (the account, the people, the colour changes) is read again.
    assert len(reads(writing)) == len(reads(quiet)) + 1, "\n".join(s[:90] for s in writing)


def test_numbers_are_registered_ten_minutes_ahead_and_each_accepted_only_in_its_minutes(
    app, make_holder
):
    holder_id = make_holder()
    now = utcnow().replace(second=5, microsecond=0)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        registry.dynamic_number(holder, now)
        assert (
            db.session.scalar(db.select(db.func.count()).select_from(DynamicNumber))
            == registry.NUMBERS_AHEAD
        )
        later = now + timedelta(minutes=5)
        number_later = tokens.dynamic_number(
            holder.secret, int(later.timestamp()), step=registry.NUMBER_STEP
        )
        # Registered now, accepted only from its own minute.
        assert holder_id not in [h.id for h in registry.holders_by_number(number_later, now)]
        assert [h.id for h in registry.holders_by_number(number_later, later)] == [holder_id]
        # Nine minutes on, the page's number is registered already: nothing is written.
        with statements(app) as seen:
            registry.dynamic_number(holder, now + timedelta(minutes=9))
        assert not any(s.startswith(("INSERT", "DELETE")) for s in seen)
        # Past the last one registered, the next ten are registered; expired ones are removed.
        registry.dynamic_number(holder, now + timedelta(minutes=12))
        starts = sorted(db.session.scalars(db.select(DynamicNumber.valid_from)))
        assert starts == [
            (now + timedelta(minutes=12 + ahead)).replace(second=0)
            for ahead in range(registry.NUMBERS_AHEAD)
        ]
