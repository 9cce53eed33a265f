"""Meeting video: the signalling messages the hall device and the cloud members' phones pass
through SunVote to set up their WebRTC connections (docs/video.md). Short-lived mailbox rows,
dropped after domain.video.SIGNAL_KEEP_SECONDS; not ledger records (the media is not recorded
here, and who was present is already in the ledger)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sunvote.models.base import Base, utcnow


class VideoSignal(Base):
    """One message from ``sender`` to ``recipient`` in a meeting's media session: the hall's
    hello (recipient "*"), an offer, an answer, ICE candidates, a bye. Readers ask for what is
    addressed to them after the last id they saw (ids only grow: SQLite AUTOINCREMENT)."""

    __tablename__ = "video_signal"
    __table_args__ = (Index("ix_video_signal_mailbox", "meeting_id", "recipient", "id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    sender: Mapped[str] = mapped_column(String(40))     # "hall:<session>" or "m<member id>"
    recipient: Mapped[str] = mapped_column(String(40))  # the same, or "*" for the hall's hello
    kind: Mapped[str] = mapped_column(String(12))       # domain.video.Kind
    connection: Mapped[str] = mapped_column(String(32))  # the phone's connection id
    body: Mapped[str] = mapped_column(Text)             # JSON text (checked, size-bounded)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
