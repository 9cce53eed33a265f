"""The reads of the supervisory committee's pages: the latest cosignatures of the village's
ledger, and an objection or an implementation update of the village by its id."""

from __future__ import annotations

from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import ImplementationUpdate, LedgerCosigned, Matter, Objection, Village


def latest_cosignatures(village: Village, count: int = 5) -> list[LedgerCosigned]:
    """The township witness's latest cosignatures of the village's ledger, newest first."""
    return list(db.session.execute(
        select(LedgerCosigned).where(LedgerCosigned.village_id == village.id)
        .order_by(LedgerCosigned.size.desc()).limit(count)).scalars())


def objection(village: Village, objection_id: int) -> Objection | None:
    """The objection ``objection_id`` if it is to one of the village's matters."""
    row = db.session.get(Objection, objection_id)
    return row if row is not None and row.matter.village_id == village.id else None


def update(village: Village, update_id: int) -> ImplementationUpdate | None:
    """The implementation update ``update_id`` if it is of one of the village's matters."""
    row = db.session.get(ImplementationUpdate, update_id)
    if row is None:
        return None
    matter = db.session.get(Matter, row.matter_id)
    return row if matter is not None and matter.village_id == village.id else None
