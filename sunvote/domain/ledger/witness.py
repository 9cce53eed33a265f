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

from sunvote.domain.ledger.checkpoint import Checkpoint
from sunvote.domain.ledger.merkle import ProofError, verify_consistency


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
    """What a witness does with an offered checkpoint (its log signature already checked)."""

    COSIGN = "cosign"  # consistent with what it cosigned before
    STALE = "stale"  # the client's idea of the witness's size is wrong: answer 409 + size
    INCONSISTENT = "inconsistent"  # validly signed, provably not an extension: keep evidence
    BAD_PROOF = "bad_proof"  # the proof does not verify (422); kept as evidence as well


@dataclass(frozen=True)
class Decision:
    """The verdict and, for evidence, the reason in words."""

    verdict: Verdict
    reason: str = ""


def decide(witnessed_size: int, witnessed_root: bytes | None, old_size: int,
           proof: Sequence[bytes], offered: Checkpoint,
           history_root: bytes | None = None) -> Decision:
    """Decide on an offered checkpoint given the witness's latest cosigned (size, root).

    ``history_root`` is the root the witness cosigned earlier at ``offered.size``, if any:
    the same size with another root is a split view however the request is phrased.
    """
    if history_root is not None and history_root != offered.root:
        return Decision(Verdict.INCONSISTENT,
                        f"size {offered.size} was cosigned with another root")
    if old_size != witnessed_size:
        return Decision(Verdict.STALE)
    if offered.size < witnessed_size:
        return Decision(Verdict.INCONSISTENT,
                        f"offered size {offered.size} is below the cosigned size {witnessed_size}")
    if witnessed_size == 0 or witnessed_root is None:
        return Decision(Verdict.COSIGN)  # first checkpoint seen: trust on first use
    try:
        verify_consistency(witnessed_size, offered.size, proof, witnessed_root, offered.root)
    except ProofError as exc:
        if offered.size == witnessed_size:
            return Decision(Verdict.INCONSISTENT,
                            f"size {offered.size} was cosigned with another root")
        return Decision(Verdict.BAD_PROOF,
                        f"no consistency from cosigned size {witnessed_size} to "
                        f"{offered.size}: {exc}")
    return Decision(Verdict.COSIGN)
