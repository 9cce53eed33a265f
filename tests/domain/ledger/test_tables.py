"""The one comparison of a ballot row with its record (domain/ledger/tables.py), used by the
receipt page and the server-side check alike; pure, no database."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from sunvote.domain.ledger.tables import (
    AttendanceRow,
    BallotFact,
    BallotRow,
    LogFacts,
    ballot_differences,
    compare_tables,
)

NAMED = BallotFact(seq=42, ballot="A" * 22, meeting=2, poll=1, choice="yes", secret=False,
                   member=7, member_name="王强", channel="hall", at="2026-03-02T01:00:00Z")
ROW = BallotRow(id=5, code="A" * 22, meeting=2, poll=1, choice="yes", voter=7, channel="hall",
                ledger_seq=42, poll_closed=True)
SECRET = BallotFact(seq=50, ballot="B" * 22, meeting=2, poll=2, choice="no", secret=True)
SECRET_ROW = BallotRow(id=6, code="B" * 22, meeting=2, poll=2, choice="no", voter=None,
                       channel="cloud", ledger_seq=50, poll_closed=True)


def test_a_row_that_says_what_its_record_says_has_no_difference() -> None:
    assert ballot_differences(ROW, NAMED) == ()
    assert ballot_differences(SECRET_ROW, SECRET) == ()  # a secret record has no channel


def test_each_edited_column_is_named() -> None:
    assert ballot_differences(replace(ROW, choice="no"), NAMED) == ("choice",)
    assert ballot_differences(replace(ROW, voter=8), NAMED) == ("voter",)
    assert ballot_differences(replace(ROW, poll=2), NAMED) == ("poll",)
    assert ballot_differences(replace(ROW, channel="cloud"), NAMED) == ("channel",)
    assert ballot_differences(replace(SECRET_ROW, choice="yes"), SECRET) == ("choice",)
    assert ballot_differences(replace(SECRET_ROW, voter=7), SECRET) == ("voter",)


def test_a_row_pointing_at_another_ballots_record_is_not_that_ballot() -> None:
    other = replace(NAMED, ballot="C" * 22, seq=43, member=9)
    assert ballot_differences(ROW, other) == ("ballot", "record", "voter")
    assert ballot_differences(ROW, None) == ("record",)


def _attendance_differences(records: list[tuple[str, int]],
                            rows: list[AttendanceRow]) -> list[str]:
    """The attendance mismatches of meeting 1 for ``records`` (type, member) fed in order."""
    facts = LogFacts()
    for seq, (type_, member) in enumerate(records):
        facts.feed(SimpleNamespace(seq=seq, type=type_,  # type: ignore[arg-type]
                                   body={"meeting": 1, "member": member, "channel": "hall"}))
    return [m.reason for m in compare_tables(facts, ballots=[], attendance=rows, polls=[],
                                           meetings=[], matters=[], steps=[],
                                           participations=[], recusals=[])]


def test_a_member_who_left_has_no_attendance_row() -> None:
    """meeting.leave ends the member's attendance: the table of who is present now has no row
    for them; a row left behind (or a row missing after they came back) is a difference."""
    left = [("meeting.attend", 7), ("meeting.attend", 8), ("meeting.leave", 7)]
    present = [AttendanceRow(1, 1, 8, "hall")]
    assert _attendance_differences(left, present) == []
    assert _attendance_differences(left, [*present, AttendanceRow(2, 1, 7, "hall")]) == [
        "no meeting.attend record"]
    back = [*left, ("meeting.attend", 7)]
    assert _attendance_differences(back, present) == [
        "checked in by the log, no row in the table"]
