"""Fixtures for the review services' unit tests: officers, and one app context for a test body.

Make the accounts and holders first (the factories use their own app context and commit),
then open `ctx` or `with app.app_context():` to call the services: on SQLite every
transaction begins IMMEDIATE, so an open one would block a factory's write.
"""

from __future__ import annotations

import pytest

DEPARTMENT = "东湖区疾控中心"


@pytest.fixture
def officer(make_user):
    """Make an account (an officer of 360102 unless told otherwise) and return its id."""
    badges = iter(range(301, 400))

    def make(district="360102", role="officer", department=DEPARTMENT):
        user_id, _ = make_user(
            role=role,
            district_code=district,
            badge_number=f"DH-{next(badges):04d}",
            department=department,
        )
        return user_id

    return make
