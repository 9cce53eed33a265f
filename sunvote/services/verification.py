"""The server runs the offline verifier on a fresh export of a village's log, checks the log
against the cosigned checkpoint kept outside the database (a rollback or fork), then compares
the tables that results and pages are read from with that log (domain/ledger/tables.py), and
keeps the result (from the ledger page's button, or `sunvote ledger check` from cron for large
logs); the public export zip is cached per log size, root and cosignature count so a busy
notice board does not rebuild it each time."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from sunvote.domain.assembly import PollState
from sunvote.domain.ledger import tables
from sunvote.domain.ledger.records import RecordFormatError, parse_record
from sunvote.domain.ledger.verifier import EXIT_CODES, verify_export
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    LedgerCosigned,
    LedgerVerification,
    Matter,
    Meeting,
    PaperBatch,
    Participation,
    Poll,
    Recusal,
    StepRecord,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import exports, ledger, witness
from sunvote.services.unit_of_work import use_case

EXIT_CHAIN = EXIT_CODES["chain"]  # a rollback or fork breaks the chain of cosigned checkpoints


def run_verification(village: Village, actor_id: int | None = None,
                     now: dt.datetime | None = None) -> LedgerVerification:
    """Export the village's log as it is now, verify it offline-style, and keep the result."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        records = exports.export_directory(village, Path(tmp))
        report = verify_export(Path(tmp))
    failures = [f"{f.index} {f.type or ''} {f.kind}: {f.reason}" for f in report.failures[:20]]
    exit_code = report.exit_code
    # The export verifies on its own terms even after a restore: only the cosigned checkpoint
    # kept outside the database shows that records it covered are gone or different.
    rollback = witness.check_kept_checkpoint(village)
    if rollback is not None:
        failures.insert(0, f"{rollback.rule}: {rollback.render(lambda text: text)}")
        exit_code = min(exit_code or EXIT_CHAIN, EXIT_CHAIN)
    mismatches = compare_tables(village)
    exit_code = exit_code or (tables.EXIT_TABLES if mismatches else 0)
    failures += [m.describe() for m in mismatches[:20]]
    # Privacy findings (e.g. ballot.secret_linkable in logs written before secret ballots lost
    # their channel) do not fail the check, but the supervisors must see them.
    failures += [f"PRIVACY {f.describe()}" for f in report.findings[:20]]
    seconds = time.monotonic() - start
    return _record(village.id, records, report.root or b"", exit_code, failures,
                   [name for name, _ in report.cosignatures], seconds, actor_id, now)


def compare_tables(village: Village) -> list[tables.Mismatch]:
    """Every row of the tables that pages and results are read from (ballots, attendance, polls,
    meetings, matters, their steps) that disagrees with the village's log, and every fact of
    the log with no row. One read-only snapshot: the log is streamed once, each table is read
    with one query."""
    session = db.session()
    if session.in_transaction():
        session.rollback()  # a fresh transaction, so the snapshot covers log and tables alike
    if session.get_bind().dialect.name == "postgresql":
        # SQLite's deferred BEGIN in WAL mode is a snapshot already; PostgreSQL's default
        # (READ COMMITTED) would let an append land between the log and the tables.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        current = ledger.head(village.id)
        facts = tables.LogFacts()
        for data in ledger.iter_record_data(village.id, current.size if current else 0):
            try:
                facts.feed(parse_record(data))
            except RecordFormatError:
                continue  # the verifier reports a malformed record; nothing to compare it with
        return tables.compare_tables(facts, **_table_rows(village.id))
    finally:
        session.rollback()


def _table_rows(village_id: int) -> dict[str, Any]:
    """Each table's rows of the village, one query each, as the plain values of tables.py."""
    execute = db.session.execute
    ballots = execute(
        select(Ballot.id, Ballot.code, Meeting.number, Poll.number, Ballot.choice,
               Ballot.voter_id, Ballot.channel, Ballot.ledger_seq, Poll.state)
        .join(Poll, Poll.id == Ballot.poll_id).join(Meeting, Meeting.id == Poll.meeting_id)
        .where(Meeting.village_id == village_id))
    attendance = execute(
        select(Attendance.id, Meeting.number, Attendance.person_id, Attendance.channel)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(Meeting.village_id == village_id))
    polls = execute(
        select(Poll.id, Meeting.number, Poll.number, Matter.number, Poll.mode, Poll.state,
               Poll.present, Poll.members, Poll.yes, Poll.no, Poll.abstain, Poll.recused,
               Poll.verdict)
        .join(Meeting, Meeting.id == Poll.meeting_id).join(Matter, Matter.id == Poll.matter_id)
        .where(Meeting.village_id == village_id))
    meetings = execute(select(Meeting.id, Meeting.number, Meeting.state)
                       .where(Meeting.village_id == village_id))
    matters = execute(select(Matter.id, Matter.number, Matter.state)
                      .where(Matter.village_id == village_id))
    steps = execute(
        select(StepRecord.id, Matter.number, StepRecord.seq, StepRecord.step, StepRecord.action,
               StepRecord.from_state, StepRecord.to_state, StepRecord.actor_id)
        .join(Matter, Matter.id == StepRecord.matter_id).where(Matter.village_id == village_id))
    participations = execute(
        select(Participation.id, Meeting.number, Poll.number, Participation.person_id,
               Participation.channel, Participation.paper_batch_id, PaperBatch.confirmed_at)
        .join(Poll, Poll.id == Participation.poll_id).join(Meeting, Meeting.id == Poll.meeting_id)
        .outerjoin(PaperBatch, PaperBatch.id == Participation.paper_batch_id)
        .where(Meeting.village_id == village_id))
    recusals = execute(
        select(Recusal.id, Meeting.number, Poll.number, Recusal.person_id)
        .join(Poll, Poll.id == Recusal.poll_id).join(Meeting, Meeting.id == Poll.meeting_id)
        .where(Meeting.village_id == village_id))
    return {
        "participations": [
            # a paper (or PIN-less hall-device) ballot is in the log once its batch is confirmed
            tables.ParticipationRow(*row[:5], pending=row[5] is not None and row[6] is None)
            for row in participations],
        "recusals": [tables.RecusalRow(*row) for row in recusals],
        "ballots": [tables.BallotRow(*row[:8], poll_closed=row[8] == PollState.CLOSED)
                    for row in ballots],
        "attendance": [tables.AttendanceRow(*row) for row in attendance],
        # select() of 13 columns is typed as one Any column: mypy cannot count them.
        "polls": [tables.PollRow(*row) for row in polls],  # type: ignore[call-arg]
        "meetings": [tables.MeetingRow(*row) for row in meetings],
        "matters": [tables.MatterRow(*row) for row in matters],
        "steps": [tables.StepRow(*row) for row in steps],
    }


@use_case
def _record(village_id: int, size: int, root: bytes, exit_code: int, failures: list[str],
            cosigned_by: list[str], seconds: float, actor_id: int | None,
            now: dt.datetime | None) -> LedgerVerification:
    row = LedgerVerification(village_id=village_id, size=size, root=root, ok=exit_code == 0,
                             exit_code=exit_code, failures=failures, cosigned_by=cosigned_by,
                             seconds=round(seconds, 3), verified_at=now or utcnow(),
                             verified_by_id=actor_id)
    db.session.add(row)
    db.session.flush()
    return row


def last_verification(village: Village) -> LedgerVerification | None:
    """The newest kept result for the village."""
    return db.session.execute(
        select(LedgerVerification).where(LedgerVerification.village_id == village.id)
        .order_by(LedgerVerification.id.desc()).limit(1)).scalar_one_or_none()


def cached_export_zip(village: Village) -> Path:
    """The export zip for the log as it is now, built once per (size, root, cosignatures) and
    kept in the instance folder (older ones for the village are removed). The root is in the key
    so that a log rolled back and rewritten to the same size is never served the old zip."""
    head = ledger.head(village.id)
    size = head.size if head else 0
    cosigned = db.session.execute(select(func.count()).select_from(LedgerCosigned).where(
        LedgerCosigned.village_id == village.id)).scalar_one()
    folder = Path(current_app.instance_path) / "exports" / village.code
    folder.mkdir(parents=True, exist_ok=True)
    key = f"{size}-{(head.root if head else b'').hex()}-{cosigned}"
    target = folder / f"{key}.zip"
    if not target.exists():
        data = exports.export_zip(village)
        partial = folder / f"{key}.{time.monotonic_ns()}.part"
        partial.write_bytes(data)
        partial.replace(target)  # atomic: a concurrent request never reads half a file
        for old in folder.glob("*.zip"):
            if old != target:
                old.unlink(missing_ok=True)
    return target

