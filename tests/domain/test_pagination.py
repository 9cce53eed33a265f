"""Pages of the open data API: defaults, bounds, and refusals that name the rule."""

from __future__ import annotations

import pytest

from sunvote.domain.errors import InvalidField
from sunvote.domain.pagination import (
    MAX_PER_PAGE,
    PageRequest,
    check_page_exists,
    pages,
    parse_page,
)


def test_defaults_and_offsets() -> None:
    assert parse_page(None, None) == PageRequest(1, 20)
    assert parse_page("", "") == PageRequest(1, 20)
    assert parse_page("3", "10").offset == 20
    assert parse_page(" 2 ", str(MAX_PER_PAGE)) == PageRequest(2, MAX_PER_PAGE)


@pytest.mark.parametrize(("page", "per_page"), [
    ("0", None), ("-1", None), ("1.5", None), ("abc", None), ("１", None), ("9" * 10, None),
    (None, "0"), (None, str(MAX_PER_PAGE + 1)), (None, "ten")])
def test_out_of_range_or_malformed_values_are_refused(page: str | None,
                                                      per_page: str | None) -> None:
    with pytest.raises(InvalidField) as info:
        parse_page(page, per_page)
    assert info.value.rule == "api.pagination"


def test_a_page_past_the_last_is_refused_but_page_one_always_exists() -> None:
    assert pages(0, 20) == 1 and pages(20, 20) == 1 and pages(21, 20) == 2
    check_page_exists(PageRequest(1, 20), 0)
    check_page_exists(PageRequest(2, 20), 21)
    with pytest.raises(InvalidField) as info:
        check_page_exists(PageRequest(3, 20), 40)
    assert info.value.rule == "api.pagination" and info.value.params["last"] == 2
