"""An emergency rotation wins at once over a planned one, and a leaked key can be retired at once.

The clock is the functions' own `now` (every key function takes one), moved a day forward as an
outside review did with libfaketime.
"""

from __future__ import annotations

from datetime import timedelta

from gantong.codes import keys
from gantong.extensions import db
from gantong.models import AuditEvent, SigningKey, utcnow


def listed_states(app) -> dict[str, str]:
    """What `flask gantong keys list` prints, kid to state."""
    result = app.test_cli_runner().invoke(args=["gantong", "keys", "list"])
    assert result.exit_code == 0, result.output
    return {line.split()[0]: line.split()[1] for line in result.output.splitlines()}


def test_an_emergency_rotation_after_a_planned_one_keeps_signing_and_the_leaked_key_retires(app):
    start = utcnow()
    with app.app_context():
        keys.signing_key(start)
        planned = keys.prepare_next(now=start).kid
    day_later = start + timedelta(hours=25)
    with app.app_context():
        assert keys.signing_key(day_later)[0] == planned
    with app.app_context():
        emergency = keys.rotate(now=day_later).kid
    with app.app_context():
        # The next code page, the bundle and `keys list` all name the emergency key.
        assert keys.signing_key(day_later + timedelta(seconds=1))[0] == emergency
        assert keys.signing_key(day_later + timedelta(days=3))[0] == emergency
    assert listed_states(app)[emergency] == "signing"
    assert listed_states(app)[planned] == "verifying"
    with app.app_context():
        keys.retire(planned, force=True, now=day_later)
        assert db.session.get(SigningKey, planned).retired_at is not None
        assert keys.signing_key(day_later + timedelta(seconds=2))[0] == emergency
    assert listed_states(app)[planned] == "retired"


def test_an_emergency_rotation_before_the_planned_start_cancels_the_planned_key(app):
    start = utcnow()
    with app.app_context():
        keys.signing_key(start)
        planned = keys.prepare_next(now=start)
        planned_kid, takes_over = planned.kid, planned.signs_from
    with app.app_context():
        rotation = keys.rotate(now=start + timedelta(minutes=5))
        emergency = rotation.kid
        assert rotation.cancelled == [planned_kid]
    with app.app_context():
        # When the planned moment comes, the emergency key still signs.
        assert keys.signing_key(takes_over + timedelta(seconds=1))[0] == emergency
        assert keys.next_key() is None
        # The cancelled key signed nothing: it is retired, so a leaked database cannot use it.
        assert db.session.get(SigningKey, planned_kid).retired_at is not None
        event = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "key.rotate")
        ).all()[-1]
        assert planned_kid in event.after
    assert listed_states(app)[planned_kid] == "retired"


def test_the_cli_rotation_says_what_it_did_to_the_prepared_key(app):
    with app.app_context():
        keys.signing_key()
        planned = keys.prepare_next().kid
    result = app.test_cli_runner().invoke(args=["gantong", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert f"prepared key {planned} cancelled" in result.output
