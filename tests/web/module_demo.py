"""The demo app built once for a whole test module (for tests that make many requests and
change little), on SQLite or the PostgreSQL database under test, emptied afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from sunvote import create_app
from sunvote.extensions import db
from tests.conftest import _empty_postgres


@contextmanager
def demo_app_once(tmp: Path, postgres_url: str | None, *,
                  history: bool = False) -> Iterator[Flask]:
    """The app on a fresh database with the demo data (with ``history``: the eight weeks
    `sunvote demo` seeds); the database is emptied on exit."""
    from sunvote.services.demo import seed_demo

    before = os.environ.get("SUNVOTE_INSTANCE_PATH")
    os.environ["SUNVOTE_INSTANCE_PATH"] = str(tmp / "instance")
    url = postgres_url or f"sqlite:///{tmp / 'module.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "SERVER_NAME": "sunvote.test"})
    try:
        with app.app_context():
            if postgres_url is None:
                db.create_all()
            seed_demo(history=history)
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if postgres_url is not None:
            _empty_postgres(postgres_url)
        if before is None:
            os.environ.pop("SUNVOTE_INSTANCE_PATH", None)
        else:
            os.environ["SUNVOTE_INSTANCE_PATH"] = before
