"""In a real Chromium: the clerk, the secretary and the township reviewer take a matter from a
villager's suggestion to a filed review, at desktop and phone sizes, with screenshots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages import DESKTOP, PHONE, log_in, log_out

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_suggestion_to_filed_review_in_a_real_browser(browser: Any, live_server: str,
                                                      screenshot_dir: Path, size: str) -> None:
    viewport = DESKTOP if size == "desktop" else PHONE
    context = browser.new_context(viewport=viewport, is_mobile=size == "phone",
                                  has_touch=size == "phone", locale="zh-CN")
    page = context.new_page()
    def shot(name: str) -> None:
        page.screenshot(path=str(screenshot_dir / f"walkthrough-{size}-{name}.png"),
                        full_page=True)
        # Nothing may be wider than the screen (long keys and hashes must wrap).
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"

    # A villager suggests something from the poster's page, with no account.
    page.goto(f"{live_server}/p/sunshine/")
    page.click("text=我要提建议")
    page.fill("#text", "建议在文化礼堂门口修一个无障碍坡道，方便老人进出。")
    page.click("button:has-text('提交建议')")
    # wait for the answer page (under load, content() can catch the page mid-navigation)
    page.get_by_text("您的建议已提交").first.wait_for()
    assert "您的建议已提交" in page.content()
    shot("1-villager-suggested")

    # The clerk opens a matter from it (step 1).
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server}/v/sunshine/suggestions")
    page.get_by_label(re.compile("无障碍坡道")).check()
    page.fill("#open-title", "文化礼堂无障碍坡道")
    page.fill("#open-text", "村民建议修建无障碍坡道")
    shot("2-clerk-suggestions")
    page.click("button:has-text('立项')")
    page.get_by_text("已立项").first.wait_for()
    assert "已立项" in page.content()
    matter_url = page.url
    log_out(page)

    # The party secretary proposes it (step 2).
    log_in(page, live_server, "secretary")
    page.goto(matter_url)
    page.select_option("#propose-category", "2")
    page.fill("#propose-summary", "在文化礼堂东门修建长6米的无障碍坡道，村集体出资。")
    page.fill("#propose-amount", "18000")
    page.set_input_files("#propose-materials", files=[{
        "name": "坡道方案.pdf", "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4\n% ramp plan\n"}])
    page.click("#form-propose button[type=submit]")
    page.get_by_text("已办理").first.wait_for()
    assert "已办理" in page.content()

    # The township's step is not offered to the secretary.
    assert page.locator("#form-review").count() == 0
    assert page.locator("#form-withdraw").count() == 1
    log_out(page)

    # The clerk records the joint meeting (step 3).
    log_in(page, live_server, "clerk")
    page.goto(matter_url)
    page.fill("#discuss-meeting_date", "2026-11-20")
    page.fill("#discuss-expected", "9")
    page.fill("#discuss-present", "8")
    page.fill("#discuss-minutes", "联席会议同意修建，提交乡镇审议。")
    page.fill("#discuss-plan", "东门修建长6米无障碍坡道，村集体出资1.8万元。")
    page.click("#form-discuss button[type=submit]")
    page.get_by_text("已办理").first.wait_for()
    assert "已办理" in page.content()
    log_out(page)

    # The township reviewer files it (step 4).
    log_in(page, live_server, "reviewer")
    page.goto(matter_url)
    page.fill("#review-filing_no", "阳光镇备〔2026〕31号")
    page.click("#form-review button[type=submit]")
    page.get_by_text("已备案，待票决").first.wait_for()
    content = page.content()
    assert "已备案，待票决" in content
    for step in ("登记建议，立项", "党支部提议", "联席会议商议，提交审议", "审议通过，予以备案"):
        assert step in content
    assert "坡道方案.pdf" in content
    shot("3-matter-filed")
    page.goto(f"{live_server}/p/sunshine/")
    assert "账本公钥" in page.content()
    shot("4-public-page-with-ledger-key")
    # Chinese text really renders: the title's width is that of CJK glyphs, not empty boxes.
    width = page.evaluate("document.querySelector('h1').getBoundingClientRect().width")
    assert width > 100
    context.close()


def test_wrong_role_sees_no_form_and_a_forged_post_is_refused(browser: Any, live_server: str,
                                                              screenshot_dir: Path) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log_in(page, live_server, "rep01")
    page.goto(f"{live_server}/v/sunshine/m/2026-003")
    # No form for a representative; the page says who takes the next step (issue 15).
    assert page.locator("#next-step").count() == 1 and "办理" in page.inner_text("#next-step")
    assert page.locator("form[action$='/propose']").count() == 0
    # Post the secretary's form anyway, with a valid CSRF token from this session.
    token = page.eval_on_selector("input[name=csrf_token]", "e => e.value")
    response = page.request.post(f"{live_server}/v/sunshine/m/2026-003/propose", multipart={
        "propose-csrf_token": token, "propose-category": "2", "propose-title": "x",
        "propose-summary": "y", "propose-amount": "1"})
    assert response.status == 403
    page.set_content(response.text())
    assert "procedure.role" in page.content()
    page.screenshot(path=str(screenshot_dir / "refusal-wrong-role.png"), full_page=True)
    context.close()
