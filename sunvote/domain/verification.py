"""Who may start a server-side verification of a village's ledger, and how often.

A server-side check exports and verifies the whole log and compares the tables with it: seconds
of work on a large log. Anyone can verify offline from the public export; starting the server's
own check is for those who answer for the record (the supervisory committee, the village's key
roles, the township and district administrators), at most once a minute per village.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Set

from sunvote.domain.errors import N_, DomainError, NotPermitted, RateLimited
from sunvote.domain.roles import Role

#: Roles that may start a server-side verification (a representative or a township reviewer
#: verifies offline, from the export).
VERIFIERS = frozenset({Role.SUPERVISOR_CHAIR, Role.SUPERVISOR, Role.CLERK,
                       Role.PARTY_SECRETARY, Role.COMMITTEE_DIRECTOR, Role.TOWNSHIP_ADMIN,
                       Role.DISTRICT_ADMIN})
#: The shortest time between two server-side verifications of one village.
MIN_INTERVAL = dt.timedelta(minutes=1)


def verification_refusal(roles: Set[Role], last_at: dt.datetime | None,
                         now: dt.datetime) -> DomainError | None:
    """Why these roles may not start a server-side verification now (``last_at``: when the
    newest one ran), or None."""
    if not roles & VERIFIERS:
        return NotPermitted("ledger.verify_who",
                            N_("服务器端验证由村务监督委员会、村务工作者、村党支部书记、村委会主任"
                               "或乡镇、区管理员发起；其他人可下载账本导出文件自行验证"))
    if last_at is not None and now - last_at < MIN_INTERVAL:
        return RateLimited("ledger.verify_interval",
                           N_("本村账本刚刚验证过，%(s)s秒内不再重复验证"),
                           s=int(MIN_INTERVAL.total_seconds()))
    return None


def witness_request_refusal(roles: Set[Role], asked_recently: bool) -> DomainError | None:
    """Why these roles may not ask the township witness to cosign now, or None: the same people
    who may start a server-side verification, at most once a minute per village
    (``asked_recently``: the village's counter says so): each request is a round to another
    server, and anyone reaching the village could otherwise make it as often as they liked."""
    if not roles & VERIFIERS:
        return NotPermitted("ledger.witness_who",
                            N_("请见证方签名由村务监督委员会、村务工作者、村党支部书记、村委会主任"
                               "或乡镇、区管理员发起"))
    if asked_recently:
        return RateLimited("ledger.verify_interval",
                           N_("刚刚请求过见证方签名，%(s)s秒内不再重复请求"),
                           s=int(MIN_INTERVAL.total_seconds()))
    return None
