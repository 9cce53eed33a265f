"""Presence and ballot proofs (issue 13, item 4): the optional ``proof`` of meeting.attend,
ballot.cast and poll.participation. A self check-in in the hall shows the hall screen's QR or
live code, a clerk's check-in is recorded as the clerk's, a hall-device ballot carries the
member's PIN or counts only as far as a supervisor's paper.confirm covers it. Logs written
before proofs existed carry none and verify as before; once one record carries a proof, every
later check-in and ballot must."""

from __future__ import annotations

import pytest

from sunvote.domain.assembly import (
    ATTEND_PROOFS,
    BALLOT_PROOFS,
    AttendProof,
    BallotProof,
    attendance_channels,
    attendance_proof_refusal,
    ballot_channels,
    ballot_proof_refusal,
)
from tests.domain.ledger.logbuilder import LogBuilder, filed_matter, people, representatives
from tests.domain.ledger.test_assembly_records import M1, assert_fails, assert_ok

PROVEN = {"qr", "code", "clerk", "device"}


def proven_meeting(reps: int = 6) -> tuple[LogBuilder, list[int]]:
    """An open meeting written by the current version: the clerk checked in the committee
    director, the representatives checked themselves in (QR or code); a named poll open."""
    b = LogBuilder()
    b.init()
    people(b)
    members = [2, *representatives(b, reps)]
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    b.attend(2, person=1, role="clerk", how="clerk")
    for position, member in enumerate(members[1:]):
        b.attend(member, how="qr" if position % 2 else "code")
    b.open_poll(M1)
    return b, members


def test_the_proof_tables_are_what_the_service_and_verifier_share() -> None:
    assert {p.value for kinds in ATTEND_PROOFS.values() for p in kinds} == PROVEN
    assert set(BallotProof) == {p for kinds in BALLOT_PROOFS.values() for p in kinds}
    assert attendance_proof_refusal("hall", True, "code") is None
    refusal = attendance_proof_refusal("hall", True, None)
    assert refusal is not None and refusal.rule == "assembly.presence"
    refusal = ballot_proof_refusal("device", False, None)
    assert refusal is not None and refusal.rule == "assembly.ballot_proof"
    assert ballot_proof_refusal("device", False, BallotProof.PIN.value) is None
    assert AttendProof.CLERK.value == "clerk"


def test_the_channels_by_role_are_the_proof_tables_keys() -> None:
    """Which channel a member uses themself and which one someone running the meeting enters
    is one table (the proofs' keys), read by the service and the offline verifier."""
    assert ballot_channels(by_member=True) == {"hall", "device", "cloud"}
    assert ballot_channels(by_member=False) == {"device", "paper"}
    assert attendance_channels(by_member=True) == {"hall", "cloud"}
    assert attendance_channels(by_member=False) == {"hall"}


def test_a_runners_hall_ballot_breaks_the_channel_rule_once_ballots_carry_proofs() -> None:
    """A ballot someone running the meeting enters in the hall is the hall device's (channel
    device). The verifier's own copy of the channels still let a runner enter a hall ballot
    after proofs began (only its proof was reported); logs from before proofs keep them
    (test_assembly_records.test_who_casts_a_ballot_valid)."""
    b, members = proven_meeting()
    b.cast(members[1], "yes", "hall", person=1, role="clerk", how="pin")
    assert_fails(b, len(b.records) - 1, "semantics",
                 "a hall ballot is cast by the member themself (role member) "
                 "[assembly.ballot_proof]")


def test_a_log_with_every_kind_of_proof_verifies() -> None:
    b, members = proven_meeting()
    b.cast(members[1], "yes", how="session")
    b.cast(members[2], "yes", "device", person=1, role="clerk", how="pin")
    b.paper_confirm(2)
    b.cast(members[3], "no", "device", person=1, role="clerk", how="confirmed")
    b.cast(members[4], "yes", "paper", how="paper")
    b.cast(members[5], "yes", "cloud", how="device")
    b.finish_poll()
    assert_ok(b)


def test_a_hall_device_ballot_without_proof_fails() -> None:
    """The forged log: after proofs began, the clerk's device ballot for a member says
    nothing of how the member showed it was theirs."""
    b, members = proven_meeting()
    b.cast(members[1], "yes", "device", person=1, role="clerk")
    assert_fails(b, len(b.records) - 1, "semantics", "assembly.ballot_proof: no proof")


@pytest.mark.parametrize("how", ["session", "device", "paper"])
def test_a_hall_device_ballot_claiming_someone_elses_proof_fails(how: str) -> None:
    b, members = proven_meeting()
    b.cast(members[1], "yes", "device", person=1, role="clerk", how=how)
    assert_fails(b, len(b.records) - 1, "semantics", "assembly.ballot_proof")


def test_an_unconfirmed_hall_device_ballot_fails() -> None:
    b, members = proven_meeting()
    b.cast(members[1], "yes", "device", person=1, role="clerk", how="confirmed")
    assert_fails(b, len(b.records) - 1, "semantics",
                 "unproven hall-device ballot 1 of poll 1 is not covered by an earlier "
                 "paper.confirm (0 confirmed)")


def test_a_clerks_hall_ballot_is_a_device_ballot() -> None:
    b, members = proven_meeting()
    b.cast(members[1], "yes", "hall", person=1, role="clerk", how="pin")
    assert_fails(b, len(b.records) - 1, "semantics", "assembly.ballot_proof")


@pytest.mark.parametrize(("how", "person", "role"), [
    (None, None, None), ("clerk", None, None), ("device", None, None),
    ("qr", 1, "clerk"), ("code", 1, "clerk")],
    ids=["self without proof", "self as clerk", "self hall as device", "clerk as qr",
         "clerk as code"])
def test_a_check_in_must_carry_its_own_kind_of_proof(how: str | None, person: int | None,
                                                      role: str | None) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    reps = representatives(b, 3)
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    b.attend(reps[0], how="code")
    b.attend(reps[1], person=person, role=role, how=how)
    assert_fails(b, len(b.records) - 1, "semantics", "assembly.presence")


def test_an_unknown_proof_is_malformed() -> None:
    b, members = proven_meeting()
    b.cast(members[1], "yes", how="telepathy")
    assert_fails(b, len(b.records) - 1, "format", "unknown proof 'telepathy'")


def test_a_legacy_log_without_proofs_still_verifies() -> None:
    """Written before proofs: the clerk's device ballot with no PIN and no confirmation, and
    self check-ins with nothing shown, are read as before (the clerk's word)."""
    b = LogBuilder()
    b.init()
    people(b)
    reps = representatives(b, 3)
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    for member in [2, *reps]:
        b.attend(member)
    b.open_poll(M1)
    b.cast(reps[0], "yes", "device", person=1, role="clerk")
    b.cast(reps[1], "yes")
    b.finish_poll()
    assert_ok(b)
