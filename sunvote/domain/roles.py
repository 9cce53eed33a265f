"""Roles people hold in a village, a township or the district, and which roles sit on which body."""

from __future__ import annotations

from enum import StrEnum

from sunvote.domain.errors import N_


class Scope(StrEnum):
    """Where a role is held."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    DISTRICT = "district"


class Role(StrEnum):
    """A role; the value is stored in the database, the label is a message id."""

    COMMITTEE_DIRECTOR = "committee_director"
    COMMITTEE_MEMBER = "committee_member"
    PARTY_SECRETARY = "party_secretary"
    PARTY_BRANCH_MEMBER = "party_branch_member"
    REPRESENTATIVE = "representative"
    SUPERVISOR_CHAIR = "supervisor_chair"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    TOWNSHIP_REVIEWER = "township_reviewer"
    TOWNSHIP_ADMIN = "township_admin"
    DISTRICT_ADMIN = "district_admin"
    # Not assignable to a person: the assembly's tally acts in this role (step 5).
    ASSEMBLY = "assembly"

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return ROLE_LABELS[self]

    @property
    def scope(self) -> Scope:
        """Whether the role is held in a village, a township or the district."""
        if self in (Role.TOWNSHIP_REVIEWER, Role.TOWNSHIP_ADMIN):
            return Scope.TOWNSHIP
        if self is Role.DISTRICT_ADMIN:
            return Scope.DISTRICT
        return Scope.VILLAGE


ROLE_LABELS: dict[Role, str] = {
    Role.COMMITTEE_DIRECTOR: N_("村委会主任"),
    Role.COMMITTEE_MEMBER: N_("村委会委员"),
    Role.PARTY_SECRETARY: N_("村党支部书记"),
    Role.PARTY_BRANCH_MEMBER: N_("村党支部委员"),
    Role.REPRESENTATIVE: N_("村民代表"),
    Role.SUPERVISOR_CHAIR: N_("村务监督委员会主任"),
    Role.SUPERVISOR: N_("村务监督委员会委员"),
    Role.CLERK: N_("村务工作者"),
    Role.TOWNSHIP_REVIEWER: N_("乡镇审议人员"),
    Role.TOWNSHIP_ADMIN: N_("乡镇管理员"),
    Role.DISTRICT_ADMIN: N_("区级管理员"),
    Role.ASSEMBLY: N_("村民代表会议"),
}

ASSIGNABLE_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.ASSEMBLY)

#: The village committee (村民委员会): its members sit on the assembly and are barred, with their
#: close relatives, from the supervisory committee (组织法 art. 32).
COMMITTEE_ROLES: frozenset[Role] = frozenset({Role.COMMITTEE_DIRECTOR, Role.COMMITTEE_MEMBER})

#: Members of the villagers' representative assembly (组织法 art. 25).
ASSEMBLY_ROLES: frozenset[Role] = COMMITTEE_ROLES | {Role.REPRESENTATIVE}

#: The village affairs supervisory committee (村务监督委员会).
SUPERVISOR_ROLES: frozenset[Role] = frozenset({Role.SUPERVISOR_CHAIR, Role.SUPERVISOR})
