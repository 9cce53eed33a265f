"""Roster checks of the assembly and the supervisory committee (组织法 arts. 25 and 32)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sunvote.domain.errors import N_, Msg, RosterRefusal
from sunvote.domain.roles import ASSEMBLY_ROLES, SUPERVISOR_ROLES, Role


@dataclass(frozen=True)
class RosterMember:
    """A person with the village roles they hold today."""

    person_id: int
    name: str
    roles: frozenset[Role]
    female: bool
    households_represented: int | None = None
    accounting_skill: bool = False


@dataclass(frozen=True)
class RosterWarning:
    """A roster problem the law asks to fix; shown, never blocking."""

    rule: str
    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)


#: Households each representative is chosen by: one per five to fifteen (组织法 art. 25).
HOUSEHOLDS_PER_REPRESENTATIVE = (5, 15)


@dataclass(frozen=True)
class RosterCounts:
    """What the roster checks read: people counted once whatever their number of roles."""

    assembly: int  # members of the assembly (village committee and representatives)
    representatives: int
    women_representatives: int
    supervisors: int
    supervisors_with_accounting: int
    #: Representatives whose households fall outside HOUSEHOLDS_PER_REPRESENTATIVE: (name, n).
    households_off_range: tuple[tuple[str, int], ...] = ()


def households_in_range(n: int) -> bool:
    """Whether a representative's number of households is within the law's range."""
    low, high = HOUSEHOLDS_PER_REPRESENTATIVE
    return low <= n <= high


def roster_counts(members: Sequence[RosterMember]) -> RosterCounts:
    """Count a village roster for :func:`counted_roster_warnings`."""
    assembly = [m for m in members if m.roles & ASSEMBLY_ROLES]
    reps = [m for m in assembly if Role.REPRESENTATIVE in m.roles]
    supervisors = [m for m in members if m.roles & SUPERVISOR_ROLES]
    return RosterCounts(
        assembly=len(assembly), representatives=len(reps),
        women_representatives=sum(1 for m in reps if m.female),
        supervisors=len(supervisors),
        supervisors_with_accounting=sum(1 for m in supervisors if m.accounting_skill),
        households_off_range=tuple(
            (m.name, m.households_represented) for m in reps
            if m.households_represented is not None
            and not households_in_range(m.households_represented)))


def roster_warnings(members: Sequence[RosterMember]) -> list[RosterWarning]:
    """Warnings for a village roster: representative and women shares, households per
    representative, and accounting skill on the supervisory committee."""
    return counted_roster_warnings(roster_counts(members))


def counted_roster_warnings(counts: RosterCounts) -> list[RosterWarning]:
    """The roster warnings from a village's counts (the dashboards count in SQL)."""
    warnings: list[RosterWarning] = []
    if counts.assembly:
        # Representatives at least 4/5 of the assembly's members (art. 25).
        if 5 * counts.representatives < 4 * counts.assembly:
            warnings.append(RosterWarning(
                "roster.representative_share",
                N_("村民代表%(reps)s人，占会议组成人员%(total)s人的比例低于五分之四"),
                {"reps": counts.representatives, "total": counts.assembly}))
        # Women representatives at least 1/3 of the assembly's members (art. 25).
        if 3 * counts.women_representatives < counts.assembly:
            warnings.append(RosterWarning(
                "roster.women_share",
                N_("妇女村民代表%(women)s人，低于会议组成人员%(total)s人的三分之一"),
                {"women": counts.women_representatives, "total": counts.assembly}))
    for name, n in counts.households_off_range:
        warnings.append(RosterWarning(
            "roster.households_per_representative",
            N_("村民代表%(name)s联系%(n)s户，不在每五户至十五户推选一人的范围内"),
            {"name": name, "n": n}))
    if counts.supervisors and not counts.supervisors_with_accounting:
        warnings.append(RosterWarning(
            "roster.supervisor_accounting",
            N_("村务监督委员会成员中没有具备财会、管理知识的人员")))
    return warnings


def check_supervisor_appointment(candidate_id: int, committee_ids: Collection[int],
                                 kin: Collection[tuple[int, int]]) -> None:
    """Refuse to appoint a village committee member, or a close relative of one, to the
    supervisory committee (组织法 art. 32). ``kin`` holds unordered pairs of close relatives."""
    if candidate_id in committee_ids:
        raise RosterRefusal("roster.supervisor_kin_bar",
                            N_("村民委员会成员不得担任村务监督委员会成员"))
    if _relatives(candidate_id, kin) & set(committee_ids):
        raise RosterRefusal("roster.supervisor_kin_bar",
                            N_("村民委员会成员的近亲属不得担任村务监督委员会成员"))


def check_committee_appointment(candidate_id: int, supervisor_ids: Collection[int],
                                kin: Collection[tuple[int, int]]) -> None:
    """The same bar from the other side: appointing a sitting supervisor, or a close relative of
    one, to the village committee would put them in breach of art. 32."""
    if candidate_id in supervisor_ids:
        raise RosterRefusal("roster.supervisor_kin_bar",
                            N_("村务监督委员会成员不得同时担任村民委员会成员"))
    if _relatives(candidate_id, kin) & set(supervisor_ids):
        raise RosterRefusal("roster.supervisor_kin_bar",
                            N_("村务监督委员会成员的近亲属不得担任村民委员会成员"))


def _relatives(person_id: int, kin: Collection[tuple[int, int]]) -> set[int]:
    """Everyone paired with ``person_id`` in ``kin``."""
    return {b if a == person_id else a for a, b in kin if person_id in (a, b)}


@dataclass(frozen=True)
class Term:
    """A term someone held or holds in a village role (for the term warnings)."""

    person_id: int
    name: str
    role: Role
    starts_on: dt.date
    ends_on: dt.date | None


#: How far back an expired term is still worth a warning, and how soon an ending one is.
EXPIRED_LOOKBACK = dt.timedelta(days=365)
ENDING_SOON = dt.timedelta(days=30)


def term_warnings(terms: Sequence[Term], key_roles: Sequence[Role],
                  today: dt.date) -> list[RosterWarning]:
    """Warnings about terms: a key role nobody holds today (vacant, or its last term ran out),
    a term that ran out in the past year without being renewed, and a term ending within 30 days.
    Terms end by themselves on their last day; these warnings ask someone to act."""
    warnings: list[RosterWarning] = []
    active = [t for t in terms if t.starts_on <= today and (t.ends_on is None
                                                             or today <= t.ends_on)]
    held = {(t.person_id, t.role) for t in active}
    for role in key_roles:
        if any(t.role is role for t in active):
            continue
        past = [t for t in terms if t.role is role and t.ends_on is not None
                and t.ends_on < today]
        if past:
            last = max(past, key=lambda t: t.ends_on or today)
            warnings.append(RosterWarning(
                "roster.term_expired",
                N_("%(role)s一职目前无人担任：%(name)s的任期已于%(end)s结束"),
                {"role": Msg(role.label), "name": last.name,
                 "end": (last.ends_on or today).isoformat()}))
        else:
            warnings.append(RosterWarning("roster.vacant_role", N_("%(role)s一职目前无人担任"),
                                          {"role": Msg(role.label)}))
    for t in sorted(terms, key=lambda t: (t.ends_on or today, t.person_id)):
        if t.ends_on is None:
            continue
        if today - EXPIRED_LOOKBACK <= t.ends_on < today and (t.person_id, t.role) not in held \
                and t.role not in key_roles:
            warnings.append(RosterWarning(
                "roster.term_expired",
                N_("%(name)s的%(role)s任期已于%(end)s结束，未连任或改选"),
                {"name": t.name, "role": Msg(t.role.label), "end": t.ends_on.isoformat()}))
        elif today <= t.ends_on <= today + ENDING_SOON:
            warnings.append(RosterWarning(
                "roster.term_ending",
                N_("%(name)s的%(role)s任期将于%(end)s结束"),
                {"name": t.name, "role": Msg(t.role.label), "end": t.ends_on.isoformat()}))
    return warnings
