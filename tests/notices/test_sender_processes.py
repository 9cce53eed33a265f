"""The sender as the real command (`sunvote notices send`), in processes of its own: killed with
SIGKILL in the middle of a batch against a slow provider and started again, nothing is lost
(every notice ends sent, failed or unknown) and nothing is sent twice (the provider counts each
idempotency key); two senders draining the same outbox at once never claim the same notice (on
PostgreSQL through SELECT … FOR UPDATE SKIP LOCKED, on SQLite through its single writer)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select, text

from sunvote.domain.notices import NoticeChannel, NoticeState
from sunvote.extensions import db
from sunvote.models import NoticeAttempt
from sunvote.models.base import utcnow
from sunvote.services.notice_sender import Round, Sender
from tests.notices import world
from tests.notices.servers import Provider, provider

ROOT = Path(__file__).resolve().parents[2]


def sender_process(app: Flask, sms: Provider, *args: str) -> subprocess.Popen[str]:
    """`sunvote notices send ARGS` on the app's database, its SMS through ``sms``."""
    url = db.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "SUNVOTE_INSTANCE_PATH": app.instance_path,
           "SUNVOTE_DATABASE_URL": url, "SUNVOTE_BASE_URL": world.BASE_URL,
           "SUNVOTE_ALIBABA_SMS_ACCESS_KEY_ID": world.ALIBABA["key_id"],
           "SUNVOTE_ALIBABA_SMS_ACCESS_KEY_SECRET": world.ALIBABA["secret"],
           "SUNVOTE_ALIBABA_SMS_SIGN_NAME": "阳光票决",
           "SUNVOTE_ALIBABA_SMS_TEMPLATE_CODE": "SMS_480000001",
           "SUNVOTE_ALIBABA_SMS_ENDPOINT": sms.url, "SUNVOTE_NOTICE_TIMEOUT": "1",
           "SUNVOTE_NOTICE_RATE_ALIBABA": "1000", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", "from sunvote.cli import cli; cli()", "notices", "send", *args],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)


def outbox(app: Flask) -> tuple[list[str], dict[str, NoticeState]]:
    """The SMS notices' keys, and each one's state."""
    db.session.remove()
    texts = world.notices(NoticeChannel.SMS)
    return [n.key for n in texts], {n.key: n.state for n in texts}


def test_a_sender_killed_mid_batch_loses_nothing_and_sends_nothing_twice(demo: Flask) -> None:
    with provider("alibaba", **world.ALIBABA) as sms, demo.app_context():
        world.give_contacts()
        world.convene(email=False, now=utcnow() - dt.timedelta(minutes=1))
        keys, _ = outbox(demo)
        sms.delay = 0.3  # a slow provider: the sender spends its time waiting on it
        lease = 4.0
        first = sender_process(demo, sms, "--batch", "4", "--poll-seconds", "0.2",
                               "--lease-seconds", str(lease))
        deadline = time.monotonic() + 60
        while len(sms.keys) < 6 and time.monotonic() < deadline:  # into its second batch
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert 6 <= len(sms.keys) < len(keys), first.stderr.read()  # type: ignore[union-attr]
        _, states = outbox(demo)
        assert NoticeState.SENDING in states.values()  # it died holding a batch
        time.sleep(lease + 0.5)  # its lease runs out
        again = sender_process(demo, sms, "--once", "--batch", "4", "--lease-seconds",
                               str(lease))
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        _, states = outbox(demo)
        # Nothing lost: every notice has an end; nothing doubled: each key arrived at most once.
        assert set(states.values()) <= {NoticeState.SENT, NoticeState.FAILED,
                                        NoticeState.UNKNOWN}
        assert set(sms.keys.values()) == {1}
        unknown = [k for k, s in states.items() if s is NoticeState.UNKNOWN]
        assert len(unknown) <= 1  # only the one in flight when it died
        assert {k for k, s in states.items() if s is NoticeState.SENT} | set(unknown) \
            >= set(sms.keys)
        assert all(states[k] is NoticeState.SENT for k in keys if k not in unknown)
        assert f"unknown after a stopped sender {len(unknown)}" in out
        assert "via alibaba" in err  # each delivery logged


def test_two_senders_never_claim_the_same_notice(demo: Flask) -> None:
    with provider("alibaba", **world.ALIBABA) as sms, demo.app_context():
        world.give_contacts()
        world.convene(email=False, now=utcnow() - dt.timedelta(minutes=1))
        keys, _ = outbox(demo)
        if db.engine.dialect.name == "postgresql":
            # A claim skips the rows another transaction has locked, without waiting for it.
            world.configure(demo, alibaba=sms)
            demo.config["BASE_URL"] = world.BASE_URL
            with db.engine.connect() as other:
                held = set(other.execute(text(
                    "SELECT id FROM notice WHERE state = 'queued' AND channel = 'sms' "
                    "ORDER BY next_attempt_at, id LIMIT 5 FOR UPDATE")).scalars())
                claims = Sender(batch=10).claim(Round())
                assert len(claims) == 10 and not held & {c.outgoing.notice_id for c in claims}
                other.rollback()
            for claim in claims:
                Sender().release(claim)
        sms.delay = 0.2  # slow enough that both are at work together
        senders = [sender_process(demo, sms, "--once", "--batch", "3") for _ in range(2)]
        for process in senders:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            assert not out.startswith("sent 0,"), out  # both delivered some
        _, states = outbox(demo)
        assert set(states.values()) == {NoticeState.SENT}
        assert dict(sms.keys) == {k: 1 for k in keys}
        # One claim per notice in all: no notice was ever claimed by both.
        claimed = db.session.execute(select(NoticeAttempt.notice_id, func.count()).group_by(
            NoticeAttempt.notice_id).where(NoticeAttempt.outcome == "sent")).all()
        assert {count for _id, count in claimed} == {1} and len(claimed) == len(keys)
