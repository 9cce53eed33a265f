"""When a login session ends on its own: after a while without use (shorter on a shared
computer), and some hours after login whatever happens. Logout, a password change or reset and
disabling the account end sessions too; they are not a question of time (Account.session_epoch).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sunvote.domain.errors import N_, DomainError


class SessionEnded(DomainError):
    """The login session is over: log in again (HTTP 401)."""

    status = 401


@dataclass(frozen=True)
class SessionLimits:
    """How long a session may go without a request (``idle``, or ``shared_idle`` on a computer
    marked shared at login) and how long it may last at all (``lifetime``)."""

    idle: dt.timedelta
    shared_idle: dt.timedelta
    lifetime: dt.timedelta


def session_refusal(started_at: dt.datetime, seen_at: dt.datetime, shared: bool,
                    now: dt.datetime, limits: SessionLimits) -> SessionEnded | None:
    """Why a session begun at ``started_at`` and last used at ``seen_at`` is over at ``now``, or
    None while it goes on. A time ahead of ``now`` (a clock set back, a forged value) ends it."""
    if started_at > now or seen_at > now or now - started_at >= limits.lifetime:
        return SessionEnded("access.session_lifetime",
                            N_("登录已满%(hours)s小时，请重新登录"),
                            hours=max(1, int(limits.lifetime.total_seconds() // 3600)))
    idle = limits.shared_idle if shared else limits.idle
    if now - seen_at >= idle:
        return SessionEnded("access.session_idle",
                            N_("%(minutes)s分钟没有操作，已自动退出登录，请重新登录"),
                            minutes=max(1, int(idle.total_seconds() // 60)))
    return None


def revoked() -> SessionEnded:
    """The account has logged out, changed or had its password reset, or been disabled since
    this session began."""
    return SessionEnded("access.session_revoked",
                        N_("此账号已退出登录、修改或重置了密码或已停用，请重新登录"))
