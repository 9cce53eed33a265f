"""The one comparison of a ballot row with its record (domain/ledger/tables.py), used by the
receipt page and the server-side check alike; pure, no database."""

from __future__ import annotations

from dataclasses import replace

from sunvote.domain.ledger.tables import BallotFact, BallotRow, ballot_differences

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
