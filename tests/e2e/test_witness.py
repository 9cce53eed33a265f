"""In a real Chromium: after the database is restored from an old backup and rewritten, the
supervisor asks the witness to cosign from the ledger page, is refused, and sees the red warning
with both checkpoints (desktop and phone size, no horizontal overflow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sunvote.services import witness
from tests.e2e.test_administration import DESKTOP, PHONE, log_in
from tests.services.test_witness_restore import add_records, backup, restore, sunshine

pytestmark = pytest.mark.browser


def test_a_restored_and_rewritten_log_is_refused_and_shown_red_with_its_evidence(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask) -> None:
    with demo.app_context():
        witness.send(sunshine())
        snapshot = backup()
        add_records(3, "甲")
        witness.send(sunshine())
        restore(snapshot)
        add_records(5, "乙")

    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server}/v/sunshine/ledger")
    page.click("button:has-text('请乡镇见证方签名最新检查点')")
    page.wait_for_load_state()
    # The rewritten log is longer than the cosigned one: a fork, refused with its rule's message.
    assert "账本出现分叉" in page.locator(".flash, .notice-error").first.inner_text()
    alert = page.locator("section[role=alert]")
    assert "红色预警：发现账本分叉或回滚的证据" in alert.inner_text()
    alert.locator("summary").first.click()
    kept, offered = alert.locator("pre.hash").all()[:2]
    assert kept.is_visible() and offered.is_visible()
    assert kept.inner_text() != offered.inner_text()
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(screenshot_dir / f"witness-rollback-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"
