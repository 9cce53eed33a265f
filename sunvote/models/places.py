"""Townships, villages and township settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunvote.domain.ledger.origin import legacy_origin
from sunvote.models.base import Base, utcnow


class Township(Base):
    """A township or sub-district (乡镇/街道); its settings govern its villages."""

    __tablename__ = "township"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    villages: Mapped[list[Village]] = relationship(back_populates="township",
                                                   order_by="Village.code")


class Village(Base):
    """An administrative village (行政村); each has its own ledger (origin
    ``<installation prefix>/<t>/<v>``, or ``sunvote.<t>/<v>`` for logs begun before 0012)."""

    __tablename__ = "village"

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True)
    # Globally unique: it appears in URLs and in the ledger's origin line.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The log's origin line, unique per installation; NULL for a log begun with the legacy
    # origin sunvote.<township>/<village>, which it keeps.
    ledger_origin: Mapped[str | None] = mapped_column(String(120), unique=True)

    township: Mapped[Township] = relationship(back_populates="villages")

    @property
    def origin(self) -> str:
        """The ledger origin string of this village's log."""
        return self.ledger_origin or legacy_origin(self.township.code, self.code)


class TownshipSetting(Base):
    """One value given to a township setting. Rows are only added, never changed: the newest row
    per (township, key) is in force, the older ones are its history."""

    __tablename__ = "township_setting"
    __table_args__ = (UniqueConstraint("township_id", "key", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True)
    key: Mapped[str] = mapped_column(String(60))
    revision: Mapped[int]
    value: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
