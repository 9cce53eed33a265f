"""The assembly under load (issue 16, item 3): SunVote's ballot, check-in and cloud-ballot routes
against a plain one-row insert, over HTTP, in one run. Prints a table; never a pass/fail test.
Figures go in docs/performance.md.

    python benchmarks/http_bench.py [--database URL] [--members 272] [--clients 50]
                                    [--rounds 2] [--workers 2] [--port 8711] [--profile]
                                    [--no-http]

On PostgreSQL (a database it owns: its schema is dropped first) it prepares a village whose
assembly has ``--members`` members (the demo's 23 and representatives added), each with a login;
an open meeting with everyone checked in and enough agenda matters for one poll per round and
route; phones enrolled for every member and joined to that meeting (their sessions); then starts
two gunicorn servers with sunvote/gunicorn_conf.py and ``--workers`` workers each: SunVote
(wsgi:app) and benchmarks/plain_insert_app.py (one row per POST, no session, no CSRF). Logins,
phone sessions and CSRF tokens are made beforehand in this process (signed session cookies, as
the login page would set them), so no request logs in.

Each round, in alternating order, ``--clients`` threads send one request per member (each on a
new connection: gunicorn's sync workers close every connection) to:

- ballot:  ``POST /v/<code>/meetings/<n>/vote-<poll>``, each member's own named ballot from
  their logged-in phone (redirects are not followed);
- secret:  the same in a secret poll (answered with a redirect);
- check-in: ``POST /v/<code>/meetings/<n>/checkin-<member>``, the clerk checking members in one
  at a time, in a meeting opened for that round;
- cloud:   ``POST /c/vote``, each member's phone-signed named ballot (Ed25519, as
  static/js/cloud.js signs it);
- plain:   ``POST /insert`` of the plain app.

The poll of a round is opened before it and closed after it (services, in this process). It
prints requests/s and p50 / p99 latency per route, each route's ratio to the plain insert, and
the device signature's verification cost (timeit, in this process) as a share of a cloud
ballot. ``--profile`` then sends ``--members`` more requests of each kind through Flask's test
client in this process, on the same database, and prints SQL statements, round trips to the
database and CPU time per request (on the first half, without the profiler), and CPU-time
cProfiles of the member's ballot (named, secret) on the second half. ``--no-http`` does only
that (no servers, no HTTP rounds).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ledger_bench import create_database_if_missing, make_app  # noqa: E402
from benchmarks.oversight_bench import percentile  # noqa: E402

USER_AGENT = "sunvote-http-bench"
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/sunvote_bench_http"


@dataclass(frozen=True)
class Request:
    """One prepared HTTP request and the statuses that count as done."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    ok: tuple[int, ...]


@dataclass
class Result:
    """Requests of one route over all rounds."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    failed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0


# --- The village ----------------------------------------------------------------------------


@dataclass
class Voter:
    """A member of the assembly: their login session and their phone."""

    person_id: int
    cookie: str  # the login's session cookie value
    csrf: str
    phone_key: Any  # Ed25519PrivateKey
    key_text: str
    phone_cookie: str  # the phone's (CSRF-only) session cookie value
    phone_csrf: str
    cloud_session: str  # the joined phone's sunvote_cloud token


@dataclass
class World:
    """What the rounds need: the village, the meeting everyone is in, the matters to vote on."""

    code: str
    origin: str
    clerk_id: int
    clerk_cookie: str
    clerk_csrf: str
    meeting_id: int
    meeting_number: int
    matters: list[int]
    voters: list[Voter]
    cookie_name: str


def session_cookie(app: Any, account: Any | None) -> tuple[str, str]:
    """A signed session cookie as the login page would set it (``account`` logged in; None: a
    phone's session that only holds a CSRF token), and its CSRF token."""
    from flask import g, session
    from flask_wtf.csrf import generate_csrf

    from sunvote.auth import sessions

    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                  headers={"User-Agent": USER_AGENT}):
        g.pop("csrf_token", None)  # an outer app context's token is not this session's
        if account is not None:
            sessions.start(account, shared=False)
        token = generate_csrf()
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return value, token


def prepare(app: Any, members: int, polls: int) -> World:
    """The demo village with ``members`` in its assembly, logins for all, an open meeting with
    ``polls`` filed matters on its agenda and everyone checked in, and every member's phone
    enrolled and joined to it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import select

    from sunvote.domain import cloud as cloud_rules
    from sunvote.domain.procedure import Action
    from sunvote.domain.roles import Role
    from sunvote.extensions import db
    from sunvote.models import Account, Device, Invitation, Meeting, MeetingMember, Person
    from sunvote.models.base import utcnow
    from sunvote.services import assembly, matters
    from sunvote.services.demo import TERM_START, seed_demo
    from sunvote.services.roster import appoint

    now = utcnow()
    before = now - dt.timedelta(days=10)
    with app.app_context():
        seed_demo(before)

        def person_of(username: str) -> int:
            return int(db.session.execute(select(Account.person_id).where(
                Account.username == username)).scalar_one())

        clerk = person_of("clerk")
        secretary = person_of("secretary")
        reviewer = person_of("reviewer")
        village = db.session.execute(select(Person.village_id).where(
            Person.id == clerk)).scalar_one()
        from sunvote.models import Village

        v = db.session.get(Village, village)
        assert v is not None
        code, origin = v.code, str(v.origin)
        # Representatives up to the roster's size (23 in the demo: director, two committee
        # members, 20 representatives).
        people = [Person(village_id=village, name=f"代表{i:03d}") for i in range(members - 23)]
        db.session.add_all(people)
        db.session.commit()
        for p in people:
            appoint(p.id, Role.REPRESENTATIVE, TERM_START, village_id=village,
                    households_represented=10, group_name="第一村民小组", now=before)
        # The filed matters the polls are on (the demo files one).
        filed = []
        for i in range(polls):
            m = matters.open_matter(village, clerk, {
                "title": f"基准事项{i + 1}", "text": "基准测试的事项。"}, now=before)
            matters.act(m.id, Action.PROPOSE, secretary, {
                "category": 2, "title": f"基准事项{i + 1}", "summary": "基准测试的事项。",
                "amount_fen": 1_000_000}, now=before)
            matters.act(m.id, Action.DISCUSS, clerk, {
                "meeting_date": before.date().isoformat(), "expected": 9, "present": 8,
                "minutes": "联席会议同意。", "plan": "基准测试的方案。"}, now=before)
            matters.act(m.id, Action.FILE, reviewer, {"filing_no": f"基准备〔2026〕{i + 1}号"},
                        now=before)
            filed.append(m.id)
        meeting = open_meeting(clerk, village, filed, before, now)
        roster = list(db.session.execute(select(MeetingMember.person_id).where(
            MeetingMember.meeting_id == meeting.id).order_by(MeetingMember.id)).scalars())
        assert len(roster) == members, len(roster)
        assembly.check_in_many(clerk, meeting.id, [str(m) for m in roster], now=now)

        # A login for every member (the hash is never checked: sessions are made here).
        has_login = set(db.session.execute(select(Account.person_id)).scalars())
        db.session.add_all(Account(person_id=m, username=f"bench{m}", password_hash="-")
                           for m in roster if m not in has_login)
        # Every member's phone enrolled and joined (rows as enrol_device and join leave them).
        phones = {}
        for m in roster:
            private = Ed25519PrivateKey.generate()
            raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)
            key_text = f"ed25519:{base64.b64encode(raw).decode()}"
            device = Device(village_id=village, person_id=m, key=key_text,
                            fingerprint=secrets.token_hex(8), pin_hash="-",
                            enrolled_at=before, enrolled_by_id=clerk)
            db.session.add(device)
            db.session.flush()
            token = cloud_rules.new_token()
            db.session.add(Invitation(
                meeting_id=meeting.id, person_id=m, token_hash=cloud_rules.token_hash(
                    cloud_rules.new_token()), issued_by_id=clerk, issued_at=now, used_at=now,
                device_id=device.id, session_hash=cloud_rules.token_hash(token)))
            phones[m] = (private, key_text, token)
        db.session.commit()
        accounts = {a.person_id: a for a in db.session.execute(select(Account)).scalars()}
        voters = []
        for m in roster:
            cookie, csrf = session_cookie(app, accounts[m])
            phone_cookie, phone_csrf = session_cookie(app, None)
            private, key_text, token = phones[m]
            voters.append(Voter(m, cookie, csrf, private, key_text, phone_cookie, phone_csrf,
                                token))
        clerk_cookie, clerk_csrf = session_cookie(app, accounts[clerk])
        number = db.session.get(Meeting, meeting.id).number  # type: ignore[union-attr]
        return World(code, origin, clerk, clerk_cookie, clerk_csrf, meeting.id, number,
                     filed, voters, app.config["SESSION_COOKIE_NAME"])


def open_meeting(clerk: int, village: int, agenda: list[int], convened: dt.datetime,
                 now: dt.datetime) -> Any:
    """A meeting convened ten days ago for an hour ago, opened now (its roster frozen)."""
    from sunvote.services import assembly

    meeting = assembly.convene(clerk, village, "基准测试会议", "村委会议室",
                               now - dt.timedelta(hours=1), agenda, now=convened)
    assembly.open_meeting(clerk, meeting.id, now=now)
    return meeting


# --- The requests -------------------------------------------------------------------------------


def form(cookie_name: str, cookie: str, fields: dict[str, str]) -> tuple[dict[str, str], bytes]:
    return ({"Cookie": f"{cookie_name}={cookie}", "User-Agent": USER_AGENT,
             "Content-Type": "application/x-www-form-urlencoded"},
            urllib.parse.urlencode(fields).encode())


def ballot_requests(world: World, poll: int) -> list[Request]:
    """Each member's own named ballot, from their logged-in phone in the hall."""
    path = f"/v/{world.code}/meetings/{world.meeting_number}/vote-{poll}"
    out = []
    for v in world.voters:
        headers, body = form(world.cookie_name, v.cookie, {"csrf_token": v.csrf, "choice": "yes"})
        out.append(Request("POST", path, headers, body, (200, 302, 303)))
    return out


def checkin_requests(world: World, meeting_number: int) -> list[Request]:
    """The clerk checks every member in, one request each."""
    out = []
    for v in world.voters:
        headers, body = form(world.cookie_name, world.clerk_cookie,
                             {"csrf_token": world.clerk_csrf})
        out.append(Request("POST", f"/v/{world.code}/meetings/{meeting_number}/checkin-"
                           f"{v.person_id}", headers, body, (302, 303)))
    return out


def cloud_requests(world: World, poll: int) -> list[Request]:
    """Each member's phone-signed named ballot (what static/js/cloud.js sends)."""
    from sunvote.domain.ledger.canonical import canonical_json

    out = []
    for v in world.voters:
        ballot = secrets.token_urlsafe(16)
        statement = canonical_json({
            "v": 1, "t": "ballot", "log": world.origin, "meeting": world.meeting_number,
            "poll": poll, "member": v.person_id, "choice": "yes", "ballot": ballot,
        }).decode("ascii")
        sig = base64.b64encode(v.phone_key.sign(statement.encode())).decode()
        body = json.dumps({"poll": poll, "choice": "yes", "ballot": ballot, "key": v.key_text,
                           "statement": statement, "sig": sig}).encode()
        out.append(Request("POST", "/c/vote", {
            "Cookie": f"{world.cookie_name}={v.phone_cookie}; sunvote_cloud={v.cloud_session}",
            "User-Agent": USER_AGENT, "Content-Type": "application/json",
            "Accept": "application/json", "X-CSRFToken": v.phone_csrf}, body, (200,)))
    return out


def plain_requests(n: int) -> list[Request]:
    return [Request("POST", "/insert", {"User-Agent": USER_AGENT,
                                        "Content-Type": "application/x-www-form-urlencoded"},
                    urllib.parse.urlencode({"code": secrets.token_urlsafe(16),
                                            "choice": "yes"}).encode(), (204,))
            for _ in range(n)]


def drive(port: int, requests: list[Request], clients: int, result: Result) -> None:
    """Send ``requests`` from ``clients`` threads at once; add latencies and wall time."""
    todo: queue.SimpleQueue[Request] = queue.SimpleQueue()
    for r in requests:
        todo.put(r)
    latencies: list[float] = []
    failed: list[tuple[int, str]] = []
    start = threading.Barrier(clients + 1)

    def client() -> None:
        start.wait()
        while True:
            try:
                r = todo.get_nowait()
            except queue.Empty:
                return
            began = time.perf_counter()
            conn = HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                conn.request(r.method, r.path, r.body, r.headers)
                answer = conn.getresponse()
                content = answer.read()
                status = answer.status
            except OSError as exc:
                status, content = 0, str(exc).encode()
            finally:
                conn.close()
            latencies.append(time.perf_counter() - began)
            if status not in r.ok:
                failed.append((status, content[:300].decode(errors="replace")))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    result.wall += time.perf_counter() - began
    result.latencies.extend(latencies)
    result.failed.extend(failed)


# --- The servers --------------------------------------------------------------------------------


@contextmanager
def server(target: str, port: int, workers: int, env: dict[str, str]) -> Iterator[None]:
    """gunicorn with SunVote's production settings serving ``target`` until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:sunvote.gunicorn_conf",
         "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", target],
        cwd=ROOT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn for {target} did not start") from None
                time.sleep(0.3)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def warm_up(port: int, requests: list[Request], times: int = 8) -> None:
    """Send a few requests that change nothing (pages), so that both workers have compiled their
    templates and opened their connections."""
    for _ in range(times):
        for r in requests:
            conn = HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request(r.method, r.path, r.body, r.headers)
            conn.getresponse().read()
            conn.close()


# --- Verification cost --------------------------------------------------------------------------


def verify_cost(world: World) -> dict[str, float]:
    """Seconds per device-signature verification (services.cloud._check_proof, which runs
    domain.ledger.device.verify_statement), Ed25519 and ECDSA P-256."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    from sunvote.domain.ledger.canonical import canonical_json
    from sunvote.services.cloud import Proof, _check_proof

    statement = canonical_json({"v": 1, "t": "ballot", "log": world.origin, "meeting": 1,
                                "poll": 1, "member": 1, "choice": "yes",
                                "ballot": secrets.token_urlsafe(16)}).decode("ascii")
    ed = Ed25519PrivateKey.generate()
    ed_key = "ed25519:" + base64.b64encode(ed.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
    ed_proof = Proof(ed_key, statement, base64.b64encode(ed.sign(statement.encode())).decode())
    p256 = ec.generate_private_key(ec.SECP256R1())
    p_key = "p256:" + base64.b64encode(p256.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)).decode()
    r, s = decode_dss_signature(p256.sign(statement.encode(), ec.ECDSA(hashes.SHA256())))
    p_proof = Proof(p_key, statement,
                    base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode())
    out = {}
    for name, proof in (("ed25519", ed_proof), ("p256", p_proof)):
        runs = 2000
        best = min(timeit.repeat(lambda proof=proof: _check_proof(proof, statement),  # type: ignore[misc]
                                 number=runs, repeat=5))
        out[name] = best / runs
    return out


# --- In process: statements, CPU, profile ------------------------------------------------------


def in_process(app: Any, db: Any, requests: list[Request], profile: bool = False
               ) -> tuple[float, float, float, str]:
    """Send ``requests`` through the test client one by one: (SQL statements per request,
    round trips to the database per request, CPU seconds per request, the cProfile text when
    ``profile``). Round trips: the statements, each BEGIN, COMMIT and ROLLBACK, and the ping
    of each connection taken from the pool (pool_pre_ping). ``db``: the app's Flask-SQLAlchemy
    extension."""
    from sqlalchemy import event

    client = app.test_client(use_cookies=False)
    with app.app_context():
        engine = db.engine
    counted = {"statements": 0, "other": 0}

    def statement(*_args: object) -> None:
        counted["statements"] += 1

    def other(*_args: object) -> None:
        counted["other"] += 1

    hooks = [(engine, "before_cursor_execute", statement), (engine, "begin", other),
             (engine, "commit", other), (engine, "rollback", other),
             (engine.pool, "checkout", other)]
    for target, name, fn in hooks:
        event.listen(target, name, fn)
    # CPU time, not wall time: on a shared machine the waits say little. The CPU time per
    # request is measured on the first half without the profiler, which slows what it watches.
    profiler = cProfile.Profile(time.process_time) if profile else None
    timed = requests[:len(requests) // 2] if profile else requests

    def send(r: Request) -> None:
        answer = client.open(r.path, method=r.method, headers=r.headers, data=r.body,
                             environ_base={"REMOTE_ADDR": "127.0.0.1"})
        if answer.status_code not in r.ok:
            raise SystemExit(f"{r.path}: {answer.status_code} "
                             f"{answer.get_data(as_text=True)[:500]}")

    try:
        began = time.process_time()
        for r in timed:
            send(r)
        cpu = time.process_time() - began
        if profiler is not None:
            profiler.enable()
            for r in requests[len(timed):]:
                send(r)
            profiler.disable()
    finally:
        for target, name, fn in hooks:
            event.remove(target, name, fn)
    text = ""
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
        stats.print_stats(70)
        stats.sort_stats("tottime").print_stats(25)
        text = out.getvalue()
    n = len(requests)
    return (counted["statements"] / n, (counted["statements"] + counted["other"]) / n,
            cpu / len(timed), text)


def empty_database(url: str) -> None:
    """Create the database if missing and drop everything in it (the previous run's sealed
    keys would stop a new instance from starting)."""
    from sqlalchemy import create_engine, text

    if not url.startswith("postgresql"):
        raise SystemExit("the benchmark runs on PostgreSQL (--database postgresql+psycopg://…)")
    create_database_if_missing(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


# --- Main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE,
                        help="a PostgreSQL URL (the database is emptied)")
    parser.add_argument("--members", type=int, default=272)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8711,
                        help="SunVote's port; the plain app takes the next one")
    parser.add_argument("--profile", action="store_true",
                        help="then statements, CPU and a profile per request, in process")
    parser.add_argument("--no-http", action="store_true",
                        help="no servers, no HTTP rounds: only what --profile measures")
    args = parser.parse_args()
    if args.members < 24:
        parser.error("--members must be at least 24 (the demo's assembly has 23)")

    instance = Path(tempfile.mkdtemp(prefix="sunvote-http-bench-"))
    os.environ["SUNVOTE_DATABASE_URL"] = args.database
    os.environ["SUNVOTE_INSTANCE_PATH"] = str(instance)
    # named, secret and cloud per round and for --profile, and one never polled: the check-in
    # meetings' agenda (a meeting is convened for filed matters only)
    polls = 3 * args.rounds + 4
    began = time.perf_counter()
    empty_database(args.database)
    app = make_app(args.database, instance)
    world = prepare(app, args.members, polls)
    from benchmarks import plain_insert_app  # creates its table, before the workers start

    print(f"prepared {args.members} members, {polls} matters in "
          f"{time.perf_counter() - began:.0f} s (instance {instance})", flush=True)

    if args.no_http:
        profile(app, world, iter(range(1, len(world.matters))), plain_insert_app,
                verify_cost(world))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sunvote_port, plain_port = args.port, args.port + 1
    results = {name: Result() for name in ROUTES}
    polls_used = iter(range(1, len(world.matters)))
    with server("wsgi:app", sunvote_port, args.workers, env), \
            server("benchmarks.plain_insert_app:app", plain_port, args.workers, env):
        room = f"/v/{world.code}/meetings/{world.meeting_number}"
        cookie = {"Cookie": f"{world.cookie_name}={world.clerk_cookie}",
                  "User-Agent": USER_AGENT}
        warm_up(sunvote_port, [Request("GET", room, cookie, b"", (200,)),
                               Request("GET", "/c/meeting.json", {
                                   "Cookie": f"sunvote_cloud={world.voters[0].cloud_session}"},
                                   b"", (200,))])
        drive(plain_port, plain_requests(50), args.clients, Result())  # warm-up
        for r in range(args.rounds):
            order = list(ROUTES)
            for name in order if r % 2 == 0 else order[::-1]:
                run_round(app, name, world, results[name], polls_used, sunvote_port, plain_port,
                          args.clients)
                print(f"round {r + 1} {name}: {results[name].rate:.1f}/s so far", flush=True)

    verify = verify_cost(world)
    report(args, results, verify)
    if args.profile:
        profile(app, world, polls_used, plain_insert_app, verify)


#: The routes, in the order of a round (reversed every other round), with their labels.
ROUTES = {
    "plain": "plain insert (POST /insert)",
    "ballot": "member ballot, named (POST …/vote-<poll>)",
    "secret": "member ballot, secret (POST …/vote-<poll>)",
    "checkin": "check-in by the clerk (POST …/checkin-<m>)",
    "cloud": "cloud ballot, named (POST /c/vote, Ed25519)",
}


def requests_for(app: Any, name: str, world: World, polls_used: Iterator[int]
                 ) -> tuple[list[Request], int | None]:
    """One request per member for route ``name``, and the poll opened for them (None for
    check-ins, which get a meeting of their own)."""
    from sunvote.domain.assembly import VoteMode
    from sunvote.extensions import db
    from sunvote.models import Village
    from sunvote.models.base import utcnow
    from sunvote.services import polls

    if name == "plain":
        return plain_requests(len(world.voters)), None
    with app.app_context():
        if name == "checkin":
            village = db.session.execute(db.select(Village.id).where(
                Village.code == world.code)).scalar_one()
            now = utcnow()
            meeting = open_meeting(world.clerk_id, village, world.matters[:1],
                                   now - dt.timedelta(days=10), now)
            return checkin_requests(world, meeting.number), None
        mode = VoteMode.SECRET if name == "secret" else VoteMode.NAMED
        poll = polls.open_poll(world.clerk_id, world.meeting_id,
                               world.matters[next(polls_used)], mode)
        requests = (cloud_requests(world, poll.number) if name == "cloud"
                    else ballot_requests(world, poll.number))
        return requests, poll.id


def close(app: Any, world: World, poll_id: int | None) -> None:
    from sunvote.services import polls

    if poll_id is not None:
        with app.app_context():
            polls.close_poll(world.clerk_id, poll_id)


def run_round(app: Any, name: str, world: World, result: Result, polls_used: Iterator[int],
              sunvote_port: int, plain_port: int, clients: int) -> None:
    """One route's round: its poll opened before and closed after (a new meeting for
    check-ins), one request per member."""
    requests, poll_id = requests_for(app, name, world, polls_used)
    drive(plain_port if name == "plain" else sunvote_port, requests, clients, result)
    close(app, world, poll_id)


def report(args: argparse.Namespace, results: dict[str, Result],
           verify: dict[str, float]) -> None:
    plain = results["plain"]
    print(f"\n{args.members} members, {args.clients} clients, {args.workers} gunicorn workers "
          f"each, {args.rounds} rounds; PostgreSQL")
    print(f"{'route':<46} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'/ plain':>8} {'failed':>7}")
    for name, result in results.items():
        lat = result.latencies
        ratio = result.rate / plain.rate if plain.rate else 0.0
        print(f"{ROUTES[name]:<46} {len(lat):>8} {result.rate:>8.1f} "
              f"{percentile(lat, 50) * 1000:>8.1f} {percentile(lat, 99) * 1000:>8.1f} "
              f"{ratio:>8.3f} {len(result.failed):>7}")
        for status, body in result.failed[:3]:
            print(f"    failed: {status} {body!r}")
    cloud = results["cloud"]
    for alg, seconds in verify.items():
        share = seconds * cloud.rate / args.workers
        print(f"device signature check ({alg}): {seconds * 1e6:.0f} µs each; "
              f"{share:.1%} of the workers' time at the cloud ballot's rate")


def profile(app: Any, world: World, polls_used: Iterator[int], plain: Any,
            verify: dict[str, float]) -> None:
    """Statements and CPU per request through the test client; a cProfile of the named
    ballot."""
    from sunvote.extensions import db

    rows = []
    texts = {}
    for name in ROUTES:
        requests, poll_id = requests_for(app, name, world, polls_used)
        if name == "plain":
            count, trips, cpu, _text = in_process(plain.app, plain.db, requests)
        else:
            count, trips, cpu, texts[name] = in_process(app, db, requests,
                                                        profile=name in ("ballot", "secret"))
        close(app, world, poll_id)
        rows.append((ROUTES[name], count, trips, cpu))
    print("\nIn process (Flask test client, one request at a time, same database):")
    print(f"{'route':<46} {'statements':>10} {'round trips':>11} {'CPU ms':>8} "
          f"{'plain / route (CPU)':>20}")
    plain_cpu = rows[0][3]
    for label, count, trips, seconds in rows:
        print(f"{label:<46} {count:>10.1f} {trips:>11.1f} {seconds * 1000:>8.2f} "
              f"{plain_cpu / seconds:>20.3f}")
    cloud_cpu = next(cpu for label, _count, _trips, cpu in rows if label == ROUTES["cloud"])
    for alg, seconds in verify.items():
        print(f"device signature check ({alg}): {seconds / cloud_cpu:.1%} of a cloud ballot's "
              "CPU time in process")
    print("\ncProfile of the named member ballots (answered with the room page):\n"
          + texts["ballot"])
    print("\ncProfile of the secret member ballots (answered with a redirect):\n"
          + texts["secret"])


if __name__ == "__main__":
    main()
