"""The meeting video through Janus (docs/video.md "Through Janus"), in a real Chromium with fake
camera and microphone and Debian's Janus (tests/e2e/janus_server.py): with SUNVOTE_JANUS_URL
set, the clerk's hall page publishes once and subscribes to each phone; three phones publish
and subscribe to the hall; frames flow both ways, and the hall uploads ONE video stream whatever
the number of phones (the point of the SFU). A supervisor watches the hall live on the recording
page (docs/video.md "Watchers"): one receive-only connection, the hall's feed and nothing else.
A member who checks out (on the phone's meeting page, in another tab, while the video page
keeps running and hears nothing of it) is cut off by SunVote in Janus: their tile leaves the
hall and the hall's picture stops on their phone.
Screenshots of the hall (1920×1080, zh), a phone (zh, en) and the supervisor's live view
(1366×768 zh, 390×844 en)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.video import sfu_feed
from sunvote.extensions import db
from sunvote.models import VideoSfuSession
from tests.conftest import require
from tests.e2e.janus_server import running_janus
from tests.e2e.pages import PHONE, PROJECTOR, log_in, shot
from tests.e2e.test_assembly import prepare
from tests.e2e.video_world import (
    advancing,
    flowing,
    open_with_cloud_members,
    phone_context,
    report,
    wait_for,
)

pytestmark = pytest.mark.browser

PHONES = ["rep20", "rep19", "rep18"]

#: The page's RTP streams going out, by kind, over all its connections (getStats).
OUTBOUND = """() => Promise.all([window.sunvoteVideo.publisher, ...Object.values(
    window.sunvoteVideo.peers)].filter(Boolean).map(l => l.pc.getStats())).then(reports => {
  let out = {audio: 0, video: 0};
  reports.forEach(r => r.forEach(s => { if (s.type === 'outbound-rtp' && s.bytesSent > 0)
                                          out[s.kind] += 1; }));
  return out; })"""


#: The video frames each connection of the page has decoded (getStats), by peer.
DECODED = """() => Promise.all(Object.values(window.sunvoteVideo.peers).map(l =>
  l.pc.getStats().then(r => { let n = 0;
    r.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video')
                       n += s.framesDecoded || 0; });
    return [l.peer, n]; }))).then(Object.fromEntries)"""


def decoding(page: Any, pause: float = 1.5) -> dict[str, tuple[int, int]]:
    """Each connection's decoded video frames before and after ``pause`` seconds."""
    before = page.evaluate(DECODED)
    time.sleep(pause)
    after = page.evaluate(DECODED)
    return {peer: (before.get(peer, 0), n) for peer, n in after.items()}


#: Every RTCPeerConnection the page makes, kept in window.sunvotePCs (the watcher's page).
COUNT_CONNECTIONS = """(() => { const Real = window.RTCPeerConnection; window.sunvotePCs = [];
  window.RTCPeerConnection = function (...args) { const pc = new Real(...args);
    window.sunvotePCs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Real.prototype; })()"""

#: The watcher's open connections, and what they receive and send (getStats).
WATCHER_STREAMS = """() => { const open = window.sunvotePCs.filter(pc =>
    pc.connectionState !== 'closed');
  return Promise.all(open.map(pc => pc.getStats())).then(reports => {
    let out = {open: open.length, inbound: 0, outbound: 0, videoLines: 0};
    reports.forEach(r => r.forEach(s => { if (s.type === 'inbound-rtp') out.inbound += 1;
      if (s.type === 'outbound-rtp') out.outbound += 1; }));
    open.forEach(pc => { out.videoLines += (pc.remoteDescription.sdp.match(/^m=video/mg)
                                             || []).length; });
    return out; }); }"""


def watching(page: Any) -> tuple[float, float, int]:
    """The live <video>: its currentTime now and a second later, its width."""
    before = page.evaluate("document.getElementById('watch-live-video').currentTime")
    time.sleep(1.0)
    return (before, page.evaluate("document.getElementById('watch-live-video').currentTime"),
            page.evaluate("document.getElementById('watch-live-video').videoWidth"))


def watch_the_hall(media_browser: Any, live_server: str, number: int, screenshot_dir: Path
                   ) -> None:
    """A supervisor opens the recording page: the hall, live, through Janus; one receiving
    connection (the hall's feed), nothing sent. Screenshots at 1366×768 zh and 390×844 en."""
    for viewport, locale, lang, name in (({"width": 1366, "height": 768}, "zh-CN", "zh",
                                          "watch-live-supervisor-zh"),
                                         (PHONE, "en-US", "en", "watch-live-supervisor-en")):
        ctx = media_browser.new_context(viewport=viewport, locale=locale)
        ctx.add_init_script(COUNT_CONNECTIONS)
        page = ctx.new_page()
        log_in(page, live_server, "supervisor")
        page.goto(f"{live_server}/v/sunshine/meetings/{number}/recording?lang={lang}")
        wait_for(lambda p=page: watching(p)[2] > 0, 60, "the supervisor to see the hall live")
        before, after, width = watching(page)
        assert after > before and width > 0
        assert page.locator("#watch-live-status.ok").count() == 1
        streams = page.evaluate(WATCHER_STREAMS)
        # one connection, receiving the hall's audio and video; the phones' feeds never
        assert streams == {"open": 1, "inbound": 2, "outbound": 0, "videoLines": 1}, streams
        assert page.evaluate("document.getElementById('watch-live-video').muted") is True
        page.click("#watch-live-sound")
        assert page.evaluate("document.getElementById('watch-live-video').muted") is False
        shot(page, screenshot_dir, name)
        ctx.close()


@pytest.fixture(scope="module")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require(shutil.which("janus") is not None, "Janus is not installed (apt-get install janus)")
    with running_janus(tmp_path_factory.mktemp("janus")) as url:
        yield url


def test_hall_and_three_phones_through_janus(
        media_browser: Any, live_server: str, demo: Flask, janus: str,
        screenshot_dir: Path) -> None:
    demo.config.update(JANUS_URL=janus)
    number = prepare(demo)
    members = open_with_cloud_members(demo, number, PHONES)
    room = f"{live_server}/v/sunshine/meetings/{number}"

    hall_ctx = media_browser.new_context(viewport=PROJECTOR, locale="zh-CN")
    hall = hall_ctx.new_page()
    log_in(hall, live_server, "clerk")
    hall.goto(f"{room}/video")
    phones: dict[str, tuple[Any, Any]] = {}
    for username in PHONES:
        ctx = phone_context(media_browser, live_server, members[username]["session"])
        page = ctx.new_page()
        page.goto(f"{live_server}/c/meeting")
        page.click("#video-link")
        page.wait_for_url("**/c/video")
        phones[username] = (ctx, page)

    # Frames flow both ways, through Janus: a named tile per phone on the hall, the hall on
    # each phone.
    wait_for(lambda: flowing(hall, len(PHONES)), 60, "the hall to show every phone")
    for _, page in phones.values():
        wait_for(lambda p=page: flowing(p, 1), 60, "a phone to show the hall")
    assert hall.evaluate("window.sunvoteVideo.sfu") is True
    names = hall.locator(".video-tile .video-name").all_inner_texts()
    assert sorted(names) == sorted(m["name"] for m in members.values())
    assert hall.inner_text("#video-count") == str(len(PHONES))
    assert all(after > before for before, after in advancing(hall).values())
    assert all(after > before for before, after in decoding(hall).values())
    for _, page in phones.values():
        (before, after), = advancing(page).values()
        assert after > before
        (before, after), = decoding(page).values()
        assert after > before
        assert 0 < page.evaluate("document.getElementById('video-of-hall').videoHeight") <= 360
    tile_heights = hall.evaluate(
        "[...document.querySelectorAll('.video-tile video')].map(v => v.videoHeight)")
    assert all(0 < h <= 240 for h in tile_heights), tile_heights

    # The hall uploads its picture once, whatever the number of phones: one outbound video
    # stream (and one audio), where mesh has one per phone.
    assert hall.evaluate(OUTBOUND) == {"audio": 1, "video": 1}
    for _, page in phones.values():
        assert page.evaluate(OUTBOUND) == {"audio": 1, "video": 1}

    shot(hall, screenshot_dir, "video-sfu-hall-zh")
    shot(phones["rep20"][1], screenshot_dir, "video-sfu-phone-zh")
    # A phone in English (the page reloaded: it publishes and subscribes again).
    english = phones["rep19"][1]
    english.goto(f"{live_server}/c/video?lang=en")
    wait_for(lambda: flowing(english, 1), 60, "the English phone page to show the hall")
    peer19 = f"m{members['rep19']['id']}"
    wait_for(lambda: [r for r in flowing(hall, len(PHONES)) if r["peer"] == peer19], 60,
             "the hall to show the reloaded phone again")
    shot(english, screenshot_dir, "video-sfu-phone-en")

    # A supervisor watches the hall live (the phones publish in the same room meanwhile).
    watch_the_hall(media_browser, live_server, number, screenshot_dir)

    # rep18 checks out on the phone's meeting page, in another tab; the video page keeps
    # running but hears nothing of it (its polls are held back, as a page that would not give
    # up). SunVote cuts it off in Janus at the hall's next poll: the tile goes, the hall's
    # picture stops on that phone, and the hall still sees the others.
    ctx18, video18 = phones["rep18"]
    peer18 = f"m{members['rep18']['id']}"
    video18.evaluate("() => { window.fetch = () => new Promise(() => {}); }")
    meeting18 = ctx18.new_page()
    meeting18.on("dialog", lambda dialog: dialog.accept())
    meeting18.goto(f"{live_server}/c/meeting")
    meeting18.click("button:has-text('我要离场')")
    meeting18.wait_for_load_state()
    wait_for(lambda: hall.locator(f".video-tile[data-peer='{peer18}']").count() == 0, 20,
             "the hall to drop the tile of the member who left")
    assert peer18 not in [r["peer"] for r in report(hall)]

    def frozen() -> bool:
        (before, after), = decoding(video18, 2.0).values()
        return after == before
    wait_for(frozen, 20, "the hall's picture to stop on the phone of the member who left")
    with demo.app_context():
        assert [r.peer for r in db.session.execute(select(VideoSfuSession)).scalars()
                if r.peer == peer18 or r.feed == sfu_feed(peer18)] == []
    assert len(flowing(hall, len(PHONES) - 1)) == len(PHONES) - 1
    assert all(after > before for before, after in decoding(hall).values())
    for username in ("rep20", "rep19"):
        (before, after), = decoding(phones[username][1]).values()
        assert after > before

    for context in (hall_ctx, *(c for c, _ in phones.values())):
        context.close()
