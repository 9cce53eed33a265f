"""The township witness (cosigns village checkpoints, keeps equivocation evidence) and the village
side that asks it to — over HTTP or as files carried on a USB stick."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from sunvote.domain.errors import N_, Conflict, InvalidField, NotFound
from sunvote.domain.ledger.checkpoint import (
    Checkpoint,
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
    kept_checkpoint_break,
    parse_add_checkpoint,
)
from sunvote.extensions import db
from sunvote.models import (
    EquivocationEvidence,
    LedgerCosigned,
    Township,
    Village,
    WitnessedLog,
    WitnessKey,
)
from sunvote.models.base import utcnow
from sunvote.services import keys, ledger, witness_store
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
    """tlog-witness add-checkpoint, with the statuses c2sp.org/tlog-witness prescribes: 200 with
    the cosignature line; 404 unknown township or log; 400 a malformed request or an old size
    larger than the checkpoint's; 403 not signed by the log key; 409 with the witness's size
    (``text/x.tlog.size``) when the old size is not its latest; 422 a proof that does not
    verify; 409 the same size as the latest with another root. The witness's memory (its latest
    cosigned checkpoint per log) and the evidence it keeps live in the witness store, outside the
    database, checked and updated in one store transaction."""
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
    ).scalar_one_or_none()
    if log is None:
        return _text(404, f"this witness does not follow {origin}")
    try:
        checkpoint = open_checkpoint(note, Verifier.from_vkey(log.log_vkey), origin=origin)
    except (CheckpointError, NoteError) as exc:
        return _text(403, f"checkpoint not signed by the log key: {exc}")
    key = witness_key(township)
    cosigner = keys.cosigner(key.vkey, key.salt, key.encrypted_seed)
    with witness_store.transaction() as conn:
        latest = witness_store.witnessed(conn, origin) or _legacy_state(log)
        decision = decide(latest.size if latest else 0, latest.root if latest else None,
                          old_size, proof, checkpoint)
        if decision.verdict is Verdict.STALE:
            return WitnessResponse(409, f"{latest.size if latest else 0}\n".encode(),
                                   "text/x.tlog.size")
        if decision.verdict is not Verdict.COSIGN:
            if decision.evidence:
                witness_store.add_evidence(
                    conn, origin, witness_store.WITNESS, decision.reason,
                    latest.checkpoint if latest else b"", note,
                    body.partition(b"\n\n")[0].decode("ascii"))
                return _text(decision.verdict.status,
                             f"refused, evidence kept: {decision.reason}")
            return _text(decision.verdict.status, f"refused: {decision.reason}")
        cosigned = add_cosignature(note, cosigner, int(now.timestamp()))
        witness_store.set_witnessed(conn, origin, witness_store.Latest(
            checkpoint.size, checkpoint.root, cosigned))
    return WitnessResponse(200, cosigned[len(note):])


def _legacy_state(log: WitnessedLog) -> witness_store.Latest | None:
    """The state an earlier version kept in the database, taken over once when the witness
    store has nothing for the log yet (it is trusted as it stands at the upgrade)."""
    if log.size and log.root is not None and log.checkpoint is not None:
        return witness_store.Latest(log.size, log.root, log.checkpoint)
    return None


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


def check_kept_checkpoint(village: Village) -> Conflict | None:
    """The village side's rollback and fork check: does the log still extend the newest
    cosigned checkpoint kept in the witness store (outside the database)? Returns the refusal
    (rule ``ledger.rollback``) after keeping both checkpoints as evidence, or None. Run at
    start-up, before every witness round, by `sunvote ledger check`, and after a restore."""
    kept = witness_store.kept(village.origin)
    if kept is None:
        return None
    head = ledger.head(village.id)
    size = head.size if head else 0
    root = ledger.root_at(village.id, kept.size) if kept.size <= size else None
    refusal = kept_checkpoint_break(Checkpoint(village.origin, kept.size, kept.root), size, root)
    if refusal is not None:
        witness_store.add_evidence(None, village.origin, witness_store.VILLAGE,
                                   refusal.render(lambda text: text), kept.checkpoint,
                                   head.checkpoint if head else b"", "")
    return refusal


def check_kept_checkpoints() -> list[tuple[str, Conflict]]:
    """check_kept_checkpoint for every village (at start-up): (village code, refusal) pairs."""
    found = []
    for village in db.session.execute(select(Village).order_by(Village.id)).scalars():
        refusal = check_kept_checkpoint(village)
        if refusal is not None:
            found.append((village.code, refusal))
    return found


def check_at_start_up(app: Flask) -> None:
    """Run check_kept_checkpoints when a server starts (wsgi.py), logging each rollback or fork
    found; the evidence it keeps makes the ledger page and the dashboards red."""
    with app.app_context():
        try:
            found = check_kept_checkpoints()
        except SQLAlchemyError:  # no schema yet (before `sunvote init-db`): nothing to check
            db.session.rollback()
            found = []
        finally:
            db.session.remove()
    for code, refusal in found:
        app.logger.error("ledger of %s: %s [%s]", code, refusal.render(lambda text: text),
                         refusal.rule)


def evidence_for(origins: list[str]) -> list[witness_store.Evidence]:
    """The rollback and fork evidence kept for these logs, by the witness or the village side, in
    the witness store; then any that earlier versions kept in the database. Newest first."""
    legacy = [witness_store.Evidence(
        -row.id, row.origin, witness_store.WITNESS, row.reason, row.cosigned_checkpoint,
        row.offered_checkpoint, row.offered_proof, row.detected_at)
        for row in db.session.execute(select(EquivocationEvidence).where(
            EquivocationEvidence.origin.in_(origins))
            .order_by(EquivocationEvidence.id.desc())).scalars()] if origins else []
    return witness_store.evidence(origins) + legacy


@use_case
def accept_cosignature(village_id: int, request: bytes, response: bytes, witness_vkey: str,
                       now: dt.datetime | None = None) -> LedgerCosigned:
    """Store a witness's cosignature of one of this village's checkpoints, after checking that
    the checkpoint is ours (our key, our root at that size) and the cosignature verifies; the
    cosigned checkpoint is also kept in the witness store, outside the database."""
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
    witness_store.keep(village.origin, witness_store.Latest(checkpoint.size, checkpoint.root,
                                                            cosigned))
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


def record_refusal(village: Village, reason: str, offered: bytes) -> None:
    """Keep the village side's own evidence that a witness refused our checkpoint (it has seen
    a longer log, or ours does not extend what it cosigned), in the witness store."""
    kept = witness_store.kept(village.origin)
    witness_store.add_evidence(None, village.origin, witness_store.VILLAGE, reason,
                               kept.checkpoint if kept else b"", offered, "")


def configured_witness(township: Township) -> tuple[str | None, str]:
    """Where this instance sends a township's checkpoints and the witness key it trusts:
    SUNVOTE_WITNESS_URL / SUNVOTE_WITNESS_KEY when the township runs its own server, else this
    instance's own witness (URL None: handled in-process)."""
    template = current_app.config.get("WITNESS_URL")
    url = str(template).replace("{township}", township.code) if template else None
    key = current_app.config.get("WITNESS_KEY") or witness_key(township).vkey
    return url, str(key)


def further_witnesses(township: Township) -> list[tuple[str, str]]:
    """The further witnesses of SUNVOTE_WITNESSES (e.g. the district): (URL, verifier key)."""
    out = []
    for pair in str(current_app.config.get("WITNESSES") or "").split():
        url, _, vkey = pair.partition("=")
        out.append((url.replace("{township}", township.code), vkey))
    return out


def send(village: Village, url: str | None = None) -> LedgerCosigned:
    """Ask the township witness to cosign the newest checkpoint: over HTTP at ``url``
    (…/witness/<township>/add-checkpoint) or at the configured SUNVOTE_WITNESS_URL, else in this
    instance; then every further witness of SUNVOTE_WITNESSES. First the log must still extend
    the kept cosigned checkpoint (else: evidence and ``ledger.rollback``). Returns the township
    witness's cosignature."""
    refusal = check_kept_checkpoint(village)
    if refusal is not None:
        raise refusal
    township = db.session.get(Township, village.township_id)
    assert township is not None
    configured_url, witness_vkey = configured_witness(township)
    row = _send_one(village, township, url or configured_url, witness_vkey)
    for further_url, further_vkey in further_witnesses(township):
        _send_one(village, township, further_url, further_vkey)
    return row


def _send_one(village: Village, township: Township, url: str | None,
              witness_vkey: str) -> LedgerCosigned:
    """One witness round: retries once with the size the witness reports; a witness ahead of
    us means a rollback, and a refused proof a fork: evidence and error either way."""
    old: int | None = None
    for _ in range(2):
        body = request_for(village, witness_vkey, old)
        response = _post(township, body, url)
        if response.status == 200:
            return accept_cosignature(village.id, body, response.body, witness_vkey)
        head = ledger.head(village.id)
        offered = head.checkpoint if head else b""
        if response.status == 409 and response.content_type.startswith("text/x.tlog.size"):
            old = int(response.body.decode().strip())
            if head is not None and old > head.size:
                record_refusal(village, f"witness cosigned {old} records, we have "
                                        f"{head.size}: database rolled back?", offered)
                raise RollbackSuspected(old, head.size)
            continue
        reason = response.body.decode("utf-8", "replace").strip()[:200]
        if response.status in (409, 422):  # not an extension of what the witness cosigned
            record_refusal(village, f"witness refused ({response.status}): {reason}", offered)
        raise Conflict("ledger.witness_refused", N_("见证方拒绝签名：%(reason)s"), reason=reason)
    raise Conflict("ledger.witness_refused", N_("见证方拒绝签名：%(reason)s"),
                   reason="size changed twice")


def _post(township: Township, body: bytes, url: str | None) -> WitnessResponse:
    if url is None:
        return add_checkpoint(township.code, body)
    if not url.lower().startswith(("http://", "https://")):
        # urllib would also open file:// and ftp:// URLs, and the refusal would quote the file
        raise InvalidField("input.invalid", N_("见证方网址须以 http:// 或 https:// 开头：%(url)s"),
                           url=url[:100])
    request = urllib.request.Request(url, data=body, method="POST",
                                      headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return WitnessResponse(reply.status, reply.read(),
                                   reply.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as error:
        return WitnessResponse(error.code, error.read(), error.headers.get("Content-Type", ""))
