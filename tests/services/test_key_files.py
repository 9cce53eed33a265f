"""The session key and the ledger passphrase: empty ones are refused at start-up, a missing
passphrase is generated only while no key is sealed, and a passphrase that opens no key (a
restore without its passphrase file) is said at start-up and refuses writes with a 503."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from sunvote import create_app
from sunvote.cli import cli
from sunvote.config import StartupRefused
from sunvote.extensions import db
from sunvote.models import Suggestion
from tests.conftest import csrf_token


def database_url(tmp_path: Path, postgres_url: str | None) -> str:
    return postgres_url or f"sqlite:///{tmp_path / 'test.sqlite3'}"


def start(instance: Path, url: str, monkeypatch: pytest.MonkeyPatch, **config: object) -> Flask:
    monkeypatch.setenv("SUNVOTE_INSTANCE_PATH", str(instance))
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, **config})


@pytest.mark.parametrize("name", ["secret_key", "ledger_passphrase"])
def test_an_empty_key_file_is_refused_at_start_up(name: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  postgres_url: str | None) -> None:
    instance = tmp_path / "fresh"
    instance.mkdir()
    (instance / name).write_text("\n")
    url = database_url(tmp_path, postgres_url)
    with pytest.raises(StartupRefused) as refused:
        start(instance, url, monkeypatch)
    assert refused.value.refusal.rule == "keys.secret_empty"
    assert str(instance / name) in str(refused.value)
    assert (instance / name).read_text() == "\n"  # not quietly replaced
    # the command line says it in one line, in both languages, and exits 1
    monkeypatch.setenv("SUNVOTE_DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["init-db"])
    assert result.exit_code == 1
    assert "[keys.secret_empty]" in result.output and "must not be empty" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["SECRET_KEY", "LEDGER_PASSPHRASE"])
def test_an_empty_key_variable_is_refused_at_start_up(name: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      postgres_url: str | None) -> None:
    monkeypatch.setenv(f"SUNVOTE_{name}", " ")
    with pytest.raises(StartupRefused) as refused:
        start(tmp_path / "fresh", database_url(tmp_path, postgres_url), monkeypatch)
    assert refused.value.refusal.rule == "keys.secret_empty"
    assert f"SUNVOTE_{name}" in str(refused.value)


def test_a_fresh_instance_still_generates_its_key_files(app: Flask, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        postgres_url: str | None) -> None:
    instance = tmp_path / "fresh"
    fresh = start(instance, database_url(tmp_path, postgres_url), monkeypatch)
    for name in ("secret_key", "ledger_passphrase"):
        path = instance / name
        assert len(path.read_text().strip()) >= 48
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fresh.config["LEDGER_PASSPHRASE"] == (instance / "ledger_passphrase").read_text()
    with fresh.app_context():
        db.engine.dispose()


def test_a_missing_passphrase_is_refused_once_keys_are_sealed(
        demo: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = Path(demo.instance_path)
    (instance / "ledger_passphrase").unlink()
    with pytest.raises(StartupRefused) as refused:
        start(instance, demo.config["SQLALCHEMY_DATABASE_URI"], monkeypatch)
    assert refused.value.refusal.rule == "keys.passphrase_missing"
    assert str(instance / "ledger_passphrase") in str(refused.value)
    assert not (instance / "ledger_passphrase").exists()  # no new passphrase over old keys


def test_a_passphrase_that_opens_no_key_is_said_at_start_up_and_refuses_writes_with_503(
        demo: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    url = demo.config["SQLALCHEMY_DATABASE_URI"]
    restored = start(Path(demo.instance_path), url, monkeypatch,
                     LEDGER_PASSPHRASE="not the passphrase the keys were sealed with")
    try:
        assert "[keys.passphrase_wrong]" in restored.config["LEDGER_KEYS_LOCKED"]
        client = restored.test_client()
        with restored.app_context():
            before = db.session.execute(select(func.count()).select_from(Suggestion)).scalar_one()
        board = client.get("/p/sunshine/")  # reading still works, with the reason shown
        assert board.status_code == 200
        assert "keys.passphrase_wrong" in board.get_data(as_text=True)
        assert "keys.passphrase_wrong" not in demo.test_client().get("/p/sunshine/").get_data(
            as_text=True)
        response = client.post("/p/sunshine/suggest", data={
            "csrf_token": csrf_token(client, "/p/sunshine/suggest"), "text": "修一下村口的路灯"})
        assert response.status_code == 503
        page = response.get_data(as_text=True)
        assert "keys.passphrase_wrong" in page
        # a villager's page says it in the page's language, with the rule on its own line
        assert "账本口令打不开数据库中的账本密钥" in page
        assert "cannot open the ledger keys" not in page
        english = client.post("/p/sunshine/suggest?lang=en", data={
            "csrf_token": csrf_token(client, "/p/sunshine/suggest"), "text": "修一下村口的路灯"})
        assert english.status_code == 503
        assert "cannot open the ledger keys" in english.get_data(as_text=True)
        with restored.app_context():
            after = db.session.execute(select(func.count()).select_from(Suggestion)).scalar_one()
        assert after == before  # a refused action writes nothing
        # the CLI: `restore --check` warns and exits 2; a write is a one-line refusal
        check = restored.test_cli_runner().invoke(args=["restore", "--check"])
        assert check.exit_code == 2, check.output
        assert "[keys.passphrase_wrong]" in check.output
        monkeypatch.setenv("SUNVOTE_DATABASE_URL", url)
        monkeypatch.setenv("SUNVOTE_LEDGER_PASSPHRASE", "not the passphrase either")
        rotate = CliRunner().invoke(cli, ["ledger", "rotate-key", "sunshine", "--reason", "x"])
        assert rotate.exit_code == 1
        assert "Error: [keys.passphrase_wrong]" in rotate.output
        assert "Traceback" not in rotate.output
    finally:
        with restored.app_context():
            db.session.remove()
            db.engine.dispose()
