"""The village ledger inside the database: append a record (in the caller's transaction), read
proofs and checkpoints, stream an export.

Every use case that changes state calls :func:`append` before it returns, inside its own
transaction (``@use_case``), so the change and its signed record commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, event, insert, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from sunvote.domain.ledger.checkpoint import Checkpoint, sign_checkpoint
from sunvote.domain.ledger.memory import consistency_sizes
from sunvote.domain.ledger.merkle import (
    EMPTY_ROOT,
    append_nodes,
    compact_range,
    consistency_proof_from_nodes,
    consistency_proof_nodes,
    inclusion_proof_from_nodes,
    inclusion_proof_nodes,
    leaf_hash,
    root_from_border,
)
from sunvote.domain.ledger.note import NoteSigner
from sunvote.domain.ledger.origin import legacy_origin
from sunvote.domain.ledger.proofs import Receipt, TlogProof, format_receipt
from sunvote.domain.ledger.records import b64, make_record
from sunvote.extensions import db
from sunvote.models import (
    LedgerCosigned,
    LedgerHead,
    LedgerKey,
    LedgerNode,
    LedgerRecord,
    Township,
    Village,
)
from sunvote.services import keys
from sunvote.services.unit_of_work import LEDGER_TAILS
from sunvote.verifier_release import published_sha256, wheel_name


def iso(moment: dt.datetime) -> str:
    """UTC time as recorded in the ledger: YYYY-MM-DDTHH:MM:SSZ."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Appended:
    """What an append produced: the record's index and bytes, and the new tree head."""

    seq: int
    data: bytes
    size: int
    root: bytes
    checkpoint: bytes


def active_key(village_id: int) -> LedgerKey:
    """The village's current log key (one that is neither retired nor revoked)."""
    key = db.session.execute(
        select(LedgerKey).where(LedgerKey.village_id == village_id,
                                LedgerKey.retired_at.is_(None), LedgerKey.revoked_at.is_(None))
        .order_by(LedgerKey.id.desc())
    ).scalars().first()
    if key is None:
        raise RuntimeError(f"village {village_id} has no active log key")
    return key


def signer_of(key: LedgerKey) -> keys.LogSigner:
    """The signer of a stored log key."""
    return keys.log_signer(key.vkey, key.salt, key.encrypted_seed)


@dataclass(frozen=True)
class _Tail:
    """What an append starts from: the log's origin and key, its size, compact range and root."""

    origin: str
    signer: keys.LogSigner
    size: int
    border: list[bytes]
    root: bytes


# The append path's statements, built once (building them per call cost more than running them).
_TAIL = (select(Village.code, Township.code, Village.ledger_origin, LedgerKey.vkey, LedgerKey.salt,
                LedgerKey.encrypted_seed, LedgerHead.size, LedgerHead.border)
         .select_from(Village)
         .join(Township, Township.id == Village.township_id)
         .join(LedgerKey, (LedgerKey.village_id == Village.id)
               & LedgerKey.retired_at.is_(None) & LedgerKey.revoked_at.is_(None))
         .outerjoin(LedgerHead, LedgerHead.village_id == Village.id)
         .where(Village.id == bindparam("village_id"))
         .order_by(LedgerKey.id.desc()).limit(1))
_TAIL_LOCKED = _TAIL.with_for_update(of=Village)  # PostgreSQL: the row lock of lock_village()
_INSERT_RECORD = insert(LedgerRecord)
_INSERT_NODE = insert(LedgerNode)
_INSERT_HEAD = insert(LedgerHead)
# The vkey of the village's active key, as _TAIL picks it.
_ACTIVE_VKEY = (select(LedgerKey.vkey)
                .where(LedgerKey.village_id == bindparam("b_village"),
                       LedgerKey.retired_at.is_(None), LedgerKey.revoked_at.is_(None))
                .order_by(LedgerKey.id.desc()).limit(1).scalar_subquery())
# SQLite: the head moves only if it is still the tail the record was built on (same size, same
# root, same active key); the database's write lock (BEGIN IMMEDIATE) is already held.
_UPDATE_HEAD = (update(LedgerHead)
                .where(LedgerHead.village_id == bindparam("b_village"),
                       LedgerHead.size == bindparam("b_old_size"),
                       LedgerHead.root == bindparam("b_old_root"),
                       bindparam("b_vkey") == _ACTIVE_VKEY)
                .values(size=bindparam("b_size"), root=bindparam("b_root"),
                        border=bindparam("b_border"), checkpoint=bindparam("b_checkpoint"),
                        updated_at=bindparam("b_updated_at")))
# PostgreSQL: the whole append in one statement (one round trip). The village row is locked
# first (the lock of lock_village(), taken in the uncorrelated subquery before any row is
# read); the head moves only if it is still the tail the record was built on (same size, same
# root, same active key; under READ COMMITTED a head that another transaction moved meanwhile
# is re-checked at its newest version and fails), and the record and its nodes are written only
# if the head moved. The answer is the number of heads moved: 1, or 0 for a stale tail.
_APPEND_PG = text(
    "WITH head AS ("
    " UPDATE ledger_head SET size = :size + 1, root = :root, border = :border,"
    " checkpoint = :checkpoint, updated_at = :now"
    " WHERE village_id = (SELECT v.id FROM village v WHERE v.id = :village FOR UPDATE)"
    " AND size = :size AND root = :old_root"
    " AND (SELECT k.vkey FROM ledger_key k WHERE k.village_id = :village"
    " AND k.retired_at IS NULL AND k.revoked_at IS NULL ORDER BY k.id DESC LIMIT 1) = :vkey"
    " RETURNING village_id),"
    " record AS (INSERT INTO ledger_record (village_id, seq, type, data, created_at)"
    " SELECT village_id, :size, :type, :data, :now FROM head),"
    " nodes AS (INSERT INTO ledger_node (village_id, level, idx, hash)"
    " SELECT head.village_id, n.level, n.idx, n.hash FROM head, unnest("
    "CAST(:levels AS integer[]), CAST(:idxs AS integer[]), CAST(:hashes AS bytea[]))"
    " AS n(level, idx, hash))"
    " SELECT count(*) FROM head")

# PostgreSQL: one fixed statement whatever the proof (arrays as parameters), so it is compiled
# and planned once; a statement whose shape follows the proof cost more than the lookups.
_NODES_PG = text(
    "SELECT n.level, n.idx, n.hash"
    " FROM unnest(CAST(:levels AS integer[]), CAST(:idxs AS integer[])) AS a(level, idx)"
    " JOIN ledger_node n ON n.village_id = :village AND n.level = a.level AND n.idx = a.idx")

# SQLite: the same with the addresses as one JSON array of [level, idx] pairs. CROSS JOIN keeps
# json_each as the outer loop (SQLite's planner takes the order as written), so each address is
# a primary-key lookup; with a plain JOIN it scanned the village's nodes. (Building an OR of IN
# lists per proof cost ten times the lookups: SQLAlchemy built a statement of a new shape.)
_NODES_SQLITE = text(
    "SELECT n.level, n.idx, n.hash FROM json_each(:addresses) AS a CROSS JOIN ledger_node n"
    " WHERE n.village_id = :village AND n.level = json_extract(a.value, '$[0]')"
    " AND n.idx = json_extract(a.value, '$[1]')")

# session.info key: tails written in this transaction, by village id (unit_of_work clears it).
_TAILS = LEDGER_TAILS
# session.info key: the app's committed tails (below), where this transaction's go on commit.
_COMMITTED = "ledger_committed_tails"


def _committed_tails() -> dict[int, _Tail]:
    """The tails this process's appends committed, by village id. Only a guess: another process
    may have appended since, a key changed or a backup been restored. An append built on one is
    written only if the head is still that tail (checked in the write), else built again."""
    tails: dict[int, _Tail] = current_app.extensions.setdefault(_COMMITTED, {})
    return tails


@event.listens_for(Session, "after_commit")
def _keep_committed_tails(session: Session) -> None:
    written = session.info.get(_TAILS)
    committed = session.info.get(_COMMITTED)
    if written and committed is not None:
        committed.update(written)


def _read_tail(village_id: int) -> _Tail:
    """Lock the village and read everything an append needs in one query: origin, active key,
    size and compact range."""
    session = db.session()
    postgres = session.get_bind().dialect.name == "postgresql"
    row = session.connection().execute(_TAIL_LOCKED if postgres else _TAIL,
                                       {"village_id": village_id}).one_or_none()
    if row is None:
        raise RuntimeError(f"village {village_id} has no active log key")
    village_code, township_code, stored_origin, vkey, salt, sealed, size, border = row
    compact = [border[i:i + 32] for i in range(0, len(border or b""), 32)]
    return _Tail(origin=stored_origin or legacy_origin(township_code, village_code),
                 signer=keys.log_signer(vkey, salt, sealed), size=size or 0, border=compact,
                 root=root_from_border(compact) if compact else EMPTY_ROOT)


def append(village: Village, type_: str, body: Mapping[str, Any], *,
           extra_signers: Sequence[NoteSigner] = (), signer: NoteSigner | None = None,
           checkpoint_signer: NoteSigner | None = None) -> Appended:
    """Append one record to ``village``'s log in the current transaction.

    Builds the record on the log's tail (size and compact range): the one this transaction
    wrote last, else the one this process committed last, else read with the village locked.
    Signs it with the log key (and ``extra_signers``) and writes the record, the new Merkle
    nodes and the new signed checkpoint, locking the village, only if the head is still that
    tail; if not, reads the tail and builds the record again. Must run inside a use case.
    Written with Core statements, one on PostgreSQL: this is the hottest path of the system
    (docs/performance.md).
    """
    session = db.session()
    if not session.info.get("in_use_case"):
        raise RuntimeError("ledger.append must run inside a @use_case transaction")
    # The identity holds the primary key even when the object has expired after a commit:
    # reading village.id would reload the whole row.
    identity = sa_inspect(village).identity
    village_id = int(identity[0]) if identity else village.id
    written: dict[int, _Tail] = session.info.setdefault(_TAILS, {})
    committed = session.info[_COMMITTED] = _committed_tails()
    tail = written.get(village_id) or committed.get(village_id)
    if tail is None or tail.size == 0:
        tail = _read_tail(village_id)
    conn = session.connection()  # Core on the session's connection: same transaction, no ORM
    postgres = conn.dialect.name == "postgresql"
    for attempt in range(2):
        log_signer = signer or tail.signer
        size, border = tail.size, tail.border
        data = make_record(tail.origin, size, tail.root, type_, body,
                           [log_signer, *extra_signers])
        new_nodes, new_border = append_nodes(size, border, leaf_hash(data))
        root = root_from_border(new_border)
        checkpoint = sign_checkpoint(Checkpoint(tail.origin, size + 1, root),
                                     checkpoint_signer or log_signer)
        now = dt.datetime.now(dt.UTC)
        if size == 0:
            conn.execute(_INSERT_HEAD, {"village_id": village_id, "size": 1, "root": root,
                                        "border": b"".join(new_border),
                                        "checkpoint": checkpoint, "updated_at": now})
            moved = True
        elif postgres:
            moved = conn.execute(_APPEND_PG, {
                "village": village_id, "size": size, "old_root": tail.root,
                "vkey": tail.signer.vkey, "root": root, "border": b"".join(new_border),
                "checkpoint": checkpoint, "now": now, "type": type_, "data": data,
                "levels": [n[0] for n in new_nodes], "idxs": [n[1] for n in new_nodes],
                "hashes": [n[2] for n in new_nodes]}).scalar_one() == 1
        else:
            moved = conn.execute(_UPDATE_HEAD, {
                "b_village": village_id, "b_old_size": size, "b_old_root": tail.root,
                "b_vkey": tail.signer.vkey, "b_size": size + 1, "b_root": root,
                "b_border": b"".join(new_border), "b_checkpoint": checkpoint,
                "b_updated_at": now}).rowcount == 1
        if moved:
            break
        if attempt:
            raise RuntimeError(f"ledger head of village {village_id} moved under its lock")
        tail = _read_tail(village_id)
    if size == 0 or not postgres:
        conn.execute(_INSERT_RECORD, {"village_id": village_id, "seq": size, "type": type_,
                                      "data": data, "created_at": now})
        conn.execute(_INSERT_NODE, [{"village_id": village_id, "level": level, "idx": idx,
                                     "hash": h} for level, idx, h in new_nodes])
    written[village_id] = _Tail(tail.origin, tail.signer, size + 1, new_border, root)
    return Appended(size, data, size + 1, root, checkpoint)


def forget_tail(village_id: int) -> None:
    """Drop a village's known tail (after its active key changed, or a restore): the next
    append reads it afresh."""
    db.session().info.get(_TAILS, {}).pop(village_id, None)
    _committed_tails().pop(village_id, None)


def _nodes(village_id: int, addresses: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Fetch stored nodes by address in one fixed statement (compiled and planned once): the
    addresses go in as parameters, each one a primary-key lookup."""
    if not addresses:
        return {}
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.execute(_NODES_PG, {
            "village": village_id, "levels": [a[0] for a in addresses],
            "idxs": [a[1] for a in addresses]}).all()
    else:
        rows = conn.execute(_NODES_SQLITE, {
            "village": village_id, "addresses": json.dumps(addresses)}).all()
    return {(level, idx): h for level, idx, h in rows}


def border_at(village_id: int, size: int) -> list[bytes]:
    """The compact range of the tree of ``size`` records, from stored nodes."""
    addresses = compact_range(size)
    found = _nodes(village_id, addresses)
    if len(found) != len(addresses):
        raise RuntimeError(f"ledger of village {village_id} is missing tree nodes")
    return [found[a] for a in addresses]


def head(village_id: int) -> LedgerHead | None:
    """The newest tree head of a village's log (read afresh: appends write it with Core)."""
    return db.session.execute(
        select(LedgerHead).where(LedgerHead.village_id == village_id)
        .execution_options(populate_existing=True)).scalar_one_or_none()


def root_at(village_id: int, size: int) -> bytes:
    """The tree root after ``size`` records (O(log n) node reads)."""
    return root_from_border(border_at(village_id, size)) if size else EMPTY_ROOT


def inclusion_proof(village_id: int, seq: int, size: int) -> list[bytes]:
    """The RFC 6962 inclusion proof of record ``seq`` in the tree of ``size`` records."""
    needed = inclusion_proof_nodes(seq, size)
    return inclusion_proof_from_nodes(seq, size, _nodes(village_id, needed))


def consistency_proof(village_id: int, size1: int, size2: int) -> list[bytes]:
    """The RFC 6962 consistency proof between the trees of ``size1`` and ``size2`` records."""
    needed = consistency_proof_nodes(size1, size2)
    return consistency_proof_from_nodes(size1, size2, _nodes(village_id, needed))


def record_data(village_id: int, seq: int) -> bytes:
    """The exact bytes of record ``seq``."""
    data = db.session.execute(select(LedgerRecord.data).where(
        LedgerRecord.village_id == village_id, LedgerRecord.seq == seq)).scalar_one_or_none()
    if data is None:
        raise LookupError(f"no record {seq}")
    return data


def iter_record_data(village_id: int, upto: int, batch: int = 1000) -> Iterator[bytes]:
    """Every record's bytes in seq order, ``batch`` at a time (flat memory)."""
    start = 0
    while start < upto:
        rows = db.session.execute(
            select(LedgerRecord.data).where(LedgerRecord.village_id == village_id,
                                            LedgerRecord.seq >= start,
                                            LedgerRecord.seq < min(start + batch, upto))
            .order_by(LedgerRecord.seq)).scalars().all()
        yield from rows
        start += batch


def log_vkeys(village_id: int) -> list[str]:
    """Every log key the village has used, oldest first."""
    return list(db.session.execute(select(LedgerKey.vkey).where(
        LedgerKey.village_id == village_id).order_by(LedgerKey.id)).scalars())


EXPORT_README = """\
SunVote ledger export / 阳光票决账本导出
========================================

Village / 村: {village} ({origin})
Records / 记录数: {size}
Root / 根哈希: {root}
Log key / 账本公钥: {key}

How to verify (no server needed) / 如何离线验证（无需联网）

1. In a browser, on a phone or a PC / 用手机或电脑的浏览器:
   Download the offline verifier (one file, sunvote-verifier.html) from your township's server,
   page /t/{township}/verifier (linked from the village's public page and QR poster), not from
   the village's own server. Its SHA-256 must be
     {verifier_sha256}
   as printed on the village's QR poster. Open it, enter the log key above, pick this zip.
   从乡镇服务器的 /t/{township}/verifier 页面（村公开页面和二维码海报上有链接）下载离线验证器
   sunvote-verifier.html，不要从村服务器下载；核对其 SHA-256 与海报上印的一致，用浏览器打开，
   填入上面的账本公钥，选择本压缩包。

2. With Python 3.11 or newer / 用 Python 3.11 或更新版本:
   Download the wheel ({wheel}) from the same township page, then
     pip install {wheel}
     sunvote ledger verify {dirname} --key '{key}'
   (or: python -m sunvote.verify {dirname} --key '{key}'). SunVote is not on PyPI:
   "pip install sunvote" finds another package or none.
   SunVote 不在 PyPI 上，请用乡镇提供的安装包。

Compare the key with the log key printed on the village's public page or QR poster:
that is what makes the check independent of whoever gave you these files.
请将账本公钥与村公开页面或二维码海报上公布的账本公钥核对，这样验证结果就不依赖于提供文件的人。

The verifier checks every signature, that no record was changed, dropped, reordered or inserted
(RFC 6962 Merkle tree), the township witness's cosignature, and that every step followed the
procedure. The file format is described in docs/ledger-format.md of SunVote.
验证程序检查每个签名、记录是否被修改、删除、调序或插入，乡镇见证签名，以及每一步是否符合程序。
"""


def export_files(village: Village) -> tuple[int, bytes, str]:
    """What an export needs from the database now: (size, checkpoint note, README text). The
    checkpoint is the newest cosigned one when it covers the whole log, else the newest signed."""
    current = head(village.id)
    if current is None:
        raise RuntimeError("village has no ledger")
    checkpoint = _newest_checkpoint(village.id, current)
    readme = EXPORT_README.format(village=village.name, origin=village.origin, size=current.size,
                                  root=b64(current.root), township=village.township.code,
                                  verifier_sha256=published_sha256(), wheel=wheel_name(),
                                  key=active_key(village.id).vkey, dirname="<this folder>")
    return current.size, checkpoint, readme


def receipt(village_id: int, seq: int) -> bytes:
    """A receipt for record ``seq``: its bytes and a tlog-proof against the newest checkpoint
    (the cosigned one when the witness has cosigned the whole log)."""
    current = head(village_id)
    if current is None or not 0 <= seq < current.size:
        raise LookupError(f"no record {seq}")
    proof = inclusion_proof(village_id, seq, current.size)
    return format_receipt(Receipt(record_data(village_id, seq),
                                  TlogProof(seq, tuple(proof),
                                            _newest_checkpoint(village_id, current))))


def consistency_files(village_id: int, old_size: int) -> tuple[bytes, bytes]:
    """(proof file bytes, newest checkpoint) proving the log grew from ``old_size``."""
    current = head(village_id)
    if current is None or not 0 < old_size <= current.size:
        raise LookupError(f"no tree of size {old_size}")
    return consistency_file(village_id, old_size, current.size), _newest_checkpoint(
        village_id, current)


def consistency_file(village_id: int, old_size: int, new_size: int) -> bytes:
    """The consistency proof file from ``old_size`` to ``new_size`` records (one base64 hash a
    line), as ``sunvote ledger consistency`` writes it and the browser verifier reads it."""
    proof = consistency_proof(village_id, old_size, new_size)
    return "".join(b64(h) + "\n" for h in proof).encode("ascii")


def public_consistency_file(village_id: int, old: str | None, new: str | None
                            ) -> tuple[int, int, bytes]:
    """For anyone (the public board): (old, new, the proof file) between the sizes as typed
    (``new`` empty: the log's size now), or the ``ledger.consistency_sizes`` refusal raised."""
    current = head(village_id)
    older, newer = consistency_sizes(old, new, current.size if current is not None else 0)
    return older, newer, consistency_file(village_id, older, newer)


def _newest_checkpoint(village_id: int, current: LedgerHead) -> bytes:
    """The newest checkpoint with every witness's cosignature of it (each witness's lines are
    what it appended to our note), so that a verifier can count them against a threshold."""
    notes = db.session.execute(
        select(LedgerCosigned.note).where(LedgerCosigned.village_id == village_id,
                                          LedgerCosigned.size == current.size)
        .order_by(LedgerCosigned.id)).scalars().all()
    merged = current.checkpoint
    for note in notes:
        if note.startswith(current.checkpoint):
            for line in note[len(current.checkpoint):].splitlines(keepends=True):
                if line not in merged.splitlines(keepends=True):
                    merged += line
    if merged == current.checkpoint and notes:
        return notes[-1]  # none extends this head's note as stored: keep the newest as it was
    return merged
