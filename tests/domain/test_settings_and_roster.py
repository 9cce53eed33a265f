"""Township settings stay within the law; roster warnings and the art. 32 bar."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sunvote.domain.errors import RosterRefusal, SettingOutOfBounds
from sunvote.domain.roles import Role
from sunvote.domain.roster import (
    RosterMember,
    check_committee_appointment,
    check_supervisor_appointment,
    roster_warnings,
)
from sunvote.domain.settings import (
    PassRule,
    TownshipSettings,
    decode_setting,
    encode_setting,
    validate_setting,
)


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("quorum", "2/3", Fraction(2, 3)), ("quorum", "3/4", Fraction(3, 4)), ("quorum", "1", 1),
    ("public_notice_days", "3", 3), ("public_notice_days", 15, 15),
    ("merge_propose_discuss", "true", True), ("merge_propose_discuss", False, False),
    ("pass_rule", "majority_of_all", PassRule.MAJORITY_OF_ALL),
    ("pass_rule.category_2", "two_thirds_of_present", PassRule.TWO_THIRDS_OF_PRESENT),
])
def test_settings_within_the_law_are_accepted(key: str, value: object, expected: object) -> None:
    assert validate_setting(key, value) == expected


@pytest.mark.parametrize(("key", "value", "rule"), [
    ("quorum", "1/2", "settings.law_bound"),  # looser than art. 26
    ("quorum", "0.6", "settings.law_bound"),
    ("quorum", "5/4", "settings.law_bound"),
    ("public_notice_days", "2", "settings.law_bound"),
    ("meeting_notice_days", 0, "settings.law_bound"),
    ("quorum", "two thirds", "input.invalid"),
    ("quorum", "1/0", "input.invalid"),
    ("public_notice_days", True, "input.invalid"),
    ("merge_propose_discuss", "yes", "input.invalid"),
    ("pass_rule", "simple_plurality", "input.invalid"),
    ("no_such_setting", "1", "input.invalid"),
])
def test_settings_looser_than_the_law_or_malformed_are_refused(key: str, value: object,
                                                               rule: str) -> None:
    with pytest.raises(SettingOutOfBounds) as info:
        validate_setting(key, value)
    assert info.value.rule == rule


def test_stored_settings_round_trip_and_defaults_fill_the_rest() -> None:
    stored = {"quorum": encode_setting(Fraction(3, 4)),
              "merge_propose_discuss": encode_setting(True),
              "pass_rule.category_5": encode_setting(PassRule.MAJORITY_OF_ALL)}
    settings = TownshipSettings.from_stored(stored, {"public_notice_days": 7})
    assert settings["quorum"] == Fraction(3, 4)
    assert settings.merge_propose_discuss is True
    assert settings["public_notice_days"] == 7
    assert settings["meeting_notice_days"] == 3
    assert settings.pass_rule_for(5) is PassRule.MAJORITY_OF_ALL
    assert settings.pass_rule_for(2) is PassRule.MAJORITY_OF_PRESENT
    assert decode_setting("pass_rule.category_3", "") is None


def member(i: int, *roles: Role, female: bool = False, households: int | None = None,
           accounting: bool = False) -> RosterMember:
    return RosterMember(i, f"m{i}", frozenset(roles), female, households, accounting)


def assembly(reps: int, women_reps: int, committee: int) -> list[RosterMember]:
    people = [member(i, Role.REPRESENTATIVE, female=i < women_reps, households=10)
              for i in range(reps)]
    people += [member(100 + i, Role.COMMITTEE_MEMBER) for i in range(committee)]
    return people


def rules_of(members: list[RosterMember]) -> set[str]:
    return {w.rule for w in roster_warnings(members)}


def test_a_lawful_roster_has_no_warnings() -> None:
    people = assembly(reps=20, women_reps=8, committee=5)  # 20/25 = 4/5; 8·3 = 24 < 25 → warn
    assert "roster.representative_share" not in rules_of(people)
    assert rules_of(assembly(reps=20, women_reps=9, committee=5)) == set()


def test_too_few_representatives_is_warned() -> None:
    assert "roster.representative_share" in rules_of(assembly(reps=19, women_reps=9, committee=5))


def test_too_few_women_is_warned() -> None:
    assert "roster.women_share" in rules_of(assembly(reps=20, women_reps=8, committee=5))


@pytest.mark.parametrize(("households", "warned"), [(4, True), (5, False), (15, False),
                                                    (16, True)])
def test_households_per_representative_between_5_and_15(households: int, warned: bool) -> None:
    people = [member(1, Role.REPRESENTATIVE, female=True, households=households)]
    assert ("roster.households_per_representative" in rules_of(people)) is warned


def test_supervisory_committee_needs_accounting_skill() -> None:
    assert "roster.supervisor_accounting" in rules_of([member(1, Role.SUPERVISOR)])
    assert "roster.supervisor_accounting" not in rules_of(
        [member(1, Role.SUPERVISOR), member(2, Role.SUPERVISOR_CHAIR, accounting=True)])


def test_committee_members_and_their_kin_cannot_supervise() -> None:
    committee = {1, 2}
    kin = [(3, 1), (4, 5)]
    with pytest.raises(RosterRefusal):
        check_supervisor_appointment(1, committee, kin)
    with pytest.raises(RosterRefusal):
        check_supervisor_appointment(3, committee, kin)
    check_supervisor_appointment(4, committee, kin)  # kin of a non-member: allowed
    with pytest.raises(RosterRefusal):
        check_committee_appointment(5, {4}, kin)  # kin of a sitting supervisor
    check_committee_appointment(6, {4}, kin)
