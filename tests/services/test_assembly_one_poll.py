"""One open poll per matter (issue 13 item 6): a matter is put to the vote at one meeting at a
time — refused by the service and by the database's own partial unique index — and a poll
that cannot be tallied (its matter decided at another meeting) is voided, so every meeting
can be closed. The exported ledger verifies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import IntegrityError

from sunvote.domain.assembly import PollState
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import Poll
from sunvote.services import assembly, ballots, exports, ledger, polls, verification
from tests.services.test_assembly import DAY, T0, matter, opened_meeting, pid, records, village

AT = T0 + 3 * DAY


def two_meetings_on_the_road():  # type: ignore[no-untyped-def]
    """Meetings 1 and 2, both with the road (2026-001) on their agenda, open with everyone
    present, and a poll on the road open at meeting 1."""
    first, roster = opened_meeting([matter("001").id])
    second, _ = opened_meeting([matter("001").id])
    poll = polls.open_poll(pid("张敏"), first.id, matter("001").id, now=AT)
    return first, second, poll, roster


def test_a_matter_being_voted_on_at_one_meeting_cannot_be_put_to_the_vote_at_another(
        demo: Flask) -> None:
    with demo.app_context():
        first, second, _poll, _ = two_meetings_on_the_road()
        before = records()
        with pytest.raises(DomainError) as info:
            polls.open_poll(pid("张敏"), second.id, matter("001").id, now=AT)
        assert info.value.rule == "assembly.one_poll_per_matter"
        assert f"第{first.number}次会议" in info.value.render(lambda s: s)
        assert records() == before
        assert not second.polls


def test_the_database_refuses_a_second_open_poll_on_a_matter_by_itself(demo: Flask) -> None:
    with demo.app_context():
        _first, second, poll, _ = two_meetings_on_the_road()
        db.session.add(Poll(meeting_id=second.id, number=1, matter_id=poll.matter_id,
                            mode="named", state=PollState.OPEN.value, present=23, members=23,
                            quorum="2/3", rule=poll.rule, recusal_counts_present=True,
                            opened_by_id=pid("张敏")))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        # A poll that is not open (closed, void, suspended) does not count against it.
        db.session.add(Poll(meeting_id=second.id, number=1, matter_id=poll.matter_id,
                            mode="named", state=PollState.VOID.value, present=23, members=23,
                            quorum="2/3", rule=poll.rule, recusal_counts_present=True,
                            opened_by_id=pid("张敏")))
        db.session.flush()
        db.session.rollback()


def test_once_the_matter_is_decided_it_cannot_be_put_to_the_vote_again(demo: Flask) -> None:
    with demo.app_context():
        _first, second, poll, roster = two_meetings_on_the_road()
        for member in roster:
            ballots.cast_ballot(member, poll.id, member, "yes", now=AT)
        polls.close_poll(pid("张敏"), poll.id, now=AT)
        with pytest.raises(DomainError) as info:
            polls.open_poll(pid("张敏"), second.id, matter("001").id, now=AT)
        assert info.value.rule == "assembly.one_poll_per_matter"


def test_a_poll_that_can_be_tallied_cannot_be_voided(demo: Flask) -> None:
    with demo.app_context():
        first, _second, poll, roster = two_meetings_on_the_road()
        ballots.cast_ballot(roster[0], poll.id, roster[0], "no", now=AT)
        before = records()
        with pytest.raises(DomainError) as info:
            polls.void_poll(pid("张敏"), poll.id, "临时取消", now=AT)
        assert info.value.rule == "assembly.poll_void"
        assert records() == before
        with pytest.raises(DomainError) as info:
            assembly.close_meeting(pid("张敏"), first.id, now=AT)
        assert info.value.rule == "assembly.poll_state"


def legacy_second_poll(monkeypatch: pytest.MonkeyPatch, meeting_id: int, voter: int,
                       at: dt.datetime = AT) -> Poll:
    """What the old version wrote: a second open poll on the road (row and poll.open record)
    with a ballot in it — its rule patched out and the index dropped — then the upgrade's own
    SQL (migration 20261205_0017) and the index back."""
    import importlib.util

    path = (Path(__file__).resolve().parents[2] / "migrations" / "versions"
            / "20261205_0017_one_open_poll_per_matter.py")
    spec = importlib.util.spec_from_file_location("migration_0017", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    index = next(i for i in Poll.__table__.indexes if i.name == "uq_poll_open_matter")
    index.drop(db.session.connection())
    db.session.commit()  # each use case below runs in its own transaction
    try:
        with monkeypatch.context() as old:
            old.setattr(polls, "poll_opening_refusal", lambda *args: None)
            old.setattr(ballots, "tally_refusal", lambda poll: None)
            poll = polls.open_poll(pid("张敏"), meeting_id, matter("001").id, now=at)
            ballots.cast_ballot(voter, poll.id, voter, "no", now=at)
    finally:  # the upgrade; on PostgreSQL the schema outlives the test
        db.session.rollback()
        db.session.execute(db.text(migration.SUSPEND_DUPLICATES))
        index.create(db.session.connection())
        db.session.commit()
    db.session.refresh(poll)
    return poll


def test_two_open_polls_left_by_the_old_version_end_and_both_meetings_close(
        demo: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with demo.app_context():
        first, second, poll, roster = two_meetings_on_the_road()
        size = ledger.head(village().id).size  # type: ignore[union-attr]
        stale = legacy_second_poll(monkeypatch, second.id, roster[3])
        assert stale.state == PollState.SUSPENDED.value
        clerk = pid("张敏")
        # The suspended poll takes no more ballots and cannot be counted; it can be voided.
        with pytest.raises(DomainError):
            ballots.cast_ballot(roster[4], stale.id, roster[4], "yes", now=AT)
        with pytest.raises(DomainError):
            polls.close_poll(clerk, stale.id, now=AT)
        with pytest.raises(DomainError) as info:
            assembly.close_meeting(clerk, second.id, now=AT)
        assert info.value.rule == "assembly.poll_state"
        # The first poll is counted; the second is voided; both meetings close.
        for member in roster:
            ballots.cast_ballot(member, poll.id, member, "yes", now=AT)
        assert polls.close_poll(clerk, poll.id, now=AT).passed
        voided = polls.void_poll(clerk, stale.id, "该事项已在另一次会议表决通过", now=AT)
        assert (voided.state, voided.void_reason) == ("void", "该事项已在另一次会议表决通过")
        assembly.close_meeting(clerk, second.id, now=AT)
        assembly.close_meeting(clerk, first.id, now=AT)
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    # The old version's second poll.open is flagged, and so is the ballot it took.
    assert {(f.index, f.type) for f in report.failures} == {
        (size, "poll.open"), (size + 1, "ballot.cast")}, report.failures
    assert "[assembly.one_poll_per_matter]" in report.failures[0].reason


def test_a_poll_left_open_after_its_matter_passed_elsewhere_is_voided(
        demo: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The reported state: the matter passed at meeting 1, the old version's poll at meeting 2
    is still open. It takes no ballot, cannot be counted, is voided, and its meeting closes."""
    with demo.app_context():
        _first, second, poll, roster = two_meetings_on_the_road()
        stale = legacy_second_poll(monkeypatch, second.id, roster[3])
        clerk = pid("张敏")
        for member in roster:
            ballots.cast_ballot(member, poll.id, member, "yes", now=AT)
        polls.close_poll(clerk, poll.id, now=AT)
        assert matter("001").state == "passed"
        before = records()
        with pytest.raises(DomainError) as info:
            polls.void_poll(clerk, stale.id, " ", now=AT)
        assert info.value.rule == "procedure.required_fields"
        assert records() == before
        polls.void_poll(clerk, stale.id, "该事项已在另一次会议表决通过", now=AT + dt.timedelta(
            minutes=1))
        assembly.close_meeting(clerk, second.id, now=AT)
        assert second.state == "closed"


def test_a_poll_whose_matter_is_sent_back_meanwhile_is_voided_and_the_log_verifies(
        demo: Flask, tmp_path: Path) -> None:
    """Not only old data: the supervisory committee may send a matter back (flag_breach) while
    its poll is open. The poll then takes no ballot, paper ones included, cannot be counted,
    is voided, and the meeting closes; the ledger verifies without a failure."""
    from sunvote.domain.procedure import Action
    from sunvote.services import matters
    from tests.services.test_assembly import SHEET

    with demo.app_context():
        meeting, roster = opened_meeting([matter("001").id])
        clerk = pid("张敏")
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, now=AT)
        ballots.cast_ballot(roster[0], poll.id, roster[0], "yes", now=AT)
        batch = ballots.enter_paper(clerk, poll.id, [(roster[1], "no")], SHEET, now=AT)
        matters.act(matter("001").id, Action.FLAG_BREACH, pid("刘芳"),
                    {"breach_step": "discuss", "reason": "会议材料未按时送达代表。"}, now=AT)
        before = records()
        for attempt in (
                lambda: ballots.cast_ballot(roster[2], poll.id, roster[2], "yes", now=AT),
                lambda: ballots.enter_paper(clerk, poll.id, [(roster[3], "no")], SHEET, now=AT),
                lambda: ballots.confirm_paper(pid("刘芳"), batch.id, now=AT),
                lambda: polls.close_poll(clerk, poll.id, now=AT),
                lambda: assembly.close_meeting(clerk, meeting.id, now=AT)):
            with pytest.raises(DomainError) as info:
                attempt()
            assert info.value.rule in ("assembly.poll_void", "assembly.poll_state")
        assert records() == before
        polls.void_poll(clerk, poll.id, "监督委员会指出程序违规，事项退回商议", now=AT)
        assembly.close_meeting(clerk, meeting.id, now=AT)
        # The tables agree with the log: the poll row is void, as its poll.void says.
        assert verification.compare_tables(village()) == []
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert report.failures == (), report.failures[:5]
