"""The hall's recording of a meeting (issue 19): its chain's tail, and each chunk taken (its
bytes are a :class:`~sunvote.models.matters.Blob` until the recording is purged)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunvote.domain.recording import GENESIS
from sunvote.models.base import Base, utcnow


class Recording(Base):
    """One meeting's recording: where its hash chain stands (the next chunk's number, the last
    chunk's SHA-256 and arrival), its size, and when it started, ended (meeting.close) and was
    purged (its blobs deleted after the township's retention; the chunk rows and the ledger
    keep the hashes)."""

    __tablename__ = "recording"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    next_seq: Mapped[int] = mapped_column(default=0)
    last_sha256: Mapped[str] = mapped_column(String(64), default=GENESIS)
    last_at: Mapped[dt.datetime | None]
    bytes: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    purged_at: Mapped[dt.datetime | None]
    # Refused uploads written to the ledger (domain.recording.refusal_to_record caps them), and
    # each one's "rule seq sha256", one a line, so that a page retrying one adds nothing.
    refusals_recorded: Mapped[int] = mapped_column(default=0)
    refused_keys: Mapped[str] = mapped_column(Text, default="")

    meeting = relationship("Meeting")
    chunks: Mapped[list[RecordingChunk]] = relationship(order_by="RecordingChunk.seq",
                                                        back_populates="recording")


class RecordingChunk(Base):
    """Chunk ``seq`` of a recording as taken: its SHA-256 (the blob's key while kept), size,
    media type, whether a recorder run (a playable file) starts with it, when it arrived and
    the ledger record that signed it."""

    __tablename__ = "recording_chunk"
    __table_args__ = (UniqueConstraint("recording_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recording.id"))
    seq: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    first: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ledger_seq: Mapped[int]

    recording: Mapped[Recording] = relationship(back_populates="chunks")
