"""Kinds are enums equal to the strings stored, signed and sent, with a label each."""

import json

import pytest

from gantong.core import rules, tokens
from gantong.core.kinds import (
    ApplicationState,
    AuditAction,
    CheckMethod,
    ClaimState,
    Colour,
    Decision,
    OfficialRecordState,
)

KINDS = (
    Colour,
    Decision,
    CheckMethod,
    ApplicationState,
    ClaimState,
    OfficialRecordState,
    AuditAction,
)


@pytest.mark.parametrize("kind", KINDS)
def test_every_member_equals_its_stored_string_and_has_a_label(kind):
    for member in kind:
        assert member == member.value and str(member) == member.value
        assert json.dumps(member) == json.dumps(member.value)
        assert member.label


def test_the_stored_values_stay_what_they_were():
    assert list(Colour) == ["green", "yellow", "red"]
    assert list(Decision) == ["pass", "refer", "deny"]
    assert list(CheckMethod) == ["camera", "photo", "number", "no_code", "api", "paper"]
    assert list(ApplicationState) == ["pending", "approved", "rejected", "withdrawn"]
    assert list(ClaimState) == ["pending", "accepted", "rejected", "withdrawn"]
    assert list(OfficialRecordState) == ["pending", "in_force", "rejected"]


def test_colours_rank_from_green_to_red():
    assert [colour.rank for colour in Colour] == [0, 1, 2]
    assert Colour.worst([]) is Colour.GREEN
    assert Colour.worst(["yellow", "green", "red"]) is Colour.RED
    assert rules.worst_colour(["yellow", "green"]) == "yellow"


def test_a_token_carries_the_same_colour_byte():
    assert tokens.COLOURS == ("green", "yellow", "red")
    assert tokens.GREEN is Colour.GREEN and rules.RED is Colour.RED


def test_the_decision_a_temperature_calls_for():
    assert rules.decision_for(rules.FEVER_THRESHOLD) is Decision.REFER
    assert rules.decision_for(rules.FEVER_THRESHOLD - 0.1) is Decision.PASS


def test_a_yellow_or_red_code_is_referred_by_default_whatever_the_temperature():
    assert rules.decision_for(36.4, "red") is Decision.REFER
    assert rules.decision_for(36.4, "yellow") is Decision.REFER
    assert rules.decision_for(36.4, "green") is Decision.PASS
    assert rules.decision_for(36.4, None) is Decision.PASS  # a paper code's unknown colour


@pytest.mark.parametrize("colour", ["yellow", "red"])
def test_a_pass_for_a_yellow_or_red_code_needs_the_override_and_is_named(colour):
    assert rules.record_decision("", 36.4, colour, False) == (Decision.REFER, False)
    with pytest.raises(rules.PassNeedsOverride):
        rules.record_decision("pass", 36.4, colour, False)
    assert rules.record_decision("pass", 36.4, colour, True) == (Decision.PASS, True)
    assert rules.record_decision("", 36.4, colour, True) == (Decision.PASS, True)
    assert rules.record_decision("deny", 36.4, colour, True) == (Decision.DENY, False)


def test_a_green_pass_is_no_override():
    assert rules.record_decision("pass", 36.4, "green", True) == (Decision.PASS, False)
    assert rules.record_decision("", 37.5, "green", False) == (Decision.REFER, False)
