"""Notices benchmark (issue 18): prints a table; never a pass/fail test. Figures go in
docs/performance.md ("Notices").

    python benchmarks/notices.py [--database URL] [--villages 400] [--members 25]
                                 [--rate 100] [--drain 2000] [--source DIR]

"400 villages × 25 members convened in one morning": a district of ``--villages`` villages
(tests/oversight_data.py: 20 a township), each with an assembly of ``--members`` (its director,
three committee members and representatives), every one with a mobile number and a login, and
one matter filed for the vote. Each village's director then convenes its meeting through
services.assembly.convene, one village after another, which writes the outbox (an inbox
notice and an SMS per member, the ledger's meeting.notice). Prints the convenings' p50/p95 and
total time.

Then the sender drains the SMS (the first ``--drain`` due notices, 0 for all) through Alibaba's
official SDK to the local Alibaba server of tests/notices/servers.py (checking every
signature), at ``--rate`` messages a second (the provider limit the sender keeps; 0: as fast as
it goes), and prints the notices a second and the time all of them would take at that rate.

``--source DIR`` runs the convenings on another checkout of SunVote (e.g. a `git archive` of
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
PER_TOWNSHIP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="a database URL (default: SQLite)")
    parser.add_argument("--villages", type=int, default=400)
    parser.add_argument("--members", type=int, default=25)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--drain", type=int, default=2000)
    parser.add_argument("--source", default=None, help="a SunVote checkout to convene with")
    args = parser.parse_args()
    source = Path(args.source).resolve() if args.source else ROOT
    sys.path.insert(0, str(source))
    sys.path.insert(1, str(ROOT))  # benchmarks/ and tests/ of this checkout

    from sqlalchemy import insert, select, update

    from benchmarks.ledger_bench import make_app, table
    from sunvote.domain.procedure import MatterState
    from sunvote.domain.roles import Role
    from sunvote.extensions import db
    from sunvote.models import Account, Matter, Person, RoleAssignment, Village
    from sunvote.services import assembly
    data = generator()

    outbox = (source / "sunvote" / "services" / "notice_sender.py").exists()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = make_app(url, Path(tmp) / "instance")
        results: list[tuple[str, str]] = [
            ("database", url.split(":", 1)[0]), ("code", str(source)),
            ("convenings", f"{args.villages} villages × {args.members} members")]
        start = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        with app.app_context():
            print(f"generating {args.villages} villages …", file=sys.stderr, flush=True)
            for t in range(0, args.villages, PER_TOWNSHIP):
                town = data.add_township(f"t{t // PER_TOWNSHIP:03d}", f"第{t // PER_TOWNSHIP}镇")
                data.add_villages(town, min(PER_TOWNSHIP, args.villages - t), 4, start, meetings=0,
                             troubled_every=10**9, people=args.members + 1)
            people = db.session.execute(select(Person.id)).scalars().all()
            db.session.execute(update(Person), [
                {"id": pid, "phone": f"139{pid:08d}"} for pid in people])
            db.session.execute(insert(Account), [
                {"person_id": pid, "username": f"u{pid}", "password_hash": "-"}
                for pid in people])
            db.session.commit()
            agenda = db.session.execute(
                select(Village.id, RoleAssignment.person_id, Matter.id)
                .join(RoleAssignment, RoleAssignment.village_id == Village.id)
                .join(Matter, Matter.village_id == Village.id)
                .where(RoleAssignment.role == Role.COMMITTEE_DIRECTOR.value,
                       Matter.state == MatterState.FILED.value)
                .order_by(Village.id)).all()
            times: list[float] = []
            cpu: list[float] = []  # the process's own time: steadier on a shared machine
            for index, (village_id, director, matter_id) in enumerate(agenda):
                now = start + dt.timedelta(hours=1, seconds=index * 9)  # 400 in one hour
                began, began_cpu = time.perf_counter(), time.process_time()
                assembly.convene(director, village_id, "村民代表会议", "村委会议室",
                                 now + dt.timedelta(days=6), [matter_id], now=now)
                times.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            cuts = statistics.quantiles(times, n=20)
            cpu_cuts = statistics.quantiles(cpu, n=20)
            results += [("convene p50", f"{cuts[9] * 1000:.1f} ms"),
                        ("convene p50, CPU", f"{cpu_cuts[9] * 1000:.1f} ms"),
                        ("convene p95", f"{cuts[18] * 1000:.1f} ms"),
                        ("convene total", f"{sum(times):.1f} s")]
            if outbox:
                results += drain(app, args, results)
        table("Notices: convening with the outbox, and draining it", results)


def generator():  # type: ignore[no-untyped-def]
    """tests/oversight_data.py of this checkout, also when convening with ``--source``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("oversight_data",
                                                  ROOT / "tests" / "oversight_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["oversight_data"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


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
