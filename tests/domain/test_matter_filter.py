"""Parsing the filter of matter lists: what each query parameter accepts, the refusal (rule code,
both languages) of anything else, and the LIKE pattern of the search text."""

from __future__ import annotations

import pytest

from sunvote.domain.matter_filter import (
    MAX_TEXT,
    STATE_GROUPS,
    MatterFilter,
    like_pattern,
    page_beyond_end,
    parse_matter_filter,
)
from sunvote.domain.procedure import MatterState
from sunvote.domain.rules import RULES_BY_CODE


def test_no_parameters_is_everything_on_page_one() -> None:
    parsed = parse_matter_filter({})
    assert parsed.filter == MatterFilter() and not parsed.refusals
    assert not parsed.filter.active and parsed.filter.states is None


def test_each_parameter_is_read() -> None:
    parsed = parse_matter_filter({"category": "2", "year": "2025", "state": "progress",
                                  "q": "  道路   硬化 ", "page": "3", "other": "x"}, per_page=10)
    f = parsed.filter
    assert not parsed.refusals
    assert (f.category, f.year, f.state, f.text, f.page, f.per_page) == (
        2, 2025, "progress", "道路 硬化", 3, 10)
    assert f.active and f.offset == 20
    assert MatterState.FILED in (f.states or ())


@pytest.mark.parametrize(("name", "value", "rule"), [
    ("category", "11", "filter.category"), ("category", "0", "filter.category"),
    ("category", "²", "filter.category"), ("category", "abc", "filter.category"),
    ("year", "99999", "filter.year"), ("year", "1999", "filter.year"),
    ("year", "２０２５", "filter.year"), ("year", "-2025", "filter.year"),
    ("state", "passed", "filter.state"), ("state", "x" * 10_000, "filter.state"),
    ("q", "x" * 10_000, "filter.text"), ("q", "道路\x00", "filter.text"),
    ("q", "a\u202eb", "filter.text"),
    ("page", "-1", "filter.page"), ("page", "0", "filter.page"), ("page", "1e3", "filter.page"),
    ("page", "9" * 10, "filter.page"),
])
def test_a_bad_parameter_is_refused_and_left_out(name: str, value: str, rule: str) -> None:
    parsed = parse_matter_filter({name: value, "category": "3"} if name != "category"
                                 else {name: value, "year": "2026"})
    assert [e.rule for e in parsed.refusals] == [rule]
    assert rule in RULES_BY_CODE
    error = parsed.refusals[0]
    assert error.status == 400
    shown = error.render(lambda s: s)
    assert "\x00" not in shown and len(shown) < 120
    # the valid parameter is kept, the bad one dropped
    f = parsed.filter
    assert (f.category == 3) if name != "category" else (f.year == 2026)
    assert f.page == 1 and (f.text == "" or name != "q")


def test_the_longest_search_is_allowed() -> None:
    assert parse_matter_filter({"q": "字" * MAX_TEXT}).filter.text == "字" * MAX_TEXT


def test_a_page_past_the_last_is_refused_but_page_one_always_exists() -> None:
    assert page_beyond_end(MatterFilter(page=1), 0) is None
    assert page_beyond_end(MatterFilter(page=2, per_page=20), 20) is not None
    assert page_beyond_end(MatterFilter(page=2, per_page=20), 21) is None
    refusal = page_beyond_end(MatterFilter(page=9, per_page=20), 41)
    assert refusal is not None and refusal.rule == "filter.page"
    assert "3" in refusal.render(lambda s: s)


def test_like_wildcards_are_escaped() -> None:
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_links_carry_the_filter_and_drop_page_one() -> None:
    f = MatterFilter(category=2, year=2025, state="notice", text="路 灯", page=2)
    assert f.args() == {"category": "2", "year": "2025", "state": "notice", "q": "路 灯"}
    assert f.args(page=3)["page"] == "3" and "page" not in f.args(page=1)
    assert f.args(year=None) == {"category": "2", "state": "notice", "q": "路 灯"}


def test_every_state_belongs_to_one_group_at_a_time() -> None:
    """Passed matters are split by their notice period (公示中, then 公示期满，待实施); every
    other state has one group."""
    import datetime as dt

    from sunvote.domain.matter_filter import state_group

    grouped = [(s, g.notice_over) for g in STATE_GROUPS for s in g.states]
    assert len(grouped) == len(set(grouped))
    assert {s for s, _over in grouped} == set(MatterState) - {MatterState.NEW}
    end = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    before, after = end - dt.timedelta(seconds=1), end
    assert state_group(MatterState.PASSED, end, before).key == "notice"
    assert state_group(MatterState.PASSED, end, after).key == "notice-over"
    assert state_group(MatterState.PASSED, None, after).key == "notice"
    assert state_group(MatterState.IMPLEMENTING, end, after).key == "implementing"
