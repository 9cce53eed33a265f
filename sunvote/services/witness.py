"""The township witness (cosigns village checkpoints, keeps equivocation evidence) and the village
side that asks it to — over HTTP or as files carried on a USB stick."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from sunvote.domain.errors import N_, Conflict, InvalidField, NotFound
from sunvote.domain.ledger.checkpoint import (
    CheckpointError,
    CosignatureError,
    CosignatureVerifier,
    add_cosignature,
    open_checkpoint,
    verify_cosignature,
)
from sunvote.domain.ledger.note import NoteError, Verifier, parse_note_unverified
from sunvote.domain.ledger.witness import (
    Verdict,
    WitnessRequestError,
    decide,
    format_add_checkpoint,
    parse_add_checkpoint,
)
from sunvote.extensions import db
from sunvote.models import (
    EquivocationEvidence,
    LedgerCosigned,
    Township,
    Village,
    WitnessedLog,
    WitnessHistory,
    WitnessKey,
)
from sunvote.models.base import utcnow
from sunvote.services import keys, ledger
from sunvote.services.unit_of_work import use_case


@dataclass(frozen=True)
class WitnessResponse:
    """An HTTP-shaped answer: status, body, content type (tlog-witness)."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def _text(status: int, message: str) -> WitnessResponse:
    return WitnessResponse(status, (message + "\n").encode("utf-8"))


def witness_key(township: Township) -> WitnessKey:
    key = db.session.execute(select(WitnessKey).where(
        WitnessKey.township_id == township.id)).scalar_one_or_none()
    if key is None:
        raise NotFound("input.invalid", N_("该乡镇没有见证密钥"))
    return key


@use_case
def register_log(township_id: int, origin: str, log_vkey: str) -> WitnessedLog:
    """The township agrees to witness ``origin`` under ``log_vkey`` (or updates its key)."""
    Verifier.from_vkey(log_vkey)  # refuses malformed keys
    if log_vkey.split("+", 1)[0] != origin:
        raise InvalidField("input.invalid", N_("账本公钥的名称必须与账本标识一致"))
    log = db.session.execute(select(WitnessedLog).where(
        WitnessedLog.origin == origin)).scalar_one_or_none()
    if log is None:
        log = WitnessedLog(township_id=township_id, origin=origin, log_vkey=log_vkey, size=0)
        db.session.add(log)
    else:
        log.log_vkey = log_vkey
    db.session.flush()
    return log


@use_case
def add_checkpoint(township_code: str, body: bytes, now: dt.datetime | None = None
                   ) -> WitnessResponse:
    """tlog-witness add-checkpoint. 200 with the cosignature line; 409 with the witness's size
    (``text/x.tlog.size``) when the request's old size is wrong; 403 unknown log or bad
    signature; 422 a proof that fails; 409 for an inconsistent checkpoint, whose evidence is
    kept (and committed) either way."""
    now = now or utcnow()
    township = db.session.execute(select(Township).where(
        Township.code == township_code)).scalar_one_or_none()
    if township is None:
        return _text(404, "unknown township")
    try:
        old_size, proof, note = parse_add_checkpoint(body)
        origin = parse_note_unverified(note).text.split("\n", 1)[0]
    except (WitnessRequestError, NoteError) as exc:
        return _text(400, f"malformed request: {exc}")
    log = db.session.execute(select(WitnessedLog).where(
        WitnessedLog.origin == origin, WitnessedLog.township_id == township.id)
        .with_for_update()).scalar_one_or_none()
    if log is None:
        return _text(404, f"this witness does not follow {origin}")
    try:
        checkpoint = open_checkpoint(note, Verifier.from_vkey(log.log_vkey), origin=origin)
    except (CheckpointError, NoteError) as exc:
        return _text(403, f"checkpoint not signed by the log key: {exc}")
    history = db.session.execute(select(WitnessHistory.root).where(
        WitnessHistory.origin == origin, WitnessHistory.size == checkpoint.size)
    ).scalar_one_or_none()
    decision = decide(log.size, log.root, old_size, proof, checkpoint, history)
    if decision.verdict is Verdict.STALE:
        return WitnessResponse(409, f"{log.size}\n".encode(), "text/x.tlog.size")
    if decision.verdict in (Verdict.INCONSISTENT, Verdict.BAD_PROOF):
        db.session.add(EquivocationEvidence(
            origin=origin, reason=decision.reason, cosigned_checkpoint=log.checkpoint or b"",
            offered_checkpoint=note, offered_proof=body.partition(b"\n\n")[0].decode("ascii"),
            detected_at=now))
        status = 422 if decision.verdict is Verdict.BAD_PROOF else 409
        return _text(status, f"refused, evidence kept: {decision.reason}")
    key = witness_key(township)
    cosigner = keys.cosigner(key.vkey, key.salt, key.encrypted_seed)
    cosigned = add_cosignature(note, cosigner, int(now.timestamp()))
    line = cosigned[len(note):]
    log.size, log.root, log.checkpoint, log.cosigned_at = (checkpoint.size, checkpoint.root,
                                                           cosigned, now)
    if history is None:
        db.session.add(WitnessHistory(origin=origin, size=checkpoint.size, root=checkpoint.root,
                                      cosigned_at=now))
    return WitnessResponse(200, line)


# --- the village side ---------------------------------------------------------------------


def last_cosigned_size(village: Village, witness_name: str) -> int:
    """The largest size of this village's log that ``witness_name`` has cosigned (0 if none)."""
    size = db.session.execute(select(func.max(LedgerCosigned.size)).where(
        LedgerCosigned.village_id == village.id,
        LedgerCosigned.witness == witness_name)).scalar_one()
    return int(size or 0)


def request_for(village: Village, witness_vkey: str, old_size: int | None = None) -> bytes:
    """The add-checkpoint request for the village's newest checkpoint."""
    head = ledger.head(village.id)
    if head is None:
        raise NotFound("input.invalid", N_("该村还没有账本"))
    name = witness_vkey.split("+", 1)[0]
    old = last_cosigned_size(village, name) if old_size is None else old_size
    if old > head.size:
        raise RollbackSuspected(old, head.size)
    proof = ledger.consistency_proof(village.id, old, head.size) if old else []
    return format_add_checkpoint(old, proof, head.checkpoint)


class RollbackSuspected(Conflict):
    """The witness has cosigned more of this log than the database now holds."""

    def __init__(self, witnessed: int, size: int) -> None:
        super().__init__("ledger.rollback",
                         N_("见证方已确认账本有%(witnessed)s条记录，而本地只有%(size)s条：数据库可能被回滚"),
                         witnessed=witnessed, size=size)
        self.witnessed = witnessed
        self.size = size


@use_case
def accept_cosignature(village_id: int, request: bytes, response: bytes, witness_vkey: str,
                       now: dt.datetime | None = None) -> LedgerCosigned:
    """Store a witness's cosignature of one of this village's checkpoints, after checking that
    the checkpoint is ours (our key, our root at that size) and the cosignature verifies."""
    village = db.session.get(Village, village_id)
    if village is None:
        raise NotFound("input.invalid", N_("没有这个村"))
    _, _, note = parse_add_checkpoint(request)
    checkpoint = open_checkpoint(note, Verifier.from_vkey(ledger.active_key(village.id).vkey),
                                 origin=village.origin)
    if ledger.root_at(village.id, checkpoint.size) != checkpoint.root:
        raise Conflict("ledger.rollback", N_("见证签名所对应的检查点与本地账本不一致"))
    cosigned = note + response
    verifier = CosignatureVerifier.from_vkey(witness_vkey)
    try:
        verify_cosignature(cosigned, verifier)
    except CosignatureError:
        raise InvalidField("input.invalid", N_("见证签名无效")) from None
    existing = db.session.execute(select(LedgerCosigned).where(
        LedgerCosigned.village_id == village.id, LedgerCosigned.size == checkpoint.size,
        LedgerCosigned.witness == verifier.name)).scalar_one_or_none()
    if existing is not None:
        return existing
    row = LedgerCosigned(village_id=village.id, size=checkpoint.size, witness=verifier.name,
                         note=cosigned, cosigned_at=now or utcnow())
    db.session.add(row)
    db.session.flush()
    return row


@use_case
def record_rollback(village: Village, witnessed: int, reason: str) -> None:
    """Keep the village side's own evidence that the witness has seen a longer log."""
    head = ledger.head(village.id)
    db.session.add(EquivocationEvidence(
        origin=village.origin, reason=reason, cosigned_checkpoint=b"",
        offered_checkpoint=head.checkpoint if head else b"",
        offered_proof=f"witness size {witnessed}"))


def configured_witness(township: Township) -> tuple[str | None, str]:
    """Where this instance sends a township's checkpoints and the witness key it trusts:
    SUNVOTE_WITNESS_URL / SUNVOTE_WITNESS_KEY when the township runs its own server, else this
    instance's own witness (URL None: handled in-process)."""
    template = current_app.config.get("WITNESS_URL")
    url = str(template).replace("{township}", township.code) if template else None
    key = current_app.config.get("WITNESS_KEY") or witness_key(township).vkey
    return url, str(key)


def send(village: Village, url: str | None = None) -> LedgerCosigned:
    """Ask the township witness to cosign the newest checkpoint: over HTTP at ``url``
    (…/witness/<township>/add-checkpoint) or at the configured SUNVOTE_WITNESS_URL, else in this
    instance. Retries once with the size the witness reports; a witness ahead of us means a
    rollback: evidence and error."""
    township = db.session.get(Township, village.township_id)
    assert township is not None
    configured_url, witness_vkey = configured_witness(township)
    url = url or configured_url
    old: int | None = None
    for _ in range(2):
        body = request_for(village, witness_vkey, old)
        response = _post(township, body, url)
        if response.status == 200:
            return accept_cosignature(village.id, body, response.body, witness_vkey)
        if response.status == 409 and response.content_type.startswith("text/x.tlog.size"):
            old = int(response.body.decode().strip())
            head = ledger.head(village.id)
            if head is not None and old > head.size:
                record_rollback(village, old, f"witness cosigned {old} records, we have "
                                              f"{head.size}: database rolled back?")
                raise RollbackSuspected(old, head.size)
            continue
        raise Conflict("ledger.witness_refused", N_("见证方拒绝签名：%(reason)s"),
                       reason=response.body.decode("utf-8", "replace").strip()[:200])
    raise Conflict("ledger.witness_refused", N_("见证方拒绝签名：%(reason)s"),
                   reason="size changed twice")


def _post(township: Township, body: bytes, url: str | None) -> WitnessResponse:
    if url is None:
        return add_checkpoint(township.code, body)
    request = urllib.request.Request(url, data=body, method="POST",
                                      headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return WitnessResponse(reply.status, reply.read(),
                                   reply.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as error:
        return WitnessResponse(error.code, error.read(), error.headers.get("Content-Type", ""))
