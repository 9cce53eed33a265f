"""What a verifier remembers (sunvote/domain/ledger/memory.py): a checkpoint seen later must
extend every checkpoint seen before; a fork or a shorter log is ``ledger.rollback``."""

from __future__ import annotations

import pytest

from sunvote.domain.ledger.checkpoint import Checkpoint
from sunvote.domain.ledger.memory import judge_checkpoints, judge_with_records
from sunvote.domain.ledger.merkle import consistency_proof, leaf_hash, root_from_leaf_hashes
from tests.domain.ledger.logbuilder import big_log

LOG = big_log(40)


def checkpoint(size: int, records: list[bytes] | None = None) -> Checkpoint:
    chosen = (records or LOG.records)[:size]
    return Checkpoint(LOG.origin, size, root_from_leaf_hashes([leaf_hash(r) for r in chosen]))


def proof(old: int, new: int, records: list[bytes] | None = None) -> list[bytes]:
    leaves = [leaf_hash(r) for r in (records or LOG.records)]

    def node(level: int, index: int) -> bytes:
        return root_from_leaf_hashes(leaves[index << level:(index + 1) << level])

    return consistency_proof(old, new, node)


def test_a_grown_log_with_its_proof_is_proven_and_without_one_needs_it() -> None:
    assert judge_checkpoints(checkpoint(20), checkpoint(40), proof(20, 40)).proven
    assert judge_checkpoints(checkpoint(40), checkpoint(20), proof(20, 40)).proven  # either order
    pending = judge_checkpoints(checkpoint(20), checkpoint(40))
    assert not pending.proven and pending.conflict is None and pending.needs_proof == (20, 40)


def test_the_same_size_with_another_root_is_a_fork() -> None:
    other = [*LOG.records[:39], LOG.records[0]]
    judgement = judge_checkpoints(checkpoint(40), checkpoint(40, other))
    assert judgement.conflict is not None and judgement.conflict.rule == "ledger.rollback"


def test_a_proof_that_does_not_verify_is_rewritten_history() -> None:
    other = [*LOG.records[:10], *LOG.records[11:], LOG.records[0]]
    judgement = judge_checkpoints(checkpoint(20), checkpoint(40, other), proof(20, 40, other))
    assert judgement.conflict is not None and judgement.conflict.rule == "ledger.rollback"
    assert judgement.conflict.params == {"old": 20, "new": 40}


def test_a_whole_log_in_hand_is_judged_by_its_root_at_the_seen_size() -> None:
    seen = checkpoint(20)
    assert judge_with_records(seen, 40, seen.root).proven
    shorter = judge_with_records(seen, 10, None)
    assert shorter.conflict is not None and shorter.conflict.params["size"] == 10
    assert judge_with_records(seen, 40, checkpoint(21).root).conflict is not None


def test_two_logs_cannot_be_compared() -> None:
    with pytest.raises(ValueError):
        judge_checkpoints(checkpoint(20), Checkpoint("other/log", 20, checkpoint(20).root))


def test_the_checkpoints_here_are_the_builders() -> None:
    assert checkpoint(40).root == LOG.root
