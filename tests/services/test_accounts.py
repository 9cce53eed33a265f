"""Logins against the database (issue 13, item 5): only the township issues or resets the logins
of the supervisory committee and the party secretary; every account event is a ledger record;
a confirmation made with a login that the person being checked issued or reset is refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.note import parse_note_unverified
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.procedure import Action
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Account, LedgerRecord, Village
from sunvote.services import (
    accounts,
    ballots,
    exports,
    ledger,
    matters,
    polls,
    register,
    supervision,
)
from sunvote.services import administration as admin
from sunvote.services.access import local_date

from .test_assembly import DAY, SHEET, T0, matter, opened_meeting, pid, village
from .test_supervision import AT, household, passed_matter


def written() -> tuple[int, int]:
    return (db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one(),
            db.session.execute(select(func.count()).select_from(Account)).scalar_one())


def account_records(v: Village, since: int = 0) -> list[tuple[str, dict[str, object]]]:
    rows = db.session.execute(select(LedgerRecord.type, LedgerRecord.data).where(
        LedgerRecord.village_id == v.id, LedgerRecord.seq >= since,
        LedgerRecord.type.like("account.%")).order_by(LedgerRecord.seq)).all()
    return [(t, json.loads(parse_note_unverified(data).text)["body"]) for t, data in rows]


def size(v: Village) -> int:
    head = ledger.head(v.id)
    assert head is not None
    return head.size


@pytest.mark.parametrize(("actor", "holder", "action"), [
    ("张敏", "周涛", "create"), ("张敏", "刘芳", "reset"), ("张敏", "王建国", "reset"),
    ("王建国", "刘芳", "reset")],
    ids=["clerk issues a supervisor's", "clerk resets the chair's", "clerk resets the secretary's",
         "director resets the chair's"])
def test_only_the_township_issues_or_resets_supervisors_and_the_secretarys_logins(
        demo: Flask, actor: str, holder: str, action: str) -> None:
    with demo.app_context():
        before = written()
        with pytest.raises(DomainError) as info:
            if action == "create":
                admin.create_login(pid(actor), pid(holder), "13900000001")
            else:
                admin.reset_password(pid(actor), pid(holder))
        assert info.value.rule == "admin.login_issuer"
        db.session.rollback()
        assert written() == before


def test_the_township_issues_a_supervisors_login_and_it_is_recorded(demo: Flask) -> None:
    with demo.app_context():
        start = size(village())
        login = admin.create_login(pid("吴静"), pid("周涛"), "13900000001")
        assert login.account.issued_by_id == pid("吴静")
        [(type_, body)] = account_records(village(), start)
        assert type_ == "account.issue"
        assert body == {"holder": pid("周涛"), "holder_name": "周涛",
                        "holder_roles": ["supervisor"], "person": pid("吴静"), "name": "吴静",
                        "role": "township_admin", "at": body["at"]}
        data = b"".join(db.session.execute(select(LedgerRecord.data).where(
            LedgerRecord.seq >= start, LedgerRecord.village_id == village().id)).scalars())
        assert b"13900000001" not in data and login.password.encode() not in data


def test_every_account_event_is_in_the_ledger_and_the_export_verifies(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        sunshine, breeze = village(), db.session.execute(
            select(Village).where(Village.code == "breeze")).scalar_one()
        start, start_breeze = size(sunshine), size(breeze)
        clerk, township, member = pid("张敏"), pid("吴静"), pid("陈丽")
        login = admin.create_login(clerk, member, "13700000004")
        reset = admin.reset_password(clerk, member)
        admin.set_login_disabled(township, member, True)
        admin.set_login_disabled(township, member, False)
        accounts.change_password(login.account.id, reset.password, "a-new-password")
        admin.appoint_township_official(township, sunshine.township_id, "马丽",
                                        "13600000009", Role.TOWNSHIP_REVIEWER)
        events = [(t, b.get("person"), b["holder_name"]) for t, b in
                  account_records(sunshine, start)]
        assert events == [("account.issue", clerk, "陈丽"), ("account.reset", clerk, "陈丽"),
                          ("account.disable", township, "陈丽"),
                          ("account.enable", township, "陈丽"),
                          ("account.password", None, "陈丽"),
                          ("account.issue", township, "马丽")]
        assert [t for t, _ in account_records(breeze, start_breeze)] == ["account.issue"]
        new, _ = admin.create_village_with_clerk(township, sunshine.township_id, "hill",
                                                 "山岭村", "韩梅", "13600000010")
        assert [(t, b["holder_roles"]) for t, b in account_records(new)] == [
            ("account.issue", ["clerk"])]
        exports.export_directory(sunshine, tmp_path / "export")
        key = ledger.active_key(sunshine.id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures


def test_anyone_may_change_their_own_password_even_a_supervisor(demo: Flask) -> None:
    with demo.app_context():
        chair = db.session.execute(select(Account).where(
            Account.person_id == pid("刘芳"))).scalar_one()
        start = size(village())
        accounts.change_password(chair.id, "sunvote2026", "chairs-own-password")
        assert accounts.authenticate("supervisor", "chairs-own-password") is not None
        [(type_, body)] = account_records(village(), start)
        assert type_ == "account.password" and body["holder"] == pid("刘芳")
        assert "person" not in body


def test_a_supervisor_whose_login_the_clerk_issued_cannot_confirm_the_clerks_paper_ballots(
        demo: Flask, tmp_path: Path) -> None:
    """The clerk may give a villager a login; once that villager is appointed to the supervisory
    committee, the login cannot confirm the clerk's paper ballots until the township resets it
    (and the clerk can no longer reset it)."""
    with demo.app_context():
        clerk = pid("张敏")
        person = register.add_person(village().id, clerk, register.PersonInput("何平", False))
        admin.create_login(clerk, person.id, "13900000002")
        register.appoint_role(clerk, person.id, Role.SUPERVISOR, local_date(T0))
        with pytest.raises(DomainError) as refused:
            admin.reset_password(clerk, person.id)
        assert refused.value.rule == "admin.login_issuer"
        db.session.rollback()
        meeting, roster = opened_meeting([matter("001").id])
        at = T0 + 3 * DAY
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, now=at)
        batch = ballots.enter_paper(clerk, poll.id, [(roster[2], "yes")], SHEET, now=at)
        before = written()
        with pytest.raises(DomainError) as info:
            ballots.confirm_paper(person.id, batch.id, now=at)
        assert info.value.rule == "admin.checker_login"
        db.session.rollback()
        assert written() == before
        admin.reset_password(pid("吴静"), person.id)
        ballots.confirm_paper(person.id, batch.id, now=at)
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures


def test_no_objection_answer_update_confirmation_or_sign_off_with_a_login_they_issued(
        demo: Flask) -> None:
    """A chair whose login the clerk issued (before the appointment) may not answer an objection
    to the vote the clerk ran, confirm the clerk's implementation update, or sign off the
    implementation the clerk recorded; after the township's reset they may."""
    with demo.app_context():
        clerk, township = pid("张敏"), pid("吴静")
        road = passed_matter()
        person = register.add_person(village().id, clerk, register.PersonInput("何平", False))
        admin.create_login(clerk, person.id, "13900000002")
        register.appoint_role(clerk, person.id, Role.SUPERVISOR_CHAIR, local_date(T0))
        objection = supervision.file_objection(road.id, *household(), "招标未公开", "1.2.3.4",
                                               now=AT + DAY)
        after = AT + 6 * DAY

        def refused(action: Callable[[], object]) -> None:
            before = written()
            with pytest.raises(DomainError) as info:
                action()
            assert info.value.rule == "admin.checker_login"
            db.session.rollback()
            assert written() == before

        refused(lambda: supervision.reply_objection(person.id, objection.id, "dismissed",
                                                    "已公开招标", now=after))
        supervision.reply_objection(pid("刘芳"), objection.id, "dismissed", "已公开招标",
                                    now=after)
        matters.act(road.id, Action.START_IMPLEMENTATION, clerk, {}, now=after)
        update = supervision.record_update(clerk, road.id, "完工", 100, "1000", "", now=after)
        refused(lambda: supervision.confirm_update(person.id, update.id, now=after))
        supervision.confirm_update(pid("周涛"), update.id, now=after)
        refused(lambda: matters.act(road.id, Action.COMPLETE, person.id,
                                    {"report": "验收合格"}, now=after))
        admin.reset_password(township, person.id)
        matters.act(road.id, Action.COMPLETE, person.id, {"report": "验收合格"}, now=after)


def test_logout_a_password_change_a_reset_and_disabling_end_every_session_a_refusal_none(
        demo: Flask) -> None:
    with demo.app_context():
        clerk, township, member = pid("张敏"), pid("吴静"), pid("陈丽")
        login = admin.create_login(clerk, member, "13700000004")
        account_id = login.account.id

        def epoch() -> int:
            db.session.expire_all()
            account = db.session.get(Account, account_id)
            assert account is not None
            return account.session_epoch

        assert epoch() == 0
        accounts.log_out(account_id)
        assert epoch() == 1
        accounts.change_password(account_id, login.password, "a-new-password")
        assert epoch() == 2
        admin.reset_password(clerk, member)
        assert epoch() == 3
        admin.set_login_disabled(township, member, True)
        assert epoch() == 4
        admin.set_login_disabled(township, member, False)
        assert epoch() == 4  # enabling begins no session: nothing to end
        with pytest.raises(DomainError):
            accounts.change_password(account_id, "not-the-password", "another-password")
        db.session.rollback()
        assert epoch() == 4
