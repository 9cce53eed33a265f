"""When a login session ends by itself: idle time (shorter when shared) and lifetime."""

from __future__ import annotations

import datetime as dt

from sunvote.domain.sessions import SessionLimits, session_refusal

LIMITS = SessionLimits(idle=dt.timedelta(minutes=30), shared_idle=dt.timedelta(minutes=10),
                       lifetime=dt.timedelta(hours=12))
T0 = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)


def rule(started: dt.timedelta, seen: dt.timedelta, now: dt.timedelta, *,
         shared: bool = False) -> str | None:
    refusal = session_refusal(T0 + started, T0 + seen, shared, T0 + now, LIMITS)
    return None if refusal is None else refusal.rule


def test_a_session_goes_on_while_used_and_ends_when_idle_for_long_enough() -> None:
    minutes = dt.timedelta(minutes=1)
    assert rule(0 * minutes, 20 * minutes, 49 * minutes) is None
    assert rule(0 * minutes, 20 * minutes, 50 * minutes) == "access.session_idle"
    assert rule(0 * minutes, 0 * minutes, 9 * minutes, shared=True) is None
    assert rule(0 * minutes, 0 * minutes, 10 * minutes, shared=True) == "access.session_idle"


def test_a_session_ends_at_its_lifetime_even_in_use() -> None:
    hour = dt.timedelta(hours=1)
    assert rule(0 * hour, 12 * hour - dt.timedelta(minutes=1), 12 * hour) \
        == "access.session_lifetime"


def test_times_ahead_of_now_end_the_session() -> None:
    minute = dt.timedelta(minutes=1)
    assert rule(5 * minute, 5 * minute, 0 * minute) == "access.session_lifetime"
    assert rule(0 * minute, 5 * minute, 1 * minute) == "access.session_lifetime"
