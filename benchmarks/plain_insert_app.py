"""The yardstick of benchmarks/http_bench.py: a minimal Flask app that inserts one row per POST, on
SunVote's stack (the same database URL and SQLAlchemy engine options from sunvote/config.py,
Flask-SQLAlchemy, the same gunicorn settings), without sessions or CSRF.

    SUNVOTE_DATABASE_URL=postgresql+psycopg://… gunicorn -c python:sunvote.gunicorn_conf \
        -w 2 benchmarks.plain_insert_app:app

``POST /insert`` writes one ``plain_insert`` row in one transaction and answers 204. The table is
created when the app starts (and emptied by the benchmark, which owns the database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sunvote.config import instance_path, load_config


class Base(DeclarativeBase):
    """Its own metadata: the benchmark's table is not SunVote's."""


db = SQLAlchemy(model_class=Base)


class PlainInsert(Base):
    """One row per request: about what a ballot row holds."""

    __tablename__ = "plain_insert"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    choice: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def create_app() -> Flask:
    """The app, on SunVote's database URL and engine options."""
    app = Flask(__name__)
    config = load_config(Path(instance_path()))
    app.config["SQLALCHEMY_DATABASE_URI"] = config["SQLALCHEMY_DATABASE_URI"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config["SQLALCHEMY_ENGINE_OPTIONS"]
    db.init_app(app)
    with app.app_context():
        db.create_all()

    @app.post("/insert")
    def insert():  # type: ignore[no-untyped-def]
        db.session.add(PlainInsert(code=request.form.get("code", "")[:40],
                                   choice=request.form.get("choice", "")[:10],
                                   at=dt.datetime.now(dt.UTC)))
        db.session.commit()
        return "", 204

    @app.get("/")
    def ready():  # type: ignore[no-untyped-def]
        return "ok"

    return app


app = create_app()
