"""Administration rules without a database: every setting's bounds, who may administer, the
term-ending rule, and the term warnings (vacant, expired, ending soon — triggering and not)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from sunvote.domain.administration import (
    KEY_VILLAGE_ROLES,
    check_district_admin,
    check_register_keeper,
    check_term_end,
    check_township_admin,
)
from sunvote.domain.errors import InvalidField, NotPermitted, SettingOutOfBounds
from sunvote.domain.roles import Role
from sunvote.domain.roster import Term, term_warnings
from sunvote.domain.settings import SETTINGS, validate_setting

D = dt.date
TODAY = D(2026, 11, 22)
BOUNDED = [s for s in SETTINGS if s.minimum is not None]


def below(value: int | Fraction) -> int | Fraction:
    return value - 1 if isinstance(value, int) else value - Fraction(1, 100)


def above(value: int | Fraction) -> int | Fraction:
    return value + 1 if isinstance(value, int) else value + Fraction(1, 100)


@pytest.mark.parametrize("spec", BOUNDED, ids=[s.key for s in BOUNDED])
def test_every_bounded_setting_accepts_its_bounds_and_refuses_beyond_them(spec) -> None:  # type: ignore[no-untyped-def]
    assert spec.minimum is not None and spec.maximum is not None
    assert validate_setting(spec.key, str(spec.minimum)) == spec.minimum
    assert validate_setting(spec.key, str(spec.maximum)) == spec.maximum
    for value in (below(spec.minimum), above(spec.maximum)):
        with pytest.raises(SettingOutOfBounds) as info:
            validate_setting(spec.key, str(value))
        assert info.value.rule == "settings.law_bound"


def test_every_setting_default_is_within_its_own_bounds() -> None:
    for spec in SETTINGS:
        if spec.default is not None:
            assert validate_setting(spec.key, spec.default) == spec.default


@pytest.mark.parametrize(("roles", "allowed"), [
    ({Role.CLERK}, True), ({Role.COMMITTEE_DIRECTOR}, True), ({Role.TOWNSHIP_ADMIN}, True),
    ({Role.REPRESENTATIVE}, False), ({Role.SUPERVISOR_CHAIR}, False),
    ({Role.TOWNSHIP_REVIEWER}, False), ({Role.PARTY_SECRETARY}, False), (set(), False),
])
def test_who_keeps_the_register(roles: set[Role], allowed: bool) -> None:
    if allowed:
        check_register_keeper(roles)
    else:
        with pytest.raises(NotPermitted) as info:
            check_register_keeper(roles)
        assert info.value.rule == "admin.register_keeper"


def test_township_and_district_administration() -> None:
    check_township_admin({Role.TOWNSHIP_ADMIN})
    check_township_admin({Role.DISTRICT_ADMIN})
    with pytest.raises(NotPermitted):
        check_township_admin({Role.TOWNSHIP_REVIEWER, Role.CLERK})
    check_district_admin({Role.DISTRICT_ADMIN})
    with pytest.raises(NotPermitted):
        check_district_admin({Role.TOWNSHIP_ADMIN})


@pytest.mark.parametrize(("start", "end", "last_day", "ok"), [
    (D(2021, 3, 1), None, TODAY, True),
    (D(2021, 3, 1), None, TODAY - dt.timedelta(days=1), True),  # "as of yesterday"
    (D(2021, 3, 1), None, TODAY - dt.timedelta(days=2), False),  # rewrites history
    (D(2021, 3, 1), D(2026, 3, 1), TODAY, False),  # already over: would extend it
    (D(2021, 3, 1), D(2027, 3, 1), D(2027, 3, 1), True),  # same end: allowed
    (D(2021, 3, 1), D(2027, 3, 1), D(2027, 3, 2), False),  # extension
    (D(2027, 1, 1), None, D(2026, 12, 31), False),  # before it starts
])
def test_a_term_may_be_shortened_but_not_extended_or_ended_in_the_past(
        start: dt.date, end: dt.date | None, last_day: dt.date, ok: bool) -> None:
    if ok:
        check_term_end(start, end, last_day, TODAY)
    else:
        with pytest.raises(InvalidField) as info:
            check_term_end(start, end, last_day, TODAY)
        assert info.value.rule == "admin.term_end"


TERM_START = D(2021, 3, 1)


def held(role: Role, start: dt.date = TERM_START, end: dt.date | None = None,
         person: int = 1) -> Term:
    return Term(person, f"p{person}", role, start, end)


FULL = [held(role, person=n) for n, role in enumerate(KEY_VILLAGE_ROLES, start=1)]


def warned(terms: list[Term]) -> list[str]:
    return [w.rule for w in term_warnings(terms, KEY_VILLAGE_ROLES, TODAY)]


def test_a_village_with_every_key_role_held_has_no_term_warning() -> None:
    assert warned(FULL) == []


def test_a_key_role_never_held_is_vacant() -> None:
    assert warned(FULL[1:]) == ["roster.vacant_role"]


def test_a_key_role_whose_term_ran_out_names_the_last_holder() -> None:
    terms = [held(KEY_VILLAGE_ROLES[0], end=D(2026, 10, 1)), *FULL[1:]]
    warnings = term_warnings(terms, KEY_VILLAGE_ROLES, TODAY)
    assert [w.rule for w in warnings] == ["roster.term_expired"]
    assert warnings[0].params["end"] == "2026-10-01"


def test_a_key_role_renewed_by_someone_else_is_not_warned() -> None:
    terms = [held(KEY_VILLAGE_ROLES[0], end=D(2026, 10, 1), person=9), *FULL]
    assert warned(terms) == []


def test_a_representatives_expired_term_is_warned_for_a_year_unless_renewed() -> None:
    rep = Role.REPRESENTATIVE
    assert warned([*FULL, held(rep, end=D(2026, 6, 30), person=20)]) == ["roster.term_expired"]
    assert warned([*FULL, held(rep, end=D(2025, 6, 30), person=20)]) == []  # long ago
    renewed = [held(rep, end=D(2026, 6, 30), person=20), held(rep, D(2026, 7, 1), person=20)]
    assert warned(FULL + renewed) == []


@pytest.mark.parametrize(("days", "rule"), [(0, "roster.term_ending"), (30, "roster.term_ending"),
                                            (31, None)])
def test_a_term_ending_within_30_days_is_warned(days: int, rule: str | None) -> None:
    terms = [*FULL, held(Role.REPRESENTATIVE, end=TODAY + dt.timedelta(days=days), person=20)]
    assert warned(terms) == ([rule] if rule else [])


@pytest.mark.parametrize("text", ["1e-999999999", "1e9", "2/3 ", " 3/4", "0x1", "1_000/2"])
def test_a_fraction_setting_takes_only_plain_forms_and_never_hangs(text: str) -> None:
    if text.strip() in ("2/3", "3/4"):
        assert validate_setting("quorum", text) in (Fraction(2, 3), Fraction(3, 4))
    else:
        with pytest.raises(SettingOutOfBounds):
            validate_setting("quorum", text)
