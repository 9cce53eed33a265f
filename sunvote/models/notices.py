"""The outbox (issue 18): one row per notice to one person (or one village group) on one
channel, written in the transaction of the event it tells of, and every delivery attempt."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunvote.domain.notices import NoticeChannel, NoticeEvent, NoticeState
from sunvote.models.base import Base, enum_column, utcnow


class Notice(Base):
    """A notice to deliver. ``key`` is its idempotency key (unique: writing the same event's
    notice twice is refused by the database, and providers that take one are given it). The
    sender claims due rows (``state`` queued, ``next_attempt_at`` passed), delivers them and
    records each try as a :class:`NoticeAttempt`."""

    __tablename__ = "notice"
    __table_args__ = (
        # The sender's scan: queued notices in due order.
        Index("ix_notice_due", "state", "next_attempt_at"),
        Index("ix_notice_person_created", "person_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    event: Mapped[NoticeEvent] = mapped_column(enum_column(NoticeEvent, 30))
    channel: Mapped[NoticeChannel] = mapped_column(enum_column(NoticeChannel, 10))
    state: Mapped[NoticeState] = mapped_column(enum_column(NoticeState, 10))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    # The person told; empty for a village group robot's message.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # The phone number, e-mail address or village code the channel delivers to, as written.
    address: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # The page that acts on it, as a path of this site ("/v/…/meetings/3").
    link: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    # While ``sending``: until when the claiming sender may hold it (then it is ``unknown``).
    claimed_until: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    read_at: Mapped[dt.datetime | None]
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(String(300))
    # A letter: the photo of its slip signed on receipt, and who recorded it.
    evidence_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    person = relationship("Person", foreign_keys=[person_id])


class NoticeAttempt(Base):
    """One try at delivering a notice and what came of it (``sent``, ``retry``, ``rejected``,
    ``unknown``)."""

    __tablename__ = "notice_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    number: Mapped[int]
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(300))
