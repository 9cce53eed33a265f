"""Each channel delivers a convened meeting's notices to a real local server that checks the
provider's signature (tests/notices/servers.py), and a wrong secret is refused by that server:
the notice is not sent, and waits for its next try."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes

import pytest
from flask import Flask

from sunvote.domain.notices import NoticeChannel, NoticeState
from sunvote.extensions import db
from sunvote.models import NoticeAttempt
from sunvote.services.notice_sender import Sender
from tests.notices import world
from tests.notices.servers import provider, smtp_server


def test_alibaba_sms_and_email_reach_every_member_with_their_keys(demo: Flask) -> None:
    with provider("alibaba", **world.ALIBABA) as sms, smtp_server() as (mailbox, port), \
            demo.app_context():
        world.give_contacts(no_phone=2)
        world.configure(demo, alibaba=sms, smtp_port=port)
        meeting = world.convene()
        queued = world.notices(NoticeChannel.SMS)
        mails = world.notices(NoticeChannel.EMAIL)
        assert queued and mails and all(n.state is NoticeState.QUEUED for n in queued + mails)
        total = Sender(clock=lambda: world.T0).drain()
        assert total.outcomes == {"sent": len(queued) + len(mails)}
        assert sms.bad_signatures == 0
        # Each SMS arrived once, under its notice's key, to its number, with the text and link.
        assert dict(sms.keys) == {n.key: 1 for n in queued}
        by_key = {m["OutId"]: m for m in sms.messages}
        for notice in world.notices(NoticeChannel.SMS):
            assert notice.state is NoticeState.SENT and notice.sent_at == world.T0
            assert notice.provider_ref and notice.provider_ref.startswith("biz-")
            sent = by_key[notice.key]
            assert sent["PhoneNumbers"] == notice.address
            assert sent["SignName"] == "阳光票决" and sent["TemplateCode"] == "SMS_480000001"
            assert f'{world.BASE_URL}/v/sunshine/meetings/' in sent["TemplateParam"]
            assert notice.text in sent["TemplateParam"]
        # E-mail: one message per member, Message-ID from the key.
        assert len(mailbox.messages) == len(mails)
        for envelope in mailbox.messages:
            mail = message_from_bytes(envelope.content)  # type: ignore[arg-type]
            key = str(mail["Message-ID"]).strip("<>").split("@")[0]
            assert key.startswith(f"meeting.{meeting}.p") and key.endswith(".email")
            assert f"{world.BASE_URL}/v/sunshine/meetings/" in mail.get_payload(decode=True) \
                .decode()
        assert set(mailbox.keys.values()) == {1}
        attempts = db.session.query(NoticeAttempt).all()
        assert len(attempts) == len(queued) + len(mails)
        assert {a.outcome for a in attempts} == {"sent"}


def test_tencent_sms_and_both_group_robots(demo: Flask) -> None:
    with provider("tencent", **world.TENCENT) as sms, \
            provider("dingtalk", **world.DINGTALK) as ding, \
            provider("wecom", **world.WECOM) as wecom, demo.app_context():
        world.give_contacts()
        world.configure(demo, tencent=sms, dingtalk=ding, wecom=wecom)
        world.convene(provider="tencent", robots=True, email=False)
        total = Sender(clock=lambda: world.T0).drain()
        texts = world.notices(NoticeChannel.SMS)
        assert total.outcomes == {"sent": len(texts) + 2}
        assert (sms.bad_signatures, ding.bad_signatures, wecom.bad_signatures) == (0, 0, 0)
        assert dict(sms.keys) == {n.key: 1 for n in texts}
        assert {m["PhoneNumberSet"][0] for m in sms.messages} == {f"+86{n.address}"
                                                                  for n in texts}
        assert all(n.provider_ref and n.provider_ref.startswith("2019:") for n in texts)
        for robot in (ding, wecom):
            (message,) = robot.messages
            assert message["msgtype"] == "text"
            assert message["text"]["content"].startswith("【阳光票决】")
            assert f"{world.BASE_URL}/v/sunshine/meetings/" in message["text"]["content"]
        group = [n for n in world.notices() if n.person_id is None]
        assert {(n.channel, n.state) for n in group} == {
            (NoticeChannel.DINGTALK, NoticeState.SENT), (NoticeChannel.WECOM, NoticeState.SENT)}


@pytest.mark.parametrize("kind", ["alibaba", "tencent", "dingtalk", "wecom"])
def test_a_wrong_secret_is_refused_by_the_server(demo: Flask, kind: str) -> None:
    secrets = {"alibaba": world.ALIBABA, "tencent": world.TENCENT,
               "dingtalk": world.DINGTALK, "wecom": world.WECOM}[kind]
    with provider(kind, **secrets) as server, demo.app_context():
        world.give_contacts()
        robots = kind in ("dingtalk", "wecom")
        world.configure(demo, secret="not-the-secret", **{kind: server})
        world.convene(provider="tencent" if kind == "tencent" else "alibaba", robots=robots,
                      email=False)
        total = Sender(clock=lambda: world.T0).drain()
        tried = [n for n in world.notices() if n.attempts]
        assert server.bad_signatures == len(tried) == total.outcomes["retry"]
        assert len(tried) == (1 if robots else len(world.notices(NoticeChannel.SMS)))
        assert not server.keys  # nothing accepted
        assert tried and all(n.state is NoticeState.QUEUED and n.sent_at is None
                             and n.next_attempt_at == world.T0 + dt.timedelta(seconds=30)
                             for n in tried)
        assert all(any(code in (n.last_error or "") for code in (
            "SignatureDoesNotMatch", "AuthFailure.SignatureFailure", "310000", "93000"))
            for n in tried)
