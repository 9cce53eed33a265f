"""In a real Chromium at phone width: a table whose header is hidden still names every cell, and
English text is set in a Latin font (a CJK font draws quotes full-width)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_on_a_phone_each_cell_of_a_table_shows_the_name_of_its_column(
        browser: Any, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/password/forgot?lang=en")
    labels = page.eval_on_selector_all(
        "#forgot table td",
        "cells => cells.map(c => getComputedStyle(c, '::before').content)")
    assert labels, "the forgot-password page lists who resets whom"
    assert set(labels) == {'"Your role"', '"Who can reset your password"'}
    context.close()


def test_english_pages_set_latin_type_first_and_chinese_pages_cjk_type(
        browser: Any, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server}/login?lang=en")
    english = page.evaluate("getComputedStyle(document.body).fontFamily")
    page.goto(f"{live_server}/login?lang=zh")
    chinese = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "CJK" not in english.split(",")[0] and "CJK" in chinese.split(",")[0]
    context.close()
