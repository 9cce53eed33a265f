"""In a real Chromium at 1920×1080: the hall screen read from the back of the hall, in Chinese and
English, before the meeting opens, open with no poll, with a poll open and after it closed. The
agenda marks the current item; the open poll shows the votes needed to pass (the domain's
threshold) and present / voted / not voted, never choices; the quorum mark says reached or not;
results in large type. The screen follows the clerk's actions without a reload, and fits the
projector (no scrolling either way). Screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.e2e.pages import DESKTOP, PHONE, PROJECTOR, check_in_members, log_in
from tests.e2e.test_assembly import prepare

pytestmark = pytest.mark.browser


def test_the_hall_screen_in_every_state_in_both_languages(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask) -> None:
    number = prepare(demo)
    room = f"{live_server}/v/sunshine/meetings/{number}"
    clerk_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    clerk = clerk_ctx.new_page()
    clerk.on("dialog", lambda dialog: dialog.accept())
    log_in(clerk, live_server, "clerk")
    screens = {}
    for lang in ("zh", "en"):
        ctx = browser.new_context(viewport=PROJECTOR, locale="zh-CN")
        page = ctx.new_page()
        log_in(page, live_server, "clerk")
        page.goto(f"{room}/hall?lang={lang}")
        screens[lang] = (ctx, page)

    def shot(state: str) -> None:
        for lang, (_ctx, page) in screens.items():
            page.screenshot(path=str(screenshot_dir / f"hall-{state}-{lang}.png"))
            size = page.evaluate("[document.documentElement.scrollWidth,"
                                 " document.documentElement.scrollHeight]")
            assert size[0] <= PROJECTOR["width"], f"{state} {lang}: {size[0]}px wide"
            assert size[1] <= PROJECTOR["height"], f"{state} {lang}: {size[1]}px high"

    zh, en = screens["zh"][1], screens["en"][1]
    expect(zh.locator("#hall-now")).to_contain_text("会议尚未开始")
    expect(en.locator("#hall-now")).to_contain_text("The meeting has not started")
    expect(zh.locator("#polls li")).to_have_count(2)
    shot("1-before-opening")

    clerk.goto(room)
    clerk.click("button:has-text('开始会议')")
    clerk.wait_for_load_state()
    expect(zh.locator("#hall-now")).to_contain_text("尚未开始表决", timeout=10000)
    expect(zh.locator("#quorum-state")).to_contain_text("未达法定人数")
    check_in_members(clerk, 18)
    expect(zh.locator("#present")).to_have_text("18", timeout=10000)
    expect(zh.locator("#quorum-state")).to_contain_text("已达法定人数")
    expect(en.locator("#quorum-state")).to_contain_text("Quorum reached")
    shot("2-open-no-poll")

    # a named poll on the first matter; a representative votes from the phone
    clerk.locator(".agenda-item").nth(0).locator("button:has-text('开始表决')").click()
    clerk.wait_for_load_state()
    phone_ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                    locale="zh-CN")
    phone = phone_ctx.new_page()
    phone.on("dialog", lambda dialog: dialog.accept())
    log_in(phone, live_server, "rep01")
    phone.goto(room)
    phone.click("button.vote-yes")
    phone.wait_for_load_state()
    expect(zh.locator("#voted")).to_have_text("1", timeout=10000)
    expect(zh.locator("#polls li.current")).to_contain_text("表决中")
    now = zh.inner_text("#hall-now")
    # present at opening 18, majority of those present: 10 "yes" pass
    # (domain.assembly.pass_threshold)
    assert "通过所需同意票数 10" in now.replace("\n", " ")
    assert "17" in zh.inner_text("#not-voted") and "同意 " not in now
    expect(en.locator("#hall-now")).to_contain_text("Yes votes needed to pass", timeout=10000)
    shot("3-poll-open")

    clerk.click("button:has-text('结束表决并计票')")
    clerk.wait_for_load_state()
    expect(zh.locator(".hall-verdict")).to_contain_text("未通过", timeout=10000)
    expect(zh.locator("#polls li").nth(0)).to_contain_text("同意 1")
    expect(en.locator(".hall-verdict")).to_contain_text("Rejected", timeout=10000)
    shot("4-poll-closed")
    for ctx in (clerk_ctx, phone_ctx, *(c for c, _p in screens.values())):
        ctx.close()
