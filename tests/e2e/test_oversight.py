"""In a real Chromium at desktop size: the district administrator opens the dashboard from /admin/,
follows a red warning to the village's ledger page, and downloads the XLSX, which openpyxl opens
with the expected rows. Screenshots at desktop and phone size (no horizontal overflow)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import LedgerVerification, Village
from sunvote.models.base import utcnow
from tests.e2e.pages import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.browser


def test_the_district_follows_a_red_warning_and_downloads_the_xlsx(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask) -> None:
    with demo.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        db.session.add(LedgerVerification(
            village_id=village.id, size=9, root=b"\0" * 32, ok=False, exit_code=1,
            failures=["7 matter.step signature: invalid"], cosigned_by=[], seconds=0.2,
            verified_at=utcnow()))
        db.session.commit()

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()

    def shot(name: str, viewport: dict[str, int] = DESKTOP) -> None:
        page.set_viewport_size(viewport)
        page.screenshot(path=str(screenshot_dir / f"oversight-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"
        page.set_viewport_size(DESKTOP)

    log_in(page, live_server, "district")
    page.goto(f"{live_server}/admin/")
    page.click("a:has-text('全区预警与汇总')")
    page.wait_for_load_state()
    assert page.url.endswith("/admin/oversight")
    red = page.locator("li.warning-red")
    assert red.count() == 1
    assert "ledger.verification_failed" in red.inner_text()
    assert "账本必须通过验证" in red.inner_text()
    assert page.locator(".count-red strong").inner_text() == "1"
    assert page.locator("svg.chart").count() == 4
    shot("1-dashboard")
    shot("1-dashboard-phone", PHONE)

    # Follow the red warning to its target: the village's ledger page.
    red.locator("a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/v/sunshine/ledger")
    assert "阳光村" in page.content()
    shot("2-warning-target")

    # Back on the dashboard, download the XLSX.
    page.go_back()
    page.wait_for_load_state()
    with page.expect_download() as info:
        page.click("a:has-text('导出Excel')")
    download = info.value
    assert download.suggested_filename == "全区汇总.xlsx"
    data = Path(download.path()).read_bytes()
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["村汇总", "预警"]
    villages = [[c.value for c in row] for row in book["村汇总"].iter_rows()]
    assert villages[0][:4] == ["乡镇", "村", "村代码", "事项总数"]
    assert [(r[1], r[3]) for r in villages[1:]] == [("清风村", "0"), ("阳光村", "3")]
    warnings = [[c.value for c in row] for row in book["预警"].iter_rows()]
    assert warnings[1][:2] == ["红", "ledger.verification_failed"]
    assert warnings[1][4] == "阳光村"

    # The red box filters the warnings; the township row opens the township's villages.
    page.click(".count-red")
    page.wait_for_load_state()
    assert page.url.endswith("/admin/oversight?colour=red#warnings")
    assert page.locator("li.warning").count() == page.locator("li.warning-red").count() == 1
    page.click(".township-table a:has-text('阳光镇')")
    page.wait_for_load_state()
    assert page.url.endswith("/t/demo-town/oversight")
    assert page.locator(".village-table tbody tr").count() == 2
    shot("4-township")

    # The township drill-down of the warned village, at phone size too.
    page.click(".village-table a:has-text('阳光村')")
    page.wait_for_load_state()
    assert page.url.endswith("/t/demo-town/oversight/v/sunshine")
    assert "村东道路硬化工程" in page.content()
    shot("3-village", PHONE)
    context.close()
