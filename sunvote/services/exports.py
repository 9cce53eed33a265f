"""Ledger exports: a directory (CLI, USB stick) or a zip of the same (web download)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from sunvote.domain.ledger.export import write_export
from sunvote.extensions import db
from sunvote.models import Village, WitnessKey
from sunvote.services import ledger


def witness_vkeys(village: Village) -> list[str]:
    """The witness keys whose cosignatures an export's verifier should accept: the configured
    remote township witness (SUNVOTE_WITNESS_KEY), this instance's own, and the further
    witnesses of SUNVOTE_WITNESSES (e.g. the district)."""
    keys = list(db.session.execute(select(WitnessKey.vkey).where(
        WitnessKey.township_id == village.township_id)).scalars())
    configured = current_app.config.get("WITNESS_KEY")
    further = [vkey for pair in str(current_app.config.get("WITNESSES") or "").split()
               for vkey in [pair.partition("=")[2]]]
    return ([str(configured)] if configured else []) + [k for k in keys if k != configured] + [
        k for k in further if k not in keys and k != configured]


def export_directory(village: Village, path: Path) -> int:
    """Write the village's ledger export to ``path``; returns the number of records. Reads one
    consistent snapshot: the size is fixed first, and only records below it are written."""
    witnesses = witness_vkeys(village)
    size, checkpoint, readme = ledger.export_files(village)
    return write_export(path, village.origin, ledger.iter_record_data(village.id, size),
                        checkpoint, ledger.log_vkeys(village.id), witnesses, readme)


def export_zip(village: Village) -> bytes:
    """The same export as a zip file, its files inside a folder named after the village."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / f"sunvote-ledger-{village.code}"
        export_directory(village, folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(folder.iterdir()):
                zf.write(file, f"{folder.name}/{file.name}")
        return buffer.getvalue()
