"""The one query behind every filtered matter list (public board, village dashboard, oversight
lists): a filter (``domain/matter_filter.py``) applied to the matters of some villages, counted
per group and cut into a page. Its statements do not grow with the number of matters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from sunvote.domain.errors import DomainError
from sunvote.domain.matter_filter import (
    MatterFilter,
    StateGroup,
    like_pattern,
    page_beyond_end,
    pages,
)
from sunvote.domain.procedure import MatterState
from sunvote.extensions import db
from sunvote.models import Matter, Village
from sunvote.models.base import utcnow

#: How a page groups its matters, in the order shown: (key, states), or the filter's own
#: StateGroups (which may split passed matters by their notice period).
Grouping = Sequence[tuple[str, Sequence[MatterState]] | StateGroup]


def _in_group(states: Sequence[MatterState], notice_over: bool | None,
              now: dt.datetime) -> ColumnElement[bool]:
    """A group's condition in SQL. The notice split is supervision.notice_period_over asked
    of every row at once (over when ``now >= notice_ends_at``); tests/web/test_matter_filter.py
    checks the two agree on each side of the end."""
    condition = Matter.state.in_([s.value for s in states])
    if notice_over is True:
        return and_(condition, Matter.notice_ends_at.is_not(None), Matter.notice_ends_at <= now)
    if notice_over is False:
        return and_(condition, or_(Matter.notice_ends_at.is_(None), Matter.notice_ends_at > now))
    return condition


def _groups(grouping: Grouping) -> list[tuple[str, Sequence[MatterState], bool | None]]:
    return [(g.key, g.states, g.notice_over) if isinstance(g, StateGroup) else (g[0], g[1], None)
            for g in grouping]


@dataclass(frozen=True)
class MatterPage:
    """One page of a filtered list: its matters (in group order, newest first within a group),
    how many matched in all and per group, and the years that have matters at all."""

    filter: MatterFilter
    items: list[Matter]
    total: int
    counts: dict[str, int]
    years: list[int]
    refusal: DomainError | None = None  # the page asked for was past the last

    @property
    def pages(self) -> int:
        return pages(self.total, self.filter.per_page)

    @property
    def first(self) -> int:
        """The position of the page's first matter (1-based; 0 when the page is empty)."""
        return self.filter.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.filter.offset + len(self.items)


def _criteria(f: MatterFilter, now: dt.datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.category is not None:
        where.append(Matter.category == f.category)
    if f.year is not None:  # numbers are per village and year: 2026-003
        where.append(Matter.number.like(f"{f.year}-%"))
    if f.group is not None:
        where.append(_in_group(f.group.states, f.group.notice_over, now))
    if f.text:
        # lower() on both sides: case-insensitive for ASCII on SQLite and on PostgreSQL alike
        # (ILIKE would also fold non-ASCII letters on PostgreSQL only).
        pattern = like_pattern(f.text.lower())
        where.append(or_(*(func.lower(column).like(pattern, escape="\\")
                           for column in (Matter.number, Matter.title, Matter.summary,
                                          Matter.filing_no))))
    return where


def find_matters(villages: Select[Any], f: MatterFilter, grouping: Grouping, *,
                 with_village: bool = False, now: dt.datetime | None = None) -> MatterPage:
    """The page of matters of the villages ``villages`` selects (a select of ids) that ``f``
    lets through, ordered by ``grouping`` then newest first. Three statements whatever the
    numbers (counts, years, the page; a page past the last gives the first and the refusal);
    ``with_village`` loads each matter's village and township with them."""
    now = now or utcnow()
    groups = _groups(grouping)
    scope = Matter.village_id.in_(villages.scalar_subquery())
    where = [scope, *_criteria(f, now)]
    group_of = case(*((_in_group(states, over, now), key) for key, states, over in groups),
                    else_="")
    counts = {key: 0 for key, _states, _over in groups}
    total = 0
    for key, n in db.session.execute(
            select(group_of, func.count()).where(*where).group_by(group_of)):
        total += n
        if key in counts:
            counts[key] = n
    year = func.substr(Matter.number, 1, 4)
    years = sorted({int(y) for (y,) in db.session.execute(select(year).where(scope).distinct())
                    if y and y.isdigit()}, reverse=True)
    refusal = page_beyond_end(f, total)
    if refusal is not None:
        f = replace(f, page=1)
    rank = case(*((_in_group(states, over, now), i)
                  for i, (_key, states, over) in enumerate(groups)), else_=len(groups))
    query = (select(Matter).where(*where).order_by(rank, Matter.number.desc(), Matter.id.desc())
             .offset(f.offset).limit(f.per_page))
    if with_village:
        query = query.options(joinedload(Matter.village).joinedload(Village.township))
    items = list(db.session.execute(query).scalars())
    return MatterPage(f, items, total, counts, years, refusal)
