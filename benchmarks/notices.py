"""Notices benchmark (issue 18): prints a table; never a pass/fail test. Figures go in
docs/performance.md ("Notices").

    python benchmarks/notices.py [--database URL] [--meetings 400] [--rate 100]
                                 [--drain 2000] [--source DIR]

"400 villages × 25 members convened in one morning": ``--meetings`` convenings of the demo
village's assembly (23 members: its director, two committee members and twenty
representatives), each through services.assembly.convene, in a row, every person with a mobile
number, so that each convening writes its outbox (an inbox notice for members with a login, an
SMS each, the ledger's meeting.notice). The demo has one village, so the convenings are of one
village, one after another, not of 400; each is the same transaction either way (the village's
lock, its matters, its roster, its notices). Prints the convenings' p50/p95 and total time.

Then the sender drains the SMS (the first ``--drain`` due notices, 0 for all) through Alibaba's
official SDK to the local Alibaba server of tests/notices/servers.py (checking every
signature), at ``--rate`` messages a second (the provider limit the sender keeps; 0: as fast as
it goes), and prints the notices a second and the time all of them would take at that rate.

``--source DIR`` runs the convenings on another checkout of SunVote (e.g. a worktree of
4cd1613^, before the outbox): the drain is then skipped (that code has no outbox).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="a database URL (default: SQLite)")
    parser.add_argument("--meetings", type=int, default=400)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--drain", type=int, default=2000)
    parser.add_argument("--source", default=None, help="a SunVote checkout to convene with")
    args = parser.parse_args()
    source = Path(args.source).resolve() if args.source else ROOT
    sys.path.insert(0, str(source))
    sys.path.insert(1, str(ROOT))  # benchmarks/ and tests/ of this checkout

    from sqlalchemy import select

    from benchmarks.ledger_bench import make_app, table
    from sunvote.extensions import db
    from sunvote.models import Matter, Person, Village
    from sunvote.services import assembly
    from sunvote.services.demo import seed_demo

    outbox = (source / "sunvote" / "services" / "notice_sender.py").exists()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = make_app(url, Path(tmp) / "instance")
        results: list[tuple[str, str]] = [
            ("database", url.split(":", 1)[0]), ("code", str(source)),
            ("convenings", f"{args.meetings} × the demo village's 23 members")]
        with app.app_context():
            seed_demo()
            for person in db.session.execute(select(Person)).scalars():
                person.phone = f"139{person.id:08d}"
            db.session.commit()
            village = db.session.execute(
                select(Village).where(Village.code == "sunshine")).scalar_one()
            clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
            road = db.session.execute(select(Matter.id).where(
                Matter.number.like("%-001"), Matter.village_id == village.id)).scalar_one()
            start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)
            times: list[float] = []
            for index in range(args.meetings):
                now = start + dt.timedelta(seconds=index)
                began = time.perf_counter()
                assembly.convene(clerk, village.id, f"第{index + 1}次村民代表会议", "村委会议室",
                                 now + dt.timedelta(days=3), [road], now=now)
                times.append(time.perf_counter() - began)
            cuts = statistics.quantiles(times, n=20)
            results += [("convene p50", f"{cuts[9] * 1000:.1f} ms"),
                        ("convene p95", f"{cuts[18] * 1000:.1f} ms"),
                        ("convene total", f"{sum(times):.1f} s")]
            if outbox:
                results += drain(app, args, results)
        table("Notices: convening with the outbox, and draining it", results)


def drain(app, args, results):  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from sunvote.domain.notices import NoticeChannel, NoticeState
    from sunvote.extensions import db
    from sunvote.models import Notice
    from sunvote.services.notice_sender import Sender
    from tests.notices import world
    from tests.notices.servers import provider

    rows: list[tuple[str, str]] = []
    queued = db.session.execute(select(func.count(Notice.id)).where(
        Notice.channel == NoticeChannel.SMS, Notice.state == NoticeState.QUEUED)).scalar_one()
    rows.append(("SMS notices queued", str(queued)))
    with provider("alibaba", **world.ALIBABA) as sms:
        world.configure(app, alibaba=sms, timeout=5.0, rate=args.rate or 1e9)
        sender = Sender(batch=50)
        goal = args.drain or queued
        began = time.perf_counter()
        sent = 0
        while sent < goal:
            done = sender.run_once().outcomes.get("sent", 0)
            if not done:
                break
            sent += done
        elapsed = time.perf_counter() - began
        assert sms.bad_signatures == 0 and set(sms.keys.values()) == {1}
    per_second = sent / elapsed
    rows += [("rate limit kept", f"{args.rate:g}/s" if args.rate else "none"),
             ("SMS sent", f"{sent} in {elapsed:.1f} s"),
             ("drain rate", f"{per_second:.0f}/s"),
             ("all of them at that rate", f"{queued / per_second / 60:.1f} min")]
    return rows


if __name__ == "__main__":
    main()
