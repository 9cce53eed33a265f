"""Accounts: check a login, change a password (hashed with scrypt via werkzeug)."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from sunvote.domain.errors import N_, InvalidField
from sunvote.extensions import db
from sunvote.models import Account
from sunvote.models.base import utcnow
from sunvote.services.unit_of_work import use_case

# Checked against when the user name is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


@use_case
def authenticate(username: str, password: str) -> Account | None:
    """The enabled account with these credentials (its last login time updated), or None."""
    account = db.session.execute(
        select(Account).where(Account.username == username.strip())
    ).scalar_one_or_none()
    if account is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(account.password_hash, password) or account.disabled:
        return None
    account.last_login_at = utcnow()
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
