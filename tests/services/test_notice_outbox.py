"""The meeting's legal notice goes to the outbox in convene's own transaction: one notice per
member and channel (domain.notices.personal_channels under the township's settings), the ledger's
meeting.notice record with the digests the offline verifier checks, and nothing at all when the
convening is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.notices import (
    NoticeChannel,
    NoticeState,
    meeting_notice_text,
    recipients_digest,
    text_digest,
)
from sunvote.extensions import db
from sunvote.models import Account, LedgerRecord, Meeting, Notice, Person
from sunvote.services import assembly, exports, ledger, notices
from sunvote.services.settings import change_setting
from sunvote.services.unit_of_work import use_case
from tests.services.test_assembly import DAY, T0, matter, pid, village


def notice_rows(meeting_id: int) -> list[Notice]:
    return list(db.session.execute(select(Notice).where(Notice.meeting_id == meeting_id)
                                   .order_by(Notice.person_id, Notice.channel)).scalars())


def convene(days: int = 3) -> Meeting:
    return assembly.convene(pid("张敏"), village().id, "2026年第四季度村民代表会议", "村委会议室",
                            T0 + days * DAY, [matter("001").id], now=T0)


@use_case
def give(name: str, phone: str | None, email: str | None) -> None:
    person = db.session.get(Person, pid(name))
    assert person is not None
    person.phone, person.email = phone, email


def township_admin() -> int:
    from sunvote.models import RoleAssignment
    return db.session.execute(select(RoleAssignment.person_id).where(
        RoleAssignment.role == "township_admin",
        RoleAssignment.township_id == village().township_id)).scalars().first()


def test_convening_writes_every_members_notice_and_the_ledger_record(demo: Flask,
                                                                      tmp_path: Path) -> None:
    with demo.app_context():
        give("李秀英", "13900001111", "lxy@example.cn")
        give("王磊", "0577-2345678", None)  # a landline: no SMS, a letter instead
        meeting = convene()
        roster = sorted(assembly.assembly_roster(village(), T0))
        rows = notice_rows(meeting.id)
        with_login = set(db.session.execute(select(Account.person_id)).scalars())
        by_person: dict[int, set[NoticeChannel]] = {}
        for row in rows:
            assert row.person_id is not None  # no group robot is configured
            by_person.setdefault(row.person_id, set()).add(row.channel)
            assert row.link == f"/v/sunshine/meetings/{meeting.number}"
            assert row.key.startswith(f"meeting:{meeting.id}:p{row.person_id}:")
        assert sorted(by_person) == roster  # every member, nobody else
        for person_id, channels in by_person.items():
            assert (NoticeChannel.INBOX in channels) == (person_id in with_login)
            # SMS or a letter: every member can be reached in person
            assert (NoticeChannel.SMS in channels) != (NoticeChannel.LETTER in channels)
        assert by_person[pid("李秀英")] >= {NoticeChannel.SMS, NoticeChannel.EMAIL}
        assert NoticeChannel.LETTER in by_person[pid("王磊")]
        sms = next(r for r in rows if r.person_id == pid("李秀英")
                   and r.channel is NoticeChannel.SMS)
        assert (sms.state, sms.address, sms.next_attempt_at) == (
            NoticeState.QUEUED, "13900001111", T0)
        inbox = [r for r in rows if r.channel is NoticeChannel.INBOX]
        assert inbox and all(r.state is NoticeState.SENT and r.read_at is None for r in inbox)
        text = meeting_notice_text("阳光村", meeting.number, meeting.title, meeting.place,
                                   meeting.starts_at, [matter("001").number])
        assert {r.text for r in rows} == {text}
        assert "村委会议室" in text and "事项" + matter("001").number in text
        record = db.session.execute(select(LedgerRecord).where(
            LedgerRecord.village_id == village().id, LedgerRecord.type == "meeting.notice")
            .order_by(LedgerRecord.seq.desc())).scalars().first()
        assert record is not None
        body = parse_record(record.data).body
        assert body == {"meeting": meeting.number, "village": "阳光村",
                        "recipients": len(roster), "recipients_sha256": recipients_digest(roster),
                        "text_sha256": text_digest(text), "at": ledger.iso(T0)}
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]


def test_the_township_settings_choose_the_channels(demo: Flask) -> None:
    with demo.app_context():
        give("李秀英", "13900001111", "lxy@example.cn")
        admin = township_admin()
        change_setting(village().township_id, "notice_sms", "false", admin, now=T0)
        change_setting(village().township_id, "notice_email", "false", admin, now=T0)
        meeting = convene()
        mine = {r.channel for r in notice_rows(meeting.id) if r.person_id == pid("李秀英")}
        # No SMS: the legal notice is printed as a letter; no e-mail.
        assert NoticeChannel.SMS not in mine and NoticeChannel.EMAIL not in mine
        assert NoticeChannel.LETTER in mine


def test_a_refused_convening_writes_no_notice(demo: Flask) -> None:
    with demo.app_context():
        before = db.session.execute(select(func.count(Notice.id))).scalar_one()
        with pytest.raises(DomainError) as info:
            convene(days=2)
        assert info.value.rule == "assembly.notice"
        assert db.session.execute(select(func.count(Notice.id))).scalar_one() == before


def test_the_same_meetings_notice_cannot_be_written_twice(demo: Flask) -> None:
    with demo.app_context():
        meeting = convene()
        before = db.session.execute(select(func.count(Notice.id))).scalar_one()
        with pytest.raises(Exception):  # noqa: B017 - the unique idempotency key
            use_case(notices.issue_meeting_notice)(
                db.session.get(Meeting, meeting.id), village(), [matter("001").number],
                assembly.assembly_roster(village(), T0), T0 + dt.timedelta(minutes=5))
        db.session.rollback()
        assert db.session.execute(select(func.count(Notice.id))).scalar_one() == before


def test_who_was_reached_and_in_time(demo: Flask) -> None:
    with demo.app_context():
        meeting = convene()
        reach = notices.meeting_reach(meeting)
        assert reach.deadline == (T0 + 3 * DAY).astimezone(dt.timezone(dt.timedelta(hours=8))) \
            .date() - dt.timedelta(days=3)
        assert len(reach.members) == len(assembly.assembly_roster(village(), T0))
        assert reach.not_reached == reach.members  # nobody has read or been sent anything yet
        reader = next(m for m in reach.members
                      if any(n.channel is NoticeChannel.INBOX for n in m.notices))
        inbox = next(n for n in reader.notices if n.channel is NoticeChannel.INBOX)

        @use_case
        def read(at: dt.datetime) -> None:
            row = db.session.get(Notice, inbox.id)
            assert row is not None
            row.read_at = at
        read(T0)  # on the day of the notice (T0 + 1 h may be the next China day)
        reach = notices.meeting_reach(db.session.get(Meeting, meeting.id))
        got = next(m for m in reach.members if m.person.id == reader.person.id)
        assert got.reached == T0 and got.in_time
        assert got not in reach.not_reached
        read(T0 + 2 * DAY)  # read after the deadline: reached, but late
        got = next(m for m in notices.meeting_reach(db.session.get(Meeting, meeting.id)).members
                   if m.person.id == reader.person.id)
        assert got.reached is not None and not got.in_time


def added_records(meeting: Meeting) -> list[dict]:
    rows = db.session.execute(select(LedgerRecord).where(
        LedgerRecord.village_id == village().id, LedgerRecord.type == "meeting.notice_added")
        .order_by(LedgerRecord.seq)).scalars()
    bodies = [dict(parse_record(r.data).body) for r in rows]
    return [b for b in bodies if b["meeting"] == meeting.number]


def test_a_member_appointed_after_the_notice_is_told_at_once(demo: Flask,
                                                              tmp_path: Path) -> None:
    from sunvote.domain.roles import Role
    from sunvote.services import register

    with demo.app_context():
        meeting = convene()
        clerk = pid("张敏")
        newcomer = register.add_person(village().id, clerk, register.PersonInput(
            name="新代表", female=False, phone="13900002222"), now=T0 + DAY)
        register.appoint_role(clerk, newcomer.id, Role.REPRESENTATIVE, (T0 + DAY).date(),
                              households_represented=12, now=T0 + DAY)
        rows = [n for n in notice_rows(meeting.id) if n.person_id == newcomer.id]
        assert {n.channel for n in rows} == {NoticeChannel.SMS}  # a mobile number, no login
        assert all(n.text == rows[0].text for n in rows) and rows[0].created_at == T0 + DAY
        assert added_records(meeting) == [{
            "meeting": meeting.number, "village": village().name, "members": [newcomer.id],
            "text_sha256": text_digest(rows[0].text), "at": ledger.iso(T0 + DAY)}]
        reach = notices.meeting_reach(meeting)
        assert newcomer.id in {m.person.id for m in reach.members}
        # appointing someone else to a non-assembly role tells nobody
        other = register.add_person(village().id, clerk, register.PersonInput(
            name="新监委", female=True), now=T0 + DAY)
        register.appoint_role(clerk, other.id, Role.SUPERVISOR, (T0 + DAY).date(),
                              now=T0 + DAY)
        assert len(added_records(meeting)) == 1
        # the meeting opens with the newcomer on its roster, nobody left untold: no more
        assembly.open_meeting(clerk, meeting.id, now=T0 + 3 * DAY)
        assert len(added_records(meeting)) == 1
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, [f.describe() for f in report.failures[:5]]


def test_a_member_whose_term_begins_after_the_notice_is_told_as_the_meeting_opens(
        demo: Flask, tmp_path: Path) -> None:
    from sunvote.domain.roles import Role
    from sunvote.services import register

    with demo.app_context():
        clerk = pid("张敏")
        later = register.add_person(village().id, clerk, register.PersonInput(
            name="候任代表", female=True), now=T0)
        # appointed before the convening, from the meeting day on: not in the assembly when
        # the notice goes out, on its roster when it opens
        register.appoint_role(clerk, later.id, Role.REPRESENTATIVE, (T0 + 3 * DAY).date(),
                              households_represented=10, now=T0)
        meeting = convene()
        assert added_records(meeting) == []
        assembly.open_meeting(clerk, meeting.id, now=T0 + 3 * DAY)
        added = added_records(meeting)
        assert [a["members"] for a in added] == [[later.id]]
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, [f.describe() for f in report.failures[:5]]
