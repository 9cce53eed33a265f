"""Administration against the database: townships, villages with clerks, settings, terms ended
early, logins — each refused change writes nothing, each accepted one is in the ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from sunvote.domain.errors import DomainError, NotPermitted
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import (
    Account,
    LedgerRecord,
    Person,
    RoleAssignment,
    Township,
    TownshipSetting,
    Village,
)
from sunvote.services import accounts, exports, ledger, register
from sunvote.services import administration as admin
from sunvote.services.access import local_date, roles_in_village
from sunvote.services.settings import township_settings

NOW = dt.datetime.now(dt.UTC)


def pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def village(code: str = "sunshine") -> Village:
    return db.session.execute(select(Village).where(Village.code == code)).scalar_one()


def count(model: type) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def records(code: str = "sunshine", type_: str | None = None) -> int:
    query = select(func.count()).select_from(LedgerRecord).where(
        LedgerRecord.village_id == village(code).id)
    return db.session.execute(query).scalar_one() if type_ is None else sum(
        1 for r in db.session.execute(select(LedgerRecord).where(
            LedgerRecord.village_id == village(code).id)).scalars()
        if f'"type":"{type_}"' in r.data.decode("utf-8", "replace"))


def test_the_district_creates_a_township_and_its_admin_with_a_temporary_password(
        demo: Flask) -> None:
    with demo.app_context():
        township, login = admin.create_township_with_admin(
            pid("郑平"), "hill-town", "山岭镇", "韩梅", "13800000001")
        assert township.code == "hill-town"
        assert login.account.must_change_password
        assert check_password_hash(login.account.password_hash, login.password)
        roles = admin.roles_in_township(login.account.person_id, township.id, NOW)
        assert roles == {Role.TOWNSHIP_ADMIN}


@pytest.mark.parametrize("actor", ["吴静", "张敏"])
def test_only_the_district_admin_creates_townships_and_nothing_is_written_otherwise(
        demo: Flask, actor: str) -> None:
    with demo.app_context():
        before = (count(Township), count(Person), count(Account))
        with pytest.raises(NotPermitted) as info:
            admin.create_township_with_admin(pid(actor), "x-town", "某镇", "某人", "13800000002")
        assert info.value.rule == "admin.district_admin"
        assert (count(Township), count(Person), count(Account)) == before


def test_the_township_creates_a_village_with_its_log_and_clerk(demo: Flask) -> None:
    with demo.app_context():
        town = db.session.execute(select(Township)).scalars().first()
        assert town is not None
        new, login = admin.create_village_with_clerk(pid("吴静"), town.id, "spring", "春泉村",
                                                     "何静", "13900000003")
        assert login.account.person.village_id == new.id
        assert Role.CLERK in roles_in_village(login.account.person_id, new, NOW)
        assert records("spring", "log.init") == 1
        # the township's roles in force, and the clerk's appointment, are in the new log
        assert records("spring", "role.appoint") == 3


def test_a_clerk_cannot_create_a_village(demo: Flask) -> None:
    with demo.app_context():
        town = village().township
        before = count(Village)
        with pytest.raises(NotPermitted) as info:
            admin.create_village_with_clerk(pid("张敏"), town.id, "spring", "春泉村", "何静",
                                            "13900000003")
        assert info.value.rule == "admin.township_admin"
        assert count(Village) == before


def test_a_duplicate_user_name_refuses_the_whole_village(demo: Flask) -> None:
    with demo.app_context():
        town = village().township
        before = (count(Village), count(Person), count(LedgerRecord))
        with pytest.raises(DomainError):
            admin.create_village_with_clerk(pid("吴静"), town.id, "spring", "春泉村", "何静",
                                            "clerk")
        assert (count(Village), count(Person), count(LedgerRecord)) == before


def test_a_stricter_setting_is_recorded_in_every_village_log(demo: Flask) -> None:
    with demo.app_context():
        town = village().township
        before = (records("sunshine"), records("breeze"))
        changed = admin.change_settings(pid("吴静"), town.id, {
            "pass_rule.category_5": "two_thirds_of_present", "meeting_notice_days": "3"})
        assert changed == ["pass_rule.category_5"]  # notice days were 3 already
        assert (records("sunshine"), records("breeze")) == (before[0] + 1, before[1] + 1)
        assert str(township_settings(town.id).pass_rule_for(5)) == "two_thirds_of_present"


@pytest.mark.parametrize(("key", "value"), [("quorum", "1/2"), ("public_notice_days", "2"),
                                            ("meeting_notice_days", "0"), ("quorum", "abc")])
def test_a_setting_looser_than_the_law_refuses_the_whole_change(demo: Flask, key: str,
                                                                 value: str) -> None:
    with demo.app_context():
        town = village().township
        before = (count(TownshipSetting), records())
        with pytest.raises(DomainError):
            admin.change_settings(pid("吴静"), town.id, {"step_limit_days": "20", key: value})
        assert (count(TownshipSetting), records()) == before


def test_only_the_township_admin_changes_settings(demo: Flask) -> None:
    with demo.app_context():
        town = village().township
        for actor in ("郑平", "孙伟", "张敏"):
            with pytest.raises(NotPermitted):
                admin.change_settings(pid(actor), town.id, {"step_limit_days": "20"})
        assert count(TownshipSetting) == 0


def test_ending_a_term_early_keeps_its_history_and_is_signed(demo: Flask) -> None:
    with demo.app_context():
        today = local_date(NOW)
        term = db.session.execute(select(RoleAssignment).where(
            RoleAssignment.person_id == pid("李秀英"))).scalar_one()
        before = records()
        register.end_term(pid("张敏"), term.id, today, "迁出本村")
        db.session.refresh(term)
        assert term.ends_on == today and term.planned_ends_on is None
        assert term.end_reason == "迁出本村" and term.ended_by_id == pid("张敏")
        assert records() == before + 1 and records(type_="role.end") == 1
        tomorrow = NOW + dt.timedelta(days=1)
        assert Role.REPRESENTATIVE not in roles_in_village(pid("李秀英"), village(), tomorrow)
        assert Role.REPRESENTATIVE in roles_in_village(pid("李秀英"), village(), NOW)


@pytest.mark.parametrize("days", [-2, -400, 400])
def test_a_term_cannot_be_ended_in_the_past_or_extended(demo: Flask, days: int) -> None:
    with demo.app_context():
        today = local_date(NOW)
        term = db.session.execute(select(RoleAssignment).where(
            RoleAssignment.person_id == pid("王磊"))).scalar_one()
        register.end_term(pid("张敏"), term.id, today + dt.timedelta(days=30), "换届")
        before = records()
        with pytest.raises(DomainError) as info:
            register.end_term(pid("张敏"), term.id, today + dt.timedelta(days=days), "再改")
        assert info.value.rule == "admin.term_end"
        db.session.refresh(term)
        assert term.ends_on == today + dt.timedelta(days=30) and records() == before


def test_a_representative_cannot_end_terms_or_edit_the_register(demo: Flask) -> None:
    with demo.app_context():
        term = db.session.execute(select(RoleAssignment).where(
            RoleAssignment.person_id == pid("王磊"))).scalar_one()
        with pytest.raises(NotPermitted) as info:
            register.end_term(pid("李秀英"), term.id, local_date(NOW), "x")
        assert info.value.rule == "admin.register_keeper"
        with pytest.raises(NotPermitted):
            register.add_household(village().id, pid("李秀英"), "900", "某人")


def test_the_clerk_of_another_village_cannot_touch_this_register(demo: Flask) -> None:
    with demo.app_context():
        with pytest.raises(DomainError):
            register.add_person(village().id, pid("钱进"), register.PersonInput("某人", False))
        person_id = pid("陈丽")
        with pytest.raises(DomainError):
            register.appoint_role(pid("钱进"), person_id, Role.REPRESENTATIVE,
                                  local_date(NOW))


def test_a_clerk_appoints_with_the_roster_refusals_applied(demo: Flask) -> None:
    with demo.app_context():
        v = village()
        person = register.add_person(v.id, pid("张敏"), register.PersonInput(
            "新代表", True, id_number=None, phone="138 0013 8000"))
        assert person.phone == "13800138000"
        term = register.appoint_role(pid("张敏"), person.id, Role.REPRESENTATIVE,
                                     local_date(NOW), households_represented=9)
        assert term.village_id == v.id
        # a committee member may not be appointed to the supervisory committee (art. 32)
        with pytest.raises(DomainError) as info:
            register.appoint_role(pid("张敏"), pid("陈丽"), Role.SUPERVISOR, local_date(NOW))
        assert info.value.rule == "roster.supervisor_kin_bar"
        with pytest.raises(DomainError):
            register.appoint_role(pid("张敏"), person.id, Role.REPRESENTATIVE,
                                  local_date(NOW), households_represented=16)


def test_an_id_number_is_checked_and_unique(demo: Flask) -> None:
    with demo.app_context():
        v = village()
        register.add_person(v.id, pid("张敏"), register.PersonInput(
            "甲", False, id_number="11010519491231002x"))
        with pytest.raises(DomainError):
            register.add_person(v.id, pid("张敏"), register.PersonInput(
                "乙", False, id_number="11010519491231002X"))
        with pytest.raises(DomainError):
            register.add_person(v.id, pid("张敏"), register.PersonInput(
                "丙", False, id_number="110105194912310021"))


def test_logins_are_created_reset_and_disabled_by_those_allowed(demo: Flask) -> None:
    with demo.app_context():
        login = admin.create_login(pid("张敏"), pid("陈丽"), "13700000004")
        assert accounts.authenticate("13700000004", login.password) is not None
        reset = admin.reset_password(pid("张敏"), pid("陈丽"))
        assert reset.password != login.password
        assert accounts.authenticate("13700000004", login.password) is None
        account = accounts.authenticate("13700000004", reset.password)
        assert account is not None and account.must_change_password
        with pytest.raises(NotPermitted):
            admin.set_login_disabled(pid("张敏"), pid("陈丽"), True)
        admin.set_login_disabled(pid("吴静"), pid("陈丽"), True)
        assert accounts.authenticate("13700000004", reset.password) is None
        with pytest.raises(NotPermitted):  # another village's clerk
            admin.reset_password(pid("钱进"), pid("陈丽"))


def test_term_warnings_name_a_vacant_key_role(demo: Flask) -> None:
    with demo.app_context():
        rules = {w.rule for w in register.register_warnings(village("breeze"), NOW)}
        assert "roster.vacant_role" in rules  # breeze has no committee director
        term = db.session.execute(select(RoleAssignment).where(
            RoleAssignment.person_id == pid("张敏"))).scalar_one()
        assert "roster.term_ending" not in {
            w.rule for w in register.register_warnings(village(), NOW)}
        register.end_term(pid("吴静"), term.id, local_date(NOW) + dt.timedelta(days=10), "调任")
        rules = {w.rule for w in register.register_warnings(village(), NOW)}
        assert "roster.term_ending" in rules


def test_the_log_with_administration_records_verifies_offline(demo: Flask,
                                                              tmp_path: Path) -> None:
    with demo.app_context():
        town = village().township
        admin.change_settings(pid("吴静"), town.id, {"quorum": "3/4"})
        term = db.session.execute(select(RoleAssignment).where(
            RoleAssignment.person_id == pid("王磊"))).scalar_one()
        register.end_term(pid("张敏"), term.id, local_date(NOW), "辞职")
        person = register.add_person(village().id, pid("张敏"), register.PersonInput("新人", True))
        register.appoint_role(pid("张敏"), person.id, Role.REPRESENTATIVE, local_date(NOW),
                              households_represented=8)
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures


def test_the_first_district_admin_is_created_from_the_command_line(app: Flask) -> None:
    from sunvote.commands import create_district_admin_command

    runner = app.test_cli_runner()
    result = runner.invoke(create_district_admin_command, ["郑平", "13000000001"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(" ", 1)[-1]
    with app.app_context():
        account = accounts.authenticate("13000000001", password)
        assert account is not None and account.must_change_password
        assert admin.district_roles(account.person_id, NOW) == {Role.DISTRICT_ADMIN}
    again = runner.invoke(create_district_admin_command, ["某人", "13000000001"])
    assert again.exit_code != 0 and "13000000001" in again.output


def test_a_new_village_starts_its_log_with_the_townships_rules_in_force(
        demo: Flask, tmp_path: Path) -> None:
    from sunvote.domain.ledger.records import parse_record

    with demo.app_context():
        town = village().township
        admin.change_settings(pid("吴静"), town.id, {"quorum": "3/4",
                                                     "meeting_notice_days": "5"})
        new, _ = admin.create_village_with_clerk(pid("吴静"), town.id, "spring", "春泉村",
                                                 "何静", "13900000041")
        first = db.session.execute(select(LedgerRecord).where(
            LedgerRecord.village_id == new.id).order_by(LedgerRecord.seq).limit(2)).scalars()
        kinds = [(r.type, parse_record(r.data).body) for r in first]
        assert kinds[0][0] == "log.init" and kinds[1][0] == "setting.snapshot"
        assert kinds[1][1]["values"] == {"meeting_notice_days": "5", "quorum": "3/4"}
        exports.export_directory(new, tmp_path / "export")
        key = ledger.active_key(new.id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures


def test_installation_defaults_are_written_into_a_new_township(app: Flask) -> None:
    app.config["SETTING_DEFAULTS"] = {"public_notice_days": 7}
    with app.app_context():
        from sunvote.services.villages import create_township

        town = create_township("lake-town", "湖镇")
        assert township_settings(town.id)["public_notice_days"] == 7
        app.config["SETTING_DEFAULTS"] = {}  # the environment changes later …
        assert township_settings(town.id)["public_notice_days"] == 7  # … the township does not
