"""Matters, their step records (the full history), attachments, stored files and suggestions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunvote.models.base import Base, utcnow


class Matter(Base):
    """A matter put through the six steps. Only services.matters changes ``state``, and only as
    the procedure engine decides; ``version`` guards against two changes racing."""

    __tablename__ = "matter"
    __table_args__ = (
        UniqueConstraint("village_id", "number"),
        CheckConstraint("category IS NULL OR (category BETWEEN 1 AND 10)", name="category_range"),
        CheckConstraint("amount_fen IS NULL OR amount_fen >= 0", name="amount_nonnegative"),
        # Open matters waiting longer than a limit, matters under notice: the dashboards ask
        # by state, then by time.
        Index("ix_matter_state_updated_at", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))  # e.g. 2026-003, per village and year
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[int | None]
    category_reason: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)  # the plan summary (proposal or revision)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)  # money involved, in fen (分)
    state: Mapped[str] = mapped_column(String(20))
    filing_no: Mapped[str | None] = mapped_column(String(60))
    origin_matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # The vote's result published (step 6): for a passed matter, the notice period's end.
    notice_starts_at: Mapped[dt.datetime | None]
    notice_ends_at: Mapped[dt.datetime | None]

    steps: Mapped[list[StepRecord]] = relationship(back_populates="matter",
                                                   order_by="StepRecord.seq")
    suggestions: Mapped[list[Suggestion]] = relationship(back_populates="matter",
                                                         order_by="Suggestion.id")
    village = relationship("Village")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it once)


class StepRecord(Base):
    """One action on a matter: who, in which role, when, the state change and what was recorded.
    Rows are only ever added; the matter's history is the list of its step records."""

    __tablename__ = "step_record"
    __table_args__ = (UniqueConstraint("matter_id", "seq"),
                      # Every implementation start against its notice (the dashboards' check):
                      # an index-only scan of one action's records.
                      Index("ix_step_record_action", "action", "matter_id", "acted_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    seq: Mapped[int]  # 1, 2, … within the matter
    step: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    actor_role: Mapped[str] = mapped_column(String(30))
    acted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the fields recorded, JSON-safe

    matter: Mapped[Matter] = relationship(back_populates="steps")
    actor = relationship("Person")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="step_record",
                                                         order_by="Attachment.id")


class Blob(Base):
    """File contents, stored once per SHA-256 in the database (so one transaction covers them)."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    """A file attached to a step record (materials, minutes, scans), named and typed."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"), index=True)

    step_record: Mapped[StepRecord] = relationship(back_populates="attachments")


class Suggestion(Base):
    """A suggestion from a villager or party member (step 1): public QR form, paper or box, or a
    township assignment. Several suggestions may be merged into one matter, or one may be
    declined with a reason (docs/public-board.md, "Following a suggestion")."""

    __tablename__ = "suggestion"
    __table_args__ = (UniqueConstraint("village_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    number: Mapped[int] = mapped_column()  # 1, 2, … per village: "建议 7号"
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # qr, paper, box, township
    text: Mapped[str] = mapped_column(Text)
    suggester_name: Mapped[str | None] = mapped_column(String(60))
    party_member: Mapped[bool] = mapped_column(default=False)
    contact: Mapped[str | None] = mapped_column(String(60))  # private: never shown publicly
    show_name: Mapped[bool] = mapped_column(default=False)  # may the public see the name?
    source_key: Mapped[str | None] = mapped_column(String(64), index=True)  # hashed address
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # SHA-256 of the private follow code given to a public-form suggester (never the code).
    follow_hash: Mapped[str | None] = mapped_column(String(64))
    decline_reason: Mapped[str | None] = mapped_column(Text)  # set when not taken up
    declined_at: Mapped[dt.datetime | None] = mapped_column()
    declined_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    matter: Mapped[Matter | None] = relationship(back_populates="suggestions")
