"""In a real Chromium with fake camera and microphone: the clerk opens the meeting and the hall
video page; the page records the hall in 5-second chunks and uploads them, and each appears, with
its ledger record, on the supervisor's live page; the hall loses the network, its chunks go up
late and the break is recorded as a gap; a page closed with chunks not sent sends them when it
is opened again; the clerk closes the meeting, the hall page
stops (the chunk it sent after the close is refused and recorded); the supervisor plays the
recording back and downloads it; the download verifies offline, and a tampered chunk fails and
is named. Screenshots of the hall video page and the recording page, zh and en."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.e2e.conftest import watch_csp
from tests.e2e.pages import DESKTOP, PHONE, log_in, shot
from tests.e2e.test_assembly import prepare

pytestmark = pytest.mark.browser

#: Chromium's own test devices: a camera showing a moving pattern and a beeping microphone, with
#: no permission prompt.
def until(check: Callable[[], bool], seconds: float = 20) -> None:
    """Wait for ``check()`` (a page's own waits evaluate strings, which its CSP forbids)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def tampered(download: bytes, name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(download)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == name:
                data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
            dst.writestr(info.filename, data)
    return out.getvalue()


def test_the_hall_is_recorded_chunks_go_into_the_ledger_and_the_download_verifies(
        media_browser: Any, browser: Any, live_server: str, screenshot_dir: Path, demo: Flask,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sunvote.verify_recording import EXIT_RECORDING
    from sunvote.verify_recording import main as verify_main

    number = prepare(demo)
    room = f"{live_server}/v/sunshine/meetings/{number}"
    refused: list[str] = []
    clerk_ctx = watch_csp(media_browser.new_context(viewport=DESKTOP, locale="zh-CN"), refused)
    clerk = clerk_ctx.new_page()
    clerk.on("dialog", lambda dialog: dialog.accept())
    log_in(clerk, live_server, "clerk")
    clerk.goto(room)

    # the meeting page links the hall video page for those who run the meeting; the clerk sets
    # the hall up before the meeting opens: nothing is recorded yet
    with clerk_ctx.expect_page() as opened:
        clerk.click("a:has-text('会场视频')")  # a new tab, for the hall's screen
    hall = opened.value
    hall.wait_for_load_state()
    assert hall.url == f"{room}/video"
    expect(hall.locator("#recording-sign")).to_be_hidden()
    # the meeting opens from the meeting page: the hall page starts recording by itself
    clerk.click("button:has-text('开始会议')")
    clerk.wait_for_load_state()
    expect(hall.locator("#recording-sign")).to_be_visible(timeout=20000)
    expect(hall.locator("#hall-camera-status")).to_contain_text("摄像头和麦克风已打开",
                                                                timeout=15000)
    expect(hall.locator("#recording-sign")).to_be_visible()
    expect(hall.locator("#recording-sign")).to_contain_text("正在录像")
    # the preview shows the camera
    until(lambda: hall.locator("#hall-local").evaluate("v => v.videoWidth") > 0)
    # two chunks of 5 seconds, each uploaded and signed into the ledger
    expect(hall.locator("#recording-status")).to_contain_text("已上传并写入账本2段",
                                                              timeout=30000)
    shot(hall, screenshot_dir, "recording-1-hall-video-zh")

    # the supervisor watches the recording so far: chunks with their ledger records
    sup_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    sup = sup_ctx.new_page()
    log_in(sup, live_server, "supervisor")
    sup.goto(room)
    sup.click("a:has-text('会场录像')")
    sup.wait_for_load_state()
    expect(sup.locator("#recording-sign")).to_contain_text("正在录像")
    rows = sup.locator("#recording-chunk-table tbody tr")
    assert rows.count() >= 2
    assert rows.nth(0).locator("td").nth(4).inner_text().startswith("#")
    assert sup.locator("#download-recording").count() == 0  # not while the meeting runs
    shot(sup, screenshot_dir, "recording-2-live-zh")

    # the hall loses the network for 20 seconds: its chunks wait in the page, go up when it
    # returns, and the break is recorded as a gap (none lost)
    sent = int(hall.locator("#recording-status").inner_text().split("账本")[1].split("段")[0])
    clerk_ctx.set_offline(True)
    expect(hall.locator("#recording-status")).to_contain_text("网络中断", timeout=15000)
    time.sleep(14)
    clerk_ctx.set_offline(False)
    expect(hall.locator("#recording-status")).to_contain_text(
        f"已上传并写入账本{sent + 4}段", timeout=40000)
    sup.reload()
    expect(sup.locator("#recording-gaps")).to_contain_text("会场断网")
    shot(sup, screenshot_dir, "recording-2-live-after-a-gap-zh")

    # off the network again, the hall page is closed with chunks not sent; opened again, it
    # sends them first (kept in IndexedDB), then records on: the ledger marks a lost gap after
    # them, not before
    taken = sup.locator("#recording-chunk-table tbody tr").count()
    clerk_ctx.set_offline(True)
    expect(hall.locator("#recording-status")).to_contain_text("网络中断", timeout=15000)
    time.sleep(3)
    hall.close()
    clerk_ctx.set_offline(False)
    hall = clerk_ctx.new_page()
    hall.goto(f"{room}/video")
    expect(hall.locator("#recording-status")).to_contain_text("已上传并写入账本2段",
                                                              timeout=30000)
    sup.reload()
    lost = sup.locator("#recording-gaps li", has_text="录像中断")
    expect(lost).to_have_count(1)
    resumed = int(lost.inner_text().split("第")[1].split("段")[0])
    assert resumed > taken  # the chunks the closed page left went up before it

    # the clerk closes the meeting: the hall page's next chunk is refused, and it stops
    clerk.goto(room)
    clerk.click("button:has-text('结束会议')")
    clerk.wait_for_load_state()
    expect(hall.locator("#recording-status")).to_contain_text("会议已结束，录像停止",
                                                              timeout=20000)
    expect(hall.locator("#recording-sign")).to_be_hidden()

    # the supervisor plays it back: frames and time move
    sup.goto(f"{room}/recording")
    expect(sup.locator("#recording-refused")).to_contain_text("recording.meeting_state")
    player = sup.locator("#run-1")
    player.evaluate("v => { v.muted = true; return v.play(); }")
    until(lambda: player.evaluate("v => v.currentTime") > 1)
    assert player.evaluate("v => v.videoWidth") > 0
    shot(sup, screenshot_dir, "recording-3-playback-zh")
    sup.goto(f"{room}/recording?lang=en")
    shot(sup, screenshot_dir, "recording-3-playback-en")
    phone_ctx = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
    phone = phone_ctx.new_page()
    log_in(phone, live_server, "supervisor")
    phone.goto(f"{room}/recording")
    shot(phone, screenshot_dir, "recording-4-playback-phone-zh")

    # the download, checked offline; one altered byte in chunk 1 is found and named
    with sup.expect_download() as info:
        sup.click("#download-recording")
    path = tmp_path / "recording.zip"
    info.value.save_as(path)
    capsys.readouterr()
    assert verify_main([str(path)]) == 0
    assert "verified" in capsys.readouterr().out
    bad = tmp_path / "bad.zip"
    bad.write_bytes(tampered(path.read_bytes(), "chunks/000001.webm"))
    assert verify_main([str(bad)]) == EXIT_RECORDING
    assert "chunk 1: altered" in capsys.readouterr().out

    # the hall video page in English, once more, for the eye
    hall.goto(f"{room}/video?lang=en")
    shot(hall, screenshot_dir, "recording-5-hall-video-closed-en")
    assert not refused, f"a page broke its Content-Security-Policy: {refused[:3]}"
