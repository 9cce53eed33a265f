"""In a real Chromium: a clerk on a shared computer logs out; the back button shows no roster
(no-store), and a copy of the session cookie in another browser is logged out too."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_after_logout_neither_the_back_button_nor_a_copied_cookie_shows_the_roster(
        browser: Any, live_server: str, demo: Flask) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#username", "clerk")
    page.fill("#password", "sunvote2026")
    page.check("#shared")
    page.click("main button[type=submit]")
    page.goto(f"{live_server}/v/sunshine/register")
    expect(page.locator("main h1")).to_be_visible()
    register_url = page.url

    copy = browser.new_context(locale="zh-CN")
    copy.add_cookies(context.cookies())
    other = copy.new_page()
    other.goto(register_url)
    assert other.url == register_url  # the copy works while the session lasts

    page.click("header button:has-text('退出')")
    page.wait_for_url(re.compile(r"/$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/login"))
    other.goto(register_url)
    expect(other).to_have_url(re.compile(r"/login"))
    expect(other.locator("main")).to_contain_text("access.session_revoked")
    copy.close()
    context.close()
