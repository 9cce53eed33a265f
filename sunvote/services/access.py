"""Who may act where: the roles a person holds today in a village, township or the district."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select

from sunvote.domain.errors import N_, NotPermitted
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import RoleAssignment, Village

CHINA = ZoneInfo("Asia/Shanghai")


def local_date(now: dt.datetime) -> dt.date:
    """The calendar date in China at ``now`` (terms and notice days are counted in local days)."""
    return now.astimezone(CHINA).date()


def term_in_force(day: dt.date) -> ColumnElement[bool]:
    """The condition that a role assignment's term covers ``day`` (terms end by themselves)."""
    return (RoleAssignment.starts_on <= day) & or_(RoleAssignment.ends_on.is_(None),
                                                   RoleAssignment.ends_on >= day)


def roles_in_village(person_id: int, village: Village, now: dt.datetime) -> frozenset[Role]:
    """The roles ``person_id`` holds today that reach ``village``: its own village roles, roles
    in its township, and district roles."""
    day = local_date(now)
    rows = db.session.execute(
        select(RoleAssignment.role).where(
            RoleAssignment.person_id == person_id,
            term_in_force(day),
            or_(RoleAssignment.village_id == village.id,
                RoleAssignment.township_id == village.township_id,
                RoleAssignment.role == Role.DISTRICT_ADMIN.value),
        )
    ).scalars()
    return frozenset(Role(r) for r in rows)


def all_roles(person_id: int, now: dt.datetime) -> list[RoleAssignment]:
    """Every role assignment of ``person_id`` active today (for the home page and menus)."""
    return list(db.session.execute(
        select(RoleAssignment)
        .where(RoleAssignment.person_id == person_id, term_in_force(local_date(now)))
        .order_by(RoleAssignment.id)
    ).scalars())


def require_village_access(person_id: int, village: Village, now: dt.datetime) -> frozenset[Role]:
    """The person's roles reaching ``village``; refuses people with none (another village's)."""
    roles = roles_in_village(person_id, village, now)
    if not roles:
        raise NotPermitted("access.village", N_("您在%(village)s没有任职，不能查看或办理该村事项"),
                           village=village.name)
    return roles
