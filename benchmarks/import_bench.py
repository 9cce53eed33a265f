"""Roster import benchmark: prints a table; never a pass/fail test. Figures go in
docs/performance.md.

    python benchmarks/import_bench.py [--database URL] [--rows N]

For a generated N-row roster (default 2,000; households of 2–5, one representative per ten
households) in the demo village: reading the XLSX, preview, apply (one transaction with its
ledger records), and re-importing the same file (every row unchanged), each timed once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ledger_bench import make_app, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="a database URL (default: SQLite)")
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()

    from sqlalchemy import select

    from sunvote.extensions import db
    from sunvote.models import Person, Village
    from sunvote.services.demo import seed_demo
    from sunvote.services.register_files import read_table
    from sunvote.services.register_import import apply_import, preview_import
    from tests.roster_files import csv_bytes, roster_rows, xlsx_bytes

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = make_app(url, Path(tmp) / "instance")
        rows = roster_rows(args.rows)
        xlsx, csv_gbk = xlsx_bytes(rows), csv_bytes(rows, "gbk")
        results: list[tuple[str, str]] = [
            ("database", url.split(":", 1)[0]), ("rows", str(args.rows)),
            ("XLSX size", f"{len(xlsx) / 1024:.0f} KB")]
        with app.app_context():
            seed_demo()
            village = db.session.execute(
                select(Village).where(Village.code == "sunshine")).scalar_one()
            clerk = db.session.execute(
                select(Person.id).where(Person.name == "张敏")).scalar_one()

            def timed(label: str, fn):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                value = fn()
                results.append((label, f"{time.perf_counter() - start:.2f} s"))
                return value

            timed("read XLSX", lambda: read_table("a.xlsx", xlsx))
            timed("read CSV (GBK)", lambda: read_table("a.csv", csv_gbk))
            plan = timed("preview (XLSX)", lambda: preview_import(village.id, clerk, "a.xlsx",
                                                                  xlsx))
            results.append(("  planned create", str(plan.counts["create"])))
            timed("apply (XLSX)", lambda: apply_import(village.id, clerk, "a.xlsx", xlsx))
            again = timed("re-import (unchanged)",
                          lambda: apply_import(village.id, clerk, "a.xlsx", xlsx))
            results.append(("  unchanged on re-import", str(again.counts["unchanged"])))
    table("Roster import", results)


if __name__ == "__main__":
    main()
