"""The representative assembly (step 5): convene with notice, members' requests, open with the
roster frozen, check in, polls with the quorum re-checked, recusals, ballots (named and secret),
paper ballots confirmed by a supervisor, the tally and the matter's result.

Each function is one use case: one transaction, its ledger records inside it (record bodies are
specified in docs/ledger-format.md; the offline verifier re-checks every rule).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from sunvote.domain.assembly import (
    ATTEND_CHANNELS,
    MEETING_RUNNERS,
    PAPER_CONFIRMERS,
    AttendProof,
    BallotProof,
    Channel,
    Choice,
    MeetingAction,
    MeetingState,
    PollAction,
    PollState,
    Tally,
    VoteMode,
    Voter,
    all_present_except,
    attendance_proof_refusal,
    ballot_proof_refusal,
    check_ballot,
    check_notice,
    check_quorum,
    check_recusal,
    checkin_many_refusal,
    count,
    leave_refusal,
    meeting_transition,
    new_ballot_id,
    parse_choice,
    poll_opening_refusal,
    poll_tally_refusal,
    poll_transition,
    poll_void_refusal,
    present_at_open,
    requests_force_a_meeting,
    secret_ballot_body,
)
from sunvote.domain.cloud import check_pin, check_presence_code, hall_pin_refused
from sunvote.domain.errors import N_, Conflict, DomainError, InvalidField, NotFound, NotPermitted
from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.procedure import MatterState
from sunvote.domain.roles import ASSEMBLY_ROLES, Role
from sunvote.domain.settings import PassRule, encode_setting
from sunvote.domain.text import clean_text, whole_number
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    Blob,
    Device,
    Matter,
    Meeting,
    MeetingItem,
    MeetingMember,
    MeetingRequest,
    PaperBatch,
    Participation,
    Person,
    Poll,
    Recusal,
    RoleAssignment,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import accounts, ledger
from sunvote.services.access import local_date, roles_in_village, term_in_force
from sunvote.services.files import Upload, store_upload
from sunvote.services.matters import record_vote
from sunvote.services.pins import check_device_pin
from sunvote.services.settings import township_settings
from sunvote.services.supervision import publish_result
from sunvote.services.unit_of_work import lock_village, use_case

#: The role a member acts in when checking in, recusing or voting for themself (ledger "role").
MEMBER = "member"


def _actor(person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound("input.invalid", N_("没有这个人员"))
    return person


def _runner_role(actor_id: int, village: Village, now: dt.datetime) -> Role:
    """The role in which ``actor_id`` runs the meeting (committee director, member or clerk)."""
    roles = roles_in_village(actor_id, village, now) & MEETING_RUNNERS
    if not roles:
        raise NotPermitted("procedure.role",
                           N_("只有村民委员会成员或村务工作者可以召集和主持村民代表会议"))
    for preferred in (Role.COMMITTEE_DIRECTOR, Role.COMMITTEE_MEMBER, Role.CLERK):
        if preferred in roles:
            return preferred
    raise AssertionError(roles)  # pragma: no cover


def _meeting(meeting_id: int) -> tuple[Meeting, Village]:
    """The meeting, read after its village is locked (so as the last writer left it), and the
    village. Only the meeting's row is read: an object the view loaded with its roster is
    refreshed without it (the roster loads when a use case asks for it), so a ballot or a
    check-in costs the same whatever the roster's size (issue 16; docs/performance.md)."""
    village_id = db.session.execute(select(Meeting.village_id).where(
        Meeting.id == meeting_id)).scalar_one_or_none()
    if village_id is None:
        raise NotFound("input.invalid", N_("没有这次会议"))
    return _locked_meeting(meeting_id, village_id)


def _locked_meeting(meeting_id: int, village_id: int) -> tuple[Meeting, Village]:
    village = lock_village(village_id)
    meeting = db.session.execute(select(Meeting).where(Meeting.id == meeting_id)
                                 .execution_options(populate_existing=True)).scalar_one()
    return meeting, village


def _poll(poll_id: int) -> tuple[Poll, Meeting, Village]:
    """The poll, its matter and its meeting, read in one statement after their village is
    locked, and the village."""
    found = db.session.execute(select(Meeting.village_id)
                               .join(Poll, Meeting.id == Poll.meeting_id)
                               .where(Poll.id == poll_id)).scalar_one_or_none()
    if found is None:
        raise NotFound("input.invalid", N_("没有这项表决"))
    village = lock_village(found)
    poll, meeting = db.session.execute(
        select(Poll, Meeting).join(Meeting, Meeting.id == Poll.meeting_id)
        .where(Poll.id == poll_id).options(joinedload(Poll.matter))
        .execution_options(populate_existing=True)).one()
    return poll, meeting, village


def _actor_fields(actor: Person, role: str, now: dt.datetime) -> dict[str, object]:
    return {"person": actor.id, "name": actor.name, "role": role, "at": ledger.iso(now)}


def _meeting_may(meeting: Meeting, action: MeetingAction) -> MeetingState:
    """The meeting's state after ``action`` by domain.assembly.MEETING_TRANSITIONS, or its
    refusal."""
    return meeting_transition(MeetingState(meeting.state), action)


# --- Convening and requests ---------------------------------------------------------------------


@use_case
def convene(actor_id: int, village_id: int, title: str, place: str, starts_at: dt.datetime,
            matter_ids: Sequence[int], now: dt.datetime | None = None) -> Meeting:
    """Convene a meeting for matters whose review is filed, notifying members at least the
    township's notice days before (refused if too late, naming the earliest date)."""
    now = now or utcnow()
    village = lock_village(village_id)
    role = _runner_role(actor_id, village, now)
    title = clean_text(title, N_("会议名称"), max_length=200) or ""
    place = clean_text(place, N_("会议地点"), max_length=200) or ""
    if starts_at.tzinfo is None:
        raise InvalidField("input.invalid", N_("会议时间须带时区"))
    if not matter_ids or len(set(matter_ids)) != len(matter_ids):
        raise InvalidField("assembly.agenda", N_("议程须列出至少一个事项，且不得重复"))
    matters = []
    for matter_id in matter_ids:
        matter = db.session.get(Matter, matter_id)
        if matter is None or matter.village_id != village.id:
            raise InvalidField("access.village", N_("议程中的事项不属于本村"))
        if matter.state != MatterState.FILED.value:
            raise Conflict("assembly.agenda",
                           N_("事项%(number)s尚未审议备案，不能列入票决议程"),
                           number=matter.number)
        matters.append(matter)
    notice_days = int(str(township_settings(village.township_id)["meeting_notice_days"]))
    check_notice(local_date(starts_at), local_date(now), notice_days)
    number = (db.session.execute(select(func.max(Meeting.number)).where(
        Meeting.village_id == village.id)).scalar_one() or 0) + 1
    meeting = Meeting(village_id=village.id, number=number, title=title, place=place,
                      starts_at=starts_at, notice_days=notice_days,
                      state=MeetingState.CONVENED.value, checkin_code=secrets.token_urlsafe(12),
                      presence_secret=secrets.token_hex(32),
                      convened_at=now, convened_by_id=actor_id)
    db.session.add(meeting)
    db.session.flush()
    for position, matter in enumerate(matters, start=1):
        db.session.add(MeetingItem(meeting_id=meeting.id, matter_id=matter.id,
                                   position=position))
    for request in db.session.execute(select(MeetingRequest).where(
            MeetingRequest.village_id == village.id,
            MeetingRequest.answered_by_meeting_id.is_(None))).scalars():
        request.answered_by_meeting_id = meeting.id
    ledger.append(village, "meeting.convene", {
        "meeting": number, "title": title, "place": place, "starts_at": ledger.iso(starts_at),
        "agenda": [m.number for m in matters], "notice_days": notice_days,
        **_actor_fields(_actor(actor_id), role.value, now)})
    db.session.flush()
    return meeting


@use_case
def request_meeting(actor_id: int, village_id: int, reason: str,
                    now: dt.datetime | None = None) -> MeetingRequest:
    """A representative asks for a meeting; at a fifth of the representatives the committee is
    warned that it must convene one (组织法 art. 26)."""
    now = now or utcnow()
    village = lock_village(village_id)
    if Role.REPRESENTATIVE not in roles_in_village(actor_id, village, now):
        raise NotPermitted("procedure.role", N_("只有村民代表可以提议召开村民代表会议"))
    text = clean_text(reason, N_("提议理由"), max_length=1000) or ""
    if db.session.execute(select(MeetingRequest.id).where(
            MeetingRequest.village_id == village.id, MeetingRequest.person_id == actor_id,
            MeetingRequest.answered_by_meeting_id.is_(None))).first():
        raise Conflict("input.invalid", N_("您已提议过，会议召开前不必重复提议"))
    request = MeetingRequest(village_id=village.id, person_id=actor_id, reason=text,
                             requested_at=now)
    db.session.add(request)
    ledger.append(village, "meeting.request", {
        "reason": text, **_actor_fields(_actor(actor_id), Role.REPRESENTATIVE.value, now)})
    db.session.flush()
    return request


@dataclass(frozen=True)
class RequestStatus:
    """Open requests for a meeting and whether they force one."""

    requests: list[MeetingRequest]
    representatives: int

    @property
    def forced(self) -> bool:
        """At least a fifth of the representatives asked."""
        return requests_force_a_meeting(len(self.requests), self.representatives)


def request_status(village: Village, now: dt.datetime) -> RequestStatus:
    """The unanswered requests and the number of representatives today."""
    day = local_date(now)
    reps = db.session.execute(select(func.count(func.distinct(RoleAssignment.person_id))).where(
        RoleAssignment.village_id == village.id,
        RoleAssignment.role == Role.REPRESENTATIVE.value, term_in_force(day))).scalar_one()
    requests = list(db.session.execute(select(MeetingRequest).where(
        MeetingRequest.village_id == village.id,
        MeetingRequest.answered_by_meeting_id.is_(None))
        .options(selectinload(MeetingRequest.person)).order_by(
        MeetingRequest.requested_at)).scalars())
    return RequestStatus(requests, reps)


# --- Opening, attendance ------------------------------------------------------------------------


def assembly_roster(village: Village, now: dt.datetime) -> dict[int, list[str]]:
    """Everyone holding an assembly role today (committee and representatives), with those
    roles sorted: the roster a meeting freezes when it opens."""
    day = local_date(now)
    roster: dict[int, set[str]] = {}
    for person_id, role in db.session.execute(select(
            RoleAssignment.person_id, RoleAssignment.role).where(
            RoleAssignment.village_id == village.id,
            RoleAssignment.role.in_([r.value for r in ASSEMBLY_ROLES]),
            term_in_force(day))).all():
        roster.setdefault(person_id, set()).add(role)
    return {pid: sorted(roles) for pid, roles in sorted(roster.items())}


@use_case
def open_meeting(actor_id: int, meeting_id: int, now: dt.datetime | None = None) -> Meeting:
    """Open the meeting on (or after) its day: the assembly's roster is frozen for it."""
    now = now or utcnow()
    meeting, village = _meeting(meeting_id)
    role = _runner_role(actor_id, village, now)
    opened = _meeting_may(meeting, MeetingAction.OPEN)
    if local_date(now) < local_date(meeting.starts_at):
        raise Conflict("assembly.meeting_state", N_("会议定于%(day)s召开，不能提前开始"),
                       day=local_date(meeting.starts_at).isoformat())
    roster = assembly_roster(village, now)
    if not roster:
        raise Conflict("assembly.quorum", N_("本村没有村民代表会议组成人员，不能开会"))
    members = []
    for person_id, roles in roster.items():
        db.session.add(MeetingMember(meeting_id=meeting.id, person_id=person_id,
                                     roles=",".join(roles)))
        members.append({"person": person_id, "name": _actor(person_id).name, "roles": roles})
    meeting.state = opened.value
    if meeting.presence_secret is None:  # convened before cloud voting existed
        meeting.presence_secret = secrets.token_hex(32)
    meeting.opened_at = now
    ledger.append(village, "meeting.open", {
        "meeting": meeting.number, "members": members,
        **_actor_fields(_actor(actor_id), role.value, now)})
    db.session.flush()
    return meeting


def _is_member(meeting: Meeting, person_id: int) -> bool:
    return db.session.execute(select(MeetingMember.id).where(
        MeetingMember.meeting_id == meeting.id,
        MeetingMember.person_id == person_id)).first() is not None


def _acting_role(actor_id: int, member_id: int, village: Village, now: dt.datetime) -> str:
    """A member acting for themself acts as "member"; anyone else must run the meeting."""
    if actor_id == member_id:
        return MEMBER
    return _runner_role(actor_id, village, now).value


@use_case
def check_in(actor_id: int, meeting_id: int, member_id: int, channel: Channel = Channel.HALL,
             now: dt.datetime | None = None,
             device: Mapping[str, str] | None = None, *,
             proof: AttendProof | None = None, code: object = None) -> Attendance:
    """Mark a member present. Presence is proven, not claimed: a member checking in themself
    in the hall sends the live code the hall screen shows (``proof`` qr: the screen's QR
    carried it; code: typed); a runner marking a member present is recorded as such (proof
    clerk, the runner as actor); a cloud check-in carries the member's phone's signed
    ``attend`` statement (``device``; services/cloud.py checks it first). One attendance per
    member: checking in again by the same channel is refused; another channel is a recorded
    switch."""
    now = now or utcnow()
    meeting, village = _meeting(meeting_id)
    _meeting_may(meeting, MeetingAction.CHECK_IN)
    role = _acting_role(actor_id, member_id, village, now)
    if not _is_member(meeting, member_id):
        raise NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以签到"))
    if channel.value not in ATTEND_CHANNELS:
        raise InvalidField("input.invalid", N_("签到方式只能是会场或云端"))
    _check_cloud(channel, device, actor_id, member_id)
    by_member = actor_id == member_id
    if channel is Channel.CLOUD:
        proof = AttendProof.DEVICE
    elif not by_member:
        proof = AttendProof.CLERK
    refusal = attendance_proof_refusal(channel.value, by_member,
                                       proof.value if proof is not None else None)
    if refusal is not None:
        raise refusal
    assert proof is not None  # the refusal covers a missing proof
    if proof in (AttendProof.QR, AttendProof.CODE):
        check_presence_code(bytes.fromhex(meeting.presence_secret or ""), code, now)
    return _attend(meeting, village, member_id, channel, actor_id, role, proof, now, device)


def _attend(meeting: Meeting, village: Village, member_id: int, channel: Channel,
            actor_id: int, role: str, proof: AttendProof, now: dt.datetime,
            device: Mapping[str, str] | None = None) -> Attendance:
    """Write one check-in (the row and its ``meeting.attend`` record), the rules checked."""
    attendance = db.session.execute(select(Attendance).where(
        Attendance.meeting_id == meeting.id, Attendance.person_id == member_id)
    ).scalar_one_or_none()
    if attendance is not None and attendance.channel == channel.value:
        raise Conflict("assembly.attendance", N_("%(name)s已经签到"),
                       name=_actor(member_id).name)
    if attendance is None:
        attendance = Attendance(meeting_id=meeting.id, person_id=member_id,
                                channel=channel.value, checked_in_at=now,
                                recorded_by_id=actor_id)
        db.session.add(attendance)
    else:
        attendance.channel = channel.value
        attendance.checked_in_at = now
        attendance.recorded_by_id = actor_id
    member = _actor(member_id)
    ledger.append(village, "meeting.attend", {
        "meeting": meeting.number, "member": member.id, "member_name": member.name,
        "channel": channel.value, **_actor_fields(_actor(actor_id), role, now),
        **({"device": dict(device)} if device is not None else {}), "proof": proof.value})
    db.session.flush()
    return attendance


def _roster_ids(meeting: Meeting) -> list[int]:
    return list(db.session.execute(select(MeetingMember.person_id).where(
        MeetingMember.meeting_id == meeting.id).order_by(MeetingMember.id)).scalars())


def present_ids(meeting: Meeting) -> set[int]:
    """The members present now (any channel)."""
    return set(db.session.execute(select(Attendance.person_id).where(
        Attendance.meeting_id == meeting.id)).scalars())


def _member_ids(values: Sequence[object]) -> list[int]:
    """Member ids from a form: whole numbers only (anything else refuses the whole form)."""
    ids = []
    for value in values:
        number = whole_number(str(value))
        if number is None:
            raise InvalidField("input.invalid", N_("组成人员编号无效"))
        ids.append(number)
    return ids


def _check_in_by_runner(actor_id: int, meeting: Meeting, village: Village,
                        member_ids: Sequence[int], now: dt.datetime) -> list[Attendance]:
    role = _runner_role(actor_id, village, now).value
    return [_attend(meeting, village, member_id, Channel.HALL, actor_id, role,
                    AttendProof.CLERK, now) for member_id in member_ids]


@use_case
def check_in_many(actor_id: int, meeting_id: int, member_ids: Sequence[object],
                  now: dt.datetime | None = None) -> list[Attendance]:
    """Someone running the meeting checks in the selected members at once: one
    ``meeting.attend`` record each (channel hall, ``proof`` clerk, the runner as actor). The
    selection is refused as a whole — nothing written — if any member is refused
    (domain.assembly.checkin_many_refusal)."""
    now = now or utcnow()
    meeting, village = _meeting(meeting_id)
    _runner_role(actor_id, village, now)
    _meeting_may(meeting, MeetingAction.CHECK_IN)
    chosen = _member_ids(member_ids)
    refusal = checkin_many_refusal(chosen, _roster_ids(meeting), present_ids(meeting))
    if refusal is not None:
        raise refusal
    return _check_in_by_runner(actor_id, meeting, village, chosen, now)


@use_case
def check_in_all_except(actor_id: int, meeting_id: int, absent_ids: Sequence[object],
                        now: dt.datetime | None = None) -> list[Attendance]:
    """"Everyone present except …": the runner names the absent; every other member not yet
    present is checked in (as :func:`check_in_many`; domain.assembly.all_present_except)."""
    now = now or utcnow()
    meeting, village = _meeting(meeting_id)
    _runner_role(actor_id, village, now)
    _meeting_may(meeting, MeetingAction.CHECK_IN)
    chosen, refusal = all_present_except(_roster_ids(meeting), present_ids(meeting),
                                         _member_ids(absent_ids))
    if refusal is not None:
        raise refusal
    return _check_in_by_runner(actor_id, meeting, village, chosen, now)


@use_case
def leave(actor_id: int, meeting_id: int, member_id: int,
          now: dt.datetime | None = None) -> None:
    """A member leaves the meeting (离场), by their own word or recorded by someone running the
    meeting (``meeting.leave``, the actor and the time). Their attendance row goes: later polls
    count them absent; a poll already open keeps its present count, and takes no more ballots
    from them. They may check in again (a new check-in; docs/assembly.md, "Leaving")."""
    now = now or utcnow()
    meeting, village = _meeting(meeting_id)
    role = _acting_role(actor_id, member_id, village, now)
    attendance = db.session.execute(select(Attendance).where(
        Attendance.meeting_id == meeting.id, Attendance.person_id == member_id)
    ).scalar_one_or_none()
    refusal = leave_refusal(meeting.state == MeetingState.OPEN.value,
                            _is_member(meeting, member_id), attendance is not None)
    if refusal is not None:
        raise refusal
    assert attendance is not None
    member = _actor(member_id)
    db.session.delete(attendance)
    ledger.append(village, "meeting.leave", {
        "meeting": meeting.number, "member": member.id, "member_name": member.name,
        **_actor_fields(_actor(actor_id), role, now)})
    db.session.flush()


def _check_cloud(channel: Channel, device: Mapping[str, str] | None, actor_id: int,
                 member_id: int) -> None:
    """Cloud check-ins and ballots come from the member's own enrolled phone, signed by it;
    nothing else carries a device signature."""
    if channel is Channel.CLOUD:
        if actor_id != member_id or device is None:
            raise NotPermitted("cloud.signature",
                               N_("云端签到和投票只能由本人在登记的手机上完成"))
    elif device is not None:
        raise InvalidField("input.invalid", N_("只有云端签到和投票带手机签名"))


def present_count(meeting: Meeting) -> int:
    """Members present now (any channel)."""
    return int(db.session.execute(select(func.count()).select_from(Attendance).where(
        Attendance.meeting_id == meeting.id)).scalar_one())


# --- Polls --------------------------------------------------------------------------------------


@use_case
def open_poll(actor_id: int, meeting_id: int, matter_id: int, mode: VoteMode = VoteMode.NAMED,
              now: dt.datetime | None = None) -> Poll:
    """Open the vote on an agenda matter, re-checking the quorum on the members present now."""
    now = now or utcnow()
    meeting, village = _meeting(meeting_id)
    role = _runner_role(actor_id, village, now)
    _meeting_may(meeting, MeetingAction.OPEN_POLL)
    item = db.session.execute(select(MeetingItem).where(
        MeetingItem.meeting_id == meeting.id, MeetingItem.matter_id == matter_id)
    ).scalar_one_or_none()
    if item is None:
        raise InvalidField("assembly.agenda", N_("该事项不在本次会议议程上"))
    matter = item.matter
    refusal = poll_opening_refusal(matter.number, matter.state == MatterState.FILED.value,
                                   open_poll_meetings([matter.id]).get(matter.id))
    if refusal is not None:
        raise refusal
    if any(p.matter_id == matter.id for p in meeting.polls):
        raise Conflict("assembly.poll_state", N_("本次会议已经对该事项表决过"))
    if any(PollState(p.state).unfinished for p in meeting.polls):
        raise Conflict("assembly.poll_state", N_("请先结束正在进行的表决"))
    settings = township_settings(village.township_id)
    quorum = settings["quorum"]
    assert isinstance(quorum, Fraction)
    members = len(meeting.members)
    present = present_count(meeting)
    check_quorum(present, members, quorum)
    rule = settings.pass_rule_for(matter.category or 10)
    counts_present = bool(settings["recusal_counts_present"])
    upto = db.session.execute(select(func.max(Attendance.id)).where(
        Attendance.meeting_id == meeting.id)).scalar_one() or 0
    poll = Poll(meeting_id=meeting.id, number=len(meeting.polls) + 1, matter_id=matter.id,
                mode=mode.value, state=PollState.OPEN.value, present=present, members=members,
                attendance_upto=upto,
                quorum=encode_setting(quorum), rule=rule.value,
                recusal_counts_present=counts_present, opened_at=now, opened_by_id=actor_id)
    db.session.add(poll)
    db.session.flush()
    ledger.append(village, "poll.open", {
        "meeting": meeting.number, "poll": poll.number, "matter": matter.number,
        "mode": mode.value, "present": present, "members": members,
        "quorum": encode_setting(quorum), "rule": rule.value,
        "recusal_counts_present": counts_present,
        **_actor_fields(_actor(actor_id), role.value, now)})
    return poll


def open_poll_meetings(matter_ids: Sequence[int]) -> dict[int, int]:
    """For each of ``matter_ids`` with a poll open (or suspended) at some meeting: the number of
    that meeting (the first such poll's). What domain.assembly.poll_opening_refusal is asked with,
    by
    open_poll and by the room page that decides whether to offer "open poll"."""
    rows = db.session.execute(
        select(Poll.matter_id, Meeting.number).join(Meeting, Poll.meeting_id == Meeting.id)
        .where(Poll.matter_id.in_(matter_ids),
               Poll.state.in_([s.value for s in PollState if s.unfinished]))
        .order_by(Poll.id)).all()
    found: dict[int, int] = {}
    for matter_id, number in rows:
        found.setdefault(matter_id, number)
    return found


def opened_before(poll: Poll) -> bool:
    """Whether another poll on ``poll``'s matter, opened before it, is still open (or suspended):
    two open polls on one matter written by an earlier version; only the first is counted."""
    return db.session.execute(select(Poll.id).where(
        Poll.matter_id == poll.matter_id, Poll.id < poll.id,
        Poll.state.in_([s.value for s in PollState if s.unfinished]))).first() is not None


def tally_refusal(poll: Poll) -> DomainError | None:
    """Why the open ``poll`` cannot be closed and counted (it can then only be voided), or None:
    domain.assembly.poll_tally_refusal, asked by close_poll and by the room page."""
    matter = poll.matter
    return poll_tally_refusal(matter.number, matter.state == MatterState.FILED.value,
                              opened_before(poll))


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
    poll, meeting, village = _poll(poll_id)
    role = _acting_role(actor_id, member_id, village, now)
    check_recusal(PollState(poll.state), _voter(poll, meeting, member_id))
    text = clean_text(reason, N_("回避理由"), max_length=500) or ""
    recusal = Recusal(poll_id=poll.id, person_id=member_id, reason=text, declared_at=now)
    db.session.add(recusal)
    member = _actor(member_id)
    ledger.append(village, "poll.recuse", {
        "meeting": meeting.number, "poll": poll.number, "member": member.id,
        "member_name": member.name, "reason": text,
        **_actor_fields(_actor(actor_id), role, now)})
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
    poll, meeting, village = _poll(poll_id)
    chosen = parse_choice(choice)
    if channel is Channel.PAPER:
        raise InvalidField("input.invalid", N_("纸质票请由村务工作者按计票单录入"))
    if channel is Channel.DEVICE and actor_id == member_id:
        channel = Channel.HALL
    elif channel is Channel.HALL and actor_id != member_id:
        channel = Channel.DEVICE  # a ballot someone else enters in the hall is the hall device's
    _check_cloud(channel, device, actor_id, member_id)
    role = _acting_role(actor_id, member_id, village, now)
    check_ballot(PollState(poll.state), _voter(poll, meeting, member_id))
    if (untallied := tally_refusal(poll)) is not None:  # a poll that can only be voided
        raise untallied
    if channel is Channel.CLOUD:
        proof = BallotProof.DEVICE
    elif channel is Channel.HALL:
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
    member = _actor(member_id)
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
    member = _actor(member_id)
    db.session.add(Participation(poll_id=poll.id, person_id=member_id, channel=channel.value,
                                 paper_batch_id=paper_batch_id))
    named = poll.mode == VoteMode.NAMED.value
    # A secret ballot's row keeps no voter, time or channel (the participation row has the
    # channel); its paper batch only until close_poll re-inserts it (docs/assembly.md).
    ballot = Ballot(poll_id=poll.id, code=code or new_ballot_id(), choice=choice.value,
                    channel=channel.value if named else None,
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
    actor = _actor_fields(_actor(actor_id), role, now)
    common = {"meeting": meeting.number, "poll": poll.number, "member": member.id,
              "member_name": member.name, "channel": channel.value, "proof": proof.value}
    signed = {"device": dict(device)} if device is not None else {}
    if poll.mode == VoteMode.NAMED.value:
        appended = ledger.append(village, "ballot.cast", {
            **common, "choice": ballot.choice, "ballot": ballot.code, **actor, **signed})
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
    poll, meeting, village = _poll(poll_id)
    _runner_role(actor_id, village, now)
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
        check_ballot(PollState(poll.state), _voter(poll, meeting, member_id))
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
    poll, meeting, village = _poll(batch.poll_id)
    roles = roles_in_village(actor_id, village, now) & PAPER_CONFIRMERS
    if not roles:
        raise NotPermitted("assembly.paper_confirm",
                           N_("纸质票须由村务监督委员会成员确认"))
    if actor_id == batch.entered_by_id:
        raise NotPermitted("assembly.paper_confirm", N_("录入纸质票的人不能自己确认"))
    accounts.check_checker_login(actor_id, {batch.entered_by_id})
    if batch.confirmed_at is not None:
        raise Conflict("assembly.paper_confirm", N_("这批纸质票已经确认过"))
    if poll.state != PollState.OPEN.value:
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
        **_actor_fields(_actor(actor_id), role.value, now)})
    entered_by = batch.entered_by_id
    entered_role = _runner_role(entered_by, village, now).value
    for ballot, participation in zip(ballots, members, strict=True):
        _append_ballot(poll, meeting, village, _actor(participation.person_id), ballot,
                       Channel(participation.channel), entered_by, entered_role, now,
                       BallotProof.PAPER if participation.channel == Channel.PAPER.value
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
    village = _poll(batch.poll_id)[2]
    _runner_role(actor_id, village, now)
    if batch.confirmed_at is not None:
        raise Conflict("assembly.paper_confirm", N_("已确认的纸质票不能撤回"))
    for model in (Ballot, Participation):
        for row in db.session.execute(select(model).where(
                model.paper_batch_id == batch.id)).scalars():
            db.session.delete(row)
    db.session.flush()
    db.session.delete(batch)
    db.session.flush()


# --- Closing and the tally ----------------------------------------------------------------------


@use_case
def close_poll(actor_id: int, poll_id: int, now: dt.datetime | None = None,
               rng: random.Random | None = None) -> Tally:
    """Close the poll, count it, sign the tally and move the matter: passed → supervision (step
    6), rejected → it may be re-proposed. Secret ballots are appended now, shuffled, without
    identity or time. Refused while paper ballots await confirmation."""
    now = now or utcnow()
    poll, meeting, village = _poll(poll_id)
    role = _runner_role(actor_id, village, now)
    closed = poll_transition(PollState(poll.state), PollAction.CLOSE)
    if (untallied := tally_refusal(poll)) is not None:  # one open poll per matter (item 6)
        raise untallied
    if db.session.execute(select(PaperBatch.id).where(
            PaperBatch.poll_id == poll.id, PaperBatch.confirmed_at.is_(None))).first():
        raise Conflict("assembly.paper_unconfirmed",
                       N_("还有纸质票未经村务监督委员会确认，不能结束表决"))
    ballots = list(db.session.execute(select(Ballot).where(Ballot.poll_id == poll.id)
                                      .order_by(Ballot.id)).scalars())
    recused = int(db.session.execute(select(func.count()).select_from(Recusal).where(
        Recusal.poll_id == poll.id)).scalar_one())
    tally = count([Choice(b.choice) for b in ballots], present=poll.present,
                  members=poll.members, recused=recused, rule=PassRule(poll.rule),
                  recusal_counts_present=poll.recusal_counts_present)
    actor = _actor(actor_id)
    ledger.append(village, "poll.close", {
        "meeting": meeting.number, "poll": poll.number, "ballots": len(ballots),
        **_actor_fields(actor, role.value, now)})
    if poll.mode == VoteMode.SECRET.value:
        _seal_secret_ballots(poll, meeting, village, ballots, rng or secrets.SystemRandom())
    matter = db.session.get(Matter, poll.matter_id)
    assert matter is not None
    ledger.append(village, "poll.tally", {
        "meeting": meeting.number, "poll": poll.number, "matter": matter.number,
        "yes": tally.yes, "no": tally.no, "abstain": tally.abstain, "recused": tally.recused,
        "present": tally.present, "members": tally.members, "rule": tally.rule.value,
        "recusal_counts_present": tally.recusal_counts_present, "base": tally.base,
        "needed": tally.needed, "verdict": tally.verdict, "at": ledger.iso(now)})
    poll.state = closed.value
    poll.closed_at = now
    poll.yes, poll.no, poll.abstain, poll.recused = tally.yes, tally.no, tally.abstain, recused
    # A total only, from the participations (secret ballots keep no channel).
    poll.cloud = int(db.session.execute(select(func.count()).select_from(Participation).where(
        Participation.poll_id == poll.id,
        Participation.channel == Channel.CLOUD.value)).scalar_one())
    poll.verdict = tally.verdict
    record_vote(matter, actor_id, tally.verdict, now)
    publish_result(matter, village, meeting.number, poll.number, tally.verdict, now)
    db.session.flush()
    return tally


def _seal_secret_ballots(poll: Poll, meeting: Meeting, village: Village,
                         ballots: Sequence[Ballot], rng: random.Random) -> None:
    """Append a secret poll's ballots in a shuffled batch (meeting, poll, ballot id, choice:
    domain.assembly.secret_ballot_body), and re-insert their rows in that order without their paper
    batch, so that neither the log nor the ``ballot`` table's ids and columns line up with the
    ``participation`` rows (what remains is in docs/assembly.md)."""
    shuffled = list(ballots)
    rng.shuffle(shuffled)
    kept = [(b.code, Choice(b.choice)) for b in shuffled]
    for ballot in ballots:
        db.session.delete(ballot)
    db.session.flush()
    for code, choice in kept:
        appended = ledger.append(village, "ballot.secret",
                                 secret_ballot_body(meeting.number, poll.number, code, choice))
        # Inserted in the order added: the new ids follow the shuffled (public) order.
        db.session.add(Ballot(poll_id=poll.id, code=code, choice=choice.value, channel=None,
                              appended=True, ledger_seq=appended.seq))
    db.session.flush()


@use_case
def void_poll(actor_id: int, poll_id: int, reason: str,
              now: dt.datetime | None = None) -> Poll:
    """End a poll that cannot be tallied — its matter was decided at another meeting (or no
    longer awaits the vote), or another poll on the matter opened before it is still open —
    without a count: its ballots are not counted (secret ones are never appended) and
    ``poll.void`` records why. Refused for a poll that can be tallied
    (domain.assembly.poll_void_refusal),
    so that no meeting is held open by a poll that can never close."""
    now = now or utcnow()
    poll, meeting, village = _poll(poll_id)
    role = _runner_role(actor_id, village, now)
    voided = poll_transition(PollState(poll.state), PollAction.VOID)
    matter = poll.matter
    refusal = poll_void_refusal(matter.number, matter.state == MatterState.FILED.value,
                                opened_before(poll))
    if refusal is not None:
        raise refusal
    text = clean_text(reason, N_("作废理由"), max_length=500) or ""
    poll.state = voided.value
    poll.closed_at = now
    poll.void_reason = text
    ledger.append(village, "poll.void", {
        "meeting": meeting.number, "poll": poll.number, "matter": matter.number,
        "reason": text, **_actor_fields(_actor(actor_id), role.value, now)})
    db.session.flush()
    return poll


@use_case
def close_meeting(actor_id: int, meeting_id: int, now: dt.datetime | None = None) -> Meeting:
    """Close the meeting (no poll may be open)."""
    now = now or utcnow()
    meeting, village = _meeting(meeting_id)
    role = _runner_role(actor_id, village, now)
    closed = _meeting_may(meeting, MeetingAction.CLOSE)
    if any(PollState(p.state).unfinished for p in meeting.polls):
        raise Conflict("assembly.poll_state", N_("请先结束正在进行的表决"))
    meeting.state = closed.value
    meeting.closed_at = now
    ledger.append(village, "meeting.close", {
        "meeting": meeting.number, **_actor_fields(_actor(actor_id), role.value, now)})
    db.session.flush()
    return meeting
