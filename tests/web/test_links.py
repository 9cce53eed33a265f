"""Links (issue 14, item 6): an enrolment or invitation token rides in the link's fragment, which
no server or proxy sees, and reaches the server in a POST body only; links printed before still
open; every absolute link (QR codes, printed notices, the OpenAPI document) is on the configured
base URL whatever the Host header says, and an unknown Host is refused."""

from __future__ import annotations

import io
import logging
import re
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
import qrcode
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from sunvote import create_app
from sunvote.extensions import db
from sunvote.models import Account, Ballot, Person
from sunvote.web.links import redact, trusted_hosts
from sunvote.web.qr import qr_svg_text
from tests.conftest import csrf_token as token
from tests.conftest import login
from tests.services.test_cloud import Phone
from tests.web.test_assembly_pages import meeting_today
from tests.web.test_public_board import take_to

BASE = "https://sunvote.example.gov.cn"
TOKEN = r"[A-Za-z0-9_-]{43}"


def person_of(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.execute(select(Person.id).join(
            Account, Account.person_id == Person.id).where(
            Account.username == username)).scalar_one()


def data_attributes(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', html))


def enrolment_link(app: Flask, clerk: FlaskClient, member: int, base: str) -> str:
    """The link the clerk's enrolment QR shows for ``member``."""
    page = clerk.post(f"/v/sunshine/cloud/enrol/{member}",
                      data={"csrf_token": token(clerk, "/v/sunshine/cloud")})
    html = page.get_data(as_text=True)
    found = re.search(rf'href="({re.escape(base)}/c/enrol#t={TOKEN})"', html)
    assert page.status_code == 200 and found, html[:2000]
    assert qr_svg_text(found.group(1)) in html  # the QR encodes exactly that link
    return found.group(1)


def invitation_link(clerk: FlaskClient, number: int, member: int, base: str) -> str:
    room = f"/v/sunshine/meetings/{number}"
    page = clerk.post(f"{room}/invite/{member}", data={"csrf_token": token(clerk, room)})
    html = page.get_data(as_text=True)
    found = re.search(rf'href="({re.escape(base)}/c/join#t={TOKEN})"', html)
    assert page.status_code == 200 and found, html[:2000]
    assert qr_svg_text(found.group(1)) in html
    return found.group(1)


def post_json(client: FlaskClient, url: str, csrf: str, body: dict[str, Any]) -> Any:
    return client.post(url, json=body, headers={"X-CSRFToken": csrf,
                                                "Accept": "application/json"})


def enrol_by_the_pages(phone_client: FlaskClient, link: str, phone: Phone) -> Any:
    """What static/js/token-link.js and cloud.js do with an enrolment link: post the fragment's
    token with the landing page's form, then the signed key with the token in the JSON body."""
    landing = phone_client.get("/c/enrol")
    csrf = token(phone_client, "/c/enrol")
    assert landing.status_code == 200
    page = phone_client.post("/c/enrol", data={"csrf_token": csrf,
                                               "token": link.split("#t=")[1]})
    data = data_attributes(page.get_data(as_text=True))
    assert page.status_code == 200 and data["post"] == "/c/enrol/device"
    proof = phone.sign({"v": 1, "t": "enrol", "log": data["log"], "member": int(data["member"]),
                        "key": phone.key, "challenge": data["challenge"]})
    return post_json(phone_client, data["post"], csrf, {
        "token": data["token"], "key": proof.key, "statement": proof.statement,
        "sig": proof.sig, "pin": "135790"})


def test_the_enrolment_link_carries_its_token_in_the_fragment_and_the_phone_posts_it(  # type: ignore[no-untyped-def]
        as_user, demo: Flask) -> None:
    member = person_of(demo, "rep20")
    link = enrolment_link(demo, as_user("clerk"), member, "http://sunvote.test")
    secret = link.split("#t=")[1]
    phone_client = demo.test_client()
    landing = phone_client.get("/c/enrol")
    html = landing.get_data(as_text=True)
    assert "js/token-link." in html and 'data-fragment="t"' in html
    assert 'action="/c/enrol"' in html and "data-token-submit" in html
    assert landing.headers["Cache-Control"] == "no-store"
    # the page the form opens holds the token in its HTML only, sends it on to nobody
    opened = phone_client.post("/c/enrol", data={"csrf_token": token(phone_client, "/c/enrol"),
                                                 "token": link})  # a pasted whole link works
    assert opened.status_code == 200 and f'data-token="{secret}"' in opened.get_data(as_text=True)
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    assert opened.headers["Cache-Control"] == "no-store"
    enrolled = enrol_by_the_pages(phone_client, link, Phone())
    assert enrolled.status_code == 200 and enrolled.get_json()["ok"] is True
    used = phone_client.post("/c/enrol", data={"csrf_token": token(phone_client, "/c/enrol"),
                                               "token": secret})
    assert used.status_code == 410 and "已经用过" in used.get_data(as_text=True)
    unknown = phone_client.post("/c/enrol", data={"csrf_token": token(phone_client, "/c/enrol"),
                                                  "token": "x" * 43})
    assert unknown.status_code == 404
    assert phone_client.post("/c/enrol", data={"token": secret}).status_code == 400  # CSRF


def test_an_enrolment_link_with_the_token_in_its_path_still_opens(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    link = enrolment_link(demo, as_user("clerk"), person_of(demo, "rep19"), "http://sunvote.test")
    secret = link.split("#t=")[1]
    old = demo.test_client().get(f"/c/enrol/{secret}")
    data = data_attributes(old.get_data(as_text=True))
    assert old.status_code == 200 and data["token"] == secret
    assert data["post"] == "/c/enrol/device"  # the key goes without the token in the path
    assert old.headers["Referrer-Policy"] == "no-referrer"  # not sent on with the page's CSS
    assert demo.test_client().get("/c/enrol/" + "x" * 43).status_code == 404


def test_the_invitation_link_carries_its_token_in_the_fragment_and_the_phone_joins(  # type: ignore[no-untyped-def]
        as_user, demo: Flask) -> None:
    member = person_of(demo, "rep20")
    clerk = as_user("clerk")
    phone_client, phone = demo.test_client(), Phone()
    link = enrolment_link(demo, clerk, member, "http://sunvote.test")
    assert enrol_by_the_pages(phone_client, link, phone).status_code == 200
    meeting = meeting_today(demo, present=0)
    invitation = invitation_link(clerk, meeting.number, member, "http://sunvote.test")
    secret = invitation.split("#t=")[1]
    landing = phone_client.get("/c/join").get_data(as_text=True)
    assert 'action="/c/join"' in landing and "js/token-link." in landing
    csrf = token(phone_client, "/c/join")
    page = phone_client.post("/c/join", data={"csrf_token": csrf, "token": secret})
    data = data_attributes(page.get_data(as_text=True))
    assert page.status_code == 200 and data["post"] == "/c/join/checkin"
    code = clerk.get(f"/v/sunshine/meetings/{meeting.number}/hall.json").get_json()[
        "presence"]["code"]
    proof = phone.sign({"v": 1, "t": "attend", "log": data["log"],
                        "meeting": int(data["meeting"]), "member": member, "code": code})
    joined = post_json(phone_client, data["post"], csrf, {
        "token": data["token"], "key": proof.key, "statement": proof.statement,
        "sig": proof.sig, "pin": "135790", "code": code})
    assert joined.status_code == 200, joined.get_data(as_text=True)
    joined_page = phone_client.get("/c/meeting")
    assert joined_page.status_code == 200
    # Issue 15: the joined phone's header offers only what it can use (no login, no staff page).
    header = re.search(r'<header class="topbar">(.*?)</header>', joined_page.get_data(as_text=True),
                       re.S)
    assert header is not None and "/login" not in header.group(1)
    for href in re.findall(r'href="([^"?][^"]*)"', header.group(1)):
        assert phone_client.get(href).status_code == 200, href
    again = phone_client.post("/c/join", data={"csrf_token": csrf, "token": secret})
    assert again.status_code == 410  # single use
    assert demo.test_client().get(f"/c/join/{secret}").status_code == 410  # an old-style link


def test_a_phone_whose_member_recused_is_not_offered_the_vote(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    """The phone offers the vote where domain.assembly.ballot_refusal allows it, the rule the cloud
    ballot's use case applies (issue 17): it left recusal out, and offered buttons that the
    service then refused."""
    member = person_of(demo, "rep20")
    clerk = as_user("clerk")
    phone_client, phone = demo.test_client(), Phone()
    assert enrol_by_the_pages(phone_client, enrolment_link(
        demo, clerk, member, "http://sunvote.test"), phone).status_code == 200
    meeting = meeting_today(demo, present=16)
    room = f"/v/sunshine/meetings/{meeting.number}"
    secret = invitation_link(clerk, meeting.number, member, "http://sunvote.test").split("#t=")[1]
    csrf = token(phone_client, "/c/join")
    data = data_attributes(phone_client.post("/c/join", data={
        "csrf_token": csrf, "token": secret}).get_data(as_text=True))
    code = clerk.get(f"{room}/hall.json").get_json()["presence"]["code"]
    proof = phone.sign({"v": 1, "t": "attend", "log": data["log"],
                        "meeting": int(data["meeting"]), "member": member, "code": code})
    assert post_json(phone_client, data["post"], csrf, {
        "token": data["token"], "key": proof.key, "statement": proof.statement,
        "sig": proof.sig, "pin": "135790", "code": code}).status_code == 200
    road = re.search(r'action="[^"]*/poll-(\d+)"', clerk.get(room).get_data(as_text=True))
    assert road and clerk.post(f"{room}/poll-{road.group(1)}", data={
        "csrf_token": token(clerk, room), "mode": "named"}).status_code == 302
    assert 'data-choice="yes"' in phone_client.get("/c/meeting").get_data(as_text=True)
    rep = as_user("rep20")
    assert rep.post(f"{room}/recuse-1", data={"csrf_token": token(rep, room),
                                             "reason": "近亲属承包"}).status_code == 302
    page = phone_client.get("/c/meeting").get_data(as_text=True)
    assert 'data-choice="yes"' not in page and "assembly.recused" in page


# --- The base URL, not the Host header --------------------------------------------------------


class ForgedHostClient(FlaskClient):
    """A test client whose every request says Host: evil.example."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "Host": "evil.example"}
        return super().open(*args, **kwargs)


def forged(app: Flask) -> FlaskClient:
    """A forged-Host client of an app configured as in production: SUNVOTE_BASE_URL, no
    SERVER_NAME (with which Flask itself ignores the Host when building links), and the Host
    check off (links alone must hold)."""
    app.config.update(BASE_URL=BASE, TRUSTED_HOSTS=None, SERVER_NAME=None)
    client = ForgedHostClient(app, app.response_class, use_cookies=True)
    assert client.get("/api/public/villages").request.host == "evil.example"
    return client


def test_public_links_and_the_api_document_ignore_a_forged_host(demo: Flask) -> None:
    client = forged(demo)
    board = f"{BASE}/p/sunshine/"
    poster = client.get("/p/sunshine/poster").get_data(as_text=True)
    assert board in poster and qr_svg_text(board) in poster and "evil.example" not in poster
    assert client.get("/p/sunshine/qr.svg").get_data(as_text=True) == qr_svg_text(board)
    png = io.BytesIO()
    qrcode.make(board, box_size=10, border=2).save(png)
    assert client.get("/p/sunshine/qr.png").data == png.getvalue()
    assert client.get("/api/openapi.json").get_json()["servers"] == [{"url": BASE}]
    number = take_to(demo, "passed")
    notice = client.get(f"/p/sunshine/m/{number}/notice").get_data(as_text=True)
    assert qr_svg_text(f"{BASE}/p/sunshine/m/{number}") in notice
    assert "evil.example" not in notice
    with demo.app_context():
        code = db.session.execute(select(Ballot.code).limit(1)).scalar_one()
    receipt = client.get(f"/c/receipt/{code}").get_data(as_text=True)
    assert qr_svg_text(f"{BASE}/p/sunshine/receipt?ballot={code}") in receipt


def test_staff_qr_codes_ignore_a_forged_host(demo: Flask) -> None:
    clerk = login(forged(demo), "clerk")
    member = person_of(demo, "rep20")
    enrolment_link(demo, clerk, member, BASE)
    meeting = meeting_today(demo, present=0)
    invitation_link(clerk, meeting.number, member, BASE)
    room = f"/v/sunshine/meetings/{meeting.number}"
    presence = clerk.get(f"{room}/hall.json").get_json()["presence"]
    assert presence["qr"] == qr_svg_text(
        f"{BASE}{room}/checkin#t={meeting.checkin_code}&c={presence['code']}")


def test_once_the_base_url_is_set_an_unknown_host_is_refused(demo: Flask) -> None:
    app = create_app({"TESTING": True, "BASE_URL": BASE + "/",
                      "SQLALCHEMY_DATABASE_URI": demo.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        assert app.config["BASE_URL"] == BASE
        assert app.config["TRUSTED_HOSTS"] == ["sunvote.example.gov.cn", "localhost",
                                               "127.0.0.1"]
        client = app.test_client()
        for host in ("sunvote.example.gov.cn", "sunvote.example.gov.cn:443", "127.0.0.1:8000"):
            assert client.get("/p/sunshine/", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", "sunvote.example.gov.cn.evil.example"):
            refused = client.get("/p/sunshine/poster", headers={"Host": host})
            body = refused.get_data(as_text=True)
            assert refused.status_code == 400 and "[input.invalid]" in body, host
            assert "<svg" not in body and refused.headers["X-Content-Type-Options"] == "nosniff"
            # a form post (before: a 500 building the error page) changes nothing
            posted = client.post("/login", headers={"Host": host},
                                 data={"username": "clerk", "password": "sunvote2026"})
            assert posted.status_code == 400 and "Set-Cookie" not in posted.headers
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize(("setting", "expected"), [
    (None, ["sunvote.example.gov.cn", "localhost", "127.0.0.1"]),
    ("*", None),
    ("vote.example.org, .township.example.org  10.0.0.5",
     ["vote.example.org", ".township.example.org", "10.0.0.5"]),
])
def test_the_trusted_hosts_setting(setting: str | None, expected: list[str] | None) -> None:
    assert trusted_hosts(BASE, setting) == expected
    assert trusted_hosts(None, None) is None


@pytest.mark.parametrize(("env", "message"), [
    ({"SUNVOTE_SECURE_COOKIES": "1"}, "SUNVOTE_BASE_URL must be set"),
    ({"SUNVOTE_SECURE_COOKIES": "1", "SUNVOTE_BASE_URL": "http://vote.example.org"},
     "must be https://"),
    ({"SUNVOTE_BASE_URL": "vote.example.org"}, "SUNVOTE_BASE_URL"),
    ({"SUNVOTE_BASE_URL": "https://vote.example.org/?next=x"}, "SUNVOTE_BASE_URL"),
    ({"SUNVOTE_BASE_URL": "https://user@vote.example.org"}, "SUNVOTE_BASE_URL"),
    ({"SUNVOTE_BASE_URL": "https://vote.example.org:99999"}, "SUNVOTE_BASE_URL"),
])
def test_production_refuses_to_start_without_a_usable_base_url(
        app: Flask, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=re.escape(message)):
        create_app()


def test_the_base_url_and_trusted_hosts_come_from_the_environment(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUNVOTE_SECURE_COOKIES", "1")
    monkeypatch.setenv("SUNVOTE_BASE_URL", "https://Vote.Example.org/sunvote/")
    monkeypatch.setenv("SUNVOTE_TRUSTED_HOSTS", "vote.example.org internal.lan")
    configured = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        assert configured.config["BASE_URL"] == "https://vote.example.org/sunvote"
        assert configured.config["TRUSTED_HOSTS"] == ["vote.example.org", "internal.lan"]
        with configured.test_request_context("/", headers={"Host": "internal.lan"}):
            from sunvote.web.links import absolute_url

            # mounted under a path: the path once, whatever the request's own script root
            assert absolute_url("public.village", code="sunshine") == (
                "https://vote.example.org/sunvote/p/sunshine/")
            assert absolute_url("cloud.join_start", fragment={"t": "abc"}) == (
                "https://vote.example.org/sunvote/c/join#t=abc")
    finally:
        with configured.app_context():
            db.engine.dispose()


# --- Tokens kept out of the logs ----------------------------------------------------------------

SECRET = "Sec-ret_Token0123456789abcdefghijklmnopqrstu"


@pytest.mark.parametrize(("logged", "expected"), [
    (f"GET /c/enrol/{SECRET} HTTP/1.1", "GET /c/enrol/… HTTP/1.1"),
    (f"/c/join/{SECRET}?lang=en", "/c/join/…?lang=en"),
    (f"https://vote.example.org/c/join/{SECRET}", "https://vote.example.org/c/join/…"),
    ("/c/join/checkinX", "/c/join/…"),
    (f"/v/sunshine/meetings/3/checkin/{SECRET}?c=123456", "/v/sunshine/meetings/3/checkin/…?c=…"),
    (f"/c/receipt/{SECRET}", "/c/receipt/…"),
    (f"/p/sunshine/receipt/{SECRET}.receipt", "/p/sunshine/receipt/…"),
    (f"/p/sunshine/receipt?lang=en&ballot={SECRET}", "/p/sunshine/receipt?lang=en&ballot=…"),
    (f'"GET /c/enrol/{SECRET} HTTP/1.1" 404', '"GET /c/enrol/… HTTP/1.1" 404'),
    (f"ballot={SECRET}&lang=en", "ballot=…&lang=en"),  # a query string alone
    (f"/c/join#t={SECRET}", "/c/join#t=…"),  # a fragment (never sent; if ever logged)
    # the login page's next= (a check-in QR opened before logging in)
    (f"/login?next=%2Fv%2Fsunshine%2Fmeetings%2F1%2Fcheckin%2F{SECRET}%3Fc%3D123456",
     "/login?next=%2Fv%2Fsunshine%2Fmeetings%2F1%2Fcheckin%2F…%3Fc%3D…"),
    (f"/login?next=/c/receipt/{SECRET}&lang=en", "/login?next=/c/receipt/…&lang=en"),
    (f"/login?next=%2Fp%2Fs%2Freceipt%3Fballot%3D{SECRET}%26lang%3Den",
     "/login?next=%2Fp%2Fs%2Freceipt%3Fballot%3D…%26lang%3Den"),
    # nothing secret: left as it is
    ("/c/enrol", "/c/enrol"), ("/c/join", "/c/join"), ("/c/enrol/device", "/c/enrol/device"),
    ("/c/join/checkin", "/c/join/checkin"), ("/c/join/checkin?lang=en", "/c/join/checkin?lang=en"),
    ("/v/sunshine/meetings/3/checkin", "/v/sunshine/meetings/3/checkin"),
    ("/v/sunshine/meetings/3/checkin-12", "/v/sunshine/meetings/3/checkin-12"),
    ("/p/sunshine/?page=2", "/p/sunshine/?page=2"),
])
def test_tokens_are_blanked_in_logged_urls(logged: str, expected: str) -> None:
    assert redact(logged) == expected


def test_the_development_servers_log_shows_no_token(demo: Flask,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """`sunvote demo` and `sunvote run` serve with werkzeug, which logs each request line."""
    demo.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, demo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in (f"/c/enrol/{SECRET}", f"/c/join/{SECRET}",
                         f"/v/sunshine/meetings/1/checkin/{SECRET}?c=123456",
                         f"/p/sunshine/receipt?ballot={SECRET}"):
                try:
                    urllib.request.urlopen(base + path, timeout=30).close()
                except urllib.error.HTTPError as answered:  # 404, 302 … still logged
                    answered.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
    logged = caplog.text
    assert "/c/enrol/…" in logged and "/c/join/…" in logged and "ballot=…" in logged
    assert SECRET not in logged


def test_a_crash_on_a_token_url_is_logged_without_the_token(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    """Flask logs "Exception on <path>" with the path, which may carry a token."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/c/join/<token>/crash")
    def crash(token: str) -> str:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        assert app.test_client().get(f"/c/join/{SECRET}/crash").status_code == 500
    assert "Exception on /c/join/…/crash [GET]" in caplog.text and SECRET not in caplog.text
