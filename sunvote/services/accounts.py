"""Accounts: check a login, change a password (hashed with scrypt via werkzeug), end every
session of an account, record every account event in the ledger, and who issued the login a
confirmation is made with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from sunvote.domain.administration import checker_login_refusal
from sunvote.domain.errors import N_, Conflict, InvalidField
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Account, Person, RoleAssignment, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services.access import roles_in_village
from sunvote.services.unit_of_work import use_case


class AccountLocked(Conflict):
    """Too many wrong passwords: the account waits before it accepts one again."""

    status = 429


# Checked against when the user name is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


#: Wrong passwords in a row before an account is locked, and for how long: a 6-digit phone PIN
#: or a weak password cannot be guessed from the login page.
LOGIN_ATTEMPTS = 5
LOCK_TIME = dt.timedelta(minutes=15)


@use_case
def authenticate(username: str, password: str,
                 now: dt.datetime | None = None) -> Account | None:
    """The enabled account with these credentials (its last login time updated), or None.
    After LOGIN_ATTEMPTS wrong passwords in a row the account refuses every password for
    LOCK_TIME (raises AccountLocked); a password reset by the clerk lifts the lock."""
    now = now or utcnow()
    account = db.session.execute(
        select(Account).where(Account.username == username.strip())
    ).scalar_one_or_none()
    if account is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if account.locked_until is not None and account.locked_until > now:
        check_password_hash(_DUMMY_HASH, password)
        raise AccountLocked("access.login_attempts",
                            N_("密码错误次数过多，账号已暂时锁定，请%(minutes)s分钟后再试，"
                               "或请村务工作者重置密码"),
                            minutes=max(1, int((account.locked_until - now).total_seconds()
                                               // 60) + 1))
    if not check_password_hash(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= LOGIN_ATTEMPTS:
            account.locked_until = now + LOCK_TIME
            account.failed_logins = 0
        return None
    if account.disabled:
        return None
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    return account


@use_case
def change_password(account_id: int, current: str, new: str,
                    now: dt.datetime | None = None) -> None:
    """Set a new password after checking the current one (anyone may, always, for their own
    login); recorded as ``account.password``. It does not change who issued the login: whoever
    set the temporary password could have made this change too."""
    now = now or utcnow()
    account = db.session.get(Account, account_id)
    if account is None or not check_password_hash(account.password_hash, current):
        raise InvalidField("input.invalid", N_("当前密码不正确"))
    if len(new) < 8:
        raise InvalidField("input.invalid", N_("新密码至少8位"))
    account.password_hash = generate_password_hash(new)
    account.must_change_password = False
    end_every_session(account)
    record_account_event("password", account.person, None, now)


def end_every_session(account: Account) -> None:
    """End every login session of ``account``, on every browser: each session carries the
    account's session epoch from its login (Account.get_id), and the user loader refuses a
    session whose epoch is no longer the account's. Called by logout, a password change or
    reset, and disabling the account, inside their transaction."""
    account.session_epoch = (account.session_epoch or 0) + 1


@use_case
def log_out(account_id: int) -> None:
    """Logging out ends every session of the account, not only this browser's: a copy of the
    session cookie (a shared computer, a stolen cookie) stops working too."""
    account = db.session.get(Account, account_id)
    if account is not None:
        end_every_session(account)


#: The roles an account event's actor is recorded in, in order of preference.
_MANAGER_ROLES = (Role.TOWNSHIP_ADMIN, Role.DISTRICT_ADMIN, Role.COMMITTEE_DIRECTOR, Role.CLERK)


def logs_of(person: Person) -> list[Village]:
    """The village logs a person's account events belong in: their village's, or for a
    township official every village log of the townships they hold (or held) a role in; none
    for a district administrator (district roles are in no village log)."""
    if person.village_id is not None:
        village = db.session.get(Village, person.village_id)
        return [village] if village is not None else []
    townships = select(RoleAssignment.township_id).where(
        RoleAssignment.person_id == person.id, RoleAssignment.township_id.is_not(None))
    return list(db.session.execute(select(Village).where(
        Village.township_id.in_(townships)).order_by(Village.id)).scalars())


def record_account_event(event: str, holder: Person, actor_id: int | None,
                         now: dt.datetime) -> None:
    """Append ``account.<event>`` about ``holder``'s login to each log it belongs in: the roles
    the holder holds there, and who did it in which role (``actor_id`` None: the holder
    themself, for ``password``). Never the user name, password, phone or ID number."""
    actor = None if actor_id is None else db.session.get(Person, actor_id)
    for village in logs_of(holder):
        held = sorted(r.value for r in roles_in_village(holder.id, village, now))
        body: dict[str, object] = {"holder": holder.id, "holder_name": holder.name,
                                   "holder_roles": held}
        if actor is not None:
            roles = roles_in_village(actor.id, village, now)
            role = next((r for r in _MANAGER_ROLES if r in roles), None)
            body.update({"person": actor.id, "name": actor.name,
                         "role": role.value if role is not None else "member"})
        body["at"] = ledger.iso(now)
        ledger.append(village, f"account.{event}", body)


def issuer_of(person_id: int) -> int | None:
    """Who issued ``person_id``'s login or last reset its password (None if unknown)."""
    return db.session.execute(select(Account.issued_by_id).where(
        Account.person_id == person_id)).scalar_one_or_none()


def check_checker_login(checker: int, checked: Collection[int]) -> None:
    """Refuse a confirmation by ``checker`` whose login was issued or last reset by one of
    ``checked``, the people whose work is being confirmed (admin.checker_login)."""
    refusal = checker_login_refusal(checker, issuer_of(checker), checked)
    if refusal is not None:
        raise refusal
