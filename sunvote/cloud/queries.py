"""The reads of the cloud voting pages: the village's phones in use, a device or an enrolment's
village, a meeting's materials for the phone, a ballot with its poll and meeting. The use cases
(enrol, join, vote) and the phone's view are in services/cloud.py."""

from __future__ import annotations

from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import (
    Attachment,
    Ballot,
    Blob,
    Device,
    Meeting,
    MeetingItem,
    Person,
    Poll,
    StepRecord,
    Village,
)


def phones_in_use(village: Village) -> dict[int, Device]:
    """The village's enrolled phones neither replaced nor revoked, by person id."""
    return {d.person_id: d for d in db.session.execute(select(Device).where(
        Device.village_id == village.id, Device.replaced_at.is_(None),
        Device.revoked_at.is_(None))).scalars()}


def people(person_ids: list[int]) -> dict[int, Person]:
    """These people, by id."""
    return {p.id: p for p in db.session.execute(select(Person).where(
        Person.id.in_(person_ids))).scalars()}


def device(village: Village, device_id: int) -> Device | None:
    """The village's device ``device_id``, or None."""
    row = db.session.get(Device, device_id)
    return row if row is not None and row.village_id == village.id else None


def village(village_id: int) -> Village | None:
    return db.session.get(Village, village_id)


def materials(matter_id: int) -> list[Attachment]:
    """The files of every step of the matter, in upload order."""
    return list(db.session.execute(select(Attachment).join(StepRecord).where(
        StepRecord.matter_id == matter_id).order_by(Attachment.id)).scalars())


def agenda_material(meeting: Meeting, attachment_id: int) -> tuple[Attachment, bytes] | None:
    """A file of a matter on the meeting's agenda, with its bytes; None for any other."""
    row = db.session.get(Attachment, attachment_id)
    if row is None:
        return None
    on_agenda = db.session.execute(select(MeetingItem.id).where(
        MeetingItem.meeting_id == meeting.id,
        MeetingItem.matter_id == row.step_record.matter_id)).first()
    if on_agenda is None:
        return None
    blob = db.session.get(Blob, row.sha256)
    assert blob is not None
    return row, blob.data


def ballot(code: str) -> tuple[Ballot, Poll, Meeting] | None:
    """The ballot with this receipt code, its poll and its meeting; None if there is none."""
    row = db.session.execute(select(Ballot).where(Ballot.code == code)).scalar_one_or_none()
    if row is None:
        return None
    poll = db.session.get(Poll, row.poll_id)
    assert poll is not None
    meeting = db.session.get(Meeting, poll.meeting_id)
    assert meeting is not None
    return row, poll, meeting
