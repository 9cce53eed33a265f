"""Starting data and browser helpers for the meeting video (issue 19), shared by the browser test
(tests/e2e/test_video.py) and the benchmark (benchmarks/video_bench.py): a meeting opened today
with cloud members joined by their enrolled phones (real keys, by the services: starting data),
a Chromium with fake camera and microphone, and what the pages' script reports
(window.sunvoteVideo.report(): each connection's state, its video element's size and time,
getStats() byte counts, the time to the first frame)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import Account, Meeting, Person, Village
from sunvote.services import assembly, cloud
from sunvote.services.cloud import SESSION_COOKIE

#: Chromium's fake devices: a moving test pattern at 640×480 and a beeping tone; no prompt;
#: sound may play without a touch (a projector nobody touches).


def person_of(username: str) -> Person:
    return db.session.execute(select(Person).join(Account, Account.person_id == Person.id)
                              .where(Account.username == username)).scalar_one()


def open_with_cloud_members(app: Flask, number: int, usernames: list[str]) -> dict[str, Any]:
    """Open meeting ``number`` of 阳光村 (the clerk) and join each account's person from an
    enrolled phone (invitation, PIN, presence code, the phone's signature). Their names and
    cloud session tokens, by username."""
    from tests.services.test_cloud import Phone, code_at, enrol

    with app.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        meeting = db.session.execute(select(Meeting).where(
            Meeting.village_id == village.id, Meeting.number == number)).scalar_one()
        clerk = person_of("clerk").id
        now = dt.datetime.now(dt.UTC)
        assembly.open_meeting(clerk, meeting.id, now=now)
        out: dict[str, Any] = {}
        for username in usernames:
            member = person_of(username)
            phone = Phone()
            enrol(member.id, phone, pin="135790", now=now)
            _, token = cloud.issue_invitation(clerk, meeting.id, member.id, now=now)
            code = code_at(meeting, now)
            proof = phone.sign({"v": 1, "t": "attend", "log": str(village.origin),
                                "meeting": meeting.number, "member": member.id, "code": code})
            joined = cloud.attempt("join", "203.0.113.7", lambda seen, t=token, p=proof, c=code:
                                   cloud.join(seen, t, p, "135790", c, now=now), credential=token)
            out[username] = {"name": member.name, "session": joined.session, "id": member.id}
        return out


def phone_context(browser: Any, base: str, session: str | None, locale: str = "zh-CN") -> Any:
    """A phone (390×844, touch) holding a cloud session (the cookie its join set)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2, locale=locale)
    if session is not None:
        context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": f"{base}/c/"}])
    return context


def report(page: Any) -> list[dict[str, Any]]:
    """What meeting_video.js reports of each connection of the page."""
    return list(page.evaluate("window.sunvoteVideo ? window.sunvoteVideo.report() : []"))


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def flowing(page: Any, count: int) -> list[dict[str, Any]]:
    """The page's ``count`` connections, each connected and showing frames (videoWidth > 0),
    or an empty list."""
    rows = report(page)
    good = [r for r in rows if r["state"] == "connected" and r["videoWidth"] > 0]
    return good if len(good) >= count else []


def advancing(page: Any, pause: float = 1.5) -> dict[str, tuple[float, float]]:
    """Each connection's video currentTime before and after ``pause`` seconds."""
    before = {r["peer"]: r["currentTime"] for r in report(page)}
    time.sleep(pause)
    return {r["peer"]: (before.get(r["peer"], 0.0), r["currentTime"]) for r in report(page)}
