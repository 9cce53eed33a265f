"""The sender against real local servers: a provider answering 5xx or timing out is tried again
with backoff (the clock passed to the sender), up to the last try; one rejected number fails
visibly while the others go out; a provider without credentials leaves its notices queued; a
sender stopped during a delivery leaves that notice unknown (never sent again by itself), and
what it had claimed without sending goes back to the queue."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.notices import MAX_ATTEMPTS, NoticeChannel, NoticeState, retry_delay
from sunvote.extensions import db
from sunvote.models import Meeting, NoticeAttempt
from sunvote.services.channels import sent
from sunvote.services.notice_sender import Round, Sender, TokenBucket
from tests.notices import world
from tests.notices.servers import provider, smtp_server

SECOND = dt.timedelta(seconds=1)


def at(moment: dt.datetime) -> Sender:
    return Sender(clock=lambda: moment)


def test_5xx_and_timeouts_are_retried_with_backoff_until_the_last_try(demo: Flask) -> None:
    with provider("alibaba", **world.ALIBABA) as sms, demo.app_context():
        world.give_contacts()
        world.configure(demo, alibaba=sms, timeout=0.3)
        sms.hang = 1.0
        meeting = world.convene(email=False)
        texts = world.notices(NoticeChannel.SMS)
        # An outage: every answer 503. Each notice waits 30 s for its next try.
        sms.always = "5xx"
        assert at(world.T0).drain().outcomes == {"retry": len(texts)}
        for notice in world.notices(NoticeChannel.SMS):
            assert (notice.state, notice.attempts) == (NoticeState.QUEUED, 1)
            assert notice.next_attempt_at == world.T0 + retry_delay(1)  # type: ignore[operator]
            assert "503" in (notice.last_error or "")
        assert at(world.T0 + 29 * SECOND).drain().claimed == 0  # not due yet
        # Back, but the first request times out: that one waits a minute more.
        sms.always, sms.fail = None, ["timeout"]
        again = world.T0 + 30 * SECOND
        assert at(again).drain().outcomes == {"retry": 1, "sent": len(texts) - 1}
        (late,) = [n for n in world.notices(NoticeChannel.SMS) if n.state is NoticeState.QUEUED]
        assert late.attempts == 2 and "timed out" in (late.last_error or "")
        assert late.next_attempt_at == again + retry_delay(2)  # type: ignore[operator]
        assert at(again + 59 * SECOND).drain().claimed == 0
        assert at(again + 60 * SECOND).drain().outcomes == {"sent": 1}
        assert dict(sms.keys) == {n.key: 1 for n in texts}  # each once
        outcomes = db.session.execute(select(NoticeAttempt.outcome).where(
            NoticeAttempt.notice_id == late.id).order_by(NoticeAttempt.number)).scalars()
        assert list(outcomes) == ["retry", "retry", "sent"]
        # The event was never touched by any of it.
        assert db.session.get(Meeting, meeting) is not None


def test_an_outage_longer_than_every_try_fails_the_notices_visibly(demo: Flask) -> None:
    with provider("alibaba", **world.ALIBABA) as sms, demo.app_context():
        world.give_contacts(no_phone=20)  # a few SMS only
        world.configure(demo, alibaba=sms)
        world.convene(email=False)
        texts = world.notices(NoticeChannel.SMS)
        sms.always = "5xx"
        moment = world.T0
        for _ in range(MAX_ATTEMPTS):
            at(moment).drain()
            moment += dt.timedelta(hours=2)
        assert at(moment).drain().claimed == 0
        for notice in world.notices(NoticeChannel.SMS):
            assert (notice.state, notice.attempts) == (NoticeState.FAILED, MAX_ATTEMPTS)
            assert "503" in (notice.last_error or "")
        assert sms.requests == MAX_ATTEMPTS * len(texts) and not sms.keys


@pytest.mark.parametrize("kind", ["alibaba", "tencent-status", "tencent-error"])
def test_one_rejected_number_fails_and_the_others_go_out(demo: Flask, kind: str) -> None:
    name = kind.split("-")[0]
    secrets = world.ALIBABA if name == "alibaba" else world.TENCENT
    with provider(name, **secrets) as sms, smtp_server() as (mailbox, port), demo.app_context():
        world.give_contacts()
        world.configure(demo, smtp_port=port, **{name: sms})
        world.convene(provider=name)
        texts = world.notices(NoticeChannel.SMS)
        mails = world.notices(NoticeChannel.EMAIL)
        bad_sms, bad_mail = texts[3], mails[5]
        sms.reject.add(bad_sms.address or "")
        sms.reject_whole = kind == "tencent-error"
        mailbox.reject.add(bad_mail.address or "")
        total = at(world.T0).drain()
        assert total.outcomes == {"sent": len(texts) + len(mails) - 2, "rejected": 2}
        code = {"alibaba": "isv.MOBILE_NUMBER_ILLEGAL",
                "tencent-status": "FailedOperation.PhoneNumberInBlacklist",
                "tencent-error": "InvalidParameterValue.IncorrectPhoneNumber"}[kind]
        for notice in world.notices():
            if notice.id == bad_sms.id:
                assert notice.state is NoticeState.FAILED and code in (notice.last_error or "")
            elif notice.id == bad_mail.id:
                assert notice.state is NoticeState.FAILED
                assert (notice.last_error or "").startswith("smtp 550")
            elif notice.channel in (NoticeChannel.SMS, NoticeChannel.EMAIL):
                assert notice.state is NoticeState.SENT
        assert bad_sms.key not in sms.keys and len(sms.keys) == len(texts) - 1
        assert len(mailbox.messages) == len(mails) - 1
        assert at(world.T0 + dt.timedelta(days=1)).drain().claimed == 0  # never tried again


def test_a_provider_without_credentials_leaves_its_notices_queued(
        demo: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with smtp_server() as (mailbox, port), demo.app_context():
        world.give_contacts()
        world.configure(demo, smtp_port=port)  # e-mail only: no SMS provider configured
        world.convene()
        with caplog.at_level(logging.WARNING, "sunvote.notices"):
            total = at(world.T0).drain()
        texts = world.notices(NoticeChannel.SMS)
        assert total.outcomes == {"sent": len(mailbox.messages)}
        assert total.waiting == len(texts)
        assert all(n.state is NoticeState.QUEUED and n.attempts == 0
                   and n.last_error == "waiting: alibaba is not configured" for n in texts)
        assert "notices wait on alibaba: it has no credentials" in caplog.text
        assert not db.session.execute(select(NoticeAttempt).where(
            NoticeAttempt.notice_id.in_([n.id for n in texts]))).first()


def test_a_stopped_sender_leaves_unknown_only_what_it_had_begun(demo: Flask) -> None:
    with provider("alibaba", **world.ALIBABA) as sms, demo.app_context():
        world.give_contacts()
        world.configure(demo, alibaba=sms)
        world.convene(email=False)
        texts = world.notices(NoticeChannel.SMS)
        lease = dt.timedelta(minutes=5)
        first = Sender(clock=lambda: world.T0, lease=lease, batch=5)
        claims = first.claim(Round())
        assert len(claims) == 5
        assert first.begin(claims[0])  # handed to the provider, then the sender died
        # Within the lease nobody touches them.
        assert at(world.T0 + lease - SECOND).sweep() == (0, 0)
        later = world.T0 + lease + SECOND
        second = Sender(clock=lambda: later)
        assert second.sweep() == (4, 1)
        total = second.drain()
        assert total.outcomes == {"sent": len(texts) - 1}
        states = {n.id: n.state for n in world.notices(NoticeChannel.SMS)}
        assert states.pop(claims[0].outgoing.notice_id) is NoticeState.UNKNOWN
        assert set(states.values()) == {NoticeState.SENT}
        assert claims[0].outgoing.key not in sms.keys and set(sms.keys.values()) == {1}
        # The first sender's answer arrives after all: the provider took it, so it is sent.
        first.record(claims[0], sent("biz-late"))
        (notice,) = [n for n in world.notices(NoticeChannel.SMS)
                     if n.id == claims[0].outgoing.notice_id]
        assert notice.state is NoticeState.SENT and notice.provider_ref == "biz-late"


def test_the_token_bucket_keeps_a_providers_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(5.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(25):
        bucket.take()
    assert now[0] == pytest.approx(4.0)  # 5 at once, then 20 at 5 a second
    assert all(s <= 0.2 + 1e-9 for s in slept)
