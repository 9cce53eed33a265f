"""The one query behind every filtered matter list (public board, village dashboard, oversight
lists): a filter (``domain/matter_filter.py``) applied to the matters of some villages, counted
per group and cut into a page. Its statements do not grow with the number of matters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from sunvote.domain.errors import DomainError
from sunvote.domain.matter_filter import MatterFilter, like_pattern, page_beyond_end, pages
from sunvote.domain.procedure import MatterState
from sunvote.extensions import db
from sunvote.models import Matter, Village

#: How a page groups its matters: (key, states), in the order shown.
Grouping = Sequence[tuple[str, Sequence[MatterState]]]


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


def _criteria(f: MatterFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.category is not None:
        where.append(Matter.category == f.category)
    if f.year is not None:  # numbers are per village and year: 2026-003
        where.append(Matter.number.like(f"{f.year}-%"))
    if f.states is not None:
        where.append(Matter.state.in_([s.value for s in f.states]))
    if f.text:
        # lower() on both sides: case-insensitive for ASCII on SQLite and on PostgreSQL alike
        # (ILIKE would also fold non-ASCII letters on PostgreSQL only).
        pattern = like_pattern(f.text.lower())
        where.append(or_(*(func.lower(column).like(pattern, escape="\\")
                           for column in (Matter.number, Matter.title, Matter.summary,
                                          Matter.filing_no))))
    return where


def find_matters(villages: Select[Any], f: MatterFilter, grouping: Grouping, *,
                 with_village: bool = False) -> MatterPage:
    """The page of matters of the villages ``villages`` selects (a select of ids) that ``f``
    lets through, ordered by ``grouping`` then newest first. Three statements whatever the
    numbers (counts, years, the page; a page past the last gives the first and the refusal);
    ``with_village`` loads each matter's village and township with them."""
    scope = Matter.village_id.in_(villages.scalar_subquery())
    where = [scope, *_criteria(f)]
    group_of = case(*((Matter.state.in_([s.value for s in states]), key)
                      for key, states in grouping), else_="")
    counts = {key: 0 for key, _states in grouping}
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
    rank = case(*((Matter.state.in_([s.value for s in states]), i)
                  for i, (_key, states) in enumerate(grouping)), else_=len(grouping))
    query = (select(Matter).where(*where).order_by(rank, Matter.number.desc(), Matter.id.desc())
             .offset(f.offset).limit(f.per_page))
    if with_village:
        query = query.options(joinedload(Matter.village).joinedload(Village.township))
    items = list(db.session.execute(query).scalars())
    return MatterPage(f, items, total, counts, years, refusal)
