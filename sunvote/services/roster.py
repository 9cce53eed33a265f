"""The village roster: appointing people to roles (with the art. 32 bar), and roster warnings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from sunvote.domain.errors import N_, Conflict, InvalidField
from sunvote.domain.roles import ASSEMBLY_ROLES, COMMITTEE_ROLES, SUPERVISOR_ROLES, Role, Scope
from sunvote.domain.roster import (
    RosterMember,
    RosterWarning,
    check_committee_appointment,
    check_supervisor_appointment,
    roster_warnings,
)
from sunvote.extensions import db
from sunvote.models import Kinship, Person, RoleAssignment, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services.access import local_date, term_in_force
from sunvote.services.notices import issue_added_notice, waiting_meetings
from sunvote.services.unit_of_work import use_case
from sunvote.services.villages import appointment_body, villages_reached


def _holders(village_id: int, roles: frozenset[Role], day: dt.date) -> set[int]:
    return set(db.session.execute(
        select(RoleAssignment.person_id).where(
            RoleAssignment.village_id == village_id,
            RoleAssignment.role.in_([r.value for r in roles]),
            term_in_force(day))
    ).scalars())


def _kin_pairs(village_id: int) -> list[tuple[int, int]]:
    rows = db.session.execute(
        select(Kinship.person_id, Kinship.relative_id).join(
            Person, Person.id == Kinship.person_id).where(Person.village_id == village_id)
    ).all()
    return [(a, b) for a, b in rows]


@use_case
def appoint(person_id: int, role: Role, starts_on: dt.date, ends_on: dt.date | None = None, *,
            village_id: int | None = None, township_id: int | None = None,
            households_represented: int | None = None, group_name: str | None = None,
            now: dt.datetime | None = None, notify: bool = True) -> RoleAssignment:
    """Give ``person_id`` ``role`` for a term. Refuses: a person from another village, a term
    overlapping one they already hold in that role, and the supervisory-committee bar. A new
    member of the assembly is sent the notice of each meeting already convened
    (:func:`notify_new_members`); ``notify=False`` leaves that to the caller, who appoints
    many at once."""
    person = db.session.get(Person, person_id)
    if person is None:
        raise InvalidField("input.invalid", N_("没有这个人员"))
    if role.scope is Scope.VILLAGE:
        if village_id is None or person.village_id != village_id:
            raise InvalidField("access.village", N_("只能任命本村村民担任村级职务"))
        township_id = None
    elif role.scope is Scope.TOWNSHIP:
        if township_id is None:
            raise InvalidField("input.invalid", N_("乡镇职务须指定乡镇"))
        village_id = None
    else:
        village_id = township_id = None
    if ends_on is not None and ends_on < starts_on:
        raise InvalidField("input.invalid", N_("任期结束日期不能早于开始日期"))
    overlapping = db.session.execute(
        select(RoleAssignment.id).where(
            RoleAssignment.person_id == person_id, RoleAssignment.role == role.value,
            RoleAssignment.village_id.is_(None) if village_id is None
            else RoleAssignment.village_id == village_id,
            or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= starts_on),
            *([RoleAssignment.starts_on <= ends_on] if ends_on is not None else []))
    ).first()
    if overlapping is not None:
        raise Conflict("input.invalid", N_("此人在该职务上已有重叠的任期"))
    if village_id is not None:
        kin = _kin_pairs(village_id)
        if role in SUPERVISOR_ROLES:
            check_supervisor_appointment(person_id, _holders(village_id, COMMITTEE_ROLES,
                                                             starts_on), kin)
        if role in COMMITTEE_ROLES:
            check_committee_appointment(person_id, _holders(village_id, SUPERVISOR_ROLES,
                                                            starts_on), kin)
    assignment = RoleAssignment(person_id=person_id, role=role.value, village_id=village_id,
                                township_id=township_id, starts_on=starts_on, ends_on=ends_on,
                                households_represented=households_represented,
                                group_name=group_name)
    db.session.add(assignment)
    db.session.flush()
    now = now or utcnow()
    for village in villages_reached(assignment):
        ledger.append(village, "role.appoint", appointment_body(assignment, person, now))
        if notify and role in ASSEMBLY_ROLES:
            notify_new_members(village, now)
    return assignment


def notify_new_members(village: Village, now: dt.datetime) -> None:
    """Send each meeting convened and not yet opened to the members of the assembly on its
    day whom its notice has not reached (services.notices.issue_added_notice)."""
    for meeting in waiting_meetings(village):
        issue_added_notice(meeting, village, assembly_roster(village, meeting.starts_at), now)


def assembly_roster(village: Village, now: dt.datetime) -> dict[int, list[str]]:
    """Everyone holding an assembly role on ``now``'s day (committee and representatives), with
    those roles sorted: the roster a meeting freezes when it opens."""
    day = local_date(now)
    roster: dict[int, set[str]] = {}
    for person_id, role in db.session.execute(select(
            RoleAssignment.person_id, RoleAssignment.role).where(
            RoleAssignment.village_id == village.id,
            RoleAssignment.role.in_([r.value for r in ASSEMBLY_ROLES]),
            term_in_force(day))).all():
        roster.setdefault(person_id, set()).add(role)
    return {pid: sorted(roles) for pid, roles in sorted(roster.items())}


def village_roster(village: Village, now: dt.datetime) -> list[RosterMember]:
    """Everyone holding a village role today, with those roles."""
    day = local_date(now)
    rows = db.session.execute(
        select(Person, RoleAssignment).join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .where(RoleAssignment.village_id == village.id, term_in_force(day))
        .order_by(Person.id)
    ).all()
    people: dict[int, tuple[Person, set[Role], int | None]] = {}
    for person, assignment in rows:
        _, roles, households = people.setdefault(person.id, (person, set(), None))
        roles.add(Role(assignment.role))
        if assignment.households_represented is not None:
            households = assignment.households_represented
        people[person.id] = (person, roles, households)
    return [RosterMember(p.id, p.name, frozenset(r), p.female, h, p.accounting_skill)
            for p, r, h in people.values()]


def village_roster_warnings(village: Village, now: dt.datetime) -> list[RosterWarning]:
    """The roster warnings (组织法 arts. 25, 32) for a village today."""
    return roster_warnings(village_roster(village, now))
