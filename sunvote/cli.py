"""The `sunvote` command: Flask's CLI (run, db upgrade, …) plus demo and maintenance commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade


def _create_app() -> Flask:
    from sunvote.app import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, add_version_option=False,
                 help="SunVote (阳光票决): run the app and manage its data.")


def register_commands(app: Flask) -> None:
    """Attach SunVote's commands to the app's CLI."""
    app.cli.add_command(demo_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(init_db_command)
    app.cli.add_command(ledger_group)


@click.group("ledger")
def ledger_group() -> None:
    """The village ledgers: export, verify offline."""


@ledger_group.command("export")
@click.argument("village_code")
@click.argument("directory", type=click.Path(file_okay=False))
@with_appcontext
def ledger_export_command(village_code: str, directory: str) -> None:
    """Write VILLAGE_CODE's ledger export to DIRECTORY (for a USB stick or the verifier)."""
    from pathlib import Path

    from sunvote.services.exports import export_directory

    village = _village(village_code)
    count = export_directory(village, Path(directory))
    click.echo(f"exported {count} records of {village.origin} to {directory}")


@ledger_group.command("rotate-key")
@click.argument("village_code")
@click.option("--reason", required=True, help="Why the key is replaced (recorded in the log).")
@with_appcontext
def ledger_rotate_command(village_code: str, reason: str) -> None:
    """Replace VILLAGE_CODE's log key (recorded, signed by the old and the new key)."""
    from sunvote.services.villages import rotate_log_key

    key = rotate_log_key(_village(village_code).id, reason)
    click.echo(f"new log key: {key.vkey}")


@ledger_group.command("revoke-key")
@click.argument("village_code")
@click.argument("vkey")
@click.option("--reason", required=True)
@with_appcontext
def ledger_revoke_command(village_code: str, vkey: str, reason: str) -> None:
    """Revoke a former log key of VILLAGE_CODE (it must have been rotated out)."""
    from sunvote.services.villages import revoke_log_key

    revoke_log_key(_village(village_code).id, vkey, reason)
    click.echo(f"revoked: {vkey}")


@ledger_group.command("witness")
@click.argument("village_code")
@click.option("--url", default=None,
              help="The township witness's add-checkpoint URL (default: this instance).")
@with_appcontext
def ledger_witness_command(village_code: str, url: str | None) -> None:
    """Ask the township witness to cosign VILLAGE_CODE's newest checkpoint."""
    from sunvote.services.witness import send

    row = send(_village(village_code), url)
    click.echo(f"cosigned by {row.witness} up to record {row.size}")


def _village(code: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from sunvote.extensions import db
    from sunvote.models import Village

    village = db.session.execute(select(Village).where(Village.code == code)).scalar_one_or_none()
    if village is None:
        raise click.ClickException(f"no village with code {code!r}")
    return village


@ledger_group.command("verify", context_settings={"ignore_unknown_options": True,
                                                   "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ledger_verify_command(args: tuple[str, ...]) -> None:
    """Verify an export offline (same as `python -m sunvote.verify`; --help for options).
    Needs no database and loads no part of the web app."""
    from sunvote.verify import main

    raise SystemExit(main(list(args)))


# `sunvote ledger …` is also on the top-level group, so `sunvote ledger verify` runs without
# loading the app (no instance folder, no database).
cli.add_command(ledger_group)


def init_database() -> None:
    """Create or migrate the database to the newest schema (Alembic)."""
    upgrade(directory=current_app.extensions["migrate"].directory)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or migrate the database to the newest schema."""
    init_database()
    click.echo("database ready / 数据库已就绪")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Add the demo township, villages, people and matters (once)."""
    from sunvote.services.demo import seed_demo

    created = seed_demo()
    click.echo("demo data created / 已创建演示数据" if created
               else "demo data already present / 演示数据已存在")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and demo data, then exit.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Migrate the database, seed the demo data if absent, print the accounts, and serve."""
    from sunvote.services.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo

    init_database()
    created = seed_demo()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"SunVote 阳光票决 — database: {app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo("demo data created / 已创建演示数据" if created
               else "demo data kept / 保留已有数据")
    click.echo(f"Demo accounts (password for all / 密码: {DEMO_PASSWORD}):")
    for account in DEMO_ACCOUNTS:
        click.echo(f"  {account.username:<11} {account.name}  {account.role}")
    click.echo(f"Open / 打开: http://{host}:{port}/")
    if not no_serve:
        # Flask's app.run() declines to start inside its own CLI; serve with werkzeug directly.
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False)
