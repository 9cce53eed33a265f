"""The `sunvote` command: Flask's CLI (run, db upgrade, …) plus SunVote's own commands
(sunvote/commands.py, attached to the app by create_app), where an expected failure is one clear
line and exit code 1."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from sunvote.commands import command_refusal, ledger_group, recording_group


def _create_app() -> Flask:
    import sys

    from sunvote.app import create_app
    from sunvote.config import StartupRefused

    try:
        app = create_app()
    except StartupRefused as refused:  # a clear message and exit code 1, not a traceback
        click.echo(str(refused), err=True)
        sys.exit(1)
    return app  # keys that the passphrase cannot open: create_app has logged it to stderr


class SunVoteGroup(FlaskGroup):
    """Flask's group, where the expected failures of any command are one clear line and exit 1,
    not a traceback: a refusal (a DomainError, e.g. writes refused while the ledger keys cannot
    be opened), a file or folder that cannot be read or written or a witness that cannot be
    reached (OSError), and a garbled file or argument (ValueError: a malformed key, request or
    manifest, text that is not UTF-8)."""

    def invoke(self, ctx: click.Context) -> object:
        from sunvote.domain.errors import DomainError

        try:
            return super().invoke(ctx)
        except DomainError as error:
            raise command_refusal(error) from None
        except OSError as error:
            raise click.ClickException(f"cannot read, write or reach / 无法读写或连接: "
                                       f"{_describe(error)}") from None
        except ValueError as error:
            raise click.ClickException(f"malformed input / 输入格式不正确: "
                                       f"{_describe(error)}") from None


def _describe(error: BaseException) -> str:
    """One line naming the error, its file if any, and what went wrong."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, UnicodeDecodeError):
        text = f"not UTF-8 text (byte {error.start})"
    return f"{type(error).__name__}: {text[:300]}"


cli = SunVoteGroup(create_app=_create_app, add_version_option=False,
                   help="SunVote (阳光票决): run the app and manage its data.")

# `sunvote ledger …` is also on the top-level group, so `sunvote ledger verify` runs without
# loading the app (no instance folder, no database).
cli.add_command(ledger_group)
# `sunvote recording verify` likewise (its `purge` loads the app itself).
cli.add_command(recording_group)
