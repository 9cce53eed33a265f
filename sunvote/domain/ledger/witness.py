"""The tlog-witness add-checkpoint request (c2sp.org/tlog-witness), and the witness's decision.

Request body: ``old <size>`` line, the consistency proof's hashes one per line (base64), an empty
line, then the checkpoint note verbatim. The witness answers with cosignature line(s).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sunvote.domain.errors import N_, Conflict
from sunvote.domain.ledger.checkpoint import Checkpoint
from sunvote.domain.ledger.merkle import EMPTY_ROOT, ProofError, verify_consistency


class WitnessRequestError(ValueError):
    """The add-checkpoint request is malformed."""


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], checkpoint_note: bytes) -> bytes:
    """The add-checkpoint request body."""
    lines = [f"old {old_size}"] + [base64.b64encode(h).decode("ascii") for h in proof]
    return ("\n".join(lines) + "\n\n").encode("ascii") + checkpoint_note


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], bytes]:
    """(old size, proof hashes, checkpoint note) from a request body; strict."""
    head, sep, note = body.partition(b"\n\n")
    if not sep or not note:
        raise WitnessRequestError("request needs an empty line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise WitnessRequestError("request head is not ASCII") from None
    first = lines[0]
    if not first.startswith("old ") or not first[4:].isdigit() or (
            len(first) > 5 and first[4] == "0"):
        raise WitnessRequestError("first line must be 'old <size>'")
    proof = []
    for line in lines[1:]:
        try:
            h = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise WitnessRequestError("proof lines must be base64") from None
        if len(h) != 32:
            raise WitnessRequestError("proof hashes are 32 bytes")
        proof.append(h)
    if len(proof) > 63:
        raise WitnessRequestError("proof too long")
    return int(first[4:]), proof, note


class Verdict(StrEnum):
    """What a witness answers an offered checkpoint (its log signature already checked), with
    the c2sp.org/tlog-witness status of each."""

    COSIGN = "cosign"  # 200: consistent with what it cosigned before
    BAD_REQUEST = "bad_request"  # 400: the old size is larger than the checkpoint's size
    STALE = "stale"  # 409 + text/x.tlog.size: the old size is not the witness's latest size
    BAD_PROOF = "bad_proof"  # 422: the consistency proof does not verify
    INCONSISTENT = "inconsistent"  # 409: same size as the old one with another root

    @property
    def status(self) -> int:
        """The HTTP status c2sp.org/tlog-witness prescribes for this verdict."""
        return {"cosign": 200, "bad_request": 400, "stale": 409, "bad_proof": 422,
                "inconsistent": 409}[self.value]


@dataclass(frozen=True)
class Decision:
    """The verdict; for a refusal, the reason in words and whether the request is evidence
    that the log misbehaved (a log-signed checkpoint that no honest log would send)."""

    verdict: Verdict
    reason: str = ""
    evidence: bool = False


def decide(witnessed_size: int, witnessed_root: bytes | None, old_size: int,
           proof: Sequence[bytes], offered: Checkpoint) -> Decision:
    """Decide on an offered checkpoint given the witness's latest cosigned (size, root), in the
    order c2sp.org/tlog-witness lists its checks (None root: never cosigned, the empty tree).

    A proof that does not verify from the witness's latest checkpoint, and a second root for the
    same size, come with a checkpoint the log key signed: the witness keeps them as evidence. An
    old size of 0 with proof lines is refused (422) but is no evidence: no tree was claimed.
    """
    if old_size > offered.size:
        return Decision(Verdict.BAD_REQUEST,
                        f"old size {old_size} is larger than the checkpoint size {offered.size}")
    if old_size != witnessed_size:
        return Decision(Verdict.STALE)
    old_root = EMPTY_ROOT if witnessed_size == 0 or witnessed_root is None else witnessed_root
    if old_size == 0 and proof:
        return Decision(Verdict.BAD_PROOF, "the proof must be empty when the old size is 0")
    if offered.size == old_size:
        if proof:
            return Decision(Verdict.BAD_PROOF, "the proof must be empty for equal sizes")
        if offered.root != old_root:
            return Decision(Verdict.INCONSISTENT,
                            f"size {offered.size} was cosigned with another root", True)
        return Decision(Verdict.COSIGN)
    if old_size == 0:
        return Decision(Verdict.COSIGN)  # first checkpoint seen: trust on first use
    try:
        verify_consistency(old_size, offered.size, proof, old_root, offered.root)
    except ProofError as exc:
        return Decision(Verdict.BAD_PROOF,
                        f"no consistency from cosigned size {old_size} to {offered.size}: {exc}",
                        True)
    return Decision(Verdict.COSIGN)


def kept_checkpoint_break(kept: Checkpoint, size: int,
                          root_at_kept_size: bytes | None) -> Conflict | None:
    """The rule ``ledger.rollback`` seen from the village side: the log must still hold the
    newest checkpoint a witness cosigned (kept outside the database). ``size`` is the log's size
    now and ``root_at_kept_size`` its root at the kept size (None when the log is shorter).
    Returns the refusal, or None when the log extends the kept checkpoint."""
    if size < kept.size or root_at_kept_size is None:
        return Conflict("ledger.rollback",
                        N_("已见证的检查点有%(kept)s条记录，而账本现在只有%(size)s条："
                           "数据库被回滚"), kept=kept.size, size=size)
    if root_at_kept_size != kept.root:
        return Conflict("ledger.rollback",
                        N_("已见证的检查点（%(kept)s条记录）与账本在同一位置的根哈希不同："
                           "账本出现分叉"), kept=kept.size, size=size)
    return None
