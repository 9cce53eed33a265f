"""Test fixtures: `app`, `client`, `runner`, the demo data, and logged-in clients.

The database is SQLite (a fresh file per test, copied from a schema file made once) unless
SUNVOTE_TEST_DATABASE_URL names a PostgreSQL database, which is then created if missing, given
the schema once, and emptied after every test; that pass runs only the tests that use the
database (`pytest_collection_modifyitems`). Under CI=true a test that would be skipped for a
missing database or browser fails.

The suite runs in parallel (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml): each
worker has its own temporary folder and its own PostgreSQL databases (`worker_database_url`);
a module's tests that share a module-scoped world run on one worker (`xdist_group`).
docs/development.md, "The suite in parallel".

The demo data (the `demo` fixture, about 600 tests) is built once per run (`demo_world`: the
use cases run once, on a database of its own) and copied into each test's fresh database, with
the instance's ledger passphrase and origin prefix, instead of running the use cases again for
every test (issue 17, "a test world built once"; docs/development.md).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import Integer, Table, create_engine, select, text
from sqlalchemy.engine import make_url

from sunvote import create_app
from sunvote.config import normalise_database_url
from sunvote.extensions import db
from sunvote.models import Base
from sunvote.services import limits as limits_service
from sunvote.services import passwords

CI = os.environ.get("CI") == "true"
#: The pytest-xdist worker this process is ("gw0", "gw1", …), or "" when the suite runs in one
#: process (`-n 0`). Each worker has its own temporary folder (pytest's basetemp), hence its
#: own SQLite files and instance folders, and its own PostgreSQL databases (`postgres_url`).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")

# Password and PIN hashes made in tests cost scrypt N=2^10, not production's 2^15 (checking
# reads the cost from the hash): hundreds of logins and phone enrolments each spent about 0.1 s
# in scrypt. Tests only; services/passwords.py.
passwords.METHOD = "scrypt:1024:8:1"
TEST_DATABASE_URL = os.environ.get("SUNVOTE_TEST_DATABASE_URL")


def require(condition: bool, why: str) -> None:
    """Skip when ``condition`` fails, except under CI=true, where it is a failure."""
    if not condition:
        if CI:
            pytest.fail(f"{why} — under CI=true a skipped test fails the run")
        pytest.skip(why)


def pytest_report_header(config: pytest.Config) -> str:
    if not TEST_DATABASE_URL:
        return "sunvote database: SQLite (fresh file per test)"
    return (f"sunvote database: {TEST_DATABASE_URL} (with pytest-xdist, one database per "
            "worker: the name + _gw0, _gw1, …)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Belt and braces: any skip at all fails a CI run.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if CI and reporter is not None and reporter.stats.get("skipped"):
        reporter.write_line("CI=true: skipped tests are failures", red=True)
        session.exitstatus = 1


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def ensure_postgres_database(url: str) -> None:
    """Create the database named in ``url`` if the server does not have it yet.

    Its sessions commit without waiting for the write-ahead log to reach the disk
    (`synchronous_commit = off`, a setting of this test database only): what a commit promises
    to other sessions and processes is unchanged, only a crash of the server or the machine
    could lose the last commits, which no test does. The PostgreSQL pass spent most of its time
    waiting on those flushes when other suites shared the disk."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": parsed.database}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        conn.execute(text(f'ALTER DATABASE "{parsed.database}" SET synchronous_commit = off'))
    admin.dispose()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the `xdist_group` marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Two things, in each process that collects (each pytest-xdist worker):

    - The tests of a module that use one of its module-scoped fixtures (a world built once
      for the module: tests/web/module_demo.py, the verifier's exports) form one
      `xdist_group`, so that one worker runs them all and builds the world once
      (`--dist loadgroup`, pyproject.toml); every other test goes to whichever worker is free.
    - On PostgreSQL, run only what touches the database: the tests that use `postgres_url`,
      directly or through `app`, `demo` and the like. The rest (the pure domain tests, the
      verifier's, the ones building their own SQLite app) ran in the SQLite pass and would only
      run again unchanged (issue 17: "the pure domain tests need no second run")."""
    for item in items:
        if _uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    if not TEST_DATABASE_URL:
        return
    keep = [item for item in items if "postgres_url" in getattr(item, "fixturenames", ())]
    if len(keep) < len(items):
        config.hook.pytest_deselected(
            items=[item for item in items if "postgres_url" not in getattr(
                item, "fixturenames", ())])
        items[:] = keep


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # not a test function (none in this suite)
        return False
    return any(definitions[-1].scope in ("module", "class", "package")
               for definitions in info.name2fixturedefs.values() if definitions)


def fresh_postgres_schema(url: str) -> None:
    """The database named in ``url`` (created if missing) with an empty current schema."""
    ensure_postgres_database(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    engine.dispose()


def worker_database_url(url: str) -> str:
    """``url`` for this process: under pytest-xdist the database name gets the worker's
    suffix (``sunvote_test_gw0``), so that workers never share a database. The databases
    derived from it (``…_world``, ``…_migrations``) follow."""
    if not WORKER:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(
        hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    """The PostgreSQL URL under test, with a fresh schema, or None for SQLite."""
    if not TEST_DATABASE_URL:
        return None
    url = worker_database_url(normalise_database_url(TEST_DATABASE_URL))
    try:
        fresh_postgres_schema(url)
    except Exception as exc:  # the message says which server could not be reached
        require(False, f"PostgreSQL at {TEST_DATABASE_URL} unusable: {exc}")
    return url


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


#: The Redis this machine runs (tests that parametrise ``ratelimit_storage`` with it).
REDIS_URL = os.environ.get("SUNVOTE_TEST_REDIS_URL", "redis://127.0.0.1:6379")


class SharedBytecode(BytecodeCache):
    """Jinja's compiled templates, kept in memory for every app of this test process: each
    test's app would otherwise parse and compile every template it renders again (about a
    sixth of a page test's time). Jinja checks each entry against the template's source. Every
    app here comes from `create_app`, so all have the same Jinja settings (extensions,
    autoescape), which is what makes sharing the compiled code sound."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = SharedBytecode()


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the current schema and no rows, made once per process by an app as
    the `app` fixture made it for each test (`db.create_all`); each test's app starts on a copy."""
    tmp = tmp_path_factory.mktemp("schema")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUNVOTE_INSTANCE_PATH", str(tmp / "instance"))
        maker = create_app({"TESTING": True, "SERVER_NAME": "sunvote.test",
                            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'schema.sqlite3'}"})
    with maker.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the write-ahead log is folded into the file
    return tmp / "schema.sqlite3"


@pytest.fixture
def ratelimit_storage() -> str:
    """Where the app counts refused attempts; a test parametrises it with REDIS_URL to run
    against the real Redis."""
    return "memory://"


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Settings a test parametrises the app with (e.g. TRUSTED_PROXIES)."""
    return {}


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
        postgres_url: str | None, ratelimit_storage: str,
        app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app on an empty database with the current schema (on SQLite a copy of the file
    `sqlite_schema` made). Its limits' counters start empty and are dropped afterwards (with
    Redis, under a key prefix of this test's own). Its templates are compiled once per process
    (`TEMPLATE_BYTECODE`)."""
    monkeypatch.setenv("SUNVOTE_INSTANCE_PATH", str(tmp_path / "instance"))
    url = postgres_url or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    if postgres_url is None:  # the empty schema, made once (`sqlite_schema`)
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), tmp_path / "test.sqlite3")
    limits: dict[str, Any] = {"RATELIMIT_STORAGE_URI": ratelimit_storage}
    if ratelimit_storage.startswith("redis"):
        require(_redis_answers(ratelimit_storage), f"no Redis at {ratelimit_storage}")
        limits["RATELIMIT_STORAGE_OPTIONS"] = {"wrap_exceptions": True,
                                               "key_prefix": f"sunvote-test-{uuid.uuid4().hex}"}
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "SERVER_NAME": "sunvote.test", **limits, **app_config})
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    with app.app_context():
        limits_service.reset()
    yield app
    with app.app_context():
        limits_service.reset()
        db.session.remove()
        db.engine.dispose()
    if postgres_url is not None:
        _empty_postgres(postgres_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@dataclass(frozen=True)
class DemoWorld:
    """The demo data as `seed_demo` left it: every table's rows, and the instance secrets its
    keys were sealed with and its logs' origins begin with."""

    rows: tuple[tuple[Table, tuple[dict[str, Any], ...]], ...]
    ledger_passphrase: str
    origin_prefix: str


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory,
               postgres_url: str | None) -> DemoWorld:
    """`seed_demo` run once, on a database of its own (a SQLite file, or ``<test db>_world`` on
    PostgreSQL, so that a module's own demo app in the test database is never touched)."""
    from sunvote.services.demo import seed_demo

    tmp = tmp_path_factory.mktemp("demo-world")
    if postgres_url is None:
        url = f"sqlite:///{tmp / 'world.sqlite3'}"
    else:
        parsed = make_url(postgres_url)
        url = parsed.set(database=f"{parsed.database}_world").render_as_string(
            hide_password=False)
        fresh_postgres_schema(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUNVOTE_INSTANCE_PATH", str(tmp / "instance"))
        world = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                            "SERVER_NAME": "sunvote.test"})
    with world.app_context():
        if postgres_url is None:
            db.create_all()
        assert seed_demo(), "the demo world's database was not empty"
        rows = tuple((table, tuple(dict(row._mapping) for row in db.session.execute(
            select(table)))) for table in Base.metadata.sorted_tables)
        db.session.remove()
        db.engine.dispose()
    return DemoWorld(rows, str(world.config["LEDGER_PASSPHRASE"]),
                     str(world.config["LOG_ORIGIN_PREFIX"]))


def copy_demo_world(app: Flask, world: DemoWorld) -> None:
    """Put the demo world into ``app``'s empty database and instance folder: its rows (with
    PostgreSQL's id sequences moved past them) and the passphrase its keys were sealed with."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "ledger_passphrase").write_text(world.ledger_passphrase)
    (instance / "log_origin_prefix").write_text(world.origin_prefix + "\n")
    app.config["LEDGER_PASSPHRASE"] = world.ledger_passphrase
    app.config["LOG_ORIGIN_PREFIX"] = world.origin_prefix
    with app.app_context(), db.engine.begin() as conn:
        for table, rows in world.rows:
            if rows:
                conn.execute(table.insert(), list(rows))
        if conn.dialect.name == "postgresql":  # the next id after the copied rows
            for table, _rows in world.rows:
                for column in table.primary_key.columns:
                    if not isinstance(column.type, Integer):
                        continue
                    conn.execute(text(
                        "SELECT setval(seq, (SELECT COALESCE(MAX({c}), 0) + 1 FROM {t}), false) "
                        "FROM (SELECT pg_get_serial_sequence(:t, :c) AS seq) s "
                        "WHERE seq IS NOT NULL".format(t=f'"{table.name}"', c=f'"{column.name}"')),
                        {"t": f'"{table.name}"', "c": column.name})


@pytest.fixture
def demo(app: Flask, demo_world: DemoWorld) -> Flask:
    """The app with the demo township, villages, people and matters (built once per run by
    `demo_world`, copied in)."""
    copy_demo_world(app, demo_world)
    return app


CSRF_RE = re.compile(r'name="(?:[\w-]*-)?csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """A CSRF token for ``client``'s session, read from a page's form."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = "sunvote2026") -> FlaskClient:
    token = csrf_token(client)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def as_user(demo: Flask):  # type: ignore[no-untyped-def]
    """as_user("clerk") → a test client logged in as that demo account."""

    def make(username: str) -> FlaskClient:
        return login(demo.test_client(), username)

    return make
