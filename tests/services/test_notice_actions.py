"""What the reader and the clerk do with a meeting's notices (services/notices.py, "Clerk and
reader actions"): the read receipt of one's own inbox notice only; "send again" for a failed or
unknown SMS or e-mail, by those who run the village's meetings only; a letter's signed slip,
an image kept as a blob, once. Each refusal names its rule and writes nothing."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.errors import DomainError
from sunvote.domain.notices import MAX_SLIP_BYTES, NoticeChannel, NoticeState
from sunvote.extensions import db
from sunvote.models import Blob, Notice
from sunvote.services import notices
from sunvote.services.unit_of_work import use_case
from tests.services.test_assembly import DAY, T0, pid
from tests.services.test_notice_outbox import convene, give

PNG = b"\x89PNG\r\n\x1a\n" + b"signed slip" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"signed slip" * 20


def notice_of(meeting_id: int, name: str, channel: NoticeChannel) -> Notice:
    return db.session.execute(select(Notice).where(
        Notice.meeting_id == meeting_id, Notice.person_id == pid(name),
        Notice.channel == channel)).scalar_one()


@use_case
def set_state(notice_id: int, state: NoticeState, error: str | None = None) -> None:
    notice = db.session.get(Notice, notice_id)
    assert notice is not None
    notice.state, notice.last_error, notice.next_attempt_at = state, error, None


def refused(rule: str, call, *args) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert caught.value.rule == rule, caught.value
    db.session.rollback()
    return caught.value


def test_a_person_marks_their_own_inbox_notice_read_once_and_no_one_elses(demo: Flask) -> None:
    with demo.app_context():
        meeting = convene()
        mine = notice_of(meeting.id, "李秀英", NoticeChannel.INBOX)  # rep01, with a login
        theirs = notice_of(meeting.id, "梁华", NoticeChannel.INBOX)
        letter = notice_of(meeting.id, "李秀英", NoticeChannel.LETTER)
        me = pid("李秀英")
        before = notices.unread_count(me)
        assert notices.mark_read(me, mine.id, T0 + DAY).read_at == T0 + DAY
        assert notices.mark_read(me, mine.id, T0 + 2 * DAY).read_at == T0 + DAY  # the first
        assert notices.unread_count(me) == before - 1
        refused("notice.unknown", notices.mark_read, me, theirs.id, T0)
        refused("notice.unknown", notices.mark_read, me, letter.id, T0)  # not an inbox notice
        refused("notice.unknown", notices.mark_read, me, 10**9, T0)
        assert db.session.get(Notice, theirs.id).read_at is None


def test_only_a_meeting_runner_sends_a_failed_or_unknown_sms_again(demo: Flask) -> None:
    with demo.app_context():
        give("李秀英", "13900001111", "lxy@example.cn")
        meeting = convene()
        sms = notice_of(meeting.id, "李秀英", NoticeChannel.SMS)
        email = notice_of(meeting.id, "李秀英", NoticeChannel.EMAIL)
        inbox = notice_of(meeting.id, "李秀英", NoticeChannel.INBOX)
        clerk = pid("张敏")
        refused("notice.resend", notices.requeue_notice, clerk, sms.id, T0)  # queued: on its way
        refused("notice.resend", notices.requeue_notice, clerk, inbox.id, T0)
        set_state(sms.id, NoticeState.FAILED, "isv.MOBILE_NUMBER_ILLEGAL")
        # a representative, a supervisor, another village's clerk
        for someone in ("李秀英", "刘芳", "钱进"):
            refused("procedure.role", notices.requeue_notice, pid(someone), sms.id, T0)
        assert db.session.get(Notice, sms.id).state is NoticeState.FAILED
        again = notices.requeue_notice(clerk, sms.id, T0 + DAY)
        assert (again.state, again.next_attempt_at) == (NoticeState.QUEUED, T0 + DAY)
        set_state(email.id, NoticeState.UNKNOWN)
        assert notices.requeue_notice(pid("王建国"), email.id, T0).state is NoticeState.QUEUED


def test_a_letters_signed_slip_is_an_image_kept_once_and_reaches_the_member(demo: Flask) -> None:
    with demo.app_context():
        meeting = convene(days=5)  # the deadline two days ahead
        letter = notice_of(meeting.id, "陈丽", NoticeChannel.LETTER)  # no phone: a letter
        inbox = notice_of(meeting.id, "李秀英", NoticeChannel.INBOX)
        clerk = pid("张敏")
        refused("procedure.role", notices.record_letter_receipt, pid("李秀英"), letter.id, PNG,
                "回执.png", T0)
        refused("notice.letter", notices.record_letter_receipt, clerk, inbox.id, PNG, "回执.png",
                T0)
        refused("notice.slip_photo", notices.record_letter_receipt, clerk, letter.id,
                b"%PDF-1.4\n" + b"x" * 50, "回执.pdf", T0)  # a file, not a photo
        refused("input.invalid", notices.record_letter_receipt, clerk, letter.id,
                b"not a png at all", "回执.png", T0)  # the content is not what its name says
        refused("notice.slip_photo", notices.record_letter_receipt, clerk, letter.id, b"", "",
                T0)
        demo.config["MAX_CONTENT_LENGTH"] = 2 * MAX_SLIP_BYTES
        refused("notice.slip_photo", notices.record_letter_receipt, clerk, letter.id,
                JPEG + b"x" * MAX_SLIP_BYTES, "回执.jpg", T0)
        assert db.session.get(Notice, letter.id).evidence_sha256 is None
        assert db.session.get(Blob, hashlib.sha256(PNG).hexdigest()) is None

        done = notices.record_letter_receipt(clerk, letter.id, PNG, "回执.png", T0 + DAY)
        assert (done.state, done.sent_at, done.recorded_by_id) == (NoticeState.SENT, T0 + DAY,
                                                                   clerk)
        assert done.evidence_sha256 == hashlib.sha256(PNG).hexdigest()
        assert bytes(db.session.get(Blob, done.evidence_sha256).data) == PNG
        refused("notice.letter", notices.record_letter_receipt, clerk, letter.id, JPEG,
                "回执.jpg", T0 + 2 * DAY)
        reach = notices.meeting_reach(db.session.get(type(meeting), meeting.id))
        chenli = next(m for m in reach.members if m.person.name == "陈丽")
        assert chenli.reached == T0 + DAY and chenli.in_time


def test_the_warning_counts_the_members_not_reached_and_after_the_deadline_the_late(
        demo: Flask) -> None:
    with demo.app_context():
        meeting = convene(days=5)
        reach = notices.meeting_reach(meeting)
        total = len(reach.members)
        rule, _msgid, params = notices.reach_warning(reach, T0)
        assert (rule, params["n"], params["deadline"]) == (
            "notice.not_reached", total, reach.deadline.isoformat())
        clerk = pid("张敏")
        for member in reach.members:
            letter = next(n for n in member.notices if n.channel is NoticeChannel.LETTER)
            notices.record_letter_receipt(clerk, letter.id, PNG + str(member.person.id).encode(),
                                          "回执.png", T0 + (DAY if member is reach.members[0]
                                                            else 4 * DAY))
        reach = notices.meeting_reach(db.session.get(type(meeting), meeting.id))
        assert notices.reach_warning(reach, T0 + DAY) is None  # all reached, before the deadline
        _rule, msgid, params = notices.reach_warning(reach, T0 + 5 * DAY)
        assert params["n"] == total - 1 and "未按期送达" in msgid  # reached after the deadline
        assert notices.upcoming_warnings([meeting], T0 + 5 * DAY)[0][0] is meeting
