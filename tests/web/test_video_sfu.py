"""The meeting video through Janus (docs/video.md "Through Janus"), against the real Janus of
Debian (tests/e2e/janus_server.py), without a browser: SunVote publishes and subscribes for the
pages and returns Janus's SDP; the meeting's room is created once, private, with a secret and
PIN no page sees; the same rule as in mesh refuses (no invitation, left the meeting, meeting
closed), and a refused peer's Janus sessions are destroyed at once; a Janus that is down is a
bilingual 503 (video.sfu_unavailable), never a 500.

The SDP here is written by hand (ICE will never connect: no browser); Janus answers it all the
same. A publisher whose media never arrived is no feed yet to Janus ("No such feed"): a
subscription to it is 409 ``gone`` here, and the page asks again at its next poll; the browser
test (tests/e2e/test_video_sfu.py) subscribes for real."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from sunvote.domain.video import SFU_HALL_FEED, SFU_MEMBER_FEED
from sunvote.extensions import db
from sunvote.models import Meeting, VideoSfuSession
from sunvote.services import assembly, sfu
from tests.conftest import csrf_token, require
from tests.e2e.janus_server import running_janus
from tests.e2e.test_assembly import prepare
from tests.e2e.video_world import open_with_cloud_members
from tests.web.module_demo import demo_app_once
from tests.web.test_video_signalling import hall_post, phone, refusal, staff

pytestmark = pytest.mark.xdist_group("video_sfu")

FINGERPRINT = ":".join(["AB"] * 32)


def sdp(kind: str, direction: str, setup: str) -> dict[str, str]:
    """A minimal WebRTC SDP (Opus and VP8, bundled), as a browser would send it."""
    lines = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
             "a=group:BUNDLE 0 1", "a=msid-semantic: WMS s"]
    for mid, (media, pt, codec, ssrc) in enumerate(
            [("audio", 111, "opus/48000/2", 1111), ("video", 96, "VP8/90000", 2222)]):
        lines += [f"m={media} 9 UDP/TLS/RTP/SAVPF {pt}", "c=IN IP4 0.0.0.0",
                  "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:sunv",
                  "a=ice-pwd:sunvotetestpassword1234",
                  f"a=fingerprint:sha-256 {FINGERPRINT}", f"a=setup:{setup}", f"a=mid:{mid}",
                  f"a={direction}", "a=rtcp-mux", f"a=rtpmap:{pt} {codec}"]
        if direction == "sendonly":
            lines += [f"a=msid:s t{mid}", f"a=ssrc:{ssrc} cname:sunvote"]
    return {"type": kind, "sdp": "\r\n".join(lines) + "\r\n"}


OFFER = sdp("offer", "sendonly", "actpass")
ANSWER = sdp("answer", "recvonly", "active")


@pytest.fixture(scope="module")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require(shutil.which("janus") is not None, "Janus is not installed (apt-get install janus)")
    with running_janus(tmp_path_factory.mktemp("janus")) as url:
        yield url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None,
          janus: str) -> Iterator[tuple[Flask, int, dict[str, Any]]]:
    """The demo with SUNVOTE_JANUS_URL set, a meeting opened today and three members joined
    from their phones."""
    with demo_app_once(tmp_path_factory.mktemp("video-sfu"), postgres_url) as app:
        app.config.update(JANUS_URL=janus)
        number = prepare(app)
        members = open_with_cloud_members(app, number, ["rep20", "rep19", "rep18"])
        yield app, number, members


def post(client: FlaskClient, url: str, body: dict[str, Any], token: str | None = None) -> Any:
    token = token or csrf_token(client, "/login")
    return client.post(url, json=body, headers={"X-CSRFToken": token,
                                                "Accept": "application/json"})


def room_url(number: int, what: str) -> str:
    return f"/v/sunshine/meetings/{number}/video/{what}"


def hall_poll(client: FlaskClient, number: int, sid: str) -> Any:
    return client.get(f"{room_url(number, 'signal.json')}?sid={sid}&after=0",
                      headers={"Accept": "application/json"})


def the_meeting(app: Flask, number: int) -> Meeting:
    return db.session.execute(select(Meeting).where(Meeting.number == number)).scalars().first()


def janus_rows(app: Flask, number: int) -> list[tuple[str, int, bool, int]]:
    with app.app_context():
        meeting = the_meeting(app, number)
        return [(r.peer, r.feed, r.publisher, r.janus_session) for r in sfu.rows(meeting)]


def janus_knows(url: str, session: int) -> bool:
    """Whether Janus still has this session (a keepalive is answered, not an error)."""
    body = json.dumps({"janus": "keepalive", "transaction": "t"}).encode()
    request = urllib.request.Request(f"{url}/{session}", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return bool(json.loads(response.read())["janus"] == "ack")


def hall_ready(app: Flask, number: int, sid: str) -> tuple[FlaskClient, str]:
    """The clerk's hall page ``sid``: said hello, published its camera."""
    hall, token = staff(app, "clerk")
    assert hall_post(hall, token, number, {"sid": sid, "kind": "hello", "pc": sid}).status_code \
        == 200
    published = post(hall, room_url(number, "publish"), {"sid": sid, "offer": OFFER}, token)
    assert published.status_code == 200, published.get_data(as_text=True)
    assert published.get_json()["answer"]["type"] == "answer"
    return hall, token


def test_hall_and_phones_publish_and_subscribe_through_janus(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, members = world
    hall, token = hall_ready(app, number, "sfuhall00001")
    polled = hall_poll(hall, number, "sfuhall00001").get_json()
    assert polled["sfu"]["published"] and polled["sfu"]["feeds"] == {}
    # The meeting's room: created once, private, with a secret and a PIN in no page.
    with app.app_context():
        meeting = the_meeting(app, number)
        room, secret, pin = sfu.room_of(meeting), sfu.room_secret(meeting), sfu.room_pin(meeting)
    page = hall.get(f"/v/sunshine/meetings/{number}/video").get_data(as_text=True)
    assert secret not in page and pin not in page and str(room) not in page
    assert secret not in json.dumps(polled) and pin not in json.dumps(polled)

    rep20 = phone(app, members["rep20"]["session"])
    mine = rep20.get("/c/video/signal.json?after=-1").get_json()
    assert mine["sfu"]["hall"] == polled["sfu"]["published"] and mine["sfu"]["published"] is None
    answer = post(rep20, "/c/video/publish", {"offer": OFFER})
    assert answer.status_code == 200 and answer.get_json()["answer"]["type"] == "answer"
    # the hall's media never arrived (no browser): no feed to subscribe to yet, ask again
    offer = post(rep20, "/c/video/subscribe", {})
    assert offer.status_code == 409 and offer.get_json()["gone"] is True
    assert post(rep20, "/c/video/start", {"answer": ANSWER}).status_code == 409
    # The hall sees the phone's publication (and would subscribe to it).
    peer = f"m{members['rep20']['id']}"
    feeds = hall_poll(hall, number, "sfuhall00001").get_json()["sfu"]["feeds"]
    assert list(feeds) == [peer]
    offer = post(hall, room_url(number, "subscribe"), {"sid": "sfuhall00001", "peer": peer}, token)
    assert offer.status_code == 409
    rows = janus_rows(app, number)
    assert sorted(r[:3] for r in rows) == sorted([
        ("hall:sfuhall00001", SFU_HALL_FEED, True),
        (peer, SFU_MEMBER_FEED + members["rep20"]["id"], True)])
    assert all(janus_knows(janus, r[3]) for r in rows)
    # Publishing again (a rebuilt connection) replaces the old session; the room stays.
    old = {r[3] for r in rows if r[0] == peer and r[2]}
    assert post(rep20, "/c/video/publish", {"offer": OFFER}).status_code == 200
    assert not any(janus_knows(janus, s) for s in old)
    with app.app_context():
        meeting = the_meeting(app, number)
        session, handle = sfu._new_handle()
        try:
            assert sfu.ensure_room(meeting, session, handle) == room
            listed = sfu._request(session, handle, {"request": "list"})["list"]
            assert room not in [r["room"] for r in listed]  # private: not listed
            # a phone without the PIN cannot join the room, had it Janus's API
            with pytest.raises(sfu.JanusError):
                sfu._exchange(session, handle, {"request": "join", "ptype": "publisher",
                                                "room": room, "pin": "guess"})
        finally:
            sfu.destroy_session(session)


def test_a_phone_subscribes_only_to_the_hall_and_the_hall_only_to_admitted_phones(
        world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, members = world
    hall, token = hall_ready(app, number, "sfuhall00002")
    rep19 = phone(app, members["rep19"]["session"])
    # the phone names no feed: the route asks for the hall's, whatever the body says (and the
    # hall's media has not arrived: gone, for now)
    with app.app_context():
        asked: list[int] = []
        real = sfu.subscribe
        try:
            sfu.subscribe = lambda m, p, feed: asked.append(feed)  # type: ignore[assignment]
            post(rep19, "/c/video/subscribe", {"feed": SFU_MEMBER_FEED + members["rep20"]["id"]})
        finally:
            sfu.subscribe = real  # type: ignore[assignment]
    assert asked == [SFU_HALL_FEED]
    # the hall may not subscribe to someone who is not an admitted phone
    for peer in ("m999999", "hall:sfuhall00002", 5, None):
        answer = post(hall, room_url(number, "subscribe"), {"sid": "sfuhall00002", "peer": peer},
                      token)
        assert answer.status_code == 409 and answer.get_json()["gone"] is True
    # an admitted phone that does not publish yet: gone (the hall asks again later)
    answer = post(hall, room_url(number, "subscribe"),
                  {"sid": "sfuhall00002", "peer": f"m{members['rep18']['id']}"}, token)
    assert answer.status_code == 409
    # a hall page that is no longer the hall may do nothing
    assert post(hall, room_url(number, "publish"), {"sid": "oldhallpage1", "offer": OFFER},
                token).status_code == 409


def test_malformed_requests_are_input_invalid(world: tuple[Flask, int, dict[str, Any]]) -> None:
    app, number, members = world
    hall, token = hall_ready(app, number, "sfuhall00003")
    rep20 = phone(app, members["rep20"]["session"])
    for body in ({}, {"offer": {"type": "answer", "sdp": "x"}}, {"offer": {"type": "offer"}},
                 {"offer": {"type": "offer", "sdp": "x" * 40000}}, {"offer": "v=0"}):
        answer = post(rep20, "/c/video/publish", body)
        assert answer.status_code == 400 and refusal(answer)["rule"] == "input.invalid"
    assert post(rep20, "/c/video/start", {"answer": OFFER}).status_code == 400
    assert rep20.post("/c/video/publish", data="not json", headers={
        "X-CSRFToken": csrf_token(rep20, "/login"), "Content-Type": "application/json"}
    ).status_code == 400
    assert post(hall, room_url(number, "publish"), {"sid": "x", "offer": OFFER},
                token).status_code == 400


def test_a_member_who_leaves_is_destroyed_in_janus_at_once(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, members = world
    hall, _token = hall_ready(app, number, "sfuhall00004")
    gone = members["rep18"]
    peer = f"m{gone['id']}"
    client = phone(app, gone["session"])
    assert post(client, "/c/video/publish", {"offer": OFFER}).status_code == 200
    sessions = [r[3] for r in janus_rows(app, number) if r[0] == peer]
    assert len(sessions) == 1 and all(janus_knows(janus, s) for s in sessions)
    with app.app_context():
        meeting = the_meeting(app, number)
        assembly.leave(gone["id"], meeting.id, gone["id"])
    # The phone's page keeps running, but does not poll: the hall's next poll cuts it off.
    polled = hall_poll(hall, number, "sfuhall00004").get_json()
    assert peer not in {p["peer"] for p in polled["peers"]} and peer not in polled["sfu"]["feeds"]
    assert not any(janus_knows(janus, s) for s in sessions)
    assert not [r for r in janus_rows(app, number) if r[0] == peer]
    # Its own requests are refused with the rule, in both languages.
    for answer in (client.get("/c/video/signal.json?after=0",
                              headers={"Accept": "application/json"}),
                   post(client, "/c/video/publish", {"offer": OFFER}),
                   post(client, "/c/video/subscribe", {})):
        assert answer.status_code == 403
        error = refusal(answer)
        assert error["rule"] == "video.join" and "离场" in error["zh"]
    assert not [r for r in janus_rows(app, number) if r[0] == peer]


def test_a_phone_refused_at_its_poll_is_destroyed_even_without_the_hall(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, members = world
    hall_ready(app, number, "sfuhall00005")
    member = members["rep19"]
    client = phone(app, member["session"])
    published = post(client, "/c/video/publish", {"offer": OFFER})
    assert published.status_code == 200, published.get_data(as_text=True)
    sessions = [r[3] for r in janus_rows(app, number) if r[0] == f"m{member['id']}"]
    assert sessions and all(janus_knows(janus, s) for s in sessions)
    with app.app_context():
        assembly.leave(member["id"], the_meeting(app, number).id, member["id"])
    assert client.get("/c/video/signal.json?after=0",
                      headers={"Accept": "application/json"}).status_code == 403
    assert not any(janus_knows(janus, s) for s in sessions)


def test_a_publisher_left_in_the_room_is_put_out_and_the_new_one_joins(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    """A hall page reloads while Janus still holds its old publisher (a destroyed session
    leaves the room a moment later; or SunVote lost its row): Janus answers "ID exists", and
    SunVote kicks the old publisher with the room's secret and joins again."""
    app, number, _members = world
    hall_ready(app, number, "sfuhall00007")
    old = [s for peer, feed, publisher, s in janus_rows(app, number)
           if publisher and feed == SFU_HALL_FEED]
    assert len(old) == 1
    with app.app_context():  # SunVote forgets the row; Janus keeps the publisher in the room
        db.session.execute(delete(VideoSfuSession).where(
            VideoSfuSession.janus_session == old[0]))
        db.session.commit()
    assert janus_knows(janus, old[0])
    hall_ready(app, number, "sfuhall00008")  # publishes as the hall's feed again: 200
    new = [s for peer, feed, publisher, s in janus_rows(app, number)
           if publisher and feed == SFU_HALL_FEED]
    assert len(new) == 1 and new != old


def test_a_janus_that_is_down_is_a_bilingual_503(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, members = world
    hall, token = hall_ready(app, number, "sfuhall00006")
    app.config["JANUS_URL"] = "http://127.0.0.1:9/janus"  # nothing listens there
    try:
        rep20 = phone(app, members["rep20"]["session"])
        for answer in (post(rep20, "/c/video/publish", {"offer": OFFER}),
                       post(rep20, "/c/video/subscribe", {}),
                       post(hall, room_url(number, "publish"),
                            {"sid": "sfuhall00006", "offer": OFFER}, token)):
            assert answer.status_code == 503, answer.get_data(as_text=True)
            error = refusal(answer)
            assert error["rule"] == "video.sfu_unavailable" and "Janus" in error["en"]
    finally:
        app.config["JANUS_URL"] = janus


def test_without_janus_the_routes_do_not_exist_and_the_poll_says_mesh(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, _number, members = world
    app.config["JANUS_URL"] = None
    try:
        rep20 = phone(app, members["rep20"]["session"])
        assert rep20.get("/c/video/signal.json?after=-1").get_json()["sfu"] is None
        assert post(rep20, "/c/video/publish", {"offer": OFFER}).status_code == 404
    finally:
        app.config["JANUS_URL"] = janus


def test_sessions_are_kept_alive_on_the_poll_and_a_silent_page_is_forgotten(
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, members = world
    hall, _ = hall_ready(app, number, "sfuhall00008")
    member = members["rep20"]
    peer = f"m{member['id']}"
    client = phone(app, member["session"])
    assert post(client, "/c/video/publish", {"offer": OFFER}).status_code == 200

    def kept_at() -> dict[str, dt.datetime]:
        with app.app_context():
            return {r.peer: r.kept_at for r in sfu.rows(the_meeting(app, number))}

    def age(seconds: int) -> None:
        with app.app_context():
            for row in db.session.execute(select(VideoSfuSession)).scalars():
                row.kept_at = row.kept_at - dt.timedelta(seconds=seconds)
            db.session.commit()

    # 25 s without a keepalive: the phone's poll sends one (Janus still has the session)
    age(25)
    before = kept_at()[peer]
    assert client.get("/c/video/signal.json?after=0",
                      headers={"Accept": "application/json"}).status_code == 200
    assert kept_at()[peer] > before
    # the page closed without a word: 61 s later the hall's poll forgets its sessions, and
    # stops offering its feed
    age(61)
    polled = hall_poll(hall, number, "sfuhall00008").get_json()
    assert peer not in polled["sfu"]["feeds"] and peer not in kept_at()


def test_a_closed_meeting_ends_every_janus_session(  # last: it closes the module's meeting
        world: tuple[Flask, int, dict[str, Any]], janus: str) -> None:
    app, number, members = world
    hall, _token = hall_ready(app, number, "sfuhall00007")
    rep20 = phone(app, members["rep20"]["session"])
    assert post(rep20, "/c/video/publish", {"offer": OFFER}).status_code == 200
    sessions = [r[3] for r in janus_rows(app, number)]
    assert sessions
    with app.app_context():
        meeting = the_meeting(app, number)
        assembly.close_meeting(meeting.convened_by_id, meeting.id)
    answer = hall_poll(hall, number, "sfuhall00007")
    assert answer.status_code == 409 and refusal(answer)["rule"] == "video.join"
    assert janus_rows(app, number) == []
    assert not any(janus_knows(janus, s) for s in sessions)
    with app.app_context():
        assert db.session.execute(select(VideoSfuSession)).first() is None
