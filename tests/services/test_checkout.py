"""Attendance as clerks run it (issue 15, item 3): checking in several members at once, "all
present except …", and leaving (离场) — a member who leaves no longer counts for the quorum and
the base of later polls, the poll already open keeps its count and takes no more ballot from
them, they may check in again; the log verifies offline and the tables match it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.assembly import VoteMode
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import Attendance, LedgerRecord, Meeting, PaperBatch, RoleAssignment
from sunvote.services import assembly, ballots, exports, ledger, polls, verification

from .test_assembly import SHEET, file_second_matter, matter, members, pid, village
from .test_cloud import AT, T0, snapshot

CLERK = "张敏"


def bodies(type_: str) -> list[dict[str, Any]]:
    return [dict(parse_record(data).body) for data in db.session.execute(
        select(LedgerRecord.data).where(LedgerRecord.type == type_)
        .order_by(LedgerRecord.seq)).scalars()]


def present(meeting: Meeting) -> set[int]:
    return set(db.session.execute(select(Attendance.person_id).where(
        Attendance.meeting_id == meeting.id)).scalars())


def opened(matters: list[int] | None = None, convened_only: bool = False
           ) -> tuple[Meeting, list[int]]:
    clerk = pid(CLERK)
    meeting = assembly.convene(clerk, village().id, "2026年第四季度村民代表会议", "村委会议室",
                               AT, matters or [matter("001").id], now=T0)
    if not convened_only:
        assembly.open_meeting(clerk, meeting.id, now=AT)
    return meeting, members(meeting.id)


def outsider() -> int:
    """Someone holding a role in another village only."""
    mine = village().id
    return db.session.execute(select(RoleAssignment.person_id).where(
        RoleAssignment.village_id != mine,
        RoleAssignment.person_id.not_in(select(RoleAssignment.person_id).where(
            RoleAssignment.village_id == mine)))).scalars().first() or 0


def test_the_clerk_checks_in_the_selected_members_one_record_each(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = opened()
        chosen = roster[2:7]
        done = assembly.check_in_many(pid(CLERK), meeting.id, [str(m) for m in chosen], now=AT)
        assert sorted(a.person_id for a in done) == sorted(chosen)
        assert present(meeting) == set(chosen)
        attended = bodies("meeting.attend")
        assert [b["member"] for b in attended] == chosen
        assert {(b["channel"], b["proof"], b["role"], b["person"]) for b in attended} == {
            ("hall", "clerk", "clerk", pid(CLERK))}


def test_all_present_except_checks_in_everyone_else_not_yet_present(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = opened()
        assembly.check_in(pid(CLERK), meeting.id, roster[0], now=AT)
        away = [roster[3], roster[-1]]
        done = assembly.check_in_all_except(pid(CLERK), meeting.id, away, now=AT)
        assert sorted(a.person_id for a in done) == sorted(set(roster[1:]) - set(away))
        assert present(meeting) == set(roster) - set(away)
        assert len(bodies("meeting.attend")) == len(roster) - 2


BULK_CASES = {
    "empty selection": ("many", lambda r: [], "input.invalid"),
    "non-numeric id": ("many", lambda r: [str(r[0]), "abc"], "input.invalid"),
    "superscript digit": ("many", lambda r: ["²"], "input.invalid"),
    "the same member twice": ("many", lambda r: [r[0], r[0]], "input.invalid"),
    "unknown member id": ("many", lambda r: [r[0], 999999], "assembly.not_member"),
    "member of another village": ("many", lambda r: [r[0], outsider()],
                                  "assembly.not_member"),
    "already present": ("many", lambda r: [r[1], r[0]], "assembly.attendance"),
    "absent one is present": ("except", lambda r: [r[0]], "assembly.attendance"),
    "absent one unknown": ("except", lambda r: [999999], "assembly.not_member"),
    "absent one not numeric": ("except", lambda r: ["x1"], "input.invalid"),
    "nobody remains": ("except", lambda r: r[1:], "input.invalid"),
}


@pytest.mark.parametrize("case", BULK_CASES)
def test_a_bad_selection_is_refused_as_a_whole_and_writes_nothing(demo: Flask,
                                                                   case: str) -> None:
    kind, selection, rule = BULK_CASES[case]
    with demo.app_context():
        meeting, roster = opened()
        assembly.check_in(pid(CLERK), meeting.id, roster[0], now=AT)
        before = snapshot()
        act = assembly.check_in_many if kind == "many" else assembly.check_in_all_except
        with pytest.raises(DomainError) as refused:
            act(pid(CLERK), meeting.id, selection(roster), now=AT)
        assert refused.value.rule == rule
        db.session.rollback()
        assert snapshot() == before


@pytest.mark.parametrize("state", ["convened", "closed"])
def test_bulk_check_in_and_leaving_need_an_open_meeting(demo: Flask, state: str) -> None:
    with demo.app_context():
        meeting, roster = opened(convened_only=state == "convened")
        roster = roster or list(assembly.assembly_roster(village(), AT))
        if state == "closed":
            assembly.check_in(pid(CLERK), meeting.id, roster[0], now=AT)
            assembly.close_meeting(pid(CLERK), meeting.id, now=AT)
        before = snapshot()
        for act in (lambda: assembly.check_in_many(pid(CLERK), meeting.id, [roster[1]], now=AT),
                    lambda: assembly.check_in_all_except(pid(CLERK), meeting.id, [], now=AT),
                    lambda: assembly.leave(pid(CLERK), meeting.id, roster[0], now=AT)):
            with pytest.raises(DomainError) as refused:
                act()
            assert refused.value.rule == "assembly.meeting_state"
            db.session.rollback()
        assert snapshot() == before


def test_only_a_runner_checks_in_others_and_only_the_member_or_a_runner_records_leaving(
        demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = opened()
        representative, other = [m.person_id for m in meeting.members
                                 if m.roles == "representative"][:2]
        assembly.check_in_many(pid(CLERK), meeting.id, [representative, other], now=AT)
        before = snapshot()
        with pytest.raises(DomainError, match=r"procedure\.role"):
            assembly.check_in_many(representative, meeting.id, roster[5:6], now=AT)
        db.session.rollback()
        with pytest.raises(DomainError, match=r"procedure\.role"):
            assembly.leave(representative, meeting.id, other, now=AT)
        db.session.rollback()
        assert snapshot() == before


@pytest.mark.parametrize("case", ["not present", "left already", "not on the roster"])
def test_leaving_is_refused_for_someone_not_present(demo: Flask, case: str) -> None:
    with demo.app_context():
        meeting, roster = opened()
        assembly.check_in(pid(CLERK), meeting.id, roster[0], now=AT)
        member = {"not present": roster[1], "left already": roster[0],
                  "not on the roster": outsider()}[case]
        if case == "left already":
            assembly.leave(pid(CLERK), meeting.id, member, now=AT)
        before = snapshot()
        with pytest.raises(DomainError) as refused:
            assembly.leave(pid(CLERK), meeting.id, member, now=AT)
        assert refused.value.rule == {"not on the roster": "assembly.not_member"}.get(
            case, "assembly.leave")
        db.session.rollback()
        assert snapshot() == before


def test_a_member_who_leaves_counts_absent_for_later_polls_and_may_come_back(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        file_second_matter()
        clerk = pid(CLERK)
        meeting, roster = opened([matter("001").id, matter("002").id])
        assembly.check_in_many(clerk, meeting.id, roster, now=AT)
        first = polls.open_poll(clerk, meeting.id, matter("001").id, VoteMode.NAMED, now=AT)
        assert first.present == len(roster)
        later = AT + dt.timedelta(minutes=10)
        # One leaves by their own word, one is recorded leaving by the clerk, during the poll.
        own, marked, paper = roster[-1], roster[-2], roster[-3]
        ballots.enter_paper(clerk, first.id, [(paper, "yes")], SHEET, now=later)
        assembly.leave(own, meeting.id, own, now=later)
        assembly.leave(clerk, meeting.id, marked, now=later)
        assembly.leave(clerk, meeting.id, paper, now=later)  # after handing in their paper
        assert [(b["member"], b["role"], b["person"]) for b in bodies("meeting.leave")] == [
            (own, "member", own), (marked, "clerk", clerk), (paper, "clerk", clerk)]
        # The open poll keeps its count; the one who left votes on it no more, even once back.
        db.session.refresh(first)
        assert first.present == len(roster)
        with pytest.raises(DomainError, match=r"assembly\.not_present"):
            ballots.cast_ballot(own, first.id, own, "yes", now=later)
        db.session.rollback()
        assembly.check_in(clerk, meeting.id, marked, now=later)
        with pytest.raises(DomainError, match=r"assembly\.late"):
            ballots.cast_ballot(marked, first.id, marked, "yes", now=later)
        db.session.rollback()
        ballots.confirm_paper(pid("刘芳"), _batch(first.id), now=later)
        for member in roster[:-3]:
            ballots.cast_ballot(member, first.id, member, "yes", now=later)
        polls.close_poll(clerk, first.id, now=later)
        # The next poll counts the present now: two left, one of them came back.
        second = polls.open_poll(clerk, meeting.id, matter("002").id, VoteMode.SECRET,
                                 now=later)
        assert second.present == len(roster) - 2
        ballots.cast_ballot(marked, second.id, marked, "no", now=later)  # back: votes on it
        polls.close_poll(clerk, second.id, now=later)
        assembly.close_meeting(clerk, meeting.id, now=later)
        assert verification.compare_tables(village()) == []
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]


def _batch(poll_id: int) -> int:
    return db.session.execute(select(PaperBatch.id).where(
        PaperBatch.poll_id == poll_id)).scalar_one()

