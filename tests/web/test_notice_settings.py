"""The township settings page edits the notice channels (issue 18): each with its own name, the
SMS provider as a choice of the providers the sender speaks, a provider it does not know refused
in Chinese and English, naming its rule, with nothing saved."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import TownshipSetting
from tests.conftest import csrf_token as token

PAGE = "/t/demo-town/settings"


def stored(app: Flask) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(TownshipSetting.key, TownshipSetting.value)
                                       .order_by(TownshipSetting.id)).all())


def options(page: str, key: str) -> list[tuple[str, bool]]:
    """The (value, selected) options of a setting's select."""
    match = re.search(rf'<select name="setting-{re.escape(key)}"[^>]*>(.*?)</select>', page,
                      re.S)
    assert match is not None, key
    return [(value, bool(selected)) for value, selected in re.findall(
        r'<option value="([^"]*)" ?(selected)?', match.group(1))]


def test_the_notice_channels_are_named_and_the_provider_is_a_choice(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("township")
    page = client.get(PAGE).get_data(as_text=True)
    for label in ("发送短信通知", "短信服务商", "发送电子邮件通知", "向村议事群机器人推送通知"):
        assert label in page
    assert options(page, "notice_sms_provider") == [("alibaba", True), ("tencent", False)]
    assert "阿里云短信" in page and "腾讯云短信" in page
    assert options(page, "notice_group_robot") == [("true", False), ("false", True)]
    english = client.get(PAGE + "?lang=en").get_data(as_text=True)
    assert "SMS provider" in english and "Alibaba Cloud SMS" in english


def test_a_provider_is_saved_and_an_unknown_one_refused_in_both_languages(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("township")
    saved = client.post(PAGE, data={"csrf_token": token(client, PAGE),
                                    "setting-notice_sms_provider": "tencent",
                                    "setting-notice_group_robot": "true"})
    assert saved.status_code == 302
    assert stored(demo) == {"notice_sms_provider": "tencent", "notice_group_robot": "true"}
    page = client.get(PAGE).get_data(as_text=True)
    assert options(page, "notice_sms_provider") == [("alibaba", False), ("tencent", True)]
    refused = client.post(PAGE, data={"csrf_token": token(client, PAGE),
                                      "setting-notice_sms_provider": "nexmo",
                                      "setting-notice_email": "false"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "input.invalid" in text
    assert "设置“notice_sms_provider”的值“nexmo”格式不正确" in text
    assert "Value “nexmo” of setting “notice_sms_provider” is not in the right format" in text
    assert stored(demo) == {"notice_sms_provider": "tencent", "notice_group_robot": "true"}
