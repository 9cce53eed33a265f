"""The login limits' pure rules: the growing wait and the one answer (domain/login.py)."""

from __future__ import annotations

import datetime as dt

from sunvote.domain.login import (
    FIRST_DELAY_SECONDS,
    FREE_FAILURES,
    MAX_DELAY_SECONDS,
    login_delay,
    login_refused,
    waiting_until,
)


def test_the_wait_is_none_at_first_then_doubles_up_to_a_quarter_hour() -> None:
    delays = [login_delay(n) for n in range(40)]
    assert delays[:FREE_FAILURES] == [0] * FREE_FAILURES
    assert delays[FREE_FAILURES] == FIRST_DELAY_SECONDS
    assert delays[FREE_FAILURES + 1] == 2 * FIRST_DELAY_SECONDS
    assert delays == sorted(delays) and max(delays) == MAX_DELAY_SECONDS == delays[-1]
    assert login_delay(10**9) == MAX_DELAY_SECONDS  # no overflow, however many


def test_an_account_waits_from_its_last_failure() -> None:
    last = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)
    assert waiting_until(FREE_FAILURES - 1, last) == last
    assert waiting_until(FREE_FAILURES, last) == last + dt.timedelta(seconds=FIRST_DELAY_SECONDS)


def test_every_refused_login_gets_the_same_answer() -> None:
    first, second = login_refused(), login_refused()
    assert (first.rule, first.msgid, first.params, first.status) == (
        second.rule, second.msgid, second.params, second.status) == (
        "access.login_attempts", first.msgid, {}, 401)
