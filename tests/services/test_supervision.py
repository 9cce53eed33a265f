"""Step 6 against the database: the result published with its notice period, objections during
it (identity, window, abuse limit), the committee's replies (an upheld one sends the matter back
to the vote), no implementation before the notice ends or with an objection unanswered,
implementation updates confirmed by a supervisor, sign-off, one rating per household. Refusals
write nothing; the exported ledger verifies offline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.procedure import Action
from sunvote.extensions import db
from sunvote.models import Household, LedgerRecord, Matter, Objection, Rating
from sunvote.services import assembly, ballots, exports, ledger, matters, polls, supervision
from sunvote.services.files import Upload

from .test_assembly import DAY, T0, matter, members, pid, village

AT = T0 + 3 * DAY
PHOTO = Upload("路面.png", b"\x89PNG\r\n\x1a\n" + b"road" * 30)


def passed_matter() -> Matter:
    """The demo's road matter passes a named vote at AT (everyone present votes yes)."""
    clerk = pid("张敏")
    road = matter("001")
    meeting = assembly.convene(clerk, village().id, "第四季度会议", "村委会议室", AT, [road.id],
                               now=T0)
    assembly.open_meeting(clerk, meeting.id, now=AT)
    roster = members(meeting.id)
    for member in roster:
        assembly.check_in(clerk, meeting.id, member, now=AT)
    poll = polls.open_poll(clerk, meeting.id, road.id, now=AT)
    for member in roster:
        ballots.cast_ballot(member, poll.id, member, "yes", now=AT)
    polls.close_poll(clerk, poll.id, now=AT)
    assembly.close_meeting(clerk, meeting.id, now=AT)
    return matter("001")


def household() -> tuple[str, str]:
    row = db.session.execute(select(Household).where(
        Household.village_id == village().id).order_by(Household.id)).scalars().first()
    assert row is not None
    return row.number, row.head_name


def records() -> int:
    return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def last_types(n: int) -> list[str]:
    return list(reversed(db.session.execute(select(LedgerRecord.type).order_by(
        LedgerRecord.seq.desc()).limit(n)).scalars().all()))


def test_a_passed_result_is_published_with_its_notice_period(demo: Flask) -> None:
    with demo.app_context():
        road = passed_matter()
        assert road.notice_starts_at == AT and road.notice_ends_at == AT + 5 * DAY
        notice = [parse_record(d).body for d in db.session.execute(select(LedgerRecord.data)
                  .where(LedgerRecord.type == "notice.publish")).scalars()]
        # The demo convened meeting 1 already; this is meeting 2.
        assert notice == [{"matter": road.number, "meeting": 2, "poll": 1, "verdict": "passed",
                           "days": 5, "ends_at": ledger.iso(AT + 5 * DAY),
                           "at": ledger.iso(AT)}]


def test_implementation_waits_for_the_notice_period_and_for_every_reply(demo: Flask) -> None:
    with demo.app_context():
        road = passed_matter()
        clerk, supervisor = pid("张敏"), pid("刘芳")
        before = records()
        with pytest.raises(DomainError) as info:
            matters.act(road.id, Action.START_IMPLEMENTATION, clerk, {}, now=AT + DAY)
        assert info.value.rule == "notice.period" and records() == before
        number, name = household()
        objection = supervision.file_objection(road.id, number, name, "招标未公开", "1.2.3.4",
                                               now=AT + DAY)
        assert objection.reply_due_at == AT + DAY + 7 * DAY
        assert last_types(1) == ["objection.file"]
        after = AT + 6 * DAY
        with pytest.raises(DomainError) as info:  # notice over, objection unanswered
            matters.act(road.id, Action.START_IMPLEMENTATION, clerk, {}, now=after)
        assert info.value.rule == "notice.objection_open"
        with pytest.raises(DomainError) as info:  # only the supervisory committee answers
            supervision.reply_objection(clerk, objection.id, "dismissed", "已公开招标", now=after)
        assert info.value.rule == "objection.reply"
        supervision.reply_objection(supervisor, objection.id, "dismissed",
                                    "招标公告已于11月张贴并在网上公开", now=after)
        with pytest.raises(DomainError) as info:
            supervision.reply_objection(supervisor, objection.id, "upheld", "再答", now=after)
        assert info.value.rule == "objection.reply"
        matters.act(road.id, Action.START_IMPLEMENTATION, clerk, {}, now=after)
        assert matter("001").state == "implementing"


@pytest.mark.parametrize("case", ["wrong_name", "unknown_household", "after_notice",
                                  "before_vote", "too_many"])
def test_bad_objections_are_refused_and_write_nothing(demo: Flask, case: str) -> None:
    with demo.app_context():
        number, name = household()
        if case == "before_vote":
            road, when = matter("001"), AT
        else:
            road, when = passed_matter(), AT + DAY
        if case == "too_many":
            for i in range(3):
                supervision.file_objection(road.id, number, name, f"异议{i}", "5.6.7.8", now=when)
        before = (records(), db.session.execute(select(func.count()).select_from(Objection))
                  .scalar_one())
        with pytest.raises(DomainError) as info:
            supervision.file_objection(
                road.id, "999" if case == "unknown_household" else number,
                "不是本户的人" if case == "wrong_name" else name, "有异议", "5.6.7.8",
                now=AT + 5 * DAY if case == "after_notice" else when)
        assert info.value.rule == {"wrong_name": "notice.objector",
                                   "unknown_household": "notice.objector",
                                   "after_notice": "notice.objection_window",
                                   "before_vote": "notice.objection_window",
                                   "too_many": "notice.objector"}[case]
        if case == "too_many":
            assert info.value.status == 429
        assert (records(), db.session.execute(select(func.count()).select_from(Objection))
                .scalar_one()) == before


def test_an_upheld_objection_sends_the_matter_back_to_a_new_vote(demo: Flask) -> None:
    with demo.app_context():
        road = passed_matter()
        number, name = household()
        objection = supervision.file_objection(road.id, number, name, "有代表未收到会议通知",
                                               "1.2.3.4", now=AT + DAY)
        supervision.reply_objection(pid("刘芳"), objection.id, "upheld",
                                    "经核实通知未送达两名代表，须重新票决", now=AT + 2 * DAY)
        assert matter("001").state == "filed"
        assert last_types(2) == ["objection.reply", "matter.step"]


def test_implementation_updates_are_confirmed_before_sign_off(demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        road = passed_matter()
        clerk, supervisor, member = pid("张敏"), pid("刘芳"), pid("王建国")
        after = AT + 6 * DAY
        matters.act(road.id, Action.START_IMPLEMENTATION, clerk, {}, now=after)
        first = supervision.record_update(clerk, road.id, "路基完成", 40, "120000.50",
                                          "路基压实", [PHOTO], now=after)
        assert first.spent_fen == 12000050 and first.evidence[0]["sha256"]
        with pytest.raises(DomainError) as info:  # not a supervisor
            supervision.confirm_update(member, first.id, now=after)
        assert info.value.rule == "implementation.confirm"
        supervision.confirm_update(supervisor, first.id, now=after)
        last = supervision.record_update(member, road.id, "路面浇筑完成", 100, "300000", "",
                                         now=after + DAY)
        with pytest.raises(DomainError) as info:  # the last update is not confirmed yet
            matters.act(road.id, Action.COMPLETE, supervisor, {"report": "验收合格"},
                        now=after + DAY)
        assert info.value.rule == "implementation.unconfirmed"
        supervision.confirm_update(supervisor, last.id, now=after + DAY)
        with pytest.raises(DomainError) as info:  # villagers rate completed matters only
            supervision.rate(road.id, *household(), 5, "1.2.3.4", now=after + DAY)
        assert info.value.rule == "rating.completed_only"
        matters.act(road.id, Action.COMPLETE, supervisor, {"report": "验收合格"},
                    now=after + 2 * DAY)
        number, name = household()
        supervision.rate(road.id, number, name, 5, "1.2.3.4", now=after + 3 * DAY)
        for score, rule in ((4, "rating.household"), (6, "rating.score")):
            with pytest.raises(DomainError) as info:
                supervision.rate(road.id, number, name, score, "1.2.3.4", now=after + 3 * DAY)
            assert info.value.rule == rule
        assert db.session.execute(select(func.count()).select_from(Rating)).scalar_one() == 1
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]


@pytest.mark.parametrize(("progress", "spent"), [(101, "0"), (-1, "0"), ("x", "0"),
                                                 (50, "-5"), (50, "1.234"), (50, "abc")])
def test_bad_implementation_updates_are_refused(demo: Flask, progress: object,
                                                spent: str) -> None:
    with demo.app_context():
        road = passed_matter()
        matters.act(road.id, Action.START_IMPLEMENTATION, pid("张敏"), {}, now=AT + 6 * DAY)
        before = records()
        with pytest.raises(DomainError) as info:
            supervision.record_update(pid("张敏"), road.id, "节点", progress, spent, "",
                                      now=AT + 6 * DAY)
        assert info.value.rule == "implementation.progress"
        assert records() == before


def test_a_rejected_result_is_published_without_a_notice_period(demo: Flask) -> None:
    with demo.app_context():
        clerk = pid("张敏")
        road = matter("001")
        meeting = assembly.convene(clerk, village().id, "会议", "会议室", AT, [road.id], now=T0)
        assembly.open_meeting(clerk, meeting.id, now=AT)
        roster = members(meeting.id)
        for member in roster:
            assembly.check_in(clerk, meeting.id, member, now=AT)
        poll = polls.open_poll(clerk, meeting.id, road.id, now=AT)
        for member in roster:
            ballots.cast_ballot(member, poll.id, member, "no", now=AT)
        polls.close_poll(clerk, poll.id, now=AT)
        road = matter("001")
        assert road.state == "rejected" and road.notice_ends_at is None
        assert road.notice_starts_at == AT
        body = parse_record(db.session.execute(select(LedgerRecord.data).where(
            LedgerRecord.type == "notice.publish")).scalar_one()).body
        assert (body["verdict"], body["days"], body["ends_at"]) == ("rejected", 0, None)


def test_the_dashboard_warns_of_a_notice_ending_and_an_objection_overdue(demo: Flask) -> None:
    from sunvote.services import oversight

    with demo.app_context():
        road = passed_matter()
        number, name = household()
        supervision.file_objection(road.id, number, name, "造价偏高", "1.2.3.4", now=AT + DAY)

        def codes(now: dt.datetime) -> set[str]:
            board = oversight.district_dashboard(pid("郑平"), now)
            return {w.rule for _v, w in board.warnings if w.target.ref == road.number}

        assert "notice.ending_soon" in codes(AT + 4 * DAY + DAY / 2)
        assert "notice.ending_soon" not in codes(AT + 2 * DAY)
        assert "objection.overdue" in codes(AT + 9 * DAY)
        assert "objection.overdue" not in codes(AT + 7 * DAY)
