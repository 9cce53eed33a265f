"""Issue 16: a signed append costs about what a plain insert costs. It runs one statement on
PostgreSQL and three on SQLite, building on the tail this process committed last; when that tail
is stale (another process appended, the key changed, a transaction rolled back), the append
reads the head afresh and builds on it, so the log stays one valid chain. An inclusion proof is
one statement of the same text whatever the record and the tree's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from sunvote.domain.ledger.merkle import leaf_hash, verify_inclusion
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Village
from sunvote.services import exports, ledger
from sunvote.services.unit_of_work import use_case
from sunvote.services.villages import rotate_log_key

BODY = {"id": 0, "channel": "paper", "text": "建议", "name": None, "party_member": False,
        "recorded_by": None, "at": "2026-12-06T00:00:00Z"}


def sunshine() -> Village:
    return db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()


@use_case
def add(village_id: int, number: int) -> ledger.Appended:
    village = db.session.get(Village, village_id)
    assert village is not None
    return ledger.append(village, "suggestion.add", {**BODY, "id": 9000 + number})


@use_case
def add_to(village: Village, number: int) -> ledger.Appended:
    # An expired object after the first commit: append takes its id from the identity.
    return ledger.append(village, "suggestion.add", {**BODY, "id": 9000 + number})


def statements_of(fn: Any) -> list[str]:
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return [s for s in seen if not s.startswith("BEGIN")]


def last_record(village_id: int) -> LedgerRecord:
    return db.session.execute(select(LedgerRecord).where(LedgerRecord.village_id == village_id)
                              .order_by(LedgerRecord.seq.desc()).limit(1)).scalar_one()


def assert_log_verifies(village: Village, folder: Path) -> None:
    exports.export_directory(village, folder)
    report = verify_export(folder)
    assert report.exit_code == 0, report.failures


def test_a_signed_append_runs_one_statement_on_postgresql_and_three_on_sqlite(
        demo: Flask) -> None:
    with demo.app_context():
        village = sunshine()
        add_to(village, 1)
        seen = statements_of(lambda: add_to(village, 2))
    expected = 1 if demo.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else 3
    assert len(seen) == expected, seen


def test_an_append_after_another_process_appended_builds_on_the_real_head(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        vid = sunshine().id
        add(vid, 1)
        known = demo.extensions[ledger._COMMITTED][vid]
        second = add(vid, 2)
        # As if this process had not seen the second append (another worker made it).
        demo.extensions[ledger._COMMITTED][vid] = known
        third = add(vid, 3)
        assert third.seq == second.seq + 1
        assert parse_record(third.data).prev == second.root
        assert_log_verifies(sunshine(), tmp_path)


def test_a_rolled_back_append_leaves_the_next_one_on_the_committed_head(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        vid = sunshine().id
        first = add(vid, 1)

        @use_case
        def refused() -> None:
            add(vid, 2)
            raise RuntimeError("refused after appending")

        with pytest.raises(RuntimeError):
            refused()
        after = add(vid, 3)
        assert after.seq == first.seq + 1
        assert parse_record(after.data).prev == first.root
        assert_log_verifies(sunshine(), tmp_path)


def test_an_append_signs_with_the_active_key_even_if_this_process_knew_an_older_one(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        vid = sunshine().id
        add(vid, 1)
        old = demo.extensions[ledger._COMMITTED][vid]
        new_vkey = rotate_log_key(vid, "换届后更换密钥").vkey
        add(vid, 2)
        head = demo.extensions[ledger._COMMITTED][vid]
        # The right size and root, but the retired key (as a process that missed the rotation
        # on another worker, while its own appends kept the tree in step, would hold).
        demo.extensions[ledger._COMMITTED][vid] = ledger._Tail(
            head.origin, old.signer, head.size, head.border, head.root)
        add(vid, 3)
        record = parse_record(last_record(vid).data)
        assert record.note.signatures[0].key_id == ledger.signer_of(
            ledger.active_key(vid)).key_id
        assert ledger.active_key(vid).vkey == new_vkey
        exports.export_directory(sunshine(), tmp_path)
        report = verify_export(tmp_path, log_vkeys_override=[old.signer.vkey])
        assert report.exit_code == 0, report.failures


def test_every_inclusion_proof_runs_the_same_single_statement(demo: Flask) -> None:
    with demo.app_context():
        village = sunshine()
        for number in range(40):
            add_to(village, number)
        vid, size = village.id, ledger.head(village.id).size  # type: ignore[union-attr]
        texts = set()
        for seq, tree in ((0, size), (size - 1, size), (size // 2, size), (5, 7), (3, 4)):
            proof: list[bytes] = []

            def prove(seq: int = seq, tree: int = tree, proof: list[bytes] = proof) -> None:
                proof.extend(ledger.inclusion_proof(vid, seq, tree))

            seen = statements_of(prove)
            assert len(seen) == 1, seen
            texts.add(seen[0])
            data = ledger.record_data(vid, seq)
            verify_inclusion(leaf_hash(data), seq, tree, proof, ledger.root_at(vid, tree))
        assert len(texts) == 1, texts
