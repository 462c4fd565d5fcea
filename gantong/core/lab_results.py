"""A lab's posted test result: what each field must be, and the lab's signature over it.

Pure (no Flask, no database): the API reads a batch through `read_result` one item at a time,
so that a bad result is refused with its reason and the rest of the batch is kept. Reasons are
stable codes (for the lab's software) with an English message beside each.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gantong.core import identity
from gantong.core.kinds import N_, Labelled

# A result sampled longer ago than this is a typing slip or a stale file (a test from 1990),
# not a result a rule could use; a lab's clock may run this far ahead of ours.
MAX_SAMPLE_AGE = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=10)
SAMPLE_ID_MAX = 64
FIELDS = (
    "doc_type",
    "doc_country",
    "doc_number",
    "sample_id",
    "sampled_at",
    "resulted_at",
    "test_type",
    "result",
)


class TestType(Labelled):
    """The kind of test: a nucleic-acid (PCR) test or a rapid antigen test."""

    PCR = "pcr", N_("PCR")
    ANTIGEN = "antigen", N_("antigen")


class Outcome(Labelled):
    """What the test found."""

    NEGATIVE = "negative", N_("negative")
    POSITIVE = "positive", N_("positive")


class ResultSource(Labelled):
    """Where a verified result came from: a lab's post, or a verified certificate."""

    LAB = "lab", N_("lab")
    CERTIFICATE = "certificate", N_("verified certificate")


# Each reason a result is refused for, with the message the API sends beside it.
REFUSALS = {
    "not_an_object": "Each result is a JSON object.",
    "missing_field": "A required field is missing or empty.",
    "unknown_field": "The result has a field this API does not know.",
    "doc_type": "doc_type is one of resident_id, passport, permit.",
    "doc_country": "A passport needs doc_country, the issuing country's two letters.",
    "doc_number": "The document number is not valid for its type.",
    "sample_id": "sample_id is 1 to 64 printable ASCII characters.",
    "time_format": "Times are ISO 8601 with a UTC offset, e.g. 2026-12-07T08:30:00+08:00.",
    "sampled_too_old": "The sample time is more than 30 days ago.",
    "in_future": "A time is in the future.",
    "resulted_before_sampled": "The result time is before the sample time.",
    "test_type": "test_type is pcr or antigen.",
    "result": "result is negative or positive.",
    "signature": "The signature does not verify with the lab's key.",
    "duplicate_in_batch": "This sample_id is in the batch more than once.",
}


class Refused(ValueError):
    """A posted result was refused; `reason` is one of REFUSALS."""

    def __init__(self, reason: str, field: str = ""):
        super().__init__(reason)
        self.reason, self.field = reason, field

    @property
    def message(self) -> str:
        return REFUSALS[self.reason]


@dataclass(frozen=True)
class PostedResult:
    """A result as read and checked: the document normalised as holders' documents are."""

    doc_type: str
    doc_country: str
    doc_number: str
    sample_id: str
    sampled_at: datetime
    resulted_at: datetime
    test_type: TestType
    result: Outcome
    signed: bool


def canonical_bytes(item: Mapping) -> bytes:
    """The bytes a lab signs: the result's fields but `signature`, as JSON with sorted keys,
    no spaces, UTF-8 (docs/openapi.yaml, LabResult)."""
    fields = {key: item[key] for key in sorted(item) if key != "signature"}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(item: Mapping, private_key) -> str:
    """Return a lab's signature over the result (base64url, no padding): what a lab does."""
    signature = private_key.sign(canonical_bytes(item))
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def _verify(item: Mapping, public_key: bytes) -> None:
    text = item.get("signature")
    try:
        signature = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, canonical_bytes(item))
    except (InvalidSignature, ValueError, TypeError) as error:
        raise Refused("signature", "signature") from error


def _text(item: Mapping, name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refused("missing_field", name)
    return value.strip()


def _moment(item: Mapping, name: str) -> datetime:
    text = _text(item, name)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise Refused("time_format", name) from error
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Refused("time_format", name)
    return moment.astimezone(UTC)


def read_result(
    item: object,
    now: datetime,
    province_codes: Collection[str],
    lab_key: bytes | None = None,
) -> PostedResult:
    """Check one posted result and return it read; raise Refused with the first reason.

    A result carrying `signature` is verified with the lab's key (refused if the lab has no
    key or it does not verify): a result that says it is signed is traced to its lab or not
    stored at all.
    """
    if not isinstance(item, Mapping):
        raise Refused("not_an_object")
    unknown = set(item) - {*FIELDS, "signature"}
    if unknown:
        raise Refused("unknown_field", sorted(unknown)[0])
    doc_type = _text(item, "doc_type")
    if doc_type not in identity.DOC_TYPES:
        raise Refused("doc_type", "doc_type")
    doc_country = ""
    if doc_type == identity.DOC_PASSPORT:
        doc_country = str(item.get("doc_country") or "").strip().upper()
        if len(doc_country) != 2 or not doc_country.isascii() or not doc_country.isalpha():
            raise Refused("doc_country", "doc_country")
    try:
        doc_number = identity.validate_document(
            doc_type, _text(item, "doc_number"), now.date(), province_codes
        )
    except identity.InvalidDocument as error:
        raise Refused("doc_number", "doc_number") from error
    sample_id = _text(item, "sample_id")
    if len(sample_id) > SAMPLE_ID_MAX or not sample_id.isascii() or not sample_id.isprintable():
        raise Refused("sample_id", "sample_id")
    sampled_at, resulted_at = _moment(item, "sampled_at"), _moment(item, "resulted_at")
    if sampled_at < now - MAX_SAMPLE_AGE:
        raise Refused("sampled_too_old", "sampled_at")
    if max(sampled_at, resulted_at) > now + CLOCK_SKEW:
        raise Refused("in_future", "resulted_at" if resulted_at > sampled_at else "sampled_at")
    if resulted_at < sampled_at:
        raise Refused("resulted_before_sampled", "resulted_at")
    try:
        test_type = TestType(_text(item, "test_type").lower())
    except ValueError as error:
        raise Refused("test_type", "test_type") from error
    try:
        outcome = Outcome(_text(item, "result").lower())
    except ValueError as error:
        raise Refused("result", "result") from error
    signed = "signature" in item
    if signed:
        if lab_key is None or not isinstance(item["signature"], str):
            raise Refused("signature", "signature")
        _verify(item, lab_key)
    return PostedResult(
        doc_type=doc_type,
        doc_country=doc_country,
        doc_number=doc_number,
        sample_id=sample_id,
        sampled_at=sampled_at,
        resulted_at=resulted_at,
        test_type=test_type,
        result=outcome,
        signed=signed,
    )
