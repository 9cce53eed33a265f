"""Cloud voting: enrolled phones (device keys), single-use enrolment QRs, meeting invitations
and the audit of refused attempts. Tokens are kept only as SHA-256 hashes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sunvote.models.base import Base, utcnow


class Device(Base):
    """A member's enrolled phone: the public half of a key pair that never leaves the phone.
    The current device of a member is the one neither replaced nor revoked."""

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # "ed25519:…" / "p256:…"
    fingerprint: Mapped[str] = mapped_column(String(40))
    pin_hash: Mapped[str] = mapped_column(String(255))
    # Wrong PINs in a row; at cloud.PIN_ATTEMPTS the device is locked until the clerk resets it.
    failed_pins: Mapped[int] = mapped_column(default=0)
    enrolled_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    enrolled_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    replaced_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))

    person = relationship("Person", foreign_keys=[person_id])

    @property
    def current(self) -> bool:
        """Neither replaced by a newer phone nor revoked."""
        return self.replaced_at is None and self.revoked_at is None


class Enrolment(Base):
    """A single-use enrolment QR the clerk showed for one member; expires in minutes."""

    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Signed by the phone in its proof of possession (fresh for each QR).
    challenge: Mapped[str] = mapped_column(String(64))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))

    person = relationship("Person", foreign_keys=[person_id])


class Invitation(Base):
    """A member's personal cloud-vote invitation to one meeting. Used once, by the member's
    enrolled phone, which then holds a session for the meeting (``session_hash``)."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    person = relationship("Person", foreign_keys=[person_id])
    meeting = relationship("Meeting")


class CloudEvent(Base):
    """A refused cloud-vote attempt (or a clerk's unlock), for the clerk and the supervisors.
    ``address`` is a keyed hash of the network address, enough to rate-limit, not to identify."""

    __tablename__ = "cloud_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unknown when the token named nothing (counted for the address's limit only).
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    action: Mapped[str] = mapped_column(String(20))  # enrol, join, vote, unlock, revoke
    rule: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(String(500))  # the refusal, in Chinese (msgid filled)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    person = relationship("Person", foreign_keys=[person_id])
