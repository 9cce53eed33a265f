"""The representative assembly's meetings (step 5): convene with notice, members' requests, open
with the roster frozen, check in, leave and close. Its polls are in services/polls.py and its
ballots in services/ballots.py; the helpers they share live here (the locked meeting, the runner's
role, the actor's ledger fields).

Each function is one use case: one transaction, its ledger records inside it (record bodies are
specified in docs/ledger-format.md; the offline verifier re-checks every rule).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from sunvote.domain.assembly import (
    ATTEND_CHANNELS,
    MEETING_RUNNERS,
    AttendProof,
    Channel,
    MeetingAction,
    MeetingState,
    all_present_except,
    attendance_proof_refusal,
    check_notice,
    checkin_many_refusal,
    leave_refusal,
    meeting_transition,
    requests_force_a_meeting,
)
from sunvote.domain.cloud import check_presence_code
from sunvote.domain.errors import N_, Conflict, InvalidField, NotFound, NotPermitted
from sunvote.domain.procedure import MatterState
from sunvote.domain.roles import ASSEMBLY_ROLES, Role
from sunvote.domain.text import clean_text, whole_number
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Matter,
    Meeting,
    MeetingItem,
    MeetingMember,
    MeetingRequest,
    Person,
    RoleAssignment,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services.access import local_date, roles_in_village, term_in_force
from sunvote.services.notices import issue_meeting_notice
from sunvote.services.recording import end_recording
from sunvote.services.settings import township_settings
from sunvote.services.unit_of_work import lock_village, use_case

#: The role a member acts in when checking in, recusing or voting for themself (ledger "role").
MEMBER = "member"


def load_person(person_id: int) -> Person:
    """The person ``person_id``, or NotFound."""
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound("input.invalid", N_("没有这个人员"))
    return person


def runner_role(actor_id: int, village: Village, now: dt.datetime) -> Role:
    """The role in which ``actor_id`` runs the meeting (committee director, member or clerk)."""
    roles = roles_in_village(actor_id, village, now) & MEETING_RUNNERS
    if not roles:
        raise NotPermitted("procedure.role",
                           N_("只有村民委员会成员或村务工作者可以召集和主持村民代表会议"))
    for preferred in (Role.COMMITTEE_DIRECTOR, Role.COMMITTEE_MEMBER, Role.CLERK):
        if preferred in roles:
            return preferred
    raise AssertionError(roles)  # pragma: no cover


def lock_meeting(meeting_id: int) -> tuple[Meeting, Village]:
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


def actor_fields(actor: Person, role: str, now: dt.datetime) -> dict[str, object]:
    """The actor's fields of an assembly ledger record (person, name, role, at)."""
    return {"person": actor.id, "name": actor.name, "role": role, "at": ledger.iso(now)}


def meeting_may(meeting: Meeting, action: MeetingAction) -> MeetingState:
    """The meeting's state after ``action`` by domain.assembly.MEETING_TRANSITIONS, or its
    refusal."""
    return meeting_transition(meeting.state, action)


# --- Convening and requests ---------------------------------------------------------------------


@use_case
def convene(actor_id: int, village_id: int, title: str, place: str, starts_at: dt.datetime,
            matter_ids: Sequence[int], now: dt.datetime | None = None) -> Meeting:
    """Convene a meeting for matters whose review is filed, notifying members at least the
    township's notice days before (refused if too late, naming the earliest date)."""
    now = now or utcnow()
    village = lock_village(village_id)
    role = runner_role(actor_id, village, now)
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
                      state=MeetingState.CONVENED, checkin_code=secrets.token_urlsafe(12),
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
        **actor_fields(load_person(actor_id), role.value, now)})
    db.session.flush()
    issue_meeting_notice(meeting, village, [m.number for m in matters],
                         assembly_roster(village, now), now)
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
        "reason": text, **actor_fields(load_person(actor_id), Role.REPRESENTATIVE.value, now)})
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
    meeting, village = lock_meeting(meeting_id)
    role = runner_role(actor_id, village, now)
    opened = meeting_may(meeting, MeetingAction.OPEN)
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
        members.append({"person": person_id, "name": load_person(person_id).name, "roles": roles})
    meeting.state = opened
    if meeting.presence_secret is None:  # convened before cloud voting existed
        meeting.presence_secret = secrets.token_hex(32)
    meeting.opened_at = now
    ledger.append(village, "meeting.open", {
        "meeting": meeting.number, "members": members,
        **actor_fields(load_person(actor_id), role.value, now)})
    db.session.flush()
    return meeting


def is_member(meeting: Meeting, person_id: int) -> bool:
    """Whether ``person_id`` is on the meeting's frozen roster."""
    return db.session.execute(select(MeetingMember.id).where(
        MeetingMember.meeting_id == meeting.id,
        MeetingMember.person_id == person_id)).first() is not None


def acting_role(actor_id: int, member_id: int, village: Village, now: dt.datetime) -> str:
    """A member acting for themself acts as "member"; anyone else must run the meeting."""
    if actor_id == member_id:
        return MEMBER
    return runner_role(actor_id, village, now).value


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
    meeting, village = lock_meeting(meeting_id)
    meeting_may(meeting, MeetingAction.CHECK_IN)
    role = acting_role(actor_id, member_id, village, now)
    if not is_member(meeting, member_id):
        raise NotPermitted("assembly.not_member", N_("只有本次会议的组成人员可以签到"))
    if channel.value not in ATTEND_CHANNELS:
        raise InvalidField("input.invalid", N_("签到方式只能是会场或云端"))
    check_cloud_channel(channel, device, actor_id, member_id)
    by_member = actor_id == member_id
    if channel == Channel.CLOUD:
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
    if attendance is not None and attendance.channel == channel:
        raise Conflict("assembly.attendance", N_("%(name)s已经签到"),
                       name=load_person(member_id).name)
    if attendance is None:
        attendance = Attendance(meeting_id=meeting.id, person_id=member_id,
                                channel=channel, checked_in_at=now,
                                recorded_by_id=actor_id)
        db.session.add(attendance)
    else:
        attendance.channel = channel
        attendance.checked_in_at = now
        attendance.recorded_by_id = actor_id
    member = load_person(member_id)
    ledger.append(village, "meeting.attend", {
        "meeting": meeting.number, "member": member.id, "member_name": member.name,
        "channel": channel.value, **actor_fields(load_person(actor_id), role, now),
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
    role = runner_role(actor_id, village, now).value
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
    meeting, village = lock_meeting(meeting_id)
    runner_role(actor_id, village, now)
    meeting_may(meeting, MeetingAction.CHECK_IN)
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
    meeting, village = lock_meeting(meeting_id)
    runner_role(actor_id, village, now)
    meeting_may(meeting, MeetingAction.CHECK_IN)
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
    meeting, village = lock_meeting(meeting_id)
    role = acting_role(actor_id, member_id, village, now)
    attendance = db.session.execute(select(Attendance).where(
        Attendance.meeting_id == meeting.id, Attendance.person_id == member_id)
    ).scalar_one_or_none()
    refusal = leave_refusal(meeting.state == MeetingState.OPEN,
                            is_member(meeting, member_id), attendance is not None)
    if refusal is not None:
        raise refusal
    assert attendance is not None
    member = load_person(member_id)
    db.session.delete(attendance)
    ledger.append(village, "meeting.leave", {
        "meeting": meeting.number, "member": member.id, "member_name": member.name,
        **actor_fields(load_person(actor_id), role, now)})
    db.session.flush()


def check_cloud_channel(channel: Channel, device: Mapping[str, str] | None, actor_id: int,
                 member_id: int) -> None:
    """Cloud check-ins and ballots come from the member's own enrolled phone, signed by it;
    nothing else carries a device signature."""
    if channel == Channel.CLOUD:
        if actor_id != member_id or device is None:
            raise NotPermitted("cloud.signature",
                               N_("云端签到和投票只能由本人在登记的手机上完成"))
    elif device is not None:
        raise InvalidField("input.invalid", N_("只有云端签到和投票带手机签名"))


def present_count(meeting: Meeting) -> int:
    """Members present now (any channel)."""
    return int(db.session.execute(select(func.count()).select_from(Attendance).where(
        Attendance.meeting_id == meeting.id)).scalar_one())


# --- Closing ------------------------------------------------------------------------------------


@use_case
def close_meeting(actor_id: int, meeting_id: int, now: dt.datetime | None = None) -> Meeting:
    """Close the meeting (no poll may be open)."""
    now = now or utcnow()
    meeting, village = lock_meeting(meeting_id)
    role = runner_role(actor_id, village, now)
    closed = meeting_may(meeting, MeetingAction.CLOSE)
    if any(p.state.unfinished for p in meeting.polls):
        raise Conflict("assembly.poll_state", N_("请先结束正在进行的表决"))
    meeting.state = closed
    meeting.closed_at = now
    ledger.append(village, "meeting.close", {
        "meeting": meeting.number, **actor_fields(load_person(actor_id), role.value, now)})
    end_recording(meeting, village, now)  # the hall's recording ends with it (issue 19)
    db.session.flush()
    return meeting
