"""The meeting video's signalling over HTTP (sunvote/video, docs/video.md): a phone's offer reaches
the hall page and only the hall's answer to that phone reaches it; who may take part is
domain.video.video_refusal, answered with its rule in both languages; a newer hall page takes
over; old messages are dropped; TURN passwords are made per page from the shared secret."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from sunvote.domain.video import Kind, Signal
from sunvote.extensions import db
from sunvote.models import Meeting, VideoSignal
from sunvote.services import assembly
from sunvote.services import video as service
from sunvote.services.cloud import SESSION_COOKIE
from tests.conftest import csrf_token, login
from tests.e2e.test_assembly import prepare
from tests.e2e.video_world import open_with_cloud_members, person_of
from tests.web.module_demo import demo_app_once

pytestmark = pytest.mark.xdist_group("video_signalling")

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"}
TURN = [{"urls": ["stun:turn.example.cn:3478", "turn:turn.example.cn:3478?transport=udp"]}]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          postgres_url: str | None) -> Iterator[tuple[Flask, int, dict[str, Any]]]:
    """The demo with a meeting opened today and four members joined from their phones."""
    with demo_app_once(tmp_path_factory.mktemp("video"), postgres_url) as app:
        app.config.update(ICE_SERVERS=TURN, TURN_SECRET="coturn-shared-secret",
                          TURN_TTL_SECONDS=3600)
        number = prepare(app)
        members = open_with_cloud_members(app, number, ["rep20", "rep19", "rep18", "rep17"])
        yield app, number, members


def phone(app: Flask, session: str | None) -> FlaskClient:
    client = app.test_client()
    if session is not None:
        client.set_cookie(SESSION_COOKIE, session, domain="sunvote.test", path="/c/")
    return client


def staff(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = login(app.test_client(), username)
    return client, csrf_token(client, "/password")


def phone_post(client: FlaskClient, body: dict[str, Any]) -> Any:
    token = csrf_token(client, "/login")
    return client.post("/c/video/signal", json=body, headers={"X-CSRFToken": token,
                                                              "Accept": "application/json"})


def hall_post(client: FlaskClient, token: str, number: int, body: dict[str, Any]) -> Any:
    return client.post(f"/v/sunshine/meetings/{number}/video/signal", json=body,
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def hall_poll(client: FlaskClient, number: int, sid: str, after: int = 0) -> Any:
    return client.get(f"/v/sunshine/meetings/{number}/video/signal.json?sid={sid}&after={after}",
                      headers={"Accept": "application/json"})


def refusal(response: Any) -> dict[str, str]:
    error = response.get_json()["error"]
    assert error["zh"] and error["en"] and error["zh"] != error["en"]
    return dict(error)


def test_an_offer_reaches_the_hall_and_the_answer_only_its_phone(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, members = world
    hall, token = staff(app, "clerk")
    assert hall_post(hall, token, number, {"sid": "hallpage0001", "kind": "hello",
                                           "pc": "hallpage0001"}).status_code == 200
    a, b = phone(app, members["rep20"]["session"]), phone(app, members["rep19"]["session"])
    polled = a.get("/c/video/signal.json?after=-1").get_json()
    assert polled["hall"] == "hallpage0001" and polled["messages"] == []
    start = polled["cursor"]
    assert phone_post(a, {"hall": "hallpage0001", "kind": "offer", "pc": "phoneconn001",
                          "data": OFFER}).status_code == 200
    seen = hall_poll(hall, number, "hallpage0001", start).get_json()
    assert seen["me"] is True
    assert {p["name"] for p in seen["peers"]} == {m["name"] for m in members.values()}
    offer = seen["messages"][-1]
    assert (offer["from"], offer["kind"], offer["pc"], offer["data"]) == (
        f"m{members['rep20']['id']}", "offer", "phoneconn001", OFFER)
    assert hall_post(hall, token, number, {
        "sid": "hallpage0001", "to": offer["from"], "kind": "answer", "pc": "phoneconn001",
        "data": ANSWER}).status_code == 200
    mine = a.get(f"/c/video/signal.json?after={start}").get_json()["messages"]
    assert [(m["kind"], m["data"]) for m in mine] == [("answer", ANSWER)]
    assert b.get(f"/c/video/signal.json?after={start}").get_json()["messages"] == []
    # another hall page (another sid) sees none of it
    assert hall_poll(hall, number, "otherpage001", start).get_json()["messages"] == []


def test_a_phone_without_an_invitation_is_refused_with_the_rule(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, _, _ = world
    stranger = phone(app, None)
    for response in (stranger.get("/c/video/signal.json?after=0",
                                  headers={"Accept": "application/json"}),
                     stranger.get("/c/video")):
        assert response.status_code == 403
    assert refusal(stranger.get("/c/video/signal.json?after=0",
                                headers={"Accept": "application/json"}))["rule"] == "video.join"
    assert "video.join" in stranger.get("/c/video").get_data(as_text=True)
    forged = phone(app, "A" * 43)  # a well-formed token naming no session
    assert forged.get("/c/video").status_code == 403


def test_a_member_who_leaves_is_dropped_and_refused(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, members = world
    hall, token = staff(app, "clerk")
    hall_post(hall, token, number, {"sid": "hallpage0002", "kind": "hello", "pc": "hallpage0002"})
    gone = members["rep18"]
    client = phone(app, gone["session"])
    assert client.get("/c/video").status_code == 200
    with app.app_context():
        meeting_id = db.session.execute(select(Meeting.id).where(
            Meeting.number == number)).scalars().first()
        assert meeting_id is not None
        assembly.leave(gone["id"], meeting_id, gone["id"])
    answer = client.get("/c/video/signal.json?after=0", headers={"Accept": "application/json"})
    assert answer.status_code == 403
    error = refusal(answer)
    assert error["rule"] == "video.join" and "离场" in error["zh"] and "checked out" in error["en"]
    assert phone_post(client, {"hall": "hallpage0002", "kind": "offer", "pc": "phoneconn002",
                               "data": OFFER}).status_code == 403
    page = client.get("/c/video")
    assert page.status_code == 403 and "meeting_video.js" not in page.get_data(as_text=True)
    peers = hall_poll(hall, number, "hallpage0002").get_json()["peers"]
    assert f"m{gone['id']}" not in {p["peer"] for p in peers}
    # the hall cannot write to them either
    assert hall_post(hall, token, number, {
        "sid": "hallpage0002", "to": f"m{gone['id']}", "kind": "answer", "pc": "phoneconn002",
        "data": ANSWER}).status_code == 409


def test_a_member_checked_in_at_the_hall_needs_no_video(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, members = world
    moved = members["rep17"]
    with app.app_context():
        meeting_id = db.session.execute(select(Meeting.id).where(
            Meeting.number == number)).scalars().first()
        assert meeting_id is not None
        assembly.check_in(person_of("clerk").id, meeting_id, moved["id"])
    answer = phone(app, moved["session"]).get("/c/video/signal.json?after=0",
                                              headers={"Accept": "application/json"})
    assert answer.status_code == 403 and "会场签到" in refusal(answer)["zh"]


@pytest.mark.parametrize(("username", "rule"), [
    ("rep01", "video.join"), ("supervisor", "video.join"), ("township", "video.join"),
    ("clerk2", "access.village")])
def test_only_those_running_the_meeting_are_the_hall(
        world: tuple[Flask, int, dict[str, Any]], username: str, rule: str) -> None:
    app, number, _ = world
    client, token = staff(app, username)
    answer = hall_poll(client, number, "hallpage0003")
    assert answer.status_code == 403 and refusal(answer)["rule"] == rule
    assert hall_post(client, token, number, {"sid": "hallpage0003", "kind": "hello",
                                             "pc": "hallpage0003"}).status_code == 403


def test_each_side_sends_only_its_own_kinds_and_well_formed_messages(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, members = world
    hall, token = staff(app, "clerk")
    hall_post(hall, token, number, {"sid": "hallpage0004", "kind": "hello", "pc": "hallpage0004"})
    a = phone(app, members["rep20"]["session"])
    base = {"hall": "hallpage0004", "pc": "phoneconn004"}
    assert phone_post(a, {**base, "kind": "hello"}).status_code == 403  # the hall's kind
    assert phone_post(a, {**base, "kind": "answer", "data": ANSWER}).status_code == 403
    assert hall_post(hall, token, number, {"sid": "hallpage0004", "kind": "offer",
                                           "to": f"m{members['rep20']['id']}",
                                           "pc": "phoneconn004", "data": OFFER}
                     ).status_code == 403
    for bad in ({**base, "kind": "offer", "data": ANSWER},               # an answer as offer
                {**base, "kind": "offer", "data": {"type": "offer"}},  # no SDP
                {**base, "kind": "candidates", "data": "x"},
                {**base, "kind": "offer", "pc": "short", "data": OFFER},
                {**base, "kind": "nonsense"},
                {**base, "kind": "offer", "data": {"type": "offer", "sdp": "x" * 40_000}}):
        answer = phone_post(a, bad)
        assert answer.status_code == 400, bad
        assert refusal(answer)["rule"] == "input.invalid"
    assert a.get("/c/video/signal.json?after=x").status_code == 400
    assert a.get("/c/video/signal.json?after=99999999999999999999").status_code == 400


def test_a_newer_hall_page_takes_over(world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, members = world
    hall, token = staff(app, "clerk")
    hall_post(hall, token, number, {"sid": "hallpage0005", "kind": "hello", "pc": "hallpage0005"})
    hall_post(hall, token, number, {"sid": "hallpage0006", "kind": "hello", "pc": "hallpage0006"})
    assert hall_poll(hall, number, "hallpage0005").get_json()["me"] is False
    assert hall_poll(hall, number, "hallpage0006").get_json()["me"] is True
    a = phone(app, members["rep20"]["session"])
    assert a.get("/c/video/signal.json?after=-1").get_json()["hall"] == "hallpage0006"
    assert phone_post(a, {"hall": "hallpage0005", "kind": "offer", "pc": "phoneconn005",
                          "data": OFFER}).status_code == 409


def test_messages_are_dropped_after_two_minutes_and_a_silent_hall_is_gone(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, _ = world
    with app.app_context():
        meeting = db.session.execute(select(Meeting).where(Meeting.number == number)
                                     ).scalars().first()
        assert meeting is not None
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
        service.send(meeting.id, "hall:hallpage0007", "*", Signal(Kind.HELLO, "hallpage0007",
                                                                  "null"), now=later)
        left = db.session.execute(select(func.count()).select_from(VideoSignal).where(
            VideoSignal.meeting_id == meeting.id)).scalar_one()
        assert left == 1  # everything sent "ten minutes earlier" is gone
        assert service.current_hall(meeting, later) == "hallpage0007"
        assert service.current_hall(meeting, later + dt.timedelta(seconds=46)) is None


def test_turn_passwords_are_made_per_page_and_expire(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, _, members = world
    rtc = phone(app, members["rep20"]["session"]).get("/c/video/signal.json?after=-1"
                                                      ).get_json()["rtc"]
    assert rtc["iceTransportPolicy"] == "all"
    (server,) = rtc["iceServers"]
    expiry, peer = server["username"].split(":")
    assert peer == f"m{members['rep20']['id']}"
    assert 3500 < int(expiry) - dt.datetime.now(dt.UTC).timestamp() <= 3600
    expected = base64.b64encode(hmac.new(b"coturn-shared-secret", server["username"].encode(),
                                         hashlib.sha1).digest()).decode()
    assert server["credential"] == expected
    assert "coturn-shared-secret" not in str(rtc)


def test_the_camera_is_allowed_on_the_video_pages_only(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, members = world
    a = phone(app, members["rep20"]["session"])
    assert "camera=(self)" in a.get("/c/video").headers["Permissions-Policy"]
    # the voting page carries the video too (the member is seen while voting)
    assert "camera=(self)" in a.get("/c/meeting").headers["Permissions-Policy"]
    hall, _ = staff(app, "clerk")
    assert "camera=()" in hall.get(f"/v/sunshine/meetings/{number}").headers["Permissions-Policy"]
    assert "microphone=(self)" in hall.get(
        f"/v/sunshine/meetings/{number}/video").headers["Permissions-Policy"]
    assert "microphone=()" in hall.get(
        f"/v/sunshine/meetings/{number}/hall").headers["Permissions-Policy"]
    assert "camera=()" in app.test_client().get("/").headers["Permissions-Policy"]


def test_the_phone_page_links_the_video(world: tuple[Flask, int, dict[str, Any]],
                                        tmp_path: Path) -> None:
    app, _, members = world
    page = phone(app, members["rep20"]["session"]).get("/c/meeting").get_data(as_text=True)
    assert 'href="/c/video"' in page
    # and carries the video itself, for a member present by cloud at an open meeting
    assert 'data-video="phone"' in page and "meeting_video" in page
    stranger = phone(app, None).get("/c/meeting")
    assert stranger.status_code == 403 and 'data-video="phone"' not in stranger.get_data(
        as_text=True)


def test_a_flooding_phone_is_stopped_and_the_table_stays_bounded(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    from sunvote.domain.video import MAX_PENDING_PER_SENDER

    app, number, members = world
    hall, token = staff(app, "clerk")
    hall_post(hall, token, number, {"sid": "hallpage0008", "kind": "hello", "pc": "hallpage0008"})
    a = phone(app, members["rep19"]["session"])
    csrf = csrf_token(a, "/login")
    body = {"hall": "hallpage0008", "kind": "candidates", "pc": "phoneconn008",
            "data": [{"candidate": "x" * 1000}]}
    statuses = [a.post("/c/video/signal", json=body,
                       headers={"X-CSRFToken": csrf, "Accept": "application/json"}).status_code
                for _ in range(MAX_PENDING_PER_SENDER + 5)]
    assert statuses.count(200) <= MAX_PENDING_PER_SENDER
    assert statuses[-1] == 429
    refused = a.post("/c/video/signal", json=body,
                     headers={"X-CSRFToken": csrf, "Accept": "application/json"})
    assert refusal(refused)["rule"] == "video.signal_limit"
    # another phone is not stopped by it
    b = phone(app, members["rep20"]["session"])
    assert phone_post(b, {**body, "pc": "phoneconn009"}).status_code == 200
