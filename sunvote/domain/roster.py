"""Roster checks of the assembly and the supervisory committee (组织法 arts. 25 and 32)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sunvote.domain.errors import N_, RosterRefusal
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


def roster_warnings(members: Sequence[RosterMember]) -> list[RosterWarning]:
    """Warnings for a village roster: representative and women shares, households per
    representative, and accounting skill on the supervisory committee."""
    warnings: list[RosterWarning] = []
    assembly = [m for m in members if m.roles & ASSEMBLY_ROLES]
    reps = [m for m in assembly if Role.REPRESENTATIVE in m.roles]
    if assembly:
        # Representatives at least 4/5 of the assembly's members (art. 25).
        if 5 * len(reps) < 4 * len(assembly):
            warnings.append(RosterWarning(
                "roster.representative_share",
                N_("村民代表%(reps)s人，占会议组成人员%(total)s人的比例低于五分之四"),
                {"reps": len(reps), "total": len(assembly)}))
        # Women representatives at least 1/3 of the assembly's members (art. 25).
        women = sum(1 for m in reps if m.female)
        if 3 * women < len(assembly):
            warnings.append(RosterWarning(
                "roster.women_share",
                N_("妇女村民代表%(women)s人，低于会议组成人员%(total)s人的三分之一"),
                {"women": women, "total": len(assembly)}))
    for rep in reps:
        n = rep.households_represented
        if n is not None and not 5 <= n <= 15:
            warnings.append(RosterWarning(
                "roster.households_per_representative",
                N_("村民代表%(name)s联系%(n)s户，不在每五户至十五户推选一人的范围内"),
                {"name": rep.name, "n": n}))
    supervisors = [m for m in members if m.roles & SUPERVISOR_ROLES]
    if supervisors and not any(m.accounting_skill for m in supervisors):
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
