"""Pagination of lists served to the public (the open data API): which page, how many per page,
and the refusal of anything out of range."""

from __future__ import annotations

from dataclasses import dataclass

from sunvote.domain.errors import N_, InvalidField

#: The most items one page may hold, and the default.
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20

RULE = "api.pagination"


@dataclass(frozen=True)
class PageRequest:
    """A valid page request: ``page`` from 1, ``per_page`` from 1 to MAX_PER_PAGE."""

    page: int
    per_page: int

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.page - 1) * self.per_page


def parse_page(page: str | None, per_page: str | None) -> PageRequest:
    """The page asked for by the query parameters ``page`` and ``per_page`` (both optional);
    anything that is not a whole number in range is refused naming the rule."""
    return PageRequest(_whole(page, "page", 1, None, 1),
                       _whole(per_page, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE, 1))


def _whole(text: str | None, name: str, default: int, maximum: int | None, minimum: int) -> int:
    if text is None or text == "":
        return default
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise InvalidField(RULE, N_("分页参数%(name)s须为整数，收到“%(value)s”"),
                           name=name, value=text[:20])
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        if maximum is None:
            raise InvalidField(RULE, N_("分页参数%(name)s须不小于%(minimum)s"), name=name,
                               minimum=minimum)
        raise InvalidField(RULE, N_("分页参数%(name)s须在%(minimum)s至%(maximum)s之间"),
                           name=name, minimum=minimum, maximum=maximum)
    return number


def pages(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill (at least one, which may be empty)."""
    return max(1, -(-total // per_page))


def check_page_exists(request: PageRequest, total: int) -> None:
    """Refuse a page past the last one (page 1 always exists, even when empty)."""
    last = pages(total, request.per_page)
    if request.page > last:
        raise InvalidField(RULE, N_("第%(page)s页不存在：共%(total)s条，每页%(per_page)s条，"
                                    "最后一页是第%(last)s页"),
                           page=request.page, total=total, per_page=request.per_page, last=last)
