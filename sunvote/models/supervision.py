"""Step 6: villagers' objections during the public notice and the committee's replies,
implementation updates and their confirmation, and satisfaction ratings (one per household)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunvote.models.base import Base, utcnow


class Objection(Base):
    """A villager's objection to a passed result during its notice period (numbered per
    matter). The objector's name and household are kept here, not in the public ledger."""

    __tablename__ = "objection"
    __table_args__ = (UniqueConstraint("matter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reply_due_at: Mapped[dt.datetime]
    source_key: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))  # supervision.Outcome
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    replied_at: Mapped[dt.datetime | None]

    matter = relationship("Matter")
    replied_by = relationship("Person")


class ImplementationUpdate(Base):
    """Progress recorded by the village committee (numbered per matter), with money spent so far
    and evidence files; confirmed by a supervisory committee member. Never edited."""

    __tablename__ = "implementation_update"
    __table_args__ = (UniqueConstraint("matter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    number: Mapped[int]
    milestone: Mapped[str] = mapped_column(String(200))
    progress: Mapped[int]  # percent, 0–100
    spent_fen: Mapped[int] = mapped_column(BigInteger)  # spent so far, in fen
    note: Mapped[str] = mapped_column(Text, default="")
    # [{"name", "sha256", "size", "type"}]: files stored as blobs, hashes in the ledger.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    confirmed_at: Mapped[dt.datetime | None]

    matter = relationship("Matter")
    recorded_by = relationship("Person", foreign_keys=[recorded_by_id])
    confirmed_by = relationship("Person", foreign_keys=[confirmed_by_id])


class Rating(Base):
    """A household's satisfaction with a completed matter (1–5); one per household."""

    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("matter_id", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    score: Mapped[int]
    rated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Keyed hash of the network address it came from (services/suggestions.source_key): the
    # per-address limit; never shown, never signed.
    source_key: Mapped[str | None] = mapped_column(String(64), index=True)
