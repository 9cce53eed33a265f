"""SunVote's own commands — demo, init-db, ledger …, witness …, backup, restore and the rest —
attached to the app's CLI by :func:`register_commands` (sunvote/app.py). The `sunvote` entry
point and its error handling are in sunvote/cli.py, which imports this module; this module never
imports the app."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade


def command_refusal(error: object) -> click.ClickException:
    """A refusal (DomainError) as the one line and exit code 1 every command gives it."""
    from sunvote.config import refusal_text

    return click.ClickException(refusal_text(error))  # type: ignore[arg-type]


def register_commands(app: Flask) -> None:
    """Attach SunVote's commands to the app's CLI."""
    app.cli.add_command(demo_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(init_db_command)
    app.cli.add_command(create_district_admin_command)
    app.cli.add_command(ledger_group)
    app.cli.add_command(witness_group)
    app.cli.add_command(notices_group)
    app.cli.add_command(recording_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    register_notice_scan(app)


#: A record number or log size: whole, not negative, and within the database's integers.
RECORD_NUMBER = click.IntRange(0, 2**31 - 1)


@click.group("ledger")
def ledger_group() -> None:
    """The village ledgers: export, verify offline, receipts, witness, keys."""


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


@ledger_group.command("receipt")
@click.argument("village_code")
@click.argument("seq", type=RECORD_NUMBER)
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def ledger_receipt_command(village_code: str, seq: int, file: str) -> None:
    """Write a receipt for record SEQ of VILLAGE_CODE's log to FILE."""
    from pathlib import Path

    from sunvote.services import ledger

    try:
        Path(file).write_bytes(ledger.receipt(_village(village_code).id, seq))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"receipt for record {seq} written to {file}")


@ledger_group.command("consistency")
@click.argument("village_code")
@click.argument("old_size", type=RECORD_NUMBER)
@click.argument("directory", type=click.Path(file_okay=False))
@with_appcontext
def ledger_consistency_command(village_code: str, old_size: int, directory: str) -> None:
    """Write DIRECTORY/proof and DIRECTORY/checkpoint: the log grew from OLD_SIZE to now."""
    from pathlib import Path

    from sunvote.services import ledger

    try:
        proof, checkpoint = ledger.consistency_files(_village(village_code).id, old_size)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "proof").write_bytes(proof)
    (out / "checkpoint").write_bytes(checkpoint)
    click.echo(f"consistency proof from size {old_size} written to {directory}")


@ledger_group.command("witness-request")
@click.argument("village_code")
@click.argument("request_file", type=click.Path(dir_okay=False))
@click.option("--witness-key", default=None, help="The township witness's verifier key "
              "(default: the witness key of this instance's township).")
@with_appcontext
def ledger_witness_request_command(village_code: str, request_file: str,
                                   witness_key: str | None) -> None:
    """Write an add-checkpoint request for the township witness (carry it on a USB stick)."""
    from pathlib import Path

    from sunvote.services import witness

    village = _village(village_code)
    key = _witness_key(witness_key) or witness.witness_key(village.township).vkey
    Path(request_file).write_bytes(witness.request_for(village, key))
    click.echo(f"request written to {request_file}")


@ledger_group.command("witness-accept")
@click.argument("village_code")
@click.argument("request_file", type=click.Path(exists=True, dir_okay=False))
@click.argument("response_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--witness-key", default=None)
@with_appcontext
def ledger_witness_accept_command(village_code: str, request_file: str, response_file: str,
                                  witness_key: str | None) -> None:
    """Store the witness's cosignature brought back from the township."""
    from pathlib import Path

    from sunvote.services import witness

    village = _village(village_code)
    key = _witness_key(witness_key) or witness.witness_key(village.township).vkey
    row = witness.accept_cosignature(village.id, Path(request_file).read_bytes(),
                                     Path(response_file).read_bytes(), key)
    click.echo(f"cosigned by {row.witness} up to record {row.size}")


@click.group("notices")
def notices_group() -> None:
    """The outbox of notices: the sender that delivers them (docs/notice-sender.md)."""


@notices_group.command("send")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit (else: a service).")
@click.option("--batch", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Notices claimed at a time.")
@click.option("--poll-seconds", type=click.FloatRange(0.05, 3600), default=5.0,
              show_default=True, help="Pause between rounds when nothing is due.")
@click.option("--lease-seconds", type=click.FloatRange(1, 86400), default=300.0,
              show_default=True, help="How long a claimed batch is held; a notice left "
              "sending past it (a stopped sender) becomes unknown.")
@with_appcontext
def notices_send_command(once: bool, batch: int, poll_seconds: float,
                         lease_seconds: float) -> None:
    """Deliver queued notices by SMS, e-mail and group robots, with retries, rate limits and
    idempotency keys. Stops cleanly on SIGTERM or Ctrl-C after the notice in hand."""
    import datetime as dt
    import logging
    import signal

    from sunvote.services.notice_sender import Sender

    logger = logging.getLogger("sunvote.notices")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    sender = Sender(batch=batch, lease=dt.timedelta(seconds=lease_seconds))
    if once:
        total = sender.drain()
        click.echo(f"sent {total.outcomes.get('sent', 0)}, to retry "
                   f"{total.outcomes.get('retry', 0)}, rejected "
                   f"{total.outcomes.get('rejected', 0)}, waiting for credentials "
                   f"{total.waiting}, unknown after a stopped sender {total.swept_unknown}")
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sender.stopping.set())
    logger.info("sender started: batch %s, poll %ss, lease %ss", batch, poll_seconds,
                lease_seconds)
    sender.serve(poll_seconds)
    logger.info("sender stopped")


@click.group("recording")
def recording_group() -> None:
    """The hall's recordings: verify a download offline; delete those past retention."""


@recording_group.command("verify", context_settings={"ignore_unknown_options": True,
                                                      "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def recording_verify_command(args: tuple[str, ...]) -> None:
    """Check a downloaded recording (zip or folder) against its ledger, offline; a removed,
    reordered or altered chunk is named (--help for options). Needs no database."""
    from sunvote.verify_recording import main

    raise SystemExit(main(list(args)))


@recording_group.command("purge")
@click.option("--dry-run", is_flag=True, help="List what is due; delete nothing.")
@with_appcontext
def recording_purge_command(dry_run: bool) -> None:
    """Delete the files of every recording whose township retention has passed (the hashes
    and a recording.purge record stay in the ledger). Run it daily from cron."""
    from sunvote.models.base import utcnow
    from sunvote.services import recording

    now = utcnow()
    due = recording.due_for_purge(now)
    freed = 0
    for meeting_id in due:
        if not dry_run:
            freed += recording.purge(None, meeting_id, now)
    click.echo(f"{'due' if dry_run else 'purged'}: {len(due)} recording(s), "
               f"{freed / 1e6:.1f} MB freed")


@click.group("witness")
def witness_group() -> None:
    """The township witness: follow village logs and cosign their checkpoints."""


@witness_group.command("add-log")
@click.argument("township_code")
@click.argument("origin")
@click.argument("log_key")
@with_appcontext
def witness_add_log_command(township_code: str, origin: str, log_key: str) -> None:
    """Follow ORIGIN (a village log) signed by LOG_KEY, or update its key after a rotation."""
    from sunvote.services import witness

    township = _township(township_code)
    witness.register_log(township.id, origin, log_key)
    click.echo(f"{township_code} now witnesses {origin}")
    # What the village server needs as SUNVOTE_WITNESS_KEY.
    click.echo(f"witness key: {witness.witness_key(township).vkey}")


@witness_group.command("cosign")
@click.argument("township_code")
@click.argument("request_file", type=click.Path(exists=True, dir_okay=False))
@click.argument("response_file", type=click.Path(dir_okay=False))
@with_appcontext
def witness_cosign_command(township_code: str, request_file: str, response_file: str) -> None:
    """Answer an add-checkpoint request brought as a file; the answer goes to RESPONSE_FILE."""
    from pathlib import Path

    from sunvote.services import witness

    result = witness.add_checkpoint(township_code, Path(request_file).read_bytes())
    if result.status != 200:
        raise click.ClickException(
            f"refused ({result.status}): {result.body.decode('utf-8', 'replace').strip()}")
    Path(response_file).write_bytes(result.body)
    click.echo(f"cosignature written to {response_file}")


def _witness_key(vkey: str | None) -> str | None:
    """``vkey`` if it is a well-formed verifier key (else a one-line refusal), or None."""
    from sunvote.domain.ledger.note import Verifier

    if vkey is not None:
        Verifier.from_vkey(vkey)  # KeyFormatError, a ValueError: refused by SunVoteGroup
    return vkey


def _township(code: str):
    from sqlalchemy import select

    from sunvote.extensions import db
    from sunvote.models import Township

    township = db.session.execute(
        select(Township).where(Township.code == code)).scalar_one_or_none()
    if township is None:
        raise click.ClickException(f"no township with code {code!r}")
    return township


def _village(code: str):
    from sqlalchemy import select

    from sunvote.extensions import db
    from sunvote.models import Village

    village = db.session.execute(select(Village).where(Village.code == code)).scalar_one_or_none()
    if village is None:
        raise click.ClickException(f"no village with code {code!r}")
    return village


@ledger_group.command("check")
@click.argument("village_code")
@with_appcontext
def ledger_check_command(village_code: str) -> None:
    """Verify VILLAGE_CODE's log on this server and keep the result for the ledger page (run it
    from cron for large logs, instead of the page's button)."""
    from sunvote.services.verification import run_verification

    row = run_verification(_village(village_code))
    click.echo(f"{village_code}: {'verified' if row.ok else 'FAILED'} {row.size} records "
               f"in {row.seconds:.1f} s (exit code {row.exit_code})")
    for failure in row.failures:
        click.echo(f"  {failure}")
    if not row.ok:
        raise SystemExit(row.exit_code)


@ledger_group.command("verify", context_settings={"ignore_unknown_options": True,
                                                   "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ledger_verify_command(args: tuple[str, ...]) -> None:
    """Verify an export offline (same as `python -m sunvote.verify`; --help for options).
    Needs no database and loads no part of the web app."""
    from sunvote.verify import main

    raise SystemExit(main(list(args)))


def init_database() -> None:
    """Create or migrate the database to the newest schema (Alembic)."""
    upgrade(directory=current_app.extensions["migrate"].directory)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or migrate the database to the newest schema."""
    init_database()
    click.echo("database ready / 数据库已就绪")


@click.command("create-district-admin")
@click.argument("name")
@click.argument("username")
@with_appcontext
def create_district_admin_command(name: str, username: str) -> None:
    """Create the district administrator who then creates townships in the web pages; prints a
    temporary password that must be changed at first login."""
    from sunvote.domain.errors import DomainError
    from sunvote.services.administration import create_district_admin

    try:
        login = create_district_admin(name, username)
    except DomainError as error:
        raise command_refusal(error) from None
    click.echo(f"district admin {login.account.username}: temporary password {login.password}")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Add the demo township, villages, people and eight weeks of history (empty database
    only)."""
    from sunvote.services.demo import seed_demo

    click.echo(_seed_message(seed_demo(history=True)))


def _seed_message(created: bool) -> str:
    from sunvote.services.demo import demo_present

    if created:
        return "demo data created / 已创建演示数据"
    if demo_present():
        return "demo data kept / 保留已有数据"
    return ("the database holds other data: no demo data added / "
            "数据库中已有其他数据，未添加演示数据")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets phones on the local network in.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--https", "https", is_flag=True,
              help="Serve HTTPS with a self-signed certificate for this machine's LAN address "
                   "(made in the instance folder), so that phones can vote from the cloud.")
@click.option("--no-serve", is_flag=True, help="Prepare the database and demo data, then exit.")
@with_appcontext
def demo_command(host: str, port: int, https: bool, no_serve: bool) -> None:
    """Migrate the database, seed the demo village with eight weeks of history if the database
    is empty, print the accounts, and serve."""
    from pathlib import Path

    from sunvote import devcert
    from sunvote.config import earlier_instance_path
    from sunvote.services.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DEMO_PIN, seed_demo

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    instance = Path(app.instance_path)
    init_database()
    created = seed_demo(history=True)
    click.echo(f"SunVote 阳光票决 — instance folder / 实例目录: {instance}")
    click.echo(f"database / 数据库: {app.config['SQLALCHEMY_DATABASE_URI']}")
    earlier = earlier_instance_path(instance)
    if created and earlier is not None:
        click.echo(f"note / 注意: an earlier instance folder with data is at {earlier}; to use it "
                   f"again, start with SUNVOTE_INSTANCE_PATH={earlier} / 旧的实例目录在上述位置，"
                   "如需继续使用请设置 SUNVOTE_INSTANCE_PATH")
    click.echo(_seed_message(created))
    click.echo(f"Demo accounts (password for all / 密码: {DEMO_PASSWORD}):")
    for account in DEMO_ACCOUNTS:
        click.echo(f"  {account.username:<11} {account.name}  {account.role}")
    click.echo(f"Enrolled demo phones (rep11–rep20) have the PIN {DEMO_PIN} / "
               f"演示手机PIN码 {DEMO_PIN}")
    address = devcert.advertised_host(host)
    scheme = "https" if https else "http"
    # The ONE place where the demo sets the base URL: every QR code and printed link is built on
    # it (SUNVOTE_BASE_URL, sunvote/web/links.py), so a phone scanning a code shown on a laptop
    # at localhost reaches this machine's LAN address. An operator's SUNVOTE_BASE_URL wins.
    if not app.config.get("BASE_URL"):
        app.config["BASE_URL"] = devcert.base_url(scheme, address, port)
    ssl_context = None
    if https:
        cert, key = devcert.demo_certificate(instance, address)
        ssl_context = (str(cert), str(key))
        click.echo(f"self-signed certificate / 自签名证书: {cert} (phones ask once to accept it "
                   "/ 手机首次访问需确认信任)")
    click.echo(f"Open / 打开: {devcert.base_url(scheme, address, port)}/")
    if not no_serve:
        click.echo(install_demo_verifier())
        # Flask's app.run() declines to start inside its own CLI; serve with werkzeug directly.
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False, ssl_context=ssl_context)


def install_demo_verifier() -> str:
    """For the demo on a checkout: build the browser verifier into SUNVOTE_VERIFIER_DIR if it is
    not there, so that the demo township offers it (docs/browser-verifier.md; the build needs
    npm and, the first time, the npm registry). Returns what to tell the user; never fails the
    demo."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from sunvote.web.verifier_files import HTML_NAME, page_file

    if page_file() is not None:
        return "browser verifier / 离线验证器: installed / 已安装"
    build = Path(__file__).resolve().parents[1] / "tools" / "build_verifier.py"
    target = Path(current_app.config["VERIFIER_DIR"]) / HTML_NAME
    if not build.exists() or shutil.which("npm") is None:
        return ("browser verifier / 离线验证器: not installed; on a checkout with npm: "
                f"python tools/build_verifier.py --check-hash --out {target} / 未安装")
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, str(build), "--check-hash", "--out", str(target)],
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return f"browser verifier / 离线验证器: not built / 未能生成: {done.stderr.strip()[-300:]}"
    return f"browser verifier / 离线验证器: built / 已生成 {target}"


#: What `sunvote backup` / `restore` say on PostgreSQL (docs/operations.md has the same steps).
PG_BACKUP_STEPS = """PostgreSQL: back up with pg_dump / PostgreSQL 请用 pg_dump 备份:
  pg_dump --format=custom --file=sunvote.dump "$DATABASE_URL"
  (one consistent snapshot, taken while the app runs / 一致的快照，应用可照常运行)
Keep the ledger passphrase apart from the dump / 账本口令与备份分开保存."""

PG_RESTORE_STEPS = """PostgreSQL: restore with pg_restore, then check / 请用 pg_restore 恢复后检查:
  1. stop the app / 停止应用
  2. keep the current database aside / 先保留现有数据库:
       pg_dump --format=custom --file=before-restore.dump "$DATABASE_URL"
  3. pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" sunvote.dump
  4. sunvote restore --check   (must exit 0 before the app serves / 退出码为0后再启动应用)"""


def _print_heads(heads) -> None:
    for head in heads:
        click.echo(f"  {head.village:<20} size {head.size:>8}  root {head.root}")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(file: str) -> None:
    """Back up the SQLite database to FILE while the app runs (SQLite's online backup); writes
    FILE.manifest.json with each village log's size and root. On PostgreSQL: the pg_dump steps."""
    import sqlite3
    from pathlib import Path

    from sunvote.domain.errors import DomainError
    from sunvote.services import backup

    if backup.sqlite_file() is None:
        click.echo(PG_BACKUP_STEPS, err=True)
        click.echo("Logs now, to compare after a restore / 当前各村账本（恢复后对照）:", err=True)
        _print_heads(backup.current_heads())
        raise SystemExit(1)
    try:
        manifest = backup.backup(Path(file))
    except DomainError as error:
        raise command_refusal(error) from None
    except (OSError, sqlite3.Error) as error:  # e.g. no such folder, disk full
        raise click.ClickException(f"backup failed / 备份失败: {error}") from None
    click.echo(f"backup written / 备份已写入: {file} (sha256 {manifest.sha256})")
    click.echo(f"manifest / 清单: {file}{backup.MANIFEST_SUFFIX}")
    _print_heads(manifest.logs)


@click.command("restore")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--check", "check_only", is_flag=True,
              help="Only check the database as it is now (after a pg_restore, say).")
@click.option("--manifest", "manifest_file", type=click.Path(exists=True, dir_okay=False),
              help="The backup's manifest (default: FILE.manifest.json if present).")
@with_appcontext
def restore_command(file: str | None, check_only: bool, manifest_file: str | None) -> None:
    """Put the SQLite backup FILE in place (the current database is kept aside), then check it
    before it serves: every log verifies, the witness accepts it, it matches its manifest. A
    failed check puts the previous database back and exits 1. Stop the app first."""
    import sqlite3
    from pathlib import Path

    from sunvote.config import refusal_text
    from sunvote.domain.errors import DomainError
    from sunvote.services import backup

    try:
        manifest = (backup.Manifest.from_json(Path(manifest_file).read_text(encoding="utf-8"))
                    if manifest_file else None)
        if check_only:
            findings, rolled_back = backup.check_restored(manifest), False
        elif file is None:
            raise click.UsageError("FILE is required unless --check / 除 --check 外须指定备份文件")
        elif backup.sqlite_file() is None:
            click.echo(PG_RESTORE_STEPS, err=True)
            raise SystemExit(1)
        else:
            restored = backup.restore(Path(file), manifest)
            findings, rolled_back = restored.findings, restored.rolled_back
            if restored.aside is not None:
                click.echo(f"previous database kept at / 原数据库保留在: {restored.aside}")
    except DomainError as error:
        raise command_refusal(error) from None
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"restore failed / 恢复失败: {error}") from None
    for finding in findings:
        mark = "FAILED / 未通过" if finding.fatal else "WARNING / 警告"
        click.echo(f"{mark}: {refusal_text(finding.as_error())}", err=True)
    if any(f.fatal for f in findings):
        click.echo("restore refused, previous database put back / 恢复未通过检查，已换回原数据库"
                   if rolled_back else "check failed / 检查未通过", err=True)
        raise SystemExit(1)
    click.echo("restored database checked: every log verifies / 恢复的数据库已通过检查"
               if not check_only else "database checked: every log verifies / 数据库已通过检查")
    _print_heads(backup.current_heads())
    if findings:
        raise SystemExit(2)  # serves reads, but cannot sign until the passphrase is back


# --- notices scan (issue 18: the time-based notices) ----------------------------------------------


def register_notice_scan(app: Flask) -> None:
    """Attach `sunvote notices scan` to the `notices` group (made here if no other command of
    the group has made it yet)."""
    group = app.cli.commands.get("notices")
    if not isinstance(group, click.Group):
        group = click.Group("notices", help="Notices: the outbox and its sender.")
        app.cli.add_command(group)
    group.add_command(notices_scan_command)


@click.command("scan")
@with_appcontext
def notices_scan_command() -> None:
    """Write the notices whose time has come (objection answers due, notice periods ended, red
    warnings), each once; run it every hour (a cron job or systemd timer)."""
    from sunvote.domain.errors import DomainError
    from sunvote.services.notice_scan import scan

    try:
        result = scan()
    except DomainError as error:
        raise command_refusal(error) from None
    click.echo(f"notices scan: {result.notices} notices written for {result.villages} villages"
               f" / 已扫描{result.villages}个村，写入{result.notices}条通知")
