"""The export directory a village hands to supervisors and the public (the verifier reads the
records itself, line by line: sunvote.domain.ledger.verifier.read_record_lines).

Layout (docs/ledger-format.md): ``FORMAT``, ``origin``, ``log.vkey``, ``witness.vkey``,
``records`` (one base64 record per line, in seq order), ``checkpoint`` (signed, with
cosignatures), ``README.txt``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

EXPORT_FORMAT = "sunvote-ledger-export/v1"


class ExportError(ValueError):
    """The directory is not a readable export."""


@dataclass(frozen=True)
class ExportMeta:
    """Everything in an export except the records themselves."""

    origin: str
    log_vkeys: tuple[str, ...]
    witness_vkeys: tuple[str, ...]
    checkpoint: bytes


def write_export(path: Path, origin: str, records: Iterable[bytes], checkpoint: bytes,
                 log_vkeys: Iterable[str], witness_vkeys: Iterable[str], readme: str) -> int:
    """Write an export to ``path`` (created if missing); returns the number of records written.
    Files are written under temporary names and renamed, so a crash leaves no half export."""
    path.mkdir(parents=True, exist_ok=True)
    count = 0
    tmp = path / "records.tmp"
    with tmp.open("w", encoding="ascii", newline="\n") as f:
        for raw in records:
            f.write(base64.b64encode(raw).decode("ascii"))
            f.write("\n")
            count += 1
    os.replace(tmp, path / "records")
    _write(path / "FORMAT", EXPORT_FORMAT + "\n")
    _write(path / "origin", origin + "\n")
    _write(path / "log.vkey", "".join(k + "\n" for k in log_vkeys))
    _write(path / "witness.vkey", "".join(k + "\n" for k in witness_vkeys))
    (path / "checkpoint").write_bytes(checkpoint)
    _write(path / "README.txt", readme)
    return count


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def read_meta(path: Path) -> ExportMeta:
    """Read an export's format line, origin, keys and checkpoint; refuses anything else."""
    try:
        fmt = (path / "FORMAT").read_text(encoding="utf-8")
        if fmt != EXPORT_FORMAT + "\n":
            raise ExportError(f"not a {EXPORT_FORMAT} export (FORMAT says {fmt[:60]!r})")
        origin = (path / "origin").read_text(encoding="utf-8")
        log_vkeys = _lines(path / "log.vkey")
        witness_path = path / "witness.vkey"
        witness_vkeys = _lines(witness_path) if witness_path.exists() else ()
        checkpoint = (path / "checkpoint").read_bytes()
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read the export: {exc}") from None
    if not origin.endswith("\n") or origin.count("\n") != 1 or len(origin) < 2:
        raise ExportError("origin must be one line")
    return ExportMeta(origin[:-1], log_vkeys, witness_vkeys, checkpoint)


def _lines(path: Path) -> tuple[str, ...]:
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        raise ExportError(f"{path.name} must end with a newline")
    return tuple(line for line in text.split("\n")[:-1])

