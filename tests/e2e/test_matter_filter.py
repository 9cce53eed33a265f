"""In a real Chromium at phone size (390×844): a villager searches the board for a word, opens
the folded filters to pick a category, pages through the results and clears the filter — no
script needed, every step a bookmarkable URL. Screenshots at phone and desk size, zh and en."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.e2e.pages import PHONE
from tests.web.test_matter_filter import EXTRA, add_matters

pytestmark = pytest.mark.browser

DESK = {"width": 1366, "height": 768}


def test_a_villager_filters_and_pages_the_board_on_a_phone(browser: Any, live_server: str,
                                                           screenshot_dir: Path,
                                                           demo: Flask) -> None:
    add_matters(demo, EXTRA)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()

    def shot(name: str) -> None:
        page.screenshot(path=str(screenshot_dir / f"matter-filter-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: page is {width}px wide"

    page.goto(f"{live_server}/p/sunshine/")
    more = page.locator("details.filter-more")
    assert not more.evaluate("d => d.open"), "the filters are folded on a phone"
    assert page.locator("#mf-category").is_hidden()
    shot("1-board")

    page.get_by_label("搜索事项").fill("水渠")
    page.get_by_role("button", name="搜索", exact=True).click()
    page.wait_for_load_state()
    assert "q=%E6%B0%B4%E6%B8%A0" in page.url
    assert "符合条件的事项共25件" in page.inner_text(".filter-count")
    assert page.get_by_label("搜索事项").input_value() == "水渠"

    page.locator("details.filter-more summary").click()
    page.get_by_label("事项类别").select_option("2")
    page.get_by_label("年份", exact=True).select_option("2024")
    shot("2-filters-open")
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_load_state()
    assert "category=2" in page.url and "year=2024" in page.url
    assert page.locator("details.filter-more").evaluate("d => d.open")
    assert "第1页，共2页" in page.inner_text(".pager")
    first = page.locator("[id^=g-] .board-item .num").all_inner_texts()
    assert len(first) == 20
    shot("3-results")

    page.get_by_role("link", name="下一页").click()
    page.wait_for_load_state()
    assert "第2页，共2页" in page.inner_text(".pager")
    second = page.locator("[id^=g-] .board-item .num").all_inner_texts()
    assert len(second) == 5 and not set(first) & set(second)
    assert "page=2" in page.url
    shot("4-page-2")

    page.get_by_role("link", name="上一页").click()
    page.wait_for_load_state()
    assert page.locator("[id^=g-] .board-item .num").all_inner_texts() == first

    page.get_by_role("link", name="清除筛选").click()
    page.wait_for_load_state()
    assert page.url.endswith("/p/sunshine/")
    assert "清除筛选" not in page.inner_text("main")
    context.close()

    # The same pages in English and at desk size, for the screenshots.
    for lang, locale in (("zh", "zh-CN"), ("en", "en-US")):
        for size_name, size in (("phone", PHONE), ("desk", DESK)):
            context = browser.new_context(viewport=size, locale=locale)
            page = context.new_page()
            page.goto(f"{live_server}/p/sunshine/?q=%E6%B0%B4%E6%B8%A0&category=2&page=2&lang={lang}")
            page.screenshot(path=str(screenshot_dir / f"matter-filter-{lang}-{size_name}.png"),
                            full_page=True)
            page.goto(f"{live_server}/p/sunshine/?year=99999&lang={lang}")
            assert "filter.year" in page.inner_text(".notice-error")
            page.screenshot(path=str(screenshot_dir / f"matter-filter-{lang}-{size_name}-bad.png"),
                            full_page=True)
            context.close()
