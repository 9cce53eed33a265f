"""Meeting video: the signalling messages the hall device and the cloud members' phones pass
through SunVote to set up their WebRTC connections (docs/video.md). Short-lived mailbox rows,
dropped after domain.video.SIGNAL_KEEP_SECONDS; not ledger records (the media is not recorded
here, and who was present is already in the ledger)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
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


class VideoSfuSession(Base):
    """One Janus session SunVote holds for a browser of a meeting's video through the SFU
    (docs/video.md "Through Janus"): ``feed`` is the publisher this session publishes (its own)
    or subscribes to. SunVote is Janus's only API client: it keeps these alive on the browser's
    poll and destroys them the moment the rule (domain.video.video_refusal) refuses the peer."""

    __tablename__ = "video_sfu_session"
    __table_args__ = (UniqueConstraint("meeting_id", "peer", "feed", "publisher"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    peer: Mapped[str] = mapped_column(String(40))      # "hall:<session>" or "m<member id>"
    feed: Mapped[int] = mapped_column(BigInteger)      # Janus publisher id (domain.video.sfu_feed)
    publisher: Mapped[bool]                            # True: publishes ``feed``; False: subscribes
    janus_session: Mapped[int] = mapped_column(BigInteger)
    janus_handle: Mapped[int] = mapped_column(BigInteger)
    kept_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # the last keepalive sent
