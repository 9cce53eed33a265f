"""Importing the village register from a CSV or XLSX file: preview (reads only) and apply (one
transaction: households, villagers, representative terms with their ledger records, and a
``register.import`` record carrying the file's hash and the counts, no personal data)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from sqlalchemy import select

from sunvote.domain.register_import import (
    COLUMNS,
    ExistingHousehold,
    ExistingPerson,
    ExistingTerm,
    ImportPlan,
    Register,
    plan_import,
)
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Household, Person, RoleAssignment, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services.access import local_date
from sunvote.services.register import keeper_of
from sunvote.services.register_files import Table, read_table
from sunvote.services.roster import appoint, notify_new_members
from sunvote.services.unit_of_work import lock_village, use_case

#: Files larger than this are refused before reading (a 2,000-row XLSX is about 100 KB).
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _id_numbers_in(table: Table) -> set[str]:
    header = next(c.header for c in COLUMNS if c.key == "id_number")
    return {row.get(header, "").strip().upper() for _, row in table.rows} - {""}


def snapshot(village: Village, table: Table) -> Register:
    """The village's register as the planner needs it; ID numbers of other villages are looked up
    only for the numbers in the file."""
    households = {h.number: ExistingHousehold(h.id, h.number, h.head_name, h.group_name,
                                              h.address)
                  for h in db.session.execute(
                      select(Household).where(Household.village_id == village.id)).scalars()}
    numbers = {h.id: h.number for h in households.values()}
    people = [ExistingPerson(p.id, numbers.get(p.household_id) if p.household_id else None,
                             p.name, p.female, p.id_number, p.phone, p.party_member,
                             p.email)
              for p in db.session.execute(
                  select(Person).where(Person.village_id == village.id)).scalars()]
    terms: dict[int, list[ExistingTerm]] = {}
    for a in db.session.execute(select(RoleAssignment).where(
            RoleAssignment.village_id == village.id,
            RoleAssignment.role == Role.REPRESENTATIVE.value)).scalars():
        terms.setdefault(a.person_id, []).append(
            ExistingTerm(a.person_id, a.starts_on, a.ends_on, a.households_represented))
    wanted = _id_numbers_in(table)
    foreign: set[str] = set()
    for chunk in _chunks(sorted(wanted), 500):
        foreign.update(n for n in db.session.execute(
            select(Person.id_number).where(Person.id_number.in_(chunk),
                                           Person.village_id != village.id)).scalars() if n)
    return Register(households=households, people=people, rep_terms=terms,
                    foreign_id_numbers=frozenset(foreign))


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _plan(village: Village, filename: str, data: bytes, now: dt.datetime) -> ImportPlan:
    table = read_table(filename, data, max_bytes=MAX_IMPORT_BYTES)
    return plan_import(table.rows, snapshot(village, table), local_date(now),
                       headers=table.headers)


def preview_import(village_id: int, actor_id: int, filename: str, data: bytes,
                   now: dt.datetime | None = None) -> ImportPlan:
    """What importing the file would do, row by row. Writes nothing."""
    now = now or utcnow()
    village = db.session.get(Village, village_id)
    assert village is not None
    keeper_of(actor_id, village, now)
    try:
        return _plan(village, filename, data, now)
    finally:
        db.session.rollback()  # a preview only read; end its transaction


@use_case
def apply_import(village_id: int, actor_id: int, filename: str, data: bytes,
                 now: dt.datetime | None = None) -> ImportPlan:
    """Import the file's accepted rows in one transaction (planned again from scratch, so what
    was previewed cannot be stale); rejected rows are skipped and counted."""
    now = now or utcnow()
    village = lock_village(village_id)
    actor_roles = keeper_of(actor_id, village, now)
    plan = _plan(village, filename, data, now)
    household_ids = {h.number: h.id for h in db.session.execute(
        select(Household).where(Household.village_id == village.id)).scalars()}
    for row in plan.rows:
        if row.status == "reject":
            continue
        hh = row.household_data
        if row.household_action == "create" and hh is not None:
            household = Household(village_id=village.id, number=hh.number,
                                  head_name=hh.head_name, group_name=hh.group_name,
                                  address=hh.address)
            db.session.add(household)
            db.session.flush()
            household_ids[hh.number] = household.id
        elif row.household_action == "change" and hh is not None:
            existing = db.session.get(Household, household_ids[hh.number])
            assert existing is not None
            existing.head_name = hh.head_name
            existing.group_name = hh.group_name
            existing.address = hh.address
    for row in plan.rows:
        if row.status in ("reject", "unchanged") or row.person is None:
            continue
        data_ = row.person
        if row.person_id is None:
            person = Person(village_id=village.id, household_id=household_ids[row.household],
                            name=data_.name, female=data_.female, id_number=data_.id_number,
                            phone=data_.phone, party_member=data_.party_member,
                            email=data_.email)
            db.session.add(person)
            db.session.flush()
        else:
            found = db.session.get(Person, row.person_id)
            assert found is not None and found.village_id == village.id
            person = found
            person.name = data_.name
            person.female = data_.female
            person.household_id = household_ids[row.household]
            person.id_number = data_.id_number
            person.phone = data_.phone
            person.email = data_.email
            person.party_member = data_.party_member
        if row.representative is not None:
            term = row.representative
            home = db.session.get(Household, household_ids[row.household])
            appoint(person.id, Role.REPRESENTATIVE, term.starts_on, term.ends_on,
                    village_id=village.id, households_represented=term.households_represented,
                    group_name=home.group_name if home else None, now=now, notify=False)
    notify_new_members(village, now)  # one notice record for all the new representatives
    actor = db.session.get(Person, actor_id)
    assert actor is not None and actor_roles
    counts = plan.counts
    ledger.append(village, "register.import", {
        "file_sha256": hashlib.sha256(data).hexdigest(), "filename": filename[:200],
        "rows": len(plan.rows), "created": counts.get("create", 0),
        "changed": counts.get("change", 0), "unchanged": counts.get("unchanged", 0),
        "rejected": counts.get("reject", 0), "person": actor.id, "name": actor.name,
        "at": ledger.iso(now)})
    return plan


def export_rows(village: Village, now: dt.datetime) -> tuple[list[str], list[list[str]]]:
    """The register in the import template's columns, one row per villager (current
    representative term where there is one)."""
    day = local_date(now)
    headers = [c.header for c in COLUMNS]
    households = {h.id: h for h in db.session.execute(
        select(Household).where(Household.village_id == village.id)).scalars()}
    reps: dict[int, RoleAssignment] = {}
    for a in db.session.execute(select(RoleAssignment).where(
            RoleAssignment.village_id == village.id,
            RoleAssignment.role == Role.REPRESENTATIVE.value,
            RoleAssignment.starts_on <= day).order_by(RoleAssignment.starts_on)).scalars():
        if a.ends_on is None or a.ends_on >= day:
            reps[a.person_id] = a
    rows: list[list[str]] = []
    for p in db.session.execute(select(Person).where(Person.village_id == village.id)
                                .order_by(Person.household_id, Person.id)).scalars():
        h = households.get(p.household_id) if p.household_id else None
        rep = reps.get(p.id)
        values = {
            "household": h.number if h else "", "relation": "户主" if h and
            h.head_name == p.name else "", "name": p.name, "sex": "女" if p.female else "男",
            "id_number": p.id_number or "", "phone": p.phone or "", "email": p.email or "",
            "party_member": "是" if p.party_member else "否",
            "group": (h.group_name or "") if h else "", "address": (h.address or "") if h else "",
            "representative": "是" if rep else "否",
            "households_represented": str(rep.households_represented or "") if rep else "",
            "rep_starts_on": rep.starts_on.isoformat() if rep else "",
            "rep_ends_on": rep.ends_on.isoformat() if rep and rep.ends_on else "",
        }
        rows.append([values.get(c.key, "") for c in COLUMNS])
    return headers, rows
