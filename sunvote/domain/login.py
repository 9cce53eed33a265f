"""Login limits: how long an account waits after wrong passwords, how many failures one address
may make, and the one answer every refused login gets (docs/operations.md, "Login limits").

Pure: the service passes in the counts and the time.
"""

from __future__ import annotations

import datetime as dt

from sunvote.domain.errors import N_, DomainError

#: Wrong passwords in a row an account may take without waiting.
FREE_FAILURES = 3
#: The first wait, doubled with each further wrong password, up to MAX_DELAY_SECONDS.
FIRST_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60
#: Failed logins from one network address (across all accounts) within ADDRESS_WINDOW_MINUTES
#: before further logins from there without a known-browser cookie are refused: one password
#: cannot be sprayed across every account.
ADDRESS_FAILURES = 20
ADDRESS_WINDOW_MINUTES = 15
#: Failed logins with one known-browser cookie for one account within KNOWN_WINDOW_MINUTES
#: before that cookie stops exempting the browser from the account's wait.
KNOWN_FAILURES = 5
KNOWN_WINDOW_MINUTES = 24 * 60
#: How long a browser stays known after a successful login.
KNOWN_BROWSER_DAYS = 90


class LoginRefused(DomainError):
    """A refused login (HTTP 401): always the same rule, text and status, whatever the cause."""

    status = 401


def login_delay(failures: int) -> int:
    """Seconds an account waits after ``failures`` wrong passwords in a row: none for the first
    FREE_FAILURES, then FIRST_DELAY_SECONDS doubling with each one, never more than
    MAX_DELAY_SECONDS (so about a hundred guesses a day at most, and the owner waits at most a
    quarter of an hour)."""
    if failures < FREE_FAILURES:
        return 0
    doublings = min(failures - FREE_FAILURES, 16)
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS << doublings)


def waiting_until(failures: int, last_failure: dt.datetime) -> dt.datetime:
    """Until when an account that failed ``failures`` times, last at ``last_failure``, waits."""
    return last_failure + dt.timedelta(seconds=login_delay(failures))


def login_refused() -> LoginRefused:
    """The answer to an unknown user name, a wrong password, a disabled account, an account or
    address that must wait: the same, so that none of them can be told from another."""
    return LoginRefused("access.login_attempts",
                        N_("登录未成功：用户名或密码不正确，或尝试太频繁需稍候，或账号已停用。"
                           "请稍后再试，或请村务工作者重置密码"))
