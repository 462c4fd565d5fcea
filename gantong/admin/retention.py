"""Data retention: verification records and test results expire after RETENTION_DAYS; hits
never do.

A fever found at a checkpoint is kept as a FeverFinding of its own, so deleting the record
it came from leaves the holder's colour exactly as it was. A test result (health data) expires
by its sample time under the same rule, and one for a person who never registered after
LAB_UNMATCHED_DAYS; a result an official record or an application cites is kept with it (it is
the source of a hit, or the evidence of a decision).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from gantong import audit
from gantong.core import rules
from gantong.extensions import db
from gantong.models import Application, LabResult, OfficialRecord, User, VerificationRecord, utcnow

DEFAULT_RETENTION_DAYS = 28
BATCH_SIZE = 1000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    deleted: int
    batches: int


@dataclass(frozen=True)
class Status:
    """What the retention page shows: the setting, the cutoff, what is kept and what has expired."""

    days: int
    cutoff: datetime
    oldest_kept: datetime | None
    expired: int
    kept: int
    # Test results past the same cutoff (or unmatched too long), and those kept.
    results_expired: int = 0
    results_kept: int = 0

    @property
    def to_purge(self) -> int:
        """Everything the purge deletes: expired records and expired test results."""
        return self.expired + self.results_expired


def retention_days() -> int:
    """RETENTION_DAYS from the app's config or the environment; 28 by default."""
    value = current_app.config.get("RETENTION_DAYS") or os.environ.get("RETENTION_DAYS")
    return int(value) if value else DEFAULT_RETENTION_DAYS


def status(days: int, now: datetime | None = None) -> Status:
    cutoff = cutoff_for(now or utcnow(), days)
    verified_at = VerificationRecord.verified_at

    def count(condition):
        return db.session.scalar(
            db.select(db.func.count()).select_from(VerificationRecord).where(condition)
        )

    oldest = db.session.scalar(db.select(db.func.min(verified_at)).where(verified_at >= cutoff))
    expired_results = _expired_results(cutoff, now or utcnow())
    all_results = db.session.scalar(db.select(db.func.count()).select_from(LabResult))
    results_expired = db.session.scalar(
        db.select(db.func.count()).select_from(LabResult).where(expired_results)
    )
    return Status(
        days=days,
        cutoff=cutoff,
        oldest_kept=oldest,
        expired=count(verified_at < cutoff),
        kept=count(verified_at >= cutoff),
        results_expired=results_expired,
        results_kept=all_results - results_expired,
    )


def _expired_results(cutoff: datetime, now: datetime):
    """Which test results expire: sampled before the cutoff, or waiting for a person who has not
    registered for LAB_UNMATCHED_DAYS; never one an official record or an application cites."""
    unmatched_until = now - timedelta(days=current_app.config["LAB_UNMATCHED_DAYS"])
    cited = db.union(
        db.select(OfficialRecord.lab_result_id).where(OfficialRecord.lab_result_id.is_not(None)),
        db.select(Application.lab_result_id).where(Application.lab_result_id.is_not(None)),
    )
    return (
        (LabResult.sampled_at < cutoff)
        | (LabResult.holder_id.is_(None) & (LabResult.received_at < unmatched_until))
    ) & LabResult.id.not_in(cited)


def _delete_results_batch(cutoff: datetime, batch: int) -> int:
    ids = db.session.scalars(
        db.select(LabResult.id)
        .where(_expired_results(cutoff, utcnow()))
        .order_by(LabResult.id)
        .limit(batch)
    ).all()
    if not ids:
        return 0
    result = db.session.execute(db.delete(LabResult).where(LabResult.id.in_(ids)))
    log.info("purged %d test results sampled before %s", result.rowcount, cutoff.isoformat())
    return result.rowcount


def _delete_batch(cutoff: datetime, batch: int) -> int:
    # Oldest first, in the index's own order: each batch reads only the rows it deletes.
    ids = db.session.scalars(
        db.select(VerificationRecord.id)
        .where(VerificationRecord.verified_at < cutoff)
        .order_by(VerificationRecord.verified_at, VerificationRecord.id)
        .limit(batch)
    ).all()
    deleted = 0
    if ids:
        result = db.session.execute(
            db.delete(VerificationRecord).where(VerificationRecord.id.in_(ids))
        )
        deleted = result.rowcount
        log.info("purged %d verification records verified before %s", deleted, cutoff.isoformat())
    # Test results go by the same rule, once no verification record is left to purge.
    if deleted < batch:
        deleted += _delete_results_batch(cutoff, batch - deleted)
    return deleted


def purge_one_batch(
    days: int, actor: User, now: datetime | None = None, batch: int = BATCH_SIZE
) -> PurgeResult:
    """Delete one batch of expired records for an administrator's page, audited with its actor.

    The page calls this once per request and shows the progress between batches, so no request
    runs long and an admin who closes the page has deleted whole batches."""
    if days < 1:
        raise ValueError("retention days must be at least 1")
    cutoff = cutoff_for(now or utcnow(), days)
    deleted = _delete_batch(cutoff, batch)
    if deleted:
        audit.append(
            "retention.purge",
            "verification_record",
            "expired",
            actor=actor,
            after={"deleted": deleted, "cutoff": cutoff.isoformat(), "days": days},
        )
    return PurgeResult(cutoff, deleted, 1 if deleted else 0)


def cutoff_for(now: datetime, days: int) -> datetime:
    """The start of the Asia/Shanghai day `days` days ago: records verified before it expire."""
    first_kept_day = rules.local_date(now) - timedelta(days=days)
    return rules.day_start(first_kept_day)


def purge_in_batches(
    days: int = DEFAULT_RETENTION_DAYS, now: datetime | None = None, batch: int = BATCH_SIZE
) -> Iterator[PurgeResult]:
    """Delete the records verified before the cutoff a batch at a time; log each batch.

    Yields the progress after each batch, and the result last, after its audit event. The
    command commits each step (unit_of_work.commit_each): checkpoints keep writing between
    batches (SQLite has one writer at a time), and a run stopped half-way by cron or a deploy
    has still deleted whole batches.
    """
    if days < 1:
        raise ValueError("retention days must be at least 1")
    cutoff = cutoff_for(now or utcnow(), days)
    deleted = batches = 0
    while count := _delete_batch(cutoff, batch):
        deleted += count
        batches += 1
        yield PurgeResult(cutoff, deleted, batches)
    if deleted:
        audit.append(
            "retention.purge",
            "verification_record",
            "expired",
            after={"deleted": deleted, "cutoff": cutoff.isoformat(), "days": days},
        )
    log.info(
        "purge done: %d verification records verified before %s deleted in %d batches",
        deleted,
        cutoff.isoformat(),
        batches,
    )
    yield PurgeResult(cutoff, deleted, batches)


def purge_verification_records(
    days: int = DEFAULT_RETENTION_DAYS, now: datetime | None = None, batch: int = BATCH_SIZE
) -> PurgeResult:
    """Every batch of purge_in_batches in the caller's one transaction; return the result."""
    *_, result = purge_in_batches(days, now, batch)
    return result
