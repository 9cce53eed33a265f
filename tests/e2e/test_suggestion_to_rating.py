"""In a real Chromium, through the pages alone after the demo's starting data: a villager's
suggestion on a phone becomes a matter, goes through the six steps (proposal, joint meeting,
the township's filing, a convened assembly meeting with check-in and a vote, the notice period,
implementation and the supervisors' sign-off) and is rated by a villager. The clock is moved
from the test process; each actor logs in again after a long jump (sessions expire)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import Household, Village

from .pages import (
    DESKTOP,
    PHONE,
    check_in_members,
    confirm_all,
    log_in,
    log_out,
    shot,
    vote_on_hall_device,
)

pytestmark = pytest.mark.browser

CHINA = dt.timezone(dt.timedelta(hours=8))


def a_household(app: Flask) -> tuple[str, str]:
    """A household of the village (read, not written): its number and head's name."""
    with app.app_context():
        v = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        h = db.session.execute(select(Household).where(Household.village_id == v.id)
                               .order_by(Household.id.desc())).scalars().first()
        assert h is not None
        return h.number, h.head_name


def test_a_suggestion_becomes_a_rated_completed_matter(browser: Any, live_server: str,
                                                        screenshot_dir: Path,
                                                        demo: Flask) -> None:
    hh_number, hh_name = a_household(demo)
    base = live_server
    phone_ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                    locale="zh-CN")
    villager = phone_ctx.new_page()
    desk_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    desk = desk_ctx.new_page()
    desk.on("dialog", lambda dialog: dialog.accept())  # page.js's "are you sure" questions

    def snap(page: Any, name: str) -> None:
        shot(page, screenshot_dir, f"suggestion-to-rating-{name}")

    # Step 1: a villager suggests on the phone; the clerk records a matter from it.
    villager.goto(f"{base}/p/sunshine/")
    villager.click("text=我要提建议")
    villager.fill("#text", "建议在村小学门口装一盏太阳能路灯，孩子放学天黑看不清路。")
    villager.click("button:has-text('提交建议')")
    villager.get_by_text("您的建议已提交").first.wait_for()
    snap(villager, "1-phone-suggestion")
    log_in(desk, base, "clerk")
    desk.goto(f"{base}/v/sunshine/suggestions")
    desk.get_by_label(re.compile("太阳能路灯")).check()
    desk.fill("#open-title", "村小学门口太阳能路灯")
    desk.fill("#open-text", "村民建议在村小学门口装太阳能路灯")
    desk.click("button:has-text('立项')")
    desk.get_by_text("已立项").first.wait_for()
    matter_url = desk.url
    number = matter_url.rstrip("/").rsplit("/", 1)[-1]
    log_out(desk)

    # Step 2: the party branch proposes.
    log_in(desk, base, "secretary")
    desk.goto(matter_url)
    desk.select_option("#propose-category", "2")
    desk.fill("#propose-summary", "在村小学门口装两盏太阳能路灯，村集体出资。")
    desk.fill("#propose-amount", "6000")
    desk.click("#form-propose button[type=submit]")
    desk.get_by_text("已办理").first.wait_for()
    log_out(desk)

    # Step 3: the joint meeting discusses (recorded by the clerk).
    today = dt.datetime.now(CHINA).date()
    log_in(desk, base, "clerk")
    desk.goto(matter_url)
    desk.fill("#discuss-meeting_date", today.isoformat())
    desk.fill("#discuss-expected", "9")
    desk.fill("#discuss-present", "9")
    desk.fill("#discuss-minutes", "联席会议同意装路灯，提交乡镇审议。")
    desk.fill("#discuss-plan", "村小学门口装两盏太阳能路灯，村集体出资6000元。")
    desk.click("#form-discuss button[type=submit]")
    desk.get_by_text("已办理").first.wait_for()
    log_out(desk)

    # Step 4: the township files it.
    log_in(desk, base, "reviewer")
    desk.goto(matter_url)
    desk.fill("#review-filing_no", "阳光镇备〔2026〕77号")
    desk.click("#form-review button[type=submit]")
    desk.get_by_text("已备案，待票决").first.wait_for()
    log_out(desk)

    # Step 5: the clerk convenes a meeting three days ahead (the notice the law asks for).
    meeting_day = today + dt.timedelta(days=3)
    log_in(desk, base, "clerk")
    desk.goto(f"{base}/v/sunshine/meetings")
    desk.fill("#title", "村民代表会议（路灯）")
    desk.fill("#place", "村委会二楼会议室")
    desk.fill("#starts_at", f"{meeting_day.isoformat()}T09:00")
    desk.get_by_label(re.compile("太阳能路灯")).check()
    snap(desk, "2-convene")
    desk.click("button:has-text('召集并通知')")
    desk.get_by_text("已召集第").first.wait_for()
    room = desk.url

    meeting_at = dt.datetime.combine(meeting_day, dt.time(9, 5), CHINA)
    with time_machine.travel(meeting_at, tick=True):
        _the_meeting(browser, base, room, desk, snap)
        desk.goto(matter_url)
        assert "公示中" in desk.locator(".state").first.inner_text()
    after_notice = meeting_at + dt.timedelta(days=6)
    with time_machine.travel(after_notice, tick=True):
        _step_six(browser, base, matter_url, desk, snap)

        # A villager rates the completed matter on the phone.
        villager.goto(f"{base}/p/sunshine/m/{number}")
        assert "已完成" in villager.locator(".state").first.inner_text()
        rate = villager.locator("#rate-form")
        rate.locator("input[name$=household]").fill(hh_number)
        rate.locator("input[name$=name]").fill(hh_name)
        rate.locator("input[type=radio][value='5']").check()
        rate.locator("button[type=submit]").click()
        villager.wait_for_load_state()
        assert "1户评价" in villager.content()
        snap(villager, "9-phone-rated")
    for ctx in (phone_ctx, desk_ctx):
        ctx.close()


def _the_meeting(browser: Any, base: str, room: str, desk: Any, snap: Any) -> None:
    """Meeting day: the clerk opens the meeting, checks members in, opens the poll; twelve vote
    on the hall device, a supervisor confirms those ballots, the clerk closes poll and meeting."""
    log_in(desk, base, "clerk")  # the session from three days ago has expired
    desk.goto(room)
    desk.click("button:has-text('开始会议')")
    desk.wait_for_load_state()
    check_in_members(desk, 17)
    desk.locator(".agenda-item").nth(0).locator("button:has-text('开始表决')").click()
    desk.wait_for_load_state()
    vote_on_hall_device(desk, 0, 12)
    snap(desk, "3-room-poll-open")
    supervisor_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    supervisor = supervisor_ctx.new_page()
    log_in(supervisor, base, "supervisor")
    supervisor.goto(room)
    assert confirm_all(supervisor) == 12
    supervisor_ctx.close()
    desk.goto(room)
    desk.click("button:has-text('结束表决并计票')")
    desk.wait_for_load_state()
    assert "表决结束" in desk.content()
    desk.click("button:has-text('结束会议')")
    desk.wait_for_load_state()
    snap(desk, "4-room-closed")


def _step_six(browser: Any, base: str, matter_url: str, desk: Any, snap: Any) -> None:
    """After the notice period: the clerk starts implementation and records the finished work;
    the committee chair confirms the progress and signs off."""
    log_in(desk, base, "clerk")
    desk.goto(matter_url)
    desk.fill("#start-implementer", "村电工组")
    desk.fill("#start-planned_end", "2027-06-30")
    desk.fill("#start-arrangement", "先立杆后装灯")
    desk.click("#form-start button[type=submit]")
    desk.wait_for_load_state()
    assert "村电工组" in desk.content()
    desk.fill("#milestone", "两盏路灯装好并通电")
    desk.fill("#progress", "100")
    desk.fill("#spent", "5800")
    desk.click(".update-form button[type=submit]")
    desk.wait_for_load_state()
    assert "已记录实施进度" in desk.content()
    snap(desk, "5-implementation")
    log_out(desk)
    log_in(desk, base, "supervisor")
    desk.goto(matter_url)
    desk.click("#implementation button:has-text('核实后确认')")
    desk.wait_for_load_state()
    desk.goto(matter_url)
    form = desk.locator("#form-complete")
    form.locator("textarea[name=complete-report]").fill("经现场验收，两盏路灯正常工作")
    form.locator("button[type=submit]").click()
    desk.wait_for_load_state()
    assert "已完成" in desk.locator(".state").first.inner_text()
    snap(desk, "6-completed")
    log_out(desk)
