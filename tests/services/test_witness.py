"""The township witness as a separate SunVote instance (its own database): it cosigns consistent
checkpoints, keeps evidence of a split view, and catches a village restored from an old backup."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from sunvote import create_app
from sunvote.domain.errors import DomainError
from sunvote.domain.ledger.checkpoint import Checkpoint, sign_checkpoint
from sunvote.domain.ledger.merkle import append_nodes, leaf_hash, root_from_border
from sunvote.domain.ledger.note import generate_signer
from sunvote.domain.ledger.records import make_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.ledger.witness import format_add_checkpoint
from sunvote.extensions import db
from sunvote.models import Person, Village, WitnessKey
from sunvote.services import exports, ledger, suggestions, witness_store
from sunvote.services.demo import seed_demo
from sunvote.services.villages import create_township
from sunvote.services.witness import (
    RollbackSuspected,
    accept_cosignature,
    register_log,
    request_for,
    send,
)

TOWN = "demo-town"


def sqlite_app(path: Path, instance: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("SUNVOTE_INSTANCE_PATH", str(instance))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "LEDGER_PASSPHRASE": "test-passphrase"})
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, Flask, str]]:
    """(village instance with the demo, township witness instance, the witness's key)."""
    village_app = sqlite_app(tmp_path / "village.sqlite3", tmp_path / "vi", monkeypatch)
    with village_app.app_context():
        seed_demo()
        v = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        origin, log_key = v.origin, ledger.active_key(v.id).vkey
    town_app = sqlite_app(tmp_path / "town.sqlite3", tmp_path / "ti", monkeypatch)
    with town_app.app_context():
        town = create_township(TOWN, "阳光镇")
        register_log(town.id, origin, log_key)
        witness_key = db.session.execute(select(WitnessKey.vkey)).scalar_one()
    yield village_app, town_app, witness_key
    for app in (village_app, town_app):
        with app.app_context():
            db.engine.dispose()


def sunshine() -> Village:
    return db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()


def cosign(village_app: Flask, town: FlaskClient, witness_key: str,
           old: int | None = None) -> tuple[int, bytes]:
    """One add-checkpoint round trip over the witness's HTTP endpoint."""
    with village_app.app_context():
        body = request_for(sunshine(), witness_key, old)
        response = town.post(f"/witness/{TOWN}/add-checkpoint", data=body)
        if response.status_code == 200:
            accept_cosignature(sunshine().id, body, response.data, witness_key)
        return response.status_code, response.data


def add_records(village_app: Flask, n: int, text: str = "建议") -> None:
    with village_app.app_context():
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        for i in range(n):
            suggestions.record_suggestion(sunshine().id, clerk, "paper", f"{text}{i}", None,
                                          False)


def evidence(app: Flask) -> list[witness_store.Evidence]:
    """The evidence an instance keeps in its witness store (outside its database)."""
    with app.app_context():
        return witness_store.evidence()


def test_consistent_checkpoints_are_cosigned_and_the_export_shows_it(pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    village_app, town_app, witness_key = pair
    town = town_app.test_client()
    assert cosign(village_app, town, witness_key)[0] == 200
    add_records(village_app, 5)
    status, line = cosign(village_app, town, witness_key)
    assert status == 200 and line.startswith("— sunvote.demo-town/witness ".encode())
    with village_app.app_context():
        exports.export_directory(sunshine(), tmp_path / "export")
    report = verify_export(tmp_path / "export", witness_vkeys_override=[witness_key],
                           require_cosignature=True)
    assert report.exit_code == 0, report.failures
    assert [name for name, _ in report.cosignatures] == ["sunvote.demo-town/witness"]


def test_a_stale_old_size_gets_the_witness_size_back(pair) -> None:  # type: ignore[no-untyped-def]
    village_app, town_app, witness_key = pair
    town = town_app.test_client()
    cosign(village_app, town, witness_key)
    add_records(village_app, 2)
    status, body = cosign(village_app, town, witness_key, old=3)
    assert status == 409 and body.strip().isdigit()


def test_checkpoints_not_signed_by_the_log_key_are_refused(pair) -> None:  # type: ignore[no-untyped-def]
    village_app, town_app, _ = pair
    with village_app.app_context():
        v = sunshine()
        head = ledger.head(v.id)
        assert head is not None
        forged = sign_checkpoint(Checkpoint(v.origin, head.size, head.root),
                                 generate_signer(v.origin))
    response = town_app.test_client().post(f"/witness/{TOWN}/add-checkpoint",
                                           data=format_add_checkpoint(0, [], forged))
    assert response.status_code == 403
    assert evidence(town_app) == []


def test_two_histories_after_a_shared_prefix_leave_evidence_at_the_witness(pair) -> None:  # type: ignore[no-untyped-def]
    village_app, town_app, witness_key = pair
    town = town_app.test_client()
    assert cosign(village_app, town, witness_key)[0] == 200
    add_records(village_app, 3, "甲")  # the history everyone was shown
    assert cosign(village_app, town, witness_key)[0] == 200
    # The operator, holding the log key, signs a second history of the same size that
    # diverges after the first cosigned prefix, and offers it to the witness.
    with village_app.app_context():
        v = sunshine()
        head = ledger.head(v.id)
        assert head is not None
        key = ledger.active_key(v.id)
        signer = ledger.signer_of(key)
        prefix = head.size - 3
        border = ledger.border_at(v.id, prefix)
        size = prefix
        for i in range(3):
            raw = make_record(v.origin, size, root_from_border(border), "suggestion.add", {
                "id": 10_000 + i, "channel": "paper", "text": f"乙{i}", "name": None,
                "party_member": False, "recorded_by": None, "at": "2026-11-22T00:00:00Z"},
                [signer])
            _, border = append_nodes(size, border, leaf_hash(raw))
            size += 1
        fork = sign_checkpoint(Checkpoint(v.origin, size, root_from_border(border)), signer)
    response = town.post(f"/witness/{TOWN}/add-checkpoint",
                         data=format_add_checkpoint(head.size, [], fork))
    assert response.status_code == 409
    kept = evidence(town_app)
    assert len(kept) == 1 and kept[0].offered_checkpoint == fork
    with village_app.app_context():
        assert sunshine().origin.encode() in kept[0].cosigned_checkpoint


def test_a_village_restored_from_an_old_backup_is_caught(pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    village_app, town_app, witness_key = pair
    town = town_app.test_client()
    assert cosign(village_app, town, witness_key)[0] == 200
    live, backup = tmp_path / "village.sqlite3", tmp_path / "backup.sqlite3"
    copy_sqlite(village_app, live, backup)  # last week's backup
    add_records(village_app, 4)
    assert cosign(village_app, town, witness_key)[0] == 200  # the witness has seen 4 more
    with village_app.app_context():
        witnessed = size_of(village_app)
    copy_sqlite(village_app, backup, live)  # the operator restores the backup

    # The witness answers with the size it has cosigned, larger than the restored log.
    status, body = cosign(village_app, town, witness_key)
    assert status == 409 and int(body) == witnessed > size_of(village_app)

    # The village side, over HTTP, refuses to carry on and keeps its own evidence: first from
    # the cosigned checkpoint it kept outside its database, and without it from the witness.
    with live_server(town_app) as base, village_app.app_context():
        with pytest.raises(DomainError) as refused:
            send(sunshine(), f"{base}/witness/{TOWN}/add-checkpoint")
        assert refused.value.rule == "ledger.rollback"
        Path(village_app.config["WITNESS_STORE"]).unlink()  # the kept checkpoint is lost too
        with pytest.raises(RollbackSuspected) as info:
            send(sunshine(), f"{base}/witness/{TOWN}/add-checkpoint")
        assert info.value.witnessed == witnessed
    assert len(evidence(village_app)) == 1

    # Writing new records over the gap does not help: the witness cannot be shown that the
    # new history extends the one it cosigned, refuses, and keeps the evidence.
    add_records(village_app, 9, "新")
    status, _ = cosign(village_app, town, witness_key, old=witnessed)
    assert status == 422
    assert len(evidence(town_app)) == 1


def copy_sqlite(app: Flask, source: Path, target: Path) -> None:
    with app.app_context():
        db.engine.dispose()
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def size_of(app: Flask) -> int:
    with app.app_context():
        head = ledger.head(sunshine().id)
        return head.size if head else 0


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_malformed_witness_requests_are_refused(pair) -> None:  # type: ignore[no-untyped-def]
    _, town_app, _ = pair
    town = town_app.test_client()
    for body in (b"", b"old x\n\nnote", b"old 01\n\n", b"old 1\nnot-base64!\n\nx",
                 b"\xff\xfe", b"old 0\n\n" + b"x" * 70_000):
        assert town.post(f"/witness/{TOWN}/add-checkpoint", data=body).status_code in (
            400, 403, 404, 413)
    assert town.post("/witness/nowhere/add-checkpoint", data=b"old 0\n\nx").status_code == 404


def test_rollback_is_refused_not_hidden(pair) -> None:  # type: ignore[no-untyped-def]
    village_app, _, witness_key = pair
    with village_app.app_context(), pytest.raises(DomainError):
        request_for(sunshine(), witness_key, old_size=10_000)


def test_a_village_server_configured_with_a_remote_witness_gets_cosigned(  # type: ignore[no-untyped-def]
        pair, tmp_path: Path) -> None:
    village_app, town_app, witness_key = pair
    with live_server(town_app) as base:
        village_app.config["WITNESS_URL"] = base + "/witness/{township}/add-checkpoint"
        village_app.config["WITNESS_KEY"] = witness_key
        with village_app.app_context():
            row = send(sunshine())  # no URL given: the configured township server
            assert row.witness == "sunvote.demo-town/witness"
            exports.export_directory(sunshine(), tmp_path / "export")
    # The export names the remote witness's key itself: no override needed to require it.
    report = verify_export(tmp_path / "export", require_cosignature=True)
    assert report.exit_code == 0, report.failures


def test_a_bad_witness_key_is_refused_at_start_up(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUNVOTE_INSTANCE_PATH", str(tmp_path / "i"))
    monkeypatch.setenv("SUNVOTE_WITNESS_KEY", "not-a-key")
    with pytest.raises(RuntimeError, match="SUNVOTE_WITNESS_KEY"):
        create_app({"TESTING": True,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"})


def test_add_log_prints_the_key_a_village_server_must_trust(pair) -> None:  # type: ignore[no-untyped-def]
    from sunvote.commands import witness_group

    village_app, town_app, witness_key = pair
    with village_app.app_context():
        origin, log_key = sunshine().origin, ledger.active_key(sunshine().id).vkey
    result = town_app.test_cli_runner().invoke(witness_group, ["add-log", TOWN, origin, log_key])
    assert result.exit_code == 0, result.output
    assert f"witness key: {witness_key}" in result.output


def test_a_log_cosigned_by_the_township_and_the_district_meets_a_threshold_of_two(  # type: ignore[no-untyped-def]
        pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    village_app, _, _ = pair
    with village_app.app_context():
        origin, log_key = sunshine().origin, ledger.active_key(sunshine().id).vkey
    district_app = sqlite_app(tmp_path / "district.sqlite3", tmp_path / "di", monkeypatch)
    with district_app.app_context():  # the district's witness, on its own server
        district = create_township("district", "区")
        register_log(district.id, origin, log_key)
        district_key = db.session.execute(select(WitnessKey.vkey)).scalar_one()
    with live_server(district_app) as base:
        village_app.config["WITNESSES"] = f"{base}/witness/district/add-checkpoint={district_key}"
        with village_app.app_context():
            send(sunshine())  # this instance's township witness, then the district's
            exports.export_directory(sunshine(), tmp_path / "export")
    with district_app.app_context():
        db.engine.dispose()
    report = verify_export(tmp_path / "export", witness_threshold=2)
    assert report.exit_code == 0, report.failures
    assert {name for name, _ in report.cosignatures} == {"sunvote.demo-town/witness",
                                                         "sunvote.district/witness"}
    assert verify_export(tmp_path / "export", witness_threshold=3).exit_code == 6
