"""Receipts and consistency proofs, made by the server and checked by the offline command; and
the witness exchange carried as files between two instances."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.ledger.proofs import Receipt, format_receipt, parse_receipt
from sunvote.extensions import db
from sunvote.models import Person, Village
from sunvote.services import ledger, suggestions
from sunvote.verify import main as verify_main


def sunshine() -> Village:
    return db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()


def key_of(app: Flask) -> str:
    with app.app_context():
        return ledger.active_key(sunshine().id).vkey


def add(app: Flask, n: int) -> None:
    with app.app_context():
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        for i in range(n):
            suggestions.record_suggestion(sunshine().id, clerk, "paper", f"后来的建议{i}", None,
                                          False)


def test_a_receipt_proves_its_record_and_later_the_log_only_grew(demo: Flask,
                                                                 tmp_path: Path) -> None:
    runner = demo.test_cli_runner()
    assert runner.invoke(args=["ledger", "receipt", "sunshine", "5",
                               str(tmp_path / "r")]).exit_code == 0
    key = key_of(demo)
    assert verify_main(["receipt", str(tmp_path / "r"), "--key", key]) == 0
    old_size = parse_receipt((tmp_path / "r").read_bytes()).proof.index
    assert old_size == 5
    add(demo, 7)
    with demo.app_context():
        size = ledger.head(sunshine().id).size  # type: ignore[union-attr]
    receipt_size = size - 7
    out = runner.invoke(args=["ledger", "consistency", "sunshine", str(receipt_size),
                              str(tmp_path / "c")])
    assert out.exit_code == 0, out.output
    assert verify_main(["receipt", str(tmp_path / "r"), "--key", key,
                        "--newer", str(tmp_path / "c" / "checkpoint"),
                        "--proof", str(tmp_path / "c" / "proof")]) == 0


def test_a_receipt_for_one_record_presented_with_another_fails(demo: Flask,
                                                               tmp_path: Path) -> None:
    with demo.app_context():
        a = parse_receipt(ledger.receipt(sunshine().id, 5))
        b_record = ledger.record_data(sunshine().id, 6)
    swapped = tmp_path / "swapped"
    swapped.write_bytes(format_receipt(Receipt(b_record, a.proof)))
    assert verify_main(["receipt", str(swapped), "--key", key_of(demo)]) == 4


def test_a_receipt_under_another_key_or_tampered_fails(demo: Flask, tmp_path: Path) -> None:
    from sunvote.domain.ledger.note import generate_signer

    with demo.app_context():
        good = ledger.receipt(sunshine().id, 3)
        origin = sunshine().origin
    path = tmp_path / "r"
    path.write_bytes(good)
    other = generate_signer(origin).verifier().vkey
    assert verify_main(["receipt", str(path), "--key", other]) == 3
    bad = bytearray(good)
    bad[good.index(b"index ") + 6] ^= 1  # claims another index
    path.write_bytes(bytes(bad))
    assert verify_main(["receipt", str(path), "--key", key_of(demo)]) != 0


def test_a_consistency_proof_does_not_prove_a_rewritten_history(demo: Flask,
                                                                tmp_path: Path) -> None:
    with demo.app_context():
        old_note = ledger.head(sunshine().id).checkpoint  # type: ignore[union-attr]
        old_size = ledger.head(sunshine().id).size  # type: ignore[union-attr]
    add(demo, 3)
    with demo.app_context():
        proof, new_note = ledger.consistency_files(sunshine().id, old_size)
        wrong_proof, _ = ledger.consistency_files(sunshine().id, old_size - 1)
    (tmp_path / "old").write_bytes(old_note)
    (tmp_path / "new").write_bytes(new_note)
    (tmp_path / "proof").write_bytes(proof)
    (tmp_path / "wrong").write_bytes(wrong_proof)
    key = key_of(demo)
    args = [str(tmp_path / "old"), str(tmp_path / "new")]
    assert verify_main(["consistency", *args, str(tmp_path / "proof"), "--key", key]) == 0
    assert verify_main(["consistency", *args, str(tmp_path / "wrong"), "--key", key]) == 4
    swapped = [str(tmp_path / "new"), str(tmp_path / "old")]
    assert verify_main(["consistency", *swapped, str(tmp_path / "proof"), "--key", key]) != 0


def test_bad_arguments_and_files_are_usage_errors(tmp_path: Path) -> None:
    assert verify_main(["receipt", str(tmp_path / "missing"), "--key", "x"]) == 1
    assert verify_main(["consistency", "a"]) == 1


def test_the_witness_exchange_works_as_files(demo: Flask, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The village writes a request, the township answers it from the file, the village stores
    the cosignature (here one instance plays both, as the demo does)."""
    runner = demo.test_cli_runner()
    request, response = tmp_path / "request", tmp_path / "response"
    assert runner.invoke(args=["ledger", "witness-request", "sunshine",
                               str(request)]).exit_code == 0
    out = runner.invoke(args=["witness", "cosign", "demo-town", str(request), str(response)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(args=["ledger", "witness-accept", "sunshine", str(request),
                              str(response)])
    assert out.exit_code == 0 and "cosigned by sunvote.demo-town/witness" in out.output
    # The same request again is answered from the witness's state: already at that size.
    again = runner.invoke(args=["witness", "cosign", "demo-town", str(request),
                                str(tmp_path / "again")])
    assert again.exit_code != 0 and "409" in again.output
