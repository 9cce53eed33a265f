"""Ledger tables: keys, records, Merkle nodes, the head (newest checkpoint), cosigned checkpoints;
and the witness's side: its key, the logs it follows, equivocation evidence."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sunvote.models.base import Base, utcnow


class LedgerKey(Base):
    """A village's log key. The private seed is kept encrypted (AES-256-GCM under a key derived
    with scrypt from SUNVOTE_LEDGER_PASSPHRASE); one key per village is active at a time."""

    __tablename__ = "ledger_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    vkey: Mapped[str] = mapped_column(String(200), unique=True)  # C2SP verifier key string
    encrypted_seed: Mapped[bytes] = mapped_column(LargeBinary)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None]  # replaced by a newer key (key.rotate)
    revoked_at: Mapped[dt.datetime | None]  # must no longer be trusted (key.revoke)


class LedgerRecord(Base):
    """One record: its exact signed bytes are the Merkle leaf."""

    __tablename__ = "ledger_record"
    __table_args__ = (UniqueConstraint("village_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LedgerNode(Base):
    """A perfect subtree's hash: level 0 are leaf hashes; (level, idx) covers leaves
    [idx·2^level, (idx+1)·2^level). Proofs read O(log n) of these."""

    __tablename__ = "ledger_node"

    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerHead(Base):
    """The tail of a village's log: its size, its compact range (``border``: the perfect
    subtrees covering it, 32 bytes each, largest first — also in ledger_node, kept here so an
    append reads one row) and the newest signed checkpoint."""

    __tablename__ = "ledger_head"

    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), primary_key=True)
    size: Mapped[int]
    root: Mapped[bytes] = mapped_column(LargeBinary)
    border: Mapped[bytes] = mapped_column(LargeBinary)
    checkpoint: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LedgerCosigned(Base):
    """A checkpoint of this village that a witness cosigned (the note with its cosignature)."""

    __tablename__ = "ledger_cosigned"
    __table_args__ = (UniqueConstraint("village_id", "size", "witness"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    size: Mapped[int]
    witness: Mapped[str] = mapped_column(String(200))
    note: Mapped[bytes] = mapped_column(LargeBinary)
    cosigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WitnessKey(Base):
    """The township's witness (cosigner) key, encrypted like log keys."""

    __tablename__ = "witness_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), unique=True)
    vkey: Mapped[str] = mapped_column(String(200), unique=True)
    encrypted_seed: Mapped[bytes] = mapped_column(LargeBinary)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WitnessedLog(Base):
    """A village log the township witnesses: the log's key, and the newest checkpoint cosigned."""

    __tablename__ = "witnessed_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True)
    origin: Mapped[str] = mapped_column(String(120), unique=True)
    log_vkey: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(default=0)
    root: Mapped[bytes | None] = mapped_column(LargeBinary)
    checkpoint: Mapped[bytes | None] = mapped_column(LargeBinary)
    cosigned_at: Mapped[dt.datetime | None]


class EquivocationEvidence(Base):
    """Two validly signed checkpoints of one log that cannot both be true (a split view or a
    rollback): kept for ever, and a red warning while it exists."""

    __tablename__ = "equivocation_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(120), index=True)
    reason: Mapped[str] = mapped_column(Text)
    cosigned_checkpoint: Mapped[bytes] = mapped_column(LargeBinary)
    offered_checkpoint: Mapped[bytes] = mapped_column(LargeBinary)
    offered_proof: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WitnessHistory(Base):
    """Every checkpoint the witness cosigned (size and root), to spot a second root for a size."""

    __tablename__ = "witness_history"
    __table_args__ = (UniqueConstraint("origin", "size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    root: Mapped[bytes] = mapped_column(LargeBinary)
    cosigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LedgerVerification(Base):
    """A server-side run of the offline verifier on a fresh export of a village's log: kept so
    the committee, the township and the district see the last result (issue 6 warns on a
    failure). The real check is the offline one on the committee's own computer."""

    __tablename__ = "ledger_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    size: Mapped[int]
    root: Mapped[bytes] = mapped_column(LargeBinary)
    ok: Mapped[bool]
    exit_code: Mapped[int]
    failures: Mapped[list[str]] = mapped_column(JSON)  # the first 20, as text
    cosigned_by: Mapped[list[str]] = mapped_column(JSON)  # witness names whose cosignature held
    seconds: Mapped[float]
    verified_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
