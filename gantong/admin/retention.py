"""Data retention: verification records expire after RETENTION_DAYS; hits never do.

A fever found at a checkpoint is kept as a FeverFinding of its own, so deleting the record
it came from leaves the holder's colour exactly as it was.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from gantong import audit
from gantong.core import rules
from gantong.extensions import db
from gantong.models import VerificationRecord, utcnow

DEFAULT_RETENTION_DAYS = 28
BATCH_SIZE = 1000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    deleted: int
    batches: int


def cutoff_for(now: datetime, days: int) -> datetime:
    """The start of the Asia/Shanghai day `days` days ago: records verified before it expire."""
    first_kept_day = rules.local_date(now) - timedelta(days=days)
    return rules.day_start(first_kept_day)


def purge_verification_records(days: int = DEFAULT_RETENTION_DAYS, now: datetime | None = None,
                               batch: int = BATCH_SIZE) -> PurgeResult:
    """Delete the records verified before the cutoff, a batch per transaction; log each batch."""
    if days < 1:
        raise ValueError("retention days must be at least 1")
    cutoff = cutoff_for(now or utcnow(), days)
    deleted = batches = 0
    while True:
        # Short transactions: checkpoints keep writing (SQLite has one writer at a time), and
        # a run stopped half-way by cron or a deploy has still deleted whole batches.
        # Oldest first, in the index's own order: each batch reads only the rows it deletes.
        ids = db.session.scalars(
            db.select(VerificationRecord.id).where(VerificationRecord.verified_at < cutoff)
            .order_by(VerificationRecord.verified_at, VerificationRecord.id).limit(batch)
        ).all()
        if not ids:
            db.session.commit()
            break
        result = db.session.execute(db.delete(VerificationRecord).where(VerificationRecord.id.in_(ids)))
        db.session.commit()
        deleted += result.rowcount
        batches += 1
        log.info("purged %d verification records verified before %s",
                 result.rowcount, cutoff.isoformat())
    if deleted:
        audit.append("retention.purge", "verification_record", "expired",
                     after={"deleted": deleted, "cutoff": cutoff.isoformat(), "days": days})
        db.session.commit()
    log.info("purge done: %d verification records verified before %s deleted in %d batches",
             deleted, cutoff.isoformat(), batches)
    return PurgeResult(cutoff, deleted, batches)
