"""The rules' use of verified test results (issue 22), and a lab result's checks: pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gantong.core import lab_results
from gantong.core.rules import (
    RED,
    YELLOW,
    Declaration,
    Facts,
    OfficialRecord,
    Policy,
    citable_results,
    day_start,
    evaluate,
)
from gantong.core.rules import (
    TestResult as Sample,
)

pytestmark = pytest.mark.nodb

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def result(id_, hours_ago, outcome="negative"):
    return Sample(id_, "lab", "南昌市第一医院", "pcr", outcome, NOW - timedelta(hours=hours_ago))


def test_only_recent_negatives_after_the_reasons_began_are_citable():
    results = [result(1, 10), result(2, 80), result(3, 5, "positive"), result(4, 30)]
    assert [r.id for r in citable_results(results, NOW, Policy(citable_hours=72))] == [1, 4]
    after = NOW - timedelta(hours=20)
    assert [r.id for r in citable_results(results, NOW, Policy(), after=after)] == [1]
    assert [r.id for r in citable_results(results, NOW, Policy(citable_hours=24))] == [1]


def test_the_latest_result_is_on_the_result():
    facts = Facts(test_results=(result(1, 40), result(2, 31), result(3, 90)))
    assert evaluate(facts, [], NOW).latest_test.id == 2


def test_a_lab_positive_in_force_is_red_with_the_lab_as_source():
    sampled = NOW - timedelta(hours=8)
    record = OfficialRecord(
        7, "confirmed", NOW, basis="LAB S-1", lab="南昌市第一医院", sampled_at=sampled
    )
    hit = evaluate(Facts(official_records=(record,)), [], NOW).hits[0]
    assert (hit.colour, hit.source, hit.record) == (RED, "lab", "lab_result")
    assert hit.params["lab"] == "南昌市第一医院"


def _entered(days_ago: int) -> Facts:
    made = NOW - timedelta(days=days_ago + 1)
    entry = NOW.date() - timedelta(days=days_ago)
    declaration = Declaration(
        1, made, frozenset(), False, None, entry_date=entry, entry_port="昌北"
    )
    return Facts(declarations=(declaration,))


def test_pre_entry_release_waits_for_a_negative_within_the_hours_when_the_province_asks():
    facts = _entered(15)  # the 14 days ended yesterday
    assert evaluate(facts, [], NOW).colour == "green"
    strict = Policy(release_test_hours=48)
    waiting = evaluate(facts, [], NOW, strict)
    assert waiting.colour == YELLOW and waiting.hits[0].params["release_test_hours"] == 48
    release = day_start(date(2026, 12, 6))
    too_early = Sample(1, "lab", "x", "pcr", "negative", release - timedelta(hours=60))
    in_time = Sample(2, "certificate", "x", "pcr", "negative", release - timedelta(hours=20))
    assert (
        evaluate(
            Facts(declarations=facts.declarations, test_results=(too_early,)), [], NOW, strict
        ).colour
        == YELLOW
    )
    assert (
        evaluate(
            Facts(declarations=facts.declarations, test_results=(in_time,)), [], NOW, strict
        ).colour
        == "green"
    )


def _item(**fields):
    return {
        "doc_type": "passport",
        "doc_country": "us",
        "doc_number": "E12345678",
        "sample_id": "S-1",
        "sampled_at": "2026-12-06T10:00:00+08:00",
        "resulted_at": "2026-12-06T18:00:00+08:00",
        "test_type": "PCR",
        "result": "negative",
        **fields,
    }


def test_a_result_is_read_with_its_document_normalised_and_its_signature_checked():
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    item = _item()
    item["signature"] = lab_results.sign(item, key)
    read = lab_results.read_result(item, NOW, {"36"}, public)
    assert (read.doc_country, read.test_type, read.signed) == ("US", "pcr", True)
    with pytest.raises(lab_results.Refused) as refused:
        lab_results.read_result({**item, "result": "positive"}, NOW, {"36"}, public)
    assert refused.value.reason == "signature"
    with pytest.raises(lab_results.Refused) as refused:
        lab_results.read_result(item, NOW, {"36"}, None)
    assert refused.value.reason == "signature"


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"sampled_at": "1990-01-01T08:00:00+08:00"}, "sampled_too_old"),
        ({"sampled_at": "2026-12-06T10:00:00"}, "time_format"),
        ({"resulted_at": "2026-12-06T09:00:00+08:00"}, "resulted_before_sampled"),
        ({"doc_country": ""}, "doc_country"),
        ({"extra": "x"}, "unknown_field"),
        ({"sample_id": "样本"}, "sample_id"),
    ],
)
def test_bad_results_are_refused_with_their_reason(fields, reason):
    with pytest.raises(lab_results.Refused) as refused:
        lab_results.read_result(_item(**fields), NOW, {"36"})
    assert refused.value.reason == reason
