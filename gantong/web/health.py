"""What a load balancer asks each host: can this host serve a request right now?"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gantong.extensions import db


def database_answers() -> bool:
    """Run the cheapest statement there is on a pooled connection: one round trip, no transaction."""
    try:
        return db.session.execute(text("SELECT 1")).scalar() == 1
    except SQLAlchemyError:
        # A dead connection must not stay in the session: the next check starts clean.
        db.session.rollback()
        return False
