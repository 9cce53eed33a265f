"""Cloud voting in the ledger: device.enrol, device.revoke and the phone's signature on cloud
check-ins, ballots and participations, as the offline verifier checks them."""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.checkpoint import Checkpoint, sign_checkpoint
from sunvote.domain.ledger.device import expected_statement
from sunvote.domain.ledger.merkle import append_nodes, leaf_hash, root_from_border
from sunvote.domain.ledger.note import parse_note_unverified
from sunvote.domain.ledger.records import BODY_SCHEMAS, OPTIONAL_BODY_KEYS, make_record
from sunvote.domain.ledger.verifier import EXIT_CODES, LogVerifier, Report, verify_export
from tests.domain.ledger.logbuilder import (
    DeviceSigner,
    LogBuilder,
    filed_matter,
    people,
    representatives,
)

M1, M2 = "2026-001", "2026-002"


# ====================================================================== helpers


def verify(b: LogBuilder, records: list[bytes] | None = None) -> Report:
    """Verify the builder's log (or other ``records`` of its origin) in memory."""
    records = b.records if records is None else records
    verifier = LogVerifier(b.origin, b.log_vkeys)
    border: list[bytes] = []
    for index, raw in enumerate(records):
        verifier.feed(index, raw)
        _, border = append_nodes(index, border, leaf_hash(raw))
    checkpoint = sign_checkpoint(Checkpoint(b.origin, len(records), root_from_border(border)),
                                 b.signer)
    return verifier.finish(checkpoint)


def described(report: Report) -> list[str]:
    return [f.describe() for f in report.failures]


def assert_ok(b: LogBuilder) -> None:
    report = verify(b)
    assert report.failures == (), described(report)


def assert_fails(b: LogBuilder, index: int, kind: str, text: str) -> Report:
    """Failures of one kind at ``index`` only, one of whose reasons contains ``text``."""
    report = verify(b)
    assert {(f.index, f.kind) for f in report.failures} == {(index, kind)}, described(report)
    assert report.exit_code == EXIT_CODES[kind]
    assert any(text in f.reason for f in report.failures), described(report)
    return report


def assembly(reps: int = 8) -> tuple[LogBuilder, list[int]]:
    """A log with the cast, ``reps`` representatives (101, 102, …) and two filed matters; the
    builder does not enrol phones by itself (every enrolment here is explicit)."""
    b = LogBuilder()
    b.auto_enrol = False
    b.init()
    people(b)
    members = [2, *representatives(b, reps)]
    for matter in (M1, M2):
        filed_matter(b, matter)
    return b, members


def open_meeting(b: LogBuilder, members: list[int], cloud: tuple[int, ...] = ()) -> None:
    """Convene and open meeting 1; ``cloud`` members check in by cloud, the others in the
    hall."""
    b.convene([M1, M2])
    b.open_meeting()
    for member in members:
        b.attend(member, "cloud" if member in cloud else "hall")


def cloud_meeting(alg: str = "ed25519") -> tuple[LogBuilder, list[int]]:
    """Members 101 and 102 enrolled (102 with ``alg``), checked in by cloud; a named poll on
    M1 is open."""
    b, members = assembly()
    b.enrol_device(101)
    b.enrol_device(102, alg)
    open_meeting(b, members, cloud=(101, 102))
    b.open_poll(M1)
    return b, members


# ====================================================================== valid logs


def mixed_log() -> LogBuilder:
    """Enrolments (both algorithms), a re-enrolment, a revocation and a new phone; a meeting
    mixing hall, paper and cloud: a channel switch, cloud ballots in a named poll, cloud
    participations in a secret one."""
    b, members = assembly()
    b.enrol_device(101)
    b.enrol_device(102, "p256")
    b.enrol_device(103, "p256")
    b.enrol_device(101, "p256")  # a new phone replaces the first
    b.revoke_device(103)  # lost
    b.enrol_device(103)  # and replaced by a new one, enrolled afresh
    b.enrol_device(104, person=2, role="committee_director")
    b.convene([M1, M2])
    b.open_meeting()
    for member in members:
        b.attend(member, "cloud" if member in (101, 102, 103) else "hall")
    b.attend(104, "cloud")  # a switch from the hall
    b.open_poll(M1)
    b.cast(2, "yes")
    b.cast(101, "yes", "cloud")
    b.cast(102, "no", "cloud")
    b.cast(103, "abstain", "cloud")
    b.cast(104, "yes", "cloud")
    b.paper_confirm(1)
    b.cast(105, "yes", "paper")
    b.cast(106, "yes", "device")
    b.finish_poll()
    b.open_poll(M2, "secret")
    for member, channel in [(2, "hall"), (101, "cloud"), (102, "cloud"), (103, "cloud"),
                            (104, "cloud"), (105, "hall")]:
        b.cast(member, "yes", channel)
    b.finish_poll()
    b.close_meeting()
    return b


@pytest.fixture(scope="module")
def mixed() -> LogBuilder:
    return mixed_log()


def test_a_log_mixing_hall_paper_and_cloud_verifies(mixed: LogBuilder, tmp_path: Path) -> None:
    types = {t for t in map(record_type, mixed.records)}
    assert {"device.enrol", "device.revoke", "meeting.attend", "ballot.cast",
            "poll.participation"} <= types
    algs = {record_body(raw)["device"]["key"].split(":")[0] for raw in mixed.records
            if "device" in record_body(raw)}
    assert algs == {"ed25519", "p256"}
    report = verify_export(mixed.export(tmp_path / "e"))
    assert report.failures == (), described(report)


def test_the_cloud_log_verifies_the_same_with_worker_processes(mixed: LogBuilder,
                                                               tmp_path: Path) -> None:
    path = mixed.export(tmp_path / "e")
    assert verify_export(path, jobs=2, chunk_size=5).failures == ()


def test_the_verifier_keeps_each_members_current_device(mixed: LogBuilder) -> None:
    verifier = LogVerifier(mixed.origin, mixed.log_vkeys)
    for index, raw in enumerate(mixed.records):
        verifier.feed(index, raw)
    assert verifier._devices == {m: d.key_text for m, d in mixed.devices.items()}
    assert len(verifier._device_keys) == 6
    ended = sorted((d.ended or "").split(" at ")[0] for d in verifier._device_keys.values())
    assert ended == ["", "", "", "", "replaced", "revoked"]


def record_body(raw: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(parse_note_unverified(raw).text)["body"]
    return body


def record_type(raw: bytes) -> str:
    return str(json.loads(parse_note_unverified(raw).text)["type"])


# ====================================================================== the altered ballot


def test_a_ballot_whose_choice_the_server_changed_fails_offline() -> None:
    """The acceptance test of the issue: the phone signed "yes", the server wrote "no" into
    the record (and counted it: the tally agrees) and signed it with the log key. Only the
    device signature shows it."""
    b, members = cloud_meeting()
    for member in members[2:8]:
        b.cast(member, "yes")
    index = b.size
    b.cast(101, "no", "cloud", signed={"choice": "yes"})
    b.finish_poll()
    assert_fails(b, index, "semantics", 'choice "yes" ≠ "no"')


def test_a_ballot_changed_after_the_fact_and_re_signed_fails_offline(mixed: LogBuilder) -> None:
    """The same, done to a finished log by someone holding the log key: the choice of a cloud
    ballot and the tally changed together, every later record re-chained and re-signed."""
    b = mixed_log()
    ballot = next(i for i, raw in enumerate(b.records) if record_type(raw) == "ballot.cast"
                  and record_body(raw)["member"] == 102)
    tally = next(i for i, raw in enumerate(b.records) if record_type(raw) == "poll.tally")
    assert record_body(b.records[ballot])["choice"] == "no"

    def to_yes(body: dict[str, Any]) -> None:
        body["choice"] = "yes"

    def recount(body: dict[str, Any]) -> None:
        body["yes"] += 1
        body["no"] -= 1

    b.rewrite({ballot: to_yes, tally: recount})
    assert record_body(b.records[tally])["verdict"] == "passed"
    assert_fails(b, ballot, "semantics", 'choice "no" ≠ "yes"')


# ====================================================================== statements


@pytest.mark.parametrize(("signed", "text"), [
    ({"poll": 2}, "poll 2 ≠ 1"),
    ({"meeting": 2}, "meeting 2 ≠ 1"),
    ({"member": 103}, "member 103 ≠ 101"),
    ({"log": "sunvote.demo-town/moonlight"}, 'log "sunvote.demo-town/moonlight" ≠ '
                                             '"sunvote.demo-town/sunshine"'),
    ({"ballot": "XXXXXXXXXXXXXXXXXXXXXX"}, 'ballot "XXXXXXXXXXXXXXXXXXXXXX" ≠'),
], ids=["poll", "meeting", "member", "log", "ballot id"])
def test_a_ballot_statement_for_something_else_fails(signed: dict[str, Any], text: str) -> None:
    b, _ = cloud_meeting()
    index = b.size
    b.cast(101, "yes", "cloud", signed=signed)
    assert_fails(b, index, "semantics", text)


def test_a_statement_of_another_type_fails() -> None:
    """A check-in signature is not a ballot."""
    b, _ = cloud_meeting()
    statement = expected_statement("participation", b.origin, meeting=1, poll=1, member=101)
    device = {"key": b.devices[101].key_text, "statement": statement,
              "sig": b.devices[101].sign(statement)}
    index = b.size
    b.cast(101, "yes", "cloud", device=device)
    assert_fails(b, index, "semantics", 't "participation" ≠ "ballot"')


@pytest.mark.parametrize(("signed", "text"), [
    ({"meeting": 2}, "meeting 2 ≠ 1"),
    ({"member": 102}, "member 102 ≠ 101"),
    ({"code": "12345"}, "code \"12345\" is not six digits"),
    ({"code": "12345a"}, "is not six digits"),
])
def test_a_check_in_statement_for_something_else_fails(signed: dict[str, Any],
                                                       text: str) -> None:
    b, _ = assembly()
    b.enrol_device(101)
    b.convene([M1])
    b.open_meeting()
    index = b.size
    b.attend(101, "cloud", signed=signed)
    assert_fails(b, index, "semantics", text)


def test_a_participation_statement_for_another_poll_fails() -> None:
    b, members = assembly()
    b.enrol_device(101, "p256")
    open_meeting(b, members, cloud=(101,))
    b.open_poll(M1, "secret")
    index = b.size
    b.cast(101, "yes", "cloud", signed={"poll": 3})
    assert_fails(b, index, "semantics", "poll 3 ≠ 1")


def test_a_non_canonical_statement_fails_even_when_signed() -> None:
    b, _ = cloud_meeting()
    phone = b.devices[101]
    proof = b.device_proof(101, "ballot", meeting=1, poll=1, member=101, choice="yes",
                           ballot="AbCdEfGhIjKlMnOpQrStUv")
    statement = proof["statement"].replace(",", ", ")
    index = b.size
    b.cast(101, "yes", "cloud", ballot="AbCdEfGhIjKlMnOpQrStUv",
           device={"key": phone.key_text, "statement": statement, "sig": phone.sign(statement)})
    assert_fails(b, index, "semantics", "the device statement is not valid")


# ====================================================================== which device


def test_a_ballot_signed_by_a_revoked_device_fails() -> None:
    b, _ = cloud_meeting()
    lost = b.devices[101]
    revoked = b.size
    b.revoke_device(101)
    index = b.size
    b.cast(101, "yes", "cloud", signer=lost)
    assert_fails(b, index, "signature", f"it was revoked at record {revoked}")


def test_a_ballot_signed_by_the_replaced_device_fails() -> None:
    b, _ = cloud_meeting()
    old = b.devices[101]
    replaced = b.size
    b.enrol_device(101, "p256")
    index = b.size
    b.cast(101, "yes", "cloud", signer=old)
    assert_fails(b, index, "signature", f"it was replaced at record {replaced}")


def test_a_ballot_signed_by_another_members_device_fails() -> None:
    b, _ = cloud_meeting("p256")
    index = b.size
    b.cast(101, "yes", "cloud", signer=b.devices[102])
    assert_fails(b, index, "signature", "is not member 101's enrolled device: it is member "
                                        "102's device")


def test_a_ballot_signed_by_a_device_never_enrolled_fails() -> None:
    b, _ = cloud_meeting()
    index = b.size
    b.cast(101, "yes", "cloud", signer=b.new_device())
    assert_fails(b, index, "signature", "it was never enrolled in this log")


def test_a_check_in_by_a_member_without_a_device_fails() -> None:
    b, _ = assembly()
    phone = b.enrol_device(101)
    b.revoke_device(101)
    b.convene([M1])
    b.open_meeting()
    index = b.size
    b.attend(101, "cloud", signer=phone)
    assert_fails(b, index, "signature", "(current: none)")


@pytest.mark.parametrize("alg", ["ed25519", "p256"])
def test_a_forged_device_signature_fails(alg: str) -> None:
    """The server cannot sign for the phone: a signature by a key it made up, under the
    member's enrolled key text."""
    b, _ = cloud_meeting(alg)
    forger = b.new_device(alg)
    proof = b.device_proof(102, "ballot", signer=forger, meeting=1, poll=1, member=102,
                           choice="yes", ballot="AbCdEfGhIjKlMnOpQrStUv")
    index = b.size
    b.cast(102, "yes", "cloud", ballot="AbCdEfGhIjKlMnOpQrStUv",
           device={**proof, "key": b.devices[102].key_text})
    assert_fails(b, index, "signature", "does not verify")


# ====================================================================== channel and actor


@pytest.mark.parametrize("kind", ["attend", "ballot", "participation"])
def test_a_cloud_record_without_a_device_fails(kind: str) -> None:
    b, members = assembly()
    b.enrol_device(101)
    b.convene([M1])
    b.open_meeting()
    for member in members:
        b.attend(member)
    if kind != "attend":
        b.open_poll(M1, "named" if kind == "ballot" else "secret")
    index = b.size
    if kind == "attend":
        b.attend(101, "cloud", proof=False)
    else:
        b.cast(101, "yes", "cloud", proof=False)
    assert_fails(b, index, "signature", "needs the member's device signature (no device)")


@pytest.mark.parametrize("channel", ["hall", "device", "paper"])
def test_a_device_on_a_record_not_made_by_cloud_fails(channel: str) -> None:
    b, _ = cloud_meeting()
    b.paper_confirm(1)
    proof = b.device_proof(101, "ballot", meeting=1, poll=1, member=101, choice="yes",
                           ballot="AbCdEfGhIjKlMnOpQrStUv")
    index = b.size
    entered: dict[str, Any] = {"person": 1, "role": "clerk"} if channel == "paper" else {}
    b.cast(101, "yes", channel, ballot="AbCdEfGhIjKlMnOpQrStUv", device=proof, **entered)
    assert_fails(b, index, "format", f"a {channel} record carries no device")


def test_a_device_on_a_hall_check_in_fails() -> None:
    b, _ = assembly()
    b.enrol_device(101)
    b.convene([M1])
    b.open_meeting()
    proof = b.device_proof(101, "attend", meeting=1, member=101, code="123456")
    index = b.size
    b.attend(101, "hall", device=proof)
    assert_fails(b, index, "format", "a hall record carries no device")


@pytest.mark.parametrize("device", [
    {"key": "k", "statement": "s"},
    {"key": "k", "statement": "s", "sig": "g", "alg": "x"},
    {"key": "k", "statement": "s", "sig": 1},
], ids=["missing sig", "extra key", "sig not a string"])
def test_a_malformed_device_object_fails(device: dict[str, Any]) -> None:
    b, _ = cloud_meeting()
    index = b.size
    b.cast(101, "yes", "cloud", device=device)
    assert_fails(b, index, "format", "device must have exactly key, statement and sig")


def test_a_device_key_that_does_not_parse_fails() -> None:
    b, _ = cloud_meeting()
    proof = b.device_proof(101, "ballot", meeting=1, poll=1, member=101, choice="yes",
                           ballot="AbCdEfGhIjKlMnOpQrStUv")
    index = b.size
    b.cast(101, "yes", "cloud", ballot="AbCdEfGhIjKlMnOpQrStUv",
           device={**proof, "key": "rsa:AAAA"})
    assert_fails(b, index, "format", "device.key: unknown device key algorithm")


def test_a_cloud_check_in_marked_by_the_clerk_fails() -> None:
    b, _ = assembly()
    b.enrol_device(101)
    b.convene([M1])
    b.open_meeting()
    index = b.size
    b.attend(101, "cloud", person=1, role="clerk")
    assert_fails(b, index, "semantics", "a cloud check-in is the member's own (role member)")


def test_a_cloud_ballot_entered_by_the_clerk_fails() -> None:
    b, _ = cloud_meeting()
    index = b.size
    b.cast(101, "yes", "cloud", person=1, role="clerk")
    assert_fails(b, index, "semantics", "a cloud ballot is cast by the member themself")


def test_a_cloud_ballot_by_a_proxy_fails() -> None:
    """Member 102 acting "as the member" on 101's ballot, signed by 101's phone."""
    b, _ = cloud_meeting()
    index = b.size
    b.cast(101, "yes", "cloud", person=102, role="member")
    assert_fails(b, index, "semantics", "person 102 acts as the member themself")


# ====================================================================== device.enrol


def test_an_enrolment_by_someone_who_does_not_run_meetings_fails() -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(101, person=5, role="supervisor")
    assert_fails(b, index, "semantics", "role supervisor may not enrol a device")


def test_an_enrolment_in_a_role_not_held_fails() -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(101, person=4, role="clerk")
    assert_fails(b, index, "semantics", "person 4 does not hold the role clerk")


def test_a_member_cannot_enrol_their_own_phone() -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(101, person=101, role="member")
    assert_fails(b, index, "semantics", "a member acting themself may not enrol a device")


@pytest.mark.parametrize("person", [5, 4, 999])
def test_an_enrolment_of_someone_outside_the_assembly_fails(person: int) -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(person)
    assert_fails(b, index, "semantics", f"person {person} is not a member of the assembly")


def test_an_enrolment_after_the_members_term_ended_fails() -> None:
    b, _ = assembly()
    b.end_role(108, "representative", "2026-03-01")
    index = b.size
    b.enrol_device(108)
    assert_fails(b, index, "semantics", "person 108 is not a member of the assembly")


def test_a_committee_member_may_have_a_phone() -> None:
    b, members = assembly()
    b.enrol_device(2, "p256")
    open_meeting(b, members, cloud=(2,))
    b.open_poll(M1, "secret")
    b.cast(2, "no", "cloud")
    assert_ok(b)


def test_a_key_enrolled_twice_fails() -> None:
    b, _ = assembly()
    phone = b.enrol_device(101)
    first = b.size - 1
    b.revoke_device(101)
    index = b.size
    b.enrol_device(101, signer=phone)
    assert_fails(b, index, "semantics", f"was already enrolled at record {first} (for member "
                                        "101): a key is enrolled once")


def test_one_phone_for_two_members_fails() -> None:
    b, _ = assembly()
    phone = b.enrol_device(101, "p256")
    index = b.size
    b.enrol_device(102, signer=phone)
    assert_fails(b, index, "semantics", "already enrolled")


@pytest.mark.parametrize("replaces", ["none", "wrong"])
def test_replaces_must_name_the_current_device(replaces: str) -> None:
    b, _ = assembly()
    first = b.enrol_device(101)
    index = b.size
    if replaces == "none":
        b.enrol_device(101, replaces=None)
        text = f"current device is {first.key.fingerprint}"
    else:
        b.enrol_device(101, replaces=b.new_device().key_text)
        text = f"current device is {first.key.fingerprint}"
    assert_fails(b, index, "semantics", text)


def test_a_first_enrolment_replaces_nothing() -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(101, replaces=b.new_device().key_text)
    assert_fails(b, index, "semantics", "current device is none")


def test_an_enrolment_without_proof_of_possession_fails() -> None:
    """The server cannot enrol a key it does not hold the phone for: the enrol statement must
    be signed by the enrolled key itself."""
    b, _ = assembly()
    phone, other = b.new_device(), b.new_device()
    statement = expected_statement("enrol", b.origin, member=101, key=phone.key_text,
                                   challenge="abc")
    index = b.size
    b.enrol_device(101, signer=phone, statement=statement, sig=other.sign(statement))
    assert_fails(b, index, "signature", "the phone's proof of possession by device")


@pytest.mark.parametrize(("signed", "text"), [
    ({"member": 102}, "member 102 ≠ 101"),
    ({"log": "sunvote.demo-town/moonlight"}, 'log "sunvote.demo-town/moonlight"'),
    ({"challenge": ""}, 'challenge "" is not a non-empty string'),
], ids=["member", "log", "empty challenge"])
def test_an_enrolment_statement_for_something_else_fails(signed: dict[str, Any],
                                                         text: str) -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(101, signed=signed)
    assert_fails(b, index, "semantics", text)


def test_an_enrolment_statement_naming_another_key_fails() -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(101, signed={"key": b.new_device().key_text})
    assert_fails(b, index, "semantics", "key \"ed25519:")


@pytest.mark.parametrize("key", ["ed25519:AAAA", "p256:" + base64.b64encode(
    b"\x04" + bytes(64)).decode(), "ecdsa:AAAA"])
def test_an_enrolment_of_a_key_that_does_not_parse_fails(key: str) -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(101, key=key)
    assert_fails(b, index, "format", "key: ")


def test_an_enrolment_with_a_bad_time_is_a_format_failure() -> None:
    b, _ = assembly()
    index = b.size
    b.enrol_device(101, at="2026-03-02 01:00:00")
    report = verify(b)
    assert {(f.index, f.kind) for f in report.failures} == {(index, "format")}


def test_a_flawed_enrolment_still_makes_the_phone_the_members_device() -> None:
    """One wrong enrolment is one failure: later ballots are judged against the key as
    recorded."""
    b, members = assembly()
    index = b.size
    b.enrol_device(101, person=5, role="supervisor")
    open_meeting(b, members, cloud=(101,))
    b.open_poll(M1)
    b.cast(101, "yes", "cloud")
    assert_fails(b, index, "semantics", "may not enrol a device")


# ====================================================================== device.revoke


def test_a_revocation_of_a_key_that_is_not_the_current_one_fails() -> None:
    b, _ = assembly()
    old = b.enrol_device(101)
    b.enrol_device(101, "p256")
    index = b.size
    b.revoke_device(101, key=old.key_text)
    assert_fails(b, index, "semantics", "is not member 101's current device")


def test_a_revocation_of_another_members_device_fails() -> None:
    b, _ = assembly()
    b.enrol_device(101)
    other = b.enrol_device(102)
    index = b.size
    b.revoke_device(101, key=other.key_text)
    assert_fails(b, index, "semantics", "is not member 101's current device")


def test_a_revocation_when_the_member_has_no_device_fails() -> None:
    b, _ = assembly()
    index = b.size
    b.revoke_device(101, key=b.new_device().key_text)
    assert_fails(b, index, "semantics", "(current: none)")


def test_a_revocation_needs_a_reason_and_a_runner() -> None:
    b, _ = assembly()
    b.enrol_device(101)
    b.enrol_device(102)
    blank = b.size
    b.revoke_device(101, reason=" \u3000")
    assert_fails(b, blank, "semantics", "a revocation needs a reason")
    b2, _ = assembly()
    b2.enrol_device(101)
    index = b2.size
    b2.revoke_device(101, person=101, role="representative")
    assert_fails(b2, index, "semantics", "role representative may not revoke a device")


def test_after_a_revocation_the_member_has_no_device() -> None:
    """Even a revocation that named the wrong key leaves the member without a device (its
    failure is reported once, at the revocation)."""
    b, members = assembly()
    phone = b.enrol_device(101)
    b.enrol_device(101)
    index = b.size
    b.revoke_device(101, key=phone.key_text)
    open_meeting(b, members)
    b.open_poll(M1)
    b.enrol_device(101, "p256")  # replaces nothing: the member has no device
    b.cast(101, "yes", "cloud")
    assert_fails(b, index, "semantics", "is not member 101's current device")


def test_a_member_may_enrol_again_after_a_revocation() -> None:
    b, members = assembly()
    b.enrol_device(101)
    b.revoke_device(101)
    b.enrol_device(101, "p256")
    open_meeting(b, members, cloud=(101,))
    b.open_poll(M1)
    b.cast(101, "yes", "cloud")
    assert_ok(b)


# ====================================================================== every bit counts


@pytest.fixture(scope="module")
def signed_ballot() -> tuple[LogBuilder, list[bytes], dict[str, Any], int]:
    """A log ending with a cloud ballot (P-256 phone): the records before it, its body and
    its index."""
    b, _ = cloud_meeting("p256")
    index = b.size
    b.cast(102, "no", "cloud")
    assert_ok(b)
    return b, b.records[:index], record_body(b.records[index]), index


def _with_body(b: LogBuilder, before: list[bytes], body: dict[str, Any]) -> list[bytes]:
    """The records before, then a ballot.cast with ``body``, chained and signed by the log
    key (as a server holding the log key could write it)."""
    border: list[bytes] = []
    for i, raw in enumerate(before):
        _, border = append_nodes(i, border, leaf_hash(raw))
    raw = make_record(b.origin, len(before), root_from_border(border), "ballot.cast", body,
                      [b.signer])
    return [*before, raw]


def _flip_text(text: str, position: int, bit: int) -> str:
    """``text`` with one bit of one character's code point flipped (kept a valid, NFC JSON
    string: a surrogate or a combining character becomes another character)."""
    flipped = chr(ord(text[position]) ^ (1 << bit))
    if 0xD800 <= ord(flipped) <= 0xDFFF or not unicodedata.is_normalized("NFC", flipped) or \
            unicodedata.combining(flipped):
        flipped = chr(ord(text[position]) ^ 1)
    return text[:position] + flipped + text[position + 1:]


@settings(max_examples=80, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipping_any_bit_of_the_signature_or_the_statement_fails(
        signed_ballot: tuple[LogBuilder, list[bytes], dict[str, Any], int],
        data: st.DataObject) -> None:
    b, before, body, index = signed_ballot
    device = dict(body["device"])
    target = data.draw(st.sampled_from(["sig bytes", "sig text", "statement"]))
    if target == "sig bytes":
        raw = bytearray(base64.b64decode(device["sig"]))
        bit = data.draw(st.integers(0, len(raw) * 8 - 1))
        raw[bit // 8] ^= 1 << (bit % 8)
        device["sig"] = base64.b64encode(bytes(raw)).decode()
    else:
        key = "sig" if target == "sig text" else "statement"
        position = data.draw(st.integers(0, len(device[key]) - 1))
        device[key] = _flip_text(device[key], position, data.draw(st.integers(0, 6)))
    report = verify(b, _with_body(b, before, {**body, "device": device}))
    assert report.failures, target
    assert {f.index for f in report.failures} == {index}, described(report)
    assert "signature" in {f.kind for f in report.failures}, described(report)


def test_the_unchanged_ballot_rebuilt_the_same_way_verifies(
        signed_ballot: tuple[LogBuilder, list[bytes], dict[str, Any], int]) -> None:
    """The control for the property above: rebuilding changes nothing by itself."""
    b, before, body, _ = signed_ballot
    report = verify(b, _with_body(b, before, body))
    assert report.failures == (), described(report)


# ====================================================================== the builder's phones


def test_the_builder_enrols_a_phone_on_first_cloud_use_by_default() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    members = [2, *representatives(b, 4)]
    filed_matter(b)
    b.convene([M1])
    b.open_meeting()
    for member in members:
        b.attend(member, "cloud" if member == 101 else "hall")
    b.open_poll(M1)
    b.cast(102, "yes", "cloud")
    assert [record_type(raw) for raw in b.records].count("device.enrol") == 2
    assert_ok(b)


def test_device_signers_are_deterministic() -> None:
    make: Callable[[], DeviceSigner] = lambda: DeviceSigner.generate("p256", seed=5)  # noqa: E731
    assert make().key_text == make().key_text
    assert DeviceSigner.generate("ed25519", seed=5).key_text.startswith("ed25519:")


# ====================================================================== hostile bodies

TEXT = st.one_of(st.sampled_from(["", " ", "member", "clerk", "cloud", "hall", "ed25519:",
                                  "p256:AAAA", '{"v":1}', "AAAA"]),
                 st.text(max_size=20).map(lambda s: unicodedata.normalize("NFC", s)))
INT = st.one_of(st.integers(-2, 12), st.sampled_from([101, 102, 2**53 - 1]))
VALUE = st.one_of(st.none(), st.booleans(), INT, TEXT)


@pytest.fixture(scope="module")
def hostile_base() -> tuple[LogBuilder, list[tuple[str, dict[str, Any]]]]:
    b, members = assembly()
    b.enrol_device(101)
    b.enrol_device(102, "p256")
    b.revoke_device(102)
    open_meeting(b, members, cloud=(101,))
    b.open_poll(M1)
    b.cast(101, "yes", "cloud")
    return b, [(record_type(raw), record_body(raw)) for raw in b.records]


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_well_typed_device_body_crashes_the_verifier(
        hostile_base: tuple[LogBuilder, list[tuple[str, dict[str, Any]]]],
        data: st.DataObject) -> None:
    """Any value of the right JSON type in any key of a device record, and any object as a
    cloud record's device: the verifier reports, it never raises."""
    base, items = hostile_base
    targets = [i for i, (t, body) in enumerate(items) if t.startswith("device.")
               or "device" in body]
    k = data.draw(st.sampled_from(targets))
    type_, body = items[k]
    mutated = dict(body)
    for key in data.draw(st.lists(st.sampled_from(sorted(body)), min_size=1, max_size=3,
                                  unique=True)):
        expected = {**BODY_SCHEMAS[type_], **OPTIONAL_BODY_KEYS.get(type_, {})}[key]
        if expected is dict:
            mutated[key] = data.draw(st.dictionaries(
                st.sampled_from(["key", "statement", "sig", "x"]), VALUE, max_size=4))
        elif expected is int:
            mutated[key] = data.draw(INT)
        else:
            mutated[key] = data.draw(TEXT)
    fresh = LogBuilder()
    for raw in base.records[:k]:
        fresh.add_raw(raw)
    fresh.append(type_, mutated)
    for later_type, later_body in items[k + 1:]:
        fresh.append(later_type, later_body)
    report = verify(fresh)
    assert all(f.index is None or f.index >= k for f in report.failures)


def test_a_revocation_naming_another_members_device_leaves_that_device_alone() -> None:
    b, members = assembly()
    b.enrol_device(101)
    other = b.enrol_device(102, "p256")
    index = b.size
    b.revoke_device(101, key=other.key_text)
    open_meeting(b, members, cloud=(102,))
    b.open_poll(M1)
    b.cast(102, "yes", "cloud")
    assert_fails(b, index, "semantics", "is not member 101's current device")
