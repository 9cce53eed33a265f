"""Leaving (离场, ``meeting.leave``; issue 15 item 3) as the offline verifier replays it: a member
who left no longer counts for the next poll's quorum and present count; a ballot from a member
who left — before the poll opened, or after, even once back — is a finding; a paper ballot
handed in before leaving may still be confirmed; only a present member leaves, by their own word
or a runner's (domain.assembly.leave_refusal, the service's rule)."""

from __future__ import annotations

import pytest

from sunvote.domain.assembly import all_present_except, checkin_many_refusal, leave_refusal
from tests.domain.ledger.logbuilder import LogBuilder, filed_matter, people, representatives
from tests.domain.ledger.test_assembly_records import M1, M2, assert_fails, assert_ok


def meeting(reps: int = 6, agenda: tuple[str, ...] = (M1,)) -> tuple[LogBuilder, list[int]]:
    """An open meeting: the clerk checked in the committee director and ``reps``
    representatives."""
    b = LogBuilder()
    b.init()
    people(b)
    members = [2, *representatives(b, reps)]
    for matter in agenda:
        filed_matter(b, matter)
    b.convene(list(agenda))
    b.open_meeting()
    for member in members:
        b.attend(member, person=1, role="clerk", how="clerk")
    return b, members


def test_the_rules_the_service_and_the_verifier_share() -> None:
    assert leave_refusal(True, True, True) is None
    assert [r.rule if r else None for r in (leave_refusal(False, True, True),
                                            leave_refusal(True, False, True),
                                            leave_refusal(True, True, False))] == [
        "assembly.meeting_state", "assembly.not_member", "assembly.leave"]
    assert checkin_many_refusal([3], [1, 2, 3], [1]) is None
    refused = checkin_many_refusal([], [1], [])
    assert refused is not None and refused.rule == "input.invalid"
    assert all_present_except([1, 2, 3, 4], [1], [3]) == ([2, 4], None)


def test_leaving_and_coming_back_verifies_and_the_next_poll_counts_those_present() -> None:
    b, members = meeting(agenda=(M1, M2))
    b.leave(members[-1])  # by their own word
    b.leave(members[-2], person=1, role="clerk")  # recorded by the clerk
    b.attend(members[-2], person=1, role="clerk", how="clerk")  # back
    b.open_poll(M1)  # present: all but one
    for member in members[:-1]:
        b.cast(member, "yes", how="session")
    b.finish_poll()
    assert_ok(b)


def test_a_poll_stating_the_members_who_left_as_present_fails() -> None:
    b, members = meeting()
    b.leave(members[-1])
    b.open_poll(M1, present=len(members))
    assert_fails(b, len(b.records) - 1, "semantics",
                 f"present is {len(members)}, but {len(members) - 1} members are present")


def test_the_quorum_is_counted_without_the_members_who_left() -> None:
    b, members = meeting(reps=5)  # six members, four needed
    for member in members[:3]:
        b.leave(member)
    b.open_poll(M1)
    assert_fails(b, len(b.records) - 1, "semantics", "no quorum: 3 of 6 members present")


def test_a_ballot_from_a_member_who_left_before_the_poll_opened_fails() -> None:
    b, members = meeting()
    b.leave(members[-1])
    b.open_poll(M1)
    b.cast(members[-1], "yes", how="session")
    assert_fails(b, len(b.records) - 1, "semantics",
                 f"assembly.not_present: member {members[-1]} left the meeting")


@pytest.mark.parametrize("back", [False, True], ids=["gone", "back"])
def test_a_ballot_from_a_member_who_left_after_the_poll_opened_fails(back: bool) -> None:
    b, members = meeting()
    b.open_poll(M1)
    b.leave(members[-1])
    if back:
        b.attend(members[-1], person=1, role="clerk", how="clerk")
    b.cast(members[-1], "yes", how="session")
    text = (f"assembly.late: member {members[-1]} left after poll 1 opened" if back
            else f"assembly.not_present: member {members[-1]} left the meeting")
    assert_fails(b, len(b.records) - 1, "semantics", text)


def test_a_recusal_from_a_member_who_left_fails() -> None:
    b, members = meeting()
    b.open_poll(M1)
    b.leave(members[-1])
    b.recuse(members[-1])
    assert_fails(b, len(b.records) - 1, "semantics", "left the meeting")


def test_a_paper_ballot_handed_in_before_leaving_is_confirmed_after() -> None:
    b, members = meeting()
    b.open_poll(M1)
    b.leave(members[-1], person=1, role="clerk")
    b.paper_confirm(1)
    b.cast(members[-1], "yes", "paper", how="paper")
    for member in members[:-1]:
        b.cast(member, "yes", how="session")
    b.finish_poll()
    assert_ok(b)


@pytest.mark.parametrize("case", ["not present", "left twice", "not on the roster",
                                  "by another member", "meeting not open"])
def test_a_leave_the_rule_refuses_fails(case: str) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    members = [2, *representatives(b, 4)]
    filed_matter(b, M1)
    b.convene([M1])
    if case == "meeting not open":
        b.leave(members[1], person=1, role="clerk")
        assert_fails(b, len(b.records) - 1, "semantics", "assembly.meeting_state")
        return
    b.open_meeting()
    b.attend(members[1], person=1, role="clerk", how="clerk")
    b.attend(members[2], person=1, role="clerk", how="clerk")
    expected = "assembly.leave"
    if case == "not present":
        b.leave(members[3])
    elif case == "left twice":
        b.leave(members[1])
        b.leave(members[1])
    elif case == "not on the roster":
        b.leave(99, person=1, role="clerk")
        expected = "assembly.not_member"
    else:
        b.leave(members[1], person=members[2], role="member")
        expected = "(no proxies)"
    assert_fails(b, len(b.records) - 1, "semantics", expected)
