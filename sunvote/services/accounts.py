"""Accounts: check a login (within the login limits), change a password (hashed with scrypt:
services/passwords.py), end every session of an account, record every account event in the
ledger, and who issued the login a confirmation is made with."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from sunvote.domain.administration import checker_login_refusal
from sunvote.domain.errors import N_, InvalidField
from sunvote.domain.login import (
    ADDRESS_FAILURES,
    ADDRESS_WINDOW_MINUTES,
    KNOWN_BROWSER_DAYS,
    KNOWN_FAILURES,
    KNOWN_WINDOW_MINUTES,
    waiting_until,
)
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Account, Person, RoleAssignment, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services import limits as counters
from sunvote.services.access import roles_in_village
from sunvote.services.passwords import hash_secret, secret_matches, spend_a_check
from sunvote.services.unit_of_work import use_case

#: The cookie that marks a browser where an account logged in before (docs/operations.md,
#: "Login limits"): signed, it names the accounts and a random id of the browser.
KNOWN_BROWSER_COOKIE = "sunvote_known"
_KNOWN_SALT = "sunvote-known-browser"
#: The most accounts one browser is remembered for (a shared village-office PC).
_KNOWN_ACCOUNTS = 8


def _known_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=_KNOWN_SALT)


def _read_known(cookie: str | None) -> tuple[str, list[int]] | None:
    """The browser id and accounts a known-browser cookie names (None if absent, forged or
    expired)."""
    if not cookie:
        return None
    try:
        data = _known_serializer().loads(cookie, max_age=KNOWN_BROWSER_DAYS * 24 * 3600)
    except BadData:
        return None
    if (not isinstance(data, dict) or not isinstance(data.get("b"), str)
            or not isinstance(data.get("a"), list)
            or not all(isinstance(a, int) for a in data["a"])):
        return None
    return data["b"], list(data["a"])


def known_browser(cookie: str | None, account_id: int) -> str:
    """The known-browser cookie to set after ``account_id`` logged in: the browser's (or a new)
    id, with this account first among those remembered."""
    known = _read_known(cookie)
    browser, accounts = known if known is not None else (secrets.token_urlsafe(16), [])
    accounts = [account_id, *[a for a in accounts if a != account_id]][:_KNOWN_ACCOUNTS]
    return _known_serializer().dumps({"b": browser, "a": accounts})


@use_case
def authenticate(username: str, password: str, *, address: str = "-",
                 known: str | None = None, now: dt.datetime | None = None) -> Account | None:
    """The enabled account with these credentials (its last login time updated), or None: the
    caller gives every None the one answer of :func:`sunvote.domain.login.login_refused`.

    Limits (docs/operations.md, "Login limits"): after wrong passwords an account waits
    (:func:`~sunvote.domain.login.login_delay`); an address with ADDRESS_FAILURES failed logins
    lately is refused. Neither applies in a browser where the account logged in before
    (``known``, the known-browser cookie), so no one can keep the owner out by failing on
    purpose; that browser has KNOWN_FAILURES tries of its own. While an account or address
    waits, no password is looked at. A password reset by the clerk lifts the account's wait."""
    now = now or utcnow()
    stmt = select(Account).where(Account.username == username.strip())
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # parallel guesses at one account take turns
    account = db.session.execute(stmt).scalar_one_or_none()
    at_address = counters.key("login-address", address or "-")
    browser = None
    if account is not None and (remembered := _read_known(known)) is not None \
            and account.id in remembered[1]:
        browser = counters.key("login-browser", f"{remembered[0]}:{account.id}")
        if counters.exhausted(KNOWN_FAILURES, KNOWN_WINDOW_MINUTES, browser):
            browser = None  # tried too often here too: treated like any other browser
    if browser is None and (
            counters.exhausted(ADDRESS_FAILURES, ADDRESS_WINDOW_MINUTES, at_address)
            or (account is not None and account.locked_until is not None
                and account.locked_until > now)):
        spend_a_check(password)
        return None
    if account is None:
        spend_a_check(password)
        counters.count(ADDRESS_FAILURES, ADDRESS_WINDOW_MINUTES, at_address)
        return None
    if not secret_matches(account.password_hash, password):
        if browser is not None:
            counters.count(KNOWN_FAILURES, KNOWN_WINDOW_MINUTES, browser)
        else:
            account.failed_logins += 1
            account.locked_until = waiting_until(account.failed_logins, now)
            counters.count(ADDRESS_FAILURES, ADDRESS_WINDOW_MINUTES, at_address)
        return None
    if account.disabled:
        return None
    if browser is None:  # the owner's own browser does not clear an attacker's count
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
    if account is None or not secret_matches(account.password_hash, current):
        raise InvalidField("input.invalid", N_("当前密码不正确"))
    if len(new) < 8:
        raise InvalidField("input.invalid", N_("新密码至少8位"))
    account.password_hash = hash_secret(new)
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
