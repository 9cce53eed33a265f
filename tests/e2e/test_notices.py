"""In a real Chromium, pages only after the demo's starting data: the clerk convenes a meeting
in the page and its meeting page shows each member's notices (inbox unread, letters to print)
and the not-reached warning; a representative logs in on a phone, sees the unread badge and the
inbox with the meeting's notice, opens it and lands on the meeting page; the clerk's page now
shows it read; the clerk prints the letters (a PDF) and uploads the photo of a signed slip, and
that member shows reached in time. Screenshots of the inbox (390×844) and the meeting page
(1366×768), in Chinese and English."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pypdf
import pytest
from flask import Flask
from playwright.sync_api import expect

from sunvote.services.access import CHINA
from tests.e2e.pages import PHONE, log_in, shot

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PNG = b"\x89PNG\r\n\x1a\n" + b"signed slip photo" * 20


def member_row(page: Any, name: str) -> Any:
    return page.locator("#reach tr.reach-member", has=page.locator(f"td:text-is('{name}')"))


def convene_in_page(clerk: Any, live_server: str) -> None:
    """The clerk convenes a meeting six days ahead, 09:00, with the first filed matter."""
    clerk.goto(f"{live_server}/v/sunshine/meetings")
    starts = (dt.datetime.now(CHINA) + dt.timedelta(days=6)).replace(hour=9, minute=0)
    clerk.fill("#title", "2026年冬季村民代表会议")
    clerk.fill("#place", "村委会二楼会议室")
    clerk.fill("#starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    clerk.locator("input[name=matters]").first.check()
    clerk.click("button:has-text('召集并通知')")
    clerk.wait_for_load_state()


def test_the_notice_reaches_a_phone_and_the_clerk_sees_who_was_reached(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask,
        tmp_path: Path) -> None:
    clerk_ctx = browser.new_context(viewport=LAPTOP, locale="zh-CN", accept_downloads=True)
    clerk = clerk_ctx.new_page()
    log_in(clerk, live_server, "clerk")

    # The clerk convenes a meeting six days ahead, with the first filed matter on its agenda.
    convene_in_page(clerk, live_server)
    assert re.search(r"/v/sunshine/meetings/\d+$", clerk.url), clerk.url
    room = clerk.url

    # Its meeting page: who was reached (nobody yet), the warning, the letters to print.
    expect(clerk.locator(".reach-warning")).to_contain_text("notice.not_reached")
    expect(clerk.locator("#reach")).to_contain_text("通知送达情况")
    rep = member_row(clerk, "李秀英")
    expect(rep.locator("li.notice-inbox")).to_contain_text("未读")
    expect(rep.locator("li.notice-letter")).to_contain_text("待打印、签收")
    expect(member_row(clerk, "陈丽")).to_contain_text("尚未送达")
    members = clerk.locator("#reach tr.reach-member").count()
    assert members >= 20
    expect(clerk.locator("#print-letters")).to_be_visible()
    shot(clerk, screenshot_dir, "notices-1-meeting-page-zh")

    # A representative on a phone: the badge, the inbox, the notice opened.
    phone_ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                    locale="zh-CN")
    phone = phone_ctx.new_page()
    log_in(phone, live_server, "rep01")
    badge = phone.locator("header .unread-badge")
    expect(badge).to_be_visible()
    unread = int(badge.inner_text())
    assert unread >= 1
    phone.click("header a.inbox-link")
    phone.wait_for_load_state()
    newest = phone.locator("#inbox li.inbox-item").first
    expect(newest).to_have_class(re.compile(r"\bunread\b"))
    expect(newest).to_contain_text("2026年冬季村民代表会议")
    expect(newest).to_contain_text("未读")
    shot(phone, screenshot_dir, "notices-2-inbox-phone-zh")
    phone.goto(f"{live_server}/me/notices?lang=en")
    expect(phone.locator("h1")).to_have_text("My notices")
    shot(phone, screenshot_dir, "notices-3-inbox-phone-en")
    phone.goto(f"{live_server}/me/notices?lang=zh")
    phone.locator("#inbox li.inbox-item").first.locator("button.inbox-open").click()
    phone.wait_for_load_state()
    assert phone.url == room, phone.url  # the page that acts on it: the meeting page
    after = phone.locator("header .unread-badge")
    if unread == 1:
        expect(after).to_have_count(0)
    else:
        expect(after).to_have_text(str(unread - 1))

    # The clerk's page shows that the representative read it.
    clerk.reload()
    rep = member_row(clerk, "李秀英")
    expect(rep.locator("li.notice-inbox")).to_contain_text("已读")
    expect(rep).to_contain_text("按期送达")

    # The letters: a PDF, one page per letter; then 陈丽's signed slip, photographed.
    with clerk.expect_download() as download:
        clerk.click("#print-letters")
    letters = pypdf.PdfReader(download.value.path())
    assert download.value.suggested_filename.endswith(".pdf")
    # nobody in the demo has a mobile number: every member gets a letter, one page each
    assert len(letters.pages) == members
    first = letters.pages[0].extract_text()
    assert "2026年冬季村民代表会议" in first and "回" in first and "签名" in first
    photo = tmp_path / "回执.png"
    photo.write_bytes(PNG)
    chenli = member_row(clerk, "陈丽")
    chenli.locator("input[type=file]").set_input_files(str(photo))
    chenli.locator("button:has-text('登记签收')").click()
    clerk.wait_for_load_state()
    chenli = member_row(clerk, "陈丽")
    expect(chenli.locator("li.notice-letter")).to_contain_text("已签收")
    expect(chenli).to_contain_text("按期送达")
    href = chenli.locator("a:has-text('回执照片')").get_attribute("href")
    answer = clerk.request.get(f"{live_server}{href}")
    assert answer.status == 200 and answer.body() == PNG
    expect(clerk.locator(".reach-warning")).to_contain_text(str(members - 2))
    shot(clerk, screenshot_dir, "notices-4-meeting-page-reached-zh")
    clerk.goto(f"{room}?lang=en")
    expect(clerk.locator("#reach h2")).to_have_text("Notice delivery")
    shot(clerk, screenshot_dir, "notices-5-meeting-page-en")


def test_the_township_turns_on_sms_and_the_member_is_reached_by_text(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask) -> None:
    """Pages only: the township administrator turns SMS on (Alibaba Cloud), the clerk enters a
    representative's mobile number in the register and convenes; the SMS waits in the
    township's outbox; the operator's sender (`sunvote notices send --once`, a process of its
    own) delivers it to the local Alibaba server, which checks its signature; the meeting page
    and the outbox show it sent."""
    from tests.notices import world
    from tests.notices.servers import provider
    from tests.notices.test_sender_processes import sender_process

    laptop = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    town = laptop.new_page()
    log_in(town, live_server, "township")
    town.goto(f"{live_server}/t/demo-town/settings")
    town.select_option("#setting-notice_sms", "true")
    town.select_option("#setting-notice_sms_provider", "alibaba")
    town.locator("form button[type=submit]").last.click()
    town.wait_for_load_state()
    expect(town.locator("#setting-notice_sms")).to_have_value("true")

    clerk = browser.new_context(viewport=LAPTOP, locale="zh-CN").new_page()
    log_in(clerk, live_server, "clerk")
    clerk.goto(f"{live_server}/v/sunshine/register")
    clerk.locator("a", has_text="李秀英").first.click()
    clerk.wait_for_load_state()
    clerk.locator("#edit input[name$=phone]").fill("13912345678")
    clerk.locator("#edit button[type=submit]").click()
    clerk.wait_for_load_state()
    expect(clerk.locator("main")).to_contain_text("13912345678")

    convene_in_page(clerk, live_server)
    room = clerk.url
    expect(member_row(clerk, "李秀英").locator("li.notice-sms")).to_contain_text("待发送")
    expect(member_row(clerk, "陈丽").locator("li.notice-sms")).to_have_count(0)  # no number

    town.goto(f"{live_server}/t/demo-town/notices")
    sms_row = town.locator("tr[data-channel=sms]")
    expect(sms_row.locator("td[data-state=queued]")).to_have_text("1")

    with provider("alibaba", **world.ALIBABA) as sms:
        with demo.app_context():  # the app's database, for the sender's environment
            sender = sender_process(demo, sms, "--once")
        _out, err = sender.communicate(timeout=120)
        assert sender.returncode == 0, err
    assert sms.bad_signatures == 0 and len(sms.messages) == 1
    sent = sms.messages[0]
    assert sent["PhoneNumbers"] == "13912345678"
    assert "2026年冬季村民代表会议" in sent["TemplateParam"]
    assert room.removeprefix(live_server) in sent["TemplateParam"]  # the page that acts on it

    clerk.goto(room)
    row = member_row(clerk, "李秀英")
    expect(row.locator("li.notice-sms")).to_contain_text("已送达")
    expect(row).to_contain_text("按期送达")
    town.goto(f"{live_server}/t/demo-town/notices")
    expect(sms_row.locator("td[data-state=sent]")).to_have_text("1")
    expect(town.locator(".outbox-stalled")).to_have_count(0)
    shot(town, screenshot_dir, "notices-6-township-outbox-zh")
    town.goto(f"{live_server}/t/demo-town/notices?lang=en")
    shot(town, screenshot_dir, "notices-7-township-outbox-en")
