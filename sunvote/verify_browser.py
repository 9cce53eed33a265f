"""The browser verifier's Python side: the same verifier as ``sunvote ledger verify``, run under
Pyodide in the one-file page that tools/build_verifier.py writes (docs/browser-verifier.md).

The page's JavaScript only reads files, keeps what the phone remembers (localStorage) and shows
results; every check is made here by the project's own code: :func:`verify_export` for an
export, :func:`sunvote.domain.ledger.proofs.verify_receipt` for a receipt, and
:mod:`sunvote.domain.ledger.memory` for the checkpoints seen before. Signatures go through
:mod:`sunvote.domain.ledger.crypto`, whose backend the page installs with
:func:`install_backend` (``@noble/curves``, synchronous). Inputs and outputs are JSON texts and
bytes, so that nothing here depends on Pyodide and the tests can call it directly too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger import crypto
from sunvote.domain.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    CosignatureError,
    CosignatureVerifier,
    open_checkpoint,
    parse_checkpoint,
)
from sunvote.domain.ledger.export import ExportError
from sunvote.domain.ledger.memory import (
    Judgement,
    consistency_path,
    judge_checkpoints,
    judge_with_records,
)
from sunvote.domain.ledger.merkle import ProofError, append_leaf, leaf_hash, root_from_border
from sunvote.domain.ledger.note import KeyFormatError, NoteError, Verifier, parse_note_unverified
from sunvote.domain.ledger.proofs import ProofFormatError, parse_receipt, verify_receipt
from sunvote.domain.ledger.records import RecordFormatError, b64, parse_record
from sunvote.domain.ledger.tables import ballot_fact
from sunvote.domain.ledger.verifier import read_record_lines, verify_export
from sunvote.verify import _print_report

#: The files of an export (docs/ledger-format.md); nothing else is taken out of a zip.
EXPORT_FILES = ("FORMAT", "origin", "log.vkey", "witness.vkey", "records", "checkpoint")

#: A zip member larger than this is refused before it is inflated (a 10,000-record log is ~10 MB).
MAX_MEMBER_BYTES = 512 * 1024 * 1024

_english: Callable[[str], str] = lambda s: s  # noqa: E731 - replaced by load_catalog()


class JsBackend:
    """The crypto backend of the page: three synchronous JavaScript functions (noble)."""

    name = "noble"

    def __init__(self, functions: Any, to_js: Callable[[bytes], Any]) -> None:
        """``functions`` has ``ed25519``, ``p256`` and ``p256Point``; ``to_js`` makes a
        Uint8Array of bytes."""
        self._f = functions
        self._to_js = to_js

    def ed25519_valid(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        """See :class:`sunvote.domain.ledger.crypto.CryptoBackend`."""
        js = self._to_js
        return bool(self._f.ed25519(js(public_key), js(signature), js(message)))

    def p256_valid(self, point: bytes, signature: bytes, message: bytes) -> bool:
        """See :class:`sunvote.domain.ledger.crypto.CryptoBackend`."""
        js = self._to_js
        return bool(self._f.p256(js(point), js(signature), js(message)))

    def p256_point_valid(self, point: bytes) -> bool:
        """See :class:`sunvote.domain.ledger.crypto.CryptoBackend`."""
        return bool(self._f.p256Point(self._to_js(point)))


def install_backend(functions: Any, to_js: Callable[[bytes], Any]) -> str:
    """Make every signature check of this process go through the page's JavaScript."""
    crypto.use_backend(JsBackend(functions, to_js))
    return crypto.backend().name


def load_catalog(entries_json: str) -> None:
    """Use the English catalog's entries (the app's own translations of the verifier's strings,
    tools/build_verifier.py takes them from messages.po) for the refusals' English text."""
    global _english
    entries: dict[str, str] = json.loads(entries_json)
    _english = lambda s: entries.get(s, s)  # noqa: E731


# ------------------------------------------------------------------------------- exports


def unpack_export(data: bytes, target: Path) -> Path:
    """Write the export files of a zip (at its top or in one folder) into ``target``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ExportError(f"not a zip file: {exc}") from None
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        parts = info.filename.split("/")
        if info.is_dir() or parts[-1] not in EXPORT_FILES or len(parts) > 2:
            continue
        members.setdefault(parts[-1], info)
    if "FORMAT" not in members:
        raise ExportError("the zip holds no SunVote ledger export (no FORMAT file)")
    target.mkdir(parents=True, exist_ok=True)
    for name, info in members.items():
        if info.file_size > MAX_MEMBER_BYTES:
            raise ExportError(f"{name} is too large ({info.file_size} bytes)")
        (target / name).write_bytes(archive.read(info))
    return target


def verify_export_zip(data: bytes, keys_json: str = "[]", witness_keys_json: str = "[]",
                      seen_json: str = "[]") -> str:
    """Verify an export zip as ``sunvote ledger verify`` does, and judge the checkpoints seen
    before for its origin (``seen_json``: their note texts). Returns a JSON object: ``report``
    (what ``--json`` prints), ``text`` (what the command prints), ``checkpoint`` (the note, to
    remember, when it verified) and ``memory`` (one judgement per checkpoint seen before)."""
    keys = json.loads(keys_json) or None
    witness_keys = json.loads(witness_keys_json) or None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = unpack_export(bytes(data), Path(tmp) / "export")
            report = verify_export(folder, log_vkeys_override=keys,
                                   witness_vkeys_override=witness_keys)
        except KeyFormatError as exc:
            return _usage(f"malformed key: {exc}")
        except ExportError as exc:
            return _usage(str(exc))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            _print_report(report, keys or (), quiet=False)
        checkpoint_note = (folder / "checkpoint").read_bytes()
        verified = report.checkpoint_size is not None and not any(
            f.kind in ("signature", "chain") for f in report.failures)
        memory: list[dict[str, Any]] = []
        if verified:
            seen = _seen_checkpoints(seen_json, report.origin)
            roots = _prefix_roots(folder, {c.size for _, c in seen})
            for note, old in seen:
                judgement = judge_with_records(old, report.records, roots.get(old.size))
                memory.append(_judgement(judgement, note, old, checkpoint_note))
    return json.dumps({
        "ok": report.ok, "kind": "export", "report": report.to_dict(), "text": out.getvalue(),
        "origin": report.origin, "size": report.records, "root": b64(report.root),
        "checkpoint": checkpoint_note.decode("utf-8", "replace") if verified else None,
        "key": report.log_keys[-1] if verified and report.log_keys else None,
        "key_source": report.trusted_key_source, "memory": memory,
    }, ensure_ascii=False)


def _prefix_roots(folder: Path, sizes: set[int]) -> dict[int, bytes]:
    """The log's root at each of ``sizes`` (one more pass over the records' leaf hashes)."""
    roots: dict[int, bytes] = {}
    if 0 in sizes:
        roots[0] = root_from_border([])
    border: list[bytes] = []
    for index, line, _problem in read_record_lines(folder):
        try:
            raw = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            break
        append_leaf(index, border, leaf_hash(raw))
        if index + 1 in sizes:
            roots[index + 1] = root_from_border(border)
    return roots


# ------------------------------------------------------------------------------- receipts


def verify_receipt_file(data: bytes, key: str, witness_keys_json: str = "[]",
                        seen_json: str = "[]", ballot: str = "") -> str:
    """Check a receipt as ``sunvote ledger verify receipt`` does: the record is in the log
    whose checkpoint the log key signed (and the given witnesses cosigned); say what the record
    is; judge the checkpoints seen before (a consistency proof is needed when sizes differ)."""
    try:
        log_key = Verifier.from_vkey(key.strip())
        cosigners = [CosignatureVerifier.from_vkey(k) for k in json.loads(witness_keys_json)]
        receipt = parse_receipt(bytes(data))
    except (KeyFormatError, CosignatureError) as exc:
        return _usage(f"malformed key: {exc}")
    except (ProofFormatError, UnicodeDecodeError, ValueError) as exc:
        return _usage(f"not a receipt: {exc}")
    try:
        checkpoint = verify_receipt(receipt, log_key, cosigners=cosigners)
    except (CheckpointError, NoteError, CosignatureError) as exc:
        return json.dumps({"ok": False, "kind": "receipt", "exit_code": 3,
                           "text": f"NOT PROVEN: signature: {exc}\n未能证明：签名无效"},
                          ensure_ascii=False)
    except ProofError as exc:
        return json.dumps({"ok": False, "kind": "receipt", "exit_code": 4,
                           "text": f"NOT PROVEN: the record is not in that checkpoint: {exc}\n"
                                   "未能证明：记录不在该检查点中"}, ensure_ascii=False)
    lines = []
    fact: dict[str, Any] | None = None
    try:
        record = parse_record(receipt.record)
        what = f"record {record.seq} ({record.type})"
        found = ballot_fact(record)
        if found is not None:
            fact = {"ballot": found.ballot, "choice": found.choice, "meeting": found.meeting,
                    "poll": found.poll, "secret": found.secret,
                    "member": found.member, "member_name": found.member_name}
    except RecordFormatError:
        what, found = f"record {receipt.proof.index}", None
    lines.append(f"proven: {what} is in {checkpoint.origin} at size {checkpoint.size}")
    if found is not None:
        voter = "secret" if found.secret else f"voter {found.member} {found.member_name}"
        lines.append(f"ballot {found.ballot}: choice {found.choice} in meeting {found.meeting} "
                     f"poll {found.poll} ({voter})")
    ok, code = True, 0
    if ballot and (found is None or found.ballot != ballot):
        lines.append(f"NOT PROVEN: the record is not ballot {ballot}\n"
                     "未能证明：该记录不是这个回执码的选票")
        ok, code = False, 4
    else:
        lines.append("证明成功：该记录在账本中")
    note = receipt.proof.checkpoint
    memory = [_judgement(judge_checkpoints(old, checkpoint), text, old, note)
              for text, old in _seen_checkpoints(seen_json, checkpoint.origin)]
    return json.dumps({
        "ok": ok, "kind": "receipt", "exit_code": code, "text": "\n".join(lines) + "\n",
        "origin": checkpoint.origin, "size": checkpoint.size, "root": b64(checkpoint.root),
        "index": receipt.proof.index, "ballot": fact, "checkpoint": note.decode("utf-8"),
        "key": log_key.vkey, "memory": memory,
    }, ensure_ascii=False)


def check_consistency(old_note: str, new_note: str, proof_text: str, key: str) -> str:
    """Judge two checkpoints of one log with a consistency proof file (one base64 hash a line,
    as ``sunvote ledger consistency`` writes it), both signed by the log key."""
    try:
        log_key = Verifier.from_vkey(key.strip())
        old = open_checkpoint(old_note.encode("utf-8"), log_key)
        new = open_checkpoint(new_note.encode("utf-8"), log_key)
        proof = _proof_hashes(proof_text)
    except (KeyFormatError, ProofFormatError, ValueError) as exc:
        return _usage(str(exc))
    judgement = judge_checkpoints(old, new, proof)
    return json.dumps(_judgement(judgement, old_note, old, new_note.encode("utf-8")),
                      ensure_ascii=False)


def _proof_hashes(text: str) -> list[bytes]:
    hashes = []
    for n, line in enumerate(text.splitlines()):
        try:
            raw = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise ProofFormatError(f"line {n} of the proof is not base64") from None
        if len(raw) != 32:
            raise ProofFormatError(f"line {n} of the proof is not a 32-byte hash")
        hashes.append(raw)
    return hashes


# ------------------------------------------------------------------------------- helpers


def _seen_checkpoints(seen_json: str, origin: str) -> list[tuple[str, Checkpoint]]:
    """The remembered checkpoint notes of ``origin`` (verified when they were remembered)."""
    seen = []
    for text in json.loads(seen_json):
        try:
            checkpoint = parse_checkpoint(parse_note_unverified(str(text).encode("utf-8")).text)
        except (NoteError, CheckpointError, ValueError):
            continue
        if checkpoint.origin == origin:
            seen.append((str(text), checkpoint))
    return seen


def _judgement(judgement: Judgement, seen_note: str, seen: Checkpoint,
               new_note: bytes) -> dict[str, Any]:
    new = parse_checkpoint(parse_note_unverified(new_note).text)
    status = "proven" if judgement.proven else "broken" if judgement.conflict else "needs_proof"
    out: dict[str, Any] = {"status": status, "seen": {"size": seen.size, "root": b64(seen.root),
                                                      "note": seen_note},
                           "new": {"size": new.size, "root": b64(new.root),
                                   "note": new_note.decode("utf-8", "replace")}}
    if judgement.conflict is not None:
        out.update(_refusal(judgement.conflict))
    if judgement.needs_proof is not None:
        out["between"] = list(judgement.needs_proof)
        out["proof_path"] = consistency_path(new.origin, *judgement.needs_proof)
    return out


def _refusal(error: DomainError) -> dict[str, str]:
    return {"rule": error.rule, "zh": error.render(lambda s: s), "en": error.render(_english)}


def _usage(message: str) -> str:
    return json.dumps({"ok": False, "kind": "usage", "exit_code": 1, "text": f"error: {message}\n"},
                      ensure_ascii=False)


def signature_verdicts(vectors_json: str) -> str:
    """Each test vector's verdict (tests/vectors/signatures.json) by the signature checks in
    force: the page's self-test, so that a test can hold both backends to the same verdicts."""
    verdicts = []
    for vector in json.loads(vectors_json):
        key = bytes.fromhex(vector["public_key"])
        if vector["alg"] == "p256-point":
            verdicts.append(crypto.p256_point_valid(key))
            continue
        check = crypto.ed25519_valid if vector["alg"] == "ed25519" else crypto.p256_valid
        verdicts.append(check(key, bytes.fromhex(vector["signature"]),
                              bytes.fromhex(vector["message"])))
    return json.dumps({"backend": crypto.backend().name, "verdicts": verdicts})
