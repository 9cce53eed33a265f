"""Watchers: the supervisory committee and the township watch the hall live through Janus
(docs/video.md "Watchers"), against the real Janus of Debian (tests/e2e/janus_server.py). The
rule is the recording's (domain.recording.recording_access_refusal, WATCH_LIVE); a watcher
subscribes to the hall's feed only, never publishes; the hall's poll keeps the watchers'
sessions; a watcher refused by the rule is destroyed in Janus at once; a Janus that is down is
a bilingual 503; without Janus (mesh) the routes do not exist and the recording page says why
there is no live view."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sunvote.domain.video import SFU_HALL_FEED, watcher_peer
from sunvote.extensions import db
from sunvote.models import Account
from sunvote.services import assembly, sfu
from tests.web import test_video_sfu
from tests.web.test_video_sfu import (
    ANSWER,
    hall_poll,
    hall_ready,
    janus_knows,
    janus_rows,
    post,
    room_url,
    the_meeting,
)
from tests.web.test_video_signalling import refusal, staff

#: The fixtures of test_video_sfu: the real Janus, the demo with a meeting open today.
janus = test_video_sfu.janus
world = test_video_sfu.world

pytestmark = pytest.mark.xdist_group("video_sfu")

JSON = {"Accept": "application/json"}


SID = "watchpage001"


def subscribe(client: FlaskClient, number: int, token: str) -> Any:
    return post(client, room_url(number, "watch/subscribe"), {"sid": SID}, token)


def watch(client: FlaskClient, number: int, sid: str = SID) -> Any:
    return client.get(f"{room_url(number, 'watch.json')}?sid={sid}", headers=JSON)


def watcher(app: Flask, username: str, sid: str = SID) -> tuple[FlaskClient, str, str]:
    """A login, its CSRF token and the peer of its live-view page ``sid``."""
    client, token = staff(app, username)
    with app.app_context():
        account = db.session.execute(select(Account).where(
            Account.username == username)).scalars().one()
        return client, token, watcher_peer(account.person_id, sid)


def subscribed(app: Flask, number: int, peer: str) -> list[int]:
    """Pretend the watcher's subscription went through (no browser: Janus has no media of the
    hall to offer): a Janus session of the watcher on the hall's feed, as subscribe records."""
    with app.app_context():
        meeting = the_meeting(app, number)
        session, handle = sfu._new_handle()
        sfu._record(meeting.id, peer, SFU_HALL_FEED, False, session, handle)
    return [r[3] for r in janus_rows(app, number) if r[0] == peer]


def test_supervisors_and_the_township_watch_the_clerk_does_not(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, _members = world
    hall_ready(app, number, "watchhall001")
    published = hall_poll(staff(app, "clerk")[0], number, "watchhall001").get_json()
    for username in ("supervisor", "township"):
        client, token, _peer = watcher(app, username)
        answer = watch(client, number)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = answer.get_json()
        assert body["hall"] == published["sfu"]["published"] and "iceServers" in body["rtc"]
        assert answer.headers["Cache-Control"] == "no-store"
        # the hall's media never arrived (no browser): nothing to subscribe to yet
        assert subscribe(client, number, token).status_code == 409
        assert post(client, room_url(number, "watch/start"), {"sid": SID, "answer": ANSWER},
                    token).status_code == 409
        assert post(client, room_url(number, "watch/start"), {"sid": SID, "answer": "x"},
                    token).status_code == 400
        # the page's id is checked once the rule admits the login
        answer = watch(client, number, "x")
        assert answer.status_code == 400 and refusal(answer)["rule"] == "input.invalid"
    clerk, token = staff(app, "clerk")
    for answer in (watch(clerk, number), subscribe(clerk, number, token)):
        assert answer.status_code == 403
        assert refusal(answer)["rule"] == "recording.access"
    rep = staff(app, "rep01")[0]
    assert watch(rep, number).status_code == 403


def test_the_halls_poll_keeps_the_watcher_and_a_refused_watcher_is_destroyed(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, _members = world
    hall, _token = hall_ready(app, number, "watchhall002")
    client, _token, peer = watcher(app, "supervisor")
    sessions = subscribed(app, number, peer)
    assert sessions and all(janus_knows(janus, s) for s in sessions)
    # a second tab of the same person is another watcher: it takes nothing from the first
    _c, _t, other_tab = watcher(app, "supervisor", "watchpage002")
    tab_sessions = subscribed(app, number, other_tab)
    assert all(janus_knows(janus, s) for s in sessions + tab_sessions)
    # the hall's poll (sfu.enforce) keeps the watchers' subscriptions to the hall's feed
    assert hall_poll(hall, number, "watchhall002").status_code == 200
    assert [r[:3] for r in janus_rows(app, number) if r[0] == peer] == [
        (peer, SFU_HALL_FEED, False)]
    assert all(janus_knows(janus, s) for s in sessions + tab_sessions)
    with app.app_context():
        sfu.drop_peer(the_meeting(app, number), other_tab)
    assert watch(client, number).status_code == 200
    # a watcher row on another feed, or publishing, is not kept (a watcher never publishes)
    with app.app_context():
        meeting = the_meeting(app, number)
        session, handle = sfu._new_handle()
        sfu._record(meeting.id, peer, 1_000_001, False, session, handle)
    hall_poll(hall, number, "watchhall002")
    assert not janus_knows(janus, session)
    assert [r[1] for r in janus_rows(app, number) if r[0] == peer] == [SFU_HALL_FEED]
    # the rule fails for this login (here: a clerk's row, as if the role ended): destroyed
    clerk, _t, clerk_peer = watcher(app, "clerk")
    _c, _t, clerk_tab = watcher(app, "clerk", "watchpage003")
    theirs = subscribed(app, number, clerk_peer) + subscribed(app, number, clerk_tab)
    assert watch(clerk, number, "watchpage009").status_code == 403  # all its pages go
    assert not any(janus_knows(janus, s) for s in theirs)
    assert not [r for r in janus_rows(app, number) if r[0] in (clerk_peer, clerk_tab)]
    assert [r[0] for r in janus_rows(app, number) if r[0] == peer] == [peer]


def test_a_janus_that_is_down_is_a_bilingual_503(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, _members = world
    hall_ready(app, number, "watchhall003")
    client, token, peer = watcher(app, "supervisor")
    subscribed(app, number, peer)
    with app.app_context():  # the keepalive is due
        for row in sfu.rows(the_meeting(app, number)):
            row.kept_at = row.kept_at.replace(year=2000)
        db.session.commit()
    app.config["JANUS_URL"] = "http://127.0.0.1:9/janus"  # nothing listens there
    try:
        for answer in (watch(client, number),
                       subscribe(client, number, token)):
            assert answer.status_code == 503, answer.get_data(as_text=True)
            error = refusal(answer)
            assert error["rule"] == "video.sfu_unavailable" and "Janus" in error["en"]
    finally:
        app.config["JANUS_URL"] = janus
    with app.app_context():
        sfu.drop_peer(the_meeting(app, number), peer)


def test_without_janus_no_live_view_and_the_page_says_why(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, _members = world
    client, token, _peer = watcher(app, "supervisor")
    answer = client.get(f"/v/sunshine/meetings/{number}/recording")
    page = answer.get_data(as_text=True)
    assert 'id="watch-live"' in page and "js/watch_live." in page
    assert "camera=()" in answer.headers["Permissions-Policy"]  # a watcher needs no camera
    assert "watch-live-missing" not in page
    app.config["JANUS_URL"] = None
    try:
        assert watch(client, number).status_code == 404
        assert subscribe(client, number, token).status_code == 404
        assert post(client, room_url(number, "watch/start"), {"sid": SID, "answer": ANSWER},
                    token).status_code == 404
        page = client.get(f"/v/sunshine/meetings/{number}/recording").get_data(as_text=True)
        assert 'id="watch-live"' not in page and "js/watch_live." not in page
        assert 'id="watch-live-missing"' in page and "Janus" in page
    finally:
        app.config["JANUS_URL"] = janus


def test_a_closed_meeting_refuses_the_watcher_and_ends_its_sessions(  # last: closes the meeting
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, _members = world
    hall, _token = hall_ready(app, number, "watchhall004")
    client, _token, peer = watcher(app, "supervisor")
    sessions = subscribed(app, number, peer)
    with app.app_context():
        meeting = the_meeting(app, number)
        assembly.close_meeting(meeting.convened_by_id, meeting.id)
    answer = watch(client, number)
    assert answer.status_code == 409 and refusal(answer)["rule"] == "recording.access"
    assert not any(janus_knows(janus, s) for s in sessions)
    assert hall_poll(hall, number, "watchhall004").status_code == 409
    assert janus_rows(app, number) == []
    page = client.get(f"/v/sunshine/meetings/{number}/recording").get_data(as_text=True)
    assert "watch-live" not in page
