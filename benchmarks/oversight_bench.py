"""Oversight dashboard benchmark: prints a table; never a pass/fail test. Figures go in
docs/performance.md.

    python benchmarks/oversight_bench.py [--database URL] [--townships T] [--villages V]
                                         [--matters M] [--meetings K] [--runs N]

Generates a district of T townships × V villages, each with M matters at every state (with their
step records), K quarterly meetings with a 20-member roster, attendance (a sixth by cloud), polls
and ballots, and a warning-raising village in every five (tests/oversight_data.py). Then renders
the district dashboard (/admin/oversight, logged in as the district administrator), a township
dashboard and a village drill-down N times each, and prints p50 / p95 render times and the number
of SQL statements per render. Default: a small district (2 × 5 villages × 20 matters).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ledger_bench import make_app, table  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="a database URL (default: SQLite)")
    parser.add_argument("--townships", type=int, default=2)
    parser.add_argument("--villages", type=int, default=5, help="villages per township")
    parser.add_argument("--matters", type=int, default=20, help="matters per village")
    parser.add_argument("--meetings", type=int, default=4, help="meetings per village")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from sqlalchemy import event, func, select

    from sunvote.extensions import db
    from sunvote.models import (
        Ballot,
        Matter,
        StepRecord,
        Township,
        Village,
    )
    from sunvote.models.base import utcnow
    from tests.conftest import login
    from tests.oversight_data import add_district

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = make_app(url, Path(tmp) / "instance")
        now = utcnow()
        start = time.perf_counter()
        with app.app_context():
            add_district(args.townships, args.villages, args.matters, now,
                         meetings=args.meetings)
            counts = {name: db.session.execute(select(func.count()).select_from(model)
                                               ).scalar_one()
                      for name, model in (("villages", Village), ("matters", Matter),
                                          ("step records", StepRecord), ("ballots", Ballot))}
            first_town = db.session.execute(select(Township.code).order_by(Township.id)
                                            ).scalars().first()
            first_village = db.session.execute(select(Village.code).order_by(Village.id)
                                               ).scalars().first()
        generated = time.perf_counter() - start

        client = login(app.test_client(), "district")
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            statements.append(statement)

        rows: list[tuple[str, str]] = [
            ("database", url.split(":", 1)[0]),
            ("district", f"{args.townships} townships × {args.villages} villages × "
                         f"{args.matters} matters, {args.meetings} meetings each"),
            *((name, f"{n:,}") for name, n in counts.items()),
            ("generating", f"{generated:.1f} s")]
        pages = [("district dashboard", "/admin/oversight"),
                 ("township dashboard", f"/t/{first_town}/oversight"),
                 ("village drill-down", f"/t/{first_town}/oversight/v/{first_village}"),
                 ("district XLSX export", "/admin/oversight/villages.xlsx")]
        with app.app_context():
            engine = db.engine
        for label, path in pages:
            assert client.get(path).status_code == 200  # warm-up
            times: list[float] = []
            queries: set[int] = set()
            for _ in range(args.runs):
                statements.clear()
                event.listen(engine, "before_cursor_execute", count)
                begin = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - begin) * 1000)
                event.remove(engine, "before_cursor_execute", count)
                assert response.status_code == 200
                queries.add(len(statements))
            rows.append((label, f"p50 {statistics.median(times):.0f} ms · "
                                f"p95 {percentile(times, 95):.0f} ms · "
                                f"{'/'.join(map(str, sorted(queries)))} statements · "
                                f"{len(response.data) / 1024:.0f} KB"))
        table("Oversight dashboard", rows)


if __name__ == "__main__":
    main()
