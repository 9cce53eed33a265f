"""Cloud voting against the database: enrolment, invitations, joining with PIN and presence code,
phone-signed ballots (named and secret), every refusal (recorded in the audit, nothing else
written), idempotent resubmission, and an exported ledger mixing hall, paper and cloud ballots
that verifies offline. Phones are simulated with real keys made by ``cryptography``, signing
exactly what static/js/cloud.js signs."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain import cloud as rules
from sunvote.domain.assembly import Channel, VoteMode
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    CloudEvent,
    Device,
    Invitation,
    LedgerRecord,
    Meeting,
    Participation,
)
from sunvote.services import assembly, ballots, cloud, exports, ledger, polls

from ..conftest import REDIS_URL
from .test_assembly import DAY, SHEET, T0, file_second_matter, matter, members, pid, village

AT = T0 + 3 * DAY
ADDRESS = "203.0.113.7"


class Phone:
    """A phone's key pair and what cloud.js signs with it."""

    def __init__(self, alg: str = "ed25519") -> None:
        self.alg = alg
        if alg == "ed25519":
            self.private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey = (
                Ed25519PrivateKey.generate())
            raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                         serialization.PublicFormat.Raw)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            raw = self.private.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.key = f"{alg}:{base64.b64encode(raw).decode()}"

    def sign(self, fields: dict[str, object]) -> cloud.Proof:
        statement = canonical_json(fields).decode("ascii")
        data = statement.encode()
        if isinstance(self.private, Ed25519PrivateKey):
            sig = self.private.sign(data)
        else:
            r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # WebCrypto's r || s
        return cloud.Proof(self.key, statement, base64.b64encode(sig).decode())


def origin() -> str:
    return str(village().origin)


def enrol(member: int, phone: Phone, pin: str = "246810", now: dt.datetime = T0) -> Device:
    row, token = cloud.issue_enrolment(pid("张敏"), village().id, member, now=now)
    proof = phone.sign({"v": 1, "t": "enrol", "log": origin(), "member": member,
                        "key": phone.key, "challenge": row.challenge})
    return cloud.attempt("enrol", ADDRESS, lambda seen: cloud.enrol_device(
        seen, token, proof, pin, now=now), credential=token)


def code_at(meeting: Meeting, moment: dt.datetime) -> str:
    return rules.presence_code(bytes.fromhex(meeting.presence_secret or ""), moment)


def join(meeting: Meeting, member: int, phone: Phone, token: str | None = None,
         pin: str = "246810", code: str | None = None, now: dt.datetime = AT,
         address: str = ADDRESS) -> cloud.Joined:
    if token is None:
        token = cloud.issue_invitation(pid("张敏"), meeting.id, member, now=now)[1]
    code = code if code is not None else code_at(meeting, now)
    proof = phone.sign({"v": 1, "t": "attend", "log": origin(), "meeting": meeting.number,
                        "member": member, "code": code})
    return cloud.attempt("join", address, lambda seen: cloud.join(
        seen, token, proof, pin, code, now=now), credential=token)


def vote(session: str, meeting: Meeting, poll: int, member: int, phone: Phone,
         choice: str = "yes", ballot: str | None = None, mode: str = "named",
         now: dt.datetime = AT, signed: dict[str, object] | None = None) -> Ballot:
    ballot = ballot or secrets.token_urlsafe(16)
    fields: dict[str, object] = {"v": 1, "log": origin(), "meeting": meeting.number,
                                 "poll": poll, "member": member}
    fields.update({"t": "ballot", "choice": choice, "ballot": ballot} if mode == "named"
                  else {"t": "participation"})
    proof = phone.sign(signed or fields)
    return cloud.vote_from_phone(ADDRESS, session, poll, choice, ballot, proof, now=now)


def open_meeting_with_hall(present: int) -> tuple[Meeting, list[int]]:
    """Meeting convened at T0 for three days later, opened; the first ``present`` members checked
    in by the clerk in the hall."""
    clerk = pid("张敏")
    meeting = assembly.convene(clerk, village().id, "2026年第四季度村民代表会议", "村委会议室",
                               AT, [matter("001").id], now=T0)
    assembly.open_meeting(clerk, meeting.id, now=AT)
    roster = members(meeting.id)
    for member in roster[:present]:
        assembly.check_in(clerk, meeting.id, member, now=AT)
    return meeting, roster


def snapshot() -> tuple[int, ...]:
    """Counts of everything a refused attempt must leave alone."""
    return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in (LedgerRecord, Device, Attendance, Ballot, Participation))


def events() -> list[str]:
    return list(db.session.execute(select(CloudEvent.rule).order_by(CloudEvent.id)).scalars())


@pytest.mark.parametrize("alg", ["ed25519", "p256"])
def test_a_cloud_member_enrols_joins_and_votes_and_the_ledger_verifies(
        demo: Flask, tmp_path: Path, alg: str) -> None:
    with demo.app_context():
        file_second_matter()
        clerk = pid("张敏")
        meeting = assembly.convene(clerk, village().id, "云票决会议", "村委会议室", AT,
                                   [matter("001").id, matter("002").id], now=T0)
        assembly.open_meeting(clerk, meeting.id, now=AT)
        roster = members(meeting.id)
        remote = roster[-3:]  # three members vote from afar
        phones = {m: Phone(alg if i % 2 == 0 else "p256") for i, m in enumerate(remote)}
        for member, phone in phones.items():
            enrol(member, phone)
        for member in roster[:-3]:
            assembly.check_in(clerk, meeting.id, member, now=AT)
        sessions = {m: join(meeting, m, phones[m]).session for m in remote}
        assert db.session.execute(select(func.count()).select_from(Attendance).where(
            Attendance.channel == "cloud")).scalar_one() == 3
        # Named poll: hall phones, three paper ballots, three cloud ballots.
        road = polls.open_poll(clerk, meeting.id, matter("001").id, VoteMode.NAMED, now=AT)
        for member in roster[:-6]:
            ballots.cast_ballot(member, road.id, member, "yes", now=AT)
        batch = ballots.enter_paper(clerk, road.id, [(m, "no") for m in roster[-6:-3]],
                                    SHEET, now=AT)
        ballots.confirm_paper(pid("刘芳"), batch.id, now=AT)
        receipts = [vote(sessions[m], meeting, road.number, m, phones[m], "abstain")
                    for m in remote]
        assert {b.channel for b in receipts} == {"cloud"}
        tally = polls.close_poll(clerk, road.id, now=AT)
        assert (tally.yes, tally.no, tally.abstain) == (17, 3, 3)
        # Secret poll: the cloud members sign their participation only.
        forest = polls.open_poll(clerk, meeting.id, matter("002").id, VoteMode.SECRET, now=AT)
        for member in roster[:-3]:
            ballots.cast_ballot(member, forest.id, member, "yes", now=AT)
        secret_ballots = [vote(sessions[m], meeting, forest.number, m, phones[m], "no",
                               mode="secret") for m in remote]
        assert all(b.voter_id is None for b in secret_ballots)
        polls.close_poll(clerk, forest.id, now=AT)
        assembly.close_meeting(clerk, meeting.id, now=AT)
        # Each poll row keeps its cloud ballots' count (the dashboards' cloud-vote share).
        assert [p.cloud for p in (road, forest)] == [3, 3]
        # The records carry the phones' signatures; secret ballots carry nothing of the device.
        bodies = [parse_record(r).body for r in db.session.execute(
            select(LedgerRecord.data).order_by(LedgerRecord.seq)).scalars()]
        cloud_ballots = [b for b in bodies if b.get("channel") == "cloud" and "choice" in b
                         and "member" in b]
        assert len(cloud_ballots) == 3 and all("device" in b for b in cloud_ballots)
        assert all("device" not in b for b in bodies if "ballot" in b and "member" not in b)
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]


def test_a_resubmitted_ballot_id_returns_the_same_receipt_never_a_second_ballot(
        demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        enrol(member, phone)
        session = join(meeting, member, phone).session
        poll = polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=AT)
        ballot_id = secrets.token_urlsafe(16)
        first = vote(session, meeting, poll.number, member, phone, "yes", ballot_id)
        before = snapshot()
        again = vote(session, meeting, poll.number, member, phone, "yes", ballot_id)
        assert (again.id, again.code) == (first.id, first.code)
        assert snapshot() == before
        with pytest.raises(DomainError) as info:  # a new id after voting: one ballot only
            vote(session, meeting, poll.number, member, phone, "no")
        assert info.value.rule == "assembly.one_ballot"
        assert snapshot() == before


def test_re_enrolling_replaces_the_old_phone_and_revoking_stops_it(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member = roster[-1]
        old, new = Phone(), Phone("p256")
        first = enrol(member, old)
        second = enrol(member, new)
        db.session.refresh(first)
        assert first.replaced_at is not None and second.current
        with pytest.raises(DomainError) as info:  # the replaced phone cannot join
            join(meeting, member, old)
        assert info.value.rule == "cloud.device"
        session = join(meeting, member, new).session
        cloud.revoke_device(pid("张敏"), second.id, "手机丢失", now=AT)
        poll = polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=AT)
        before = snapshot()
        with pytest.raises(DomainError) as info:  # a revoked phone's ballot is refused
            vote(session, meeting, poll.number, member, new)
        assert info.value.rule == "cloud.invitation"
        assert snapshot() == before
        kinds = list(db.session.execute(select(LedgerRecord.type).where(
            LedgerRecord.type.like("device.%")).order_by(LedgerRecord.seq)).scalars())
        assert kinds == ["device.enrol", "device.enrol", "device.revoke"]


@pytest.mark.parametrize("case", [
    "used_twice", "second_device", "other_meeting_session", "unknown_token", "wrong_pin",
    "stale_code", "wrong_code", "bad_signature", "statement_for_another_member",
    "meeting_not_open", "not_enrolled"])
def test_join_refusals_are_recorded_and_change_nothing(demo: Flask, case: str) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        if case != "not_enrolled":
            enrol(member, phone)
        token = cloud.issue_invitation(pid("张敏"), meeting.id, member, now=AT)[1]
        kwargs: dict[str, object] = {}
        expected = {"used_twice": "cloud.invitation", "second_device": "cloud.device",
                    "other_meeting_session": "cloud.invitation",
                    "unknown_token": "cloud.invitation", "wrong_pin": "cloud.pin",
                    "stale_code": "cloud.presence", "wrong_code": "cloud.presence",
                    # the right PIN without the phone's key: the wrong PIN's answer
                    "bad_signature": "cloud.pin", "statement_for_another_member": "cloud.pin",
                    "meeting_not_open": "cloud.invitation",
                    "not_enrolled": "cloud.device"}[case]
        if case == "used_twice":
            join(meeting, member, phone, token)
        before, audit = snapshot(), len(events())
        with pytest.raises(DomainError) as info:
            if case == "second_device":  # a forwarded link opened on another phone
                join(meeting, member, Phone(), token)
            elif case == "unknown_token":
                join(meeting, member, phone, secrets.token_urlsafe(32))
            elif case == "other_meeting_session":
                join(meeting, member, phone, "x" * 10)
            elif case == "wrong_pin":
                join(meeting, member, phone, token, pin="000000")
            elif case == "stale_code":
                join(meeting, member, phone, token,
                     code=code_at(meeting, AT - dt.timedelta(minutes=3)))
            elif case == "wrong_code":
                code = code_at(meeting, AT)
                join(meeting, member, phone, token, code=f"{(int(code) + 1) % 10**6:06d}")
            elif case == "bad_signature":
                proof = phone.sign({"v": 1, "t": "attend", "log": origin(),
                                    "meeting": meeting.number, "member": member,
                                    "code": code_at(meeting, AT)})
                forged = cloud.Proof(proof.key, proof.statement, Phone().sign({}).sig)
                cloud.attempt("join", ADDRESS, lambda seen: cloud.join(
                    seen, token, forged, "246810", code_at(meeting, AT), now=AT))
            elif case == "statement_for_another_member":
                proof = phone.sign({"v": 1, "t": "attend", "log": origin(),
                                    "meeting": meeting.number, "member": roster[0],
                                    "code": code_at(meeting, AT)})
                cloud.attempt("join", ADDRESS, lambda seen: cloud.join(
                    seen, token, proof, "246810", code_at(meeting, AT), now=AT))
            elif case == "meeting_not_open":
                assembly.close_meeting(pid("张敏"), meeting.id, now=AT)
                before = snapshot()
                join(meeting, member, phone, token)
            else:
                join(meeting, member, phone, token, **kwargs)  # type: ignore[arg-type]
        assert info.value.rule == expected, info.value
        assert snapshot() == before
        assert events()[audit:] == [expected]  # the refusal is in the audit, and only it


def test_five_wrong_pins_lock_the_phone_until_the_clerk_unlocks_it(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        device = enrol(member, phone)
        token = cloud.issue_invitation(pid("张敏"), meeting.id, member, now=AT)[1]
        for _ in range(rules.PIN_ATTEMPTS):
            with pytest.raises(DomainError):
                join(meeting, member, phone, token, pin="111111")
        with pytest.raises(DomainError) as info:  # the right PIN no longer helps
            join(meeting, member, phone, token)
        assert info.value.rule == "cloud.pin" and "锁定" in str(info.value)
        cloud.unlock_pin(pid("张敏"), device.id, now=AT)
        assert join(meeting, member, phone, token).session


def junk_join(address: str = ADDRESS, token: str | None = None) -> DomainError:
    """A join attempt with nothing right in it (an unknown token unless ``token``)."""
    with pytest.raises(DomainError) as info:
        cloud.attempt("join", address, lambda seen: cloud.join(
            seen, token or secrets.token_urlsafe(32), Phone().sign({}), "000000", "000000",
            now=AT), credential=token)
    return info.value


@pytest.mark.parametrize("ratelimit_storage", ["memory://", REDIS_URL])
def test_junk_from_one_address_never_stops_a_real_phone_at_that_address(
        demo: Flask, ratelimit_storage: str) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        enrol(member, phone)
        for _ in range(rules.ADDRESS_ATTEMPTS):  # far more than the 20 that used to block all
            assert junk_join().rule == "cloud.invitation"
        audit = len(events())
        refused = junk_join()  # more junk from there is now refused before it is looked at
        assert (refused.rule, refused.status) == ("cloud.rate_limit", 429)
        assert len(events()) == audit  # and a flood writes nothing more
        assert junk_join("198.51.100.1").rule == "cloud.invitation"  # other addresses: as ever
        # A member's phone behind the same address joins and votes.
        session = join(meeting, member, phone).session
        poll = polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=AT)
        assert vote(session, meeting, poll.number, member, phone).voter_id == member


def test_a_phone_that_keeps_sending_junk_is_limited_and_no_other_phone(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        (member, phone), (other, other_phone) = (roster[-1], Phone()), (roster[-2], Phone())
        enrol(member, phone)
        enrol(other, other_phone)
        token = cloud.issue_invitation(pid("张敏"), meeting.id, member, now=AT)[1]
        for _ in range(rules.CREDENTIAL_ATTEMPTS):  # wrong presence codes with its invitation
            with pytest.raises(DomainError) as info:
                join(meeting, member, phone, token, code="000000")
            assert info.value.rule == "cloud.presence"
        with pytest.raises(DomainError) as info:  # now even the right code waits
            join(meeting, member, phone, token)
        assert info.value.rule == "cloud.rate_limit"
        session = join(meeting, other, other_phone).session  # the same address, another phone
        poll = polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=AT)
        for _ in range(rules.CREDENTIAL_ATTEMPTS):  # junk ballots with its session
            with pytest.raises(DomainError) as info:
                vote(session, meeting, poll.number, other, other_phone, ballot="short")
            assert info.value.rule == "assembly.ballot_id"
        with pytest.raises(DomainError) as info:
            vote(session, meeting, poll.number, other, other_phone)
        assert info.value.rule == "cloud.rate_limit"


@pytest.mark.parametrize("mode", ["named", "secret"])
def test_the_resend_of_a_recorded_ballot_gets_its_receipt_even_when_limits_are_exhausted(
        demo: Flask, mode: str) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        enrol(member, phone)
        session = join(meeting, member, phone).session
        poll = polls.open_poll(pid("张敏"), meeting.id, matter("001").id,
                               VoteMode(mode), now=AT)
        ballot_id = secrets.token_urlsafe(16)
        first = vote(session, meeting, poll.number, member, phone, "yes", ballot_id, mode=mode)
        for _ in range(rules.CREDENTIAL_ATTEMPTS):  # its own session's limit...
            with pytest.raises(DomainError):
                vote(session, meeting, poll.number, member, phone, ballot="short", mode=mode)
        for _ in range(rules.ADDRESS_ATTEMPTS):  # ...and its address's
            junk_join()
        with pytest.raises(DomainError) as info:
            vote(session, meeting, poll.number, member, phone, mode=mode)
        assert info.value.rule == "cloud.rate_limit"
        before = snapshot()
        again = vote(session, meeting, poll.number, member, phone, "yes", ballot_id, mode=mode)
        assert (again.id, again.code) == (first.id, first.code)
        assert snapshot() == before


def test_a_wrong_pin_and_the_right_pin_without_the_phones_key_get_one_answer(
        demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        device = enrol(member, phone)
        token = cloud.issue_invitation(pid("张敏"), meeting.id, member, now=AT)[1]
        code = code_at(meeting, AT)
        signed = phone.sign({"v": 1, "t": "attend", "log": origin(), "meeting": meeting.number,
                             "member": member, "code": code})
        unsigned = cloud.Proof(phone.key, signed.statement, Phone().sign({}).sig)  # no key
        answers = []
        for proof, pin in ((signed, "111111"), (unsigned, "246810"), (unsigned, "111111")):
            with pytest.raises(DomainError) as info:
                cloud.attempt("join", ADDRESS, lambda seen, proof=proof, pin=pin: cloud.join(
                    seen, token, proof, pin, code, now=AT), credential=token)
            answers.append((info.value.rule, info.value.msgid, info.value.params,
                            info.value.status))
        assert answers[0] == answers[1] == answers[2]
        db.session.refresh(device)
        assert device.failed_pins == 3  # and each counts towards the lock


@pytest.mark.parametrize("case", ["expired", "used", "bad_pin", "wrong_challenge",
                                  "not_a_member", "same_key_twice"])
def test_enrolment_refusals_change_nothing(demo: Flask, case: str) -> None:
    with demo.app_context():
        member = members_today()[-1]
        phone = Phone()
        if case == "same_key_twice":
            enrol(member, phone)
        if case == "not_a_member":
            with pytest.raises(DomainError) as info:
                cloud.issue_enrolment(pid("张敏"), village().id, pid("刘芳"), now=T0)
            assert info.value.rule == "assembly.not_member"
            return
        row, token = cloud.issue_enrolment(pid("张敏"), village().id, member, now=T0)
        challenge = "forged" if case == "wrong_challenge" else row.challenge
        proof = phone.sign({"v": 1, "t": "enrol", "log": origin(), "member": member,
                            "key": phone.key, "challenge": challenge})
        now = T0 + dt.timedelta(minutes=rules.ENROLMENT_MINUTES) if case == "expired" else T0
        if case == "used":
            cloud.attempt("enrol", ADDRESS, lambda seen: cloud.enrol_device(
                seen, token, proof, "246810", now=now))
        before = snapshot()
        with pytest.raises(DomainError) as info:
            cloud.attempt("enrol", ADDRESS, lambda seen: cloud.enrol_device(
                seen, token, proof, "12345" if case == "bad_pin" else "246810", now=now))
        assert info.value.rule == {"expired": "cloud.enrolment", "used": "cloud.enrolment",
                                   "bad_pin": "cloud.pin", "wrong_challenge": "cloud.signature",
                                   "same_key_twice": "cloud.device"}[case]
        assert snapshot() == before


def members_today() -> list[int]:
    return sorted(assembly.assembly_roster(village(), T0))


def test_vote_refusals_change_nothing(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        enrol(member, phone)
        session = join(meeting, member, phone).session
        poll = polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=AT)
        before = snapshot()
        ballot = secrets.token_urlsafe(16)
        changed = {"v": 1, "t": "ballot", "log": origin(), "meeting": meeting.number,
                   "poll": poll.number, "member": member, "choice": "no", "ballot": ballot}
        cases = [
            ("cloud.signature", lambda: vote(session, meeting, poll.number, member, phone,
                                             "yes", ballot, signed=changed)),
            ("cloud.device", lambda: vote(session, meeting, poll.number, member, Phone())),
            ("cloud.invitation", lambda: vote("y" * 43, meeting, poll.number, member, phone)),
            ("assembly.ballot_id", lambda: vote(session, meeting, poll.number, member, phone,
                                           ballot="short")),
            ("input.invalid", lambda: vote(session, meeting, 99, member, phone)),
        ]
        for rule, attempt in cases:
            with pytest.raises(DomainError) as info:
                attempt()
            assert info.value.rule == rule
            assert snapshot() == before
        # Another member's ballot id cannot be taken over.
        other, other_phone = roster[-2], Phone()
        first = vote(session, meeting, poll.number, member, phone, "yes", ballot)
        enrol(other, other_phone, now=AT)
        other_session = join(meeting, other, other_phone).session
        with pytest.raises(DomainError) as info:
            vote(other_session, meeting, poll.number, other, other_phone, "yes", first.code)
        assert info.value.rule == "assembly.one_ballot"


def test_a_member_in_the_hall_who_joins_by_cloud_switches_channel_once(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[0], Phone()  # already checked in by the clerk
        enrol(member, phone)
        join(meeting, member, phone)
        rows = db.session.execute(select(Attendance).where(
            Attendance.meeting_id == meeting.id, Attendance.person_id == member)).scalars().all()
        assert [r.channel for r in rows] == [Channel.CLOUD.value]
        attends = [parse_record(d).body["channel"] for d in db.session.execute(
            select(LedgerRecord.data).where(LedgerRecord.type == "meeting.attend")
            .order_by(LedgerRecord.seq)).scalars()
            if parse_record(d).body["member"] == member]
        assert attends == ["hall", "cloud"]
        # A second invitation on the same phone gives a session without a second attendance.
        assert join(meeting, member, phone).session
        assert db.session.execute(select(func.count()).select_from(Invitation).where(
            Invitation.used_at.is_not(None))).scalar_one() == 2
        assert len(attends) == 2


def test_an_invitation_is_good_only_for_its_member_and_its_meeting(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, other = roster[-1], roster[-2]
        phone, other_phone = Phone(), Phone("p256")
        enrol(member, phone)
        enrol(other, other_phone)
        # Another member's invitation opened on this member's phone: not their device.
        token = cloud.issue_invitation(pid("张敏"), meeting.id, other, now=AT)[1]
        with pytest.raises(DomainError) as info:
            join(meeting, member, phone, token)
        assert info.value.rule == "cloud.device"
        # An invitation to this meeting is useless once it is over, at any later meeting.
        old = cloud.issue_invitation(pid("张敏"), meeting.id, member, now=AT)[1]
        assembly.close_meeting(pid("张敏"), meeting.id, now=AT)
        file_second_matter()
        later = assembly.convene(pid("张敏"), village().id, "临时会议", "村委会议室",
                                 AT + 3 * DAY, [matter("002").id], now=AT)
        assembly.open_meeting(pid("张敏"), later.id, now=AT + 3 * DAY)
        before = snapshot()
        with pytest.raises(DomainError) as info:
            join(meeting, member, phone, old, now=AT + 3 * DAY)
        assert info.value.rule == "cloud.invitation"
        assert snapshot() == before


def test_a_ballot_signed_by_another_key_is_refused(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        enrol(member, phone)
        session = join(meeting, member, phone).session
        poll = polls.open_poll(pid("张敏"), meeting.id, matter("001").id, now=AT)
        ballot = secrets.token_urlsafe(16)
        fields = {"v": 1, "t": "ballot", "log": origin(), "meeting": meeting.number,
                  "poll": poll.number, "member": member, "choice": "yes", "ballot": ballot}
        good = phone.sign(fields)
        forged = cloud.Proof(good.key, good.statement, Phone().sign(fields).sig)
        before = snapshot()
        with pytest.raises(DomainError) as info:
            cloud.attempt("vote", ADDRESS, lambda seen: cloud.vote(
                seen, session, poll.number, "yes", ballot, forged, now=AT))
        assert info.value.rule == "cloud.signature"
        assert snapshot() == before
        assert events()[-1] == "cloud.signature"


def test_the_phone_downloads_the_agenda_materials_only_with_its_session(demo: Flask) -> None:
    from sunvote.domain.procedure import Action
    from sunvote.models import Attachment
    from sunvote.services import matters
    from sunvote.services.files import Upload

    with demo.app_context():
        forest = matter("002")
        matters.act(forest.id, Action.DISCUSS, pid("张敏"), {
            "meeting_date": T0.date().isoformat(), "expected": 9, "present": 9,
            "minutes": "同意提交审议", "plan": "公开竞价发包"},
            uploads=[Upload("发包方案.pdf", b"%PDF-1.4 plan")], now=T0)
        matters.act(forest.id, Action.FILE, pid("孙伟"), {"filing_no": "阳光镇备〔2026〕18号"},
                    now=T0)
        clerk = pid("张敏")
        meeting = assembly.convene(clerk, village().id, "会议", "会议室", AT, [forest.id], now=T0)
        assembly.open_meeting(clerk, meeting.id, now=AT)
        member, phone = members(meeting.id)[-1], Phone()
        enrol(member, phone, now=AT)
        session = join(meeting, member, phone).session
        attachment = db.session.execute(select(Attachment.id).where(
            Attachment.filename == "发包方案.pdf")).scalar_one()
    client = demo.test_client()
    assert client.get(f"/c/file/{attachment}").status_code == 403  # no session, no file
    client.set_cookie("sunvote_cloud", session, domain="sunvote.test", path="/c/")
    response = client.get(f"/c/file/{attachment}")
    assert response.status_code == 200 and response.data == b"%PDF-1.4 plan"
    assert response.headers["Content-Security-Policy"] == "sandbox; frame-ancestors 'none'"
    assert client.get(f"/c/file/{attachment + 1000}").status_code == 404
