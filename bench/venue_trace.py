"""Time a venue trace when the venue holds a million check-ins, and show the plan that serves it.

    .venv/bin/python bench/venue_trace.py                               # SQLite, a temporary file
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/venue_trace.py

With DATABASE_URL the tables of that database are DROPPED and made again: give it a scratch one.
One venue gets --visits check-ins (default 1,000,000) from --people residents over 28 days
(one every 2.4 s, a station's hundreds a minute at its peak hours), next to a second venue with
as many (so the index has to pick the venue); then the officer's trace of a 2-hour window, of a
whole day (both list at most services.TRACE_LIMIT people, 2,000), of 30 minutes, and the plan of
its query (EXPLAIN), each timed in the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 28


def make_app(sqlite_path: str | None):
    from gantong import create_app

    config = {"TESTING": True, "SECRET_KEY": "bench", "PUBLIC_URL": "http://127.0.0.1"}
    if sqlite_path:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{sqlite_path}"
    return create_app(config)


def seed(app, visits: int, people: int) -> dict:
    from gantong.auth.accounts import register
    from gantong.extensions import db
    from gantong.models import Holder, VenueVisit
    from gantong.venues import services

    with app.app_context():
        db.drop_all()
        db.create_all()
        admin = register("+8613900000004", "bench password", role="admin")
        officer = register(
            "+8613900000003", "bench password", role="officer", district_code="360102"
        )
        venues = [
            services.add_venue(name, "二七北路 1 号", "360102", "transport", admin)
            for name in ("南昌站北广场", "南昌站南广场")
        ]
        started = time.perf_counter()
        db.session.execute(
            db.insert(Holder),
            [
                {
                    "code_id": f"c{n:015d}",
                    "secret": b"\0" * 32,
                    "name": f"旅客{n}",
                    "doc_type": "passport",
                    "doc_country": "GB",
                    "doc_number": f"P{n:08d}",
                    "doc_number_reversed": f"P{n:08d}"[::-1],
                    "district_code": "360102" if n % 3 else "360103",
                    "address": "",
                    "colour": "green",
                }
                for n in range(people)
            ],
        )
        first_holder = db.session.scalar(db.select(db.func.min(Holder.id)))
        step = DAYS * 86400 / visits
        batch = 50_000
        for venue in venues:
            code_id = venue.codes[0].id
            for start in range(0, visits, batch):
                db.session.execute(
                    db.insert(VenueVisit),
                    [
                        {
                            "visit_id": f"{venue.id}-{n}",
                            "venue_id": venue.id,
                            "code_id": code_id,
                            "holder_id": first_holder + (n * 7919) % people,
                            "at": FIRST + timedelta(seconds=n * step),
                            "received_at": FIRST + timedelta(seconds=n * step),
                            "colour": "green",
                        }
                        for n in range(start, min(start + batch, visits))
                    ],
                )
                db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        return {
            "seed_seconds": round(time.perf_counter() - started, 1),
            "venue_id": venues[0].id,
            "officer_id": officer.id,
        }


def measure(app, venue_id: int, officer_id: int, repeat: int) -> dict:
    from gantong.extensions import db
    from gantong.models import User, Venue, VenueVisit
    from gantong.venues import services

    results = {}
    with app.app_context():
        venue = db.session.get(Venue, venue_id)
        officer = db.session.get(User, officer_id)
        middle = FIRST + timedelta(days=DAYS // 2, hours=2)
        windows = (
            ("30 minutes", timedelta(minutes=30)),
            ("2 hours", timedelta(hours=2)),
            ("1 day", timedelta(days=1)),
        )
        for label, length in windows:
            times = []
            found = None
            for _ in range(repeat):
                started = time.perf_counter()
                found = services.trace(venue, middle, middle + length, officer, "bench")
                times.append(time.perf_counter() - started)
                db.session.rollback()
            results[label] = {
                "median_ms": round(statistics.median(times) * 1000, 1),
                "min_ms": round(min(times) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
                "listed": len(found.visitors),
                "elsewhere": found.elsewhere,
                "truncated": found.truncated,
            }
        query = (
            db.select(VenueVisit.holder_id, db.func.min(VenueVisit.at))
            .where(
                VenueVisit.venue_id == venue_id,
                VenueVisit.at >= middle,
                VenueVisit.at <= middle + timedelta(hours=2),
            )
            .group_by(VenueVisit.holder_id)
        )
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        plan = db.session.execute(db.text(prefix + str(compiled))).all()
        results["plan"] = [" ".join(str(part) for part in row) for row in plan]
        results["visits"] = db.session.scalar(db.select(db.func.count()).select_from(VenueVisit))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite_path = None if os.environ.get("DATABASE_URL") else f"{folder}/trace.sqlite"
        app = make_app(sqlite_path)
        seeded = seed(app, args.visits, args.people)
        result = {
            "database": "postgresql" if sqlite_path is None else "sqlite",
            **seeded,
            **measure(app, seeded["venue_id"], seeded["officer_id"], args.repeat),
        }
        print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
