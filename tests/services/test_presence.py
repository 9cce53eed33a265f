"""Presence is proven, ballots are the member's own (issue 13, item 4), against the database:
a self check-in needs the hall screen's live code (the QR carries it), a clerk's check-in is
recorded as the clerk's, a hall-device ballot carries the member's PIN or waits for a
supervisory committee member's confirmation like paper — and the exported log verifies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.assembly import AttendProof, Channel, VoteMode
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import Attendance, Device, LedgerRecord, Meeting
from sunvote.services import assembly, ballots, cloud, exports, ledger, polls

from .test_assembly import matter, pid, records, village
from .test_cloud import ADDRESS, AT, Phone, code_at, enrol, open_meeting_with_hall, snapshot


def last(type_: str) -> dict[str, Any]:
    data = db.session.execute(select(LedgerRecord.data).where(
        LedgerRecord.type == type_).order_by(LedgerRecord.seq.desc())).scalars().first()
    assert data is not None
    return dict(parse_record(data).body)


def absent(meeting: Meeting, roster: list[int]) -> int:
    present = set(db.session.execute(select(Attendance.person_id).where(
        Attendance.meeting_id == meeting.id)).scalars())
    return next(m for m in roster if m not in present)


@pytest.mark.parametrize(("proof", "code", "rule"), [
    (None, None, "assembly.presence"),
    (AttendProof.CODE, None, "cloud.presence"),
    (AttendProof.QR, "000000x", "cloud.presence"),
    (AttendProof.CLERK, "ok", "assembly.presence"),
    (AttendProof.DEVICE, "ok", "assembly.presence")],
    ids=["nothing (a POST from home)", "no code", "malformed code", "claims clerk",
         "claims device"])
def test_a_self_check_in_without_the_live_code_is_refused(
        demo: Flask, proof: AttendProof | None, code: str | None, rule: str) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(5)
        member = absent(meeting, roster)
        before = snapshot()
        with pytest.raises(DomainError) as refused:
            assembly.check_in(member, meeting.id, member, now=AT, proof=proof,
                              code=code_at(meeting, AT) if code == "ok" else code)
        assert refused.value.rule == rule
        db.session.rollback()
        assert snapshot() == before


def test_a_stale_code_is_refused_and_the_live_one_checks_in(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(5)
        member = absent(meeting, roster)
        stale = code_at(meeting, AT - dt.timedelta(hours=3))  # long expired
        with pytest.raises(DomainError, match=r"cloud\.presence"):
            assembly.check_in(member, meeting.id, member, now=AT, proof=AttendProof.CODE,
                              code=stale)
        db.session.rollback()
        assembly.check_in(member, meeting.id, member, now=AT, proof=AttendProof.QR,
                          code=code_at(meeting, AT))
        body = last("meeting.attend")
        assert (body["member"], body["person"], body["role"], body["proof"]) == (
            member, member, "member", "qr")


def test_a_clerks_check_in_is_recorded_as_the_clerks(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(1)
        clerk = pid("张敏")
        body = last("meeting.attend")
        assert (body["member"], body["person"], body["name"], body["role"], body["proof"]) == (
            roster[0], clerk, "张敏", "clerk", "clerk")
        attendance = db.session.execute(select(Attendance).where(
            Attendance.meeting_id == meeting.id)).scalar_one()
        assert attendance.recorded_by_id == clerk


def test_a_hall_device_ballot_without_the_pin_waits_for_a_supervisor(demo: Flask) -> None:
    with demo.app_context():
        clerk = pid("张敏")
        meeting, roster = open_meeting_with_hall(20)
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, VoteMode.NAMED, now=AT)
        size = records()
        ballot = ballots.cast_ballot(clerk, poll.id, roster[0], "yes", Channel.DEVICE, now=AT)
        assert ballot.paper_batch_id is not None and not ballot.appended
        assert records() == size  # nothing signed: it does not count yet
        with pytest.raises(DomainError, match=r"assembly\.paper_unconfirmed"):
            polls.close_poll(clerk, poll.id, now=AT)
        db.session.rollback()
        with pytest.raises(DomainError, match=r"assembly\.paper_confirm"):
            ballots.confirm_paper(clerk, ballot.paper_batch_id, now=AT)
        db.session.rollback()
        ballots.confirm_paper(pid("刘芳"), ballot.paper_batch_id, now=AT)
        confirm, cast = last("paper.confirm"), last("ballot.cast")
        assert (confirm["count"], confirm["entered_by"]) == (1, clerk)
        assert (cast["member"], cast["channel"], cast["proof"], cast["person"]) == (
            roster[0], "device", "confirmed", clerk)
        assert polls.close_poll(clerk, poll.id, now=AT).yes == 1


def test_a_hall_device_ballot_with_the_members_pin_counts(demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        clerk = pid("张敏")
        meeting, roster = open_meeting_with_hall(20)
        member, other = roster[1], roster[2]
        enrol(member, Phone(), pin="135790")
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, VoteMode.NAMED, now=AT)
        before = snapshot()
        for _ in range(2):
            with pytest.raises(DomainError, match=r"cloud\.pin"):
                cloud.attempt("hall_pin", ADDRESS, lambda seen: ballots.cast_ballot(
                    clerk, poll.id, member, "no", Channel.DEVICE, now=AT, pin="000000",
                    seen=seen))
        assert snapshot() == before
        device = db.session.execute(select(Device).where(Device.person_id == member)).scalar_one()
        assert device.failed_pins == 2  # the same lock as cloud voting
        with pytest.raises(DomainError, match=r"cloud\.device"):  # no phone, so no PIN
            ballots.cast_ballot(clerk, poll.id, other, "no", Channel.DEVICE, now=AT,
                                pin="135790")
        db.session.rollback()
        ballot = ballots.cast_ballot(clerk, poll.id, member, "no", Channel.DEVICE, now=AT,
                                     pin="135790")
        assert ballot.appended and ballot.paper_batch_id is None
        cast = last("ballot.cast")
        assert (cast["member"], cast["channel"], cast["proof"], cast["role"]) == (
            member, "device", "pin", "clerk")
        assert device.failed_pins == 0
        # The member's own ballot in the hall (own session), a clerk's "hall" ballot is the
        # hall device's, and the whole log verifies offline.
        ballots.cast_ballot(roster[3], poll.id, roster[3], "yes", now=AT)
        assert last("ballot.cast")["proof"] == "session"
        pending = ballots.cast_ballot(clerk, poll.id, roster[4], "yes", Channel.HALL, now=AT)
        assert pending.channel == "device" and pending.paper_batch_id is not None
        ballots.confirm_paper(pid("刘芳"), pending.paper_batch_id, now=AT)
        tally = polls.close_poll(clerk, poll.id, now=AT)
        assert (tally.yes, tally.no) == (2, 1)
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]
