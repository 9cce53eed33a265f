"""District and township administration: townships with their administrators, villages with their
clerks, the township's settings, and logins (create, reset password, disable), each account
event a ledger record."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select

from sunvote.domain.administration import (
    TOWNSHIP_ADMINS,
    TOWNSHIP_APPOINTABLE,
    check_district_admin,
    check_register_keeper,
    check_township_admin,
    login_issuer_refusal,
)
from sunvote.domain.errors import N_, Conflict, InvalidField, NotFound, NotPermitted
from sunvote.domain.roles import Role
from sunvote.domain.settings import SETTINGS_BY_KEY, encode_setting, validate_setting
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import Account, Person, RoleAssignment, Township, Village
from sunvote.models.base import utcnow
from sunvote.services import settings as settings_service
from sunvote.services.access import local_date, roles_in_village, term_in_force
from sunvote.services.accounts import end_every_session, record_account_event
from sunvote.services.passwords import hash_secret
from sunvote.services.roster import appoint
from sunvote.services.unit_of_work import use_case
from sunvote.services.villages import create_township, create_village

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,40}$")
#: Temporary passwords avoid look-alike characters (0/O, 1/l/I): they are read out or copied
#: from a screen by the person who then must change them.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class NewLogin:
    """A login just made or reset: the password is shown once and never stored in clear."""

    account: Account
    password: str


def roles_in_township(person_id: int, township_id: int, now: dt.datetime) -> frozenset[Role]:
    """The township and district roles ``person_id`` holds today that reach the township."""
    day = local_date(now)
    rows = db.session.execute(
        select(RoleAssignment.role).where(
            RoleAssignment.person_id == person_id,
            term_in_force(day),
            or_(RoleAssignment.township_id == township_id,
                RoleAssignment.role == Role.DISTRICT_ADMIN.value))
    ).scalars()
    return frozenset(Role(r) for r in rows)


def district_roles(person_id: int, now: dt.datetime) -> frozenset[Role]:
    """{DISTRICT_ADMIN} if ``person_id`` holds it today, else empty."""
    day = local_date(now)
    held = db.session.execute(
        select(RoleAssignment.id).where(
            RoleAssignment.person_id == person_id,
            RoleAssignment.role == Role.DISTRICT_ADMIN.value, term_in_force(day))
    ).first()
    return frozenset({Role.DISTRICT_ADMIN}) if held else frozenset()


def _username(value: str) -> str:
    name = (value or "").strip()
    if not USERNAME.match(name):
        raise InvalidField("input.invalid",
                           N_("用户名须为3至40位字母、数字或 _ . @ -（通常用手机号）"))
    if db.session.execute(select(Account.id).where(Account.username == name)).first():
        raise Conflict("input.invalid", N_("用户名“%(name)s”已被使用"), name=name)
    return name


def temporary_password() -> str:
    """A random 10-character password to hand over; the person must change it at first login."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(10))


def _new_login(person: Person, username: str, issuer: int | None) -> NewLogin:
    if person.account is not None:
        raise Conflict("input.invalid", N_("%(name)s已有登录账号"), name=person.name)
    password = temporary_password()
    account = Account(person_id=person.id, username=_username(username),
                      password_hash=hash_secret(password), must_change_password=True,
                      issued_by_id=issuer)
    db.session.add(account)
    db.session.flush()
    return NewLogin(account, password)


@use_case
def create_township_with_admin(actor_id: int, code: str, name: str, admin_name: str,
                               admin_username: str, now: dt.datetime | None = None
                               ) -> tuple[Township, NewLogin]:
    """The district creates a township (with its witness key) and its first administrator, who
    gets a login with a temporary password."""
    now = now or utcnow()
    check_district_admin(district_roles(actor_id, now))
    township = create_township(code, name)
    person = Person(name=clean_text(admin_name, N_("管理员姓名"), max_length=60))
    db.session.add(person)
    db.session.flush()
    # A new township has no village log yet: nothing to record the login in.
    login = _new_login(person, admin_username, actor_id)
    appoint(person.id, Role.TOWNSHIP_ADMIN, local_date(now), township_id=township.id, now=now)
    return township, login


@use_case
def create_village_with_clerk(actor_id: int, township_id: int, code: str, name: str,
                              clerk_name: str, clerk_username: str,
                              now: dt.datetime | None = None) -> tuple[Village, NewLogin]:
    """The township creates a village (its log key and first records) and appoints its clerk,
    a villager of it with a login and a temporary password."""
    now = now or utcnow()
    check_township_admin(roles_in_township(actor_id, township_id, now))
    village = create_village(township_id, code, name, now=now)
    clerk = Person(name=clean_text(clerk_name, N_("村务工作者姓名"), max_length=60),
                   village_id=village.id)
    db.session.add(clerk)
    db.session.flush()
    login = _new_login(clerk, clerk_username, actor_id)
    appoint(clerk.id, Role.CLERK, local_date(now), village_id=village.id, now=now)
    record_account_event("issue", clerk, actor_id, now)
    return village, login


@use_case
def change_settings(actor_id: int, township_id: int, values: Mapping[str, object],
                    now: dt.datetime | None = None) -> list[str]:
    """Set several township settings at once; only those that differ from the values in force
    are recorded. One bad value refuses the whole change. Returns the keys changed."""
    now = now or utcnow()
    # Only the township's own administrator: the village logs record who set each rule, and
    # the verifier checks that person was the township admin on that day.
    if Role.TOWNSHIP_ADMIN not in roles_in_township(actor_id, township_id, now):
        raise NotPermitted("admin.township_admin", N_("只有乡镇管理员可以修改乡镇设置"))
    current = settings_service.township_settings(township_id)
    changed: list[str] = []
    for key, value in values.items():
        if key not in SETTINGS_BY_KEY:
            raise InvalidField("input.invalid", N_("没有名为“%(key)s”的设置"), key=key)
        parsed = validate_setting(key, value)
        if encode_setting(parsed) != encode_setting(current[key]):
            changed.append(key)
    for key in changed:
        settings_service.change_setting(township_id, key, values[key], actor_id, now=now)
    return changed


def _person(person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound("input.invalid", N_("没有这个人员"))
    return person


def _admin_of_their_township(actor_id: int, person: Person, now: dt.datetime) -> bool:
    """Whether ``actor_id`` administers a township where ``person`` holds (or held) a role."""
    townships = set(db.session.execute(
        select(RoleAssignment.township_id).where(RoleAssignment.person_id == person.id,
                                                 RoleAssignment.township_id.is_not(None))
    ).scalars())
    return any(roles_in_township(actor_id, t, now) & TOWNSHIP_ADMINS for t in townships
               if t is not None)


def login_refusal(actor_id: int, person: Person, now: dt.datetime) -> NotPermitted | None:
    """Why ``actor_id`` may not issue or reset ``person``'s login, or None. A village's
    register keepers manage its villagers' logins, except those of its supervisory committee
    and party secretary, which only the township admin issues and resets
    (domain.administration.login_issuer_refusal); a township admin manages the logins of people
    holding township roles there; the district admin manages everyone's. The pages ask this to
    decide what to offer."""
    try:
        check_may_manage_login(actor_id, person, now)
    except NotPermitted as refused:
        return refused
    return None


def check_may_manage_login(actor_id: int, person: Person, now: dt.datetime) -> None:
    """Refuse unless ``actor_id`` may issue or reset ``person``'s login (see login_refusal)."""
    if Role.DISTRICT_ADMIN in district_roles(actor_id, now):
        return
    if person.village_id is not None:
        village = db.session.get(Village, person.village_id)
        assert village is not None
        roles = roles_in_village(actor_id, village, now)
        check_register_keeper(roles)
        refusal = login_issuer_refusal(actor_id, person.id, roles,
                                       roles_in_village(person.id, village, now))
        if refusal is not None:
            raise refusal
        return
    if not _admin_of_their_township(actor_id, person, now):
        raise NotPermitted("admin.township_admin",
                           N_("只有乡镇管理员可以管理本乡镇的村、设置和账号"))


@use_case
def create_login(actor_id: int, person_id: int, username: str,
                 now: dt.datetime | None = None) -> NewLogin:
    """Give a person a login (user name usually their phone number) with a temporary password."""
    now = now or utcnow()
    person = _person(person_id)
    check_may_manage_login(actor_id, person, now)
    login = _new_login(person, username, actor_id)
    record_account_event("issue", person, actor_id, now)
    return login


@use_case
def reset_password(actor_id: int, person_id: int, now: dt.datetime | None = None) -> NewLogin:
    """A new temporary password; the person must change it at their next login."""
    now = now or utcnow()
    person = _person(person_id)
    check_may_manage_login(actor_id, person, now)
    account = person.account
    if account is None:
        raise NotFound("input.invalid", N_("%(name)s还没有登录账号"), name=person.name)
    password = temporary_password()
    account.password_hash = hash_secret(password)
    account.must_change_password = True
    account.failed_logins = 0
    account.locked_until = None
    account.issued_by_id = actor_id
    end_every_session(account)
    record_account_event("reset", person, actor_id, now)
    return NewLogin(account, password)


@use_case
def set_login_disabled(actor_id: int, person_id: int, disabled: bool,
                       now: dt.datetime | None = None) -> Account:
    """A township (or district) administrator disables a login, or enables it again."""
    now = now or utcnow()
    person = _person(person_id)
    account = person.account
    if account is None:
        raise NotFound("input.invalid", N_("%(name)s还没有登录账号"), name=person.name)
    if person.id == actor_id:
        raise Conflict("input.invalid", N_("不能停用自己的账号"))
    allowed = Role.DISTRICT_ADMIN in district_roles(actor_id, now)
    if not allowed and person.village_id is not None:
        village = db.session.get(Village, person.village_id)
        assert village is not None
        allowed = bool(roles_in_township(actor_id, village.township_id, now) & TOWNSHIP_ADMINS)
    elif not allowed:
        allowed = _admin_of_their_township(actor_id, person, now)
    if not allowed:
        raise NotPermitted("admin.township_admin",
                           N_("只有乡镇管理员可以停用或启用账号"))
    account.disabled = disabled
    if disabled:
        end_every_session(account)
    record_account_event("disable" if disabled else "enable", person, actor_id, now)
    return account


@use_case
def appoint_township_official(actor_id: int, township_id: int, name: str, username: str,
                              role: Role, now: dt.datetime | None = None) -> NewLogin:
    """The township admin adds a reviewer (step 4) or another administrator, with a login; the
    appointment is recorded in every village log of the township."""
    now = now or utcnow()
    check_township_admin(roles_in_township(actor_id, township_id, now))
    if role not in TOWNSHIP_APPOINTABLE:
        raise InvalidField("input.invalid", N_("请选择乡镇职务"))
    person = Person(name=clean_text(name, N_("姓名"), max_length=60))
    db.session.add(person)
    db.session.flush()
    login = _new_login(person, username, actor_id)
    appoint(person.id, role, local_date(now), township_id=township_id, now=now)
    record_account_event("issue", person, actor_id, now)
    return login


@use_case
def create_district_admin(name: str, username: str, now: dt.datetime | None = None) -> NewLogin:
    """The first district administrator of an installation (from the command line, which runs
    with the database's own rights), with a temporary password."""
    now = now or utcnow()
    person = Person(name=clean_text(name, N_("姓名"), max_length=60))
    db.session.add(person)
    db.session.flush()
    # From the command line: no actor, and district roles are in no village log.
    login = _new_login(person, username, None)
    appoint(person.id, Role.DISTRICT_ADMIN, local_date(now), now=now)
    return login
