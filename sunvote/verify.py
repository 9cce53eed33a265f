"""The offline ledger verifier command: ``python -m sunvote.verify <export dir>``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import NoReturn, TextIO

from sunvote.domain.ledger.export import ExportError
from sunvote.domain.ledger.note import KeyFormatError
from sunvote.domain.ledger.records import b64
from sunvote.domain.ledger.verifier import (
    EXIT_USAGE,
    Report,
    summarise,
    utc_time,
    verify_export,
)

KIND_NAMES_ZH = {"format": "格式", "signature": "签名", "chain": "链", "semantics": "程序",
                 "witness": "见证"}


class UsageError(Exception):
    """Bad command-line arguments (exit code 1, as docs/ledger-format.md requires)."""


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad arguments; the ledger spec reserves 2 for format failures."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of exiting, so that :func:`main` can return exit code 1."""
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the verifier command."""
    parser = _Parser(
        prog="python -m sunvote.verify",
        description="Verify a SunVote village ledger export offline: every record's format, "
                    "signatures, chain (seq, prev, checkpoint) and procedure semantics, and the "
                    "witness cosignatures. Exit codes: 0 verified, 1 usage or unreadable export, "
                    "2 format, 3 signature, 4 chain, 5 semantics, 6 witness (the smallest code "
                    "of the failures found).")
    parser.add_argument("directory", help="the export directory (unzipped)")
    parser.add_argument("--key", action="append", default=[], metavar="VKEY",
                        help="the village's log verifier key (from its public page or QR "
                             "poster); repeatable. Without it the export's log.vkey is used.")
    parser.add_argument("--witness-key", action="append", default=[], metavar="VKEY",
                        help="a township witness cosigner key; repeatable. Without it the "
                             "export's witness.vkey is used.")
    parser.add_argument("--require-cosignature", action="store_true",
                        help="fail (exit 6) unless the checkpoint is cosigned by a known witness")
    parser.add_argument("--witness-threshold", type=int, default=0, metavar="N",
                        help="fail (exit 6) unless N distinct known witnesses (e.g. the "
                             "township's and the district's, given with --witness-key) have "
                             "cosigned the checkpoint")
    parser.add_argument("--json", action="store_true",
                        help="print a machine-readable JSON report instead of text")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="parse and check signatures in N worker processes (0: one per "
                             "CPU); the result is the same as with 1")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar; print nothing when the export verifies")
    return parser


class ProgressBar:
    """A one-line ``\\r`` progress indicator on a terminal (drawn at most ten times a second)."""

    def __init__(self, stream: TextIO) -> None:
        """Draw on ``stream`` (stderr)."""
        self._stream = stream
        self._last = 0.0
        self._drawn = False

    def __call__(self, records: int, done: int, total: int) -> None:
        """Redraw with the records checked so far and the share of the file read."""
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        share = 100.0 * done / total if total else 100.0
        self._stream.write(f"\rverifying: {share:5.1f}%  {records:,} records")
        self._stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Erase the line."""
        if self._drawn:
            self._stream.write("\r" + " " * 48 + "\r")
            self._stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the verifier command and return its exit code (see :func:`build_parser`).
    ``receipt …`` and ``consistency …`` are handled by :mod:`sunvote.verify_proofs`."""
    _tolerant(sys.stdout)
    _tolerant(sys.stderr)
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in ("receipt", "consistency"):
        from sunvote.verify_proofs import main as proofs_main

        return proofs_main(args_list)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("usage: python -m sunvote.verify <dir> [--key VKEY ...] [--witness-key VKEY ...] "
              "[--require-cosignature] [--witness-threshold N] [--json] [--jobs N] [--quiet]",
              file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    if args.witness_threshold < 0:
        return _usage_failure(args.json, "--witness-threshold must be 0 or more")
    if args.jobs < 0:
        return _usage_failure(args.json, "--jobs must be 0 (one per CPU) or more")
    bar = ProgressBar(sys.stderr) if not args.quiet and sys.stderr.isatty() else None
    try:
        report = verify_export(args.directory, log_vkeys_override=args.key or None,
                               witness_vkeys_override=args.witness_key or None,
                               require_cosignature=args.require_cosignature,
                               witness_threshold=args.witness_threshold, jobs=jobs,
                               progress=bar)
    except KeyFormatError as exc:
        return _usage_failure(args.json, f"malformed key given on the command line: {exc}")
    except ExportError as exc:
        return _usage_failure(args.json, str(exc))
    finally:
        if bar is not None:
            bar.clear()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report, args.key, quiet=args.quiet)
    return report.exit_code


def _usage_failure(as_json: bool, message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"ok": False, "exit_code": EXIT_USAGE, "error": message},
                         ensure_ascii=False, indent=2))
    return EXIT_USAGE


def _print_report(report: Report, given_keys: Sequence[str], *, quiet: bool) -> None:
    """The human report: one line per failure, a summary, the trust line, a Chinese line."""
    root = b64(report.root)
    # Privacy findings never fail verification, but are always printed, even with --quiet.
    for finding in report.findings:
        print(f"PRIVACY: {finding.describe()}")
    if report.findings:
        print(f"隐私问题：{len(report.findings)} 项无记名表决的选票记载了投票方式，"
              "单独使用某一方式的组成人员的选择可被识别；"
              "账本不可撤回（见 docs/ledger-format.md）。")
    if report.ok:
        if quiet:
            return
        print(f"verified: {report.records} records, root {root}, {_cosigned(report)}")
        print(_trust_line(report, given_keys))
        print(f"验证通过：{report.records} 条记录，根哈希 {root}，{_cosigned_zh(report)}。")
        return
    for failure in report.failures:
        print(failure.describe())
    print(f"FAILED: {len(report.failures)} failure(s) in {report.records} records "
          f"({summarise(report.counts())}); exit code {report.exit_code}")
    if not quiet:
        print(_trust_line(report, given_keys))
    kinds = "、".join(f"{KIND_NAMES_ZH[kind]} {n}" for kind, n in report.counts().items() if n)
    print(f"验证失败：{report.records} 条记录中发现 {len(report.failures)} 处问题"
          f"（{kinds}），退出码 {report.exit_code}。")


def _cosigned(report: Report) -> str:
    if not report.cosignatures:
        return "checkpoint not cosigned"
    return "checkpoint cosigned by " + ", ".join(
        f"{name} at {utc_time(ts)}" for name, ts in report.cosignatures)


def _cosigned_zh(report: Report) -> str:
    if not report.cosignatures:
        return "检查点未经见证联署"
    return "检查点已由" + "、".join(
        f"{name}（{utc_time(ts)}）" for name, ts in report.cosignatures) + "见证联署"


def _trust_line(report: Report, given_keys: Sequence[str]) -> str:
    if report.trusted_key_source == "given":
        return "trusted log key: given with --key (" + ", ".join(given_keys) + ")"
    return ("trusted log key: taken from the export's own log.vkey, so this shows the export is "
            "consistent, not that it is the village's log; pass --key with the key printed on "
            "the village's public page to check that")


def _tolerant(stream: TextIO) -> None:
    """Never crash on a terminal that cannot show Chinese: escape what it cannot encode."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="backslashreplace")


if __name__ == "__main__":
    raise SystemExit(main())
