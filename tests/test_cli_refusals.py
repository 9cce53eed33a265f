"""The `sunvote` command refuses bad arguments, missing or garbled files, unknown villages and an
unreachable witness with one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from sunvote.cli import cli
from tests.web.module_demo import demo_app_once


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None) -> Iterator[Flask]:
    """The demo app, once for the module: every case is refused and changes nothing."""
    with demo_app_once(tmp_path_factory.mktemp("cli"), postgres_url) as app:
        yield app


def run(demo: Flask, *args: str):  # type: ignore[no-untyped-def]
    """``sunvote ARGS`` through the top-level group (as the console script runs it)."""
    return demo.test_cli_runner().invoke(cli, list(args))


def assert_refused(result, *, says: str = "") -> None:  # type: ignore[no-untyped-def]
    output = result.output
    assert result.exit_code not in (0, None), output
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception), output)
    assert output.strip(), "a refusal says why"  # (on PostgreSQL, backup and restore give the
    # pg_dump / pg_restore steps instead: also a non-zero exit)
    assert says in output, output


@pytest.fixture
def garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.txt"
    path.write_bytes(b"\xff\xfe not a request \x00\n")
    return path


def cases(tmp: Path, garbage: Path) -> dict[str, list[str]]:
    missing_dir = str(tmp / "no" / "such" / "folder" / "file")
    return {
        "witness, unknown village": ["ledger", "witness", "atlantis"],
        "witness, unreachable url": ["ledger", "witness", "sunshine", "--url",
                                     "http://127.0.0.1:9/witness/demo-town/add-checkpoint"],
        "witness, not a url": ["ledger", "witness", "sunshine", "--url", "not a url"],
        "witness, unsupported scheme": ["ledger", "witness", "sunshine", "--url",
                                        "file:///etc/passwd"],
        "rotate-key, unknown village": ["ledger", "rotate-key", "atlantis", "--reason", "x"],
        "rotate-key, no reason": ["ledger", "rotate-key", "sunshine"],
        "rotate-key, empty reason": ["ledger", "rotate-key", "sunshine", "--reason", " "],
        "revoke-key, unknown key": ["ledger", "revoke-key", "sunshine", "nokey", "--reason", "x"],
        "export, unwritable": ["ledger", "export", "sunshine", "/proc/sunvote-export"],
        "receipt, no such record": ["ledger", "receipt", "sunshine", "999999",
                                    str(tmp / "r")],
        "receipt, huge record": ["ledger", "receipt", "sunshine", "9" * 30, str(tmp / "r")],
        "receipt, superscript": ["ledger", "receipt", "sunshine", "²", str(tmp / "r")],
        "receipt, missing folder": ["ledger", "receipt", "sunshine", "0", missing_dir],
        "consistency, huge size": ["ledger", "consistency", "sunshine", "9" * 30, str(tmp)],
        "consistency, bad size": ["ledger", "consistency", "sunshine", "0", str(tmp)],
        "witness-request, missing folder": ["ledger", "witness-request", "sunshine",
                                            missing_dir],
        "witness-request, bad key": ["ledger", "witness-request", "sunshine",
                                     str(tmp / "req"), "--witness-key", "garbage"],
        "witness-accept, garbled files": ["ledger", "witness-accept", "sunshine",
                                          str(garbage), str(garbage)],
        "witness-accept, missing file": ["ledger", "witness-accept", "sunshine",
                                         str(tmp / "none"), str(tmp / "none")],
        "witness add-log, bad key": ["witness", "add-log", "demo-town", "sunvote.test/x",
                                     "garbage"],
        "witness add-log, unknown township": ["witness", "add-log", "atlantis", "o", "k"],
        "witness cosign, garbled request": ["witness", "cosign", "demo-town", str(garbage),
                                            str(tmp / "resp")],
        "witness cosign, unwritable answer": ["witness", "cosign", "demo-town", str(garbage),
                                              missing_dir],
        "check, unknown village": ["ledger", "check", "atlantis"],
        "verify, missing export": ["ledger", "verify", str(tmp / "no-export")],
        "create-district-admin, bad user name": ["create-district-admin", "某人", "\n"],
        "backup, missing folder": ["backup", missing_dir],
        "restore, missing file": ["restore", str(tmp / "none.sqlite3")],
        "restore, garbled manifest": ["restore", "--check", "--manifest", str(garbage)],
        "restore, garbled backup": ["restore", str(garbage)],
        "notices send, no batch": ["notices", "send", "--once", "--batch", "0"],
        "notices send, bad lease": ["notices", "send", "--once", "--lease-seconds", "x"],
        "recording verify, missing download": ["recording", "verify", str(tmp / "none.zip")],
        "recording verify, garbled download": ["recording", "verify", str(garbage)],
        "recording purge, stray argument": ["recording", "purge", "now"],
    }


CASE_NAMES = list(cases(Path("/"), Path("/")))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_a_refused_command_says_why_in_one_line_and_exits_non_zero(
        demo: Flask, tmp_path: Path, garbage: Path, case: str) -> None:
    result = run(demo, *cases(tmp_path, garbage)[case])
    assert_refused(result)


def test_a_witness_url_that_is_not_http_is_refused_without_reading_it(demo: Flask) -> None:
    result = run(demo, "ledger", "witness", "sunshine", "--url", "file:///etc/passwd")
    assert_refused(result, says="http://")
    assert "root:" not in result.output  # before: the refusal quoted the file


def test_every_command_has_a_refusal_case() -> None:
    """A new command needs a row above (its name appears in some case)."""
    from click import Group

    def leaves(group: Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
        out: set[tuple[str, ...]] = set()
        for name, command in group.commands.items():
            if isinstance(command, Group):
                out |= leaves(command, (*prefix, name))
            else:
                out.add((*prefix, name))
        return out

    from sunvote.app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    ours = {path for path in leaves(app.cli) if path[0] not in ("db", "run", "shell", "routes")}
    covered = {tuple(args[:2]) if args[0] in ("ledger", "witness", "notices", "recording")
               else (args[0],)
               for args in cases(Path("/"), Path("/")).values()}
    without = {" ".join(p) for p in ours - covered - NO_ARGUMENTS}
    assert not without, f"commands with no refusal case: {sorted(without)}"


#: Commands that take no argument a person could get wrong.
NO_ARGUMENTS = {("demo",), ("seed-demo",), ("init-db",), ("notices", "scan")}
