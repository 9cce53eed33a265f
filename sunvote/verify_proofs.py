"""Offline checks of a receipt (is my record in the log?) and of a consistency proof between an
older and a newer checkpoint (did the log only grow?). Standard library and cryptography only.

    python -m sunvote.verify receipt RECEIPT --key VKEY [--witness-key VKEY] [--ballot CODE]
                                     [--newer CHECKPOINT --proof PROOF]
    python -m sunvote.verify consistency OLD_CHECKPOINT NEW_CHECKPOINT PROOF --key VKEY

A receipt is the record's bytes with a C2SP tlog-proof (docs/ledger-format.md); a consistency
proof file holds the RFC 6962 proof's hashes, one base64 line each. The leaf hash is always
computed here from the record bytes, never taken from the receipt. For a ballot, the record's
ballot id (the receipt code) and choice are printed; with --ballot the record must be that ballot.
Exit codes: 0 proven; 1 usage or unreadable file; 3 bad signature; 4 proof fails.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from collections.abc import Sequence
from pathlib import Path

from sunvote.domain.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    CosignatureError,
    CosignatureVerifier,
    open_checkpoint,
)
from sunvote.domain.ledger.merkle import ProofError, verify_consistency
from sunvote.domain.ledger.note import KeyFormatError, NoteError, Verifier
from sunvote.domain.ledger.proofs import ProofFormatError, parse_receipt, verify_receipt
from sunvote.domain.ledger.records import RecordFormatError, parse_record
from sunvote.domain.ledger.tables import ballot_fact

EXIT_OK, EXIT_USAGE, EXIT_SIGNATURE, EXIT_PROOF = 0, 1, 3, 4


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _Usage(message)


def read_proof_file(path: Path) -> list[bytes]:
    """The hashes of a consistency proof file (one canonical base64 SHA-256 per line)."""
    hashes = []
    for n, line in enumerate(path.read_text(encoding="ascii").splitlines()):
        try:
            raw = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise ProofFormatError(f"line {n} of {path.name} is not base64") from None
        if len(raw) != 32 or base64.b64encode(raw).decode() != line:
            raise ProofFormatError(f"line {n} of {path.name} is not a canonical 32-byte hash")
        hashes.append(raw)
    return hashes


def check_consistency(old_note: bytes, new_note: bytes, proof: Sequence[bytes],
                      log_key: Verifier) -> tuple[Checkpoint, Checkpoint]:
    """Both checkpoints signed by ``log_key`` for the same log, and the proof shows the new tree
    extends the old one. Raises on any failure."""
    old = open_checkpoint(old_note, log_key)
    new = open_checkpoint(new_note, log_key)
    if old.origin != new.origin:
        raise ProofError("the two checkpoints are of different logs")
    verify_consistency(old.size, new.size, list(proof), old.root, new.root)
    return old, new


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``receipt`` or ``consistency``; returns the exit code."""
    parser = _Parser(prog="python -m sunvote.verify", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    receipt = sub.add_parser("receipt", help="prove a record is in the log")
    receipt.add_argument("receipt", type=Path)
    receipt.add_argument("--key", required=True, metavar="VKEY", help="the village log key")
    receipt.add_argument("--witness-key", action="append", default=[], metavar="VKEY",
                         help="require this witness's cosignature on the receipt's checkpoint")
    receipt.add_argument("--ballot", metavar="CODE",
                         help="require the record to be the ballot with this receipt code")
    receipt.add_argument("--newer", type=Path, help="a newer checkpoint to prove against")
    receipt.add_argument("--proof", type=Path, help="consistency proof to the newer checkpoint")
    consistency = sub.add_parser("consistency", help="prove a newer checkpoint extends an older")
    consistency.add_argument("old", type=Path)
    consistency.add_argument("new", type=Path)
    consistency.add_argument("proof", type=Path)
    consistency.add_argument("--key", required=True, metavar="VKEY")
    try:
        args = parser.parse_args(argv)
        log_key = Verifier.from_vkey(args.key)
        if args.command == "receipt":
            return _receipt(args, log_key)
        return _consistency(args.old.read_bytes(), args.new.read_bytes(),
                            read_proof_file(args.proof), log_key)
    except (_Usage, KeyFormatError, OSError, ProofFormatError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _receipt(args: argparse.Namespace, log_key: Verifier) -> int:
    if (args.newer is None) != (args.proof is None):
        raise _Usage("--newer and --proof go together")
    receipt = parse_receipt(args.receipt.read_bytes())
    try:
        checkpoint = verify_receipt(receipt, log_key,
                                    cosigners=[CosignatureVerifier.from_vkey(k)
                                               for k in args.witness_key])
    except (CheckpointError, NoteError, CosignatureError) as exc:
        print(f"NOT PROVEN: signature: {exc}\n未能证明：签名无效")
        return EXIT_SIGNATURE
    except ProofError as exc:
        print(f"NOT PROVEN: the record is not in that checkpoint: {exc}\n"
              "未能证明：记录不在该检查点中")
        return EXIT_PROOF
    try:
        record = parse_record(receipt.record)
        what = f"record {record.seq} ({record.type})"
        ballot = ballot_fact(record)
    except RecordFormatError:
        what, ballot = f"record {receipt.proof.index}", None
    print(f"proven: {what} is in {checkpoint.origin} at size {checkpoint.size}")
    if ballot is not None:
        voter = "secret" if ballot.secret else f"voter {ballot.member} {ballot.member_name}"
        print(f"ballot {ballot.ballot}: choice {ballot.choice} in meeting {ballot.meeting} "
              f"poll {ballot.poll} ({voter})")
    if args.ballot is not None and (ballot is None or ballot.ballot != args.ballot):
        print(f"NOT PROVEN: the record is not ballot {args.ballot}\n"
              "未能证明：该记录不是这个回执码的选票")
        return EXIT_PROOF
    if args.newer is not None:
        code = _consistency(receipt.proof.checkpoint, args.newer.read_bytes(),
                            read_proof_file(args.proof), log_key)
        if code:
            return code
    print("证明成功：该记录在账本中")
    return EXIT_OK


def _consistency(old_note: bytes, new_note: bytes, proof: Sequence[bytes],
                 log_key: Verifier) -> int:
    try:
        old, new = check_consistency(old_note, new_note, proof, log_key)
    except (CheckpointError, NoteError) as exc:
        print(f"NOT PROVEN: signature: {exc}\n未能证明：签名无效")
        return EXIT_SIGNATURE
    except ProofError as exc:
        print(f"NOT PROVEN: the newer log does not extend the older one: {exc}\n"
              "未能证明：新账本不是旧账本的延续")
        return EXIT_PROOF
    print(f"proven: {new.origin} at size {new.size} extends size {old.size}")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
