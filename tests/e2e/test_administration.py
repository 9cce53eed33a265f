"""In a real Chromium: the township admin creates a village and sets a stricter threshold; the new
clerk logs in with the temporary password, imports a 200-row XLSX roster, fixes the rejected row
by importing the corrected file, and sees the roster warnings. Screenshots at desktop size, and
the register and the import preview at phone size."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.extensions import db
from sunvote.models import Person, TownshipSetting, Village
from tests.e2e.pages import DESKTOP, PHONE, log_in
from tests.roster_files import roster_rows, xlsx_bytes

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(page: Any, data: bytes) -> None:
    page.set_input_files("#file", files=[{"name": "名册.xlsx", "mimeType": XLSX,
                                          "buffer": data}])
    page.click("button:has-text('预览')")
    page.wait_for_load_state()


def test_township_creates_a_village_and_its_clerk_imports_the_roster(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()

    def shot(name: str, viewport: dict[str, int] = DESKTOP) -> None:
        page.set_viewport_size(viewport)
        page.screenshot(path=str(screenshot_dir / f"admin-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"
        page.set_viewport_size(DESKTOP)

    # The township admin creates a village with its clerk.
    log_in(page, live_server, "township")
    page.goto(f"{live_server}/t/demo-town/")
    page.fill("#code", "hillside")
    page.fill("#name", "山边村")
    page.fill("#clerk_name", "何静")
    page.fill("#clerk_username", "13900000021")
    page.click("button:has-text('新建村')")
    page.wait_for_load_state()
    password = page.inner_text(".temp-password").strip()
    assert re.fullmatch(r"[a-z0-9]{10}", password)
    shot("1-township-village-created")

    # …and makes decisions on land contracting (category 5) need two thirds of those present.
    page.goto(f"{live_server}/t/demo-town/settings")
    page.select_option('[name="setting-pass_rule.category_5"]', "two_thirds_of_present")
    page.fill('[name="setting-quorum"]', "1/2")  # looser than the law (2/3): refused
    page.click("button:has-text('保存设置')")
    page.wait_for_load_state()
    assert "settings.law_bound" in page.content()
    shot("2-settings-refused")
    page.fill('[name="setting-quorum"]', "2/3")
    page.fill('[name="setting-public_notice_days"]', "7")
    page.select_option('[name="setting-pass_rule.category_5"]', "two_thirds_of_present")
    page.click("button:has-text('保存设置')")
    page.wait_for_load_state()
    assert "已修改2项设置" in page.content()
    shot("3-settings-saved")
    page.click("header button:has-text('退出')")
    page.wait_for_url(re.compile(r"/$"))

    # The new clerk logs in with the temporary password and must change it first.
    log_in(page, live_server, "13900000021", password)
    assert page.url.endswith("/password")
    page.fill("#current", password)
    page.fill("#new", "hillside-2026")
    page.fill("#again", "hillside-2026")
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    # A 200-row roster with one bad ID number: the preview names the row and the rule.
    rows = roster_rows(200, seed=11)
    bad = [dict(r) for r in rows]
    bad[41]["id_number"] = bad[41]["id_number"][:6] + "19991332" + bad[41]["id_number"][14:]
    page.goto(f"{live_server}/v/hillside/register/import")
    upload(page, xlsx_bytes(bad))
    preview = page.inner_text("#preview")
    assert "person.id_number" in preview
    assert page.locator("tr.row-reject").count() >= 1
    assert page.locator("tr.row-reject td").first.inner_text() == "43"
    shot("4-import-preview")
    shot("4-import-preview-phone", PHONE)
    with demo.app_context():
        village_id = db.session.execute(
            select(Village.id).where(Village.code == "hillside")).scalar_one()

        def people() -> int:
            return db.session.execute(select(func.count()).select_from(Person).where(
                Person.village_id == village_id)).scalar_one()

        assert people() == 1  # only the clerk: the preview wrote nothing
    page.click("button:has-text('确认导入')")
    page.wait_for_load_state()
    assert "导入完成" in page.content()
    with demo.app_context():
        rejected = 200 + 1 - people()
    assert rejected >= 1

    # The clerk fixes the row in the file and imports it again: only the fixed rows are new.
    page.goto(f"{live_server}/v/hillside/register/import")
    upload(page, xlsx_bytes(rows))
    counts = page.inner_text(".counts")
    assert f"新增 {rejected}" in counts and f"不变 {200 - rejected}" in counts
    assert "拒绝 0" in counts
    page.click("button:has-text('确认导入')")
    page.wait_for_load_state()
    with demo.app_context():
        assert people() == 201
        settings = select(func.count()).select_from(TownshipSetting)
        assert db.session.execute(settings).scalar_one() == 2

    # The register shows the roster warnings: no party secretary, director or supervisory chair.
    page.goto(f"{live_server}/v/hillside/register")
    warnings = page.inner_text(".card.warn")
    assert "目前无人担任" in warnings and "roster.vacant_role" in warnings
    shot("5-register-warnings")
    shot("5-register-warnings-phone", PHONE)

    # A representative's page: terms, close relatives, login; in English too.
    page.click("table a >> nth=1")
    page.wait_for_load_state()
    assert page.locator("#appoint").count() == 1 and page.locator("#kin").count() == 1
    shot("6-person")
    shot("6-person-phone", PHONE)
    page.goto(page.url + "?lang=en")
    assert "Close relatives" in page.content() and "Appoint" in page.content()
    shot("7-person-english")
    context.close()


def test_only_the_township_issues_a_supervisors_login_in_the_pages(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask) -> None:
    """The clerk sees why a supervisor's login is not theirs to issue, and no button for it;
    the township admin issues it and sees the temporary password once."""
    with demo.app_context():
        pid = db.session.execute(select(Person.id).where(Person.name == "周涛")).scalar_one()
    path = f"{live_server}/v/sunshine/register/p/{pid}"
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "clerk")
    page.goto(path)
    assert "admin.login_issuer" in page.inner_text("#login-refused")
    assert page.locator("button:has-text('开通登录账号')").count() == 0
    page.screenshot(path=str(screenshot_dir / "admin-8-login-refused.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "township")
    page.goto(path)
    assert page.locator("#login-refused").count() == 0
    page.fill("#login-username", "13900000031")
    page.click("button:has-text('开通登录账号')")
    page.wait_for_load_state()
    assert re.fullmatch(r"[a-z0-9]{10}", page.inner_text(".temp-password").strip())
    context.close()
