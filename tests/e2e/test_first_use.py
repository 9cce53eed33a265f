"""In a real Chromium on a 390 px phone in English: the step trackers of the board and of the
public and staff matter pages fit the screen (long English step names wrap), and each of the
board's step dots shows its name (issue 15, item 7)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.web.test_supervision_pages import passed_road

from .pages import PHONE, log_in

pytestmark = pytest.mark.browser

WIDTHS = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def test_step_trackers_fit_a_phone_in_english(browser: Any, live_server: str,
                                              demo: Flask) -> None:
    passed_road(demo)  # a matter with done steps, one waiting, on notice
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/p/sunshine/?lang=en")
    pages = [f"{live_server}/p/sunshine/", f"{live_server}/p/sunshine/m/2026-001",
             f"{live_server}/p/sunshine/m/2026-003"]
    for url in pages:
        page.goto(url)
        scroll, client = page.evaluate(WIDTHS)
        assert scroll <= client, f"{url}: {scroll}px wide on a {client}px screen"
    # Each dot's name is shown, inside the screen.
    page.goto(pages[0])
    names = page.locator(".mini-steps .t")
    assert names.count() >= 6
    for i in range(6):
        box = names.nth(i).bounding_box()
        assert box is not None and box["height"] > 0 and box["x"] + box["width"] <= PHONE["width"]
    for username in ("clerk", "rep01"):
        log_in(page, live_server, username)
        for url in (f"{live_server}/v/sunshine/m/2026-001", f"{live_server}/v/sunshine/m/2026-003"):
            page.goto(url)
            scroll, client = page.evaluate(WIDTHS)
            assert scroll <= client, f"{username} {url}: {scroll}px wide on a {client}px screen"
        page.click("header button[type=submit]")
    context.close()
