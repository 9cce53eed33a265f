"""Who may administer what: townships, villages, the village register, accounts and settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sunvote.domain.errors import N_, InvalidField, MsgList, NotPermitted
from sunvote.domain.roles import Role

#: Keep a village's register (households, villagers, role terms, imports, logins): the village's
#: clerk or committee director, and the township administrator (who also appoints the clerk).
REGISTER_KEEPERS: frozenset[Role] = frozenset({Role.CLERK, Role.COMMITTEE_DIRECTOR,
                                               Role.TOWNSHIP_ADMIN})

#: See villagers' ID and phone numbers: those who keep the register. Everyone else, and the
#: public, sees names and roles only.
PERSONAL_DATA_READERS: frozenset[Role] = REGISTER_KEEPERS

#: Create villages, set the township's rules, disable accounts: the township administrator
#: (and the district administrator, above every township).
TOWNSHIP_ADMINS: frozenset[Role] = frozenset({Role.TOWNSHIP_ADMIN, Role.DISTRICT_ADMIN})

#: The village roles a register keeper may appoint; township and district roles are appointed by
#: the level above (a township admin by the district, a reviewer by the township admin).
VILLAGE_APPOINTABLE: tuple[Role, ...] = (
    Role.COMMITTEE_DIRECTOR, Role.COMMITTEE_MEMBER, Role.PARTY_SECRETARY,
    Role.PARTY_BRANCH_MEMBER, Role.REPRESENTATIVE, Role.SUPERVISOR_CHAIR, Role.SUPERVISOR,
    Role.CLERK)

#: Roles a village cannot work without; a vacancy, or a term that ran out, shows as a warning.
KEY_VILLAGE_ROLES: tuple[Role, ...] = (Role.PARTY_SECRETARY, Role.COMMITTEE_DIRECTOR,
                                       Role.SUPERVISOR_CHAIR, Role.CLERK)


def register_keeper_refusal(roles: Collection[Role]) -> NotPermitted | None:
    """Why ``roles`` (those reaching the village) may not keep its register — add, change or
    import people and terms (REGISTER_KEEPERS) — or None. The offline verifier checks each
    ``register.import`` with it."""
    if set(roles) & REGISTER_KEEPERS:
        return None
    return NotPermitted("admin.register_keeper",
                        N_("只有村务工作者、村委会主任或乡镇管理员可以维护本村花名册"))


def check_register_keeper(roles: Collection[Role]) -> None:
    """Refuse unless ``roles`` (those reaching the village) may keep its register."""
    refusal = register_keeper_refusal(roles)
    if refusal is not None:
        raise refusal


def check_township_admin(roles: Collection[Role]) -> None:
    """Refuse unless ``roles`` (those reaching the township) include its administrator."""
    if not set(roles) & TOWNSHIP_ADMINS:
        raise NotPermitted("admin.township_admin",
                           N_("只有乡镇管理员可以管理本乡镇的村、设置和账号"))


def check_district_admin(roles: Collection[Role]) -> None:
    """Refuse unless ``roles`` include the district administrator."""
    if Role.DISTRICT_ADMIN not in roles:
        raise NotPermitted("admin.district_admin", N_("只有区级管理员可以新建乡镇及其管理员"))


def check_term_end(starts_on: dt.date, current_end: dt.date | None, last_day: dt.date,
                   today: dt.date) -> None:
    """A term may be ended early, never extended, and not before yesterday: steps taken under
    the term were judged by it, so ending it in the past would rewrite history."""
    if last_day < starts_on:
        raise InvalidField("admin.term_end", N_("任期结束日期不能早于任期开始日期%(start)s"),
                           start=starts_on.isoformat())
    if current_end is not None and last_day > current_end:
        raise InvalidField("admin.term_end",
                           N_("只能提前结束任期，不能延长（原定结束日期%(end)s）；连任请重新任命"),
                           end=current_end.isoformat())
    if last_day < today - dt.timedelta(days=1):
        raise InvalidField("admin.term_end",
                           N_("任期最后一天不能早于昨天：此前办理的事项已按原任期记录"))


#: Close relatives (近亲属) for the supervisory-committee bar (组织法 art. 32): the relations the
#: civil law names (民法典 art. 1045), as the register records them.
CLOSE_RELATIONS: tuple[str, ...] = (N_("配偶"), N_("父母"), N_("子女"), N_("兄弟姐妹"),
                                    N_("祖父母、外祖父母"), N_("孙子女、外孙子女"))

#: Township roles the township admin appoints (the district appoints the first admin).
TOWNSHIP_APPOINTABLE: tuple[Role, ...] = (Role.TOWNSHIP_REVIEWER, Role.TOWNSHIP_ADMIN)


#: Logins only the township (its administrator, or the district's) issues or resets: those of
#: the people who check the clerk — the supervisory committee — and the party secretary, who
#: proposes every matter. A clerk who could hand themself such a login could act as its holder.
#: Representatives' logins stay with the register keepers (there are dozens; the clerk sits with
#: them); every account event of anyone is a ledger record all the same.
TOWNSHIP_ISSUED_LOGINS: frozenset[Role] = frozenset({Role.SUPERVISOR_CHAIR, Role.SUPERVISOR,
                                                     Role.PARTY_SECRETARY})

#: Account events, each a ledger record in the holder's village log (or, for a township
#: official, in every village log of their township): ``account.<event>``.
ACCOUNT_EVENTS: tuple[str, ...] = ("issue", "reset", "disable", "enable", "password")


def login_issuer_refusal(actor: int, holder: int, actor_roles: Collection[Role],
                         holder_roles: Collection[Role]) -> NotPermitted | None:
    """Whether ``actor`` (holding ``actor_roles`` where ``holder`` is registered) may issue or
    reset the login of ``holder`` (holding ``holder_roles`` there): anyone their own; the
    township administrator anyone's; nobody else the login of a supervisory committee member
    or party secretary. (Who else may manage which logins at all is check_register_keeper's.)"""
    if actor == holder or set(actor_roles) & TOWNSHIP_ADMINS:
        return None
    held = set(holder_roles) & TOWNSHIP_ISSUED_LOGINS
    if held:
        return NotPermitted("admin.login_issuer",
                            N_("%(roles)s的登录账号只能由乡镇管理员开通或重置（本人可以修改自己的密码）"),
                            roles=MsgList(sorted(r.label for r in held)))
    return None


def login_resetters(holder_roles: Collection[Role], in_village: bool) -> frozenset[Role]:
    """Who may reset the login of someone holding ``holder_roles`` (where they are registered:
    a village, or a township office when ``in_village`` is False), as check_register_keeper and
    login_issuer_refusal decide it: the page for a person who forgot their password names them."""
    if not in_village or set(holder_roles) & TOWNSHIP_ISSUED_LOGINS:
        return TOWNSHIP_ADMINS
    return REGISTER_KEEPERS | TOWNSHIP_ADMINS


def checker_login_refusal(checker: int, issuer: int | None,
                          checked: Collection[int]) -> NotPermitted | None:
    """Whether ``checker`` may confirm the work of ``checked`` (the people whose act is being
    confirmed: who entered the paper ballots, who recorded the implementation progress, who ran
    the vote an objection is about). Refused when the checker's login was issued, or last
    reset, by one of them (``issuer``; None when unknown, e.g. a log from before account
    records): that person may know the password and be confirming their own work."""
    if issuer is not None and issuer != checker and issuer in set(checked):
        return NotPermitted("admin.checker_login",
                            N_("您的登录账号是由被确认的人开通或重置的，不能由您确认；"
                               "请乡镇管理员重置您的密码后再确认"))
    return None
