"""Backups that lose nothing: SQLite's online backup into one file with a manifest of every
village log's size and root; a restore that keeps the current database aside; and the one check
a restored database must pass before it serves (check_restored), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from sunvote.domain.errors import N_, DomainError
from sunvote.extensions import db
from sunvote.models import LedgerHead, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger

#: The manifest sits beside the backup file: FILE.manifest.json.
MANIFEST_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class LogHead:
    """One village log as a backup holds it: size and root (base64, as in a checkpoint)."""

    village: str
    size: int
    root: str


@dataclass(frozen=True)
class Manifest:
    """What a backup file contains, written beside it and printed: compare after a restore."""

    taken_at: str
    sha256: str
    logs: tuple[LogHead, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest file; a malformed one is refused (backup.file)."""
        try:
            raw = json.loads(text)
            return cls(str(raw["taken_at"]), str(raw["sha256"]),
                       tuple(LogHead(str(h["village"]), int(h["size"]), str(h["root"]))
                             for h in raw["logs"]))
        except (ValueError, KeyError, TypeError):
            raise _file_refusal(N_("备份清单无法读取")) from None


@dataclass(frozen=True)
class Finding:
    """One thing a restored database failed (``fatal``: it must not serve) or should fix."""

    rule: str
    msgid: str
    params: dict[str, object] = field(default_factory=dict)
    fatal: bool = True

    def as_error(self) -> DomainError:
        return DomainError(self.rule, self.msgid, **self.params)


@dataclass(frozen=True)
class Restored:
    """The outcome of a restore: the previous database kept aside (None if there was none),
    the findings, and whether the previous database was put back because of them."""

    aside: Path | None
    findings: list[Finding]
    rolled_back: bool


def _file_refusal(msgid: str, **params: object) -> DomainError:
    return DomainError("backup.file", msgid, **params)


def sqlite_file() -> Path | None:
    """The SQLite database file this instance serves from; None on PostgreSQL."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _connect(path: Path | str) -> sqlite3.Connection:
    timeout = int(current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 10000)) / 1000
    return sqlite3.connect(str(path), timeout=timeout, isolation_level=None)


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """Copy a whole database with SQLite's online backup API in one step: it reads one
    consistent snapshot (writers in WAL mode go on meanwhile) and writes ``target`` under its
    own lock, WAL file included, so no half-copied page is ever seen."""
    with contextlib.closing(_connect(target)) as out:
        source.backup(out)


def _heads_of(conn: sqlite3.Connection) -> tuple[LogHead, ...]:
    rows = conn.execute("SELECT v.code, h.size, h.root FROM village v "
                        "LEFT JOIN ledger_head h ON h.village_id = v.id ORDER BY v.code")
    return tuple(LogHead(code, int(size or 0), base64.b64encode(root or b"").decode())
                 for code, size, root in rows)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_heads() -> tuple[LogHead, ...]:
    """Every village log's size and root in the database this instance serves (both databases:
    after `pg_restore`, compare these with the manifest printed before `pg_dump`)."""
    rows = db.session.execute(select(Village.code, LedgerHead.size, LedgerHead.root)
                              .outerjoin(LedgerHead, LedgerHead.village_id == Village.id)
                              .order_by(Village.code))
    return tuple(LogHead(code, int(size or 0), base64.b64encode(root or b"").decode())
                 for code, size, root in rows)


def backup(target: Path, now: dt.datetime | None = None) -> Manifest:
    """Copy the live SQLite database to ``target`` while the app may be writing; every record
    acknowledged before the copy began is in it. Writes TARGET.manifest.json and returns it.
    The copy is checked (PRAGMA integrity_check) and left in rollback-journal mode, one file."""
    source = sqlite_file()
    if source is None:
        raise _file_refusal(N_("PostgreSQL的备份请用pg_dump（见docs/operations.md）"))
    if not source.exists():
        raise _file_refusal(N_("数据库文件不存在：%(path)s"), path=str(source))
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    with contextlib.closing(_connect(source)) as live:
        _copy(live, part)
    with contextlib.closing(_connect(part)) as copy:
        copy.execute("PRAGMA journal_mode=DELETE")
        if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise _file_refusal(N_("备份副本未通过SQLite完整性检查"))
        heads = _heads_of(copy)
    manifest = Manifest((now or utcnow()).isoformat(timespec="seconds"), _sha256(part), heads)
    part.replace(target)
    Path(str(target) + MANIFEST_SUFFIX).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def read_manifest(backup_file: Path) -> Manifest | None:
    """The manifest written beside ``backup_file``, if it is there."""
    path = Path(str(backup_file) + MANIFEST_SUFFIX)
    return Manifest.from_json(path.read_text(encoding="utf-8")) if path.exists() else None


def _check_backup_file(source: Path, manifest: Manifest | None) -> None:
    """Refuse, before anything is touched, a file that is not an intact SunVote database or
    does not match its manifest."""
    if not source.is_file():
        raise _file_refusal(N_("备份文件不存在：%(path)s"), path=str(source))
    if manifest is not None and _sha256(source) != manifest.sha256:
        raise _file_refusal(N_("备份文件与其清单的SHA-256不符：文件在备份后被改动过"))
    try:
        with contextlib.closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro",
                                                uri=True)) as conn:
            intact = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            tables = {name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        intact, tables = False, set()
    if not intact or not {"village", "ledger_head", "ledger_record"} <= tables:
        raise _file_refusal(N_("备份文件不是完整的SunVote SQLite数据库：%(path)s"),
                            path=str(source))


@contextlib.contextmanager
def _closed_engine() -> Iterator[None]:
    """No connection of this process holds the database while its file is replaced."""
    db.session.remove()
    db.engine.dispose()
    try:
        yield
    finally:
        db.engine.dispose()


def restore(source: Path, manifest: Manifest | None = None,
            now: dt.datetime | None = None) -> Restored:
    """Put the SQLite backup ``source`` in place of the live database, then check_restored().

    The current database is first copied aside (DB.before-restore-<time>, never deleted here).
    If a check is fatal, the previous database is put back (an empty one if there was none) and
    the findings say why; the backup file itself is never changed. Stop the app first: a
    restore under a running server would swap the data under its feet.
    """
    live = sqlite_file()
    if live is None:
        raise _file_refusal(N_("PostgreSQL的恢复请用pg_restore，然后运行 sunvote restore --check"
                               "（见docs/operations.md）"))
    manifest = manifest or read_manifest(source)
    _check_backup_file(source, manifest)
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%SZ")
    aside: Path | None = live.with_name(f"{live.name}.before-restore-{stamp}")
    with _closed_engine():
        if live.exists():
            assert aside is not None
            with contextlib.closing(_connect(live)) as current:
                _copy(current, aside)
        else:
            aside = None
        with contextlib.closing(_connect(source)) as backup_copy:
            _copy(backup_copy, live)
    findings = check_restored(manifest)
    if not any(f.fatal for f in findings):
        # cached public zips describe the replaced log (cached_export_zip keys on size only)
        shutil.rmtree(Path(current_app.instance_path) / "exports", ignore_errors=True)
        return Restored(aside, findings, rolled_back=False)
    with _closed_engine(), contextlib.closing(_connect(aside or ":memory:")) as previous:
        _copy(previous, live)
    return Restored(aside, findings, rolled_back=True)


def check_restored(expected: Manifest | None = None) -> list[Finding]:
    """Check the database this instance serves after a restore, before it serves: every
    village's log verifies (the server-side verifier), the township witness accepts its newest
    checkpoint (a witness that cosigned more means a rollback), each log is consistent with the
    cosigned checkpoint kept outside the database, each log's size and root equal
    the backup's manifest if one is given, and the ledger keys open with this instance's
    passphrase.

    Returns the findings; none with ``fatal`` set means the database may serve. Works on both
    databases (`sunvote restore --check` after a `pg_restore`).
    """
    from sunvote.services import witness
    from sunvote.services.verification import run_verification

    findings: list[Finding] = []
    villages = list(db.session.execute(select(Village).order_by(Village.code)).scalars())
    for village in villages:
        row = run_verification(village)
        if not row.ok:
            findings.append(Finding(
                "ledger.verification_failed",
                N_("%(village)s 的账本未通过验证（%(size)s 条记录，退出码 %(code)s）：%(first)s"),
                {"village": village.code, "size": row.size, "code": row.exit_code,
                 "first": row.failures[0] if row.failures else "-"}))
        try:
            ledger.signer_of(ledger.active_key(village.id))
        except DomainError as refusal:  # keys.passphrase_wrong: reads work, writes do not
            findings.append(Finding(refusal.rule, refusal.msgid, refusal.params, fatal=False))
        findings.extend(_witness_round(witness, village))
        # The cosigned checkpoint kept outside the database (the witness store): a restored log
        # shorter than it, or with another root at its size, is a rollback or a fork.
        rollback = witness.check_kept_checkpoint(village)
        if rollback is not None:
            findings.append(Finding(rollback.rule, rollback.msgid, rollback.params))
    if expected is not None:
        findings.extend(_against_manifest(expected, current_heads()))
    unique: list[Finding] = []  # locked keys are said once, not once per village
    for finding in findings:
        if finding not in unique:
            unique.append(finding)
    return unique


def _witness_round(witness, village: Village) -> list[Finding]:
    """Offer the restored checkpoint to the township witness: a witness that has cosigned more
    of this log (RollbackSuspected) or refuses it makes the restore fail. A witness that cannot
    be reached, or a key that cannot be opened, is reported without failing the restore."""
    try:
        witness.send(village)
    except DomainError as refusal:
        fatal = refusal.rule in ("ledger.rollback", "ledger.witness_refused")
        return [Finding(refusal.rule, refusal.msgid, refusal.params, fatal=fatal)]
    except OSError as error:
        return [Finding("ledger.witness_refused", N_("见证方拒绝签名：%(reason)s"),
                        {"reason": str(error)[:200]}, fatal=False)]
    return []


def _against_manifest(expected: Manifest, heads: tuple[LogHead, ...]) -> list[Finding]:
    found = {head.village: head for head in heads}
    findings = []
    for want in expected.logs:
        have = found.get(want.village, LogHead(want.village, 0, "-"))
        if have != want:
            findings.append(Finding(
                "backup.file",
                N_("%(village)s 的账本与备份清单不符：清单为 %(want_size)s 条（根 %(want_root)s），"
                   "恢复后为 %(size)s 条（根 %(root)s）"),
                {"village": want.village, "want_size": want.size, "want_root": want.root,
                 "size": have.size, "root": have.root}))
    return findings
