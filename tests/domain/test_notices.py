"""domain/notices.py: who gets which channel, numbers that take an SMS, when a member counts as
reached, the notice-days rule and the retry schedule."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest

from sunvote.domain import notices
from sunvote.domain.notices import (
    MAX_ATTEMPTS,
    NoticeChannel,
    NoticeState,
    meeting_notice_deadline,
    meeting_notice_text,
    notice_refusal,
    personal_channels,
    reached_at,
    recipients_digest,
    retry_delay,
    sms_number_refusal,
)

C = NoticeChannel
AT = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("phone", "ok"), [
    ("13900001111", True), ("19912345678", True), ("12900001111", False),
    ("0577-2345678", False), ("1390000111", False), ("", False), (None, False),
])
def test_only_mainland_mobiles_take_an_sms(phone: str | None, ok: bool) -> None:
    refusal = sms_number_refusal(phone)
    assert (refusal is None) == ok
    if refusal is not None:
        assert refusal.rule == "notice.sms_number"


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"has_account": True, "phone": "13900001111", "email": "a@b.cn"}, (C.INBOX, C.SMS, C.EMAIL)),
    ({"has_account": False, "phone": "13900001111", "email": None}, (C.SMS,)),
    ({"has_account": True, "phone": None, "email": None}, (C.INBOX, C.LETTER)),
    ({"has_account": False, "phone": "0577-2345678", "email": None}, (C.LETTER,)),
])
def test_a_legal_notice_reaches_every_member_in_person(kwargs: dict[str, object],
                                                       expected: tuple[C, ...]) -> None:
    assert personal_channels(sms_on=True, email_on=True, legal=True, **kwargs) == expected  # type: ignore[arg-type]


def test_other_notices_get_no_letter_and_settings_switch_sms_and_email_off() -> None:
    assert personal_channels(has_account=False, phone=None, email=None, sms_on=True,
                             email_on=True, legal=False) == ()
    assert personal_channels(has_account=True, phone="13900001111", email="a@b.cn",
                             sms_on=False, email_on=False, legal=True) == (C.INBOX, C.LETTER)


def test_reached_means_read_in_the_inbox_or_delivered_elsewhere() -> None:
    assert reached_at(C.INBOX, NoticeState.SENT, AT, None) is None
    assert reached_at(C.INBOX, NoticeState.SENT, AT, AT + dt.timedelta(hours=1)) \
        == AT + dt.timedelta(hours=1)
    assert reached_at(C.SMS, NoticeState.SENT, AT, None) == AT
    assert reached_at(C.SMS, NoticeState.FAILED, AT, None) is None
    assert reached_at(C.LETTER, NoticeState.QUEUED, None, None) is None
    assert reached_at(C.DINGTALK, NoticeState.SENT, AT, None) is None  # a group, not a person


def test_the_notice_days_rule_and_its_deadline() -> None:
    day = dt.date(2026, 12, 10)
    assert notice_refusal(day, dt.date(2026, 12, 7), 3) is None
    refusal = notice_refusal(day, dt.date(2026, 12, 8), 3)
    assert refusal is not None and refusal.rule == "assembly.notice"
    assert refusal.params["earliest"] == "2026-12-11"
    assert meeting_notice_deadline(day, 3) == dt.date(2026, 12, 7)


def test_retries_back_off_and_stop() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert delays[0] == dt.timedelta(seconds=30)
    assert all(a < b for a, b in pairwise(delays[:-1]))  # type: ignore[operator]
    assert delays[-1] is None


def test_the_text_shows_china_time_and_the_digest_is_order_free() -> None:
    text = meeting_notice_text("阳光村", 2, "会议", "会议室", AT, ["2026-001", "2026-002"])
    assert "2026-12-06 10:00" in text and "事项2026-001、2026-002" in text
    assert recipients_digest([7, 3, 12]) == recipients_digest([3, 12, 7, 7])


def test_an_outbox_is_stalled_only_when_a_due_notice_has_waited_too_long() -> None:
    now = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
    assert notices.stalled_warning(0, None, now) is None
    assert notices.stalled_warning(3, now - notices.STALLED_AFTER, now) is None
    warning = notices.stalled_warning(3, now - dt.timedelta(minutes=16), now)
    assert warning is not None and warning[0] == "notice.stalled"
    assert warning[2] == {"n": 3, "minutes": 16}
