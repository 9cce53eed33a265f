"""In a real Chromium: a poll the old version left open at a second meeting on a matter that
has since passed (issue 13 item 6): the clerk counts the first meeting's poll in its room, then
voids the stuck one in the second meeting's room with a reason, the hall screen shows it void,
and the meeting closes. Screenshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from sunvote.domain.assembly import VoteMode
from sunvote.extensions import db
from sunvote.models import Meeting, Poll
from sunvote.services import ballots
from tests.e2e.pages import DESKTOP, log_in
from tests.services.test_assembly_one_poll import legacy_second_poll
from tests.web.test_assembly_one_poll_pages import roster
from tests.web.test_assembly_pages import NOW, meeting_today

pytestmark = pytest.mark.browser


def test_the_clerk_voids_a_stuck_poll_and_closes_its_meeting(
        browser: Any, live_server: str, screenshot_dir: Path, demo: Flask,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = meeting_today(demo, mode=VoteMode.NAMED)
    second = meeting_today(demo)
    members = roster(demo, first.number)
    with demo.app_context():
        second_id = db.session.execute(select(Meeting.id).where(
            Meeting.number == second.number)).scalar_one()
        legacy_second_poll(monkeypatch, second_id, members[3], at=NOW)
        poll = db.session.execute(select(Poll).join(Meeting).where(
            Meeting.number == first.number)).scalar_one()
        for member in members:  # the starting data: every member voted at meeting 1
            ballots.cast_ballot(member, poll.id, member, "yes", now=NOW)
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    clerk = ctx.new_page()
    clerk.on("dialog", lambda dialog: dialog.accept())  # the "are you sure" confirmations
    log_in(clerk, live_server, "clerk")
    # The clerk counts meeting 1's poll in its room: the matter passes there.
    clerk.goto(f"{live_server}/v/sunshine/meetings/{first.number}")
    clerk.click("button:has-text('结束表决并计票')")
    clerk.wait_for_load_state()
    assert "表决结束" in clerk.content()
    room = f"{live_server}/v/sunshine/meetings/{second.number}"
    clerk.goto(room)
    assert "本项表决已暂停" in clerk.content()
    assert clerk.locator("button:has-text('结束表决并计票')").count() == 0
    clerk.fill("#void-reason", "该事项已在另一次会议表决通过")
    clerk.click("button:has-text('作废本项表决')")
    clerk.wait_for_load_state()
    assert "本项表决已作废，选票不计" in clerk.content()
    assert "该事项已在另一次会议表决通过" in clerk.content()
    clerk.screenshot(path=str(screenshot_dir / "assembly-void-poll.png"), full_page=True)
    hall = ctx.new_page()
    hall.goto(f"{room}/hall")
    expect(hall.locator("#polls")).to_contain_text("已作废", timeout=10000)
    clerk.click("button:has-text('结束会议')")
    clerk.wait_for_load_state()
    with demo.app_context():
        assert db.session.execute(select(Meeting.state).where(
            Meeting.id == second_id)).scalar_one() == "closed"
    ctx.close()
