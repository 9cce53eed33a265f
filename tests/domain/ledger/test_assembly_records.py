"""The representative assembly's record types (issue 4): schemas and verifier rules.

Logs are built with tests/domain/ledger/logbuilder.py: the cast (clerk 1, party secretary and
committee director 2, township reviewer 4, supervisor 5, township admin 6), representatives 101,
102, …, matters walked to "filed" (category 2 unless said), then the meeting. The assembly's
members are the committee director 2 and the representatives. The builder's clock starts on
2 March 2026, 09:00 China time; a meeting is convened for 09:00 on the day the notice period
ends, and opening it moves the clock there.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import unicodedata
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sunvote.domain.assembly import Choice, count, quorum_needed
from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.ledger.note import parse_note_unverified, sign_note
from sunvote.domain.ledger.records import (
    BODY_SCHEMAS,
    OPTIONAL_BODY_KEYS,
    RecordFormatError,
    b64,
    check_body,
)
from sunvote.domain.ledger.verifier import EXIT_CODES, LogVerifier, Report, verify_export
from sunvote.domain.settings import PassRule
from tests.domain.ledger.logbuilder import (
    LogBuilder,
    filed_matter,
    people,
    representatives,
    seeded_cosigner,
)

M1, M2 = "2026-001", "2026-002"
SHA = "0123456789abcdef" * 4


# ====================================================================== helpers


def verify(b: LogBuilder) -> Report:
    """Verify the builder's log in memory (the same checks as an export, without files)."""
    verifier = LogVerifier(b.origin, b.log_vkeys)
    for index, raw in enumerate(b.records):
        verifier.feed(index, raw)
    return verifier.finish(b.checkpoint())


def only(report: Report) -> set[tuple[int | None, str]]:
    return {(f.index, f.kind) for f in report.failures}


def assert_ok(b: LogBuilder) -> Report:
    report = verify(b)
    assert report.failures == (), [f.describe() for f in report.failures]
    return report


def assert_fails(b: LogBuilder, index: int, kind: str, text: str) -> Report:
    """Failures of one kind at ``index`` only, one of whose reasons contains ``text``."""
    report = verify(b)
    described = [f.describe() for f in report.failures]
    assert only(report) == {(index, kind)}, described
    assert report.exit_code == EXIT_CODES[kind]
    assert any(text in f.reason for f in report.failures), described
    return report


def add_unchecked(b: LogBuilder, type_: str, body: dict[str, Any]) -> int:
    """Append a correctly chained and signed record whose body skips the schema check."""
    index = b.size
    text = canonical_json({"body": body, "log": b.origin, "prev": b64(b.root), "seq": index,
                           "type": type_, "v": 1}).decode("utf-8") + "\n"
    b.add_raw(sign_note(text, [b.signer]))
    return index


def raw_ballot(b: LogBuilder, member: int, *, meeting: int = 1, poll: int = 1) -> int:
    """Append a well-formed named ballot by ``member`` whatever the builder remembers."""
    index = b.size
    b.append("ballot.cast", {"meeting": meeting, "poll": poll, "member": member,
                             "member_name": b.names.get(member, "某人"), "choice": "yes",
                             "channel": "hall", "ballot": b.ballot_id(), "person": member,
                             "name": b.names.get(member, "某人"), "role": "member",
                             "at": b.at()})
    return index


def type_of(raw: bytes) -> str:
    return str(json.loads(parse_note_unverified(raw).text)["type"])


def assembly(reps: int = 8, *, present: int | None = None, matters: tuple[str, ...] = (M1, M2),
             setting: dict[str, str] | None = None) -> tuple[LogBuilder, list[int]]:
    """A log up to an open meeting with ``present`` members checked in (default: all).
    Returns the builder and the members (committee director 2, then the representatives)."""
    b = LogBuilder()
    b.init()
    people(b)
    for key, value in (setting or {}).items():
        b.setting(key, value)
    members = [2, *representatives(b, reps)]
    for matter in matters:
        filed_matter(b, matter)
    b.convene(list(matters))
    b.open_meeting()
    for person in members[: len(members) if present is None else present]:
        b.attend(person)
    return b, members


def vote(b: LogBuilder, voters: list[int], yes: int, *, other: str = "no") -> None:
    """The first ``yes`` voters vote yes, the rest ``other``."""
    for position, member in enumerate(voters):
        b.cast(member, "yes" if position < yes else other)


# ====================================================================== schemas


def test_the_schemas_are_the_agreed_bodies() -> None:
    """The services write exactly these bodies: a change here is a change of the format."""
    actor = {"person": int, "name": str, "role": str, "at": str}
    assert BODY_SCHEMAS["meeting.convene"] == {
        "meeting": int, "title": str, "place": str, "starts_at": str, "agenda": list,
        "notice_days": int, **actor}
    assert BODY_SCHEMAS["meeting.open"] == {"meeting": int, "members": list, **actor}
    assert BODY_SCHEMAS["meeting.attend"] == {"meeting": int, "member": int, "member_name": str,
                                              "channel": str, **actor}
    assert BODY_SCHEMAS["poll.open"] == {
        "meeting": int, "poll": int, "matter": str, "mode": str, "present": int,
        "members": int, "quorum": str, "rule": str, "recusal_counts_present": bool, **actor}
    assert BODY_SCHEMAS["poll.recuse"] == {"meeting": int, "poll": int, "member": int,
                                           "member_name": str, "reason": str, **actor}
    assert BODY_SCHEMAS["ballot.cast"] == {
        "meeting": int, "poll": int, "member": int, "member_name": str, "choice": str,
        "channel": str, "ballot": str, **actor}
    assert BODY_SCHEMAS["poll.participation"] == {
        "meeting": int, "poll": int, "member": int, "member_name": str, "channel": str,
        **actor}
    assert BODY_SCHEMAS["paper.confirm"] == {
        "meeting": int, "poll": int, "count": int, "sheet_sha256": str, "entered_by": int,
        **actor}
    assert BODY_SCHEMAS["poll.close"] == {"meeting": int, "poll": int, "ballots": int, **actor}
    assert BODY_SCHEMAS["ballot.secret"] == {"meeting": int, "poll": int, "ballot": str,
                                             "choice": str}
    assert BODY_SCHEMAS["poll.tally"] == {
        "meeting": int, "poll": int, "matter": str, "yes": int, "no": int, "abstain": int,
        "recused": int, "present": int, "members": int, "rule": str,
        "recusal_counts_present": bool, "base": int, "needed": int, "verdict": str,
        "at": str}
    assert BODY_SCHEMAS["poll.void"] == {"meeting": int, "poll": int, "matter": str,
                                         "reason": str, **actor}
    assert BODY_SCHEMAS["meeting.close"] == {"meeting": int, **actor}
    assert BODY_SCHEMAS["meeting.request"] == {"reason": str, **actor}


SECRET = {"meeting": 1, "poll": 1, "ballot": "AbCdEfGhIjKlMnOpQrStUv", "choice": "yes"}


@pytest.mark.parametrize("extra", [{"member": 101}, {"at": "2026-03-05T01:10:00Z"},
                                   {"person": 101}, {"member_name": "代表101"}],
                         ids=["member", "at", "person", "member_name"])
def test_a_secret_ballot_carries_no_identity_and_no_time(extra: dict[str, Any]) -> None:
    check_body("ballot.secret", SECRET)
    with pytest.raises(RecordFormatError, match="unexpected"):
        check_body("ballot.secret", {**SECRET, **extra})


@pytest.mark.parametrize(("type_", "key", "value"), [
    ("poll.open", "recusal_counts_present", 1),
    ("poll.tally", "yes", True),
    ("poll.tally", "recusal_counts_present", "true"),
    ("meeting.open", "members", {}),
    ("meeting.convene", "agenda", "2026-001"),
    ("ballot.cast", "member", "101"),
])
def test_assembly_bodies_keep_json_types_apart(type_: str, key: str, value: object) -> None:
    body = {k: (True if t is bool else 1 if t is int else [] if t is list else "x")
            for k, t in BODY_SCHEMAS[type_].items()}
    check_body(type_, body)
    with pytest.raises(RecordFormatError):
        check_body(type_, {**body, key: value})


# ====================================================================== complete logs


def complete_log() -> LogBuilder:
    """Everything at once: a request, a meeting with a named poll (recusal, a channel switch,
    a device ballot entered by the clerk, paper ballots confirmed by a supervisor), a secret
    poll (with a cloud voter and a paper ballot), a second meeting on a re-proposed matter."""
    b = LogBuilder()
    b.init()
    people(b)
    b.appoint(7, "吴刚", "committee_member")
    b.appoint(8, "郑洁", "supervisor_chair")
    members = [2, 7, *representatives(b, 10)]
    filed_matter(b, M1)
    filed_matter(b, M2, category=7)
    b.request_meeting(101)
    b.request_meeting(102)
    b.convene([M1, M2], person=2, role="committee_director")
    b.appoint(111, "代表111", "representative")  # joins after the notice: told late
    b.notice_added([111])
    b.open_meeting(person=7, role="committee_member")
    for member in members[:10]:
        b.attend(member, person=1, role="clerk")
    b.attend(110, "cloud")
    b.attend(101, "cloud")  # a switch: still 11 present
    # poll 1, named
    b.open_poll(M1)
    b.recuse(104, reason="本人承包该路段工程")
    b.cast(2, "yes")
    b.cast(7, "yes", "device")
    b.cast(101, "no", "cloud")
    b.cast(102, "yes", "device", person=1, role="clerk")
    b.paper_confirm(3, person=8, role="supervisor_chair")
    b.cast(103, "yes", "paper")
    b.cast(105, "abstain", "paper")
    b.cast(106, "yes", "paper")
    b.cast(110, "yes", "cloud")
    first = b.finish_poll()
    assert (first.yes, first.no, first.abstain, first.recused, first.verdict) == (
        6, 1, 1, 1, "passed")
    # poll 2, secret
    b.open_poll(M2, "secret")
    for member, choice in [(2, "no"), (7, "no"), (101, "yes"), (102, "no"), (103, "no"),
                           (104, "abstain"), (110, "no")]:
        b.cast(member, choice, "cloud" if member in (101, 110) else "hall")
    b.paper_confirm(1)
    b.cast(105, "yes", "paper")
    second = b.finish_poll(seed=7)
    assert second.verdict == "rejected"
    b.close_meeting()
    # the rejected matter comes back as a new one and is voted on at meeting 2
    b.step("2026-003", "repropose", 2, {"category": 7, "title": "宅基地安排方案（修订）",
                                        "summary": "修订后的方案", "amount_fen": 0,
                                        "origin_state": "rejected"}, origin=M2)
    b.step("2026-003", "discuss", 1)
    b.step("2026-003", "file", 4)
    b.convene(["2026-003"])
    b.open_meeting(2)
    for member in members[:9]:
        b.attend(member, meeting=2)
    b.leave(members[8], meeting=2, person=1, role="clerk")  # leaves, and comes back
    b.attend(members[8], meeting=2)
    b.open_poll("2026-003", meeting=2)
    for member in members[:9]:
        b.cast(member, meeting=2)
    assert b.finish_poll(meeting=2).verdict == "passed"
    b.close_meeting(2)
    # meeting 3: the supervisory committee sends its matter back while the poll is open, so
    # the poll cannot be tallied and is voided; the meeting closes
    filed_matter(b, "2026-004")
    b.convene(["2026-004"])
    b.open_meeting(3)
    for member in members[:9]:
        b.attend(member, meeting=3)
    b.open_poll("2026-004", meeting=3)
    b.step("2026-004", "flag_breach", 5)
    b.void_poll(meeting=3)
    b.close_meeting(3)
    return b


@pytest.fixture(scope="module")
def complete() -> LogBuilder:
    return complete_log()


def test_a_complete_assembly_log_verifies(complete: LogBuilder, tmp_path: Path) -> None:
    witness = seeded_cosigner()
    report = verify_export(complete.export(tmp_path / "e", cosigners=[witness]),
                           require_cosignature=True)
    assert report.failures == (), [f.describe() for f in report.failures]
    types = {type_ for type_ in BODY_SCHEMAS if type_.split(".")[0] in
             ("meeting", "poll", "ballot", "paper")}
    seen = {type_of(raw) for raw in complete.records}
    assert types <= seen


def test_the_complete_log_verifies_the_same_with_worker_processes(complete: LogBuilder,
                                                                   tmp_path: Path) -> None:
    path = complete.export(tmp_path / "e")
    assert verify_export(path, jobs=2, chunk_size=7).failures == ()


def test_a_closed_meetings_state_is_dropped(complete: LogBuilder) -> None:
    """Memory stays flat: only ballot ids (and matters) are kept once meetings close."""
    verifier = LogVerifier(complete.origin, complete.log_vkeys)
    for index, raw in enumerate(complete.records):
        verifier.feed(index, raw)
    assert verifier._meetings == {}
    assert verifier._closing is None
    assert len(verifier._ballots) == 8 + 8 + 9


def test_the_assembly_of_the_day_includes_committee_members(tmp_path: Path) -> None:
    b, members = assembly(3)
    b.open_poll(M1)
    vote(b, members, 4)
    b.finish_poll()
    b.close_meeting()
    assert_ok(b)


# ====================================================================== quorum


@pytest.mark.parametrize(("roster", "present", "ok"), [
    (30, 19, False), (30, 20, True), (31, 20, False), (31, 21, True)])
def test_quorum_at_poll_opening(roster: int, present: int, ok: bool) -> None:
    assert quorum_needed(roster, Fraction(2, 3)) == (20 if roster == 30 else 21)
    b, members = assembly(roster - 1, present=present)
    index = b.size
    b.open_poll(M1)
    vote(b, members[:present], present)
    b.finish_poll()
    if ok:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics",
                     f"no quorum: {present} of {roster} members present, "
                     f"{20 if roster == 30 else 21} needed (2/3 of the members)")


def test_a_poll_stating_a_false_present_count_fails() -> None:
    b, _ = assembly(29, present=19)
    index = b.size
    b.open_poll(M1, present=20)  # what a server hiding the missing quorum would write
    report = verify(b)
    assert only(report) == {(index, "semantics")}
    reasons = " | ".join(f.reason for f in report.failures)
    assert "present is 20, but 19 members are present" in reasons
    assert "no quorum: 19 of 30" in reasons


def test_the_quorum_counts_a_channel_switch_once() -> None:
    b, members = assembly(29, present=19)
    b.attend(members[0], "cloud")  # a switch, not a 20th member
    index = b.size
    b.open_poll(M1)
    assert_fails(b, index, "semantics", "no quorum: 19 of 30")


# ====================================================================== the verdict


@pytest.mark.parametrize(("yes", "verdict"), [(10, "rejected"), (11, "passed")])
def test_twenty_present_need_eleven_yes(yes: int, verdict: str) -> None:
    b, members = assembly(29, present=20)
    b.open_poll(M1)
    vote(b, members[:20], yes, other="abstain")
    tally = b.finish_poll()
    assert (tally.base, tally.needed, tally.verdict) == (20, 11, verdict)
    b.close_meeting()
    assert_ok(b)


@pytest.mark.parametrize(("yes", "claimed"), [(10, "passed"), (11, "rejected")])
def test_a_wrong_verdict_fails_at_the_tally(yes: int, claimed: str) -> None:
    b, members = assembly(29, present=20)
    b.open_poll(M1)
    vote(b, members[:20], yes)
    b.close_poll()
    index = b.size
    b.tally(verdict=claimed)
    b.record_vote(M1, claimed)
    assert_fails(b, index, "semantics",
                 f"verdict is {claimed}, but {yes} yes under majority_of_present (base 20, "
                 f"11 needed) means")


def test_missing_ballots_count_against() -> None:
    """Ten yes of twenty present fails even when nobody votes no."""
    b, members = assembly(29, present=20)
    b.open_poll(M1)
    vote(b, members[:10], 10)
    assert b.finish_poll().verdict == "rejected"
    assert_ok(b)


# ====================================================================== the tally


@pytest.mark.parametrize("key", ["yes", "no", "abstain", "recused", "present", "members",
                                 "base", "needed"])
@pytest.mark.parametrize("delta", [1, -1])
def test_tally_numbers_off_by_one_fail(key: str, delta: int) -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    b.recuse(members[-1])
    vote(b, members[:6], 3, other="no")
    b.cast(members[6], "abstain")
    b.close_poll()
    right = b.count()
    index = b.size
    b.tally(**{key: getattr(right, key) + delta})
    b.record_vote(M1, right.verdict)
    assert_fails(b, index, "semantics",
                 f"{key} {getattr(right, key) + delta} (recount {getattr(right, key)})")


@pytest.mark.parametrize(("key", "value", "text"), [
    ("rule", "majority_of_all", "rule majority_of_all (recount majority_of_present)"),
    ("recusal_counts_present", False, "recusal_counts_present false (recount true)"),
    ("matter", M2, "matter is 2026-002, but meeting 1 poll 1 was on 2026-001"),
])
def test_the_tally_states_the_polls_matter_and_settings(key: str, value: object,
                                                        text: str) -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    index = b.size
    b.tally(**{key: value})
    b.record_vote(M1, "passed")
    assert_fails(b, index, "semantics", text)


def test_the_correct_tally_passes_as_counterpart() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    b.recuse(members[-1])
    vote(b, members[:6], 3, other="no")
    b.cast(members[6], "abstain")
    tally = b.finish_poll()
    assert (tally.yes, tally.no, tally.abstain, tally.recused, tally.verdict) == (
        3, 3, 1, 1, "rejected")
    assert_ok(b)


@pytest.mark.parametrize(("override", "kind", "text"), [
    ({"verdict": "carried"}, "format", "is not passed or rejected"),
    ({"rule": "unanimity"}, "format", "unknown pass rule"),
    ({"yes": -1}, "format", "yes must not be negative"),
])
def test_tally_syntax(override: dict[str, Any], kind: str, text: str) -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    index = b.size
    b.tally(**override)
    b.record_vote(M1, "passed")
    report = verify(b)
    assert kind in {f.kind for f in report.failures if f.index == index}
    assert {f.index for f in report.failures} == {index}
    assert any(text in f.reason for f in report.failures)


# ====================================================================== one ballot per member


@pytest.mark.parametrize(("channel", "person"), [("hall", None), ("device", 1), ("paper", 1),
                                                 ("cloud", None)],
                         ids=["hall again", "device via the clerk", "paper", "cloud"])
def test_a_second_ballot_by_the_same_member_fails(channel: str, person: int | None) -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    if channel == "paper":
        b.paper_confirm(1)
    b.cast(members[0], "yes")
    if channel == "cloud":
        b.enrol_device(members[0])
    index = b.size
    b.cast(members[0], "no", channel, person=person)
    vote(b, members[1:5], 4)
    b.finish_poll()
    assert_fails(b, index, "semantics",
                 "already has a ballot in poll 1 (one ballot per member per poll, whatever the "
                 "channel)")


def test_a_second_participation_in_a_secret_poll_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1, "secret")
    b.cast(members[0], "yes")
    b.enrol_device(members[0])
    index = b.size
    b.cast(members[0], "no", "cloud")
    vote(b, members[1:5], 4)
    b.finish_poll()
    assert_fails(b, index, "semantics", "already has a ballot in poll 1")


def test_one_ballot_per_member_per_poll_not_per_meeting() -> None:
    b, members = assembly(8)
    for matter in (M1, M2):
        b.open_poll(matter)
        vote(b, members, 9)
        b.finish_poll()
    b.close_meeting()
    assert_ok(b)


# ====================================================================== outside an open poll


def test_a_ballot_before_the_poll_opens_fails() -> None:
    b, members = assembly(8)
    index = raw_ballot(b, members[0])
    b.open_poll(M1)
    assert_fails(b, index, "semantics", "poll 1 of meeting 1 is not open (no poll is open)")


def test_a_ballot_after_the_poll_closed_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members[:6], 6)
    b.finish_poll()
    index = raw_ballot(b, members[7])
    assert_fails(b, index, "semantics", "poll 1 of meeting 1 is not open (no poll is open)")


def test_a_ballot_in_another_poll_than_the_open_one_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.finish_poll()
    b.open_poll(M2)
    index = b.size
    b.cast(members[0], "yes", poll=1)
    assert_fails(b, index, "semantics", "poll 1 of meeting 1 is not open (poll 2 is)")


def test_a_ballot_after_the_meeting_closed_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.finish_poll()
    b.close_meeting()
    index = b.size
    b.cast(members[0], "yes", poll=1)
    assert_fails(b, index, "semantics", "meeting 1 is closed")


def test_a_ballot_for_a_meeting_never_convened_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    index = raw_ballot(b, members[0], meeting=5)
    assert_fails(b, index, "semantics", "meeting 5 was never convened")


# ====================================================================== who may vote


def test_a_non_member_cannot_vote() -> None:
    """The clerk (1) is no member of the assembly; nor is a representative appointed after the
    roster was frozen."""
    b, _ = assembly(8)
    b.appoint(120, "新代表", "representative", starts_on="2026-03-05")
    b.open_poll(M1)
    first = b.size
    b.cast(1, "yes")
    second = b.size
    b.cast(120, "yes")
    report = verify(b)
    assert only(report) == {(first, "semantics"), (second, "semantics")}
    assert "person 120 is not on the roster of meeting 1" in report.failures[1].reason


def test_a_non_member_cannot_check_in() -> None:
    b, _ = assembly(8)
    index = b.size
    b.attend(1)
    assert_fails(b, index, "semantics", "person 1 is not on the roster of meeting 1")


def test_an_absent_member_cannot_vote() -> None:
    b, members = assembly(8, present=7)
    b.open_poll(M1)
    index = b.size
    b.cast(members[8])
    assert_fails(b, index, "semantics", f"member {members[8]} is not present")


@pytest.mark.parametrize("mode", ["named", "secret"])
def test_a_recused_member_cannot_vote(mode: str) -> None:
    b, members = assembly(8)
    b.open_poll(M1, mode)
    b.recuse(members[3])
    index = b.size
    b.cast(members[3], "yes")
    vote(b, members[:3], 3)
    b.finish_poll()
    assert_fails(b, index, "semantics", "declared recusal on poll 1 and may not vote")


@pytest.mark.parametrize("mode", ["named", "secret"])
def test_a_recused_member_who_does_not_vote_is_fine(mode: str) -> None:
    b, members = assembly(8)
    b.open_poll(M1, mode)
    b.recuse(members[3], person=1, role="clerk")
    vote(b, members[:3], 3)
    b.finish_poll()
    assert_ok(b)


@pytest.mark.parametrize(("case", "text"), [
    ("after voting", "already voted in poll 1: recusal comes before voting"),
    ("twice", "already declared recusal on poll 1"),
    ("absent", "is not present"),
    ("no reason", "a recusal needs a reason"),
    ("proxy", "person 101 acts as the member themself, but the record is about member 102"),
    ("no poll", "not open"),
])
def test_recusal_rules(case: str, text: str) -> None:
    b, members = assembly(8, present=8)
    if case != "no poll":
        b.open_poll(M1)
    member = members[1]
    if case == "after voting":
        b.cast(member)
    if case == "twice":
        b.recuse(member)
    index = b.size
    if case == "absent":
        b.recuse(members[8])
    elif case == "no reason":
        b.recuse(member, reason=" \u3000")
    elif case == "proxy":
        b.recuse(102, person=101, role="member")
    elif case == "no poll":
        add_recuse(b)
    else:
        b.recuse(member)
    assert_fails(b, index, "semantics", text)


def add_recuse(b: LogBuilder) -> bytes:
    body = {"meeting": 1, "poll": 1, "member": 101, "member_name": "代表101", "reason": "利害关系",
            "person": 101, "name": "代表101", "role": "member", "at": b.at()}
    return b.append("poll.recuse", body)


@pytest.mark.parametrize(("channel", "person", "role", "text"), [
    ("paper", None, "member", "a paper ballot is entered by someone running the meeting"),
    ("cloud", 1, "clerk", "a cloud ballot is cast by the member themself"),
    ("hall", 102, "member", "person 102 acts as the member themself, but the record is about "
                            "member 101 (no proxies)"),
    ("hall", 5, "supervisor", "role supervisor may not enter a ballot"),
    ("hall", 4, "clerk", "person 4 does not hold the role clerk"),
], ids=["member on paper", "clerk for cloud", "proxy", "supervisor", "role not held"])
def test_who_casts_a_ballot(channel: str, person: int | None, role: str, text: str) -> None:
    b, _ = assembly(8)
    b.open_poll(M1)
    b.paper_confirm(1)
    b.enrol_device(101)
    index = b.size
    b.cast(101, "yes", channel, person=person if person is not None else 101, role=role)
    assert_fails(b, index, "semantics", text)


@pytest.mark.parametrize(("channel", "person", "role"), [
    ("hall", 101, "member"), ("device", 101, "member"), ("cloud", 101, "member"),
    ("hall", 1, "clerk"), ("device", 2, "committee_director"), ("paper", 1, "clerk")])
def test_who_casts_a_ballot_valid(channel: str, person: int, role: str) -> None:
    b, _ = assembly(8)
    b.open_poll(M1)
    b.paper_confirm(1)
    b.cast(101, "yes", channel, person=person, role=role)
    assert_ok(b)


def test_a_member_switching_from_hall_to_cloud_stays_present_once() -> None:
    b, members = assembly(8, present=6)
    b.attend(members[0], "cloud")
    index = b.size
    b.attend(members[0], "cloud")
    report = assert_fails(b, index, "semantics", "is already present (cloud): one attendance")
    assert report.failures[0].type == "meeting.attend"


# ====================================================================== paper ballots


def test_a_paper_ballot_without_confirmation_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    index = b.size
    b.cast(members[0], "yes", "paper")
    assert_fails(b, index, "semantics",
                 "paper ballot 1 of poll 1 is not covered by an earlier paper.confirm "
                 "(0 confirmed)")


@pytest.mark.parametrize("mode", ["named", "secret"])
def test_paper_ballots_beyond_the_confirmed_count_fail(mode: str) -> None:
    b, members = assembly(8)
    b.open_poll(M1, mode)
    b.paper_confirm(2)
    b.cast(members[0], "yes", "paper")
    b.cast(members[1], "yes", "paper")
    index = b.size
    b.cast(members[2], "yes", "paper")
    b.paper_confirm(2)  # too late for the third, which still counts as paper: 4 of 4
    b.cast(members[3], "yes", "paper")
    b.finish_poll()
    assert_fails(b, index, "semantics", "paper ballot 3 of poll 1 is not covered")


def test_a_confirmation_in_another_poll_does_not_cover() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    b.paper_confirm(1)
    vote(b, members, 9)
    b.finish_poll()
    b.open_poll(M2)
    index = b.size
    b.cast(members[0], "yes", "paper")
    assert_fails(b, index, "semantics", "(0 confirmed)")


@pytest.mark.parametrize(("person", "role", "entered_by", "text"), [
    (5, "supervisor", 5, "person 5 confirms paper ballots they entered themself"),
    (1, "clerk", 2, "role clerk may not confirm paper ballots"),
    (8, "supervisor", 1, "person 8 does not hold the role supervisor"),
], ids=["confirmer is enterer", "clerk", "role not held"])
def test_who_confirms_paper_ballots(person: int, role: str, entered_by: int, text: str) -> None:
    b, _ = assembly(8)
    b.open_poll(M1)
    index = b.size
    b.paper_confirm(1, person=person, role=role, entered_by=entered_by)
    assert_fails(b, index, "semantics", text)


@pytest.mark.parametrize(("override", "text"), [
    ({"count": 0}, "count 0 must be at least 1"),
    ({"sheet_sha256": SHA.upper()}, "sheet_sha256 is not 64 lowercase hex digits"),
    ({"entered_by": 0}, "entered_by 0 is not a positive number"),
])
def test_paper_confirm_syntax(override: dict[str, Any], text: str) -> None:
    b, _ = assembly(8)
    b.open_poll(M1)
    index = b.size
    b.paper_confirm(1, **override)
    assert_fails(b, index, "format", text)


def test_a_paper_confirmation_outside_an_open_poll_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.finish_poll()
    index = b.size
    b.paper_confirm(1, poll=1)
    assert_fails(b, index, "semantics", "poll 1 of meeting 1 is not open")


# ====================================================================== secret polls


def secret_poll(voters: int = 6) -> tuple[LogBuilder, list[int]]:
    """An open secret poll on 2026-001 in which ``voters`` members took part (4 yes, then no)."""
    b, members = assembly(8)
    b.open_poll(M1, "secret")
    vote(b, members[:voters], 4)
    return b, members


def test_a_secret_poll_verifies() -> None:
    b, _ = secret_poll()
    tally = b.finish_poll(seed=5)
    assert (tally.yes, tally.no, tally.verdict) == (4, 2, "rejected")
    b.close_meeting()
    assert_ok(b)


def test_named_and_secret_records_do_not_mix() -> None:
    b, members = assembly(8)
    b.open_poll(M1, "secret")
    index = b.size
    b.append("ballot.cast", {"meeting": 1, "poll": 1, "member": members[0],
                             "member_name": "李强", "choice": "yes", "channel": "hall",
                             "ballot": b.ballot_id(), "person": members[0], "name": "李强",
                             "role": "member", "at": b.at()})
    assert_fails(b, index, "semantics", "secret: it takes poll.participation and ballot.secret")


def test_a_participation_in_a_named_poll_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    index = b.size
    b.append("poll.participation", {"meeting": 1, "poll": 1, "member": members[0],
                                    "member_name": "李强", "channel": "hall",
                                    "person": members[0], "name": "李强", "role": "member",
                                    "at": b.at()})
    assert_fails(b, index, "semantics", "named: it takes ballot.cast, not poll.participation")


@pytest.mark.parametrize("extra", [{"member": 101}, {"at": "2026-03-05T01:30:00Z"}],
                         ids=["member", "at"])
def test_a_secret_ballot_with_extra_keys_is_malformed(extra: dict[str, Any]) -> None:
    """The record is malformed (format) and takes no place in the sequence: the tally then
    finds one ballot.secret missing."""
    b, _ = secret_poll()
    b.close_poll()
    p = b.meetings[1].polls[1]
    choice, channel = p.ballots.pop(0)  # this one goes out malformed
    bad = add_unchecked(b, "ballot.secret", {**SECRET, "ballot": b.ballot_id(),
                                             "choice": choice, **extra})
    b.secret_ballots()
    tally = b.size
    p.ballots.insert(0, (choice, channel))
    b.tally()
    b.record_vote(M1, "rejected")
    report = verify(b)
    assert {(bad, "format"), (tally, "semantics")} == only(report), report.failures
    assert "malformed record" in report.failures[0].reason
    assert "unexpected" in report.failures[0].reason
    assert any("declared 6 secret ballots, but only 5 came" in f.reason
               for f in report.failures)


@pytest.mark.parametrize("declared", [5, 7])
def test_participations_and_the_declared_ballots_must_agree(declared: int) -> None:
    b, _ = secret_poll()
    index = b.size
    b.close_poll(ballots=declared)
    b.secret_ballots()  # six
    b.tally()
    b.record_vote(M1, "rejected")
    report = verify(b)
    assert (index, "semantics") in only(report)
    assert "ballots is " + str(declared) + ", but poll 1 has 6 poll.participation record(s)" in (
        report.failures[0].reason)
    if declared == 5:  # the sixth ballot is one too many, and not counted
        sixth = index + 6
        assert only(report) == {(index, "semantics"), (sixth, "semantics"),
                                (sixth + 1, "semantics")}
        assert "one ballot.secret more than the 5" in report.failures[1].reason
    else:  # the tally comes before the seventh
        assert only(report) == {(index, "semantics"), (index + 7, "semantics")}
        assert "declared 7 secret ballots, but only 6 came" in report.failures[1].reason


def test_more_secret_ballots_than_participations_fail() -> None:
    b, _ = secret_poll()
    b.close_poll()
    b.secret_ballots()
    index = b.size
    b.append("ballot.secret", {**SECRET, "ballot": b.ballot_id()})
    assert_fails(b, index, "semantics", "one ballot.secret more than the 6")


def test_fewer_secret_ballots_than_participations_fail() -> None:
    b, _ = secret_poll()
    b.close_poll()
    b.meetings[1].polls[1].ballots.pop()
    b.secret_ballots()
    index = b.size
    b.tally(yes=3, no=2)
    b.record_vote(M1, "rejected")
    assert_fails(b, index, "semantics", "declared 6 secret ballots, but only 5 came before")


@pytest.mark.parametrize("intruder", ["suggestion", "participation", "request", "other secret"])
def test_a_record_between_secret_ballots_fails(intruder: str) -> None:
    b, members = secret_poll()
    b.close_poll()
    p = b.meetings[1].polls[1]
    ballots = list(p.ballots)
    for choice, _channel in ballots[:2]:
        b.append("ballot.secret", {"meeting": 1, "poll": 1, "ballot": b.ballot_id(),
                                   "choice": choice})
    index = b.size
    if intruder == "suggestion":
        b.suggestion(99)
    elif intruder == "participation":
        b.cast(members[7])  # the builder still thinks poll 1 is open
        p.ballots.pop()
    elif intruder == "request":
        b.request_meeting(101)
    else:
        b.append("ballot.secret", {**SECRET, "poll": 2, "ballot": b.ballot_id()})
    for choice, _channel in ballots[2:]:
        b.append("ballot.secret", {"meeting": 1, "poll": 1, "ballot": b.ballot_id(),
                                   "choice": choice})
    b.tally()
    b.record_vote(M1, "rejected")
    b.publish(M1, "rejected")
    b.close_meeting()
    assert_fails(b, index, "semantics",
                 "meeting 1 poll 1 was closed: ballot.secret 3 of 6 must come next")


def test_a_secret_ballot_outside_a_closing_fails() -> None:
    b, _ = secret_poll()
    index = b.size
    b.append("ballot.secret", {**SECRET, "ballot": b.ballot_id()})  # the poll is still open
    assert_fails(b, index, "semantics", "a ballot.secret may only come directly after")


def test_a_poll_opening_inside_the_closing_abandons_it() -> None:
    """A record that begins something else ends the unfinished sequence: one failure, no
    cascade."""
    b, members = secret_poll()
    b.close_poll()
    b.secret_ballots()
    index = b.size
    b.open_poll(M2)
    vote(b, members, 9)
    b.finish_poll()
    b.close_meeting()
    report = assert_fails(b, index, "semantics", "its poll.tally must come next, not this "
                                                 "poll.open")
    assert "abandoned" in report.failures[0].reason


def test_old_secret_ballot_channels_must_match_the_participations() -> None:
    """Logs written before 2026-12 carry the channel: it must still add up."""
    b, members = assembly(8)
    b.open_poll(M1, "secret")
    b.cast(members[0], "yes", "cloud")
    b.cast(members[1], "yes")
    b.close_poll()
    for choice in ("yes", "yes"):
        b.append("ballot.secret", {"meeting": 1, "poll": 1, "ballot": b.ballot_id(),
                                   "choice": choice, "channel": "hall"})
    index = b.size
    b.tally()
    b.record_vote(M1, "rejected")
    assert_fails(b, index, "semantics",
                 "the secret ballots by channel (hall 2) are not the participations by channel "
                 "(cloud 1, hall 1)")


def test_a_new_secret_poll_verifies_with_no_finding() -> None:
    """Since 2026-12 a ballot.secret says meeting, poll, ballot id and choice only."""
    b, members = assembly(8)
    b.open_poll(M1, "secret")
    b.cast(members[0], "no", "cloud")  # alone by cloud (issue 13: rep20)
    b.cast(members[1], "abstain", "device")  # alone on the hall device (rep01)
    vote(b, members[2:6], 4)
    b.close_poll()
    secret = b.secret_ballots(seed=3)
    assert all(b"channel" not in raw for raw in secret)
    b.tally()
    b.record_vote(M1, "rejected")
    report = assert_ok(b)
    assert report.findings == ()


def test_an_old_secret_ballot_with_its_channel_is_reported_as_linkable() -> None:
    """The old shape still verifies (the records are authentic), but the verifier says plainly
    that it links members alone on a channel to their choice: a finding, never withdrawn."""
    b, members = assembly(8)
    b.open_poll(M1, "secret")
    b.cast(members[0], "no", "cloud")
    b.cast(members[1], "abstain", "device")
    vote(b, members[2:6], 4)
    b.close_poll()
    b.secret_ballots(seed=3, old_shape=True)
    index = b.size
    b.tally()
    b.record_vote(M1, "rejected")
    report = assert_ok(b)
    assert [(f.index, f.type, f.rule) for f in report.findings] == [
        (index, "poll.tally", "ballot.secret_linkable")]
    reason = report.findings[0].reason
    assert "meeting 1 poll 1" in reason and "cloud, device" in reason
    assert report.to_dict()["findings"][0]["rule"] == "ballot.secret_linkable"


def test_the_command_line_prints_the_privacy_finding_and_exits_0(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sunvote.verify import main

    b, members = assembly(8)
    b.open_poll(M1, "secret")
    b.cast(members[0], "no", "cloud")
    vote(b, members[1:6], 4)
    b.finish_poll(seed=3, old_shape=True)
    path = b.export(tmp_path / "e")
    assert main([str(path), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PRIVACY: record ") and "ballot.secret_linkable" in out[0]
    assert "took part by cloud" in out[0] and out[1].startswith("隐私问题：1 项")
    assert main([str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["findings"][0]["rule"] == "ballot.secret_linkable"


def test_a_ballot_id_is_unique_in_the_log() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    b.cast(members[0], ballot="Ab" * 11)
    b.close_poll(ballots=1)
    b.tally()
    b.record_vote(M1, "rejected")
    b.publish(M1, "rejected")
    b.open_poll(M2, "secret")
    b.cast(members[0])
    b.close_poll()
    index = b.size
    b.append("ballot.secret", {**SECRET, "poll": 2, "ballot": "Ab" * 11})
    b.tally()
    b.record_vote(M2, "rejected")
    assert_fails(b, index, "semantics", f"ballot id {'Ab' * 11} was already used in this log")


@pytest.mark.parametrize("ballot", ["short", "has space in it 1234567", "x" * 65, "é" * 22,
                                    "Ab" * 8, "Ab" * 11 + "A", "Ab" * 32, "Ab" * 10 + "A="])
def test_a_ballot_id_is_the_apps_own_shape_or_a_format_failure(ballot: str) -> None:
    """The verifier applies the app's ballot-id rule (domain.assembly.ballot_id_refusal): 22
    characters,
    not the 16–64 it once accepted, which no SunVote ever wrote (issue 17)."""
    b, members = assembly(8)
    b.open_poll(M1)
    index = b.size
    b.cast(members[0], ballot=ballot)
    assert_fails(b, index, "format", f"assembly.ballot_id: ballot id {ballot!r} is not 22 "
                 "characters")


# ====================================================================== record_vote


def test_record_vote_without_a_tally_fails() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    filed_matter(b, M1)
    index = b.size
    b.record_vote(M1, "passed")
    # follows the recorded state (passed), from which the vote can be flagged
    b.step(M1, "flag_breach", 5, {"breach_step": "vote", "reason": "没有计票记录。"})
    assert_fails(b, index, "semantics",
                 "record_vote may only come directly after the poll.tally of a poll on the "
                 "matter")


def test_record_vote_right_after_the_close_fails() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    index = b.size
    b.record_vote(M1, "passed")
    assert_fails(b, index, "semantics",
                 "meeting 1 poll 1 was closed: its poll.tally must come next, not this "
                 "matter.step")


def test_a_missing_record_vote_is_reported_at_the_next_record() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    b.tally()
    index = b.size
    b.close_meeting()
    assert_fails(b, index, "semantics",
                 "the matter.step record_vote of matter 2026-001 must come next, not this "
                 "meeting.close")


@pytest.mark.parametrize(("override", "text"), [
    ({"person": 2}, "record_vote is by person 2, but meeting 1 poll 1 was closed by person 1"),
    ({"fields": {"verdict": "rejected"}, "to": "rejected"},
     "record_vote's verdict is 'rejected', but the poll.tally before it says passed"),
    ({"role": "clerk"}, "role clerk may not take record_vote"),
])
def test_record_vote_is_the_tallys(override: dict[str, Any], text: str) -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.close_poll()
    b.tally()
    index = b.size
    b.record_vote(M1, "passed", **override)
    assert_fails(b, index, "semantics", text)


def test_a_rejected_matter_is_closed_after_the_vote() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 0)
    assert b.finish_poll().verdict == "rejected"
    index = b.size
    b.step(M1, "start_implementation", 1, {}, check=False)
    report = assert_fails(b, index, "semantics", "matter 2026-001 is rejected (closed)")
    assert report.failures[0].type == "matter.step"


def test_a_passed_matter_goes_on_to_supervision() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.finish_poll()
    b.close_meeting()
    b.wait(5)  # the notice period
    b.step(M1, "start_implementation", 1, {})
    assert_ok(b)


# ====================================================================== the roster


@pytest.mark.parametrize(("change", "text"), [
    ("missing", "person 108 (representative) is missing"),
    ("extra", "person 1 holds no assembly role"),
    ("roles", "person 2 is listed as committee_director, representative but holds "
              "committee_director"),
    ("ended", "person 108 holds no assembly role"),
], ids=["missing", "extra", "roles", "term ended"])
def test_a_wrong_roster_snapshot_fails(change: str, text: str) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    representatives(b, 8)
    filed_matter(b, M1)
    if change == "ended":
        b.end_role(108, "representative", "2026-03-04")
    b.convene([M1])
    members = b.assembly_members()
    if change == "missing":
        members = members[:-1]
    elif change == "extra":
        members = [{"person": 1, "name": "王芳", "roles": ["clerk"]}, *members]
    elif change == "roles":
        members[0] = {**members[0], "roles": ["committee_director", "representative"]}
    index = b.size
    b.open_meeting(members=members)
    assert_fails(b, index, "semantics", text)


def test_the_roster_follows_the_terms_on_the_opening_day() -> None:
    """A term ended the day before the meeting leaves the roster; the builder (which keeps no
    dates) would list the person, the verifier knows better."""
    b = LogBuilder()
    b.init()
    people(b)
    representatives(b, 8)
    filed_matter(b, M1)
    b.end_role(108, "representative", "2026-03-04")
    b.convene([M1])
    members = [m for m in b.assembly_members() if m["person"] != 108]
    b.open_meeting(members=members)
    assert_ok(b)


@pytest.mark.parametrize(("members", "text"), [
    ([{"person": 101, "name": "x", "roles": ["representative"]},
      {"person": 2, "name": "y", "roles": ["committee_director"]}], "sorted by person id"),
    ([{"person": 2, "name": "y", "roles": ["committee_director"]},
      {"person": 2, "name": "y", "roles": ["committee_director"]}], "each person once"),
    ([{"person": 2, "name": "y", "roles": ["representative", "committee_director"]}],
     "the roles of member 2 must be sorted"),
    ([{"person": 2, "name": "y", "roles": ["chair"]}], "unknown role 'chair'"),
    ([{"person": "2", "name": "y", "roles": []}], "members must be a list of"),
    ([{"person": 2, "roles": []}], "members must be a list of"),
])
def test_roster_shape(members: list[dict[str, Any]], text: str) -> None:
    b, _ = assembly(0, present=0)
    b.convene([M2])
    index = b.size
    b.open_meeting(2, members=members)
    report = verify(b)
    assert (index, "format") in only(report)
    assert {f.index for f in report.failures} == {index}
    assert any(text in f.reason for f in report.failures if f.kind == "format")


# ====================================================================== convening


@pytest.mark.parametrize(("days_ahead", "ok"), [(2, False), (3, True)])
def test_notice_period(days_ahead: int, ok: bool) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    filed_matter(b, M1)
    index = b.size
    b.convene([M1], days_ahead=days_ahead)
    if ok:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics",
                     "notice too short: the meeting starts on 2026-03-04, 2 day(s) after the "
                     "notice on 2026-03-02 (China time); meeting_notice_days is 3")


@pytest.mark.parametrize(("days_ahead", "ok"), [(6, False), (7, True)])
def test_a_longer_notice_setting_applies(days_ahead: int, ok: bool) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    b.setting("meeting_notice_days", "7")
    filed_matter(b, M1)
    index = b.size
    b.convene([M1], days_ahead=days_ahead)
    if ok:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics", "meeting_notice_days is 7")


def test_notice_days_must_be_the_setting_in_force() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    filed_matter(b, M1)
    index = b.size
    b.convene([M1], days_ahead=5, notice_days=5)
    assert_fails(b, index, "semantics",
                 "notice_days is 5, but the township's meeting_notice_days in force is 3")


def test_the_notice_counts_china_days() -> None:
    """Noticed at 23:30 China time on 1 March (15:30 UTC): 4 March is three days later."""
    b = LogBuilder()
    b.init()
    people(b)
    filed_matter(b, M1)
    b.appoint(7, "吴刚", "committee_member")
    b.append("meeting.convene", {
        "meeting": 1, "title": "会议", "place": "会议室", "starts_at": "2026-03-04T00:00:00Z",
        "agenda": [M1], "notice_days": 3, "person": 7, "name": "吴刚",
        "role": "committee_member", "at": "2026-03-01T15:30:00Z"})
    assert_ok(b)


@pytest.mark.parametrize(("agenda", "kind", "text"), [
    ([], "semantics", "the agenda is empty"),
    ([M1, M1], "semantics", "the agenda lists matter 2026-001 more than once"),
    ([M1, "2026-009"], "semantics", "agenda matter 2026-009 is not a matter of this log"),
    ([M1, "26-1"], "format", "agenda must be a list of matter numbers"),
    ([M1, 2], "format", "agenda must be a list of matter numbers"),
])
def test_agenda_rules(agenda: list[Any], kind: str, text: str) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    filed_matter(b, M1)
    index = b.size
    b.convene(agenda)
    report = verify(b)
    assert {f.index for f in report.failures} == {index}
    assert any(f.kind == kind and text in f.reason for f in report.failures), report.failures


def test_an_agenda_matter_must_await_the_vote() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    b.suggestion(1)
    b.step(M1, "suggest", 1, suggestions=[1])
    b.step(M1, "propose", 2)
    index = b.size
    b.convene([M1])
    assert_fails(b, index, "semantics",
                 "agenda matter 2026-001 is proposed, not filed (awaiting the vote)")


@pytest.mark.parametrize(("person", "role", "text"), [
    (5, "supervisor", "role supervisor may not convene a meeting"),
    (101, "member", "a member acting themself may not convene a meeting"),
    (4, "committee_director", "person 4 does not hold the role committee_director"),
    (1, "chair", "unknown role 'chair'"),
])
def test_who_convenes(person: int, role: str, text: str) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    filed_matter(b, M1)
    index = b.size
    b.convene([M1], person=person, role=role)
    report = verify(b)
    assert {f.index for f in report.failures} == {index}
    assert any(text in f.reason for f in report.failures), report.failures


def test_meeting_numbers_follow_each_other() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    filed_matter(b, M1)
    b.convene([M1])
    index = b.size
    b.convene([M1], meeting=3)
    assert_fails(b, index, "semantics", "meeting number is 3, expected 2")


# ====================================================================== opening and closing


def test_a_meeting_cannot_open_before_its_day() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    representatives(b, 3)
    filed_matter(b, M1)
    b.convene([M1])
    # 23:59 China time on the day before
    b.clock = b.meetings[1].starts_at - dt.timedelta(hours=9, minutes=1)
    b.meetings[1].starts_at = b.clock
    index = b.size
    b.open_meeting()
    assert_fails(b, index, "semantics",
                 "meeting 1 opens on 2026-03-04 (China time), before the day it was convened "
                 "for (2026-03-05)")


@pytest.mark.parametrize("case", ["never convened", "twice", "closed"])
def test_meeting_open_needs_a_convened_meeting(case: str) -> None:
    b, _ = assembly(3)
    if case == "closed":
        b.close_meeting()
    index = b.size
    if case == "never convened":
        b.meetings[2] = b.meetings[1]
    b.open_meeting(2 if case == "never convened" else 1)
    text = {"never convened": "meeting 2 was never convened",
            "twice": "meeting 1 is already open", "closed": "meeting 1 is closed"}[case]
    assert_fails(b, index, "semantics", text)


def test_attendance_needs_an_open_meeting() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    representatives(b, 3)
    filed_matter(b, M1)
    b.convene([M1])
    b.meetings[1].members = b.assembly_members()
    index = b.size
    b.attend(101)
    assert_fails(b, index, "semantics", "meeting 1 is convened but not open")


@pytest.mark.parametrize(("case", "text"), [
    ("second open", "poll 1 of meeting 1 is still open: one poll at a time"),
    ("not on agenda", "matter 2026-003 is not on the agenda of meeting 1"),
    ("polled twice", "meeting 1 already held a poll on matter 2026-001"),
    ("number", "poll number is 3, expected 2"),
    ("by a supervisor", "role supervisor may not open a poll"),
])
def test_poll_open_rules(case: str, text: str) -> None:
    b, members = assembly(8)
    filed_matter(b, "2026-003")
    b.open_poll(M1)
    if case != "second open":
        vote(b, members, 0)
        b.finish_poll()
    index = b.size
    if case == "second open":
        b.open_poll(M2)
    elif case == "not on agenda":
        b.open_poll("2026-003")
    elif case == "polled twice":
        b.open_poll(M1)
    elif case == "number":
        b.open_poll(M2, poll=3)
    else:
        b.open_poll(M2, person=5, role="supervisor")
    report = verify(b)
    assert {f.index for f in report.failures} == {index}, report.failures
    assert any(text in f.reason for f in report.failures), report.failures


def test_a_poll_on_a_matter_no_longer_filed_fails() -> None:
    b, _ = assembly(8)
    b.step(M1, "withdraw", 2)
    index = b.size
    b.open_poll(M1)
    assert_fails(b, index, "semantics", "matter 2026-001 is withdrawn, not filed")


# ====================================================================== one open poll per matter


def two_meetings_polling(matter: str = M1) -> tuple[LogBuilder, list[int], int]:
    """Meeting 1 opens a poll on ``matter``; meeting 2, convened for it too, opens a second
    poll on it while the first is still open (what the old version allowed). Returns the
    builder, the members and the index of the second poll.open."""
    b, members = assembly(8, matters=(matter,))
    b.open_poll(matter)
    vote(b, members, 7)
    b.convene([matter])
    b.open_meeting(2)
    for member in members:
        b.attend(member, meeting=2)
    index = b.size
    b.open_poll(matter, meeting=2)
    return b, members, index


def test_a_second_open_poll_on_one_matter_fails_with_the_rule_code() -> None:
    """Issue 13 item 6: the same matter put to the vote at two meetings at once. The first poll
    is counted, the second is voided (its matter is decided) and both meetings close: the one
    failure is the second poll.open."""
    b, members, index = two_meetings_polling()
    ballot = b.size
    b.cast(members[0], meeting=2)  # the second poll took a ballot, as the old version let it
    assert b.finish_poll().verdict == "passed"
    b.void_poll(meeting=2, reason="该事项已在第1次会议表决通过")
    b.close_meeting(2)
    b.close_meeting(1)
    report = verify(b)
    assert only(report) == {(index, "semantics"), (ballot, "semantics")}, report.failures
    reasons = {f.index: f.reason for f in report.failures}
    assert reasons[index] == ("poll 1 of meeting 1 on matter 2026-001 is still open: one open "
                              "poll per matter [assembly.one_poll_per_matter]")
    assert reasons[ballot].endswith("opened before it and is still open [assembly.poll_void]")


def test_the_later_of_two_open_polls_on_one_matter_cannot_be_tallied() -> None:
    b, _members, index = two_meetings_polling()
    close = b.size
    b.close_poll(meeting=2)
    report = verify(b)
    assert {f.index for f in report.failures} == {index, close}, report.failures
    assert any(f.index == close and "opened before it and is still open" in f.reason
               and "[assembly.poll_void]" in f.reason for f in report.failures)


def test_the_later_of_two_open_polls_may_be_voided_before_the_first_closes() -> None:
    b, _members, index = two_meetings_polling()
    b.void_poll(meeting=2, reason="同一事项已在第1次会议表决中")
    b.close_meeting(2)
    assert b.finish_poll().verdict == "passed"
    b.close_meeting(1)
    assert_fails(b, index, "semantics", "[assembly.one_poll_per_matter]")


def test_a_poll_on_a_matter_decided_at_another_meeting_fails_with_the_rule_code() -> None:
    b, members = assembly(8, matters=(M1,))
    b.convene([M1])
    b.open_poll(M1)
    vote(b, members, 7)
    b.finish_poll()
    b.open_meeting(2)
    for member in members:
        b.attend(member, meeting=2)
    index = b.size
    b.open_poll(M1, meeting=2)
    assert_fails(b, index, "semantics",
                 "matter 2026-001 is passed, not filed (awaiting the vote) "
                 "[assembly.one_poll_per_matter]")


def test_a_poll_that_can_be_tallied_may_not_be_voided() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 3)  # going badly for the clerk: voiding it would discard the vote
    index = b.size
    b.void_poll(reason="临时取消")
    b.close_meeting()
    assert_fails(b, index, "semantics",
                 "meeting 1 poll 1 could be tallied (matter 2026-001 awaits the vote and no "
                 "earlier poll on it is open): it must be closed and counted, not voided "
                 "[assembly.poll_void]")


def test_a_poll_whose_matter_was_sent_back_is_voided_not_tallied() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    b.step(M1, "flag_breach", 5)
    close = b.size
    b.close_poll()
    report = verify(b)
    assert any(f.index == close and "matter 2026-001 is proposed, no longer awaiting the vote"
               in f.reason and "[assembly.poll_void]" in f.reason
               for f in report.failures), report.failures


@pytest.mark.parametrize(("override", "text"), [
    ({"reason": " "}, "reason is blank"),
    ({"matter": M2}, "matter is 2026-002, but meeting 1 poll 1 is on 2026-001"),
    ({"person": 101, "role": "member"}, "a member acting themself may not void a poll"),
])
def test_poll_void_rules(override: dict[str, Any], text: str) -> None:
    b, _ = assembly(8)
    b.open_poll(M1)
    b.step(M1, "flag_breach", 5)
    index = b.size
    b.void_poll(**override)
    report = verify(b)
    assert {f.index for f in report.failures} == {index}, report.failures
    assert any(text in f.reason for f in report.failures), report.failures


@pytest.mark.parametrize(("override", "text"), [
    ({"mode": "open"}, "unknown mode"),
    ({"rule": "simple"}, "unknown pass rule"),
    ({"quorum": "4/6"}, "quorum '4/6' is not a fraction in its text form"),
    ({"quorum": "2/0"}, "is not a fraction"),
    ({"quorum": "0.67"}, "is not a fraction"),
    ({"poll": 0}, "poll 0 is not a positive number"),
])
def test_poll_open_syntax(override: dict[str, Any], text: str) -> None:
    b, _ = assembly(8)
    index = b.size
    b.open_poll(M1, **override)
    report = verify(b)
    assert (index, "format") in only(report)
    assert {f.index for f in report.failures} == {index}
    assert any(text in f.reason for f in report.failures), report.failures


def test_poll_close_needs_the_open_poll_and_a_runner() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    vote(b, members, 9)
    index = b.size
    b.close_poll(person=101, role="member")
    b.tally()
    b.record_vote(M1, "passed", person=101)
    assert_fails(b, index, "semantics", "a member acting themself may not close a poll")


def test_meeting_close_with_an_open_poll_fails() -> None:
    b, _ = assembly(8)
    b.open_poll(M1)
    index = b.size
    b.close_meeting()
    assert_fails(b, index, "semantics", "poll 1 of meeting 1 is still open")


# ====================================================================== settings


def test_a_stricter_rule_for_the_category_applies() -> None:
    """Category 2 (fund raising) needs 2/3 of those present in this township: 13 of 20 fail,
    14 pass; a poll stating the township's general rule fails."""
    setting = {"pass_rule.category_2": "two_thirds_of_present"}
    b, members = assembly(29, present=20, setting=setting)
    b.open_poll(M1)
    vote(b, members[:20], 13)
    tally = b.finish_poll()
    assert (tally.rule, tally.needed, tally.verdict) == (
        PassRule.TWO_THIRDS_OF_PRESENT, 14, "rejected")
    b.open_poll(M2)
    vote(b, members[:20], 14)
    assert b.finish_poll().verdict == "passed"
    assert_ok(b)

    b, members = assembly(29, present=20, setting=setting)
    index = b.size
    b.open_poll(M1, rule="majority_of_present")
    assert_fails(b, index, "semantics",
                 "rule is majority_of_present, but the pass rule in force for matter 2026-001 "
                 "(category 2) is two_thirds_of_present")


def test_the_category_override_leaves_other_categories_alone() -> None:
    b = LogBuilder()
    b.init()
    people(b)
    b.setting("pass_rule.category_4", "two_thirds_of_present")
    b.setting("pass_rule", "majority_of_all")
    members = [2, *representatives(b, 4)]
    filed_matter(b, M1, category=2)
    filed_matter(b, M2, category=4)
    b.convene([M1, M2])
    b.open_meeting()
    for member in members:
        b.attend(member)
    b.open_poll(M1)
    assert b.meetings[1].polls[1].rule == "majority_of_all"
    vote(b, members, 3)
    b.finish_poll()
    b.open_poll(M2)
    assert b.meetings[1].polls[2].rule == "two_thirds_of_present"
    vote(b, members, 4)
    b.finish_poll()
    assert_ok(b)


def test_the_category_of_the_latest_proposal_counts() -> None:
    """A matter re-proposed under category 4 is voted on under category 4's rule."""
    b = LogBuilder()
    b.init()
    people(b)
    b.setting("pass_rule.category_4", "majority_of_all")
    members = [2, *representatives(b, 4)]
    filed_matter(b, M1, category=2)
    b.convene([M1])
    b.open_meeting()
    for member in members:
        b.attend(member)
    b.open_poll(M1)
    vote(b, members, 0)
    b.finish_poll()
    b.close_meeting()
    b.step("2026-002", "repropose", 2, {"category": 4, "title": "t", "summary": "s",
                                        "amount_fen": 1, "origin_state": "rejected"}, origin=M1)
    b.step("2026-002", "discuss", 1)
    b.step("2026-002", "file", 4)
    b.convene(["2026-002"])
    b.open_meeting(2)
    for member in members:
        b.attend(member, meeting=2)
    index = b.size
    b.open_poll("2026-002", meeting=2, rule="majority_of_present")
    assert_fails(b, index, "semantics", "(category 4) is majority_of_all")


@pytest.mark.parametrize(("present", "ok"), [(22, False), (23, True)])
def test_a_quorum_of_three_quarters(present: int, ok: bool) -> None:
    b, members = assembly(29, present=present, setting={"quorum": "3/4"})
    index = b.size
    b.open_poll(M1)
    vote(b, members[:present], present)
    b.finish_poll()
    if ok:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics",
                     "no quorum: 22 of 30 members present, 23 needed (3/4 of the members)")


def test_a_poll_stating_the_laws_quorum_under_a_stricter_one_fails() -> None:
    b, _ = assembly(29, present=25, setting={"quorum": "3/4"})
    index = b.size
    b.open_poll(M1, quorum="2/3")
    assert_fails(b, index, "semantics",
                 "quorum is 2/3, but the township's quorum in force is 3/4")


def test_recusals_leave_the_base_where_the_township_says_so() -> None:
    """With recusal_counts_present off, 3 yes of 6 present with 1 recused pass (base 5)."""
    b, members = assembly(8, present=6, setting={"recusal_counts_present": "false"})
    b.open_poll(M1)
    b.recuse(members[5])
    vote(b, members[:5], 3)
    tally = b.finish_poll()
    assert (tally.base, tally.needed, tally.verdict) == (5, 3, "passed")
    assert_ok(b)

    b, members = assembly(8, present=6, setting={"recusal_counts_present": "false"})
    index = b.size
    b.open_poll(M1, recusal_counts_present=True)
    assert_fails(b, index, "semantics",
                 "recusal_counts_present is true, but the township's setting in force is false")


# ====================================================================== meeting requests


@pytest.mark.parametrize(("person", "role", "reason", "text"), [
    (101, "representative", "请尽快议定", None),
    (1, "representative", "请尽快议定", "person 1 does not hold the role representative"),
    (1, "clerk", "请尽快议定", "role clerk may not request a meeting"),
    (101, "representative", "  ", "a meeting request needs a reason"),
], ids=["valid", "not held", "clerk", "blank reason"])
def test_meeting_requests(person: int, role: str, reason: str, text: str | None) -> None:
    b = LogBuilder()
    b.init()
    people(b)
    representatives(b, 3)
    index = b.size
    b.request_meeting(person, role=role, reason=reason)
    if text is None:
        assert_ok(b)
    else:
        assert_fails(b, index, "semantics", text)


# ====================================================================== random polls


@st.composite
def polls(draw: st.DrawFn) -> dict[str, Any]:
    size = draw(st.integers(1, 24))
    quorum = draw(st.sampled_from(["2/3", "3/4", "1"]))
    needed = quorum_needed(size, Fraction(quorum))
    present = draw(st.integers(needed, size))
    order = draw(st.permutations(range(size)))
    attending = sorted(order[:present])
    recused = draw(st.lists(st.sampled_from(attending), unique=True,
                            max_size=min(3, present)))
    eligible = [m for m in attending if m not in recused]
    voters = draw(st.lists(st.sampled_from(eligible), unique=True) if eligible
                  else st.just([]))
    choices = [draw(st.sampled_from(list(Choice))) for _ in voters]
    channels = [draw(st.sampled_from(["hall", "device", "paper", "cloud"])) for _ in voters]
    return {"size": size, "quorum": quorum, "attending": attending, "recused": recused,
            "voters": voters, "choices": choices, "channels": channels,
            "rule": draw(st.sampled_from(list(PassRule))),
            "counts_present": draw(st.booleans()), "mode": draw(st.sampled_from(["named",
                                                                                 "secret"])),
            "cloud": draw(st.sets(st.sampled_from(attending))) if attending else set(),
            "seed": draw(st.integers(0, 1000))}


def build_poll(case: dict[str, Any], *, flip: bool = False) -> tuple[LogBuilder, int, str]:
    """The log of one random poll; returns it, the tally's index and domain.assembly.count()'s
    verdict. ``flip`` writes the other verdict."""
    b = LogBuilder()
    b.init()
    people(b)
    b.setting("quorum", case["quorum"])
    b.setting("pass_rule", case["rule"].value)
    b.setting("recusal_counts_present", "true" if case["counts_present"] else "false")
    members = [2, *representatives(b, case["size"] - 1)]
    filed_matter(b, M1)
    b.convene([M1])
    b.open_meeting()
    for i in case["attending"]:
        b.attend(members[i], "cloud" if i in case["cloud"] else "hall")
    b.open_poll(M1, case["mode"])
    for i in case["recused"]:
        b.recuse(members[i])
    papers = case["channels"].count("paper")
    if papers:
        b.paper_confirm(papers)
    for i, choice, channel in zip(case["voters"], case["choices"], case["channels"],
                                  strict=True):
        b.cast(members[i], choice.value, channel)
    expected = count(case["choices"], present=len(case["attending"]), members=case["size"],
                     recused=len(case["recused"]), rule=case["rule"],
                     recusal_counts_present=case["counts_present"])
    assert b.count() == expected
    b.close_poll()
    if case["mode"] == "secret":
        b.secret_ballots(seed=case["seed"])
    index = b.size
    verdict = expected.verdict
    if flip:
        verdict = "rejected" if verdict == "passed" else "passed"
    b.tally(verdict=verdict)
    b.record_vote(M1, verdict)
    b.publish(M1, verdict)
    b.close_meeting()
    return b, index, expected.verdict


@settings(database=None, deadline=None, max_examples=40,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=polls())
def test_random_polls_verify_and_the_verifier_agrees_with_count(case: dict[str, Any]) -> None:
    b, _, _ = build_poll(case)
    assert_ok(b)
    b, index, verdict = build_poll(case, flip=True)
    report = verify(b)
    assert only(report) == {(index, "semantics")}
    assert f"means {verdict}" in report.failures[0].reason


# ====================================================================== hostile bodies

ASSEMBLY_TYPES = frozenset(t for t in BODY_SCHEMAS if t.split(".")[0] in
                           ("meeting", "poll", "ballot", "paper", "device"))
WORDS = ["", " ", "member", "clerk", "representative", "supervisor", "assembly", "2026-001",
         "2026-003", "yes", "no", "abstain", "hall", "device", "paper", "cloud", "named",
         "secret", "2/3", "3/4", "1", "0/0", "passed", "rejected", "majority_of_all",
         "record_vote", "filed", SHA, "AbCdEfGhIjKlMnOpQrStUv", "2026-03-05T01:00:00Z"]
TEXT = st.one_of(st.sampled_from(WORDS),
                 st.text(max_size=12).map(lambda s: unicodedata.normalize("NFC", s)))
INT = st.one_of(st.integers(-2, 12), st.sampled_from([101, 103, 110, 2**53 - 1, -(2**53 - 1)]))
JSON = st.recursive(st.one_of(st.none(), st.booleans(), INT, TEXT),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(TEXT, inner, max_size=3)),
                    max_leaves=8)
MEMBER = st.fixed_dictionaries({"person": INT, "name": TEXT,
                                "roles": st.lists(st.sampled_from(WORDS[3:7]), max_size=2)})
BY_TYPE: dict[object, st.SearchStrategy[Any]] = {
    int: INT, str: TEXT, bool: st.booleans(),
    list: st.one_of(st.lists(MEMBER, max_size=3), st.lists(JSON, max_size=3)),
    dict: st.dictionaries(TEXT, JSON, max_size=2)}


@functools.cache
def complete_records() -> tuple[bytes, ...]:
    return tuple(complete_log().records)


def entries(records: Sequence[bytes]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for raw in records:
        envelope = json.loads(parse_note_unverified(raw).text)
        out.append((envelope["type"], envelope["body"]))
    return out


@settings(database=None, deadline=None, max_examples=80,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_well_typed_assembly_body_crashes_the_verifier(data: st.DataObject) -> None:
    """Any value of the right JSON type in any key of any assembly record (or record_vote
    step): the verifier reports, it never raises."""
    records = complete_records()
    items = entries(records)
    targets = [i for i, (t, body) in enumerate(items)
               if t in ASSEMBLY_TYPES or body.get("action") == "record_vote"]
    k = data.draw(st.sampled_from(targets))
    type_, body = items[k]
    mutated = dict(body)
    schema = {**BODY_SCHEMAS[type_], **OPTIONAL_BODY_KEYS.get(type_, {})}
    for key in data.draw(st.lists(st.sampled_from(sorted(body)), min_size=1, max_size=3,
                                  unique=True)):
        mutated[key] = data.draw(BY_TYPE[schema[key] if not isinstance(schema[key], tuple)
                                         else str])
    fresh = LogBuilder()
    for raw in records[:k]:
        fresh.add_raw(raw)
    fresh.append(type_, mutated)
    for later_type, later_body in items[k + 1:]:
        fresh.append(later_type, later_body)
    report = verify(fresh)
    assert all(f.index is None or f.index >= k for f in report.failures)



def test_a_member_who_checks_in_after_the_poll_opened_cannot_vote_on_it() -> None:
    b, members = assembly(8, present=7)
    b.open_poll(M1)
    b.attend(members[8])  # arrives late: counted for the next poll, not this one
    index = b.size
    b.cast(members[8])
    assert_fails(b, index, "semantics", f"member {members[8]} checked in after poll 1 opened")
