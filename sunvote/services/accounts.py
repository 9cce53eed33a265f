"""Accounts: check a login, change a password (hashed with scrypt via werkzeug)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from sunvote.domain.errors import N_, Conflict, InvalidField
from sunvote.extensions import db
from sunvote.models import Account
from sunvote.models.base import utcnow
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
def change_password(account_id: int, current: str, new: str) -> None:
    """Set a new password after checking the current one."""
    account = db.session.get(Account, account_id)
    if account is None or not check_password_hash(account.password_hash, current):
        raise InvalidField("input.invalid", N_("当前密码不正确"))
    if len(new) < 8:
        raise InvalidField("input.invalid", N_("新密码至少8位"))
    account.password_hash = generate_password_hash(new)
    account.must_change_password = False
