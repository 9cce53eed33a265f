"""The assembly against the database: convene, open, check in, polls named and secret, recusal,
paper ballots, the tally, the matter's result — refusals write nothing, and the exported ledger
verifies with the offline verifier."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sunvote.domain.assembly import Channel, VoteMode
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.procedure import Action
from sunvote.extensions import db
from sunvote.models import (
    Ballot,
    LedgerRecord,
    Matter,
    MeetingMember,
    Participation,
    Person,
    Poll,
    Village,
)
from sunvote.services import assembly, ballots, exports, ledger, matters, polls
from sunvote.services.files import Upload
from sunvote.services.settings import change_setting

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
SHEET = Upload("计票单.png", b"\x89PNG\r\n\x1a\n" + b"sheet" * 20)


def pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def village() -> Village:
    return db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()


def matter(suffix: str) -> Matter:
    return db.session.execute(select(Matter).where(
        Matter.number.like(f"%-{suffix}"), Matter.village_id == village().id)).scalar_one()


def records() -> int:
    return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def types_since(size: int) -> list[str]:
    return list(db.session.execute(select(LedgerRecord.type).where(
        LedgerRecord.village_id == village().id, LedgerRecord.seq >= size)
        .order_by(LedgerRecord.seq)).scalars())


def file_second_matter() -> None:
    """Take the demo's proposed matter 2026-002 through deliberation and filing."""
    m = matter("002")
    matters.act(m.id, Action.DISCUSS, pid("张敏"), {
        "meeting_date": T0.date().isoformat(), "expected": 9, "present": 9,
        "minutes": "同意提交审议", "plan": "公开竞价发包"}, now=T0)
    matters.act(m.id, Action.FILE, pid("孙伟"), {"filing_no": "阳光镇备〔2026〕18号"}, now=T0)


def members(meeting_id: int) -> list[int]:
    return list(db.session.execute(select(MeetingMember.person_id).where(
        MeetingMember.meeting_id == meeting_id).order_by(MeetingMember.person_id)).scalars())


def opened_meeting(matter_ids: list[int], present: int | None = None):  # type: ignore[no-untyped-def]
    """A meeting convened at T0 for three days later, opened, with ``present`` members (all if
    None) checked in by the clerk."""
    clerk = pid("张敏")
    meeting = assembly.convene(clerk, village().id, "2026年第四季度村民代表会议", "村委会议室",
                               T0 + 3 * DAY, matter_ids, now=T0)
    assembly.open_meeting(clerk, meeting.id, now=T0 + 3 * DAY)
    roster = members(meeting.id)
    for member in roster[: len(roster) if present is None else present]:
        assembly.check_in(clerk, meeting.id, member, now=T0 + 3 * DAY)
    return meeting, roster


def test_a_whole_meeting_named_and_secret_polls_with_paper_ballots(demo: Flask,
                                                                   tmp_path: Path) -> None:
    with demo.app_context():
        file_second_matter()
        start = ledger.head(village().id).size  # type: ignore[union-attr]
        road, forest = matter("001"), matter("002")
        meeting, roster = opened_meeting([road.id, forest.id])
        assert len(roster) == 23  # director, two committee members, twenty representatives
        clerk, at = pid("张敏"), T0 + 3 * DAY
        # Named poll on the road: 20 yes by their own phones, 2 no, 1 abstains.
        poll = polls.open_poll(clerk, meeting.id, road.id, VoteMode.NAMED, now=at)
        choices = ["yes"] * 20 + ["no"] * 2 + ["abstain"]
        for member, choice in zip(roster, choices, strict=True):
            ballots.cast_ballot(member, poll.id, member, choice, now=at)
        tally = polls.close_poll(clerk, poll.id, now=at)
        assert (tally.yes, tally.no, tally.abstain, tally.passed) == (20, 2, 1, True)
        assert matter("001").state == "passed"
        # Secret poll on the forest: one member recuses, 3 vote on paper, the rest by phone.
        secret = polls.open_poll(clerk, meeting.id, forest.id, VoteMode.SECRET, now=at)
        ballots.recuse(roster[0], secret.id, roster[0], "本人承包了部分林地", now=at)
        batch = ballots.enter_paper(clerk, secret.id,
                                    [(m, "no") for m in roster[1:4]], SHEET, now=at)
        with pytest.raises(DomainError) as info:
            polls.close_poll(clerk, secret.id, now=at)
        assert info.value.rule == "assembly.paper_unconfirmed"
        ballots.confirm_paper(pid("刘芳"), batch.id, now=at)
        for member in roster[4:]:
            ballots.cast_ballot(member, secret.id, member, "yes", now=at)
        submitted = [b.code for b in db.session.execute(select(Ballot).where(
            Ballot.poll_id == secret.id).order_by(Ballot.id)).scalars()]
        tally = polls.close_poll(clerk, secret.id, now=at, rng=random.Random(5))
        # 19 yes of 23 present (the recused counts as present by default): passes.
        assert (tally.yes, tally.no, tally.recused, tally.passed) == (19, 3, 1, True)
        assembly.close_meeting(clerk, meeting.id, now=at)
        kinds = types_since(start)
        assert kinds.count("ballot.cast") == 23 and kinds.count("ballot.secret") == 22
        assert kinds.count("poll.participation") == 22 and kinds.count("poll.tally") == 2
        # Secret ballots: no identity, no time, in one batch right after the close.
        close = kinds.index("poll.close", kinds.index("poll.tally") + 1)
        assert kinds[close + 1: close + 23] == ["ballot.secret"] * 22
        rows = list(db.session.execute(select(LedgerRecord).where(
            LedgerRecord.type == "ballot.secret").order_by(LedgerRecord.seq)).scalars())
        bodies = [parse_record(r.data).body for r in rows]
        assert all(set(b) == {"meeting", "poll", "ballot", "choice"} for b in bodies)
        assert [b["ballot"] for b in bodies] != submitted  # shuffled, not submission order
        assert sorted(b["ballot"] for b in bodies) == sorted(submitted)
        # The rows were re-inserted in the shuffled order, with no channel and no paper batch:
        # nothing in them lines up with the participations.
        rows_now = list(db.session.execute(select(Ballot).where(
            Ballot.poll_id == secret.id).order_by(Ballot.id)).scalars())
        assert [b.code for b in rows_now] == [b["ballot"] for b in bodies]
        assert {(b.channel, b.paper_batch_id, b.voter_id, b.cast_at) for b in rows_now} == {
            (None, None, None, None)}
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]


@pytest.mark.parametrize(("present", "opens"), [(15, False), (16, True)])
def test_a_poll_opens_only_with_two_thirds_of_the_members_present(demo: Flask, present: int,
                                                                   opens: bool) -> None:
    with demo.app_context():
        meeting, _ = opened_meeting([matter("001").id], present=present)
        before = records()
        if opens:  # 23 members: ⌈46/3⌉ = 16
            polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=T0 + 3 * DAY)
            assert records() == before + 1
        else:
            with pytest.raises(DomainError) as info:
                polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=T0 + 3 * DAY)
            assert info.value.rule == "assembly.quorum"
            assert records() == before


def test_a_stricter_quorum_setting_applies(demo: Flask) -> None:
    with demo.app_context():
        change_setting(village().township_id, "quorum", "3/4", pid("吴静"), now=T0)
        meeting, _ = opened_meeting([matter("001").id], present=17)  # ⌈69/4⌉ = 18
        with pytest.raises(DomainError):
            polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=T0 + 3 * DAY)


def test_convening_with_too_short_notice_or_an_unfiled_matter_is_refused(demo: Flask) -> None:
    with demo.app_context():
        before = records()
        with pytest.raises(DomainError) as info:
            assembly.convene(pid("张敏"), village().id, "临时会议", "会议室", T0 + 2 * DAY,
                             [matter("001").id], now=T0)
        assert info.value.rule == "assembly.notice"
        with pytest.raises(DomainError) as info:
            assembly.convene(pid("张敏"), village().id, "临时会议", "会议室", T0 + 5 * DAY,
                             [matter("002").id], now=T0)
        assert info.value.rule == "assembly.agenda"
        with pytest.raises(DomainError):  # a representative does not convene
            assembly.convene(pid("李秀英"), village().id, "会议", "会议室", T0 + 5 * DAY,
                             [matter("001").id], now=T0)
        assert records() == before


def test_one_ballot_per_member_per_poll_whatever_the_channel(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = opened_meeting([matter("001").id])
        at, clerk = T0 + 3 * DAY, pid("张敏")
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, now=at)
        ballots.cast_ballot(roster[5], poll.id, roster[5], "yes", now=at)
        before = records()
        for attempt in (
                lambda: ballots.cast_ballot(roster[5], poll.id, roster[5], "no", now=at),
                lambda: ballots.cast_ballot(clerk, poll.id, roster[5], "no", Channel.DEVICE,
                                            now=at),
                lambda: ballots.enter_paper(clerk, poll.id, [(roster[5], "no")], SHEET,
                                            now=at)):
            with pytest.raises(DomainError) as info:
                attempt()
            assert info.value.rule == "assembly.one_ballot"
        assert records() == before
        # The database refuses a second participation even if the Python check were skipped.
        db.session.add(Participation(poll_id=poll.id, person_id=roster[5], channel="hall"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize("case", ["non-member", "other village", "recused", "closed", "choice",
                                  "not present", "late", "cloud by the clerk"])
def test_bad_ballots_are_refused_and_write_nothing(demo: Flask, case: str) -> None:
    with demo.app_context():
        meeting, roster = opened_meeting([matter("001").id], present=20)
        at, clerk = T0 + 3 * DAY, pid("张敏")
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, now=at)
        voter, choice = roster[0], "yes"
        if case == "non-member":
            voter = pid("刘芳")  # the supervisory chair is not an assembly member
        elif case == "other village":
            voter = pid("钱进")
        elif case == "recused":
            ballots.recuse(voter, poll.id, voter, "亲属承包", now=at)
        elif case == "closed":
            polls.close_poll(clerk, poll.id, now=at)
        elif case == "choice":
            choice = "maybe"
        elif case == "not present":
            voter = roster[-1]
        elif case == "late":  # checked in after the poll opened: votes on the next one
            voter = roster[-1]
            assembly.check_in(clerk, meeting.id, voter, now=at)
        before = (records(), db.session.execute(select(func.count()).select_from(
            Ballot)).scalar_one())
        with pytest.raises(DomainError) as info:
            if case == "cloud by the clerk":
                ballots.cast_ballot(clerk, poll.id, voter, choice, Channel.CLOUD, now=at)
            else:
                ballots.cast_ballot(voter, poll.id, voter, choice, now=at)
        if case == "late":
            assert info.value.rule == "assembly.late"
        assert (records(), db.session.execute(select(func.count()).select_from(
            Ballot)).scalar_one()) == before


def test_paper_ballots_need_another_supervisor_to_confirm(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = opened_meeting([matter("001").id])
        at, clerk = T0 + 3 * DAY, pid("张敏")
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, now=at)
        batch = ballots.enter_paper(clerk, poll.id, [(roster[2], "yes")], SHEET, now=at)
        for who in ("张敏", "李秀英"):
            with pytest.raises(DomainError) as info:
                ballots.confirm_paper(pid(who), batch.id, now=at)
            assert info.value.rule == "assembly.paper_confirm"
        before = ledger.head(village().id).size  # type: ignore[union-attr]
        ballots.confirm_paper(pid("周涛"), batch.id, now=at)
        assert types_since(before) == ["paper.confirm", "ballot.cast"]
        body = parse_record(db.session.execute(select(LedgerRecord.data).where(
            LedgerRecord.type == "paper.confirm")).scalar_one()).body
        assert body["sheet_sha256"] == hashlib.sha256(SHEET.data).hexdigest()


def test_a_failed_vote_rejects_the_matter_and_a_tie_fails(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = opened_meeting([matter("001").id], present=20)
        at, clerk = T0 + 3 * DAY, pid("张敏")
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, now=at)
        for member, choice in zip(roster[:20], ["yes"] * 10 + ["no"] * 10, strict=True):
            ballots.cast_ballot(member, poll.id, member, choice, now=at)
        tally = polls.close_poll(clerk, poll.id, now=at)
        assert not tally.passed and tally.needed == 11
        assert matter("001").state == "rejected"
        assert db.session.get(Poll, poll.id).verdict == "rejected"  # type: ignore[union-attr]


def test_representatives_request_a_meeting_and_a_fifth_forces_one(demo: Flask) -> None:
    with demo.app_context():
        for name in ("李秀英", "王磊", "陈桂兰"):
            assembly.request_meeting(pid(name), village().id, "讨论后山林地发包", now=T0)
        assert not assembly.request_status(village(), T0).forced  # 3 of 20
        assembly.request_meeting(pid("杨勇"), village().id, "同上", now=T0)
        assert assembly.request_status(village(), T0).forced  # 4 of 20 = 1/5
        with pytest.raises(DomainError):
            assembly.request_meeting(pid("杨勇"), village().id, "再次", now=T0)
        with pytest.raises(DomainError):  # the clerk is not a representative
            assembly.request_meeting(pid("张敏"), village().id, "x", now=T0)


def test_many_simultaneous_ballots_with_duplicates_leave_one_per_member(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = opened_meeting([matter("001").id])
        at, clerk = T0 + 3 * DAY, pid("张敏")
        poll_id = polls.open_poll(clerk, meeting.id, matter("001").id, now=at).id
    # 200 submissions: every member several times, by their phone and by the hall device.
    attempts = [(roster[i % len(roster)], i) for i in range(200)]
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(batch: list[tuple[int, int]]) -> None:
        with demo.app_context():
            barrier.wait()
            for member, i in batch:
                actor, channel = (member, Channel.HALL) if i % 2 else (clerk, Channel.DEVICE)
                try:
                    ballots.cast_ballot(actor, poll_id, member, "yes" if i % 3 else "no",
                                        channel, now=at)
                    result = "ok"
                except DomainError as error:
                    result = error.rule
                except IntegrityError:
                    result = "integrity"
                finally:
                    db.session.remove()
                with lock:
                    outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(attempts[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == 200 and outcomes.count("ok") == len(roster)
    assert set(outcomes) <= {"ok", "assembly.one_ballot", "integrity"}
    with demo.app_context():
        voters = list(db.session.execute(select(Ballot.voter_id).where(
            Ballot.poll_id == poll_id)).scalars())
        assert sorted(voters) == sorted(roster)
        # a hall-device ballot without the member's PIN waits for a supervisor (issue 13)
        pending = db.session.execute(select(func.count()).select_from(Ballot).where(
            Ballot.poll_id == poll_id, Ballot.paper_batch_id.is_not(None))).scalar_one()
        assert types_since(0).count("ballot.cast") == len(roster) - pending
