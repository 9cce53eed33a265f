"""Tests for C2SP tlog-proof files and SunVote receipts (record + tlog-proof)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.ledger.checkpoint import (
    Checkpoint,
    CosignatureError,
    Cosigner,
    add_cosignature,
    sign_checkpoint,
)
from sunvote.domain.ledger.merkle import (
    ProofError,
    append_nodes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_border,
    verify_consistency,
)
from sunvote.domain.ledger.note import NoteError, Signer, sign_note
from sunvote.domain.ledger.proofs import (
    RECEIPT_HEADER,
    TLOG_PROOF_HEADER,
    ProofFormatError,
    Receipt,
    TlogProof,
    format_receipt,
    format_tlog_proof,
    parse_receipt,
    parse_tlog_proof,
    verify_receipt,
    verify_tlog_proof,
)

SETTINGS = settings(database=None, deadline=None, max_examples=300)

ORIGIN = "sunvote.example/township-3/village-7"
LOG = Signer(ORIGIN, hashlib.sha256(b"log seed").digest())
WITNESS = Cosigner("witness.example/township-3", hashlib.sha256(b"witness seed").digest())
N_RECORDS = 13


def build_log() -> tuple[list[bytes], dict[tuple[int, int], bytes], list[bytes]]:
    """Append N_RECORDS signed records; return records, stored nodes and the root per size."""
    records: list[bytes] = []
    store: dict[tuple[int, int], bytes] = {}
    border: list[bytes] = []
    roots = [root_from_border(border)]
    for seq in range(N_RECORDS):
        text = canonical_json(
            {
                "body": {"choice": "yes" if seq % 2 else "no"},
                "log": ORIGIN,
                "prev": base64.b64encode(roots[-1]).decode(),
                "seq": seq,
                "type": "ballot.cast",
                "v": 1,
            }
        )
        record = sign_note(text.decode() + "\n", [LOG])
        created, border = append_nodes(seq, border, leaf_hash(record))
        store.update({(level, index): value for level, index, value in created})
        records.append(record)
        roots.append(root_from_border(border))
    return records, store, roots


RECORDS, STORE, ROOTS = build_log()
CHECKPOINT_NOTE = add_cosignature(
    sign_checkpoint(Checkpoint(ORIGIN, N_RECORDS, ROOTS[-1]), LOG), WITNESS, 1_700_000_000
)


def receipt_for(index: int, size: int = N_RECORDS) -> Receipt:
    """Build the receipt for record ``index`` against the checkpoint at ``size``."""
    note = CHECKPOINT_NOTE
    if size != N_RECORDS:
        note = sign_checkpoint(Checkpoint(ORIGIN, size, ROOTS[size]), LOG)
    proof = inclusion_proof(index, size, lambda level, i: STORE[(level, i)])
    return Receipt(RECORDS[index], TlogProof(index, tuple(proof), note))


# ------------------------------------------------------------------ format


def test_tlog_proof_layout_follows_the_spec() -> None:
    proof = receipt_for(5).proof
    data = format_tlog_proof(proof)
    head, _, tail = data.partition(b"\n\n")
    lines = head.decode().split("\n")
    assert lines[0] == TLOG_PROOF_HEADER == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "index 5"
    assert [base64.b64decode(x) for x in lines[2:]] == list(proof.inclusion_proof)
    assert tail == CHECKPOINT_NOTE
    assert parse_tlog_proof(data) == proof


def test_tlog_proof_with_extra_data_round_trips() -> None:
    proof = TlogProof(0, (), sign_checkpoint(Checkpoint(ORIGIN, 1, ROOTS[1]), LOG), b"\x00extra")
    data = format_tlog_proof(proof)
    assert data.split(b"\n")[1] == b"extra " + base64.b64encode(b"\x00extra")
    assert parse_tlog_proof(data) == proof


def test_receipt_layout_is_our_header_record_line_then_a_tlog_proof() -> None:
    receipt = receipt_for(3)
    data = format_receipt(receipt)
    header, record_line, rest = data.split(b"\n", 2)
    assert header.decode() == RECEIPT_HEADER
    assert base64.b64decode(record_line[len(b"record ") :]) == RECORDS[3]
    assert parse_tlog_proof(rest) == receipt.proof
    assert parse_receipt(data) == receipt


# ------------------------------------------------------------------ verification


def test_every_receipt_verifies_with_and_without_the_witness() -> None:
    for index in range(N_RECORDS):
        receipt = parse_receipt(format_receipt(receipt_for(index)))
        checkpoint = verify_receipt(receipt, LOG.verifier(), cosigners=[WITNESS.verifier()])
        assert checkpoint.size == N_RECORDS
        assert verify_receipt(receipt, LOG.verifier()) == checkpoint


def test_receipt_swap_fails() -> None:
    a, b = receipt_for(3), receipt_for(4)
    with pytest.raises(ProofError):
        verify_receipt(Receipt(b.record, a.proof), LOG.verifier())
    with pytest.raises(ProofError):
        verify_tlog_proof(a.proof, RECORDS[3] + b" ", LOG.verifier())


def test_wrong_log_key_or_origin_or_missing_witness_fails() -> None:
    receipt = receipt_for(2)
    impostor = Signer(ORIGIN, hashlib.sha256(b"impostor").digest())
    with pytest.raises(NoteError):
        verify_receipt(receipt, impostor.verifier())
    with pytest.raises(ValueError):
        verify_receipt(receipt, LOG.verifier(), origin="sunvote.example/other")
    unwitnessed = receipt_for(2, size=N_RECORDS - 1)
    verify_receipt(unwitnessed, LOG.verifier())
    with pytest.raises(CosignatureError):
        verify_receipt(unwitnessed, LOG.verifier(), cosigners=[WITNESS.verifier()])


def test_old_receipt_checks_against_a_newer_checkpoint_by_consistency() -> None:
    old = receipt_for(4, size=6)
    checkpoint_old = verify_receipt(old, LOG.verifier())
    proof = consistency_proof(6, N_RECORDS, lambda level, i: STORE[(level, i)])
    verify_consistency(6, N_RECORDS, proof, checkpoint_old.root, ROOTS[-1])


# ------------------------------------------------------------------ strict parsing


GOOD = format_tlog_proof(receipt_for(5).proof)
HEAD, _, CHECKPOINT_PART = GOOD.partition(b"\n\n")
HEAD_LINES = HEAD.split(b"\n")


def _with_head(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n\n" + CHECKPOINT_PART


@pytest.mark.parametrize(
    "data",
    [
        b"",
        GOOD.replace(b"tlog-proof@v1", b"tlog-proof@v2"),
        b"\n" + GOOD,
        _with_head([HEAD_LINES[0], *HEAD_LINES[2:]]),  # no index line
        _with_head([HEAD_LINES[0], b"index 05", *HEAD_LINES[2:]]),
        _with_head([HEAD_LINES[0], b"index -5", *HEAD_LINES[2:]]),
        _with_head([HEAD_LINES[0], b"index  5", *HEAD_LINES[2:]]),
        _with_head([HEAD_LINES[0], b"index 5 ", *HEAD_LINES[2:]]),
        _with_head([HEAD_LINES[0], b"index 18446744073709551615", *HEAD_LINES[2:]]),
        _with_head([*HEAD_LINES, b"not base64!"]),
        _with_head([*HEAD_LINES, base64.b64encode(b"x" * 31)]),
        _with_head([*HEAD_LINES, base64.b64encode(b"x" * 32).rstrip(b"=")]),
        _with_head([*HEAD_LINES, base64.b64encode(b"x" * 32) + b"\r"]),
        _with_head([HEAD_LINES[0], b"extra !!", *HEAD_LINES[1:]]),
        _with_head([HEAD_LINES[0], *HEAD_LINES[1:2], b"extra AA==", *HEAD_LINES[2:]]),
        _with_head([*HEAD_LINES, *[base64.b64encode(b"y" * 32)] * 64]),  # > 64 hashes
        HEAD + b"\n",  # no checkpoint
        HEAD + b"\n\n",
        HEAD + b"\n\n" + CHECKPOINT_PART.replace(b"\n\n", b"\n"),  # checkpoint not a note
        HEAD + b"\n\n" + CHECKPOINT_PART + b"trailing garbage\n",
        HEAD + b"\n\n\n" + CHECKPOINT_PART,
        GOOD.replace(b"\n", b"\r\n"),
    ],
)
def test_parse_tlog_proof_is_strict(data: bytes) -> None:
    with pytest.raises(ProofFormatError):
        parse_tlog_proof(data)


@pytest.mark.parametrize(
    "data",
    [
        GOOD,  # a bare tlog-proof is not a receipt
        b"sunvote-receipt/v2\nrecord AA==\n" + GOOD,
        RECEIPT_HEADER.encode() + b"\n" + GOOD,  # no record line
        RECEIPT_HEADER.encode() + b"\nrecord \n" + GOOD,  # empty record
        RECEIPT_HEADER.encode() + b"\nrecord AA=\n" + GOOD,
        RECEIPT_HEADER.encode() + b"\nrecord  AA==\n" + GOOD,
        RECEIPT_HEADER.encode() + b"\nrecord AA==\n\n" + GOOD,
        RECEIPT_HEADER.encode() + b"\nrecord \xff\n" + GOOD,
    ],
)
def test_parse_receipt_is_strict(data: bytes) -> None:
    with pytest.raises(ProofFormatError):
        parse_receipt(data)


# ------------------------------------------------------------------ Hypothesis


@SETTINGS
@given(st.data())
def test_any_bit_flip_in_a_receipt_fails(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, N_RECORDS - 1), label="index")
    encoded = format_receipt(receipt_for(index))
    bit = data.draw(st.integers(0, len(encoded) * 8 - 1), label="bit")
    flipped = bytearray(encoded)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ValueError):
        receipt = parse_receipt(bytes(flipped))
        verify_receipt(receipt, LOG.verifier(), cosigners=[WITNESS.verifier()])
