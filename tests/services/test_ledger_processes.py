"""Several processes appending to one village at once, and appenders killed with SIGKILL at
random moments: afterwards the whole log verifies, with no gap, fork or lost commit."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Person, Suggestion, Village
from sunvote.services import exports, ledger

ROOT = Path(__file__).resolve().parents[2]


def ids(app: Flask) -> tuple[str, int, int]:
    with app.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        url = db.engine.url.render_as_string(hide_password=False)
        db.engine.dispose()
        return url, village.id, clerk


def appender(app: Flask, count: int, tag: str) -> subprocess.Popen[str]:
    url, village_id, clerk = ids(app)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.services.appender", url, str(village_id), str(clerk),
         str(count), tag],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "SUNVOTE_INSTANCE_PATH": app.instance_path})


def verify_everything(app: Flask, tmp: Path) -> int:
    """Export the village's log, verify it offline, and check the database agrees."""
    with app.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        head = ledger.head(village.id)
        assert head is not None
        count = db.session.execute(select(func.count()).select_from(LedgerRecord).where(
            LedgerRecord.village_id == village.id)).scalar_one()
        assert count == head.size
        exports.export_directory(village, tmp)
        db.session.remove()
        db.engine.dispose()
    report = verify_export(tmp)
    assert report.exit_code == 0, report.failures[:5]
    assert report.records == head.size
    return head.size


def suggestion_texts(app: Flask, prefix: str) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(Suggestion.text).where(
            Suggestion.text.like(f"{prefix}%"))).scalars())


def test_concurrent_appending_processes_leave_one_verifiable_log(demo: Flask,
                                                                 tmp_path: Path) -> None:
    with demo.app_context():
        before = ledger.head(db.session.execute(select(Village.id).where(
            Village.code == "sunshine")).scalar_one())
        assert before is not None
        start = before.size
    procs = [appender(demo, 25, f"p{n}") for n in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        assert out.split() == [str(i) for i in range(25)]
    size = verify_everything(demo, tmp_path / "export")
    assert size == start + 100
    texts = suggestion_texts(demo, "p")
    assert sorted(texts) == sorted(f"p{n}-{i}" for n in range(4) for i in range(25))


def test_killing_appenders_at_random_moments_loses_no_committed_record(demo: Flask,
                                                                      tmp_path: Path) -> None:
    rng = random.Random(20261122)
    committed = 0
    for round_ in range(4):
        proc = appender(demo, 100_000, f"k{round_}")
        assert proc.stdout is not None
        proc.stdout.readline()  # it is appending now
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        printed = 1 + len(out.split())
        stored = len(suggestion_texts(demo, f"k{round_}-"))
        # Every append it reported is stored; at most the one in flight may also have committed.
        assert printed <= stored <= printed + 1
        committed += stored
    # A survivor appends after the crashes, then the whole log must verify.
    survivor = appender(demo, 5, "after")
    assert survivor.wait(timeout=120) == 0
    verify_everything(demo, tmp_path / "export")
    assert committed > 0
