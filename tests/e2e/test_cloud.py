"""In a real Chromium with phone emulation (390×844, touch): a representative who cannot come
enrols their phone at the village office (the phone makes its own WebCrypto key), is invited to
the meeting (opened in the clerk's room, the others checked in there: "everyone present
except"), joins with PIN and the hall screen's presence code, votes in a named and in a
secret poll with the phone signing, checks the receipts, and leaves the meeting from the phone;
the clerk closes it. A second phone replaying the
invitation is refused, and the clerk sees the refusal. Screenshots of each phone screen."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from sunvote.domain.ledger.verifier import verify_export
from sunvote.extensions import db
from sunvote.models import Account, LedgerRecord, Person
from tests.e2e.pages import DESKTOP, PHONE, PROJECTOR, log_in

from .test_assembly import prepare

pytestmark = pytest.mark.browser

SMALL_PHONE = {"width": 360, "height": 640}
PIN = "135790"


def phone_context(browser: Any, viewport: dict[str, int] = PHONE) -> Any:
    return browser.new_context(viewport=viewport, is_mobile=True, has_touch=True,
                               device_scale_factor=2, locale="zh-CN")


def test_cloud_voting_on_an_emulated_phone(browser: Any, live_server: str, screenshot_dir: Path,
                                           demo: Flask, tmp_path: Path) -> None:
    number = prepare(demo)
    room = f"{live_server}/v/sunshine/meetings/{number}"
    with demo.app_context():
        rep = db.session.execute(select(Person).join(Account, Account.person_id == Person.id).where(
            Account.username == "rep20")).scalar_one()
        rep_id, rep_name = rep.id, rep.name

    def shot(page: Any, name: str, viewport: dict[str, int]) -> None:
        page.screenshot(path=str(screenshot_dir / f"cloud-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: page is {width}px wide"

    # The clerk shows the enrolment QR for rep20; the phone opens it and enrols.
    clerk_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    clerk = clerk_ctx.new_page()
    clerk.on("dialog", lambda dialog: dialog.accept())
    log_in(clerk, live_server, "clerk")
    clerk.goto(f"{live_server}/v/sunshine/cloud")
    clerk.locator("tr", has_text=rep_name).locator("button:has-text('登记手机')").click()
    clerk.wait_for_load_state()
    shot(clerk, "1-clerk-enrol-qr", DESKTOP)
    enrol_url = clerk.locator("main a[href*='/c/enrol#t=']").get_attribute("href")
    assert enrol_url and rep_name in clerk.content()
    assert enrol_url.startswith(f"{live_server}/c/enrol#t=")  # the token never reaches a server
    assert str(rep_id) not in enrol_url.split("#t=")[1]  # no identity in the URL

    phone_ctx = phone_context(browser)
    phone = phone_ctx.new_page()
    # What the phone sends: each request's URL as it goes on the wire (no fragment) and its
    # headers (Referer); none may carry a token.
    asked: list[str] = []
    phone_ctx.on("request", lambda r: asked.append(
        " ".join([r.url.split("#")[0], *r.headers.values()])))
    phone.goto(enrol_url)
    expect(phone.locator("#enrol-form")).to_be_visible()  # the script posted the fragment
    assert phone.url == f"{live_server}/c/enrol"  # and took it out of the address bar
    assert phone.evaluate("window.isSecureContext")
    phone.fill("#pin", PIN)
    phone.fill("#pin2", PIN)
    shot(phone, "2-phone-enrol", PHONE)
    phone.tap("#enrol-form button[type=submit]")
    phone.wait_for_selector("#cloud-message.notice-success", timeout=15000)
    shot(phone, "3-phone-enrolled", PHONE)
    with demo.app_context():
        types = [t for t in db.session.execute(select(LedgerRecord.type)).scalars()]
    assert "device.enrol" in types

    # The clerk opens the meeting in the room; 18 members are in the hall (the quorum of 23 is
    # 16): "everyone present except" rep20 (who joins by phone) and four others.
    clerk.goto(room)
    clerk.click("button:has-text('开始会议')")
    clerk.wait_for_load_state()
    clerk.locator(f"#checkin-list li[data-name='{rep_name}'] input").check()
    others = clerk.locator(f"#checkin-list li[data-name]:not([data-name='{rep_name}'])")
    for i in range(others.count() - 4, others.count()):
        others.nth(i).locator("input").check()
    clerk.click("button:has-text('除勾选的缺席人员外，全部签到')")
    clerk.wait_for_load_state()
    assert "已为18人签到" in clerk.content()

    hall_ctx = browser.new_context(viewport=PROJECTOR, locale="zh-CN")
    hall = hall_ctx.new_page()
    log_in(hall, live_server, "clerk")
    hall.goto(f"{room}/hall")
    code = hall.inner_text("#presence-code").strip()
    assert re.fullmatch(r"[0-9]{6}", code)
    shot(hall, "4-hall-presence-code", PROJECTOR)

    # The clerk issues rep20's invitation (printable QR and link).
    clerk.goto(room)
    clerk.locator("table.attendance tr", has_text=rep_name).locator(
        "button:has-text('云端邀请')").click()
    clerk.wait_for_load_state()
    shot(clerk, "5-clerk-invitation", DESKTOP)
    join_url = clerk.locator("main a[href*='/c/join#t=']").get_attribute("href")
    assert join_url and join_url.startswith(f"{live_server}/c/join#t=")

    # The phone joins: PIN and presence code (read off the hall screen).
    phone.goto(join_url)
    expect(phone.locator("#join-form")).to_be_visible()
    phone.fill("#pin", PIN)
    phone.fill("#code", hall.inner_text("#presence-code").strip())
    shot(phone, "6-phone-join", PHONE)
    phone.tap("#join-form button[type=submit]")
    phone.wait_for_url("**/c/meeting", timeout=15000)
    assert "已签到" in phone.content()
    shot(phone, "7-phone-waiting", PHONE)
    expect(hall.locator("#cloud-count")).to_have_text("1", timeout=10000)

    # A forwarded link opened on another phone is refused; the clerk sees it.
    other_ctx = phone_context(browser)
    other = other_ctx.new_page()
    with other.expect_response(lambda r: r.url == f"{live_server}/c/join"
                               and r.request.method == "POST") as opened:
        other.goto(join_url)
    assert opened.value.status == 410
    expect(other.locator(".notice-error")).to_contain_text("已经用过")
    shot(other, "8-second-phone-refused", PHONE)
    # A forged join from the second phone (its own key, posted directly) is refused and audited.
    token = join_url.split("#t=", 1)[1]
    refused = other.evaluate("""async (token) => {
        const csrf = document.querySelector('meta[name=csrf-token]');
        const r = await fetch('/c/join/checkin', {method: 'POST',
            headers: {'Content-Type': 'application/json',
                      'X-CSRFToken': csrf ? csrf.content : ''},
            body: JSON.stringify({token: token, key: 'ed25519:' + btoa('x'.repeat(32)),
                                  statement: '{}', sig: '', pin: '000000', code: '000000'})});
        return [r.status, await r.text()];
    }""", token)
    assert refused[0] in (400, 403, 409) and "cloud." in refused[1], refused
    clerk.goto(room)
    assert "cloud.invitation" in clerk.inner_text("#cloud-audit")
    shot(clerk, "9-clerk-audit", DESKTOP)

    # The clerk opens a named poll in the room: the phone page updates by itself; the member
    # votes 同意.
    clerk.goto(room)
    clerk.locator(".agenda-item").nth(0).locator("button:has-text('开始表决')").click()
    clerk.wait_for_load_state()
    phone.wait_for_selector("#vote-form button[data-choice=yes]", timeout=15000)
    assert not phone.is_visible("#vote-confirm")  # confirmation comes after the choice
    shot(phone, "10-phone-named-poll", PHONE)
    phone.tap("#vote-form button[data-choice=yes]")
    assert phone.is_visible("#vote-confirm") and not phone.is_visible("#vote-form")
    assert "同意" in phone.inner_text("#confirm-choice")
    shot(phone, "11-phone-confirm", PHONE)
    phone.tap("#vote-send")
    phone.wait_for_url("**/c/receipt/**", timeout=15000)
    receipt = phone.inner_text(".receipt-code").strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", receipt)
    assert "同意" in phone.inner_text(".cloud-receipt")
    shot(phone, "12-phone-receipt", PHONE)
    check = phone_ctx.new_page()
    check.goto(f"{live_server}/p/sunshine/receipt?ballot={receipt}")
    assert "已证明" in check.content()
    shot(check, "13-public-receipt", PHONE)
    check.close()

    # The clerk closes the named poll and opens a secret one; the phone, left on its receipt,
    # goes back to the meeting by itself (issue 15).
    clerk.goto(room)
    clerk.click("button:has-text('结束表决并计票')")
    clerk.wait_for_load_state()
    clerk.locator(".agenda-item").nth(1).locator("select[name=mode]").select_option("secret")
    clerk.locator(".agenda-item").nth(1).locator("button:has-text('开始表决')").click()
    clerk.wait_for_load_state()
    phone.wait_for_url("**/c/meeting", timeout=20000)

    # The secret poll, on a slow network (throttled), on a small 360×640 phone.
    phone.goto(f"{live_server}/c/meeting")
    cdp = phone_ctx.new_cdp_session(phone)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 400, "downloadThroughput": 50_000,
        "uploadThroughput": 20_000})
    sizes: list[int] = []
    phone.on("response", lambda r: sizes.append(len(r.body())) if r.ok else None)
    phone.set_viewport_size(SMALL_PHONE)
    phone.reload()
    phone.wait_for_selector("#vote-form button[data-choice=no]", timeout=30000)
    assert sum(sizes) < 150_000, sizes  # the page, its CSS and JS on a slow connection
    shot(phone, "14-phone-secret-poll-360", SMALL_PHONE)
    phone.tap("#vote-form button[data-choice=no]")
    phone.tap("#vote-send")
    # Sealed: no code and no choice on the phone until the poll closes (issue 13, item 1).
    phone.wait_for_url("**/c/meeting", timeout=30000)
    phone.wait_for_selector("text=您的选票已密封", timeout=30000)
    assert phone.locator(".receipt-code").count() == 0
    shot(phone, "15-phone-secret-sealed-360", SMALL_PHONE)
    clerk.goto(room)
    clerk.click("button:has-text('结束表决并计票')")
    clerk.wait_for_load_state()
    phone.goto(f"{live_server}/c/meeting")
    phone.click("a:has-text('核对我的选票')")
    phone.wait_for_url("**/c/receipt/**", timeout=30000)
    secret_receipt = phone.inner_text(".receipt-code").strip()
    assert "反对" in phone.inner_text(".cloud-receipt")
    shot(phone, "16-phone-secret-check-360", SMALL_PHONE)
    # The member leaves the meeting from the phone (离场): the hall counts one fewer in the
    # cloud; the clerk closes the meeting in the room, after its confirmation.
    phone.set_viewport_size(PHONE)
    phone.goto(f"{live_server}/c/meeting")
    phone.on("dialog", lambda dialog: dialog.accept())
    shot(phone, "17-phone-present", PHONE)
    phone.goto(f"{live_server}/c/meeting?lang=en")
    assert "I am leaving" in phone.content()
    shot(phone, "17-phone-present-en", PHONE)
    phone.goto(f"{live_server}/c/meeting?lang=zh")
    phone.tap("button:has-text('我要离场')")
    phone.wait_for_load_state()
    expect(phone.locator("#my-presence")).to_contain_text("未签到")
    shot(phone, "18-phone-left", PHONE)
    expect(hall.locator("#cloud-count")).to_have_text("0", timeout=10000)
    clerk.goto(room)
    clerk.click("button:has-text('结束会议')")
    clerk.wait_for_load_state()
    assert "会议结束" in clerk.content()
    # Anyone can check the whole meeting offline: the clerk reads the ledger's public key on the
    # ledger page, a villager downloads the export from the public board, the verifier agrees.
    clerk.goto(f"{live_server}/v/sunshine/ledger")
    key = clerk.locator("dt:has-text('账本公钥') + dd code").inner_text().strip()
    phone.goto(f"{live_server}/p/sunshine/receipt?ballot={secret_receipt}")
    assert "已证明" in phone.content()
    with phone.expect_download() as download:
        phone.evaluate("location.href = '/p/sunshine/ledger.zip'")
    zipped = tmp_path / "ledger.zip"
    download.value.save_as(zipped)
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(tmp_path / "export")
    exported = [p.parent for p in (tmp_path / "export").rglob("log.vkey")]
    assert len(exported) == 1, exported
    report = verify_export(exported[0], log_vkeys_override=[key])
    assert not report.failures, report.failures[:5]
    tokens = [enrol_url.split("#t=")[1], token]
    assert asked and not [url for url in asked if any(t in url for t in tokens)]
    for ctx in (clerk_ctx, hall_ctx, phone_ctx, other_ctx):
        ctx.close()
