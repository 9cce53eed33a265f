"""In a real Chromium: the supervisor asks the township witness to cosign from the ledger page;
the operator backs the database up with the CLI; the clerk records suggestions and the witness
cosigns again; the operator restores the old backup (the CLI refuses it: the witness cosigned
more, a rollback), puts it in place anyway by hand, and the clerk records a different history.
The supervisor then asks the witness from the ledger page, is refused, and sees the red warning
with both checkpoints (desktop and phone size, no horizontal overflow). Pages only, and the
operator's command line, after the starting data; the clock moved from the test process (the
witness button is limited to once a minute per village)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask

from .pages import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.browser


def ask_witness(page: Any, base: str) -> str:
    """The supervisor presses the ledger page's witness button; the flashed answer."""
    page.goto(f"{base}/v/sunshine/ledger")
    page.click("button:has-text('请乡镇见证方签名最新检查点')")
    page.wait_for_load_state()
    return str(page.locator(".notice").first.inner_text())


def record_suggestions(page: Any, base: str, n: int, text: str) -> None:
    """The clerk records ``n`` written suggestions on the suggestions page."""
    for i in range(n):
        page.goto(f"{base}/v/sunshine/suggestions")
        form = page.locator("form[action$='/suggestions/record']")
        form.locator("textarea[name=record-text]").fill(f"{text}{i}")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert f"{text}{i}" in page.content()


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore read it (no driver name)."""
    return "postgresql://" + url.split("://", 1)[1]


def operator_backup(app: Flask, file: Path) -> None:
    """`sunvote backup FILE` (SQLite); on PostgreSQL the pg_dump step it prints."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        result = app.test_cli_runner().invoke(args=["backup", str(file)])
        assert result.exit_code == 0, result.output
    else:
        subprocess.run(["pg_dump", "--format=custom", f"--file={file}", libpq_url(url)],
                       check=True, timeout=120)


def operator_restore_anyway(app: Flask, file: Path) -> None:
    """The operator restores the old backup. `sunvote restore FILE` (SQLite) or `pg_restore` and
    `sunvote restore --check` (PostgreSQL) refuse it: the witness has cosigned more of the log.
    The operator puts it in place anyway (SQLite's own backup tool, as `sqlite3 live.db
    ".restore FILE"` would; on PostgreSQL the pg_restore has already done it)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    runner = app.test_cli_runner()
    if url.startswith("sqlite"):
        result = runner.invoke(args=["restore", str(file)])
        assert result.exit_code == 1 and "ledger.rollback" in result.output, result.output
        live = url.removeprefix("sqlite:///")
        with sqlite3.connect(file) as source, sqlite3.connect(live) as target:
            source.backup(target)
    else:
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner",
                        f"--dbname={libpq_url(url)}", str(file)], check=True, timeout=120)
        result = runner.invoke(args=["restore", "--check"])
        assert result.exit_code == 1 and "ledger.rollback" in result.output, result.output


def test_a_restored_and_rewritten_log_is_refused_and_shown_red_with_its_evidence(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask,
        tmp_path: Path) -> None:
    start = dt.datetime.now(dt.UTC)
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    clerk = context.browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    log_in(page, live_server, "supervisor")
    assert "乡镇见证方已签名" in ask_witness(page, live_server)
    backup = tmp_path / "sunvote-backup.db"
    operator_backup(demo, backup)

    log_in(clerk, live_server, "clerk")
    record_suggestions(clerk, live_server, 3, "甲")
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=True):
        assert "乡镇见证方已签名" in ask_witness(page, live_server)
    operator_restore_anyway(demo, backup)
    record_suggestions(clerk, live_server, 5, "乙")

    with time_machine.travel(start + dt.timedelta(minutes=4), tick=True):
        answer = ask_witness(page, live_server)
    # The rewritten log is longer than the cosigned one: a fork, refused with its rule's message.
    assert "账本出现分叉" in answer or "回滚" in answer, answer
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
    context.close()
