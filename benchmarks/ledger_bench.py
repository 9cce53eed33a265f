"""Ledger benchmark: prints tables; never a pass/fail test. Figures go in docs/performance.md.

    python benchmarks/ledger_bench.py [--database URL] [--appends N] [--verify-records N]
                                      [--million] [--million-dir DIR] [--proof-log N]
                                      [--only {appends,verify,proofs,million}]

1. durable signed appends/s vs plain inserts/s of a row of the same size, both through the same
   ORM, database and one-transaction-per-use-case path, alternated one by one: wall and CPU
   (process) time, statements per use case, the load average at start and end;
2. offline verification rate (jobs 1 and 2) vs the raw Ed25519 verify rate of one core;
3. with --million: a 1,000,000-record export verified with --jobs 2: time and peak memory
   (--million-dir DIR keeps the export in DIR and reuses it next time: building takes minutes);
4. inclusion-proof latency from stored nodes in a log of --proof-log records (default 1,000,000),
   and pymerkle's from its SQLite store in the same run if it is installed (the [bench] extra).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}\n" + "-" * (width + 24))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def create_database_if_missing(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": parsed.database}).first():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def make_app(url: str, instance: Path):  # type: ignore[no-untyped-def]
    os.environ["SUNVOTE_INSTANCE_PATH"] = str(instance)
    from sunvote import create_app
    from sunvote.extensions import db

    if url.startswith("postgresql"):
        create_database_if_missing(url)
        # Emptied before the app starts: it refuses to start on sealed keys of an earlier run
        # whose passphrase file went with that run's temporary folder.
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
    return app


def bench_appends(url: str, n: int) -> list[tuple[str, str]]:
    """Signed appends and plain inserts, alternated one by one in the same run (so both see the
    same machine load): wall and process (CPU) time per operation, and statements per use case."""
    from sqlalchemy import event

    from sunvote.extensions import db
    from sunvote.models import Blob
    from sunvote.services import ledger
    from sunvote.services.unit_of_work import use_case
    from sunvote.services.villages import create_township, create_village

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(url.format(tmp=tmp), Path(tmp))
        with app.app_context():
            town = create_township("bench", "基准镇")
            village = create_village(town.id, "bench-v", "基准村")
            body = {"id": 0, "channel": "paper", "text": "建议" * 40, "name": None,
                    "party_member": False, "recorded_by": None, "at": "2026-11-22T00:00:00Z"}

            @use_case
            def signed(i: int) -> int:
                return ledger.append(village, "suggestion.add", {**body, "id": i}).size

            size_of_record = len(ledger.record_data(village.id, 0))

            @use_case
            def plain(i: int) -> None:
                data = os.urandom(size_of_record)
                db.session.add(Blob(sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                                    data=data))

            statements: list[str] = []

            def count(*args: object) -> None:
                statements.append(str(args[2]))

            signed(0)
            plain(0)
            event.listen(db.engine, "before_cursor_execute", count)
            signed(1)
            signed_statements = len(statements)
            statements.clear()
            plain(1)
            plain_statements = len(statements)
            event.remove(db.engine, "before_cursor_execute", count)
            wall = {"signed": 0.0, "plain": 0.0}
            cpu = {"signed": 0.0, "plain": 0.0}
            load_start = os.getloadavg()[0]
            for i in range(2, n + 2):
                for name, op in (("signed", signed), ("plain", plain)):
                    w, c = time.perf_counter(), time.process_time()
                    op(i)
                    cpu[name] += time.process_time() - c
                    wall[name] += time.perf_counter() - w
            load_end = os.getloadavg()[0]
            db.engine.dispose()
    name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    return [
        (f"{name}: {n:,} of each, alternated; load average (1 min) start / end",
         f"{load_start:.2f} / {load_end:.2f}"),
        (f"{name}: statements per use case, signed append / plain insert",
         f"{signed_statements} / {plain_statements}"),
        (f"{name}: plain inserts/s ({size_of_record} B rows), wall", f"{n / wall['plain']:,.0f}"),
        (f"{name}: signed appends/s, wall", f"{n / wall['signed']:,.0f}"),
        (f"{name}: ratio, wall (target ≥ 0.8)", f"{wall['plain'] / wall['signed']:.2f}"),
        (f"{name}: CPU per plain insert / signed append (this process)",
         f"{cpu['plain'] / n * 1e6:,.0f} / {cpu['signed'] / n * 1e6:,.0f} µs"),
        (f"{name}: ratio, CPU", f"{cpu['plain'] / cpu['signed']:.2f}")]


def build_export(path: Path, n: int) -> str:
    """A valid export of ``n`` suggestion records, made with the pure core (no database)."""
    from sunvote.domain.ledger.checkpoint import Checkpoint, sign_checkpoint
    from sunvote.domain.ledger.export import write_export
    from sunvote.domain.ledger.merkle import EMPTY_ROOT, append_nodes, leaf_hash, root_from_border
    from sunvote.domain.ledger.note import generate_signer
    from sunvote.domain.ledger.records import make_record

    origin = "sunvote.bench/bench-v"
    signer = generate_signer(origin)
    vkey = signer.verifier().vkey
    border: list[bytes] = []

    def records():  # type: ignore[no-untyped-def]
        nonlocal border
        for seq in range(n):
            prev = root_from_border(border) if border else EMPTY_ROOT
            if seq == 0:
                type_, body = "log.init", {"village": "bench-v", "village_name": "基准村",
                                           "township": "bench", "township_name": "基准镇",
                                           "key": vkey, "at": "2026-11-22T00:00:00Z"}
            else:
                type_, body = "suggestion.add", {
                    "id": seq, "channel": "paper", "text": f"建议{seq}", "name": None,
                    "party_member": False, "recorded_by": None, "at": "2026-11-22T00:00:00Z"}
            raw = make_record(origin, seq, prev, type_, body, [signer])
            _, border = append_nodes(seq, border, leaf_hash(raw))
            yield raw

    def checkpoint() -> bytes:
        return sign_checkpoint(Checkpoint(origin, n, root_from_border(border)), signer)

    write_export(path, origin, records(), b"", [vkey], [], "benchmark\n")
    (path / "checkpoint").write_bytes(checkpoint())
    return vkey


def bench_verify(n: int) -> list[tuple[str, str]]:
    from sunvote.domain.ledger.verifier import verify_export

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    message = b"x" * 300
    signature = key.sign(message)
    count = 20_000
    start = time.perf_counter()
    for _ in range(count):
        public.verify(signature, message)
    raw_rate = count / (time.perf_counter() - start)
    rows = [("raw Ed25519 verify/s (one core)", f"{raw_rate:,.0f}")]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        vkey = build_export(Path(tmp), n)
        rows.append((f"building a {n:,}-record export", f"{time.perf_counter() - start:.1f} s"))
        rates = {}
        for jobs in (1, 2):
            load_start = os.getloadavg()[0]
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            start, cpu = time.perf_counter(), time.process_time()
            report = verify_export(Path(tmp), log_vkeys_override=[vkey], jobs=jobs)
            rates[jobs] = rate = n / (time.perf_counter() - start)
            main_cpu = time.process_time() - cpu
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            workers_cpu = (after.ru_utime + after.ru_stime
                           - children.ru_utime - children.ru_stime)
            assert report.exit_code == 0, report.failures[:3]
            rows.append((f"verify records/s, jobs={jobs}", f"{rate:,.0f}"))
            # Per record, in each process: the workers' figure includes starting them (spawn
            # and imports, about a second of CPU each: 20 µs a record at 50,000 records).
            rows.append((f"  CPU per record, jobs={jobs}: main process / workers",
                         f"{main_cpu / n * 1e6:.1f} / {workers_cpu / n * 1e6:.1f} µs"))
            rows.append((f"  load average (1 min) start / end, jobs={jobs}",
                         f"{load_start:.2f} / {os.getloadavg()[0]:.2f}"))
            if jobs == 1:
                rows.append(("ratio to raw Ed25519 (target ≥ 0.6)", f"{rate / raw_rate:.2f}"))
        rows.append(("jobs=2 / jobs=1 (target ≥ 1.9)", f"{rates[2] / rates[1]:.2f}"))
    return rows


def bench_million(keep: Path | None = None) -> list[tuple[str, str]]:
    """Verify a 1,000,000-record export with ``--jobs 2``; ``keep``: where the export is built
    once and reused (its first ``log.vkey`` line is the key), else a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp)
        # build_export signs the checkpoint last: a non-empty one means a complete export.
        if keep is not None and (keep / "checkpoint").exists() and (
                keep / "checkpoint").stat().st_size > 0:
            vkey = (keep / "log.vkey").read_text().split("\n")[0]
            built = "reused " + str(keep)
        else:
            path.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            vkey = build_export(path, 1_000_000)
            built = f"{time.perf_counter() - start:.0f} s"
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "sunvote.verify", str(path), "--key", vkey, "--jobs", "2",
             "--quiet"], cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return [("1,000,000 records: build", built),
                ("1,000,000 records: verify --jobs 2 (target < 120 s)", f"{elapsed:.1f} s"),
                ("CPU time of the verifier and its workers (user + system)",
                 f"{usage.ru_utime + usage.ru_stime:.0f} s"),
                ("peak memory of the verifier process (target < 200 MB)",
                 f"{usage.ru_maxrss / 1024:.0f} MB"),
                ("load average (1 min) before / after",
                 f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"),
                ("exit code", str(proc.returncode))]


def bench_proofs(url: str, n: int) -> list[tuple[str, str]]:
    """Inclusion proofs from stored nodes in an n-record log (nodes bulk-loaded directly)."""
    from sqlalchemy import insert

    from sunvote.domain.ledger.merkle import append_nodes, leaf_hash, root_from_border
    from sunvote.extensions import db
    from sunvote.models import LedgerNode
    from sunvote.services import ledger
    from sunvote.services.villages import create_township, create_village

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(url.format(tmp=tmp), Path(tmp))
        with app.app_context():
            town = create_township("proof", "证明镇")
            village = create_village(town.id, "proof-v", "证明村")
            vid = village.id
            db.session.execute(LedgerNode.__table__.delete().where(LedgerNode.village_id == vid))
            db.session.commit()
            border: list[bytes] = []
            batch: list[dict[str, object]] = []
            start = time.perf_counter()
            for seq in range(n):
                nodes, border = append_nodes(seq, border, leaf_hash(seq.to_bytes(8, "big")))
                batch.extend({"village_id": vid, "level": lv, "idx": ix, "hash": h}
                             for lv, ix, h in nodes)
                if len(batch) >= 50_000:
                    db.session.execute(insert(LedgerNode), batch)
                    batch.clear()
            if batch:
                db.session.execute(insert(LedgerNode), batch)
            db.session.commit()
            loaded = time.perf_counter() - start
            root = root_from_border(border)
            load_start = os.getloadavg()[0]
            timings, cpu = _time_proofs(lambda i: ledger.inclusion_proof(vid, i, n), n,
                                        after_each=db.session.rollback)
            load_end = os.getloadavg()[0]
            from sunvote.domain.ledger.merkle import verify_inclusion

            i = n // 3
            verify_inclusion(leaf_hash(i.to_bytes(8, "big")), i, n,
                             ledger.inclusion_proof(vid, i, n), root)
            db.session.rollback()
            db.engine.dispose()
    name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    return [(f"{name}: {n:,}-leaf tree, nodes loaded in", f"{loaded:.0f} s"),
            (f"{name}: load average (1 min) start / end", f"{load_start:.2f} / {load_end:.2f}"),
            *_proof_rows(f"{name}: SunVote", timings, cpu)]


PROOFS, WARM_UP = 500, 100


def _time_proofs(prove, n: int, after_each=None):  # type: ignore[no-untyped-def]
    """Wall and CPU milliseconds of PROOFS inclusion proofs of random leaves, after WARM_UP
    untimed ones (each implementation fills its caches the same way)."""
    rng = random.Random(1)
    timings: list[float] = []
    cpu: list[float] = []
    for k in range(WARM_UP + PROOFS):
        i = rng.randrange(n)
        t0, c0 = time.perf_counter(), time.process_time()
        prove(i)
        if k >= WARM_UP:
            cpu.append((time.process_time() - c0) * 1000)
            timings.append((time.perf_counter() - t0) * 1000)
        if after_each is not None:
            after_each()
    return sorted(timings), sorted(cpu)


def _proof_rows(name: str, timings: list[float], cpu: list[float]) -> list[tuple[str, str]]:
    return [(f"{name} inclusion proof, wall median / p95 (target < 1 ms at 1M)",
             f"{statistics.median(timings):.2f} / {timings[int(len(timings) * .95)]:.2f} ms"),
            (f"{name} inclusion proof, CPU median / p95",
             f"{statistics.median(cpu):.2f} / {cpu[int(len(cpu) * .95)]:.2f} ms")]


def bench_pymerkle(n: int) -> list[tuple[str, str]]:
    """pymerkle's inclusion proofs from its SQLite store, same tree size and method, if it is
    installed (pip install -e '.[bench]')."""
    try:
        from pymerkle import SqliteTree, verify_inclusion
    except ImportError:
        return [("pymerkle", "not installed: pip install -e '.[bench]' to compare")]
    with tempfile.TemporaryDirectory() as tmp:
        tree = SqliteTree(str(Path(tmp) / "pymerkle.db"))
        start = time.perf_counter()
        tree.append_entries([seq.to_bytes(8, "big") for seq in range(n)])
        loaded = time.perf_counter() - start
        load_start = os.getloadavg()[0]
        timings, cpu = _time_proofs(lambda i: tree.prove_inclusion(i + 1, n), n)
        load_end = os.getloadavg()[0]
        i = n // 3
        verify_inclusion(tree.get_leaf(i + 1), tree.get_root(n), tree.prove_inclusion(i + 1, n))
        tree.close()
    return [(f"pymerkle (SqliteTree): {n:,}-leaf tree, built in", f"{loaded:.0f} s"),
            ("pymerkle: load average (1 min) start / end", f"{load_start:.2f} / {load_end:.2f}"),
            *_proof_rows("pymerkle", timings, cpu)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", action="append", default=[],
                        help="SQLAlchemy URL ({tmp} is a temporary folder); repeatable")
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--verify-records", type=int, default=50_000)
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--million-dir", type=Path, default=None,
                        help="build the 1,000,000-record export here once and reuse it")
    parser.add_argument("--proof-log", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("appends", "verify", "proofs", "million"),
                        action="append", help="run only these sections (repeatable)")
    args = parser.parse_args()
    urls = args.database or ["sqlite:///{tmp}/bench.sqlite3"]
    only = set(args.only or ("appends", "verify", "proofs", "million"))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.2f}")
    if "appends" in only:
        for url in urls:
            table("Appends", bench_appends(url, args.appends))
    if "verify" in only:
        table("Offline verification", bench_verify(args.verify_records))
    if "proofs" in only:
        rows = bench_pymerkle(args.proof_log)
        for url in urls:
            rows += bench_proofs(url, args.proof_log)
        table("Inclusion proofs", rows)
    if "million" in only and (args.million or args.million_dir is not None):
        table("One million records", bench_million(args.million_dir))


if __name__ == "__main__":
    main()
