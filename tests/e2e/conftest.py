"""A live SunVote server in a thread, and a real Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import require

CHROMIUM = os.environ.get("SUNVOTE_CHROMIUM", "/usr/bin/chromium")
# The flags a root, offline, headless machine needs (no sandbox as root; no background fetches).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
# Chromium with fake camera and microphone, accepted without asking, and video that plays by
# itself: the meeting video's and the recording's browser tests (media_browser).
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]
SCREENSHOTS = Path(os.environ.get("SUNVOTE_SCREENSHOT_DIR", "test-artifacts/screenshots"))


@pytest.fixture
def live_server(demo: Flask) -> Iterator[str]:
    """The demo app served on a free loopback port; yields its base URL."""
    demo.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, demo, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    demo.config["BASE_URL"] = base  # QR codes and printed links point here
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require(Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None,
            f"Chromium not found at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extras install it
        require(False, "playwright is not installed (pip install -e '.[test]')")
        raise
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def media_browser(browser: Any) -> Iterator[Any]:
    """A second Chromium of the same Playwright, with fake media devices (MEDIA_ARGS; the
    session's ``browser`` has none), for the meeting video and the recording."""
    other = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + MEDIA_ARGS)
    yield other
    other.close()


def watch_csp(context: Any, refused: list[str]) -> Any:
    """Note every Content-Security-Policy refusal of the context's pages (none may happen)."""
    context.on("console", lambda m: refused.append(m.text)
               if "Content Security Policy" in m.text else None)
    return context


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(autouse=True)
def no_content_security_policy_violation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every browser test fails if a page breaks its Content-Security-Policy (an inline script
    or handler, a resource from elsewhere): Chromium reports each refusal on the console."""
    if "browser" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")
    refused: list[str] = []
    original = browser.new_context

    def new_context(*args: Any, **kwargs: Any) -> Any:
        context = original(*args, **kwargs)
        context.on("console", lambda message: refused.append(message.text)
                   if "Content Security Policy" in message.text else None)
        return context

    browser.new_context = new_context
    try:
        yield
    finally:
        browser.new_context = original
    assert not refused, f"a page broke its Content-Security-Policy: {refused[:3]}"
