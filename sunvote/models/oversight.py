"""Oversight's derived data: each village's dashboard figures, kept with the ledger size they
were counted at (services/oversight.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from sunvote.models.base import Base, utcnow


class VillageFigures(Base):
    """A village's counts for the dashboards — matters per state and per category, roster seats,
    attendance, ballots, poll verdicts — as counted when its ledger held ``ledger_size`` records.

    Every change to the rows counted appends to the village's ledger in the same transaction, so
    figures whose size equals the ledger head's are current, and the dashboard counts again only
    the villages whose ledger has grown. Derived data, not a record: deleting a row costs one
    recount; nothing else reads it."""

    __tablename__ = "village_figures"

    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), primary_key=True)
    ledger_size: Mapped[int]
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    counted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
