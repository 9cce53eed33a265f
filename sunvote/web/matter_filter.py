"""The view side of filtered matter lists, shared by the public board, the village dashboard
and the oversight lists: read the query parameters, and what the template needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request, url_for

from sunvote.domain.matter_filter import MatterFilter, ParsedFilter, parse_matter_filter
from sunvote.services.matter_filter import MatterPage


def asked(per_page: int) -> ParsedFilter:
    """The filter this request's query parameters ask for, with a refusal per bad one."""
    return parse_matter_filter(request.args, per_page=per_page)


def listed(parsed: ParsedFilter, find: Callable[[Any], MatterPage]) -> tuple[dict[str, Any], int]:
    """Run ``find`` on the filter and return the template's variables (``mf`` the filter as
    applied, ``matters`` the page, ``filter_refusals``) and the HTTP status: 400 when a
    parameter was refused (the list still shows, with what was valid)."""
    page = find(parsed.filter)
    refusals = [*parsed.refusals, *([page.refusal] if page.refusal else [])]

    def filter_url(clear: bool = False, **changes: object) -> str:
        """This page's URL with the filter as applied (or none, ``clear``) and ``changes``."""
        base = MatterFilter() if clear else page.filter
        values: dict[str, Any] = {**(request.view_args or {}), **base.args(**changes)}
        return url_for(request.endpoint or "", **values)

    return ({"mf": page.filter, "matters": page, "filter_refusals": refusals,
             "filter_url": filter_url}, 400 if refusals else 200)
