"""The meeting's legal notice in the ledger (issue 18): `meeting.notice` proves when the notice
was issued, to whom (the assembly on the day, by count and digest) and what it said (the digest
of the text rebuilt from meeting.convene); a meeting that opens without one fails, and so does a
notice too late for the township's notice days (domain.notices.notice_refusal)."""

from __future__ import annotations

import pytest

from sunvote.domain.notices import recipients_digest, text_digest
from tests.domain.ledger.logbuilder import LogBuilder, filed_matter, people, representatives
from tests.domain.ledger.test_assembly_records import assert_fails, assert_ok, verify

M1 = "2026-001"


def convened(notice: bool = True) -> tuple[LogBuilder, list[int]]:
    b = LogBuilder()
    b.init()
    people(b)
    members = [2, *representatives(b, 6)]
    filed_matter(b, M1)
    b.convene([M1], notice=notice)
    return b, members


def test_a_meeting_noticed_then_opened_verifies() -> None:
    b, _ = convened()
    b.open_meeting()
    assert_ok(b)


def test_a_meeting_opened_without_its_notice_fails() -> None:
    b, _ = convened(notice=False)
    index = b.size
    b.open_meeting()
    assert_fails(b, index, "semantics", "assembly.notice: meeting 1 opens, but no meeting.notice")


def test_a_notice_issued_later_in_time_verifies_and_one_too_late_fails() -> None:
    b, _ = convened(notice=False)
    b.wait(hours=1)  # same day: the convening's notice-days check covers it
    b.meeting_notice(1)
    b.open_meeting()
    assert_ok(b)
    b, _ = convened(notice=False)
    b.wait(days=1)  # the meeting is now two days away; three are needed
    index = b.size
    b.meeting_notice(1)
    assert_fails(b, index, "semantics", "assembly.notice: notice too short")


@pytest.mark.parametrize(("override", "reason"), [
    ({"recipients": 6}, "not to the 7 member(s) of the assembly"),
    ({"recipients_sha256": recipients_digest([2, 101, 102])}, "not to the 7 member(s)"),
    ({"text_sha256": text_digest("【阳光票决】另一个会议")}, "text_sha256 is not the digest"),
    ({"village": "别的村"}, "text_sha256 is not the digest"),
])
def test_a_notice_to_the_wrong_people_or_with_another_text_fails(override: dict[str, object],
                                                                  reason: str) -> None:
    b, _ = convened(notice=False)
    index = b.size
    b.meeting_notice(1, **override)
    assert_fails(b, index, "semantics", reason)


def test_a_malformed_digest_is_a_format_failure() -> None:
    b, _ = convened(notice=False)
    index = b.size
    b.meeting_notice(1, text_sha256="XYZ")
    failures = verify(b).failures
    assert (index, "format") in {(f.index, f.kind) for f in failures}
    assert any("text_sha256 is not 64 lowercase hex digits" in f.reason for f in failures)


def test_a_second_notice_or_one_for_an_unknown_or_open_meeting_fails() -> None:
    b, _ = convened()
    index = b.size
    b.meeting_notice(1)
    assert_fails(b, index, "semantics", "notice was already issued")
    b, _ = convened()
    b.open_meeting()
    index = b.size
    b.meeting_notice(1)
    assert_fails(b, index, "semantics", "is not convened and waiting to open")


def test_a_member_who_joins_after_the_notice_must_be_told_before_the_meeting_opens() -> None:
    b, _ = convened()
    b.appoint(120, "新代表", "representative")
    index = b.size
    b.open_meeting()
    assert_fails(b, index, "semantics", "assembly.notice: member 120 of the roster of meeting 1 "
                                        "was never sent its notice")
    b, _ = convened()
    b.appoint(120, "新代表", "representative")
    b.notice_added([120])
    b.open_meeting()
    assert_ok(b)


@pytest.mark.parametrize(("members", "message"), [
    ([101], "person 101 was notified already"),          # told with everyone
    ([130], "person 130 was notified already or is not a member"),  # no member at all
    ([], "members is not a non-empty list"),
    ([121, 120], "members is not a non-empty list"),      # not in increasing order
])
def test_an_added_notice_only_for_members_not_told_yet(members: list[int], message: str) -> None:
    b, _ = convened()
    b.appoint(120, "新代表", "representative")
    b.appoint(121, "新代表乙", "representative")
    index = b.size
    b.notice_added([], members=members)  # as recorded, unsorted
    assert_fails(b, index, "format" if "non-empty" in message else "semantics", message)


def test_an_added_notice_with_another_text_or_after_the_opening_fails() -> None:
    b, _ = convened()
    b.appoint(120, "新代表", "representative")
    index = b.size
    b.notice_added([120], text_sha256="0" * 64)
    assert_fails(b, index, "semantics", "text_sha256 is not the digest")
    b, _ = convened()
    b.open_meeting()
    b.appoint(120, "新代表", "representative")
    index = b.size
    b.notice_added([120])
    assert_fails(b, index, "semantics", "is not convened with its notice issued")
