"""A meeting's recording as a download (issue 19): its chunks, a manifest, and the village's
ledger export, so that `sunvote recording verify` can check it offline (docs/recording.md)."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import IO

from sunvote.models import Meeting, Recording, Village
from sunvote.services import recording as service
from sunvote.services.exports import export_directory

#: The manifest's format name (docs/recording.md, "The download").
FORMAT = "sunvote-recording/1"

README = """SunVote recording of meeting {meeting} of {village} ({origin})
阳光票决 · {village}第{meeting}次会议的会场录像

chunks/   the recording, one file per chunk of {seconds} seconds; a run of chunks that starts with
          a "first" chunk (manifest.json) plays as one WebM file when the files are joined in order
ledger/   the village's ledger export: every chunk's SHA-256 is signed in it (recording.chunk)
manifest.json  the chunk list with their SHA-256 (for reading; the ledger is what counts)

Check it offline / 离线核验:
    sunvote recording verify <this zip or folder> [--key <the village's published log key>]
A chunk removed, reordered or altered is named by its number.
"""


def chunk_name(seq: int, content_type: str) -> str:
    """``chunks/000007.webm``: the chunk's number in its name (the verifier reads it there)."""
    ext = "mp4" if "mp4" in content_type else "webm"
    return f"chunks/{seq:06d}.{ext}"


def write_zip(village: Village, meeting: Meeting, recording: Recording) -> IO[bytes]:
    """The download as a temporary file (read from its start; deleted when closed): chunks stored
    as they are (video does not compress), the ledger export deflated."""
    from sunvote.domain.recording import CHUNK_SECONDS

    # handed to the response, which closes (and so deletes) it once sent
    out = tempfile.TemporaryFile()  # noqa: SIM115
    chunks = service.chunks(recording)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for chunk, data in zip(chunks, service.chunk_bytes([c.sha256 for c in chunks]),
                               strict=True):
            zf.writestr(chunk_name(chunk.seq, chunk.content_type), data)
        with tempfile.TemporaryDirectory() as tmp:
            size = export_directory(village, Path(tmp))
            for file in sorted(Path(tmp).iterdir()):
                zf.write(file, f"ledger/{file.name}", compress_type=zipfile.ZIP_DEFLATED)
        manifest = {
            "format": FORMAT, "village": village.code, "origin": village.origin,
            "meeting": meeting.number, "title": meeting.title, "ledger_size": size,
            "chunks": [{"seq": c.seq, "sha256": c.sha256, "bytes": c.size,
                        "type": c.content_type, "first": c.first, "ledger_seq": c.ledger_seq,
                        "file": chunk_name(c.seq, c.content_type)} for c in chunks]}
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1),
                    compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("README.txt", README.format(
            meeting=meeting.number, village=village.name, origin=village.origin,
            seconds=CHUNK_SECONDS), compress_type=zipfile.ZIP_DEFLATED)
    out.seek(0)
    return out
