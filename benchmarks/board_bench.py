"""Village public board benchmark (issue 6): prints a table; never a pass/fail test. Figures go in
docs/performance.md.

    python benchmarks/board_bench.py [--database URL] [--townships T] [--villages V]
                                     [--matters M] [--meetings K] [--runs N] [--reuse]
                                     [--gc-freeze] [--profile]

Generates the same district as benchmarks/oversight_bench.py (tests/oversight_data.py: T
townships × V villages, each with M matters at every state with their step records, K quarterly
meetings with a 20-member roster, attendance, polls and named ballots), then renders N times
each: the district dashboard (/admin/oversight, logged in as the district administrator) as a
district official sees it day to day (each village's figures stored at its ledger size by the
render before); the same with every village's stored figures dropped before each render
(counted anew, as on the very first render or after every village has changed); the first
village's public board (/p/<village>/) and the public page of its first completed matter
(/p/<village>/m/<number>, with its poll and 18 named ballots), both without an account. Prints
villages × matters, p50 / p95 / max render times (test client, end to end) and SQL statements
per render. The generator records each step under its step's name; the benchmark then gives each
record a real action (make_actions_valid), which the public matter page needs to label it.

--reuse keeps the database between runs: when it already holds a district of exactly this size
(from an earlier run with the same URL), generation is skipped (regenerate after a schema
change: drop the database). Planner statistics and visibility maps are renewed (VACUUM ANALYZE)
either way. --gc-freeze moves everything alive after a warm-up render of each page out of the
garbage collector's reach (gc.freeze(), as sunvote/gunicorn_conf.py has each production worker
do after start-up), so full collections stay short. --profile adds, for one render of each page,
the time spent in SQL statements with the six slowest (on PostgreSQL a statement's time includes
fetching its rows), then a cProfile (the app's own functions and templates by cumulative time,
then the top 12 functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ledger_bench import create_database_if_missing, make_app, table  # noqa: E402
from benchmarks.oversight_bench import percentile  # noqa: E402


def open_app(url: str, instance: Path, reuse: bool, size: tuple[int, int]):  # type: ignore[no-untyped-def]
    """(app, whether the district must be generated). With ``reuse``, an existing database
    holding ``size`` = (villages, matters) is opened as it is."""
    if reuse:
        os.environ["SUNVOTE_INSTANCE_PATH"] = str(instance)
        from sqlalchemy import func, inspect, select

        from sunvote import create_app
        from sunvote.extensions import db
        from sunvote.models import Matter, Village

        if url.startswith("postgresql"):
            create_database_if_missing(url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            if inspect(db.engine).has_table("matter"):
                db.create_all()  # tables added since it was generated (columns are not)
                found = (db.session.execute(select(func.count()).select_from(Village))
                         .scalar_one(),
                         db.session.execute(select(func.count()).select_from(Matter))
                         .scalar_one())
                if found == (size[0], size[0] * size[1]):
                    return app, False
    return make_app(url, instance), True


def make_actions_valid() -> None:
    """tests/oversight_data.py records each step with its step's name as the action, which the
    dashboards never read but a public matter page labels: give every record a real action (a
    withdrawal or a drop where the matter ended so, the sign-off on a completed matter)."""
    from sqlalchemy import select, update

    from sunvote.domain.procedure import Action, MatterState, Step
    from sunvote.extensions import db
    from sunvote.models import Matter, StepRecord

    for step, action, state in (
            (Step.PROPOSE, Action.WITHDRAW, MatterState.WITHDRAWN),
            (Step.DISCUSS, Action.DROP, MatterState.DROPPED),
            (Step.SUPERVISE, Action.COMPLETE, MatterState.COMPLETED)):
        db.session.execute(update(StepRecord).where(StepRecord.step == step.value,
                                                    StepRecord.matter_id.in_(
                                                        select(Matter.id).where(
                                                            Matter.state == state.value)))
                           .values(action=action))
    for step, action in ((Step.REVIEW, Action.FILE), (Step.VOTE, Action.RECORD_VOTE),
                         (Step.SUPERVISE, Action.START_IMPLEMENTATION)):
        db.session.execute(update(StepRecord).where(StepRecord.action == step.value)
                           .values(action=action))
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="a database URL (default: SQLite)")
    parser.add_argument("--townships", type=int, default=2)
    parser.add_argument("--villages", type=int, default=5, help="villages per township")
    parser.add_argument("--matters", type=int, default=20, help="matters per village")
    parser.add_argument("--meetings", type=int, default=4, help="meetings per village")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database; skip generating when it holds this size")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() after the warm-up renders, as a preloading server "
                             "would after start-up")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one render of each page")
    args = parser.parse_args()

    from sqlalchemy import event, func, select

    from sunvote.extensions import db
    from sunvote.models import Ballot, Matter, Meeting, Poll, StepRecord, Village
    from sunvote.models.base import utcnow
    from tests.conftest import login
    from tests.oversight_data import add_district

    villages = args.townships * args.villages
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        instance = (Path(tempfile.gettempdir()) / "sunvote-board-bench" if args.reuse
                    else Path(tmp) / "instance")
        app, fresh = open_app(url, instance, args.reuse, (villages, args.matters))
        start = time.perf_counter()
        with app.app_context():
            if fresh:
                add_district(args.townships, args.villages, args.matters, utcnow(),
                             meetings=args.meetings, progress=True)
                make_actions_valid()
            # Planner statistics and visibility maps, as autovacuum keeps them in production (a
            # test machine's PostgreSQL may run with autovacuum off: plans over bulk-loaded
            # tables are then guesses, and index-only scans visit the heap anyway).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE" if url.startswith("postgresql")
                                     else "ANALYZE")
            counts = {name: db.session.execute(select(func.count()).select_from(model)
                                               ).scalar_one()
                      for name, model in (("villages", Village), ("matters", Matter),
                                          ("step records", StepRecord), ("meetings", Meeting),
                                          ("polls", Poll), ("ballots", Ballot))}
            village = db.session.execute(select(Village).order_by(Village.id)).scalars().first()
            assert village is not None
            code = village.code
            number = db.session.execute(
                select(Matter.number).join(Poll, Poll.matter_id == Matter.id)
                .where(Matter.village_id == village.id, Matter.state == "completed")
                .order_by(Matter.number).limit(1)).scalar_one()
            shown = db.session.execute(select(func.count()).select_from(Matter).where(
                Matter.village_id == village.id)).scalar_one()
            engine = db.engine
        generated = time.perf_counter() - start

        district = login(app.test_client(), "district")
        public = app.test_client()
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            statements.append(statement)

        timed: list[tuple[float, str]] = []
        began: list[float] = []

        def before(*_a):  # type: ignore[no-untyped-def]
            began.append(time.perf_counter())

        def after(conn, cursor, statement, *_a):  # type: ignore[no-untyped-def]
            timed.append(((time.perf_counter() - began.pop()) * 1000, statement))

        size = f"{villages} × {args.matters}"
        rows: list[tuple[str, str]] = [
            ("database", url.split(":", 1)[0]),
            ("district", f"{args.townships} townships × {args.villages} villages × "
                         f"{args.matters} matters, {args.meetings} meetings each"),
            *((name, f"{n:,}") for name, n in counts.items()),
            ("generating", f"{generated:.1f} s" if fresh else "reused"),
            ("garbage collector", "frozen after warm-up" if args.gc_freeze else "default"),
            ("load before", " ".join(f"{x:.2f}" for x in os.getloadavg()))]
        def forget_figures() -> None:
            """Drop every village's stored figures: the next dashboard counts them all."""
            from sqlalchemy import delete

            from sunvote.models import VillageFigures

            with app.app_context():
                db.session.execute(delete(VillageFigures))
                db.session.commit()

        pages = [("district dashboard", district, "/admin/oversight",
                  f"{size} ({villages} villages, {args.townships} townships listed)", None),
                 ("  figures counted", district, "/admin/oversight",
                  f"{size} (every village's stored figures dropped first)", forget_figures),
                 ("village public board", public, f"/p/{code}/",
                  f"{size} ({shown} matters listed)", None),
                 ("public matter page", public, f"/p/{code}/m/{number}",
                  f"{size} (1 matter, 1 poll, 18 ballots)", None)]
        if args.gc_freeze:
            for _label, client, path, _shown, _prepare in pages:
                client.get(path)
            gc.collect()
            gc.freeze()
        profiles: list[tuple[str, str]] = []
        for label, client, path, shown_size, prepare in pages:
            gc.collect()  # the previous page's garbage is not this page's time
            assert client.get(path).status_code == 200  # warm-up
            times: list[float] = []
            queries: set[int] = set()
            for _ in range(args.runs):
                if prepare is not None:
                    prepare()
                statements.clear()
                event.listen(engine, "before_cursor_execute", count)
                begin = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - begin) * 1000)
                event.remove(engine, "before_cursor_execute", count)
                assert response.status_code == 200
                queries.add(len(statements))
            rows.append((label, f"{shown_size} · p50 {statistics.median(times):.0f} ms · "
                                f"p95 {percentile(times, 95):.0f} ms · "
                                f"max {max(times):.0f} ms · "
                                f"{'/'.join(map(str, sorted(queries)))} statements · "
                                f"{len(response.data) / 1024:.0f} KB"))
            if args.profile and prepare is None:
                timed.clear()
                event.listen(engine, "before_cursor_execute", before)
                event.listen(engine, "after_cursor_execute", after)
                begin = time.perf_counter()
                client.get(path)
                total = (time.perf_counter() - begin) * 1000
                event.remove(engine, "before_cursor_execute", before)
                event.remove(engine, "after_cursor_execute", after)
                slowest = "\n".join(f"  {ms:7.1f} ms  {' '.join(sql.split())[:150]}"
                                     for ms, sql in sorted(timed, reverse=True)[:6])
                profiles.append((label, f"one render {total:.0f} ms, of which "
                                        f"{sum(ms for ms, _ in timed):.0f} ms in "
                                        f"{len(timed)} statements (execute and fetch); "
                                        f"slowest:\n{slowest}"))
                profiler = cProfile.Profile()
                profiler.enable()
                client.get(path)
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("cumulative").print_stats(r"sunvote|templates|execute\b", 20)
                stats.sort_stats("tottime").print_stats(12)
                profiles.append((f"{label}, cProfile", out.getvalue()))
        rows.append(("load after", " ".join(f"{x:.2f}" for x in os.getloadavg())))
        table(f"Public board and district dashboard, {size}, {args.runs} renders each", rows)
        for label, text in profiles:
            print(f"\n{label}: {text}")


if __name__ == "__main__":
    main()
