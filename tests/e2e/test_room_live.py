"""In a real Chromium: the clerk's room page updates by itself. The clerk has the room open on
the desktop; a representative checks in and later votes from their phone; the clerk's page
shows the new attendance, the quorum count and the ballots received without a reload, and a
choice the clerk has made in a form (not sent) is kept while the page updates around it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import Account, Person
from tests.e2e.pages import DESKTOP, PHONE, PROJECTOR, check_in_members, log_in
from tests.e2e.test_assembly import prepare

pytestmark = pytest.mark.browser


def name_of(app: Flask, username: str) -> str:
    with app.app_context():
        return db.session.execute(select(Person.name).join(
            Account, Account.person_id == Person.id).where(
            Account.username == username)).scalar_one()


def test_the_clerks_room_shows_check_ins_and_ballots_without_a_reload(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask) -> None:
    number = prepare(demo)
    rep = name_of(demo, "rep01")
    room = f"{live_server}/v/sunshine/meetings/{number}"
    clerk_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    clerk = clerk_ctx.new_page()
    clerk.on("dialog", lambda dialog: dialog.accept())
    log_in(clerk, live_server, "clerk")
    clerk.goto(room)
    clerk.click("button:has-text('开始会议')")
    clerk.wait_for_load_state()
    expect(clerk.locator("[data-live=quorum]")).to_contain_text("到会0人")
    # a mark on this very page: a reload would lose it
    clerk.evaluate("window.sunvoteTestMark = 'same page'")
    # the clerk picks "secret" for the first matter's poll, and does not send it yet
    mode = clerk.locator(".agenda-item").nth(0).locator("select[name=mode]")
    mode.select_option("secret")

    hall_ctx = browser.new_context(viewport=PROJECTOR, locale="zh-CN")
    hall = hall_ctx.new_page()
    log_in(hall, live_server, "clerk")
    hall.goto(f"{room}/hall")
    phone_ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                    locale="zh-CN")
    phone = phone_ctx.new_page()
    phone.on("dialog", lambda dialog: dialog.accept())
    log_in(phone, live_server, "rep01")
    phone.goto(room)
    phone.fill("#checkin-code", hall.inner_text("#presence-code").strip())
    phone.click("button:has-text('我已到会，签到')")
    phone.wait_for_load_state()
    assert "已签到" in phone.content()

    # the clerk's page, untouched: the check-in and the new count appear by themselves
    row = clerk.locator("[data-live=attendance] tr", has_text=rep)
    expect(row).to_contain_text("会场", timeout=15000)
    expect(clerk.locator("[data-live=quorum]")).to_contain_text("到会1人")
    expect(clerk.locator("#live-status")).to_contain_text("已自动更新")
    assert clerk.evaluate("window.sunvoteTestMark") == "same page"
    expect(mode).to_have_value("secret")  # the unsent choice was kept

    # the clerk checks in 15 more (16 of 23 are needed) and opens a named poll
    check_in_members(clerk, 15)
    clerk.locator(".agenda-item").nth(0).locator("select[name=mode]").select_option("named")
    clerk.locator(".agenda-item").nth(0).locator("button:has-text('开始表决')").click()
    clerk.wait_for_load_state()
    expect(clerk.locator(".agenda-item").nth(0)).to_contain_text("已收到选票0张")
    clerk.evaluate("window.sunvoteTestMark = 'same page'")

    phone.goto(room)
    phone.click("button.vote-yes")
    phone.wait_for_load_state()
    expect(clerk.locator(".agenda-item").nth(0)).to_contain_text("已收到选票1张", timeout=15000)
    assert clerk.evaluate("window.sunvoteTestMark") == "same page"
    clerk.set_viewport_size({"width": 1366, "height": 768})
    clerk.screenshot(path=str(screenshot_dir / "room-live-1366-zh.png"))
    phone.goto(room)
    phone.screenshot(path=str(screenshot_dir / "room-live-390-zh.png"))
    for page, size in ((clerk, 1366), (phone, 390)):
        page.goto(f"{room}?lang=en")
        page.screenshot(path=str(screenshot_dir / f"room-live-{size}-en.png"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size, f"{size}: the room page is {width}px wide"
    for ctx in (clerk_ctx, hall_ctx, phone_ctx):
        ctx.close()
