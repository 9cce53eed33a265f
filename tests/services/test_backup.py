"""`sunvote backup` while another process appends loses no acknowledged record; `sunvote
restore` checks what it put in place before it serves, and puts the previous database back
when the check fails. On PostgreSQL the commands give the documented pg_dump / pg_restore steps,
and `sunvote restore --check` runs the same check on the restored database."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select, update

from sunvote import create_app
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Suggestion, Village
from sunvote.services import backup, exports, ledger, suggestions
from tests.services.test_ledger_processes import appender, ids


def sunshine_size(app: Flask) -> int:
    with app.app_context():
        village_id = db.session.execute(select(Village.id).where(
            Village.code == "sunshine")).scalar_one()
        head = ledger.head(village_id)
        assert head is not None
        return head.size


def add_suggestion(app: Flask, tag: str) -> None:
    _, village_id, clerk = ids(app)
    with app.app_context():
        suggestions.record_suggestion(village_id, clerk, "paper", tag, None, False)


def tamper_record(path: Path, seq: int) -> None:
    """Flip one byte of a sunshine record's signed bytes inside a SQLite file."""
    with sqlite3.connect(path) as conn:
        village_id = conn.execute("SELECT id FROM village WHERE code = 'sunshine'").fetchone()[0]
        data = conn.execute("SELECT data FROM ledger_record WHERE village_id = ? AND seq = ?",
                            (village_id, seq)).fetchone()[0]
        forged = data.replace(b'"seq"', b'"Seq"', 1)
        assert forged != data
        conn.execute("UPDATE ledger_record SET data = ? WHERE village_id = ? AND seq = ?",
                     (forged, village_id, seq))


def test_a_backup_taken_while_another_process_appends_holds_every_acknowledged_record(
        demo: Flask, tmp_path: Path, postgres_url: str | None) -> None:
    target = tmp_path / "backup.sqlite3"
    runner = demo.test_cli_runner()
    if postgres_url is not None:  # no file to copy: the documented pg_dump steps, exit 1
        result = runner.invoke(args=["backup", str(target)])
        assert result.exit_code == 1, result.output
        assert "pg_dump --format=custom" in result.output and "sunshine" in result.output
        assert not target.exists()
        return
    start = sunshine_size(demo)
    proc = appender(demo, 80, "bk")
    acknowledged: list[str] = []
    reader = threading.Thread(target=lambda: acknowledged.extend(
        line.strip() for line in proc.stdout), daemon=True)  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    seen = len(acknowledged)  # committed and acknowledged before the backup began
    assert seen >= 10
    result = runner.invoke(args=["backup", str(target)])
    still_running = proc.poll() is None
    assert result.exit_code == 0, result.output
    reader.join(timeout=240)  # the reader alone drains stdout, up to the appender's exit
    assert proc.wait(timeout=60) == 0, proc.stderr.read()[-2000:]  # type: ignore[union-attr]
    assert acknowledged == [str(i) for i in range(80)]
    assert still_running or len(acknowledged) == 80  # the copy was taken mid-stream (usually)

    manifest = backup.read_manifest(target)
    assert manifest is not None
    held = {head.village: head for head in manifest.logs}["sunshine"]
    assert held.size >= start + seen
    assert f"size {held.size:>8}" in result.output
    copy = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"})
    with copy.app_context():
        texts = set(db.session.execute(select(Suggestion.text).where(
            Suggestion.text.like("bk-%"))).scalars())
        assert {f"bk-{i}" for i in range(seen)} <= texts  # no acknowledged record lost
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        head = ledger.head(village.id)
        assert head is not None and head.size == held.size
        assert len(texts) == head.size - start  # every suggestion in the copy has its record
        exports.export_directory(village, tmp_path / "export")
        db.engine.dispose()
    report = verify_export(tmp_path / "export")
    assert report.exit_code == 0, report.failures[:5]
    assert report.records == held.size


def test_restore_of_a_good_backup_passes_its_check_and_keeps_the_previous_database(
        demo: Flask, tmp_path: Path, postgres_url: str | None) -> None:
    runner = demo.test_cli_runner()
    target = tmp_path / "backup.sqlite3"
    if postgres_url is not None:  # after pg_restore: the same check on the database as it is
        steps = runner.invoke(args=["restore", str(target)])
        assert steps.exit_code == 1 and "pg_restore --clean" in steps.output
        result = runner.invoke(args=["restore", "--check"])
        assert result.exit_code == 0, result.output
        assert "sunshine" in result.output
        with demo.app_context():
            assert backup.check_restored() == []
        return
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    backed_up = sunshine_size(demo)
    add_suggestion(demo, "after the backup")
    assert demo.test_client().get("/p/sunshine/ledger.zip").status_code == 200
    cached = Path(demo.instance_path) / "exports" / "sunshine"
    assert list(cached.glob("*.zip"))
    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code == 0, result.output
    assert "every log verifies" in result.output
    assert sunshine_size(demo) == backed_up
    assert not cached.exists()  # no zip of the replaced log is served after the restore
    asides = list(tmp_path.glob("test.sqlite3.before-restore-*"))
    assert len(asides) == 1
    with sqlite3.connect(asides[0]) as kept:  # the replaced database is kept, whole
        assert kept.execute("SELECT count(*) FROM suggestion WHERE text = 'after the backup'"
                            ).fetchone()[0] == 1
    add_suggestion(demo, "the restored database serves")
    assert sunshine_size(demo) == backed_up + 1


def test_restore_of_a_tampered_backup_fails_clearly_and_puts_the_previous_database_back(
        demo: Flask, tmp_path: Path, postgres_url: str | None) -> None:
    runner = demo.test_cli_runner()
    if postgres_url is not None:  # a pg_restore of a forged dump: `restore --check` fails it
        with demo.app_context():
            village_id = db.session.execute(select(Village.id).where(
                Village.code == "sunshine")).scalar_one()
            where = (LedgerRecord.village_id == village_id, LedgerRecord.seq == 5)
            data = db.session.execute(select(LedgerRecord.data).where(*where)).scalar_one()
            db.session.execute(update(LedgerRecord).where(*where).values(
                data=data.replace(b'"seq"', b'"Seq"', 1)))
            db.session.commit()
        result = runner.invoke(args=["restore", "--check"])
        assert result.exit_code == 1, result.output
        assert "[ledger.verification_failed] sunshine" in result.output
        return
    target = tmp_path / "backup.sqlite3"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    add_suggestion(demo, "after the backup")
    before = sunshine_size(demo)
    tamper_record(target, 5)

    # with its manifest: the changed file is refused before anything is touched
    refused = runner.invoke(args=["restore", str(target)])
    assert refused.exit_code == 1
    assert "[backup.file]" in refused.output and "Traceback" not in refused.output
    assert not list(tmp_path.glob("test.sqlite3.before-restore-*"))

    # without it: restored, checked, failed, and the previous database put back
    Path(str(target) + backup.MANIFEST_SUFFIX).unlink()
    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code == 1, result.output
    assert "[ledger.verification_failed] sunshine" in result.output
    assert "previous database put back" in result.output
    assert sunshine_size(demo) == before
    with demo.app_context():
        assert db.session.execute(select(func.count()).select_from(Suggestion).where(
            Suggestion.text == "after the backup")).scalar_one() == 1
        assert backup.check_restored() == []
    assert len(list(tmp_path.glob("test.sqlite3.before-restore-*"))) == 1


def test_a_file_that_is_not_a_backup_is_refused(demo: Flask, tmp_path: Path,
                                                postgres_url: str | None) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database" * 100)
    runner = demo.test_cli_runner()
    result = runner.invoke(args=["restore", str(junk)])
    assert result.exit_code == 1
    if postgres_url is None:
        assert "[backup.file]" in result.output and "Traceback" not in result.output
        with demo.app_context():
            assert db.session.execute(select(func.count()).select_from(LedgerRecord)
                                      ).scalar_one() > 0
    else:
        assert "pg_restore" in result.output


def test_a_database_that_differs_from_the_manifest_fails_the_check(
        demo: Flask, tmp_path: Path) -> None:
    manifest = tmp_path / "taken.manifest.json"
    with demo.app_context():
        manifest.write_text(backup.Manifest("2026-12-05T00:00:00+00:00", "-",
                                            backup.current_heads()).to_json())
    runner = demo.test_cli_runner()
    assert runner.invoke(args=["restore", "--check", "--manifest", str(manifest)]).exit_code == 0
    add_suggestion(demo, "not in the manifest")
    result = runner.invoke(args=["restore", "--check", "--manifest", str(manifest)])
    assert result.exit_code == 1, result.output
    assert "[backup.file] sunshine" in result.output
    assert "does not match the backup's manifest" in result.output


def test_restoring_a_backup_older_than_the_witnessed_log_is_refused_as_a_rollback(
        demo: Flask, tmp_path: Path, postgres_url: str | None) -> None:
    """The default set-up (township witness in this instance): `sunvote restore` of a backup
    taken before records the witness has since cosigned fails its check on the checkpoint kept
    outside the database, and the previous database is put back."""
    if postgres_url is not None:
        return  # pg_restore is the operator's; test_witness_restore covers PostgreSQL
    from sunvote.services import witness

    runner = demo.test_cli_runner()
    target = tmp_path / "backup.sqlite3"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    add_suggestion(demo, "witnessed after the backup")
    with demo.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        witnessed = witness.send(village).size
    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code == 1, result.output
    assert "[ledger.rollback]" in result.output
    assert "previous database put back" in result.output
    assert sunshine_size(demo) == witnessed
