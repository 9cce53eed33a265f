"""Secret ballots sealed on the voter's own device: their codes live in a cookie there (never
in the database next to the voter), and a choice is shown only as
:func:`sunvote.domain.assembly.check_secret_receipt` allows (docs/assembly.md)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Response, after_this_request, request
from sqlalchemy import select

from sunvote.domain.assembly import (
    SECRET_RECEIPT_WINDOW,
    Choice,
    VoteMode,
    check_secret_receipt,
)
from sunvote.domain.errors import Conflict
from sunvote.extensions import db
from sunvote.models import Ballot, Poll

COOKIE = "sunvote_sealed"
#: Codes kept per device (the newest first): a meeting has a handful of secret polls.
MAX_CODES = 20
#: The cookie outlives a long meeting and the check window after it, and no more.
MAX_AGE = dt.timedelta(days=1) + SECRET_RECEIPT_WINDOW
_ENTRY = re.compile(r"([0-9]{1,12}):([A-Za-z0-9_-]{16,64})")


@dataclass(frozen=True)
class Sealed:
    """A secret ballot this device cast: its code, and its choice unless ``refusal`` says why
    not (still sealed, or the window has passed)."""

    poll_id: int
    code: str
    choice: Choice | None
    refusal: Conflict | None


def _entries() -> list[tuple[int, str]]:
    found = []
    for part in request.cookies.get(COOKIE, "").split("."):
        match = _ENTRY.fullmatch(part)
        if match:
            found.append((int(match.group(1)), match.group(2)))
    return found[:MAX_CODES]


def remember(person_id: int, code: str) -> None:
    """Keep ``code`` on this device for ``person_id`` (set on the response being built). The
    person is part of the entry, so another login on a shared browser is shown nothing."""
    entries = [(person_id, code), *(e for e in _entries() if e[1] != code)][:MAX_CODES]

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(COOKIE, ".".join(f"{p}:{c}" for p, c in entries),
                            max_age=int(MAX_AGE.total_seconds()), httponly=True,
                            samesite="Lax", secure=request.is_secure)
        return response


def mine(person_id: int, polls: Iterable[Poll], now: dt.datetime) -> dict[int, Sealed]:
    """This device's sealed ballots of ``person_id`` in ``polls`` (secret ones), by poll id."""
    secret = {p.id: p for p in polls if p.mode == VoteMode.SECRET}
    codes = [code for person, code in _entries() if person == person_id]
    if not secret or not codes:
        return {}
    found: dict[int, Sealed] = {}
    for ballot in db.session.execute(select(Ballot).where(
            Ballot.code.in_(codes), Ballot.poll_id.in_(list(secret)))).scalars():
        refusal = check_secret_receipt(secret[ballot.poll_id].closed_at, now, own_device=True)
        found[ballot.poll_id] = Sealed(ballot.poll_id, ballot.code,
                                       ballot.choice if refusal is None else None,
                                       refusal)
    return found


def is_mine(person_id: int, code: str) -> bool:
    """Whether this device cast the ballot ``code`` for ``person_id``."""
    return (person_id, code) in _entries()
