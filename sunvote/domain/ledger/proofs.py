"""Offline receipts: C2SP tlog-proof files, wrapped with the record bytes in a SunVote container.

A tlog-proof (https://c2sp.org/tlog-proof) is::

    c2sp.org/tlog-proof@v1
    [extra <base64(opaque data)>]
    index <decimal leaf index>
    <base64(hash)>            (zero or more: the RFC 6962 inclusion proof, leaf side first)
    <empty line>
    <signed checkpoint note, verbatim, to the end>

A SunVote receipt is our own container around one tlog-proof plus the record it proves::

    sunvote-receipt/v1
    record <base64(record bytes, i.e. the leaf bytes: the signed record note)>
    <the tlog-proof above, verbatim, to the end>

Removing the first two lines therefore leaves a standard ``.tlog-proof`` file. The verifier
always recomputes the leaf hash from the record bytes; no hash is taken from the receipt.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sunvote.domain.ledger.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    open_checkpoint,
    parse_checkpoint,
    verify_cosignature,
)
from sunvote.domain.ledger.merkle import HASH_SIZE, MAX_TREE_SIZE, leaf_hash, verify_inclusion
from sunvote.domain.ledger.note import (
    NoteVerifier,
    decode_base64_strict,
    parse_note_unverified,
)

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
RECEIPT_HEADER = "sunvote-receipt/v1"
MAX_PROOF_HASHES = 64

_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class ProofFormatError(ValueError):
    """A tlog-proof or receipt is not in the exact expected format."""


@dataclass(frozen=True)
class TlogProof:
    """A parsed tlog-proof: leaf index, inclusion proof, signed checkpoint note, extra data."""

    index: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def __post_init__(self) -> None:
        """Validate the fields so that every instance serialises to a parseable proof."""
        if not 0 <= self.index < MAX_TREE_SIZE:
            raise ProofFormatError(f"index {self.index} out of range")
        if len(self.inclusion_proof) > MAX_PROOF_HASHES:
            raise ProofFormatError("inclusion proof has more than 64 hashes")
        if any(len(h) != HASH_SIZE for h in self.inclusion_proof):
            raise ProofFormatError("inclusion proof hashes must be 32 bytes")
        _check_checkpoint_syntax(self.checkpoint)


@dataclass(frozen=True)
class Receipt:
    """An offline receipt: the record (leaf) bytes and the tlog-proof for them."""

    record: bytes
    proof: TlogProof

    def __post_init__(self) -> None:
        """Refuse an empty record."""
        if not self.record:
            raise ProofFormatError("receipt record must not be empty")


def format_tlog_proof(proof: TlogProof) -> bytes:
    """Serialise a tlog-proof in the c2sp.org/tlog-proof@v1 text format."""
    lines = [TLOG_PROOF_HEADER]
    if proof.extra is not None:
        lines.append("extra " + _b64(proof.extra))
    lines.append(f"index {proof.index}")
    lines.extend(_b64(h) for h in proof.inclusion_proof)
    head = "".join(line + "\n" for line in lines) + "\n"
    return head.encode("ascii") + proof.checkpoint


def parse_tlog_proof(data: bytes) -> TlogProof:
    """Parse a tlog-proof strictly; raise :class:`ProofFormatError` on any deviation.

    The checkpoint's note and body syntax are checked, not its signatures (see
    :func:`verify_tlog_proof`).
    """
    lines, checkpoint = _split_head(data)
    if not lines or lines[0] != TLOG_PROOF_HEADER:
        raise ProofFormatError(f"first line must be {TLOG_PROOF_HEADER}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = decode_base64_strict(lines[position][len("extra ") :], ProofFormatError)
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise ProofFormatError("missing index line")
    index = _parse_decimal(lines[position][len("index ") :])
    hashes = tuple(_parse_hash(line) for line in lines[position + 1 :])
    return TlogProof(index, hashes, checkpoint, extra)


def format_receipt(receipt: Receipt) -> bytes:
    """Serialise a receipt: our header line, the ``record`` line, then the tlog-proof."""
    head = f"{RECEIPT_HEADER}\nrecord {_b64(receipt.record)}\n".encode("ascii")
    return head + format_tlog_proof(receipt.proof)


def parse_receipt(data: bytes) -> Receipt:
    """Parse a receipt strictly; raise :class:`ProofFormatError`."""
    header, sep1, rest = data.partition(b"\n")
    record_line, sep2, proof = rest.partition(b"\n")
    if not sep1 or header != RECEIPT_HEADER.encode("ascii"):
        raise ProofFormatError(f"first line must be {RECEIPT_HEADER}")
    if not sep2 or not record_line.startswith(b"record "):
        raise ProofFormatError("second line must be the record line")
    try:
        encoded = record_line[len(b"record ") :].decode("ascii")
    except UnicodeDecodeError:
        raise ProofFormatError("record line is not ASCII") from None
    record = decode_base64_strict(encoded, ProofFormatError)
    return Receipt(record, parse_tlog_proof(proof))


def verify_tlog_proof(
    proof: TlogProof,
    record: bytes,
    log_verifier: NoteVerifier,
    *,
    origin: str | None = None,
    cosigners: Sequence[CosignatureVerifier] = (),
) -> Checkpoint:
    """Verify that ``record`` is leaf ``proof.index`` of the log's signed checkpoint.

    Checks the log signature (and origin, default: the log key name), every listed cosigner's
    cosignature, and the inclusion proof against a leaf hash computed here from ``record``.
    Returns the verified checkpoint; raises a ValueError subclass on any failure.
    """
    checkpoint = open_checkpoint(proof.checkpoint, log_verifier, origin)
    for cosigner in cosigners:
        verify_cosignature(proof.checkpoint, cosigner)
    verify_inclusion(
        leaf_hash(record), proof.index, checkpoint.size, proof.inclusion_proof, checkpoint.root
    )
    return checkpoint


def verify_receipt(
    receipt: Receipt,
    log_verifier: NoteVerifier,
    *,
    origin: str | None = None,
    cosigners: Sequence[CosignatureVerifier] = (),
) -> Checkpoint:
    """Verify a receipt's tlog-proof for the record bytes it carries (see verify_tlog_proof)."""
    return verify_tlog_proof(
        receipt.proof, receipt.record, log_verifier, origin=origin, cosigners=cosigners
    )


def _split_head(data: bytes) -> tuple[list[str], bytes]:
    """Split at the first empty line: the head lines before it, the checkpoint bytes after."""
    head, sep, checkpoint = data.partition(b"\n\n")
    if not sep:
        raise ProofFormatError("no empty line before the checkpoint")
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise ProofFormatError("proof lines must be ASCII") from None
    return text.split("\n"), checkpoint


def _parse_decimal(text: str) -> int:
    """Parse an ASCII decimal without leading zeros."""
    if not _DECIMAL.fullmatch(text):
        raise ProofFormatError(f"{text!r} is not a canonical decimal")
    return int(text)


def _parse_hash(line: str) -> bytes:
    """Parse one base64 proof hash line."""
    raw = decode_base64_strict(line, ProofFormatError)
    if len(raw) != HASH_SIZE:
        raise ProofFormatError("proof hashes must be 32 bytes")
    return raw


def _check_checkpoint_syntax(note: bytes) -> None:
    """Raise ProofFormatError unless ``note`` is a syntactically valid checkpoint note."""
    try:
        parse_checkpoint(parse_note_unverified(note).text)
    except ValueError as exc:
        raise ProofFormatError(f"invalid checkpoint: {exc}") from exc


def _b64(data: bytes) -> str:
    """Standard padded base64 as text."""
    return base64.b64encode(data).decode("ascii")
