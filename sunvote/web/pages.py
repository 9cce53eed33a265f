"""What the views of every blueprint share: the place a URL names or 404, who is asking, files
served as downloads, and a refused use case shown on its page again. No blueprint imports
another blueprint (tests/test_blueprint_imports.py): what two of them need lives here or in
another module of sunvote/web/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Response, abort
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sunvote.domain.errors import N_, DomainError, InvalidField
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Matter, Meeting, Township, Village
from sunvote.models.base import utcnow
from sunvote.services.access import require_village_access
from sunvote.services.matters import matter_by_number
from sunvote.web.forms import first_error

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Page = TypeVar("Page")


def village_or_404(code: str) -> Village:
    village = db.session.execute(select(Village).where(Village.code == code)).scalar_one_or_none()
    if village is None:
        abort(404)
    return village


def township_or_404(code: str) -> Township:
    township = db.session.execute(
        select(Township).where(Township.code == code)).scalar_one_or_none()
    if township is None:
        abort(404)
    return township


def meeting_or_404(v: Village, number: int) -> Meeting:
    """The village's meeting ``number`` with its polls loaded with it. Not its roster nor its
    agenda: a ballot or a check-in has no use for them (room_state loads them for the pages
    that show them). Issue 16: statements do not grow with the roster
    (tests/web/test_room_statements.py, tests/web/test_ballot_statements.py)."""
    meeting = db.session.execute(select(Meeting).where(
        Meeting.village_id == v.id, Meeting.number == number).options(
            selectinload(Meeting.polls))).scalar_one_or_none()
    if meeting is None:
        abort(404)
    return meeting


def person_id() -> int:
    """The logged-in person's id."""
    return int(current_user.person_id)


def load_matter(code: str, number: str) -> tuple[Village, Matter, frozenset[Role]]:
    """The village ``code`` (or 404), its matter ``number`` (or the NotFound refusal), and the
    logged-in person's roles there (or the access refusal)."""
    village = village_or_404(code)
    roles = require_village_access(person_id(), village, utcnow())
    return village, matter_by_number(village, number), roles


def form_refusal(form: Any) -> InvalidField:
    """The refusal for a form that did not validate, naming its first error."""
    return InvalidField("input.invalid", N_("表单填写有误：%(detail)s"),
                        detail=first_error(form) or "")


def refused(error: DomainError, page: Callable[..., Page], /, *args: Any, **kwargs: Any) -> Page:
    """A use case refused: nothing it began is kept (the session is rolled back), and ``page``
    is shown again with the refusal in the refusal's status: ``page(*args, **kwargs,
    error=error, status=error.status)``. Pass what the view loaded before the use case, not
    lookups: the arguments are evaluated before the rollback, and the objects it expires are
    read again when the page uses them."""
    db.session.rollback()
    return page(*args, **kwargs, error=error, status=error.status)


def disposition(filename: str) -> str:
    """A Content-Disposition header value for downloading ``filename`` (any characters)."""
    return f"attachment; filename*=UTF-8''{quote(filename)}"


def file_response(data: bytes, filename: str, mimetype: str, *, sandbox: bool = False
                  ) -> Response:
    """``data`` served as a download named ``filename``. ``sandbox`` for files people uploaded:
    a browser that opens one anyway runs nothing in it (Content-Security-Policy: sandbox)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = disposition(filename)
    if sandbox:
        response.headers["Content-Security-Policy"] = "sandbox"
    return response
