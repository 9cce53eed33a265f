"""The assembly's rules without a database: notice, quorum, who may vote, and the tally — the
acceptance boundaries for the law's defaults and for stricter settings, and a recount property."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sunvote.domain.assembly import (
    Choice,
    MeetingState,
    PollState,
    Voter,
    check_ballot,
    check_notice,
    check_quorum,
    check_recusal,
    count,
    parse_choice,
    pass_threshold,
    poll_opening_refusal,
    poll_tally_refusal,
    poll_void_refusal,
    quorum_needed,
    requests_force_a_meeting,
)
from sunvote.domain.errors import Conflict, DomainError, InvalidField, NotPermitted
from sunvote.domain.settings import PassRule

LAW = Fraction(2, 3)
D = dt.date


# --- Quorum -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("members", "present", "opens"), [
    (30, 19, False), (30, 20, True), (31, 20, False), (31, 21, True), (3, 2, True), (3, 1, False),
])
def test_the_law_needs_two_thirds_of_the_members(members: int, present: int, opens: bool) -> None:
    if opens:
        check_quorum(present, members, LAW)
    else:
        with pytest.raises(Conflict) as info:
            check_quorum(present, members, LAW)
        assert info.value.rule == "assembly.quorum"


@pytest.mark.parametrize(("members", "needed"), [(30, 20), (31, 21), (29, 20), (1, 1), (0, 0)])
def test_quorum_needed_rounds_up(members: int, needed: int) -> None:
    assert quorum_needed(members, LAW) == needed


@pytest.mark.parametrize(("members", "present", "opens"), [
    (30, 22, False), (30, 23, True), (31, 23, False), (31, 24, True)])
def test_a_stricter_quorum_of_three_quarters(members: int, present: int, opens: bool) -> None:
    if opens:
        check_quorum(present, members, Fraction(3, 4))
    else:
        with pytest.raises(Conflict):
            check_quorum(present, members, Fraction(3, 4))


# --- The tally ----------------------------------------------------------------------------------

def tally(yes: int, no: int = 0, abstain: int = 0, *, present: int = 20, members: int = 30,
          recused: int = 0, rule: PassRule = PassRule.MAJORITY_OF_PRESENT,
          recusal_counts_present: bool = True):  # type: ignore[no-untyped-def]
    ballots = [Choice.YES] * yes + [Choice.NO] * no + [Choice.ABSTAIN] * abstain
    return count(ballots, present=present, members=members, recused=recused, rule=rule,
                 recusal_counts_present=recusal_counts_present)


@pytest.mark.parametrize(("yes", "no", "abstain", "passed"), [
    (10, 10, 0, False),  # a tie fails
    (10, 0, 10, False),  # abstentions count against
    (10, 0, 0, False),  # missing ballots count against
    (11, 9, 0, True), (11, 0, 9, True), (11, 0, 0, True),
])
def test_the_law_needs_yes_from_more_than_half_of_those_present(
        yes: int, no: int, abstain: int, passed: bool) -> None:
    result = tally(yes, no, abstain)
    assert result.passed is passed and result.needed == 11 and result.base == 20


@pytest.mark.parametrize(("yes", "passed"), [(13, False), (14, True)])
def test_two_thirds_of_those_present_for_a_stricter_category(yes: int, passed: bool) -> None:
    result = tally(yes, 20 - yes, rule=PassRule.TWO_THIRDS_OF_PRESENT)
    assert result.passed is passed and result.needed == 14


@pytest.mark.parametrize(("yes", "passed"), [(15, False), (16, True)])
def test_more_than_half_of_all_members(yes: int, passed: bool) -> None:
    result = tally(yes, 20 - yes, rule=PassRule.MAJORITY_OF_ALL)
    assert result.passed is passed and result.base == 30 and result.needed == 16


def test_recused_members_count_as_present_by_default_and_can_be_left_out() -> None:
    # 20 present, 2 recused, 10 yes of 18 voting
    assert not tally(10, 8, recused=2).passed  # 10 > 20/2 fails
    leave_out = tally(10, 8, recused=2, recusal_counts_present=False)
    assert leave_out.passed and leave_out.base == 18


def test_more_ballots_than_members_present_is_refused() -> None:
    with pytest.raises(Conflict) as info:
        tally(15, 6)
    assert info.value.rule == "assembly.tally"


@given(members=st.integers(1, 60), data=st.data(),
       rule=st.sampled_from(list(PassRule)), counts_present=st.booleans())
def test_the_tally_equals_an_independent_recount(members: int, data: st.DataObject,
                                                  rule: PassRule, counts_present: bool) -> None:
    present = data.draw(st.integers(0, members))
    recused = data.draw(st.integers(0, present))
    ballots = data.draw(st.lists(st.sampled_from(list(Choice)), max_size=present - recused))
    result = count(ballots, present=present, members=members, recused=recused, rule=rule,
                   recusal_counts_present=counts_present)
    yes = sum(1 for b in ballots if b == "yes")
    assert (result.yes, result.no, result.abstain) == (
        yes, sum(1 for b in ballots if b == "no"), sum(1 for b in ballots if b == "abstain"))
    base = (members if rule == "majority_of_all" else present) - (0 if counts_present
                                                                    else recused)
    expected = yes * 3 >= base * 2 if rule == "two_thirds_of_present" else yes * 2 > base
    assert result.passed is (expected and base > 0)
    assert result.not_voted == present - recused - len(ballots)


# --- Notice and requests ------------------------------------------------------------------------

@pytest.mark.parametrize(("meeting", "ok"), [(D(2026, 11, 25), True), (D(2026, 11, 24), False),
                                             (D(2026, 11, 22), False)])
def test_members_get_at_least_the_notice_days(meeting: dt.date, ok: bool) -> None:
    if ok:
        check_notice(meeting, D(2026, 11, 22), 3)
    else:
        with pytest.raises(Conflict) as info:
            check_notice(meeting, D(2026, 11, 22), 3)
        assert info.value.rule == "assembly.notice"
        assert info.value.params["earliest"] == "2026-11-25"


@pytest.mark.parametrize(("requests", "reps", "forced"), [(4, 20, True), (3, 20, False),
                                                          (5, 21, True), (4, 21, False),
                                                          (0, 0, False)])
def test_a_fifth_of_the_representatives_force_a_meeting(requests: int, reps: int,
                                                         forced: bool) -> None:
    assert requests_force_a_meeting(requests, reps) is forced


# --- Who may vote -------------------------------------------------------------------------------

OK = Voter(member=True, present=True, recused=False, voted=False)


@pytest.mark.parametrize(("poll", "voter", "rule"), [
    (PollState.CLOSED, OK, "assembly.poll_closed"),
    (PollState.OPEN, Voter(False, True, False, False), "assembly.not_member"),
    (PollState.OPEN, Voter(True, True, True, False), "assembly.recused"),
    (PollState.OPEN, Voter(True, False, False, False), "assembly.not_present"),
    (PollState.OPEN, Voter(True, True, False, True), "assembly.one_ballot"),
])
def test_a_ballot_is_refused_naming_the_rule(poll: PollState, voter: Voter, rule: str) -> None:
    with pytest.raises((Conflict, NotPermitted)) as info:
        check_ballot(poll, voter)
    assert info.value.rule == rule


def test_a_present_member_votes_once_in_an_open_poll() -> None:
    check_ballot(PollState.OPEN, OK)


@pytest.mark.parametrize("value", ["YES", "maybe", "", None, 1, "同意"])
def test_unknown_choices_are_refused(value: object) -> None:
    with pytest.raises(InvalidField) as info:
        parse_choice(value)
    assert info.value.rule == "assembly.choice"


def test_recusal_comes_before_voting() -> None:
    check_recusal(PollState.OPEN, OK)
    for poll, voter, rule in (
            (PollState.CLOSED, OK, "assembly.poll_closed"),
            (PollState.OPEN, replace(OK, voted=True), "assembly.recusal_after_vote"),
            (PollState.OPEN, replace(OK, recused=True), "assembly.recusal_after_vote"),
            (PollState.OPEN, replace(OK, member=False), "assembly.not_member"),
            (PollState.OPEN, replace(OK, present=False), "assembly.not_present"),
            (PollState.OPEN, replace(OK, present_at_open=False), "assembly.late")):
        with pytest.raises(DomainError) as info:
            check_recusal(poll, voter)
        assert info.value.rule == rule


# --- One open poll per matter (issue 13 item 6) -------------------------------------------------


@pytest.mark.parametrize(("awaiting", "open_at", "rule"), [
    (True, None, None),
    (True, 2, "assembly.one_poll_per_matter"),
    (False, None, "assembly.one_poll_per_matter"),
    (False, 2, "assembly.one_poll_per_matter"),
])
def test_a_poll_opens_only_on_a_matter_awaiting_the_vote_and_open_nowhere(
        awaiting: bool, open_at: int | None, rule: str | None) -> None:
    refusal = poll_opening_refusal("2026-001", awaiting, open_at)
    assert (refusal.rule if refusal else None) == rule


@pytest.mark.parametrize(("awaiting", "opened_before"), [
    (True, False), (True, True), (False, False), (False, True)])
def test_a_poll_is_either_tallied_or_voided_never_both_nor_neither(
        awaiting: bool, opened_before: bool) -> None:
    tally = poll_tally_refusal("2026-001", awaiting, opened_before)
    void = poll_void_refusal("2026-001", awaiting, opened_before)
    assert (tally is None) != (void is None)
    assert (tally is None) == (awaiting and not opened_before)
    for refusal in (tally, void):
        assert refusal is None or refusal.rule == "assembly.poll_void"


def test_a_suspended_poll_is_unfinished_like_an_open_one() -> None:
    assert {s for s in PollState if s.unfinished} == {PollState.OPEN, PollState.SUSPENDED}


# --- Secret ballots (issue 13, item 1) ------------------------------------------------------------


def test_a_secret_ballot_record_says_meeting_poll_ballot_and_choice_only() -> None:
    from sunvote.domain.assembly import (
        SECRET_BALLOT_KEYS,
        secret_ballot_body,
        secret_ballot_linkable,
    )

    body = secret_ballot_body(1, 2, "AbCdEfGhIjKlMnOpQrStUv", Choice.NO)
    assert set(body) == SECRET_BALLOT_KEYS and body["choice"] == "no"
    assert secret_ballot_linkable(body) is None
    old = secret_ballot_linkable({**body, "channel": "cloud"})
    assert old is not None and old.rule == "ballot.secret_linkable"
    assert old.params == {"keys": "channel"}


def test_a_secret_ballots_choice_is_shown_only_on_its_own_device_after_close_in_the_window(
        ) -> None:
    from sunvote.domain.assembly import SECRET_RECEIPT_WINDOW, check_secret_receipt

    closed = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)
    assert check_secret_receipt(closed, closed + dt.timedelta(minutes=1), True) is None
    assert check_secret_receipt(closed, closed + SECRET_RECEIPT_WINDOW, True) is None
    for refusal in (check_secret_receipt(None, closed, True),
                    check_secret_receipt(closed, closed, False),
                    check_secret_receipt(closed, closed + SECRET_RECEIPT_WINDOW
                                         + dt.timedelta(seconds=1), True)):
        assert refusal is not None and refusal.rule == "assembly.ballot_sealed"


@pytest.mark.parametrize(("rule", "counts_present", "expected"), [
    (PassRule.MAJORITY_OF_PRESENT, True, (18, 10)),
    (PassRule.MAJORITY_OF_PRESENT, False, (16, 9)),   # the two recused leave the base
    (PassRule.MAJORITY_OF_ALL, True, (23, 12)),
    (PassRule.TWO_THIRDS_OF_PRESENT, True, (18, 12)),
])
def test_the_votes_needed_to_pass_are_the_ones_the_tally_applies(
        rule: PassRule, counts_present: bool, expected: tuple[int, int]) -> None:
    """The hall screen shows pass_threshold's number while the poll is open; count() uses the
    same function, so a poll with exactly that many "yes" passes and one fewer fails."""
    assert pass_threshold(rule, present=18, members=23, recused=2,
                          recusal_counts_present=counts_present) == expected
    needed = expected[1]
    for yes, passed in ((needed, True), (needed - 1, False)):
        tally = count([Choice.YES] * yes, present=18, members=23, recused=2, rule=rule,
                      recusal_counts_present=counts_present)
        assert (tally.base, tally.needed, tally.passed) == (*expected, passed)


# --- The meeting's and the poll's lives (issue 17: one table each, as matters have) -----------


def test_a_meeting_is_convened_then_opened_then_closed_and_acts_only_while_open() -> None:
    from sunvote.domain.assembly import MeetingAction, meeting_transition

    convened, open_, closed = MeetingState.CONVENED, MeetingState.OPEN, MeetingState.CLOSED
    assert meeting_transition(convened, MeetingAction.OPEN) is open_
    assert meeting_transition(open_, MeetingAction.CLOSE) is closed
    for action in (MeetingAction.CHECK_IN, MeetingAction.OPEN_POLL):
        assert meeting_transition(open_, action) is open_
    for state, action in ((convened, MeetingAction.CLOSE), (closed, MeetingAction.OPEN),
                          (open_, MeetingAction.OPEN), (convened, MeetingAction.CHECK_IN),
                          (closed, MeetingAction.CHECK_IN), (closed, MeetingAction.OPEN_POLL)):
        with pytest.raises(Conflict) as info:
            meeting_transition(state, action)
        assert info.value.rule == "assembly.meeting_state"


def test_a_poll_ends_once_closed_or_voided_and_a_suspended_one_only_voided() -> None:
    from sunvote.domain.assembly import PollAction, poll_transition

    assert poll_transition(PollState.OPEN, PollAction.CLOSE) is PollState.CLOSED
    assert poll_transition(PollState.OPEN, PollAction.VOID) is PollState.VOID
    assert poll_transition(PollState.SUSPENDED, PollAction.VOID) is PollState.VOID
    for state, action in ((PollState.SUSPENDED, PollAction.CLOSE),
                          (PollState.CLOSED, PollAction.CLOSE), (PollState.VOID, PollAction.VOID),
                          (PollState.CLOSED, PollAction.VOID)):
        with pytest.raises(Conflict) as info:
            poll_transition(state, action)
        assert info.value.rule == "assembly.poll_closed"
