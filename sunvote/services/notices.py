"""The outbox (issue 18): events write their notices here, inside their own transaction; the
sender (services/notice_sender.py) delivers them afterwards, so a failed delivery never undoes
the event. Also what the pages show: a person's inbox, and who a meeting's notice reached.

Which channels a person gets, the legal notice's text and digests, and when someone counts as
reached are decided in domain/notices.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, cast

from flask import current_app
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import joinedload

from sunvote.domain.assembly import MEETING_RUNNERS, MeetingState
from sunvote.domain.errors import N_, InvalidField, NotFound, NotPermitted
from sunvote.domain.notices import (
    NoticeChannel,
    NoticeEvent,
    NoticeState,
    letter_receipt_refusal,
    meeting_notice_deadline,
    meeting_notice_text,
    not_reached_warning,
    not_yet_notified,
    personal_channels,
    reached_at,
    recipients_digest,
    resend_refusal,
    slip_photo_refusal,
    sms_number_refusal,
    text_digest,
)
from sunvote.domain.register_import import normalise_phone
from sunvote.domain.settings import TownshipSettings
from sunvote.extensions import db
from sunvote.models import Account, Matter, Meeting, MeetingItem, Notice, Person, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services.access import local_date, roles_in_village
from sunvote.services.files import Upload, check_upload, store_upload
from sunvote.services.settings import township_settings
from sunvote.services.unit_of_work import lock_village, use_case


def meeting_path(village_code: str, number: int) -> str:
    """The meeting's page (the room) as a path of this site."""
    return f"/v/{village_code}/meetings/{number}"


def robot_channels(village_code: str) -> list[NoticeChannel]:
    """The group robots configured for a village (SUNVOTE_NOTICE_ROBOTS)."""
    robots = current_app.config.get("NOTICE_ROBOTS") or {}
    return [NoticeChannel(name) for name in sorted(robots.get(village_code, {}))]


class Addressee(Protocol):
    """Whom a notice goes to: a Person, or a row of its id, phone and e-mail."""

    @property
    def id(self) -> int: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...


class WrittenNotice(NamedTuple):
    """A notice just written to the outbox: its idempotency key, person (None: a group robot
    or an address), channel and address (phone, e-mail, or the village for a group robot)."""

    key: str
    person_id: int | None
    channel: NoticeChannel
    address: str | None


#: Rows per INSERT statement. psycopg caches a statement's parse only below 4 KB of SQL; a
#: larger one (one per convening, 50 rows of 15 columns) is parsed again every time, which cost
#: more than the rows themselves.
PAGE = 1000


def write_notices(event: NoticeEvent, people: Sequence[Addressee], text: str, link: str, *,
                  key: str, now: dt.datetime, village: Village | None = None,
                  township_id: int | None = None, meeting_id: int | None = None,
                  legal: bool = False, group: bool = False,
                  settings: TownshipSettings | None = None) -> list[WrittenNotice]:
    """Write the notices of one event, in the caller's transaction: for each person, one per
    channel of domain.notices.personal_channels (the township's settings decide SMS and
    e-mail), and with ``group`` one per group robot of the village when the township posts to
    them. ``key`` names the event once ("meeting:12"); each notice's idempotency key adds the
    person and channel, so the same event cannot be written twice. Inbox notices are delivered
    as they are written. ``settings``: the township's, if the caller has read them already.

    The rows go in as one Core executemany of plain rows, not ORM objects and not one
    multi-row INSERT … RETURNING: a convening writes one per member and channel, and flushing
    objects doubled its time; psycopg parses a multi-row statement of that size anew each time
    (docs/performance.md, "Notices")."""
    township_id = village.township_id if village is not None else township_id
    assert township_id is not None
    settings = settings if settings is not None else township_settings(township_id)
    ids = [p.id for p in people]
    with_login = set(db.session.execute(select(Account.person_id).where(
        Account.person_id.in_(ids), Account.disabled.is_(False))).scalars()) if ids else set()
    written: list[WrittenNotice] = []
    for person in people:
        for channel in personal_channels(
                has_account=person.id in with_login, phone=person.phone, email=person.email,
                sms_on=settings["notice_sms"] is True, email_on=settings["notice_email"] is True,
                legal=legal):
            address = {NoticeChannel.SMS: person.phone,
                       NoticeChannel.EMAIL: person.email}.get(channel)
            written.append(WrittenNotice(f"{key}:p{person.id}:{channel.value}", person.id,
                                         channel, address))
    if group and village is not None and settings["notice_group_robot"] is True:
        for channel in robot_channels(village.code):
            written.append(WrittenNotice(f"{key}:group:{channel.value}", None, channel,
                                         village.code))
    if written:
        rows = [_notice_row(event, w.channel, w.key, text, link, now, village, township_id,
                            meeting_id, w.person_id, w.address) for w in written]
        db.session.execute(insert(cast(Table, Notice.__table__)), rows)
    return written


def _notice_row(event: NoticeEvent, channel: NoticeChannel, key: str, text: str, link: str,
                now: dt.datetime, village: Village | None, township_id: int,
                meeting_id: int | None, person_id: int | None,
                address: str | None) -> dict[str, object]:
    inbox = channel is NoticeChannel.INBOX
    return {"key": key, "event": event, "channel": channel,
            "state": NoticeState.SENT if inbox else NoticeState.QUEUED,
            "village_id": village.id if village is not None else None,
            "township_id": township_id, "meeting_id": meeting_id, "person_id": person_id,
            "address": address, "text": text, "link": link, "created_at": now, "attempts": 0,
            "next_attempt_at": now if channel is not NoticeChannel.LETTER and not inbox
            else None,
            "sent_at": now if inbox else None}


def issue_meeting_notice(meeting: Meeting, village: Village, agenda: Sequence[str],
                         members: Iterable[int], now: dt.datetime,
                         settings: TownshipSettings | None = None) -> list[WrittenNotice]:
    """The legal notice of a just-convened meeting, in its transaction: to every assembly
    member (``members``), on their channels and the village group's, and the ledger's
    ``meeting.notice`` record of when it was issued, to how many, and the digests of its text and
    recipient list (docs/ledger-format.md)."""
    ids = sorted(set(members))
    people = list(db.session.execute(select(Person.id, Person.phone, Person.email)
                                      .where(Person.id.in_(ids)).order_by(Person.id))) \
        if ids else []
    text = meeting_notice_text(village.name, meeting.number, meeting.title, meeting.place,
                               meeting.starts_at, agenda)
    notices = write_notices(NoticeEvent.MEETING_CONVENED, people, text,
                            meeting_path(village.code, meeting.number),
                            key=f"meeting:{meeting.id}", now=now, village=village,
                            meeting_id=meeting.id, legal=True, group=True,
                            settings=settings)
    ledger.append(village, "meeting.notice", {
        "meeting": meeting.number, "village": village.name, "recipients": len(ids),
        "recipients_sha256": recipients_digest(ids), "text_sha256": text_digest(text),
        "at": ledger.iso(now)})
    return notices


def waiting_meetings(village: Village) -> list[Meeting]:
    """The village's meetings convened and not yet opened: those whose notice a new member of
    the assembly must still get."""
    return list(db.session.execute(select(Meeting).where(
        Meeting.village_id == village.id, Meeting.state == MeetingState.CONVENED)
        .order_by(Meeting.number)).scalars())


def issue_added_notice(meeting: Meeting, village: Village, members: Iterable[int],
                       now: dt.datetime) -> list[WrittenNotice]:
    """The meeting's notice, in the caller's transaction, to those of ``members`` (the assembly
    on the meeting day, or the roster as it opens) it has not reached: members who joined the
    assembly after it was issued (domain.notices.not_yet_notified). The same text on their
    channels, and the ledger's ``meeting.notice_added`` naming them. Nothing when everyone was
    told."""
    notified = db.session.execute(select(Notice.person_id).distinct().where(
        Notice.meeting_id == meeting.id, Notice.event == NoticeEvent.MEETING_CONVENED,
        Notice.person_id.is_not(None))).scalars()
    missing = not_yet_notified(members, (p for p in notified if p is not None))
    if not missing:
        return []
    agenda = list(db.session.execute(select(Matter.number).join(
        MeetingItem, MeetingItem.matter_id == Matter.id).where(
        MeetingItem.meeting_id == meeting.id).order_by(MeetingItem.position)).scalars())
    text = meeting_notice_text(village.name, meeting.number, meeting.title, meeting.place,
                               meeting.starts_at, agenda)
    people = list(db.session.execute(select(Person.id, Person.phone, Person.email)
                                      .where(Person.id.in_(missing)).order_by(Person.id)))
    written = write_notices(NoticeEvent.MEETING_CONVENED, people, text,
                            meeting_path(village.code, meeting.number),
                            key=f"meeting:{meeting.id}", now=now, village=village,
                            meeting_id=meeting.id, legal=True)
    ledger.append(village, "meeting.notice_added", {
        "meeting": meeting.number, "village": village.name, "members": missing,
        "text_sha256": text_digest(text), "at": ledger.iso(now)})
    return written


# --- What the pages show --------------------------------------------------------------------------


def inbox(person_id: int, limit: int = 50) -> list[Notice]:
    """A person's inbox notices, newest first."""
    return list(db.session.execute(select(Notice).where(
        Notice.person_id == person_id, Notice.channel == NoticeChannel.INBOX)
        .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)).scalars())


def unread_count(person_id: int) -> int:
    """How many of a person's inbox notices are not read yet."""
    return db.session.execute(select(func.count(Notice.id)).where(
        Notice.person_id == person_id, Notice.channel == NoticeChannel.INBOX,
        Notice.read_at.is_(None))).scalar_one()


@dataclass
class MemberReach:
    """How a meeting's notice went to one member: their notices (one per channel), when the
    first reached them, and whether that was in time."""

    person: Person
    notices: list[Notice] = field(default_factory=list)
    reached: dt.datetime | None = None
    in_time: bool = False


@dataclass
class MeetingReach:
    """Who a meeting's notice reached: per member, and the last day on which reaching them is
    in time (domain.notices.meeting_notice_deadline)."""

    members: list[MemberReach]
    deadline: dt.date
    group: list[Notice]

    @property
    def not_reached(self) -> list[MemberReach]:
        """Members no notice has reached yet."""
        return [m for m in self.members if m.reached is None]

    @property
    def late(self) -> list[MemberReach]:
        """Members not reached by the deadline (reached later, or not at all)."""
        return [m for m in self.members if not m.in_time]


def meeting_reach(meeting: Meeting) -> MeetingReach:
    """Who the meeting's notice reached, by when, and on which channels."""
    rows = list(db.session.execute(select(Notice).where(
        Notice.meeting_id == meeting.id, Notice.event == NoticeEvent.MEETING_CONVENED)
        .order_by(Notice.person_id, Notice.id)).scalars())
    deadline = meeting_notice_deadline(local_date(meeting.starts_at), meeting.notice_days)
    people = {p.id: p for p in db.session.execute(select(Person).where(
        Person.id.in_({n.person_id for n in rows if n.person_id is not None}))).scalars()}
    by_person: dict[int, MemberReach] = {}
    group: list[Notice] = []
    for notice in rows:
        if notice.person_id is None:
            group.append(notice)
            continue
        member = by_person.setdefault(notice.person_id,
                                      MemberReach(people[notice.person_id]))
        member.notices.append(notice)
        at = reached_at(notice.channel, notice.state, notice.sent_at, notice.read_at)
        if at is not None and (member.reached is None or at < member.reached):
            member.reached = at
    for member in by_person.values():
        member.in_time = member.reached is not None and local_date(member.reached) <= deadline
    return MeetingReach(sorted(by_person.values(), key=lambda m: m.person.id), deadline, group)


# --- Notices to an address ------------------------------------------------------------------------


def sms_address(contact: str | None) -> str | None:
    """The mobile number in a contact a villager left (spaces, hyphens and +86 removed) if an
    SMS can reach it (domain.notices.sms_number_refusal), else None."""
    if not contact:
        return None
    try:
        number = normalise_phone(contact)
    except InvalidField:
        return None
    return number if sms_number_refusal(number) is None else None


def write_address_notice(event: NoticeEvent, contact: str | None, text: str, link: str, *,
                         key: str, now: dt.datetime, village: Village) -> list[WrittenNotice]:
    """An SMS to a bare phone number that belongs to no Person (a villager who left it with a
    suggestion), in the caller's transaction: written when the township sends SMS and the
    number can take one, else nothing. ``key`` names the event once, as for write_notices."""
    number = sms_address(contact)
    if number is None or township_settings(village.township_id)["notice_sms"] is not True:
        return []
    row = _notice_row(event, NoticeChannel.SMS, f"{key}:sms", text, link, now, village,
                      village.township_id, None, None, number)
    db.session.execute(insert(Notice).values(row))
    return [WrittenNotice(f"{key}:sms", None, NoticeChannel.SMS, number)]


# --- Clerk and reader actions ---------------------------------------------------------------------
# The inbox's read receipt, "send again" for an SMS or e-mail that failed, and the signed slip
# of a letter (sunvote/notices/, the meeting page). Which notice may be sent again or have its
# slip recorded, and what a slip's photo may be: domain/notices.py.



def _own_notice(notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("notice.unknown", N_("没有这条通知"))
    return notice


def _meeting_runner(actor_id: int, notice: Notice, now: dt.datetime) -> Village:
    """The notice's village, locked, if ``actor_id`` runs meetings there
    (domain.assembly.MEETING_RUNNERS, as services.assembly.runner_role asks); else the
    ``procedure.role`` refusal."""
    if notice.village_id is None or notice.meeting_id is None:
        raise NotFound("notice.unknown", N_("没有这条通知"))
    village = lock_village(notice.village_id)
    if not roles_in_village(actor_id, village, now) & MEETING_RUNNERS:
        raise NotPermitted("procedure.role",
                           N_("只有村民委员会成员或村务工作者可以处理会议通知"))
    db.session.refresh(notice)  # as the last writer left it, now that the village is locked
    return village


@use_case
def mark_read(person_id: int, notice_id: int, now: dt.datetime | None = None) -> Notice:
    """The person opens one of their inbox notices: its read receipt (``read_at``, the first
    time only). Another person's notice, or one not in an inbox, is ``notice.unknown`` (404):
    nobody learns whether it exists."""
    now = now or utcnow()
    notice = _own_notice(notice_id)
    if notice.person_id != person_id or notice.channel is not NoticeChannel.INBOX:
        raise NotFound("notice.unknown", N_("没有这条通知"))
    if notice.read_at is None:
        notice.read_at = now
    return notice


@use_case
def requeue_notice(actor_id: int, notice_id: int, now: dt.datetime | None = None) -> Notice:
    """Send a failed SMS or e-mail of a meeting again, or one whose outcome is unknown
    (domain.notices.resend_refusal): queued again, due now. Only someone who runs meetings in
    its village."""
    now = now or utcnow()
    notice = _own_notice(notice_id)
    _meeting_runner(actor_id, notice, now)
    refusal = resend_refusal(notice.channel, notice.state)
    if refusal is not None:
        raise refusal
    notice.state = NoticeState.QUEUED
    notice.next_attempt_at = now
    notice.claimed_until = None
    return notice


@use_case
def record_letter_receipt(actor_id: int, notice_id: int, photo: bytes, filename: str,
                          now: dt.datetime | None = None) -> Notice:
    """The slip of a letter notice, signed and dated by the member, photographed: the photo is
    kept as a blob and the letter counts as delivered now (domain.notices.reached_at), recorded
    by ``actor_id``, who runs meetings in the village."""
    now = now or utcnow()
    notice = _own_notice(notice_id)
    _meeting_runner(actor_id, notice, now)
    refusal = letter_receipt_refusal(notice.channel, notice.evidence_sha256 is not None)
    if refusal is not None:
        raise refusal
    if not photo or not filename.strip():
        raise InvalidField("notice.slip_photo", N_("请上传签字回执的照片"))
    upload = Upload(filename, photo)
    _name, content_type = check_upload(upload)
    bad_photo = slip_photo_refusal(content_type, len(photo))
    if bad_photo is not None:
        raise bad_photo
    _name, _type, digest = store_upload(upload)
    notice.state = NoticeState.SENT
    notice.sent_at = now
    notice.evidence_sha256 = digest
    notice.recorded_by_id = actor_id
    return notice


def meeting_notice(meeting: Meeting, notice_id: int) -> Notice | None:
    """One of the meeting's notices (to a member or its group), or None."""
    return db.session.execute(select(Notice).where(
        Notice.id == notice_id, Notice.meeting_id == meeting.id)).scalar_one_or_none()


def letters(meeting: Meeting) -> list[Notice]:
    """The meeting's letter notices with their people, in the order of the roster's ids."""
    return list(db.session.execute(select(Notice).where(
        Notice.meeting_id == meeting.id, Notice.channel == NoticeChannel.LETTER)
        .options(joinedload(Notice.person)).order_by(Notice.person_id, Notice.id)).scalars())


def reach_warning(reach: MeetingReach, now: dt.datetime
                  ) -> tuple[str, str, dict[str, object]] | None:
    """The ``notice.not_reached`` warning of a meeting's reach today, or None."""
    return not_reached_warning([local_date(m.reached) if m.reached else None
                                for m in reach.members], reach.deadline, local_date(now))


def upcoming_warnings(meetings: Iterable[Meeting], now: dt.datetime
                      ) -> list[tuple[Meeting, tuple[str, str, dict[str, object]]]]:
    """Of ``meetings``, those convened and not yet opened whose notice has not reached every
    member (domain.notices.not_reached_warning), each with its warning. A village has one or
    two such meetings at a time: two statements each."""
    out = []
    for meeting in meetings:
        if meeting.state != MeetingState.CONVENED:
            continue
        warning = reach_warning(meeting_reach(meeting), now)
        if warning is not None:
            out.append((meeting, warning))
    return out
