"""What a verifier remembers of a log: the checkpoints it has seen, and the rule that a checkpoint
seen later must extend each of them (``ledger.rollback``: a phone as a witness of its own).

The browser verifier (docs/browser-verifier.md) keeps every checkpoint it verified per origin;
each new one is judged against each kept one here. Three outcomes: consistent (proven), broken
(a :class:`Conflict` naming both sizes), or not checkable without a consistency proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sunvote.domain.errors import N_, Conflict
from sunvote.domain.ledger.checkpoint import Checkpoint
from sunvote.domain.ledger.merkle import ProofError, verify_consistency
from sunvote.domain.ledger.witness import kept_checkpoint_break


@dataclass(frozen=True)
class Judgement:
    """The outcome of one comparison: ``proven`` (the newer extends the older), ``broken`` (the
    refusal in ``conflict``), or neither (a proof is needed; ``needs_proof`` says between which
    sizes, smaller first)."""

    proven: bool
    conflict: Conflict | None = None
    needs_proof: tuple[int, int] | None = None


PROVEN = Judgement(True)


def judge_with_records(seen: Checkpoint, size: int, root_at_seen_size: bytes | None) -> Judgement:
    """A checkpoint seen before against a whole log in hand (an export): the log must hold the
    seen checkpoint's tree. ``root_at_seen_size`` is the log's root at ``seen.size`` (None when
    the log is shorter). The rule is the village's own (:func:`kept_checkpoint_break`)."""
    conflict = kept_checkpoint_break(seen, size, root_at_seen_size)
    return PROVEN if conflict is None else Judgement(False, conflict)


def judge_checkpoints(seen: Checkpoint, new: Checkpoint,
                      proof: Sequence[bytes] | None = None) -> Judgement:
    """A checkpoint seen before against a new one of the same log (both already verified under
    the log key). Equal sizes need equal roots; otherwise the RFC 6962 consistency proof from the
    smaller to the larger must verify. Without a proof, different sizes cannot be judged."""
    if seen.origin != new.origin:
        raise ValueError("checkpoints of two different logs")
    if seen.size == new.size:
        if seen.root == new.root:
            return PROVEN
        return Judgement(False, Conflict(
            "ledger.rollback",
            N_("同一账本在%(size)s条记录时出现了两个不同的根哈希：账本出现分叉"),
            size=new.size))
    older, newer = (seen, new) if seen.size < new.size else (new, seen)
    if proof is None:
        return Judgement(False, needs_proof=(older.size, newer.size))
    try:
        verify_consistency(older.size, newer.size, list(proof), older.root, newer.root)
    except ProofError:
        return Judgement(False, Conflict(
            "ledger.rollback",
            N_("%(new)s条记录的检查点不是%(old)s条记录的检查点的延续：账本历史被改写"),
            old=older.size, new=newer.size))
    return PROVEN
