"""In a real Chromium: after a passed vote a villager objects from the public matter page on a
phone, the supervisory committee chair answers in the workspace (desktop); a week later (the
clock moved from the test process) the clerk starts implementation through the form and records
progress with a photo, the chair confirms it, refuses the sign-off once and then signs off, and
the villager rates the completed matter. Pages only after the starting data. Screenshots at
desktop and phone sizes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import Matter, Objection, Village
from sunvote.services import register
from tests.e2e.pages import DESKTOP, PHONE, log_in
from tests.web.test_supervision_pages import passed_road, pid

pytestmark = pytest.mark.browser

PNG = b"\x89PNG\r\n\x1a\n" + b"road photo" * 20


def test_objection_answered_and_implementation_confirmed(browser: Any, live_server: str,
                                                         screenshot_dir: Path,
                                                         demo: Flask) -> None:
    road, _first = passed_road(demo)  # a passed vote and one objection already filed
    with demo.app_context():
        v = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        number = db.session.get(Matter, road).number  # type: ignore[union-attr]
        # A villager with no office, so their name appears nowhere else on the page.
        household = register.add_household(v.id, pid("张敏"), "900", "钱多多")
        hh_number, hh_name = household.number, household.head_name

    def shot(page: Any, name: str, viewport: dict[str, int]) -> None:
        page.screenshot(path=str(screenshot_dir / f"supervision-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"

    # A villager objects on the phone, from the public matter page.
    phone_ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                    locale="zh-CN")
    phone = phone_ctx.new_page()
    phone.goto(f"{live_server}/p/sunshine/m/{number}")
    assert "公示" in phone.content()
    form = phone.locator("form", has=phone.locator("textarea"))
    form.locator("input[name$=household]").fill(hh_number)
    form.locator("input[name$=name]").fill(hh_name)
    form.locator("textarea").fill("施工单位与村干部有亲属关系，请核实")
    shot(phone, "1-phone-objection", PHONE)
    form.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    assert "施工单位与村干部有亲属关系" in phone.content()
    with demo.app_context():
        assert db.session.execute(select(Objection).where(
            Objection.text.like("施工单位%"))).scalar_one().name == hh_name

    # The chair answers both objections in the workspace.
    chair_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    chair = chair_ctx.new_page()
    log_in(chair, live_server, "supervisor")
    chair.goto(f"{live_server}/v/sunshine/supervise")
    assert "施工单位与村干部有亲属关系" in chair.content()
    shot(chair, "2-workspace-objections", DESKTOP)
    for _ in range(2):
        item = chair.locator("#objections .todo-item").first
        item.locator("input[value=dismissed]").check()
        item.locator("textarea").fill("经核实，施工单位经公开招标产生，与村干部无亲属关系")
        item.locator("button[type=submit]").click()
        chair.wait_for_load_state()
    assert "没有待答复的异议" in chair.content()

    # During the notice period the clerk finds the start step held back, with its rule.
    clerk_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    clerk = clerk_ctx.new_page()
    log_in(clerk, live_server, "clerk")
    clerk.goto(f"{live_server}/v/sunshine/m/{number}")
    assert "notice.period" in clerk.locator("#form-start").inner_text()
    assert clerk.locator("#start-implementer").count() == 0

    # A week later (the clock moved from this process, which also runs the server) the notice
    # period is over: the clerk starts implementation through the form and records progress.
    traveller = time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=7), tick=True)
    traveller.start()
    try:
        log_in(clerk, live_server, "clerk")
        clerk.goto(f"{live_server}/v/sunshine/m/{number}#form-start")
        clerk.fill("#start-implementer", "村建筑队")
        clerk.fill("#start-planned_end", "2027-03-31")
        clerk.fill("#start-arrangement", "分两段施工，先路基后路面")
        shot(clerk, "3a-matter-start-form", DESKTOP)
        clerk.click("#form-start button[type=submit]")
        clerk.wait_for_load_state()
        assert "已办理" in clerk.content() and "村建筑队" in clerk.content()
        clerk.fill("#milestone", "路基完成")
        clerk.fill("#progress", "40")
        clerk.fill("#spent", "120000")
        clerk.set_input_files("#evidence", files=[{"name": "路基.png", "mimeType": "image/png",
                                                   "buffer": PNG}])
        clerk.click(".update-form button[type=submit]")
        clerk.wait_for_load_state()
        assert "已记录实施进度" in clerk.content()
        shot(clerk, "3-matter-implementation", DESKTOP)
        _rest_of_step_six(browser, live_server, number, clerk, phone, shot, hh_number, hh_name)
    finally:
        traveller.stop()
    for ctx in (phone_ctx, chair_ctx, clerk_ctx):
        ctx.close()


def _rest_of_step_six(browser: Any, live_server: str, number: str, clerk: Any, phone: Any,
                      shot: Any, hh_number: str, hh_name: str) -> None:
    """The chair confirms, the work reaches 100 %, the chair refuses once and then signs off,
    and the villager rates the completed matter on the phone."""
    chair_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    chair = chair_ctx.new_page()
    log_in(chair, live_server, "supervisor")
    chair.goto(f"{live_server}/v/sunshine/supervise")
    chair.click("#updates button:has-text('核实后确认')")
    chair.wait_for_load_state()
    assert "已确认实施进度" in chair.content()
    shot(chair, "4-workspace-confirmed", DESKTOP)
    chair_phone = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN").new_page()
    log_in(chair_phone, live_server, "supervisor")
    chair_phone.goto(f"{live_server}/v/sunshine/supervise")
    shot(chair_phone, "5-workspace-phone", PHONE)

    # The villager sees the replies and the progress.
    phone.goto(f"{live_server}/p/sunshine/m/{number}")
    page = phone.content()
    assert "公开招标产生" in page and "路基完成" in page and "40" in page
    assert hh_name not in page  # the objector's name is never public
    shot(phone, "6-phone-public-matter", PHONE)

    # The work is finished; the chair confirms it from the matter page and signs off there.
    clerk.goto(f"{live_server}/v/sunshine/m/{number}")
    clerk.fill("#milestone", "路面完成，全线通车")
    clerk.fill("#progress", "100")
    clerk.fill("#spent", "300000")
    clerk.click(".update-form button[type=submit]")
    clerk.wait_for_load_state()
    chair.goto(f"{live_server}/v/sunshine/m/{number}")
    assert "implementation.unconfirmed" in chair.locator("#form-complete").inner_text()
    chair.click("#implementation button:has-text('核实后确认')")
    chair.wait_for_load_state()
    chair.goto(f"{live_server}/v/sunshine/supervise")
    chair.click("#signoff a:has-text('可以验收')")
    chair.wait_for_load_state()
    form = chair.locator("#form-complete")
    form.locator("input[value=refuse]").check()
    form.locator("textarea[name=complete-reason]").fill("排水沟未按方案修建，请整改")
    shot(chair, "7-matter-signoff-form", DESKTOP)
    form.locator("button[type=submit]").click()
    chair.wait_for_load_state()
    assert "排水沟未按方案修建" in chair.content()
    form = chair.locator("#form-complete")
    form.locator("textarea[name=complete-report]").fill("经现场验收，工程质量合格")
    form.locator("button[type=submit]").click()
    chair.wait_for_load_state()
    assert "已完成" in chair.content()
    shot(chair, "8-matter-completed", DESKTOP)

    # The villager rates the completed matter on the phone.
    phone.goto(f"{live_server}/p/sunshine/m/{number}")
    rate = phone.locator("#rate-form")
    rate.locator("input[name$=household]").fill(hh_number)
    rate.locator("input[name$=name]").fill(hh_name)
    rate.locator("input[type=radio][value='5']").check()
    shot(phone, "9-phone-rating", PHONE)
    rate.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    assert "1户评价" in phone.content()
    chair_ctx.close()
