"""The reads of the matter pages: the places a person works in, the dashboard's counts and
meetings, a matter's timeline and its reproposals, and an attachment of the village's matters.
Views call these and render; the use cases that write are in services/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from sunvote.domain.assembly import MeetingState
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import (
    Attachment,
    Blob,
    Matter,
    Meeting,
    RoleAssignment,
    StepRecord,
    Suggestion,
    Township,
    Village,
)


@dataclass(frozen=True)
class Places:
    """Where a person works: villages (each with its township loaded), townships, and whether
    they administer the district (then every village is listed)."""

    villages: list[Village]
    townships: list[Township]
    district: bool


def places(assignments: list[RoleAssignment]) -> Places:
    """The villages and townships the person's role assignments (in force) name."""
    village_ids = {a.village_id for a in assignments if a.village_id}
    township_ids = {a.township_id for a in assignments if a.township_id}
    district = any(a.role == Role.DISTRICT_ADMIN.value for a in assignments)
    # each village is listed with its township's name, loaded with it (issue 16)
    query = (select(Village).options(joinedload(Village.township))
             .order_by(Village.township_id, Village.code))
    if not district:
        query = query.where(Village.id.in_(village_ids) | Village.township_id.in_(township_ids))
    villages = list(db.session.execute(query).scalars())
    townships = list(db.session.execute(
        select(Township).where(Township.id.in_(township_ids)).order_by(Township.code)).scalars())
    return Places(villages, townships, district)


def village_ids(village: Village) -> Select[Any]:
    """The matter filter's villages for one village's dashboard: that village."""
    return select(Village.id).where(Village.id == village.id)


def pending_suggestions(village: Village) -> int:
    """How many of the village's suggestions no matter has taken up yet."""
    return db.session.execute(
        select(func.count()).select_from(Suggestion).where(
            Suggestion.village_id == village.id,
            Suggestion.matter_id.is_(None))
    ).scalar_one()


def meetings_not_closed(village: Village) -> list[Meeting]:
    """The village's meetings that have not closed, soonest first."""
    return list(db.session.execute(
        select(Meeting).where(Meeting.village_id == village.id,
                              Meeting.state != MeetingState.CLOSED)
        .order_by(Meeting.starts_at)).scalars())


def timeline(matter: Matter) -> list[StepRecord]:
    """The matter's step records in order, with their attachments and actors."""
    return list(db.session.execute(
        select(StepRecord).where(StepRecord.matter_id == matter.id)
        .options(selectinload(StepRecord.attachments), selectinload(StepRecord.actor))
        .order_by(StepRecord.seq)).scalars())


def origin(matter: Matter) -> Matter | None:
    """The rejected matter this one reproposes, if any."""
    return db.session.get(Matter, matter.origin_matter_id) if matter.origin_matter_id else None


def followers(matter: Matter) -> list[Matter]:
    """The matters that repropose this one."""
    return list(db.session.execute(
        select(Matter).where(Matter.origin_matter_id == matter.id)).scalars())


def attachment(village: Village, sha256: str) -> tuple[Attachment, Blob] | None:
    """An attachment of one of the village's matters with its bytes, by SHA-256."""
    found = db.session.execute(
        select(Attachment).join(StepRecord).join(Matter)
        .where(Attachment.sha256 == sha256, Matter.village_id == village.id).limit(1)
    ).scalar_one_or_none()
    if found is None:
        return None
    blob = db.session.get(Blob, sha256)
    assert blob is not None
    return found, blob
