"""The village register kept by the clerk: households, villagers, role terms (appoint, end early)
and the roster and term warnings. Imports from CSV/XLSX are in services/register_import.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sunvote.domain.administration import (
    CLOSE_RELATIONS,
    KEY_VILLAGE_ROLES,
    check_register_keeper,
    check_term_end,
    check_township_admin,
)
from sunvote.domain.errors import N_, Conflict, InvalidField, NotFound
from sunvote.domain.register_import import normalise_id_number, normalise_phone
from sunvote.domain.roles import COMMITTEE_ROLES, SUPERVISOR_ROLES, Role, Scope
from sunvote.domain.roster import RosterWarning, Term, term_warnings
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import Household, Kinship, Person, RoleAssignment, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services.access import local_date, roles_in_village, term_in_force
from sunvote.services.administration import district_roles, roles_in_township
from sunvote.services.roster import appoint, village_roster_warnings
from sunvote.services.unit_of_work import lock_village, use_case
from sunvote.services.villages import villages_reached


@dataclass(frozen=True)
class PersonInput:
    """What the register form says about a villager."""

    name: str
    female: bool
    household_id: int | None = None
    id_number: str | None = None
    phone: str | None = None
    party_member: bool = False
    accounting_skill: bool = False


def keeper_of(actor_id: int, village: Village, now: dt.datetime) -> frozenset[Role]:
    """The actor's roles reaching ``village``; refuses anyone who may not keep its register."""
    roles = roles_in_village(actor_id, village, now)
    check_register_keeper(roles)
    return roles


def _optional(value: str | None, label: str, max_length: int) -> str | None:
    if value is None or not value.strip():
        return None
    return clean_text(value, label, max_length=max_length)


@use_case
def add_household(village_id: int, actor_id: int, number: str, head_name: str,
                  group_name: str | None = None, address: str | None = None,
                  now: dt.datetime | None = None) -> Household:
    """Register a household (户); its number is unique in the village."""
    now = now or utcnow()
    village = lock_village(village_id)
    keeper_of(actor_id, village, now)
    text = clean_text(number, N_("户号"), max_length=30)
    if db.session.execute(select(Household.id).where(
            Household.village_id == village.id, Household.number == text)).first():
        raise Conflict("input.invalid", N_("户号“%(number)s”已登记"), number=text)
    household = Household(village_id=village.id, number=text,
                          head_name=clean_text(head_name, N_("户主姓名"), max_length=60),
                          group_name=_optional(group_name, N_("村民小组"), 60),
                          address=_optional(address, N_("住址"), 200))
    db.session.add(household)
    db.session.flush()
    return household


def _checked(village: Village, data: PersonInput, person_id: int | None,
             now: dt.datetime) -> dict[str, object]:
    """The person's columns from form input, validated; refuses an ID number registered to
    someone else and a household of another village."""
    id_number = (normalise_id_number(data.id_number, today=local_date(now))
                 if data.id_number else None)
    if id_number is not None:
        holder = db.session.execute(
            select(Person.id, Person.village_id).where(Person.id_number == id_number)).first()
        if holder is not None and holder.id != person_id:
            raise Conflict("input.invalid", N_("身份证号已登记在其他人员名下"))
    if data.household_id is not None:
        household = db.session.get(Household, data.household_id)
        if household is None or household.village_id != village.id:
            raise InvalidField("access.village", N_("所选户不属于本村"))
    return {"name": clean_text(data.name, N_("姓名"), max_length=60), "female": data.female,
            "household_id": data.household_id, "id_number": id_number,
            "phone": normalise_phone(data.phone) if data.phone else None,
            "party_member": data.party_member, "accounting_skill": data.accounting_skill}


@use_case
def add_person(village_id: int, actor_id: int, data: PersonInput,
               now: dt.datetime | None = None) -> Person:
    """Register a villager."""
    now = now or utcnow()
    village = lock_village(village_id)
    keeper_of(actor_id, village, now)
    person = Person(village_id=village.id, **_checked(village, data, None, now))
    db.session.add(person)
    db.session.flush()
    return person


@use_case
def update_person(person_id: int, actor_id: int, data: PersonInput,
                  now: dt.datetime | None = None) -> Person:
    """Correct a villager's details (roles are changed by appointing and ending terms)."""
    now = now or utcnow()
    person = db.session.get(Person, person_id)
    if person is None or person.village_id is None:
        raise NotFound("input.invalid", N_("没有这个人员"))
    village = lock_village(person.village_id)
    keeper_of(actor_id, village, now)
    for key, value in _checked(village, data, person.id, now).items():
        setattr(person, key, value)
    return person


@use_case
def appoint_role(actor_id: int, person_id: int, role: Role, starts_on: dt.date,
                 ends_on: dt.date | None = None, *, households_represented: int | None = None,
                 group_name: str | None = None, now: dt.datetime | None = None
                 ) -> RoleAssignment:
    """A register keeper appoints a villager to a village role (with its ledger record); the
    roster refusals (another village, overlapping terms, art. 32) apply."""
    now = now or utcnow()
    person = db.session.get(Person, person_id)
    if person is None or person.village_id is None:
        raise NotFound("input.invalid", N_("没有这个人员"))
    if role.scope is not Scope.VILLAGE or role is Role.ASSEMBLY:
        raise InvalidField("input.invalid", N_("村级花名册只能任命村级职务"))
    village = lock_village(person.village_id)
    keeper_of(actor_id, village, now)
    if households_represented is not None and not 1 <= households_represented <= 15:
        raise InvalidField("roster.households_per_representative",
                           N_("一名村民代表联系的户数应在1至15户之间"))
    return appoint(person.id, role, starts_on, ends_on, village_id=village.id,
                   households_represented=households_represented,
                   group_name=_optional(group_name, N_("村民小组"), 60), now=now)


@use_case
def end_term(actor_id: int, assignment_id: int, last_day: dt.date, reason: str,
             now: dt.datetime | None = None) -> RoleAssignment:
    """End a term early (resignation, removal, death): the row keeps its planned end, and a
    ``role.end`` record goes to every village log the role reaches."""
    now = now or utcnow()
    assignment = db.session.get(RoleAssignment, assignment_id)
    if assignment is None:
        raise NotFound("input.invalid", N_("没有这项任职记录"))
    role = Role(assignment.role)
    if assignment.village_id is not None:
        village = lock_village(assignment.village_id)
        keeper_of(actor_id, village, now)
    elif assignment.township_id is not None:
        check_township_admin(roles_in_township(actor_id, assignment.township_id, now))
    else:
        check_township_admin(district_roles(actor_id, now))
    text = clean_text(reason, N_("结束任期的理由"), max_length=500)
    check_term_end(assignment.starts_on, assignment.ends_on, last_day, local_date(now))
    if assignment.planned_ends_on is None and assignment.ended_at is None:
        assignment.planned_ends_on = assignment.ends_on
    assignment.ends_on = last_day
    assignment.end_reason = text
    assignment.ended_at = now
    assignment.ended_by_id = actor_id
    db.session.flush()
    person = assignment.person
    for reached in villages_reached(assignment):
        ledger.append(reached, "role.end", {
            "person": person.id, "name": person.name, "role": role.value,
            "scope": role.scope.value, "starts_on": assignment.starts_on.isoformat(),
            "ends_on": last_day.isoformat(), "reason": text, "at": ledger.iso(now)})
    return assignment


def village_terms(village: Village) -> list[RoleAssignment]:
    """Every term ever held in the village, newest first (the register's history)."""
    return list(db.session.execute(
        select(RoleAssignment).where(RoleAssignment.village_id == village.id)
        .options(selectinload(RoleAssignment.person))
        .order_by(RoleAssignment.starts_on.desc(), RoleAssignment.id.desc())
    ).scalars())


def current_terms(village: Village, now: dt.datetime) -> list[RoleAssignment]:
    """The terms in force today."""
    day = local_date(now)
    return list(db.session.execute(
        select(RoleAssignment).where(
            RoleAssignment.village_id == village.id, term_in_force(day))
        .options(selectinload(RoleAssignment.person))
        .order_by(RoleAssignment.role, RoleAssignment.id)
    ).scalars())


def register_warnings(village: Village, now: dt.datetime) -> list[RosterWarning]:
    """The roster warnings (arts. 25, 32), sitting supervisors who are close relatives of
    committee members (recorded after their appointment), and the term warnings (vacant key
    roles, terms that ran out or end soon) for a village today."""
    all_terms = village_terms(village)
    terms = [Term(a.person_id, a.person.name, Role(a.role), a.starts_on, a.ends_on)
             for a in all_terms]
    return (village_roster_warnings(village, now) + _kin_breaches(all_terms, now)
            + term_warnings(terms, KEY_VILLAGE_ROLES, local_date(now)))


def _kin_breaches(terms: list[RoleAssignment], now: dt.datetime) -> list[RosterWarning]:
    day = local_date(now)
    active = [a for a in terms if a.active_on(day)]
    committee = {a.person_id: a.person.name for a in active if Role(a.role) in COMMITTEE_ROLES}
    supervisors = {a.person_id: a.person.name for a in active
                   if Role(a.role) in SUPERVISOR_ROLES}
    if not committee or not supervisors:
        return []
    warnings: list[RosterWarning] = []
    for a, b in db.session.execute(select(Kinship.person_id, Kinship.relative_id).where(
            Kinship.person_id.in_(set(committee) | set(supervisors)))).all():
        for sup, com in ((a, b), (b, a)):
            if sup in supervisors and com in committee:
                warnings.append(RosterWarning(
                    "roster.supervisor_kin_bar",
                    N_("村务监督委员会成员%(supervisor)s是村民委员会成员%(member)s的近亲属，"
                       "应当调整"), {"supervisor": supervisors[sup], "member": committee[com]}))
    return warnings


#: "B is A's 子女" means "A is B's 父母".
INVERSE_RELATION = {"父母": "子女", "子女": "父母", "祖父母、外祖父母": "孙子女、外孙子女",
                    "孙子女、外孙子女": "祖父母、外祖父母"}


def kin_of(person: Person) -> list[tuple[str, Person]]:
    """A villager's recorded close relatives: (what the relative is to them, the relative)."""
    rows = db.session.execute(select(Kinship).where(
        (Kinship.person_id == person.id) | (Kinship.relative_id == person.id))).scalars()
    result = []
    for k in rows:
        forward = k.person_id == person.id
        other = db.session.get(Person, k.relative_id if forward else k.person_id)
        assert other is not None
        result.append((k.relation if forward else INVERSE_RELATION.get(k.relation, k.relation),
                       other))
    return result


@use_case
def add_kinship(actor_id: int, person_id: int, relative_id: int, relation: str,
                now: dt.datetime | None = None) -> Kinship:
    """Record that two villagers are close relatives (近亲属), for the art. 32 bar. A pair that
    already breaks the bar is recorded all the same (it is a fact) and shows as a warning."""
    now = now or utcnow()
    person = db.session.get(Person, person_id)
    relative = db.session.get(Person, relative_id)
    if person is None or relative is None or person.village_id is None:
        raise NotFound("input.invalid", N_("没有这个人员"))
    if relative.village_id != person.village_id:
        raise InvalidField("access.village", N_("只能登记本村村民之间的近亲属关系"))
    if person.id == relative.id:
        raise InvalidField("input.invalid", N_("不能把本人登记为自己的近亲属"))
    if relation not in CLOSE_RELATIONS:
        raise InvalidField("input.invalid", N_("请选择近亲属关系"))
    village = lock_village(person.village_id)
    keeper_of(actor_id, village, now)
    # Stored as "relative_id is <relation> of person_id" with person_id < relative_id.
    a, b = person.id, relative.id
    if a > b:
        a, b, relation = b, a, INVERSE_RELATION.get(relation, relation)
    if db.session.execute(select(Kinship.id).where(Kinship.person_id == a,
                                                   Kinship.relative_id == b)).first():
        raise Conflict("input.invalid", N_("这两人的近亲属关系已登记"))
    kinship = Kinship(person_id=a, relative_id=b, relation=relation)
    db.session.add(kinship)
    db.session.flush()
    return kinship
