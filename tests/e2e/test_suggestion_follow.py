"""In a real Chromium: a villager suggests on a phone (390×844) and gets the number and private
link; the clerk declines one suggestion with a reason and takes the other into a matter; the
villager opens the private link (the code travels in the fragment, posted by token-link.js) and
sees what they submitted, the status and the link to the matter's public page; the declined
one's public page shows the reason. Screenshots of each screen; no page wider than the phone.
With SUNVOTE_SCREENSHOT_ALL=1 it also shoots the pages at 1366×768 and in English."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.e2e.pages import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
CONTACT = "13955556666"


def suggest(page: Any, base: str, text: str) -> tuple[int, str]:
    """Fill the public form from the board; returns the number and the private link."""
    page.goto(f"{base}/p/sunshine/")
    page.click("a:has-text('我要提建议')")
    page.wait_for_load_state()
    page.fill("#text", text)
    page.fill("#name", "钟秀兰")
    page.fill("#contact", CONTACT)
    page.click("button:has-text('提交建议')")
    page.wait_for_load_state()
    match = re.search(r"/s/(\d+)/new$", page.url)
    assert match, page.url
    heading = page.inner_text("h1")
    assert f"建议{match.group(1)}号" in heading
    assert page.locator(".follow-qr svg").count() == 1
    link = page.get_attribute("#follow-link", "href")
    assert link and "/follow#t=" in link
    return int(match.group(1)), link


def test_a_villager_follows_their_suggestion_to_the_matter_it_became(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask) -> None:
    phone = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2,
                                is_mobile=True, has_touch=True)
    page = phone.new_page()

    def shot(p: Any, name: str, narrow: bool = True) -> None:
        p.screenshot(path=str(screenshot_dir / f"suggestion-{name}.png"), full_page=True)
        if narrow:
            width = p.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: page is {width}px wide"

    taken, taken_link = suggest(page, live_server, "建议硬化去茶园的机耕路，雨天拖拉机上不去")
    shot(page, "1-submitted")
    declined, _ = suggest(page, live_server, "建议把篮球场改成停车场")

    # The clerk, at a desk: declines one with a reason, takes the other into a matter.
    desk = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    clerk = desk.new_page()
    log_in(clerk, live_server, "clerk")
    clerk.goto(f"{live_server}/v/sunshine/suggestions")
    clerk.select_option("#decline-number", str(declined))
    clerk.click("#decline button[type=submit]")  # no reason: refused, nothing written
    clerk.wait_for_load_state()
    assert "procedure.required_fields" in clerk.inner_text("main")
    clerk.select_option("#decline-number", str(declined))
    clerk.fill("#decline-reason", "篮球场是村民活动场地，村民代表会议已决定保留")
    clerk.click("#decline button[type=submit]")
    clerk.wait_for_load_state()
    assert f"建议{declined}号未采纳" in clerk.inner_text("main")
    clerk.get_by_label(re.compile(f"^建议{taken}号")).check()
    clerk.fill("#open-title", "茶园机耕路硬化")
    clerk.fill("#open-text", "村民建议硬化去茶园的机耕路")
    clerk.click("#open button[type=submit]")
    clerk.wait_for_load_state()
    matter = clerk.url.rstrip("/").split("/")[-1]
    assert re.fullmatch(r"\d{4}-\d{3}", matter), clerk.url
    clerk.goto(f"{live_server}/v/sunshine/suggestions")
    assert "篮球场是村民活动场地" in clerk.inner_text("#answered")
    shot(clerk, "4-clerk", narrow=False)

    # The villager, later, opens the private link on another phone (a new browser).
    later = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2,
                                is_mobile=True, has_touch=True)
    mine = later.new_page()
    mine.goto(taken_link)
    mine.wait_for_url(re.compile(rf"/s/{taken}/follow$"))  # the code left the address bar
    mine.wait_for_selector("#status")
    body = mine.inner_text("main")
    assert CONTACT in body and "钟秀兰" in body and "已纳入事项" in body
    assert "#t=" not in mine.url
    shot(mine, "2-private")
    mine.click(f"#status a:has-text('{matter}')")
    mine.wait_for_load_state()
    assert mine.url.endswith(f"/p/sunshine/m/{matter}")
    assert "茶园机耕路硬化" in mine.inner_text("h1")

    # Anyone: the declined suggestion's public page and the board's section.
    mine.goto(f"{live_server}/p/sunshine/s/{declined}")
    body = mine.inner_text("main")
    assert "未采纳" in body and "篮球场是村民活动场地" in body
    assert CONTACT not in body and "钟秀兰" not in body
    shot(mine, "3-declined")
    mine.goto(f"{live_server}/p/sunshine/")
    section = mine.inner_text("#suggestions")
    assert f"建议{declined}号" in section and "未采纳" in section and CONTACT not in section
    shot(mine, "5-board")

    if os.environ.get("SUNVOTE_SCREENSHOT_ALL"):
        pages = {"submitted": (page, f"/p/sunshine/s/{declined}/new"),  # its latest
                 "follow": (mine, f"/p/sunshine/s/{taken}/follow"),
                 "declined": (mine, f"/p/sunshine/s/{declined}"),
                 "taken": (mine, f"/p/sunshine/s/{taken}"),
                 "list": (mine, "/p/sunshine/suggestions"),
                 "board": (mine, "/p/sunshine/"),
                 "clerk": (clerk, "/v/sunshine/suggestions")}
        for lang in ("zh", "en"):
            for size, viewport in (("390", PHONE), ("1366", DESKTOP)):
                for name, (p, path) in pages.items():
                    p.set_viewport_size(viewport)
                    p.goto(f"{live_server}{path}?lang={lang}")
                    p.wait_for_load_state()
                    p.screenshot(path=str(screenshot_dir / f"{name}-{size}-{lang}.png"),
                                 full_page=True)
                mine.set_viewport_size(viewport)
                mine.goto(taken_link.replace("/follow#", f"/follow?lang={lang}#"))
                mine.wait_for_selector("#status")
                mine.screenshot(path=str(screenshot_dir / f"private-{size}-{lang}.png"),
                                full_page=True)
    for context in (phone, desk, later):
        context.close()
