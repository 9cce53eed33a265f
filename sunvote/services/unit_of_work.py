"""One transaction per use case: the @use_case decorator, and the per-village write lock."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from sunvote.domain.errors import N_, Conflict, DomainError, NotFound
from sunvote.extensions import db
from sunvote.models import Village

P = ParamSpec("P")
R = TypeVar("R")

#: Execution option that makes SQLite open the transaction with BEGIN IMMEDIATE (see app.py), so
#: a use case holds the write lock from its first read and never fails half-way on an upgrade.
WRITE_OPTION = "sunvote_write"

#: session.info key of the ledger's per-transaction cache of village tails (services.ledger);
#: dropped when the transaction ends, whatever its outcome.
LEDGER_TAILS = "ledger_tails"


class KeepAndRefuse(Exception):
    """Raised inside a use case to refuse while keeping what it wrote: a wrong PIN is refused,
    yet its count must stay. :func:`use_case` commits, then raises ``refusal``. Raise it only
    when nothing but the count was written."""

    def __init__(self, refusal: DomainError) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


def use_case(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` as one transaction: commit if it returns, roll back everything if it raises.

    A read-only transaction the view may have opened (loading the logged-in user, say) is ended
    first so that this one can take the write lock. Nested use cases join the outer transaction.
    Views, CLI commands and models never commit; only this does.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = db.session()
        if session.info.get("in_use_case"):
            return fn(*args, **kwargs)
        if session.in_transaction():
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("unsaved changes outside a use case")  # a programming error
            session.rollback()
        session.info["in_use_case"] = True
        try:
            session.connection(execution_options={WRITE_OPTION: True})
            result = fn(*args, **kwargs)
            session.commit()
            return result
        except KeepAndRefuse as kept:
            session.commit()
            raise kept.refusal from None
        except StaleDataError:
            session.rollback()
            raise Conflict("procedure.concurrent_change",
                           N_("事项已被他人同时修改，请刷新后重试")) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info["in_use_case"] = False
            session.info.pop(LEDGER_TAILS, None)

    return wrapper


def lock_village(village_id: int) -> Village:
    """Serialise writers of one village for the rest of the transaction: PostgreSQL locks the
    village row; SQLite's BEGIN IMMEDIATE already holds the database's write lock."""
    stmt = select(Village).where(Village.id == village_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    village = db.session.execute(stmt).scalar_one_or_none()
    if village is None:
        raise NotFound("input.invalid", N_("没有这个村"))
    return village
