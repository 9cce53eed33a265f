"""What a verifier remembers (sunvote/domain/ledger/memory.py): a checkpoint seen later must
extend every checkpoint seen before; a fork or a shorter log is ``ledger.rollback``."""

from __future__ import annotations

import pytest

from sunvote.domain.ledger.checkpoint import Checkpoint
from sunvote.domain.ledger.memory import (
    consistency_path,
    consistency_sizes,
    consistency_sizes_refusal,
    judge_checkpoints,
    judge_with_records,
)
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


# ---------------------------------------------------------------------- consistency_sizes


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("1", "10", (1, 10)), ("3", "", (3, 10)), ("3", None, (3, 10)), ("10", "10", (10, 10)),
    ("007", "0010", (7, 10)),
])
def test_sizes_within_the_log_are_given(old: str, new: str | None,
                                        expected: tuple[int, int]) -> None:
    assert consistency_sizes_refusal(old, new, 10) is None
    assert consistency_sizes(old, new, 10) == expected


@pytest.mark.parametrize(("old", "new", "status"), [
    (None, None, 400), ("", "3", 400), ("0", "3", 400), ("-1", "3", 400), ("²", "3", 400),
    ("٣", "5", 400), ("1.0", "3", 400), (" 1", "3", 400), ("1", "x", 400), ("9" * 11, "3", 400),
    ("5", "3", 400), ("11", None, 404), ("1", "11", 404), ("1", "9999999999", 404),
])
def test_sizes_outside_the_log_are_refused_naming_the_rule(old: str | None, new: str | None,
                                                           status: int) -> None:
    refusal = consistency_sizes_refusal(old, new, 10)
    assert refusal is not None and refusal.rule == "ledger.consistency_sizes"
    assert refusal.status == status
    with pytest.raises(type(refusal)):
        consistency_sizes(old, new, 10)


def test_the_proof_address_names_the_village_of_either_origin_form() -> None:
    assert consistency_path("sunvote-ab12/demo-town/sunshine", 30, 36) \
        == "/p/sunshine/ledger/consistency?from=30&to=36"
    assert consistency_path("sunvote.demo-town/sunshine", 1, 2) \
        == "/p/sunshine/ledger/consistency?from=1&to=2"
