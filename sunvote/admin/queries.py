"""The reads of the district, township and register pages: townships with their
administrators, villages with their clerks, officials, the settings' history, the register's
people (searched and paged), a villager, their terms. The use cases are in
services/administration.py and services/register.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import (
    Household,
    Person,
    RoleAssignment,
    Township,
    TownshipSetting,
    Village,
)
from sunvote.services.access import term_in_force


def townships() -> list[Township]:
    """Every township with its villages, by code."""
    return list(db.session.execute(
        select(Township).options(selectinload(Township.villages)).order_by(Township.code)
    ).scalars())


def township_admins(township_ids: list[int], day: dt.date) -> dict[int, list[Person]]:
    """The administrators in office on ``day`` of each township."""
    rows = db.session.execute(
        select(RoleAssignment.township_id, Person)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(RoleAssignment.township_id.in_(township_ids),
               RoleAssignment.role == Role.TOWNSHIP_ADMIN.value, term_in_force(day))
        .order_by(Person.id)).all()
    admins: dict[int, list[Person]] = {}
    for township_id, person in rows:
        if township_id is not None:
            admins.setdefault(township_id, []).append(person)
    return admins


def clerk_names(villages: list[Village], day: dt.date) -> dict[int, list[str]]:
    """The names of each village's clerks in office on ``day``."""
    clerks: dict[int, list[str]] = {}
    for village_id, name in db.session.execute(
            select(RoleAssignment.village_id, Person.name)
            .join(Person, Person.id == RoleAssignment.person_id)
            .where(RoleAssignment.village_id.in_([v.id for v in villages]),
                   RoleAssignment.role == Role.CLERK.value, term_in_force(day))).all():
        if village_id is not None:
            clerks.setdefault(village_id, []).append(name)
    return clerks


def township_officials(township: Township) -> list[RoleAssignment]:
    """Every term held in the township (past ones too), with the person and their login."""
    return list(db.session.execute(
        select(RoleAssignment).where(RoleAssignment.township_id == township.id)
        .options(selectinload(RoleAssignment.person).selectinload(Person.account))
        .order_by(RoleAssignment.role, RoleAssignment.id)).scalars())


def township_term(township: Township, term_id: int) -> RoleAssignment | None:
    """The township's term ``term_id``, or None."""
    term = db.session.get(RoleAssignment, term_id)
    return term if term is not None and term.township_id == township.id else None


def setting_history(township: Township, count: int = 50) -> list[Any]:
    """The township's latest setting changes with who made them (rows of the setting and the
    name), newest first."""
    return list(db.session.execute(
        select(TownshipSetting, Person.name)
        .outerjoin(Person, Person.id == TownshipSetting.set_by_id)
        .where(TownshipSetting.township_id == township.id)
        .order_by(TownshipSetting.set_at.desc(), TownshipSetting.id.desc()).limit(count)).all())


def register_people(village: Village, q: str, page: int, per_page: int
                    ) -> tuple[int, list[Person]]:
    """How many of the village's people match ``q`` (a name or group containing it, or a
    household number), and the page ``page`` of them with their household and login."""
    query = select(Person).where(Person.village_id == village.id)
    if q:
        like = f"%{q}%"
        query = query.outerjoin(Household, Household.id == Person.household_id).where(
            or_(Person.name.like(like), Household.number == q, Household.group_name.like(like)))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    people = list(db.session.execute(
        query.options(selectinload(Person.household), selectinload(Person.account))
        .order_by(Person.id).limit(per_page).offset((page - 1) * per_page)).scalars())
    return total, people


def household_count(village: Village) -> int:
    return db.session.execute(
        select(func.count()).select_from(Household).where(Household.village_id == village.id)
    ).scalar_one()


def household_id(village: Village, number: str) -> int | None:
    """The id of the village's household ``number``, or None."""
    return db.session.execute(select(Household.id).where(
        Household.village_id == village.id, Household.number == number)).scalar_one_or_none()


def village_person(village: Village, person_id: int) -> Person | None:
    """The village's person ``person_id``, or None."""
    person = db.session.get(Person, person_id)
    return person if person is not None and person.village_id == village.id else None


def terms_of(person: Person) -> list[RoleAssignment]:
    """Every term the person held, newest first."""
    return list(db.session.execute(
        select(RoleAssignment).where(RoleAssignment.person_id == person.id)
        .order_by(RoleAssignment.starts_on.desc(), RoleAssignment.id.desc())).scalars())


def person_term(person: Person, term_id: int) -> RoleAssignment | None:
    """The person's term ``term_id``, or None."""
    term = db.session.get(RoleAssignment, term_id)
    return term if term is not None and term.person_id == person.id else None


def villagers_named(village: Village, household: str, name: str) -> list[Person]:
    """The village's people named ``name`` in household ``household``."""
    return list(db.session.execute(
        select(Person).join(Household, Household.id == Person.household_id)
        .where(Person.village_id == village.id, Household.number == household,
               Person.name == name)).scalars())
