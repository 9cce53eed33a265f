"""Cloud voting (云票决) use cases: enrol a phone, revoke it, unlock its PIN, invite a member to a
meeting, join from the phone (PIN + live presence code + the phone's signature), vote from the
phone, and the audit of refused attempts.

Each use case is one transaction with its ledger record inside it. A refused attempt changes
nothing but a wrong PIN's count (services/pins.py); :func:`attempt` then writes the refusal to
``cloud_event`` in a transaction of its own, so the clerk and the supervisors see it, and counts
it against the attempt's credential and address (services/limits.py, docs/operations.md
"Limits"). The phone's signatures are checked here before anything is written, and again by the
offline verifier (docs/cloud-voting.md).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from sunvote.domain import cloud as rules
from sunvote.domain.assembly import (
    Channel,
    MeetingState,
    PollState,
    VoteMode,
    Voter,
    ballot_refusal,
    check_ballot_id,
    parse_choice,
    present_at_open,
)
from sunvote.domain.errors import N_, Conflict, DomainError, NotFound, NotPermitted
from sunvote.domain.ledger.device import (
    DeviceKeyError,
    DeviceSignatureError,
    expected_statement,
    parse_device_key,
    verify_statement,
)
from sunvote.domain.roles import ASSEMBLY_ROLES
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    CloudEvent,
    Device,
    Enrolment,
    Invitation,
    Meeting,
    Participation,
    Person,
    Poll,
    Recusal,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import assembly, ballots, ledger
from sunvote.services import limits as counters
from sunvote.services.access import roles_in_village
from sunvote.services.passwords import hash_secret
from sunvote.services.pins import check_device_pin
from sunvote.services.suggestions import source_key
from sunvote.services.unit_of_work import lock_village, use_case

T = TypeVar("T")

#: The phone's session cookie (HttpOnly, path /c/; its value is a random token, stored hashed).
SESSION_COOKIE = "sunvote_cloud"


@dataclass
class Seen:
    """What an attempt learned before it was refused: written to the audit with the refusal."""

    village_id: int | None = None
    meeting_id: int | None = None
    person_id: int | None = None
    device_id: int | None = None


@dataclass(frozen=True)
class Proof:
    """What a phone sends with a signed action: its key, the statement text and the signature."""

    key: str
    statement: str
    sig: str

    def as_body(self) -> dict[str, str]:
        """The ``device`` object of a ledger record."""
        return {"key": self.key, "statement": self.statement, "sig": self.sig}


@dataclass
class Joined:
    """A member's phone joined a meeting: the session token goes into the phone's cookie."""

    invitation: Invitation
    session: str = field(repr=False)


def address_key(address: str) -> str:
    """The keyed hash of a network address kept in the audit."""
    return source_key(address or "-", current_app.config["SECRET_KEY"])


def origin(village: Village) -> str:
    """The village log's origin, as statements name it."""
    return str(village.origin)


def current_device(person_id: int) -> Device | None:
    """The member's enrolled phone that is neither replaced nor revoked."""
    return db.session.execute(select(Device).where(
        Device.person_id == person_id, Device.replaced_at.is_(None),
        Device.revoked_at.is_(None)).order_by(Device.id.desc())).scalars().first()


def _check_proof(proof: Proof, expected: str) -> None:
    """The phone signed exactly the statement this action implies, with the key it presents."""
    if proof.statement != expected:
        raise rules.CloudRefused("cloud.signature",
                                 N_("手机签名的内容与本次操作不符，已拒绝"))
    try:
        verify_statement(proof.key, proof.statement, proof.sig)
    except (DeviceKeyError, DeviceSignatureError):
        raise rules.CloudRefused("cloud.signature",
                                 N_("手机签名验证失败，已拒绝（请使用登记时的手机）")) from None


def _proof_holds(proof: Proof, expected: str) -> bool:
    try:
        _check_proof(proof, expected)
    except rules.CloudRefused:
        return False
    return True


def _issuer_role(actor_id: int, village: Village, now: dt.datetime) -> str:
    return assembly.runner_role(actor_id, village, now).value


def _person(person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound("input.invalid", N_("没有这个人员"))
    return person


# --- Attempts and their audit -------------------------------------------------------------------


def attempt(action: str, address: str, run: Callable[[Seen], T], *,
            credential: str | None = None) -> T:
    """Run a phone's attempt; if it is refused, record the refusal in its own transaction, count
    it against ``credential`` (the enrolment or invitation token, or the phone's session) and
    the address, then re-raise.

    An attempt is refused outright (``cloud.rate_limit``, not recorded, not counted) when its
    credential was refused CREDENTIAL_ATTEMPTS times lately, or when it names no credential the
    server knows and its address was refused ADDRESS_ATTEMPTS times lately. So junk from one
    address, however much, never stops a phone that holds a real invitation or session, and a
    phone that keeps sending junk with its own credential stops only itself."""
    window = rules.RATE_WINDOW_MINUTES
    own = counters.key(f"cloud-{action}", credential) if credential else None
    at_address = counters.key("cloud-address", address or "-")
    if own is not None and counters.exhausted(rules.CREDENTIAL_ATTEMPTS, window, own):
        raise rules.rate_limited()
    if counters.exhausted(rules.ADDRESS_ATTEMPTS, window, at_address) and not _known(
            action, credential):
        raise rules.rate_limited()
    seen = Seen()
    try:
        return run(seen)
    except DomainError as error:
        db.session.rollback()
        _record_refusal(action, address_key(address), seen, error)
        if own is not None:
            counters.count(rules.CREDENTIAL_ATTEMPTS, window, own)
        counters.count(rules.ADDRESS_ATTEMPTS, window, at_address)
        raise


def _known(action: str, credential: str | None) -> bool:
    if action == "hall_pin":  # typed on the hall device by a logged-in clerk: never junk
        return True
    lookup = {"enrol": enrolment_for, "join": invitation_for,
              "vote": _invitation_of_session}.get(action)
    if credential is None or lookup is None:
        return False
    found = lookup(credential) is not None
    db.session.rollback()
    return found


@use_case
def _record_refusal(action: str, address: str, seen: Seen, error: DomainError) -> None:
    # The village first, as every use case locks it: the event's foreign keys take a share
    # lock on the village and device rows, and taken the other way round they deadlocked with
    # a parallel attempt holding the village and waiting for the device (PostgreSQL).
    if seen.village_id is not None:
        lock_village(seen.village_id)
    db.session.add(CloudEvent(
        village_id=seen.village_id, meeting_id=seen.meeting_id, person_id=seen.person_id,
        device_id=seen.device_id, action=action, rule=error.rule,
        message=error.render(lambda s: s)[:500],
        address=address, at=utcnow()))


def events(village_id: int, meeting_id: int | None = None, limit: int = 50) -> list[CloudEvent]:
    """The newest audit entries of a village (of one meeting, with enrolments), newest first."""
    query = select(CloudEvent).where(CloudEvent.village_id == village_id)
    if meeting_id is not None:
        query = query.where((CloudEvent.meeting_id == meeting_id)
                            | CloudEvent.meeting_id.is_(None))
    return list(db.session.execute(query.order_by(CloudEvent.id.desc()).limit(limit)).scalars())


# --- Enrolment, revocation, PIN unlock (the clerk's side and the phone's) ----------------------


@use_case
def issue_enrolment(actor_id: int, village_id: int, member_id: int,
                    now: dt.datetime | None = None) -> tuple[Enrolment, str]:
    """The clerk shows a single-use enrolment QR for one member of the assembly (expires in
    minutes). Returns the row and the token (only its hash is stored)."""
    now = now or utcnow()
    village = lock_village(village_id)
    _issuer_role(actor_id, village, now)
    if not roles_in_village(member_id, village, now) & ASSEMBLY_ROLES:
        raise NotPermitted("assembly.not_member",
                           N_("只有村民代表会议组成人员可以登记云票决手机"))
    token = rules.new_token()
    row = Enrolment(village_id=village.id, person_id=member_id,
                    token_hash=rules.token_hash(token), challenge=secrets.token_urlsafe(24),
                    issued_by_id=actor_id, issued_at=now,
                    expires_at=rules.enrolment_expires(now))
    db.session.add(row)
    db.session.flush()
    return row, token


def enrolment_for(token: str) -> Enrolment | None:
    """The enrolment a QR token names (None when the token is unknown)."""
    if not rules.well_formed_token(token):
        return None
    return db.session.execute(select(Enrolment).where(
        Enrolment.token_hash == rules.token_hash(token))).scalar_one_or_none()


@use_case
def enrol_device(seen: Seen, token: str, proof: Proof, pin: object,
                 now: dt.datetime | None = None) -> Device:
    """The phone completes its enrolment: PIN set, key pair made on the phone, the public key
    and its proof of possession (a signed ``enrol`` statement) recorded as ``device.enrol``. A
    member's earlier phone is replaced (recorded)."""
    now = now or utcnow()
    row = enrolment_for(token)
    if row is None:
        raise rules.CloudRefused("cloud.enrolment", N_("登记二维码无效，请村务工作者重新生成"))
    seen.village_id, seen.person_id = row.village_id, row.person_id
    village = lock_village(row.village_id)
    db.session.refresh(row)
    rules.check_enrolment(row.expires_at, row.used_at is not None, now)
    pin = rules.check_pin(pin)
    try:
        key = parse_device_key(proof.key)
    except DeviceKeyError:
        raise rules.CloudRefused("cloud.signature", N_("手机密钥格式不正确")) from None
    _check_proof(proof, expected_statement("enrol", origin(village), member=row.person_id,
                                           key=key.text, challenge=row.challenge))
    if not roles_in_village(row.person_id, village, now) & ASSEMBLY_ROLES:
        raise NotPermitted("assembly.not_member",
                           N_("只有村民代表会议组成人员可以登记云票决手机"))
    if db.session.execute(select(Device.id).where(Device.key == key.text)).first():
        raise Conflict("cloud.device", N_("这个手机密钥已经登记过"))
    old = current_device(row.person_id)
    if old is not None:
        old.replaced_at = now
    device = Device(village_id=village.id, person_id=row.person_id, key=key.text,
                    fingerprint=key.fingerprint, pin_hash=hash_secret(pin),
                    enrolled_at=now, enrolled_by_id=row.issued_by_id)
    db.session.add(device)
    db.session.flush()
    member, issuer = _person(row.person_id), _person(row.issued_by_id)
    ledger.append(village, "device.enrol", {
        "member": member.id, "member_name": member.name, "key": key.text,
        "replaces": old.key if old is not None else None, "statement": proof.statement,
        "sig": proof.sig, "person": issuer.id, "name": issuer.name,
        "role": _issuer_role(issuer.id, village, now), "at": ledger.iso(now)})
    row.used_at = now
    row.device_id = device.id
    seen.device_id = device.id
    db.session.flush()
    return device


@use_case
def revoke_device(actor_id: int, device_id: int, reason: str,
                  now: dt.datetime | None = None) -> Device:
    """A lost or replaced phone is revoked: nothing it signs counts any more (``device.revoke``)."""
    now = now or utcnow()
    device = db.session.get(Device, device_id)
    if device is None:
        raise NotFound("input.invalid", N_("没有这部登记的手机"))
    village = lock_village(device.village_id)
    db.session.refresh(device)
    role = _issuer_role(actor_id, village, now)
    if not device.current:
        raise Conflict("cloud.device", N_("这部手机已被撤销或已由新手机替换"))
    text = clean_text(reason, N_("撤销理由"), max_length=500) or ""
    device.revoked_at = now
    device.revoked_by_id = actor_id
    device.revoke_reason = text
    member, actor = _person(device.person_id), _person(actor_id)
    ledger.append(village, "device.revoke", {
        "member": member.id, "member_name": member.name, "key": device.key, "reason": text,
        "person": actor.id, "name": actor.name, "role": role, "at": ledger.iso(now)})
    db.session.flush()
    return device


@use_case
def unlock_pin(actor_id: int, device_id: int, now: dt.datetime | None = None) -> Device:
    """The clerk unlocks a phone locked by wrong PINs (the member is there in person)."""
    now = now or utcnow()
    device = db.session.get(Device, device_id)
    if device is None:
        raise NotFound("input.invalid", N_("没有这部登记的手机"))
    village = lock_village(device.village_id)
    _issuer_role(actor_id, village, now)
    device.failed_pins = 0
    db.session.flush()
    return device


# --- Invitations and joining ---------------------------------------------------------------------


@use_case
def issue_invitation(actor_id: int, meeting_id: int, member_id: int,
                     now: dt.datetime | None = None) -> tuple[Invitation, str]:
    """A personal cloud-vote invitation (QR / link) for one member and one meeting. The token
    names neither; only its hash is kept."""
    now = now or utcnow()
    meeting, village = assembly.lock_meeting(meeting_id)
    assembly.runner_role(actor_id, village, now)
    if meeting.state == MeetingState.CLOSED:
        raise Conflict("assembly.meeting_state", N_("会议已结束"))
    if meeting.state == MeetingState.OPEN:
        if not assembly.is_member(meeting, member_id):
            raise NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以云端参会"))
    elif not roles_in_village(member_id, village, now) & ASSEMBLY_ROLES:
        raise NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以云端参会"))
    token = rules.new_token()
    invitation = Invitation(meeting_id=meeting.id, person_id=member_id,
                            token_hash=rules.token_hash(token), issued_by_id=actor_id,
                            issued_at=now)
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def invitation_for(token: str) -> Invitation | None:
    """The invitation a link's token names (None when unknown)."""
    if not rules.well_formed_token(token):
        return None
    return db.session.execute(select(Invitation).where(
        Invitation.token_hash == rules.token_hash(token))).scalar_one_or_none()


@use_case
def join(seen: Seen, token: str, proof: Proof, pin: object, code: object,
         now: dt.datetime | None = None) -> Joined:
    """The member's enrolled phone opens the invitation: PIN, the live presence code off the hall
    screen, and a signed ``attend`` statement. The member is then present (channel cloud) and the
    phone holds a session for this meeting. The invitation cannot be used again."""
    now = now or utcnow()
    invitation = invitation_for(token)
    if invitation is None:
        raise rules.CloudRefused("cloud.invitation", N_("邀请链接无效，请向村务工作者索取"))
    seen.meeting_id, seen.person_id = invitation.meeting_id, invitation.person_id
    meeting, village = assembly.lock_meeting(invitation.meeting_id)
    seen.village_id = village.id
    db.session.refresh(invitation)
    rules.check_invitation(used=invitation.used_at is not None,
                           meeting_open=meeting.state == MeetingState.OPEN)
    device = current_device(invitation.person_id)
    rules.check_device_matches(device.key if device else None, proof.key)
    assert device is not None
    seen.device_id = device.id
    # The presence code before the PIN: a refusal for the code must not tell whether the PIN
    # was right. Then the PIN and the phone's signature together, with one answer for either.
    secret = bytes.fromhex(meeting.presence_secret or "")
    checked = rules.check_presence_code(secret, code, now)
    expected = expected_statement("attend", origin(village), meeting=meeting.number,
                                  member=invitation.person_id, code=checked)
    check_device_pin(device.id, pin, rules.pin_refused,
                     holds_key=lambda: _proof_holds(proof, expected))
    present = db.session.execute(select(Attendance).where(
        Attendance.meeting_id == meeting.id,
        Attendance.person_id == invitation.person_id)).scalar_one_or_none()
    if present is None or present.channel != Channel.CLOUD:
        assembly.check_in(invitation.person_id, meeting.id, invitation.person_id,
                          Channel.CLOUD, now, device=proof.as_body())
    session = rules.new_token()
    invitation.used_at = now
    invitation.device_id = device.id
    invitation.session_hash = rules.token_hash(session)
    db.session.flush()
    return Joined(invitation, session)


@dataclass(frozen=True)
class CloudSession:
    """A phone's session in a meeting."""

    invitation: Invitation
    meeting: Meeting
    village: Village
    device: Device
    member: Person


def _invitation_of_session(token: str | None) -> Invitation | None:
    if not token or not rules.well_formed_token(token):
        return None
    return db.session.execute(select(Invitation).where(
        Invitation.session_hash == rules.token_hash(token))).scalar_one_or_none()


def session_for(token: str | None) -> CloudSession | None:
    """The session a phone's cookie names, while its device is current (else None)."""
    invitation = _invitation_of_session(token)
    if invitation is None or invitation.device_id is None:
        return None
    device = db.session.get(Device, invitation.device_id)
    if device is None or not device.current:
        return None
    # The phone's page lists the meeting's polls with their matters: loaded here, in two
    # statements whatever their number (issue 16, tests/web/test_page_statements.py).
    meeting = db.session.execute(select(Meeting).where(Meeting.id == invitation.meeting_id)
                                 .options(joinedload(Meeting.village),
                                          selectinload(Meeting.polls).joinedload(Poll.matter))
                                 ).scalar_one()
    return CloudSession(invitation, meeting, meeting.village, device, _person(device.person_id))


# --- Voting from the phone ------------------------------------------------------------------------


@use_case
def vote(seen: Seen, session_token: str | None, poll_number: object, choice: object,
         ballot_id: object, proof: Proof, now: dt.datetime | None = None) -> Ballot:
    """A ballot from the member's phone, signed by it. Named poll: the phone signs the ballot
    (choice and its own ballot id). Secret poll: it signs its participation; the ballot carries
    no identity. Sending the same ballot id again (a lost answer on a slow network) returns the
    ballot already recorded, never a second one."""
    now = now or utcnow()
    session = session_for(session_token)
    if session is None:
        known = _invitation_of_session(session_token)
        if known is not None:
            seen.meeting_id, seen.person_id = known.meeting_id, known.person_id
            seen.village_id, seen.device_id = known.meeting.village_id, known.device_id
        raise rules.CloudRefused("cloud.invitation",
                                 N_("云端参会已失效（手机已撤销或未加入会议），请重新扫描邀请"))
    meeting, village = assembly.lock_meeting(session.meeting.id)
    member = session.member
    seen.village_id, seen.meeting_id = village.id, meeting.id
    seen.person_id, seen.device_id = member.id, session.device.id
    if meeting.state != MeetingState.OPEN:
        raise Conflict("assembly.meeting_state", N_("会议未开始或已结束"))
    if not session.device.current:
        raise rules.CloudRefused("cloud.device", N_("这部手机已被撤销，不能投票"))
    if proof.key != session.device.key:
        raise rules.CloudRefused("cloud.device", N_("这部手机不是加入会议时使用的手机"))
    poll = next((p for p in meeting.polls if str(p.number) == str(poll_number)), None)
    if poll is None:
        raise NotFound("input.invalid", N_("没有这项表决"))
    code = check_ballot_id(ballot_id)
    existing = db.session.execute(select(Ballot).where(Ballot.code == code)).scalar_one_or_none()
    if existing is not None:
        return _same_ballot(existing, poll, member.id)
    chosen = parse_choice(choice)
    where: dict[str, str | int] = {"meeting": meeting.number, "poll": poll.number,
                                   "member": member.id}
    if poll.mode == VoteMode.NAMED:
        expected = expected_statement("ballot", origin(village), choice=chosen.value,
                                      ballot=code, **where)
    else:
        expected = expected_statement("participation", origin(village), **where)
    _check_proof(proof, expected)
    return ballots.cast_ballot(member.id, poll.id, member.id, chosen.value, Channel.CLOUD, now,
                               code=code, device=proof.as_body())


def vote_from_phone(address: str, session_token: str | None, poll_number: object,
                    choice: object, ballot_id: object, proof: Proof,
                    now: dt.datetime | None = None) -> Ballot:
    """A phone's ballot as the web receives it. The re-send of a ballot already recorded (the
    same ballot id from the same phone, after a lost answer) is answered with that ballot before
    any limit is looked at: a limit never refuses it. Anything else is an :func:`attempt`."""
    resent = recorded_ballot(session_token, poll_number, ballot_id, proof)
    if resent is not None:
        return resent
    return attempt("vote", address, lambda seen: vote(
        seen, session_token, poll_number, choice, ballot_id, proof, now=now),
        credential=session_token)


def recorded_ballot(session_token: str | None, poll_number: object, ballot_id: object,
                    proof: Proof) -> Ballot | None:
    """The ballot this phone's session already recorded under ``ballot_id`` in that poll, or
    None (reads only; :func:`vote` decides everything else)."""
    try:
        session = session_for(session_token)
        if session is None or proof.key != session.device.key:
            return None
        poll = next((p for p in session.meeting.polls if str(p.number) == str(poll_number)),
                    None)
        if poll is None or not isinstance(ballot_id, str):
            return None
        code = check_ballot_id(ballot_id)
        existing = db.session.execute(select(Ballot).where(Ballot.code == code)
                                      ).scalar_one_or_none()
        return None if existing is None else _same_ballot(existing, poll, session.member.id)
    except DomainError:
        return None


def _same_ballot(existing: Ballot, poll: Poll, member_id: int) -> Ballot:
    """A resubmitted ballot id: the member's own ballot in this poll is returned as it was."""
    took_part = db.session.execute(select(Participation.id).where(
        Participation.poll_id == poll.id, Participation.person_id == member_id,
        Participation.channel == Channel.CLOUD)).first() is not None
    mine = existing.voter_id == member_id if existing.voter_id is not None else took_part
    if existing.poll_id != poll.id or not mine or not took_part:
        raise Conflict("assembly.one_ballot", N_("这个选票编号已被使用"))
    return existing


@dataclass(frozen=True)
class PhoneView:
    """What the phone shows: attendance, the poll in progress (or none), why the member may not
    vote on it (None: they may), and the polls they took part in."""

    meeting: Meeting
    member: Person
    attendance: Attendance | None
    open_poll: Poll | None
    voted: frozenset[int]
    vote_refusal: DomainError | None

    @property
    def may_vote(self) -> bool:
        return self.open_poll is not None and self.vote_refusal is None


def phone_view(session: CloudSession) -> PhoneView:
    """The member's meeting as their phone shows it."""
    meeting, member = session.meeting, session.member
    attendance = db.session.execute(select(Attendance).where(
        Attendance.meeting_id == meeting.id,
        Attendance.person_id == member.id)).scalar_one_or_none()
    open_poll = next((p for p in meeting.polls if p.state == PollState.OPEN), None)
    voted = frozenset(db.session.execute(select(Participation.poll_id).where(
        Participation.person_id == member.id,
        Participation.poll_id.in_([p.id for p in meeting.polls]))).scalars())
    refusal = None
    if open_poll is not None:  # the ballot's own rule (domain.assembly.ballot_refusal), recusal
                               # included
        recused = db.session.execute(select(Recusal.id).where(
            Recusal.poll_id == open_poll.id, Recusal.person_id == member.id)).first()
        refusal = ballot_refusal(open_poll.state, Voter(
            member=True,  # an invitation is issued to a member of the meeting's roster only
            present=attendance is not None,
            present_at_open=present_at_open(attendance.id if attendance else None,
                                            open_poll.attendance_upto),
            recused=recused is not None, voted=open_poll.id in voted))
    return PhoneView(meeting, member, attendance, open_poll, voted, refusal)
