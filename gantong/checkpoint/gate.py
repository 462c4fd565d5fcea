"""Verify-only points (a mall entrance, a station gate): a verdict per code and no temperature.

Where the point keeps records, each code verified leaves a verification record with no
temperature whose decision follows the colour (rules.decision_for_colour); where it does not,
nothing about the person is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gantong.checkpoint import verification
from gantong.codes import trust_list
from gantong.core import identity, rules, tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, InformationPoint, User


@dataclass(frozen=True)
class Verdict:
    """What the gate shows for one code."""

    colour: str
    who: str  # the masked name and the document's last four characters
    issuer: str  # a trusted partner's name, or ""
    record_id: str | None  # None where the point keeps no record


def body_for(colour: str | None) -> verification.RecordBody:
    """A verify-only record: no temperature, the decision the colour calls for."""
    return verification.RecordBody(temperature=None, decision=rules.decision_for_colour(colour))


def verdict_for(
    holder: Holder | None,
    point: InformationPoint,
    staff: User,
    method: str,
    token: tokens.Token | None,
    now: datetime,
) -> Verdict:
    """Decide the colour of a code read at a verify-only point; record it if the point keeps
    records (the colour stored, as any verification does), else store nothing."""
    if point.keeps_records:
        record, _result = verification.open_record(holder, point, staff, method, token, now)
        body = body_for(record.colour)
        position = (point.latitude, point.longitude)
        verification.fill_record(record, body, position, now, body.digest())
        db.session.flush()
        colour, record_id = record.colour, record.record_id
    elif holder is None:
        colour, record_id = token.colour, None  # a partner's code carries its colour
    else:
        colour, record_id = registry.colour_of(holder, now).colour, None
    if holder is not None:
        # As the phone's own verdict shows it: the masked name and the document's last four.
        who = f"{identity.mask_name(holder.name)} ···{identity.document_tail(holder.doc_number)}"
        issuer = ""
    else:
        who = token.masked_name + (f" ···{token.doc_tail}" if token.doc_tail else "")
        partner = trust_list.by_kid(token.kid)
        issuer = partner.name if partner else ""
    return Verdict(colour=colour, who=who, issuer=issuer, record_id=record_id)
