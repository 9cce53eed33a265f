"""The hall's recording (services/recording.py, issue 19): each chunk the hall device uploads is
stored and its SHA-256 chained into the village ledger in one transaction; a gap is recorded as
a gap; refused uploads (meeting not open, out of order, chain broken, a different content for a
chunk taken) are refused by rule and recorded, at most 20 a meeting and each once; the recording
ends with the meeting; after the township's retention its files are deleted and its hashes stay.
The export verifies offline, and a downloaded recording is checked chunk by chunk."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.recording import GENESIS, MAX_RECORDED_REFUSALS, RATE_SLACK_CHUNKS
from sunvote.extensions import db
from sunvote.models import Blob, LedgerRecord, Recording, RecordingChunk
from sunvote.services import assembly, exports, ledger
from sunvote.services import recording as service
from sunvote.services.recording_export import write_zip
from sunvote.services.settings import change_setting
from sunvote.verify_recording import EXIT_RECORDING
from sunvote.verify_recording import main as verify_main
from tests.services.test_assembly import DAY, T0, matter, opened_meeting, pid, types_since, village
from tests.services.test_notice_outbox import township_admin

WEBM = "video/webm;codecs=vp8,opus"


def chunk(n: int) -> bytes:
    """A stand-in chunk: WebM's magic, then bytes of its own."""
    return b"\x1a\x45\xdf\xa3" + f"chunk {n} ".encode() * 50


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def send(meeting_id: int, seq: int, prev: str, data: bytes, *, at: dt.datetime,
         first: bool = False, who: str = "张敏", claimed: str | None = None,
         content_type: str = WEBM) -> service.ChunkTaken:
    return service.take_chunk(pid(who), meeting_id, seq=seq, prev=prev,
                              sha256=claimed if claimed is not None else sha(data),
                              content_type=content_type, first=first, data=data, now=at)


def refused(rule: str, call, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.rule == rule, caught.value
    db.session.rollback()
    return caught.value


def ledger_size() -> int:
    return db.session.execute(select(func.count()).select_from(LedgerRecord).where(
        LedgerRecord.village_id == village().id)).scalar_one()


def bodies(type_: str, since: int) -> list[dict]:
    rows = db.session.execute(select(LedgerRecord.data).where(
        LedgerRecord.village_id == village().id, LedgerRecord.type == type_,
        LedgerRecord.seq >= since).order_by(LedgerRecord.seq)).scalars()
    return [dict(parse_record(r).body) for r in rows]


def test_chunks_chain_into_the_ledger_gaps_and_refusals_are_recorded_and_it_verifies(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        meeting, _roster = opened_meeting([matter("001").id])
        start = T0 + 3 * DAY
        later = start + dt.timedelta(seconds=15)
        size = ledger_size()
        prev = GENESIS
        for n in range(3):
            taken = send(meeting.id, n, prev, chunk(n), at=start + dt.timedelta(seconds=5 * n),
                         first=n == 0)
            assert taken.next_seq == n + 1 and taken.ledger_seq is not None
            prev = taken.last_sha256
        # the same chunk again (the answer was lost): taken, nothing written
        again = send(meeting.id, 2, sha(chunk(1)), chunk(2), at=start + dt.timedelta(seconds=12))
        assert again.ledger_seq is None and again.next_seq == 3
        # out of order, a broken chain, another content for chunk 1: refused and recorded
        refused("recording.order", send, meeting.id, 5, prev, chunk(5), at=later)
        refused("recording.chain", send, meeting.id, 3, GENESIS, chunk(3), at=later)
        refused("recording.duplicate", send, meeting.id, 1, GENESIS, chunk(9), at=later)
        # the same refused upload again is refused, not recorded twice
        refused("recording.order", send, meeting.id, 5, prev, chunk(5), at=later)
        # transport faults are refused and not recorded
        refused("recording.hash", send, meeting.id, 3, prev, chunk(3), claimed="0" * 64, at=later)
        refused("recording.content_type", send, meeting.id, 3, prev, chunk(3),
                content_type="image/png", at=later)
        refused("recording.size", send, meeting.id, 3, prev, b"", at=later)
        # someone who does not run the meeting: not recorded either
        refused("recording.access", send, meeting.id, 3, prev, chunk(3), who="刘芳", at=later)
        # the hall was off the network for a minute, then its queued chunk arrives: a gap
        taken = send(meeting.id, 3, prev, chunk(3), at=start + dt.timedelta(seconds=80))
        assert taken.gap
        # the page was reloaded: a new recorder run; its first chunk comes after a lost gap
        taken = send(meeting.id, 4, taken.last_sha256, chunk(4), first=True,
                     at=start + dt.timedelta(seconds=85))
        assert taken.gap
        assert types_since(size) == [
            "recording.chunk", "recording.chunk", "recording.chunk", "recording.refused",
            "recording.refused", "recording.refused", "recording.gap", "recording.chunk",
            "recording.gap", "recording.chunk"]
        assert [(b["seq"], b["rule"]) for b in bodies("recording.refused", size)] == [
            (5, "recording.order"), (3, "recording.chain"), (1, "recording.duplicate")]
        assert [(b["seq"], b["lost"]) for b in bodies("recording.gap", size)] == [
            (3, False), (4, True)]
        chunks = bodies("recording.chunk", size)
        assert [c["prev"] for c in chunks] == [GENESIS] + [c["sha256"] for c in chunks[:-1]]
        assert db.session.get(Blob, sha(chunk(4))).data == chunk(4)
        # the meeting closes: the recording ends with it; a chunk after is refused and recorded
        assembly.close_meeting(pid("张敏"), meeting.id, now=start + dt.timedelta(hours=1))
        assert types_since(size)[-2:] == ["meeting.close", "recording.end"]
        end = bodies("recording.end", size)[0]
        assert (end["chunks"], end["sha256"]) == (5, sha(chunk(4)))
        refused("recording.meeting_state", send, meeting.id, 5, sha(chunk(4)), chunk(5),
                at=start + dt.timedelta(hours=1, seconds=5))
        assert types_since(size)[-1] == "recording.refused"
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
        recording = service.recording_of(meeting)
        assert recording is not None and recording.refusals_recorded == 4
        with write_zip(village(), meeting, recording) as handle:
            download = handle.read()
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]
    (tmp_path / "rec.zip").write_bytes(download)
    assert verify_main([str(tmp_path / "rec.zip"), "--key", key]) == 0


def tampered(download: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """The download with its files passed through ``change(name, data) -> data | None``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(download)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
    return out.getvalue()


_DOWNLOAD: dict[str, tuple[bytes, str]] = {}


@pytest.fixture
def download(demo: Flask) -> tuple[bytes, str]:
    """A closed meeting's recording of 4 chunks, downloaded, and the log key (made once: the
    zip holds all it needs)."""
    if "zip" not in _DOWNLOAD:
        with demo.app_context():
            meeting, _roster = opened_meeting([matter("001").id])
            start = T0 + 3 * DAY
            prev = GENESIS
            for n in range(4):
                prev = send(meeting.id, n, prev, chunk(n), first=n == 0,
                            at=start + dt.timedelta(seconds=5 * n)).last_sha256
            assembly.close_meeting(pid("张敏"), meeting.id, now=start + dt.timedelta(minutes=5))
            recording = service.recording_of(meeting)
            assert recording is not None
            with write_zip(village(), meeting, recording) as handle:
                _DOWNLOAD["zip"] = handle.read(), ledger.active_key(village().id).vkey
    return _DOWNLOAD["zip"]


@pytest.mark.parametrize(("change", "named"), [
    (lambda name, data: None if name == "chunks/000002.webm" else data, "chunk 2: missing"),
    (lambda name, data: data + b"\x00" if name == "chunks/000001.webm" else data,
     "chunk 1: altered"),
    (lambda name, data: chunk(2) if name == "chunks/000001.webm"
     else chunk(1) if name == "chunks/000002.webm" else data,
     "chunk 1: reordered (holds chunk 2)"),
])
def test_a_removed_altered_or_reordered_chunk_is_named(
        download: tuple[bytes, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        change, named: str) -> None:  # type: ignore[no-untyped-def]
    data, key = download
    (tmp_path / "bad.zip").write_bytes(tampered(data, change))
    assert verify_main([str(tmp_path / "bad.zip"), "--key", key]) == EXIT_RECORDING
    assert named in capsys.readouterr().out


def test_a_changed_manifest_or_a_ledger_edit_does_not_pass(
        download: tuple[bytes, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, key = download

    def lie(name: str, body: bytes) -> bytes:
        if name != "manifest.json":
            return body
        manifest = json.loads(body)
        manifest["chunks"][1]["sha256"] = sha(b"x")
        return json.dumps(manifest).encode()

    # the manifest is for reading only: the ledger decides
    (tmp_path / "m.zip").write_bytes(tampered(data, lie))
    assert verify_main([str(tmp_path / "m.zip"), "--key", key]) == 0

    def edit(name: str, body: bytes) -> bytes:
        return body.replace(b"A", b"B", 1) if name == "ledger/records" else body

    (tmp_path / "l.zip").write_bytes(tampered(data, edit))
    assert verify_main([str(tmp_path / "l.zip"), "--key", key]) not in (0, EXIT_RECORDING)
    assert "does not verify" in capsys.readouterr().out


def test_refusals_recorded_stop_at_the_cap(demo: Flask) -> None:
    with demo.app_context():
        meeting, _roster = opened_meeting([matter("001").id])
        start = T0 + 3 * DAY
        for n in range(MAX_RECORDED_REFUSALS + 5):
            refused("recording.order", send, meeting.id, n + 1, GENESIS, chunk(n), at=start)
        recording = service.recording_of(meeting)
        assert recording is not None and recording.refusals_recorded == MAX_RECORDED_REFUSALS
        assert len(bodies("recording.refused", 0)) == MAX_RECORDED_REFUSALS


def test_a_script_uploading_valid_chunks_as_fast_as_it_can_is_stopped_and_recorded(
        demo: Flask, tmp_path: Path) -> None:
    """recording.rate: a clerk's login and a script can send valid, well-chained chunks far
    faster than a hall records them, to fill the disk and the ledger. Past the slack the
    uploads are refused (429, the page retries later) and the first ones are recorded; the
    export verifies, the verifier replaying the same rule."""
    with demo.app_context():
        opened = T0 + 3 * DAY
        meeting, _roster = opened_meeting([matter("001").id])
        size = ledger_size()
        prev, n, at = GENESIS, 0, opened + dt.timedelta(seconds=1)
        while n < RATE_SLACK_CHUNKS + 10:
            try:
                prev = send(meeting.id, n, prev, chunk(n), first=n == 0, at=at).last_sha256
            except DomainError as error:
                assert error.rule == "recording.rate" and error.status == 429
                db.session.rollback()
                break
            n += 1
        assert n == RATE_SLACK_CHUNKS
        for _ in range(3):  # the script keeps trying: refused, recorded once
            refused("recording.rate", send, meeting.id, n, prev, chunk(n), at=at)
        assert [(b["seq"], b["rule"]) for b in bodies("recording.refused", size)] == [
            (n, "recording.rate")]
        # a minute later the clock has caught up: the same chunk is taken
        taken = send(meeting.id, n, prev, chunk(n), at=at + dt.timedelta(minutes=1))
        assert taken.ledger_seq is not None
        assembly.close_meeting(pid("张敏"), meeting.id, now=opened + dt.timedelta(hours=1))
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]


def test_a_recording_is_purged_only_after_retention_and_keeps_its_hashes(
        demo: Flask, tmp_path: Path) -> None:
    with demo.app_context():
        admin = township_admin()
        change_setting(village().township_id, "recording_retention_days", "30", admin, now=T0)
        meeting, _roster = opened_meeting([matter("001").id])
        start = T0 + 3 * DAY
        prev = GENESIS
        for n in range(2):
            prev = send(meeting.id, n, prev, chunk(n), first=n == 0,
                        at=start + dt.timedelta(seconds=5 * n)).last_sha256
        closed = start + dt.timedelta(hours=1)
        assembly.close_meeting(pid("张敏"), meeting.id, now=closed)
        refused("recording.retention", service.purge, admin, meeting.id, closed + 29 * DAY)
        refused("recording.access", service.purge, pid("刘芳"), meeting.id, closed + 31 * DAY)
        assert service.due_for_purge(closed + 29 * DAY) == []
        assert service.due_for_purge(closed + 31 * DAY) == [meeting.id]
        freed = service.purge(admin, meeting.id, closed + 31 * DAY)
        assert freed == len(chunk(0)) + len(chunk(1))
        assert db.session.get(Blob, sha(chunk(0))) is None
        assert [c.sha256 for c in db.session.execute(select(RecordingChunk)).scalars()] == [
            sha(chunk(0)), sha(chunk(1))]
        purge = bodies("recording.purge", 0)
        assert [(p["chunks"], p["retention_days"]) for p in purge] == [(2, 30)]
        refused("recording.purged", service.purge, admin, meeting.id, closed + 32 * DAY)
        assert db.session.execute(select(Recording.purged_at)).scalar_one() is not None
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]
