"""Each oversight warning rule has a case that triggers it and one that does not; every rule code
is in the rules table; a warning names its limit."""

from __future__ import annotations

import datetime as dt

import pytest

from sunvote.domain.oversight import (
    WARNING_RULES,
    Colour,
    LedgerFact,
    MatterFact,
    MeetingFact,
    NoticeFact,
    ObjectionFact,
    PollFact,
    TargetKind,
    VerificationFact,
    VillageFacts,
    equivocation_warnings,
    notice_warnings,
    objection_warnings,
    poll_quorum_warnings,
    quarter_bounds,
    quarterly_meeting_warnings,
    request_warnings,
    roster_ratio_warnings,
    step_limit_warnings,
    unopened_meeting_warnings,
    verification_warnings,
    village_warnings,
    witness_warnings,
)
from sunvote.domain.procedure import MatterState
from sunvote.domain.roles import Role
from sunvote.domain.roster import RosterMember, roster_warnings
from sunvote.domain.rules import RULES_BY_CODE, RuleKind

NOW = dt.datetime(2026, 11, 29, 4, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 29)
DAY = dt.timedelta(days=1)


def test_every_warning_rule_is_a_warning_in_the_rules_table() -> None:
    for rule in WARNING_RULES:
        assert rule.code in RULES_BY_CODE, rule.code
        assert RULES_BY_CODE[rule.code].kind is RuleKind.WARNING, rule.code
    assert {r.colour for r in WARNING_RULES} == set(Colour)


# --- red ------------------------------------------------------------------------------------------


def test_a_failed_verification_is_red_and_links_to_the_ledger() -> None:
    [w] = verification_warnings("v", VerificationFact(False, 12, NOW, "3 matter.step bad"))
    assert (w.rule, w.colour, w.target.kind) == ("ledger.verification_failed", Colour.RED,
                                                 TargetKind.LEDGER)
    assert w.params["failure"] == "3 matter.step bad"


def test_a_passed_verification_or_none_yet_is_no_warning() -> None:
    assert verification_warnings("v", VerificationFact(True, 12, NOW)) == []
    assert verification_warnings("v", None) == []


def test_equivocation_evidence_is_red_and_none_is_nothing() -> None:
    [w] = equivocation_warnings("v", 2)
    assert (w.rule, w.colour, w.params["n"]) == ("ledger.equivocation", Colour.RED, 2)
    assert equivocation_warnings("v", 0) == []


def test_a_poll_opened_below_its_quorum_is_red_and_names_the_limit() -> None:
    [w] = poll_quorum_warnings("v", [PollFact(2, "2026-001", 13, 21, "2/3")])
    assert (w.rule, w.colour) == ("assembly.poll_below_quorum", Colour.RED)
    assert (w.target.kind, w.target.ref) == (TargetKind.MEETING, "2")
    assert w.limit_params == {"quorum": "2/3", "members": 21, "needed": 14}


def test_a_poll_opened_with_exactly_its_quorum_is_no_warning() -> None:
    assert poll_quorum_warnings("v", [PollFact(2, "2026-001", 14, 21, "2/3"),
                                      PollFact(3, "2026-002", 21, 21, "1")]) == []


def test_a_stricter_stored_quorum_is_the_one_checked() -> None:
    assert poll_quorum_warnings("v", [PollFact(1, "2026-001", 15, 20, "3/4")]) == []
    assert len(poll_quorum_warnings("v", [PollFact(1, "2026-001", 14, 20, "3/4")])) == 1


# --- yellow ---------------------------------------------------------------------------------------


def matter(state: MatterState, days: float) -> MatterFact:
    return MatterFact("2026-001", "道路硬化", state, NOW - dt.timedelta(days=days))


def test_a_matter_waiting_longer_than_the_step_limit_is_yellow() -> None:
    [w] = step_limit_warnings("v", [matter(MatterState.DISCUSSED, 31)], 30, NOW)
    assert (w.rule, w.colour, w.target.kind, w.target.ref) == (
        "procedure.step_limit", Colour.YELLOW, TargetKind.MATTER, "2026-001")
    assert w.params["days"] == 31 and w.limit_params == {"limit": 30}


def test_a_matter_within_the_limit_or_closed_or_implementing_is_no_warning() -> None:
    assert step_limit_warnings("v", [matter(MatterState.DISCUSSED, 30)], 30, NOW) == []
    assert step_limit_warnings("v", [matter(MatterState.COMPLETED, 300),
                                     matter(MatterState.REJECTED, 300),
                                     matter(MatterState.IMPLEMENTING, 300)], 30, NOW) == []


def test_the_step_limit_is_the_townships_setting() -> None:
    assert step_limit_warnings("v", [matter(MatterState.FILED, 8)], 7, NOW)
    assert not step_limit_warnings("v", [matter(MatterState.FILED, 8)], 10, NOW)


def test_quarters() -> None:
    assert quarter_bounds(dt.date(2026, 11, 29)) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert quarter_bounds(dt.date(2026, 2, 28)) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert quarter_bounds(dt.date(2026, 6, 30)) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))


def test_no_meeting_held_or_convened_this_quarter_is_yellow() -> None:
    last_quarter = MeetingFact(1, "closed", dt.date(2026, 9, 20), dt.date(2026, 9, 20))
    [w] = quarterly_meeting_warnings("v", [last_quarter], TODAY)
    assert (w.rule, w.colour, w.target.kind) == ("assembly.quarterly_meeting", Colour.YELLOW,
                                                 TargetKind.MEETINGS)
    assert w.params == {"year": 2026, "q": 4, "end": "2026-12-31"}
    # A convened meeting whose day has passed without opening it does not count either.
    missed = MeetingFact(2, "convened", dt.date(2026, 11, 1), None)
    assert len(quarterly_meeting_warnings("v", [missed], TODAY)) == 1


def test_a_meeting_held_or_convened_for_later_this_quarter_is_no_warning() -> None:
    held = MeetingFact(1, "closed", dt.date(2026, 10, 10), dt.date(2026, 10, 10))
    assert quarterly_meeting_warnings("v", [held], TODAY) == []
    coming = MeetingFact(2, "convened", dt.date(2026, 12, 2), None)
    assert quarterly_meeting_warnings("v", [coming], TODAY) == []


def test_a_convened_meeting_whose_day_passed_unopened_is_yellow_and_links_to_it() -> None:
    missed = MeetingFact(4, "convened", TODAY - DAY, None)
    [w] = unopened_meeting_warnings("v", [missed], TODAY)
    assert (w.rule, w.colour, w.target.kind, w.target.ref) == (
        "assembly.meeting_not_opened", Colour.YELLOW, TargetKind.MEETING, "4")
    assert w.params == {"n": 4, "day": "2026-11-28"}
    assert w.limit_params == {"day": "2026-11-28"}


def test_a_meeting_due_today_or_later_or_opened_or_closed_is_no_unopened_warning() -> None:
    facts = [MeetingFact(1, "convened", TODAY, None),  # may still be opened today
             MeetingFact(2, "convened", TODAY + DAY, None),
             MeetingFact(3, "open", TODAY - 3 * DAY, TODAY - DAY),  # opened late: no warning
             MeetingFact(4, "closed", TODAY - 9 * DAY, TODAY - 9 * DAY)]
    assert unopened_meeting_warnings("v", facts, TODAY) == []


def test_the_unopened_meeting_is_among_a_villages_warnings() -> None:
    facts = VillageFacts(village="v", step_limit_days=30, witness_limit_days=3,
                         meetings=[MeetingFact(7, "convened", TODAY - 2 * DAY, None)])
    assert "assembly.meeting_not_opened" in {w.rule for w in village_warnings(facts, NOW, TODAY)}


def test_records_not_cosigned_for_longer_than_the_limit_are_yellow() -> None:
    ledger = LedgerFact(40, 30, NOW - 4 * DAY)
    [w] = witness_warnings("v", ledger, 3, NOW)
    assert (w.rule, w.colour, w.target.kind) == ("ledger.witness_overdue", Colour.YELLOW,
                                                 TargetKind.LEDGER)
    assert w.params == {"size": 40, "cosigned": 30, "days": 4}
    assert w.limit_params == {"limit": 3}


def test_a_cosigned_log_or_a_recent_uncosigned_record_is_no_warning() -> None:
    assert witness_warnings("v", LedgerFact(40, 40, None), 3, NOW) == []
    assert witness_warnings("v", LedgerFact(40, 30, NOW - 2 * DAY), 3, NOW) == []
    assert witness_warnings("v", None, 3, NOW) == []


def test_requests_from_a_fifth_of_the_representatives_are_yellow() -> None:
    [w] = request_warnings("v", 4, 20)
    assert (w.rule, w.colour) == ("assembly.request", Colour.YELLOW)
    assert w.limit_params == {"representatives": 20, "needed": 4}
    assert request_warnings("v", 5, 21)[0].limit_params["needed"] == 5
    assert request_warnings("v", 4, 21) == []


def test_requests_from_fewer_than_a_fifth_are_no_warning() -> None:
    assert request_warnings("v", 3, 20) == []
    assert request_warnings("v", 0, 0) == []


# --- blue -----------------------------------------------------------------------------------------


def member(i: int, *roles: Role, female: bool = False, households: int | None = 10,
           accounting: bool = False) -> RosterMember:
    return RosterMember(i, f"p{i}", frozenset(roles), female, households, accounting)


def balanced() -> list[RosterMember]:
    """4 committee members and 16 representatives, 7 of them women; a supervisor with
    accounting skill."""
    people = [member(i, Role.COMMITTEE_MEMBER) for i in range(4)]
    people += [member(10 + i, Role.REPRESENTATIVE, female=i < 7) for i in range(16)]
    return [*people, member(50, Role.SUPERVISOR_CHAIR, accounting=True)]


def test_a_balanced_roster_has_no_blue_warning() -> None:
    assert roster_ratio_warnings("v", roster_warnings(balanced())) == []


@pytest.mark.parametrize(("code", "change"), [
    ("roster.representative_share",
     lambda people: [*people, member(60, Role.COMMITTEE_MEMBER)]),
    ("roster.women_share",
     lambda people: [member(p.person_id, *p.roles, households=10) if p.female else p
                     for p in people]),
    ("roster.households_per_representative",
     lambda people: [*people[:-1], member(70, Role.REPRESENTATIVE, female=True, households=20),
                     people[-1]]),
    ("roster.supervisor_accounting",
     lambda people: [*people[:-1], member(50, Role.SUPERVISOR_CHAIR)]),
])
def test_each_roster_ratio_broken_is_blue(code, change) -> None:  # type: ignore[no-untyped-def]
    found = roster_ratio_warnings("v", roster_warnings(change(balanced())))
    assert code in {w.rule for w in found}
    assert all(w.colour is Colour.BLUE and w.target.kind is TargetKind.REGISTER for w in found)


def test_term_warnings_are_not_oversight_warnings() -> None:
    from sunvote.domain.roster import RosterWarning

    assert roster_ratio_warnings("v", [RosterWarning("roster.vacant_role", "x")]) == []


# --- together -------------------------------------------------------------------------------------


def test_a_villages_warnings_come_red_first() -> None:
    facts = VillageFacts(
        village="v", step_limit_days=30, witness_limit_days=3,
        verification=VerificationFact(False, 3, NOW), roster=roster_warnings(
            [member(1, Role.COMMITTEE_MEMBER)]),
        meetings=[], matters=[matter(MatterState.FILED, 40)])
    found = village_warnings(facts, NOW, TODAY)
    colours = [w.colour for w in found]
    assert colours == sorted(colours, key=lambda c: c.rank)
    assert colours[0] is Colour.RED and colours[-1] is Colour.BLUE
    assert {"ledger.verification_failed", "procedure.step_limit", "assembly.quarterly_meeting",
            "roster.representative_share"} <= {w.rule for w in found}


# --- who oversees ---------------------------------------------------------------------------------


def test_only_the_district_admin_oversees_the_district() -> None:
    from sunvote.domain.errors import NotPermitted
    from sunvote.domain.oversight import check_district_overseer

    check_district_overseer({Role.DISTRICT_ADMIN})
    for roles in ({Role.TOWNSHIP_ADMIN}, {Role.CLERK}, set()):
        with pytest.raises(NotPermitted) as info:
            check_district_overseer(roles)
        assert info.value.rule == "admin.district_admin"


def test_township_and_district_admins_oversee_a_township() -> None:
    from sunvote.domain.errors import NotPermitted
    from sunvote.domain.oversight import check_township_overseer

    check_township_overseer({Role.TOWNSHIP_ADMIN})
    check_township_overseer({Role.DISTRICT_ADMIN})
    for roles in ({Role.TOWNSHIP_REVIEWER}, {Role.SUPERVISOR_CHAIR, Role.CLERK}, set()):
        with pytest.raises(NotPermitted) as info:
            check_township_overseer(roles)
        assert info.value.rule == "admin.township_admin"


# --- Step 6: notice and objections ---------------------------------------------------------------


def notice(ends_in: dt.timedelta, started: dt.timedelta | None = None) -> NoticeFact:
    return NoticeFact("2026-001", "村东道路硬化工程", NOW + ends_in,
                      NOW + started if started is not None else None)


def test_implementation_started_during_the_notice_is_red() -> None:
    [w] = notice_warnings("sunshine", [notice(-DAY, started=-2 * DAY)], 1, NOW)
    assert (w.rule, w.colour, w.target.ref) == ("notice.started_early", Colour.RED, "2026-001")
    assert "end" in w.limit_params


def test_implementation_started_after_the_notice_is_no_warning() -> None:
    assert notice_warnings("sunshine", [notice(-2 * DAY, started=-DAY)], 1, NOW) == []


def test_a_notice_ending_within_the_setting_is_blue() -> None:
    [w] = notice_warnings("sunshine", [notice(DAY / 2)], 1, NOW)
    assert (w.rule, w.colour, w.limit_params) == ("notice.ending_soon", Colour.BLUE,
                                                  {"limit": 1})


def test_a_notice_ending_later_or_over_is_no_warning() -> None:
    assert notice_warnings("sunshine", [notice(3 * DAY), notice(-DAY)], 1, NOW) == []
    assert len(notice_warnings("sunshine", [notice(3 * DAY)], 3, NOW)) == 1  # the setting


def test_an_objection_past_its_reply_deadline_is_yellow() -> None:
    [w] = objection_warnings("sunshine", [ObjectionFact("2026-001", 2, NOW - DAY)], 7, NOW)
    assert (w.rule, w.colour, w.params["n"]) == ("objection.overdue", Colour.YELLOW, 2)


def test_an_objection_within_its_deadline_is_no_warning() -> None:
    assert objection_warnings("sunshine", [ObjectionFact("2026-001", 1, NOW + DAY)], 7,
                              NOW) == []
