"""The Alembic migrations build exactly the models' schema, and `sunvote demo` is repeatable."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from sunvote import create_app
from sunvote.extensions import db
from sunvote.models import Account, Base, Matter, Person, Township


@pytest.fixture
def empty_database_url(tmp_path: Path, postgres_url: str | None) -> str:
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if postgres_url is None:
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    base = make_url(postgres_url)
    name = f"{base.database}_migrations"  # beside the test database, so runs don't collide
    url = base.set(database=name)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture
def fresh_app(empty_database_url: str, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("SUNVOTE_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})


def test_upgrading_an_empty_database_yields_exactly_the_models_schema(fresh_app: Flask) -> None:
    with fresh_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
        db.engine.dispose()


def test_demo_command_migrates_seeds_once_and_keeps_data(fresh_app: Flask) -> None:
    runner = fresh_app.test_cli_runner()
    first = runner.invoke(args=["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "clerk" in first.output and "http://127.0.0.1:5000/" in first.output
    with fresh_app.app_context():
        counts = {m.__name__: db.session.execute(select(func.count()).select_from(m)).scalar_one()
                  for m in (Township, Person, Account, Matter)}
        db.session.remove()
    second = runner.invoke(args=["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    with fresh_app.app_context():
        again = {m.__name__: db.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (Township, Person, Account, Matter)}
        db.session.remove()
        db.engine.dispose()
    # The demo village's eight weeks of history: twelve matters (tests/services/test_demo.py).
    assert again == counts and counts["Matter"] == 12 and counts["Township"] == 1
