"""Search and filter of matter lists (the public board, the village dashboard, the oversight
matter lists): the query parameters they accept, their allowed values, and the refusal of
anything else. Pure: the pages and the one query (``services/matter_filter.py``) share it."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from sunvote.domain.errors import N_, DomainError, InvalidField
from sunvote.domain.matters import CATEGORIES_BY_CODE
from sunvote.domain.procedure import MatterState
from sunvote.domain.supervision import NOTICE_OVER_LABEL, notice_over


@dataclass(frozen=True)
class StateGroup:
    """Where a matter stands, in the words villagers use: ``key`` is the URL's value. A group
    of passed matters may be split by their notice period: ``notice_over`` True takes only
    those whose period has ended, False only those still on notice (None: either)."""

    key: str
    label: str
    states: tuple[MatterState, ...]
    notice_over: bool | None = None


#: The choices of ``?state=``, in the board's order (the public board's groups). A passed
#: matter is "公示中" until its notice period ends, then waits for implementation
#: (supervision.notice_over, as its state label says).
STATE_GROUPS: tuple[StateGroup, ...] = (
    StateGroup("notice", N_("公示中"), (MatterState.PASSED,), notice_over=False),
    StateGroup("notice-over", NOTICE_OVER_LABEL, (MatterState.PASSED,), notice_over=True),
    StateGroup("implementing", N_("实施中"), (MatterState.IMPLEMENTING,)),
    StateGroup("completed", N_("已完成"), (MatterState.COMPLETED,)),
    StateGroup("rejected", N_("未通过"), (MatterState.REJECTED,)),
    StateGroup("progress", N_("进行中"), (MatterState.SUGGESTED, MatterState.PROPOSED,
                                          MatterState.RETURNED, MatterState.DISCUSSED,
                                          MatterState.FILED)),
    StateGroup("ended", N_("已撤回或终止"), (MatterState.WITHDRAWN, MatterState.DROPPED)),
)


def state_group(state: MatterState, notice_ends: dt.datetime | None,
                now: dt.datetime) -> StateGroup:
    """The group a matter is listed under (the board's and the filter's), at ``now``."""
    over = notice_over(state, notice_ends, now)
    return next(g for g in STATE_GROUPS
                if state in g.states and g.notice_over in (None, over))


STATE_GROUPS_BY_KEY: dict[str, StateGroup] = {g.key: g for g in STATE_GROUPS}

#: Matters are numbered per year (2026-001): the years a filter may name.
FIRST_YEAR, LAST_YEAR = 2000, 2099
#: The longest search text (a title is at most 200 characters; a search is a few words).
MAX_TEXT = 50
#: The highest page number a link may carry (nine digits fit every database integer).
MAX_PAGE_DIGITS = 9

#: The query parameters, in the order links carry them.
PARAMS = ("category", "year", "state", "q", "page")


@dataclass(frozen=True)
class MatterFilter:
    """A valid filter: each criterion None (or "" for the text) when not asked for."""

    category: int | None = None
    year: int | None = None
    state: str | None = None  # a key of STATE_GROUPS
    text: str = ""
    page: int = 1
    per_page: int = 20

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (the page number does not)."""
        return bool(self.category or self.year or self.state or self.text)

    @property
    def states(self) -> tuple[MatterState, ...] | None:
        """The states the ``state`` criterion lets through (None: all)."""
        return STATE_GROUPS_BY_KEY[self.state].states if self.state else None

    @property
    def group(self) -> StateGroup | None:
        """The group the ``state`` criterion names (None: all)."""
        return STATE_GROUPS_BY_KEY[self.state] if self.state else None

    @property
    def offset(self) -> int:
        """How many matters come before this page."""
        return (self.page - 1) * self.per_page

    def args(self, **changes: object) -> dict[str, str]:
        """The query parameters of this filter with ``changes`` (e.g. ``page=2``, ``year=None``),
        for links; a page other than the first is kept only when asked for."""
        values: dict[str, object] = {"category": self.category, "year": self.year,
                                     "state": self.state, "q": self.text or None,
                                     "page": None}
        values.update(changes)
        if values.get("page") == 1:
            values["page"] = None
        return {k: str(values[k]) for k in PARAMS if values.get(k) not in (None, "")}

    def first_page(self) -> MatterFilter:
        """The same filter, on page 1."""
        return replace(self, page=1)


@dataclass(frozen=True)
class ParsedFilter:
    """What the query parameters asked for: the valid part, and a refusal per bad parameter
    (the page lists with the valid part and shows the refusals)."""

    filter: MatterFilter
    refusals: tuple[DomainError, ...]


def category_refusal(value: str) -> DomainError | None:
    """Refuse a category that is not one of the ten (``1`` … ``10``)."""
    if value.isascii() and value.isdigit() and len(value) <= 2 and int(value) in CATEGORIES_BY_CODE:
        return None
    return InvalidField("filter.category", N_("没有这个事项类别：“%(value)s”，类别是1至10"),
                        value=_shown(value))


def year_refusal(value: str) -> DomainError | None:
    """Refuse a year that is not four digits from FIRST_YEAR to LAST_YEAR."""
    if value.isascii() and value.isdigit() and len(value) == 4 \
            and FIRST_YEAR <= int(value) <= LAST_YEAR:
        return None
    return InvalidField("filter.year",
                        N_("年份“%(value)s”不对，须是%(first)s至%(last)s之间的四位数"),
                        value=_shown(value), first=FIRST_YEAR, last=LAST_YEAR)


def state_refusal(value: str) -> DomainError | None:
    """Refuse a state that is not one of STATE_GROUPS' keys."""
    if value in STATE_GROUPS_BY_KEY:
        return None
    return InvalidField("filter.state", N_("没有这种办理状态：“%(value)s”"), value=_shown(value))


def clean_search(value: str) -> str | DomainError:
    """The search text NFC-normalised, inner runs of spaces folded to one, or its refusal:
    control characters (NUL …) or more than MAX_TEXT characters."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in text):
        return InvalidField("filter.text", N_("搜索内容含有不允许的控制字符"))
    if len(text) > MAX_TEXT:
        return InvalidField("filter.text", N_("搜索内容不能超过%(max)s个字（收到%(n)s个）"),
                            max=MAX_TEXT, n=len(text))
    return text


def page_refusal(value: str) -> DomainError | None:
    """Refuse a page number that is not a whole number from 1."""
    if value.isascii() and value.isdigit() and len(value) <= MAX_PAGE_DIGITS and int(value) >= 1:
        return None
    return InvalidField("filter.page", N_("页码“%(value)s”不对，须是从1开始的整数"),
                        value=_shown(value))


def page_beyond_end(f: MatterFilter, total: int) -> DomainError | None:
    """Refuse a page past the last one (page 1 always exists, even when nothing matched)."""
    last = pages(total, f.per_page)
    if f.page <= last:
        return None
    return InvalidField("filter.page",
                        N_("第%(page)s页不存在：共%(total)s件，最后一页是第%(last)s页"),
                        page=f.page, total=total, last=last)


def pages(total: int, per_page: int) -> int:
    """How many pages ``total`` matters fill (at least one, which may be empty)."""
    return max(1, -(-total // per_page))


def parse_matter_filter(args: Mapping[str, str], *, per_page: int = 20) -> ParsedFilter:
    """The filter the query parameters ``category``, ``year``, ``state``, ``q`` and ``page``
    ask for (each optional; others are ignored). A bad one is left out of the filter and
    refused; a bad page number means page 1."""
    refusals: list[DomainError] = []

    def given(name: str) -> str:
        value = args.get(name)
        return value.strip() if isinstance(value, str) else ""

    def accepted(name: str, check: Callable[[str], DomainError | None]) -> str | None:
        value = given(name)
        if not value:
            return None
        refusal = check(value)
        if refusal is not None:
            refusals.append(refusal)
            return None
        return value

    category = accepted("category", category_refusal)
    year = accepted("year", year_refusal)
    state = accepted("state", state_refusal)
    page = accepted("page", page_refusal)
    text = ""
    if given("q"):
        cleaned = clean_search(given("q"))
        if isinstance(cleaned, DomainError):
            refusals.append(cleaned)
        else:
            text = cleaned
    return ParsedFilter(
        MatterFilter(category=int(category) if category else None,
                     year=int(year) if year else None, state=state, text=text,
                     page=int(page) if page else 1, per_page=per_page),
        tuple(refusals))


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, with ``\\``, ``%`` and ``_`` escaped
    (escape character ``\\``): a search for "50%" finds "50%", not "50" followed by anything."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _shown(value: str) -> str:
    """A refused value as the refusal quotes it: printable characters, at most 20."""
    printable = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    return printable[:20] + ("…" if len(printable) > 20 else "")
