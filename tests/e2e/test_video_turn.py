"""The meeting video through TURN (docs/operations.md, "Meeting video: TURN"): Debian's coturn
started on loopback with the set-up the operations guide gives (TURN REST secret, a realm, a
relay port range), SunVote configured with it (SUNVOTE_ICE_SERVERS, SUNVOTE_TURN_SECRET) and
with every connection forced through it (SUNVOTE_ICE_TRANSPORT_POLICY=relay): the hall page and
a phone connect, frames flow both ways, and both ends' selected candidates are TURN relays.
A wrong shared secret gets no connection at all (so the relay really is what carried it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import require
from tests.e2e.pages import PROJECTOR, log_in
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

SECRET = "turn-secret-for-the-test"

#: The selected candidate pair's local and remote candidate types, per connection of a page.
SELECTED = """() => Promise.all(Object.values(window.sunvoteVideo.peers).map(l =>
  l.pc.getStats().then(r => { let pair = null, types = {};
    r.forEach(s => { if (s.type === 'transport' && s.selectedCandidatePairId)
                       pair = s.selectedCandidatePairId; });
    r.forEach(s => { if (s.type === 'local-candidate' || s.type === 'remote-candidate')
                       types[s.id] = s.candidateType; });
    let p = pair && r.get(pair);
    return p ? [types[p.localCandidateId], types[p.remoteCandidateId]] : null; })))"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    """Whether a UDP socket is bound to 127.0.0.1:``port`` (/proc/net/udp)."""
    wanted = f"0100007F:{port:04X}"
    return any(line.split()[1] == wanted
               for line in Path("/proc/net/udp").read_text().splitlines()[1:])


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[int]:
    """Debian's turnserver on loopback, as docs/operations.md sets it up; yields its port."""
    binary = shutil.which("turnserver")
    require(binary is not None, "coturn is not installed (apt-get install coturn)")
    assert binary is not None
    port = free_udp_port()
    log = tmp_path / "turnserver.log"
    process = subprocess.Popen(
        [binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
         f"--listening-port={port}", "--min-port=49160", "--max-port=49200",
         "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm=sunvote.test",
         "--fingerprint", "--no-tls", "--no-dtls", "--no-cli", "--no-multicast-peers",
         "--allow-loopback-peers",  # only because both browsers are on this machine
         f"--userdb={tmp_path / 'turndb'}", f"--log-file={log}", "--simple-log",
         f"--pidfile={tmp_path / 'turnserver.pid'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: listening(port) or process.poll() is not None, 15,
                 "turnserver to listen")
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def open_pages(media_browser: Any, live_server: str, demo: Flask) -> tuple[Any, Any, list[Any]]:
    number = prepare(demo)
    members = open_with_cloud_members(demo, number, ["rep20"])
    hall_ctx = media_browser.new_context(viewport=PROJECTOR, locale="zh-CN")
    hall = hall_ctx.new_page()
    log_in(hall, live_server, "clerk")
    hall.goto(f"{live_server}/v/sunshine/meetings/{number}/video")
    phone_ctx = phone_context(media_browser, live_server, members["rep20"]["session"])
    phone = phone_ctx.new_page()
    phone.goto(f"{live_server}/c/video")
    return hall, phone, [hall_ctx, phone_ctx]


def test_hall_and_phone_connect_through_coturn_only(
        media_browser: Any, live_server: str, demo: Flask, coturn: int) -> None:
    demo.config.update(ICE_SERVERS=[{"urls": f"turn:127.0.0.1:{coturn}?transport=udp"}],
                       TURN_SECRET=SECRET, ICE_TRANSPORT_POLICY="relay")
    hall, phone, contexts = open_pages(media_browser, live_server, demo)
    wait_for(lambda: flowing(hall, 1), 40, "the hall to show the phone through TURN")
    wait_for(lambda: flowing(phone, 1), 40, "the phone to show the hall through TURN")
    assert all(after > before for before, after in advancing(phone).values())
    assert all(after > before for before, after in advancing(hall).values())
    for page in (hall, phone):
        assert page.evaluate(SELECTED) == [["relay", "relay"]]
    for context in contexts:
        context.close()


def test_a_wrong_turn_secret_gets_no_connection(
        media_browser: Any, live_server: str, demo: Flask, coturn: int) -> None:
    demo.config.update(ICE_SERVERS=[{"urls": f"turn:127.0.0.1:{coturn}?transport=udp"}],
                       TURN_SECRET="not-the-secret", ICE_TRANSPORT_POLICY="relay")
    hall, phone, contexts = open_pages(media_browser, live_server, demo)
    time.sleep(12)
    assert not flowing(hall, 1) and not flowing(phone, 1)
    assert all(r["state"] != "connected" for r in report(phone))
    for context in contexts:
        context.close()
