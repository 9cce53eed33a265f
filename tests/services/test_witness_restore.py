"""A restored old copy of the database, with different records written after it, in the default
set-up (the township witness in the same instance): the witness, whose memory is not in the
database, refuses the fork and keeps evidence; the village side finds it from its kept checkpoint;
the ledger page and the dashboards are red; `sunvote ledger check` fails; the fork's export does
not pass --require-cosignature; the public zip of a fork is never the pre-restore one."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select

from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import Base, Person, Village
from sunvote.models.base import utcnow
from sunvote.services import exports, ledger, oversight, suggestions, witness, witness_store
from sunvote.services.demo import DEMO_TOWNSHIP
from tests.conftest import login

Snapshot = list[tuple[Any, list[dict[str, Any]]]]


def sunshine() -> Village:
    return db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()


def add_records(n: int, text: str) -> None:
    clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
    for i in range(n):
        suggestions.record_suggestion(sunshine().id, clerk, "paper", f"{text}{i}", None, False)


def backup() -> Snapshot:
    """Every row of every table, as a backup of the database would hold them."""
    return [(table, [dict(row._mapping) for row in db.session.execute(
        select(table).order_by(*table.primary_key.columns))])
        for table in Base.metadata.sorted_tables]


def restore(snapshot: Snapshot) -> None:
    """Put the database back as it was at the backup (the instance folder is left alone)."""
    for table, _ in reversed(snapshot):
        db.session.execute(delete(table))
    for table, rows in snapshot:
        if rows:
            db.session.execute(insert(table), rows)
    db.session.commit()
    ledger.forget_tail(sunshine().id)


@pytest.fixture
def restored(demo: Flask) -> dict[str, Any]:
    """Cosigned, backed up, grown and cosigned again, restored, then a different history
    written over the gap (longer than the one the witness saw)."""
    with demo.app_context():
        witness.send(sunshine())
        snapshot = backup()
        add_records(4, "甲")
        witnessed = witness.send(sunshine()).size
        restore(snapshot)
        add_records(4, "乙")  # the same size as the history the witness cosigned
        head = ledger.head(sunshine().id)
        assert head is not None and head.size == witnessed
        return {"witnessed": witnessed}


def test_the_fork_is_refused_and_both_checkpoints_are_kept(demo: Flask, restored) -> None:  # type: ignore[no-untyped-def]
    with demo.app_context():
        with pytest.raises(DomainError) as refused:
            witness.send(sunshine())
        assert refused.value.rule == "ledger.rollback"
        [found] = witness_store.evidence([sunshine().origin])
        assert found.found_by == "village"
        head = ledger.head(sunshine().id)
        assert head is not None and found.offered_checkpoint == head.checkpoint
        assert found.cosigned_checkpoint.split(b"\n")[1] == str(restored["witnessed"]).encode()


def test_the_witness_itself_refuses_the_fork_after_the_restore(demo: Flask, restored) -> None:  # type: ignore[no-untyped-def]
    with demo.app_context():
        key = witness.witness_key(sunshine().township).vkey
        old = restored["witnessed"]
        # The database says the witness cosigned less; the witness's own memory says more.
        status = witness.add_checkpoint(DEMO_TOWNSHIP, witness.request_for(sunshine(), key, 0))
        assert status.status == 409 and status.body == f"{old}\n".encode()
        # Offered as an extension of what it cosigned: the proof cannot verify.
        answer = witness.add_checkpoint(DEMO_TOWNSHIP, witness.request_for(sunshine(), key, old))
        assert answer.status == 409  # same size, another root
        assert [e.found_by for e in witness_store.evidence()] == ["witness"]


def test_the_ledger_page_and_the_dashboard_are_red(demo: Flask, restored) -> None:  # type: ignore[no-untyped-def]
    page = login(demo.test_client(), "supervisor").get("/v/sunshine/ledger")
    text = page.get_data(as_text=True)
    assert "红色预警：发现账本分叉或回滚的证据" in text
    assert "数据库被回滚" in text or "账本出现分叉" in text
    with demo.app_context():
        board = oversight.build(select(Village.id), utcnow())
        summary = next(v for v in board.villages if v.code == "sunshine")
        assert "ledger.equivocation" in {w.rule for w in summary.warnings}


def test_ledger_check_exits_non_zero(demo: Flask, restored) -> None:  # type: ignore[no-untyped-def]
    from sunvote.commands import ledger_group

    result = demo.test_cli_runner().invoke(ledger_group, ["check", "sunshine"])
    assert result.exit_code != 0, result.output
    assert "ledger.rollback" in result.output


def test_the_fork_does_not_pass_require_cosignature(demo: Flask, restored,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    with demo.app_context():
        with pytest.raises(DomainError):
            witness.send(sunshine())
        exports.export_directory(sunshine(), tmp_path / "export")
    report = verify_export(tmp_path / "export", require_cosignature=True)
    assert report.exit_code != 0


def test_the_public_zip_of_a_fork_of_equal_size_and_count_is_not_the_pre_restore_one(
        demo: Flask) -> None:
    client = demo.test_client()
    with demo.app_context():
        snapshot = backup()
        add_records(4, "甲")
        before = client.get("/p/sunshine/ledger.zip").data
        restore(snapshot)
        add_records(4, "乙")  # same size, same number of cosignatures, another root
        served = client.get("/p/sunshine/ledger.zip").data
    assert served != before
    folder = zipfile.ZipFile(io.BytesIO(served))
    with demo.app_context():
        head = ledger.head(sunshine().id)
        assert head is not None
        assert folder.read("sunvote-ledger-sunshine/checkpoint").startswith(head.checkpoint)
