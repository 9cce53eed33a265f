"""Starting data for the sender's tests: the demo village's people given phone numbers and
e-mail addresses, the township's channels set by its administrator, and a meeting convened
through services.assembly.convene, which writes the notices (inbox, SMS, e-mail, letters,
group robots) in its own transaction — as a clerk's convening does."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.notices import NoticeChannel
from sunvote.extensions import db
from sunvote.models import Matter, Notice, Person, Village
from sunvote.services import assembly
from sunvote.services.settings import change_setting

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
BASE_URL = "https://sunvote.example.gov.cn"
ALIBABA = {"key_id": "LTAI5tTestKeyId", "secret": "alibaba-test-secret"}
TENCENT = {"secret_id": "AKIDtestsecretid", "secret_key": "tencent-test-secret-key"}
DINGTALK = {"secret": "SECdingtalk-test-secret"}
WECOM = {"key": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"}


def pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def sunshine() -> Village:
    return db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()


def phone_of(person_id: int) -> str:
    return f"139{person_id:08d}"


def give_contacts(no_phone: int = 0) -> None:
    """Every person gets a mobile number and an e-mail address; the first ``no_phone`` of them
    (by id) none, so that they get a letter instead of an SMS."""
    for index, person in enumerate(db.session.execute(select(Person).order_by(Person.id))
                                   .scalars()):
        person.phone = None if index < no_phone else phone_of(person.id)
        person.email = f"p{person.id}@cun.example.cn"
    db.session.commit()


def configure(app: Flask, *, alibaba: Any = None, tencent: Any = None, smtp_port: int | None = None,
              dingtalk: Any = None, wecom: Any = None, secret: str | None = None,
              timeout: float = 2.0, rate: float = 1000.0) -> None:
    """Point the app's providers at the local servers (``secret`` overrides every secret the
    client uses: a wrong one)."""
    channels: dict[str, dict[str, Any]] = {
        "alibaba": {"rate": rate, "timeout": timeout}, "tencent": {"rate": rate,
                                                                   "timeout": timeout},
        "email": {"rate": rate, "timeout": timeout}, "dingtalk": {"rate": rate,
                                                                  "timeout": timeout},
        "wecom": {"rate": rate, "timeout": timeout}}
    if alibaba is not None:
        channels["alibaba"].update(
            access_key_id=ALIBABA["key_id"], access_key_secret=secret or ALIBABA["secret"],
            sign_name="阳光票决", template_code="SMS_480000001", template_param="content",
            endpoint=alibaba.url)
    if tencent is not None:
        channels["tencent"].update(
            secret_id=TENCENT["secret_id"], secret_key=secret or TENCENT["secret_key"],
            sdk_app_id="1400000001", sign_name="阳光票决", template_id="2000001",
            region="ap-guangzhou", endpoint=tencent.url)
    if smtp_port is not None:
        channels["email"].update(host="127.0.0.1", port=smtp_port, tls="none",
                                 **{"from": "notice@sunvote.example.gov.cn"},
                                 subject="阳光票决通知")
    robots: dict[str, dict[str, dict[str, str]]] = {}
    if dingtalk is not None:
        robots.setdefault("sunshine", {})["dingtalk"] = {
            "url": f"{dingtalk.url}/robot/send?access_token=tok",
            "secret": secret or DINGTALK["secret"]}
    if wecom is not None:
        robots.setdefault("sunshine", {})["wecom"] = {
            "url": f"{wecom.url}/cgi-bin/webhook/send?key={secret or WECOM['key']}"}
    app.config["NOTICE_CHANNELS"] = channels
    app.config["NOTICE_ROBOTS"] = robots
    app.config["BASE_URL"] = BASE_URL


def convene(*, provider: str = "alibaba", robots: bool = False, email: bool = True,
            now: dt.datetime = T0) -> int:
    """The township's channels set, then a meeting convened for three days later by the clerk;
    returns the meeting's id."""
    village = sunshine()
    admin = pid("吴静")
    if provider != "alibaba":
        change_setting(village.township_id, "notice_sms_provider", provider, admin, now=now)
    if robots:
        change_setting(village.township_id, "notice_group_robot", "true", admin, now=now)
    if not email:
        change_setting(village.township_id, "notice_email", "false", admin, now=now)
    road = db.session.execute(select(Matter).where(
        Matter.number.like("%-001"), Matter.village_id == village.id)).scalar_one()
    meeting = assembly.convene(pid("张敏"), village.id, "2026年第四季度村民代表会议",
                               "村委会议室", now + dt.timedelta(days=3), [road.id], now=now)
    return meeting.id


def notices(channel: NoticeChannel | None = None) -> list[Notice]:
    query = select(Notice).order_by(Notice.id)
    if channel is not None:
        query = query.where(Notice.channel == channel)
    db.session.expire_all()
    return list(db.session.execute(query).scalars())


def count(**where: Any) -> int:
    query = select(func.count(Notice.id))
    for name, value in where.items():
        query = query.where(getattr(Notice, name) == value)
    return db.session.execute(query).scalar_one()
