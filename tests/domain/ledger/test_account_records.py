"""Account events in the ledger (issue 13, item 5): the verifier's rules for account.issue,
account.reset, account.disable, account.enable and account.password, and the separation of
duties it checks — a supervisory committee member's or party secretary's login issued or reset
only by the township (admin.login_issuer), and no confirmation made with a login that the person
being checked issued or last reset (admin.checker_login).

Logs are built with tests/domain/ledger/logbuilder.py (clerk 1, party secretary and committee
director 2, township reviewer 4, supervisor 5, township admin 6, representatives 101…).
"""

from __future__ import annotations

from typing import Any

import pytest

from sunvote.domain.ledger.records import BODY_SCHEMAS
from tests.domain.ledger.logbuilder import LogBuilder, people
from tests.domain.ledger.test_assembly_records import (
    M1,
    assembly,
    assert_fails,
    assert_ok,
    verify,
)
from tests.domain.ledger.test_supervision_records import implementing, noticed

ROLES = {1: "clerk", 2: "committee_director", 6: "township_admin", 9: "district_admin"}


def account(b: LogBuilder, event: str, holder: int, person: int | None = None, *,
            role: str | None = None, holder_roles: list[str] | None = None) -> int:
    """Append account.<event> about ``holder``'s login by ``person`` (None: the holder
    themself, for ``password``); returns its index."""
    index = b.size
    body: dict[str, Any] = {"holder": holder, "holder_name": b.names.get(holder, "某人"),
                            "holder_roles": sorted(r.value for r in b.roles.get(holder, ()))
                            if holder_roles is None else holder_roles}
    if person is not None:
        body.update({"person": person, "name": b.names.get(person, "某人"),
                     "role": role or ROLES[person]})
    body["at"] = b.at()
    b.append(f"account.{event}", body)
    return index


def base() -> LogBuilder:
    b = LogBuilder()
    b.init()
    people(b)
    b.appoint(101, "代表101", "representative")
    return b


def test_the_account_bodies_carry_no_password_phone_or_user_name() -> None:
    actor = {"person": int, "name": str, "role": str, "at": str}
    holder = {"holder": int, "holder_name": str, "holder_roles": list}
    for event in ("issue", "reset", "disable", "enable"):
        assert BODY_SCHEMAS[f"account.{event}"] == {**holder, **actor}
    assert BODY_SCHEMAS["account.password"] == {**holder, "at": str}


def test_every_account_event_by_those_allowed_verifies() -> None:
    b = base()
    account(b, "issue", 101, 1)  # the clerk issues a representative's login
    account(b, "reset", 101, 2)  # the committee director resets it
    account(b, "password", 101)  # the representative changes their own password
    account(b, "issue", 5, 6)  # the township issues the supervisor's
    account(b, "reset", 2, 6)  # and resets the party secretary's
    account(b, "reset", 1, 1)  # the clerk resets their own
    account(b, "disable", 101, 6)
    account(b, "enable", 101, 6)
    account(b, "reset", 5, 9)  # the district admin (not in village logs: not checked)
    account(b, "password", 5)
    assert_ok(b)


@pytest.mark.parametrize(("holder", "event", "person"), [
    (5, "issue", 1), (5, "reset", 1), (2, "reset", 1), (5, "reset", 2)],
    ids=["clerk issues supervisor's", "clerk resets supervisor's", "clerk resets secretary's",
         "director resets supervisor's"])
def test_only_the_township_issues_or_resets_supervisors_and_the_secretarys_logins(
        holder: int, event: str, person: int) -> None:
    b = base()
    index = account(b, event, holder, person)
    report = assert_fails(b, index, "semantics", "[admin.login_issuer]")
    assert report.failures[0].type == f"account.{event}"


@pytest.mark.parametrize(("event", "person", "role", "text"), [
    ("disable", 1, "clerk", "role clerk may not disable or enable a login"),
    ("issue", 101, "representative", "role representative may not issue or reset a login"),
    ("issue", 4, "township_admin", "person 4 does not hold the role township_admin"),
])
def test_an_account_event_by_someone_not_allowed_fails(event: str, person: int, role: str,
                                                       text: str) -> None:
    b = base()
    index = account(b, event, 101, person, role=role)
    assert_fails(b, index, "semantics", text)


def test_account_record_syntax_fails_as_format() -> None:
    b = base()
    index = account(b, "issue", 101, 1, holder_roles=["mayor"])
    assert_fails(b, index, "format", "holder_roles")


def test_a_supervisor_whose_login_the_clerk_issued_confirming_the_clerks_paper_ballots_fails(
        ) -> None:
    """The reproduction as a forged log: the clerk issued supervisor 5's login and 5 then
    confirms the paper batch the clerk entered."""
    b, members = assembly(8)
    issued = account(b, "issue", 5, 1)
    b.open_poll(M1)
    confirm = b.size
    b.paper_confirm(1, person=5, entered_by=1)
    b.cast(members[0], "yes", "paper")
    report = verify(b)
    found = {(f.index, f.kind) for f in report.failures}
    assert found == {(issued, "semantics"), (confirm, "semantics")}, report.failures
    reasons = {f.index: f.reason for f in report.failures}
    assert "[admin.login_issuer]" in reasons[issued]
    assert "[admin.checker_login]" in reasons[confirm]
    assert report.exit_code == 5


def test_a_login_the_clerk_issued_before_the_appointment_cannot_confirm_until_reset() -> None:
    """Issued by the clerk to a villager later appointed supervisor (allowed then), the login
    may not confirm the clerk's paper ballots; after the township resets it, it may."""
    b, members = assembly(8)
    account(b, "issue", 9, 1, holder_roles=[])
    b.appoint(9, "新监委", "supervisor")
    b.open_poll(M1)
    refused = b.size
    b.paper_confirm(1, person=9, entered_by=1)
    b.cast(members[0], "yes", "paper")
    assert_fails(b, refused, "semantics", "[admin.checker_login]")
    account(b, "reset", 9, 6)
    b.paper_confirm(1, person=9, entered_by=1)
    b.cast(members[1], "yes", "paper")
    assert_fails(b, refused, "semantics", "[admin.checker_login]")  # only the first


def test_a_self_password_change_does_not_clear_who_issued_the_login() -> None:
    b, members = assembly(8)
    account(b, "issue", 9, 1, holder_roles=[])
    b.appoint(9, "新监委", "supervisor")
    account(b, "password", 9)  # the clerk could have done this with the temporary password
    b.open_poll(M1)
    refused = b.size
    b.paper_confirm(1, person=9, entered_by=1)
    b.cast(members[0], "yes", "paper")
    assert_fails(b, refused, "semantics", "[admin.checker_login]")


def test_implementation_confirm_and_sign_off_by_a_login_the_recorder_issued_fail() -> None:
    b = implementing()
    account(b, "issue", 10, 1, holder_roles=[])
    b.appoint(10, "新主任", "supervisor_chair")
    b.update(M1, 100, person=1)
    confirm = b.size
    b.confirm(M1, 1, person=10, role="supervisor_chair")
    sign_off = b.size
    b.step(M1, "complete", 10, {"report": "验收合格"})
    report = verify(b)
    assert {(f.index, f.kind) for f in report.failures} == {
        (confirm, "semantics"), (sign_off, "semantics")}, report.failures
    assert all("[admin.checker_login]" in f.reason for f in report.failures)


def test_an_objection_answered_by_a_login_the_vote_runner_issued_fails() -> None:
    b = noticed()
    account(b, "issue", 10, 1, holder_roles=[])  # 1 opened the poll on M1
    b.appoint(10, "新监委", "supervisor")
    b.object(M1)
    index = b.size
    b.reply(M1, 1, person=10)
    assert_fails(b, index, "semantics", "[admin.checker_login]")


def test_a_log_without_account_records_still_verifies() -> None:
    b, members = assembly(8)
    b.open_poll(M1)
    b.paper_confirm(1, person=5, entered_by=1)
    b.cast(members[0], "yes", "paper")
    assert_ok(b)
