"""The witness store: what must survive a restore of the village database, kept in its own SQLite
file (SUNVOTE_WITNESS_STORE, by default instance/witness-store.sqlite3).

It holds three things, none of which the village database may hold alone:

- the township witness's memory: the newest checkpoint it cosigned for each origin (the
  c2sp.org/tlog-witness state), so that a restored village database cannot roll the witness back;
- the village side's kept checkpoints: the newest cosigned checkpoint of each of this instance's
  logs, checked against the log at start-up, at every witness round and by `sunvote ledger check`;
- evidence: both checkpoints of every rollback or fork found, by the witness or the village side.

Plain sqlite3 with its own transactions (BEGIN IMMEDIATE), so several gunicorn workers and CLI
processes share it safely; it never rides in the village database's transaction.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

_SCHEMA = """
CREATE TABLE IF NOT EXISTS witnessed (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    checkpoint BLOB NOT NULL,
    cosigned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kept (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    checkpoint BLOB NOT NULL,
    kept_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    found_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    cosigned_checkpoint BLOB NOT NULL,
    offered_checkpoint BLOB NOT NULL,
    offered_proof TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    UNIQUE (origin, found_by, cosigned_checkpoint, offered_checkpoint)
);
CREATE INDEX IF NOT EXISTS evidence_origin ON evidence (origin);
"""

WITNESS = "witness"  # found_by: the township witness refused an offered checkpoint
VILLAGE = "village"  # found_by: the village side's kept checkpoint is not in the log


@dataclass(frozen=True)
class Latest:
    """A checkpoint remembered for an origin: size, root and the note (with cosignatures)."""

    size: int
    root: bytes
    checkpoint: bytes


@dataclass(frozen=True)
class Evidence:
    """Two checkpoints of one log that cannot both be true, and who found them."""

    id: int
    origin: str
    found_by: str
    reason: str
    cosigned_checkpoint: bytes
    offered_checkpoint: bytes
    offered_proof: str
    detected_at: dt.datetime


def path() -> Path:
    """The store's file, from the app's configuration."""
    return Path(current_app.config["WITNESS_STORE"])


@contextmanager
def transaction() -> Iterator[sqlite3.Connection]:
    """One write transaction on the store; it holds the store's lock from the first statement,
    so a check and the update that follows it are atomic across processes."""
    conn = _connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


def _connect() -> sqlite3.Connection:
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(file, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a cosignature is never answered before it is kept
    conn.executescript(_SCHEMA)
    return conn


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def witnessed(conn: sqlite3.Connection, origin: str) -> Latest | None:
    """The newest checkpoint the witness cosigned for ``origin``."""
    row = conn.execute("SELECT size, root, checkpoint FROM witnessed WHERE origin = ?",
                       (origin,)).fetchone()
    return Latest(int(row[0]), bytes(row[1]), bytes(row[2])) if row else None


def set_witnessed(conn: sqlite3.Connection, origin: str, latest: Latest) -> None:
    conn.execute("INSERT INTO witnessed (origin, size, root, checkpoint, cosigned_at) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
                 "root = excluded.root, checkpoint = excluded.checkpoint, "
                 "cosigned_at = excluded.cosigned_at",
                 (origin, latest.size, latest.root, latest.checkpoint, _now()))


def kept(origin: str) -> Latest | None:
    """The newest cosigned checkpoint this instance kept for its own log ``origin``."""
    conn = _connect()
    try:
        row = conn.execute("SELECT size, root, checkpoint FROM kept WHERE origin = ?",
                           (origin,)).fetchone()
    finally:
        conn.close()
    return Latest(int(row[0]), bytes(row[1]), bytes(row[2])) if row else None


def keep(origin: str, latest: Latest) -> None:
    """Keep ``latest`` if it is newer than the kept checkpoint (never move backwards)."""
    with transaction() as conn:
        conn.execute("INSERT INTO kept (origin, size, root, checkpoint, kept_at) "
                     "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
                     "size = excluded.size, root = excluded.root, "
                     "checkpoint = excluded.checkpoint, kept_at = excluded.kept_at "
                     "WHERE excluded.size > kept.size",
                     (origin, latest.size, latest.root, latest.checkpoint, _now()))


def add_evidence(conn: sqlite3.Connection | None, origin: str, found_by: str, reason: str,
                 cosigned_checkpoint: bytes, offered_checkpoint: bytes,
                 offered_proof: str) -> None:
    """Keep one piece of evidence (the same pair found again is kept once)."""
    if conn is None:
        with transaction() as own:
            add_evidence(own, origin, found_by, reason, cosigned_checkpoint,
                         offered_checkpoint, offered_proof)
        return
    conn.execute("INSERT INTO evidence (origin, found_by, reason, cosigned_checkpoint, "
                 "offered_checkpoint, offered_proof, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT DO NOTHING",
                 (origin, found_by, reason, cosigned_checkpoint, offered_checkpoint,
                  offered_proof, _now()))


def evidence(origins: Sequence[str] | None = None) -> list[Evidence]:
    """The evidence kept for ``origins`` (all when None), newest first."""
    conn = _connect()
    try:
        query = ("SELECT id, origin, found_by, reason, cosigned_checkpoint, offered_checkpoint, "
                 "offered_proof, detected_at FROM evidence")
        params: tuple[str, ...] = ()
        if origins is not None:
            if not origins:
                return []
            query += f" WHERE origin IN ({', '.join('?' for _ in origins)})"
            params = tuple(origins)
        rows = conn.execute(query + " ORDER BY id DESC", params).fetchall()
    finally:
        conn.close()
    return [Evidence(int(r[0]), r[1], r[2], r[3], bytes(r[4]), bytes(r[5]), r[6],
                     dt.datetime.fromisoformat(r[7])) for r in rows]
