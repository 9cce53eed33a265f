"""Appointments: terms, villages, and the supervisory-committee bar, against the database."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.errors import DomainError, RosterRefusal
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Kinship, Person, RoleAssignment, Village
from sunvote.services.roster import appoint, village_roster_warnings
from sunvote.services.settings import change_setting, township_settings

D = dt.date


def pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def sunshine() -> Village:
    return db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()


def assignments() -> int:
    return db.session.execute(select(func.count()).select_from(RoleAssignment)).scalar_one()


def test_a_committee_members_relative_cannot_join_the_supervisory_committee(demo: Flask) -> None:
    with demo.app_context():
        relative = Person(name="赵小强", village_id=sunshine().id)
        db.session.add(relative)
        db.session.flush()
        a, b = sorted((relative.id, pid("赵强")))
        db.session.add(Kinship(person_id=a, relative_id=b, relation="子女"))
        db.session.commit()
        before = assignments()
        with pytest.raises(RosterRefusal) as info:
            appoint(relative.id, Role.SUPERVISOR, D(2026, 1, 1), village_id=sunshine().id)
        assert info.value.rule == "roster.supervisor_kin_bar"
        with pytest.raises(RosterRefusal):
            appoint(pid("赵强"), Role.SUPERVISOR, D(2026, 1, 1), village_id=sunshine().id)
        assert assignments() == before


@pytest.mark.parametrize(("start", "end"), [(D(2025, 1, 1), None), (D(2020, 1, 1), D(2021, 6, 1))])
def test_overlapping_terms_in_the_same_role_are_refused(demo: Flask, start: dt.date,
                                                        end: dt.date | None) -> None:
    with demo.app_context():
        before = assignments()
        with pytest.raises(DomainError):
            appoint(pid("张敏"), Role.CLERK, start, end, village_id=sunshine().id)
        assert assignments() == before


def test_a_term_that_ended_before_is_history_and_a_new_one_may_follow(demo: Flask) -> None:
    with demo.app_context():
        appoint(pid("张敏"), Role.REPRESENTATIVE, D(2020, 1, 1), D(2020, 12, 31),
                village_id=sunshine().id, households_represented=10)
        appoint(pid("张敏"), Role.REPRESENTATIVE, D(2021, 1, 1), D(2021, 2, 1),
                village_id=sunshine().id, households_represented=10)


def test_people_from_another_village_cannot_be_appointed(demo: Flask) -> None:
    with demo.app_context():
        before = assignments()
        with pytest.raises(DomainError) as info:
            appoint(pid("钱进"), Role.REPRESENTATIVE, D(2026, 1, 1), village_id=sunshine().id)
        assert info.value.rule == "access.village"
        assert assignments() == before


def test_roster_warnings_follow_the_roster(demo: Flask) -> None:
    with demo.app_context():
        now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
        assert village_roster_warnings(sunshine(), now) == []
        # Five more men on the committee (28 members): 20 representatives < 4/5 and 9 women < 1/3.
        for name in ("甲", "乙", "丙", "丁", "戊"):
            p = Person(name=name, village_id=sunshine().id)
            db.session.add(p)
            db.session.commit()
            appoint(p.id, Role.COMMITTEE_MEMBER, D(2026, 1, 1), village_id=sunshine().id)
        rules = {w.rule for w in village_roster_warnings(sunshine(), now)}
        assert rules == {"roster.representative_share", "roster.women_share"}


def test_only_a_township_admin_changes_settings_and_never_below_the_law(demo: Flask) -> None:
    with demo.app_context():
        town = sunshine().township_id
        with pytest.raises(DomainError) as info:
            change_setting(town, "quorum", "3/4", pid("张敏"))
        assert info.value.rule == "procedure.role"
        with pytest.raises(DomainError) as info:
            change_setting(town, "quorum", "1/2", pid("吴静"))
        assert info.value.rule == "settings.law_bound"
        change_setting(town, "quorum", "3/4", pid("吴静"))
        change_setting(town, "quorum", "4/5", pid("吴静"))
        from fractions import Fraction
        assert township_settings(town)["quorum"] == Fraction(4, 5)
