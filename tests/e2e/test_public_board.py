"""In a real Chromium at phone size (390×844): a villager follows the poster's QR code to the
village board, opens a matter in its notice period, checks a representative's receipt code,
files an objection (a wrong name first: refused, what was typed kept) and sees it listed; the
printable notice. Screenshots of each screen; no page is wider than the phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import Ballot
from tests.e2e.pages import PHONE
from tests.web.test_public_board import OBJECTOR, add_objector, take_to

pytestmark = pytest.mark.browser


def test_a_villager_walks_the_public_board_on_a_phone(browser: Any, live_server: str,
                                                      screenshot_dir: Path, demo: Flask) -> None:
    add_objector(demo)
    number = take_to(demo, "passed")
    with demo.app_context():
        code = db.session.execute(select(Ballot.code).order_by(Ballot.id)).scalars().first()
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()

    def shot(name: str) -> None:
        page.screenshot(path=str(screenshot_dir / f"public-board-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: page is {width}px wide"

    # The poster's QR code carries the village page's URL; a phone opens it.
    page.goto(f"{live_server}/p/sunshine/poster")
    url = page.inner_text(".poster-url").strip()
    assert url == f"{live_server}/p/sunshine/"
    page.goto(url)
    assert "阳光村" in page.inner_text("h1")
    notice_group = page.locator("#g-notice")
    assert "村东道路硬化工程" in notice_group.inner_text()
    shot("1-village")

    notice_group.locator("a.board-item").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/p/sunshine/m/{number}")
    assert "公示中，至" in page.inner_text("#notice")
    assert "通过" in page.inner_text("#results")
    shot("2-matter")

    # A representative's receipt code, typed into the box on the matter page.
    page.fill("#receipt input[name=ballot]", code)
    page.click("#receipt button[type=submit]")
    page.wait_for_load_state()
    assert "已证明" in page.inner_text("main")
    assert "账本记录的内容" in page.inner_text("main")  # read from the proven record's bytes
    assert page.locator(".receipt-record").is_visible()
    assert page.locator(".receipt-mismatch").count() == 0
    shot("3-receipt")
    page.go_back()
    page.wait_for_load_state()

    # A wrong name is refused; what was typed stays.
    page.fill("#objection-household", OBJECTOR[0])
    page.fill("#objection-name", "王五")
    page.fill("#objection-text", "招标公告没有在村务公开栏张贴")
    page.click("#object-form button[type=submit]")
    page.wait_for_load_state()
    assert "户号和姓名与本村登记的不符" in page.inner_text("#object-form")
    assert page.input_value("#objection-text") == "招标公告没有在村务公开栏张贴"
    shot("4-objection-refused")

    page.fill("#objection-name", OBJECTOR[1])
    page.click("#object-form button[type=submit]")
    page.wait_for_load_state()
    listed = page.inner_text("#objections")
    assert "异议1" in listed and "招标公告没有在村务公开栏张贴" in listed
    assert OBJECTOR[1] not in page.content() and "等待答复" in listed
    shot("5-objection-listed")

    page.goto(f"{live_server}/p/sunshine/m/{number}/notice")
    assert "公示" in page.inner_text("h1")
    shot("6-notice")
    context.close()


def test_a_household_rates_a_completed_matter_on_a_phone(browser: Any, live_server: str,
                                                         screenshot_dir: Path,
                                                         demo: Flask) -> None:
    number = take_to(demo, "completed")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server}/p/sunshine/m/{number}")
    assert "验收合格，路面平整" in page.inner_text("#implementation")
    page.click("#rate-form label.star:has(input[value='4'])")
    page.fill("#rating-household", "001")
    page.fill("#rating-name", "张敏")
    page.click("#rate-form button[type=submit]")
    page.wait_for_load_state()
    assert "1户评价" in page.inner_text("#satisfaction")
    page.click("#rate-form label.star:has(input[value='5'])")  # the same household again
    page.fill("#rating-household", "001")
    page.fill("#rating-name", "张敏")
    page.click("#rate-form button[type=submit]")
    page.wait_for_load_state()
    assert "每户只能评价一次" in page.inner_text("#rate-form")
    page.locator("#implementation").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "public-board-7-completed-rated.png"),
                    full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
