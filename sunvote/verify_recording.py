"""`sunvote recording verify`: check a downloaded recording offline against the village ledger it
carries (docs/recording.md). Needs no database and loads no part of the web app.

The ledger export inside the download is verified first, as `sunvote ledger verify` does (every
signature, the Merkle tree, the checkpoint, the rules, including those of the recording's records).
Then each chunk file's SHA-256 is compared with the ``recording.chunk`` records of its meeting:
a chunk removed, reordered or altered is named by its number (exit code 7)."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from sunvote.domain.ledger.export import ExportError
from sunvote.domain.ledger.note import KeyFormatError
from sunvote.domain.ledger.verifier import (
    EXIT_USAGE,
    prepare_line,
    read_record_lines,
    verify_export,
)
from sunvote.domain.recording import recording_problems

#: The exit code of a recording whose files do not match the ledger (the ledger's own are 2–6).
EXIT_RECORDING = 7

_CHUNK_FILE = re.compile(r"chunks/([0-9]{1,9})\.(webm|mp4)")
_LEDGER_FILE = re.compile(r"ledger/[A-Za-z0-9._-]{1,100}")
#: A zip member may not be larger than this once extracted (a chunk is at most 8 MB; a ledger's
#: records file may be large).
_MAX_MEMBER = 4 << 30


def ledger_chunks(ledger_dir: Path, meeting: int) -> list[str]:
    """The SHA-256 of meeting ``meeting``'s chunks in the order of their numbers, read from the
    export's records (after they have been verified)."""
    hashes: dict[int, str] = {}
    for index, line, problem in read_record_lines(ledger_dir):
        prepared = prepare_line(index, line, problem)
        record = prepared.record
        if record is None or record.type != "recording.chunk":
            continue
        if record.body.get("meeting") == meeting:
            hashes[int(record.body["seq"])] = str(record.body["sha256"])
    return [hashes[seq] for seq in sorted(hashes)]


def chunk_files(root: Path) -> dict[int, str]:
    """Chunk number → SHA-256 of the file ``chunks/<number>.webm`` (or .mp4) under ``root``."""
    found: dict[int, str] = {}
    folder = root / "chunks"
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        match = _CHUNK_FILE.fullmatch(f"chunks/{path.name}")
        if match is None:
            continue
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        found[int(match.group(1))] = digest.hexdigest()
    return found


def extract(zip_path: Path, into: Path) -> None:
    """Extract a recording download, refusing any member that is not one of its files."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir():
                continue
            known = (name in ("manifest.json", "README.txt") or _CHUNK_FILE.fullmatch(name)
                     or _LEDGER_FILE.fullmatch(name))
            if not known or info.file_size > _MAX_MEMBER:
                raise ExportError(f"unexpected file in the download: {name[:80]!r}")
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, target.open("wb") as out:
                for block in iter(lambda: source.read(1 << 20), b""):
                    out.write(block)


def check(root: Path, keys: Sequence[str]) -> int:
    """Verify the unpacked download at ``root``; print the result; return the exit code."""
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        meeting = int(manifest["meeting"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: cannot read manifest.json: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ledger_dir = root / "ledger"
    report = verify_export(ledger_dir, log_vkeys_override=list(keys) or None)
    for failure in report.failures:
        print(failure.describe())
    if not report.ok:
        print(f"FAILED: the ledger in the download does not verify (exit code "
              f"{report.exit_code}); the recording cannot be checked against it")
        print("验证失败：下载中的账本未通过验证，无法据此核验录像")
        return report.exit_code
    signed = ledger_chunks(ledger_dir, meeting)
    problems = recording_problems(signed, chunk_files(root))
    if not signed:
        print(f"FAILED: the ledger has no recording of meeting {meeting}")
        print(f"验证失败：账本中没有第{meeting}次会议的录像")
        return EXIT_RECORDING
    if problems:
        for problem in problems:
            print(f"recording of meeting {meeting}: {problem}")
        print(f"FAILED: {len(problems)} of {len(signed)} chunks do not match the ledger "
              f"(chunks {', '.join(str(p.seq) for p in problems)}); exit code {EXIT_RECORDING}")
        print(f"验证失败：{len(signed)}段录像中有{len(problems)}段与账本不符"
              f"（第{'、'.join(str(p.seq) for p in problems)}段）")
        return EXIT_RECORDING
    print(f"verified: the recording of meeting {meeting} is the one signed in the ledger: "
          f"{len(signed)} chunks, ledger of {report.records} records")
    if not keys:
        print("note: checked with the keys inside the download; pass --key with the village's "
              "published log key so the result does not rest on who gave you the file")
    print(f"验证通过：第{meeting}次会议的录像共{len(signed)}段，与账本中的签名一致")
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sunvote recording verify",
        description="Check a downloaded meeting recording (zip or folder) against its ledger.")
    parser.add_argument("path", help="the download: recording zip, or its unpacked folder")
    parser.add_argument("--key", action="append", default=[],
                        help="the village's published log key (vkey); repeatable")
    args = parser.parse_args(argv)
    path = Path(args.path)
    try:
        if path.is_dir():
            return check(path, args.key)
        with tempfile.TemporaryDirectory() as tmp:
            extract(path, Path(tmp))
            return check(Path(tmp), args.key)
    except (ExportError, zipfile.BadZipFile, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyFormatError as exc:
        print(f"error: malformed key given on the command line: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
