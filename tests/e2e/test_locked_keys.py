"""In a real Chromium: a server restored without its ledger passphrase says so on every page,
and a villager's suggestion is refused with the rule and both languages, not an error 500."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from sunvote import create_app
from sunvote.extensions import db
from sunvote.models import Suggestion

pytestmark = pytest.mark.browser


def test_a_server_whose_passphrase_opens_no_key_says_so_and_refuses_writes(
        browser: Any, demo: Flask, screenshot_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUNVOTE_INSTANCE_PATH", demo.instance_path)
    restored = create_app({"SQLALCHEMY_DATABASE_URI": demo.config["SQLALCHEMY_DATABASE_URI"],
                           "LEDGER_PASSPHRASE": "a passphrase that seals nothing here"})
    server = make_server("127.0.0.1", 0, restored, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with restored.app_context():
            before = db.session.execute(select(func.count()).select_from(Suggestion)).scalar_one()
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/p/sunshine/suggest")
        banner = page.get_by_role("alert").first
        assert "账本口令打不开数据库中的账本密钥" in banner.inner_text()
        assert "keys.passphrase_wrong" in banner.inner_text()
        page.fill("textarea", "村口的路灯坏了")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="提交建议").click()
        assert answer.value.status == 503
        page.wait_for_load_state()
        text = page.inner_text("main")
        assert "keys.passphrase_wrong" in text and "账本口令打不开数据库中的账本密钥" in text
        assert page.get_by_role("alert").count() == 1  # the refusal, not the banner again
        page.screenshot(path=str(screenshot_dir / "locked-keys-refusal.png"), full_page=True)
        with restored.app_context():
            after = db.session.execute(select(func.count()).select_from(Suggestion)).scalar_one()
        assert after == before
        page.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with restored.app_context():
            db.session.remove()
            db.engine.dispose()
