"""The assembly's ballots: recusals, a member's ballot (hall, hall device, cloud; named or secret)
and paper ballots entered by the clerk and confirmed by a supervisor. Meetings and attendance are
in services/assembly.py, opening and closing polls in services/polls.py.

Each function is one use case: one transaction, its ledger records inside it (record bodies are
specified in docs/ledger-format.md; the offline verifier re-checks every rule).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy import exists, select

from sunvote.domain.assembly import (
    PAPER_CONFIRMERS,
    BallotProof,
    Channel,
    Choice,
    PollState,
    VoteMode,
    Voter,
    ballot_proof_refusal,
    check_ballot,
    check_recusal,
    new_ballot_id,
    parse_choice,
    present_at_open,
)
from sunvote.domain.cloud import check_pin, hall_pin_refused
from sunvote.domain.errors import N_, Conflict, InvalidField, NotFound, NotPermitted
from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.roles import Role
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    Blob,
    Device,
    Meeting,
    MeetingMember,
    PaperBatch,
    Participation,
    Person,
    Poll,
    Recusal,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import accounts, ledger
from sunvote.services.access import roles_in_village
from sunvote.services.assembly import (
    acting_role,
    actor_fields,
    check_cloud_channel,
    load_person,
    runner_role,
)
from sunvote.services.files import Upload, store_upload
from sunvote.services.pins import check_device_pin
from sunvote.services.polls import lock_poll, tally_refusal
from sunvote.services.unit_of_work import use_case


def _voter(poll: Poll, meeting: Meeting, member_id: int) -> Voter:
    """What domain.assembly.check_ballot and check_recusal ask about ``member_id`` in ``poll``, in
    one
    statement."""
    member, attendance_id, recused, voted = db.session.execute(select(
        exists().where(MeetingMember.meeting_id == meeting.id,
                       MeetingMember.person_id == member_id),
        select(Attendance.id).where(Attendance.meeting_id == meeting.id,
                                    Attendance.person_id == member_id).scalar_subquery(),
        exists().where(Recusal.poll_id == poll.id, Recusal.person_id == member_id),
        exists().where(Participation.poll_id == poll.id,
                       Participation.person_id == member_id))).one()
    return Voter(
        member=bool(member),
        present=attendance_id is not None,
        present_at_open=present_at_open(attendance_id, poll.attendance_upto),
        recused=bool(recused), voted=bool(voted))


@use_case
def recuse(actor_id: int, poll_id: int, member_id: int, reason: str,
           now: dt.datetime | None = None) -> Recusal:
    """A member with a personal interest declares recusal before voting (recorded)."""
    now = now or utcnow()
    poll, meeting, village = lock_poll(poll_id)
    role = acting_role(actor_id, member_id, village, now)
    check_recusal(poll.state, _voter(poll, meeting, member_id))
    text = clean_text(reason, N_("回避理由"), max_length=500) or ""
    recusal = Recusal(poll_id=poll.id, person_id=member_id, reason=text, declared_at=now)
    db.session.add(recusal)
    member = load_person(member_id)
    ledger.append(village, "poll.recuse", {
        "meeting": meeting.number, "poll": poll.number, "member": member.id,
        "member_name": member.name, "reason": text,
        **actor_fields(load_person(actor_id), role, now)})
    db.session.flush()
    return recusal


class PinAttempt(Protocol):
    """What a refused hall-device PIN attempt tells the audit (services.cloud.Seen)."""

    village_id: int | None
    meeting_id: int | None
    person_id: int | None
    device_id: int | None


#: The name of the slip stored for hall-device ballots awaiting confirmation (the "sheet" the
#: supervisor confirms; its SHA-256 goes into paper.confirm).
DEVICE_SLIP = "会场设备选票-{poll}-{member}.json"


@use_case
def cast_ballot(actor_id: int, poll_id: int, member_id: int, choice: object,
                channel: Channel = Channel.HALL, now: dt.datetime | None = None, *,
                code: str | None = None, device: Mapping[str, str] | None = None,
                pin: object = None, seen: PinAttempt | None = None) -> Ballot:
    """A member's ballot, from their own phone in the hall (actor = member), a shared hall
    device run by the clerk, or their enrolled phone from afar (cloud: ``device`` is the phone's
    signed statement and ``code`` the phone's own ballot id; services/cloud.py checks both
    first). A hall-device ballot carries the member's own proof, their ``pin`` typed on the
    device (wrong PINs count towards the phone's lock: ``seen``); without a PIN it is treated
    like paper: held in a batch that counts only once a supervisory committee member confirms
    it (confirm_paper). Named: recorded at once with the voter. Secret: participation is
    recorded now; the ballot, without identity or time, goes to the ledger in a shuffled batch
    when the poll closes."""
    now = now or utcnow()
    poll, meeting, village = lock_poll(poll_id)
    chosen = parse_choice(choice)
    if channel == Channel.PAPER:
        raise InvalidField("input.invalid", N_("纸质票请由村务工作者按计票单录入"))
    if channel == Channel.DEVICE and actor_id == member_id:
        channel = Channel.HALL
    elif channel == Channel.HALL and actor_id != member_id:
        channel = Channel.DEVICE  # a ballot someone else enters in the hall is the hall device's
    check_cloud_channel(channel, device, actor_id, member_id)
    role = acting_role(actor_id, member_id, village, now)
    check_ballot(poll.state, _voter(poll, meeting, member_id))
    if (untallied := tally_refusal(poll)) is not None:  # a poll that can only be voided
        raise untallied
    if channel == Channel.CLOUD:
        proof = BallotProof.DEVICE
    elif channel == Channel.HALL:
        proof = BallotProof.SESSION
    elif pin is None or pin == "":
        proof = BallotProof.CONFIRMED
    else:
        _check_member_pin(member_id, pin, seen, village, meeting)
        proof = BallotProof.PIN
    refusal = ballot_proof_refusal(channel.value, actor_id == member_id, proof.value)
    if refusal is not None:  # pragma: no cover - the channels above always fit
        raise refusal
    if proof is BallotProof.CONFIRMED:
        batch = _device_slip(poll, meeting, member_id, actor_id, now)
        return _store_ballot(poll, meeting, village, member_id, chosen, channel, actor_id, role,
                             now, paper_batch_id=batch.id, append=False)
    return _store_ballot(poll, meeting, village, member_id, chosen, channel, actor_id, role, now,
                         code=code, device=device, proof=proof)


def _check_member_pin(member_id: int, pin: object, seen: PinAttempt | None, village: Village,
                      meeting: Meeting) -> None:
    """The PIN of the member's enrolled phone, typed on the hall device (the same PIN and the
    same lock after five wrong ones as for cloud voting, counted one attempt at a time)."""
    device = db.session.execute(select(Device).where(
        Device.person_id == member_id, Device.replaced_at.is_(None),
        Device.revoked_at.is_(None)).order_by(Device.id.desc())).scalars().first()
    if seen is not None:
        seen.village_id, seen.meeting_id, seen.person_id = village.id, meeting.id, member_id
    if device is None:
        raise NotPermitted("cloud.device",
                           N_("该组成人员没有登记手机，没有PIN码：请不填PIN码提交，"
                              "由村务监督委员会成员确认"))
    if seen is not None:
        seen.device_id = device.id
    check_pin(pin)
    check_device_pin(device.id, pin, hall_pin_refused)


def _device_slip(poll: Poll, meeting: Meeting, member_id: int, actor_id: int,
                 now: dt.datetime) -> PaperBatch:
    """A batch for a hall-device ballot without the member's PIN: its "sheet" is a slip
    naming the member, the poll, who entered it and when (no choice), which the confirming
    supervisor checks with the member in the hall."""
    member = load_person(member_id)
    slip = canonical_json({"kind": "hall-device", "meeting": meeting.number,
                           "poll": poll.number, "member": member.id,
                           "member_name": member.name, "entered_by": actor_id,
                           "at": ledger.iso(now)})
    digest = hashlib.sha256(slip).hexdigest()
    if db.session.get(Blob, digest) is None:
        db.session.add(Blob(sha256=digest, size=len(slip), data=slip))
        db.session.flush()
    batch = PaperBatch(poll_id=poll.id, sheet_sha256=digest,
                       sheet_name=DEVICE_SLIP.format(poll=poll.number, member=member.id),
                       entered_by_id=actor_id, entered_at=now)
    db.session.add(batch)
    db.session.flush()
    return batch


def _store_ballot(poll: Poll, meeting: Meeting, village: Village, member_id: int,
                  choice: Choice, channel: Channel, actor_id: int, role: str,
                  now: dt.datetime, paper_batch_id: int | None = None,
                  append: bool = True, code: str | None = None,
                  device: Mapping[str, str] | None = None,
                  proof: BallotProof = BallotProof.SESSION) -> Ballot:
    member = load_person(member_id)
    db.session.add(Participation(poll_id=poll.id, person_id=member_id, channel=channel,
                                 paper_batch_id=paper_batch_id))
    named = poll.mode == VoteMode.NAMED
    # A secret ballot's row keeps no voter, time or channel (the participation row has the
    # channel); its paper batch only until close_poll re-inserts it (docs/assembly.md).
    ballot = Ballot(poll_id=poll.id, code=code or new_ballot_id(), choice=choice,
                    channel=channel if named else None,
                    voter_id=member_id if named else None,
                    cast_at=now if named else None, paper_batch_id=paper_batch_id)
    db.session.add(ballot)
    db.session.flush()  # the unique constraints speak here, before anything is signed
    if append:
        _append_ballot(poll, meeting, village, member, ballot, channel, actor_id, role, now,
                       proof, device)
    return ballot


def _append_ballot(poll: Poll, meeting: Meeting, village: Village, member: Person,
                   ballot: Ballot, channel: Channel, actor_id: int, role: str,
                   now: dt.datetime, proof: BallotProof,
                   device: Mapping[str, str] | None = None) -> None:
    actor = actor_fields(load_person(actor_id), role, now)
    common = {"meeting": meeting.number, "poll": poll.number, "member": member.id,
              "member_name": member.name, "channel": channel.value, "proof": proof.value}
    signed = {"device": dict(device)} if device is not None else {}
    if poll.mode == VoteMode.NAMED:
        appended = ledger.append(village, "ballot.cast", {
            **common, "choice": ballot.choice.value, "ballot": ballot.code, **actor, **signed})
        ballot.appended = True
        ballot.ledger_seq = appended.seq
    else:
        ledger.append(village, "poll.participation", {**common, **actor, **signed})


# --- Paper ballots ------------------------------------------------------------------------------


@use_case
def enter_paper(actor_id: int, poll_id: int, entries: Sequence[tuple[int, object]],
                sheet: Upload, now: dt.datetime | None = None) -> PaperBatch:
    """The clerk enters paper ballots from the signed tally sheet (its photo or scan stored, its
    hash recorded at confirmation). They reserve the members' one ballot now and count only once
    a supervisory committee member confirms them."""
    now = now or utcnow()
    poll, meeting, village = lock_poll(poll_id)
    runner_role(actor_id, village, now)
    if not entries:
        raise InvalidField("input.invalid", N_("请至少录入一张纸质票"))
    name, _content_type, digest = store_upload(sheet)
    batch = PaperBatch(poll_id=poll.id, sheet_sha256=digest, sheet_name=name,
                       entered_by_id=actor_id, entered_at=now)
    db.session.add(batch)
    db.session.flush()
    if (untallied := tally_refusal(poll)) is not None:  # a poll that can only be voided
        raise untallied
    seen: set[int] = set()
    for member_id, choice in entries:
        if member_id in seen:
            raise Conflict("assembly.one_ballot", N_("每位组成人员对每个事项只能投一票"))
        seen.add(member_id)
        check_ballot(poll.state, _voter(poll, meeting, member_id))
        _store_ballot(poll, meeting, village, member_id, parse_choice(choice), Channel.PAPER,
                      actor_id, "", now, paper_batch_id=batch.id, append=False)
    return batch


@use_case
def confirm_paper(actor_id: int, batch_id: int, now: dt.datetime | None = None) -> PaperBatch:
    """A supervisory committee member (not the one who entered them) confirms paper ballots:
    the sheet's hash and the ballots go into the ledger."""
    now = now or utcnow()
    batch = db.session.get(PaperBatch, batch_id)
    if batch is None:
        raise NotFound("input.invalid", N_("没有这批纸质票"))
    poll, meeting, village = lock_poll(batch.poll_id)
    roles = roles_in_village(actor_id, village, now) & PAPER_CONFIRMERS
    if not roles:
        raise NotPermitted("assembly.paper_confirm",
                           N_("纸质票须由村务监督委员会成员确认"))
    if actor_id == batch.entered_by_id:
        raise NotPermitted("assembly.paper_confirm", N_("录入纸质票的人不能自己确认"))
    accounts.check_checker_login(actor_id, {batch.entered_by_id})
    if batch.confirmed_at is not None:
        raise Conflict("assembly.paper_confirm", N_("这批纸质票已经确认过"))
    if poll.state != PollState.OPEN:
        raise Conflict("assembly.poll_closed", N_("表决未开始或已结束，不能投票"))
    if (untallied := tally_refusal(poll)) is not None:  # a poll that can only be voided
        raise untallied
    role = Role.SUPERVISOR_CHAIR if Role.SUPERVISOR_CHAIR in roles else Role.SUPERVISOR
    ballots = list(db.session.execute(select(Ballot).where(
        Ballot.paper_batch_id == batch.id).order_by(Ballot.id)).scalars())
    members = list(db.session.execute(select(Participation).where(
        Participation.paper_batch_id == batch.id).order_by(Participation.id)).scalars())
    ledger.append(village, "paper.confirm", {
        "meeting": meeting.number, "poll": poll.number, "count": len(ballots),
        "sheet_sha256": batch.sheet_sha256, "entered_by": batch.entered_by_id,
        **actor_fields(load_person(actor_id), role.value, now)})
    entered_by = batch.entered_by_id
    entered_role = runner_role(entered_by, village, now).value
    for ballot, participation in zip(ballots, members, strict=True):
        _append_ballot(poll, meeting, village, load_person(participation.person_id), ballot,
                       participation.channel, entered_by, entered_role, now,
                       BallotProof.PAPER if participation.channel == Channel.PAPER
                       else BallotProof.CONFIRMED)
    batch.confirmed_by_id = actor_id
    batch.confirmed_at = now
    db.session.flush()
    return batch


@use_case
def discard_paper(actor_id: int, batch_id: int, now: dt.datetime | None = None) -> None:
    """The clerk withdraws an unconfirmed batch (a typing mistake): nothing of it was signed."""
    now = now or utcnow()
    batch = db.session.get(PaperBatch, batch_id)
    if batch is None:
        raise NotFound("input.invalid", N_("没有这批纸质票"))
    village = lock_poll(batch.poll_id)[2]
    runner_role(actor_id, village, now)
    if batch.confirmed_at is not None:
        raise Conflict("assembly.paper_confirm", N_("已确认的纸质票不能撤回"))
    for model in (Ballot, Participation):
        for row in db.session.execute(select(model).where(
                model.paper_batch_id == batch.id)).scalars():
            db.session.delete(row)
    db.session.flush()
    db.session.delete(batch)
    db.session.flush()
