"""Page helpers shared by the browser tests: logging in and out, screenshots that also check
nothing is wider than the screen, checking members in and the hall device's votes in the
clerk's room page, and the supervisor's confirmations. Pages only: no service calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROJECTOR = {"width": 1920, "height": 1080}
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def log_in(page: Any, base: str, username: str, password: str = "sunvote2026") -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def log_out(page: Any) -> None:
    page.click("header button:has-text('退出')")
    page.wait_for_load_state()


def shot(page: Any, directory: Path, name: str) -> None:
    """A full-page screenshot; nothing on the page may be wider than the screen."""
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{name}: page is {width}px wide on a {viewport}px screen"


def check_in_members(clerk: Any, count: int) -> None:
    """The clerk checks in the first ``count`` members not yet present at once: ticks them in
    the room's list and presses "为勾选的人员签到" (the clerk's word for each). Kept in one place:
    the check-in section's layout changes here only."""
    boxes = clerk.locator("#checkin-list input[type=checkbox]")
    for i in range(count):
        boxes.nth(i).check()
    clerk.click("button:has-text('为勾选的人员签到')")
    clerk.wait_for_load_state()


def vote_on_hall_device(clerk: Any, item: int, count: int, choice: str = "同意") -> None:
    """``count`` members vote ``choice`` on the hall device for the ``item``-th agenda item,
    without a PIN (held like paper ballots until a supervisor confirms them)."""
    for _ in range(count):
        clerk.click(f".agenda-item >> nth={item} >> summary:has-text('会场设备代投')")
        clerk.locator(".agenda-item").nth(item).locator(
            f".device-vote button:has-text('{choice}')").last.click()
        clerk.wait_for_load_state()


def confirm_all(page: Any) -> int:
    """The supervisor confirms every batch awaiting confirmation; how many."""
    done = 0
    while page.locator("button:has-text('核对计票单后确认')").count():
        page.locator("button:has-text('核对计票单后确认')").first.click()
        page.wait_for_load_state()
        done += 1
    return done
