"""Step 6's checks that the procedure itself applies: may implementation start (notice period
over, no objection open), may the matter be signed off (every update confirmed, the last at
100 %, a signer independent of those who recorded them). The procedure's start_implementation
and complete (services/matters.py) refuse with them; the matter page asks them to decide what to
offer; the supervision use cases (services/supervision.py) act on step 6. Reads only, so that
the procedure and supervision do not import each other."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from sunvote.domain import supervision as rules
from sunvote.domain.administration import checker_login_refusal
from sunvote.domain.errors import DomainError
from sunvote.extensions import db
from sunvote.models import ImplementationUpdate, Matter, Objection
from sunvote.services import accounts


def open_objections(matter: Matter) -> int:
    """Objections to this matter not answered yet."""
    return int(db.session.execute(select(func.count()).select_from(Objection).where(
        Objection.matter_id == matter.id, Objection.replied_at.is_(None))).scalar_one())


def start_refusal(matter: Matter, now: dt.datetime) -> DomainError | None:
    """Why implementation of ``matter`` may not start now (notice period, open objections), or
    None. The procedure's start_implementation refuses with it; the matter page asks it to decide
    whether to offer the form."""
    return rules.start_refusal(now, matter.notice_ends_at, open_objections(matter))


def check_before_start(matter: Matter, now: dt.datetime) -> None:
    """Called by the procedure's start_implementation: raise :func:`start_refusal`'s refusal."""
    refusal = start_refusal(matter, now)
    if refusal is not None:
        raise refusal


def completion_refusal(matter: Matter, actor_id: int) -> DomainError | None:
    """Why ``actor_id`` may not sign off ``matter`` now, or None: every update confirmed, the
    last at 100 %, and the signer's login not issued by anyone who recorded an update. The
    procedure's complete refuses with it; the matter page asks it before offering the form."""
    updates = list(db.session.execute(
        select(ImplementationUpdate.recorded_by_id, ImplementationUpdate.progress,
               ImplementationUpdate.confirmed_at)
        .where(ImplementationUpdate.matter_id == matter.id)
        .order_by(ImplementationUpdate.number)).all())
    refusal = checker_login_refusal(actor_id, accounts.issuer_of(actor_id),
                                    {u.recorded_by_id for u in updates})
    if refusal is not None:
        return refusal
    return rules.completion_refusal(sum(1 for u in updates if u.confirmed_at is None),
                                    updates[-1].progress if updates else None)


def check_before_completion(matter: Matter, actor_id: int) -> None:
    """Called by the procedure's complete: raise :func:`completion_refusal`'s refusal."""
    refusal = completion_refusal(matter, actor_id)
    if refusal is not None:
        raise refusal
