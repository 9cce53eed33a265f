"""What a verifier remembers of a log: the checkpoints it has seen, and the rule that a checkpoint
seen later must extend each of them (``ledger.rollback``: a phone as a witness of its own).

The browser verifier (docs/browser-verifier.md) keeps every checkpoint it verified per origin;
each new one is judged against each kept one here. Three outcomes: consistent (proven), broken
(a :class:`Conflict` naming both sizes), or not checkable without a consistency proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sunvote.domain.errors import N_, Conflict, InvalidField, NotFound
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


#: Where anyone gets a consistency proof between sizes ``from`` and ``to`` of a village's log: the
#: village's public board (``public.ledger_consistency``), the file ``sunvote ledger consistency``
#: writes. The browser verifier shows this address (it fetches nothing).
CONSISTENCY_PATH = "/p/%(village)s/ledger/consistency?from=%(old)d&to=%(new)d"

#: Sizes are written in at most this many decimal digits (a log's size fits a database integer).
_SIZE_DIGITS = 10


def consistency_path(origin: str, older: int, newer: int) -> str:
    """The public board's address of the consistency proof from ``older`` to ``newer`` records of
    the log ``origin`` (its last part is the village's code: ``<prefix>/<township>/<village>``, or
    ``sunvote.<township>/<village>`` for older logs)."""
    return CONSISTENCY_PATH % {"village": origin.rpartition("/")[2], "old": older, "new": newer}


def consistency_sizes_refusal(old: str | None, new: str | None, log_size: int
                              ) -> InvalidField | NotFound | None:
    """Why a consistency proof from ``old`` to ``new`` records (as typed; ``new`` empty or None:
    the whole log) cannot be given for a log of ``log_size`` records (rule
    ``ledger.consistency_sizes``: 1 ≤ old ≤ new ≤ log_size), or None."""
    if not old:
        return InvalidField("ledger.consistency_sizes", N_(
            "请填写以前见过的记录数（from），例如 from=30&to=36"))
    new = new if new else str(log_size)
    for value in (old, new):
        if not (value.isascii() and value.isdigit() and len(value) <= _SIZE_DIGITS):
            return InvalidField("ledger.consistency_sizes", N_(
                "一致性证明的起止记录数须为整数（例如 from=30&to=36），“%(value)s”不是"),
                value=value[:20])
    older, newer = int(old), int(new)
    if older < 1:
        return InvalidField("ledger.consistency_sizes", N_(
            "一致性证明的起始记录数至少为1（空账本无须证明）"))
    if older > log_size or newer > log_size:
        return NotFound("ledger.consistency_sizes", N_(
            "本村账本目前只有%(size)s条记录，没有%(n)s条记录的检查点"),
            size=log_size, n=max(older, newer))
    if older > newer:
        return InvalidField("ledger.consistency_sizes", N_(
            "一致性证明的起始记录数（%(old)s）不能大于结束记录数（%(new)s）"), old=older, new=newer)
    return None


def consistency_sizes(old: str | None, new: str | None, log_size: int) -> tuple[int, int]:
    """(old, new) as numbers when :func:`consistency_sizes_refusal` has nothing against them;
    else its refusal is raised."""
    refusal = consistency_sizes_refusal(old, new, log_size)
    if refusal is not None:
        raise refusal
    return int(old or ""), int(new) if new else log_size
