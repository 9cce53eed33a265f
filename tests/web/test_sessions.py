"""Login sessions that end: logout, a password change or reset and disabling the account end
every session of the account (a copied cookie too); idle time (shorter on a shared computer) and
a lifetime; a new session and CSRF token at login; no-store on personal pages; the cookie's
flags; no remember-me. The clock is moved with time-machine, outside the requests."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import Account, Person
from tests.conftest import CSRF_RE, csrf_token

DOMAIN = "sunvote.test"  # the test app's SERVER_NAME
HOME = "/v/sunshine/"  # a page that needs a login


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie (a stolen or left cookie)."""
    cookie = client.get_cookie("session", domain=DOMAIN)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value, domain=DOMAIN)
    return thief


def logged_in(client: FlaskClient) -> bool:
    """Whether ``client`` still opens a page that needs a login (else it is sent to log in)."""
    response = client.get(HOME)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return False


def told(client: FlaskClient, rule: str) -> bool:
    """Whether the next page ``client`` opens says its session ended under ``rule``."""
    return rule in client.get("/login").get_data(as_text=True)


def person_id(app: Flask, name: str) -> int:
    with app.app_context():
        return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def start_login(app: Flask, username: str, *, shared: bool = False) -> FlaskClient:
    client = app.test_client()
    data = {"username": username, "password": "sunvote2026",
            "csrf_token": csrf_token(client)}
    if shared:
        data["shared"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def log_out(client: FlaskClient) -> None:
    assert client.post("/logout", data={"csrf_token": csrf_token(client, HOME)}).status_code \
        == 302


@pytest.fixture
def clock() -> Iterator[Any]:
    """The clock, stopped at now; ``clock.shift(timedelta)`` moves it on."""
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as traveller:
        yield traveller


# --- Ending every session of the account --------------------------------------------------------


def test_logging_out_in_one_browser_ends_a_copied_cookie_and_every_other_session(
        demo: Flask) -> None:
    a = start_login(demo, "rep01")
    stolen = copy_of(demo, a)
    b = start_login(demo, "rep01")
    assert logged_in(a) and logged_in(stolen) and logged_in(b)
    log_out(b)
    assert not logged_in(b)
    assert not logged_in(stolen)
    assert not logged_in(a)
    other = start_login(demo, "rep02")  # other accounts keep their sessions
    log_out(start_login(demo, "rep01"))
    assert logged_in(other)


def test_a_session_that_ended_says_why_naming_the_rule_in_both_languages(demo: Flask) -> None:
    a = start_login(demo, "rep01")
    log_out(start_login(demo, "rep01"))
    response = a.get(HOME)
    assert response.status_code == 302
    page = a.get("/login").get_data(as_text=True)
    assert "access.session_revoked" in page
    assert "此账号已退出登录" in page and "logged out" in page
    assert a.get("/login").get_data(as_text=True).count("access.session_revoked") == 0


def test_a_logout_cookie_copied_before_logging_out_is_refused(demo: Flask) -> None:
    a = start_login(demo, "rep01")
    stolen = copy_of(demo, a)
    log_out(a)
    assert not logged_in(stolen)


def test_changing_the_password_ends_every_other_session_and_keeps_this_one(
        demo: Flask) -> None:
    a = start_login(demo, "rep01")
    stolen = copy_of(demo, a)
    b = start_login(demo, "rep01")
    changed = b.post("/password", data={
        "csrf_token": csrf_token(b, "/password"), "current": "sunvote2026",
        "new": "a-new-password-1", "again": "a-new-password-1"})
    assert changed.status_code == 302
    assert logged_in(b)
    assert not logged_in(a) and not logged_in(stolen)


def test_a_clerks_password_reset_ends_the_accounts_sessions(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    rep = start_login(demo, "rep02")
    clerk = as_user("clerk")
    page = f"/v/sunshine/register/p/{person_id(demo, '王磊')}"
    reset = clerk.post(f"{page}/reset", data={"csrf_token": csrf_token(clerk, page)})
    assert reset.status_code == 200
    assert not logged_in(rep)
    assert logged_in(clerk)


def test_disabling_an_account_ends_its_sessions_and_enabling_it_does_not_revive_them(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    rep = start_login(demo, "rep02")
    township = as_user("township")
    page = f"/v/sunshine/register/p/{person_id(demo, '王磊')}"
    for action in ("disable", "enable"):
        assert township.post(f"{page}/{action}", data={
            "csrf_token": csrf_token(township, page)}).status_code == 302
    assert not logged_in(rep)
    assert logged_in(start_login(demo, "rep02"))


def test_a_session_from_before_the_epoch_existed_is_anonymous(demo: Flask) -> None:
    client = start_login(demo, "rep01")
    with demo.app_context():
        account_id = db.session.execute(select(Account.id).where(
            Account.username == "rep01")).scalar_one()
    with client.session_transaction() as session:
        session["_user_id"] = str(account_id)  # how a session named its account before
    assert not logged_in(client)


# --- Idle time and lifetime ---------------------------------------------------------------------


def test_a_session_ends_after_thirty_minutes_without_a_request(demo: Flask, clock: Any) -> None:
    client = start_login(demo, "rep01")
    clock.shift(dt.timedelta(minutes=29))
    assert logged_in(client)  # a request: the idle time starts again
    clock.shift(dt.timedelta(minutes=29))
    assert logged_in(client)
    clock.shift(dt.timedelta(minutes=30, seconds=1))
    assert not logged_in(client)
    assert told(client, "access.session_idle")


def test_a_session_on_a_shared_computer_ends_after_ten_idle_minutes(
        demo: Flask, clock: Any) -> None:
    shared = start_login(demo, "rep01", shared=True)
    own = start_login(demo, "rep02")
    clock.shift(dt.timedelta(minutes=9))
    assert logged_in(shared) and logged_in(own)
    clock.shift(dt.timedelta(minutes=10))
    assert not logged_in(shared)
    assert told(shared, "access.session_idle")
    assert logged_in(own)


def test_the_idle_times_come_from_the_configuration(demo: Flask, clock: Any) -> None:
    demo.config.update(SESSION_IDLE_MINUTES=5, SHARED_SESSION_IDLE_MINUTES=2)
    own, shared = start_login(demo, "rep01"), start_login(demo, "rep02", shared=True)
    clock.shift(dt.timedelta(minutes=3))
    assert logged_in(own) and not logged_in(shared)
    clock.shift(dt.timedelta(minutes=5))
    assert not logged_in(own)


def test_a_session_in_use_still_ends_twelve_hours_after_login(demo: Flask, clock: Any) -> None:
    client = start_login(demo, "rep01")
    for _ in range(28):  # a request every 25 minutes: 11 h 40 min
        clock.shift(dt.timedelta(minutes=25))
        assert logged_in(client)
    clock.shift(dt.timedelta(minutes=20))
    assert not logged_in(client)
    assert told(client, "access.session_lifetime")


def test_changing_the_password_keeps_the_shared_computers_shorter_idle_time(
        demo: Flask, clock: Any) -> None:
    client = start_login(demo, "rep01", shared=True)
    assert client.post("/password", data={
        "csrf_token": csrf_token(client, "/password"), "current": "sunvote2026",
        "new": "a-new-password-1", "again": "a-new-password-1"}).status_code == 302
    clock.shift(dt.timedelta(minutes=11))
    assert not logged_in(client)


# --- A new session at login ---------------------------------------------------------------------


def test_nothing_planted_in_the_session_before_login_survives_it(demo: Flask) -> None:
    client = demo.test_client()
    token = csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["sv_shared"] = False
    client.post("/login", data={"username": "rep01", "password": "sunvote2026",
                                "shared": "y", "csrf_token": token})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sv_shared"] is True


def test_the_csrf_token_changes_at_login_and_the_old_one_is_refused(demo: Flask) -> None:
    client = demo.test_client()
    before = csrf_token(client)
    assert client.post("/login", data={"username": "rep01", "password": "sunvote2026",
                                       "csrf_token": before}).status_code == 302
    after = csrf_token(client, HOME)
    assert after != before
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400 and "access.csrf" in refused.get_data(as_text=True)
    assert logged_in(client)


def test_the_session_cookie_is_http_only_same_site_lax_and_not_kept_on_a_shared_computer(
        demo: Flask) -> None:
    client = demo.test_client()
    token = csrf_token(client)
    own = client.post("/login", data={"username": "rep01", "password": "sunvote2026",
                                      "csrf_token": token})
    name = demo.config["SESSION_COOKIE_NAME"] + "="
    cookie = next(h for h in own.headers.getlist("Set-Cookie") if h.startswith(name))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    expires = re.search(r"Expires=([^;]+)", cookie)
    assert expires is not None  # kept across a browser restart, but no longer than 12 hours
    from email.utils import parsedate_to_datetime

    assert parsedate_to_datetime(expires.group(1)) <= dt.datetime.now(dt.UTC) + dt.timedelta(
        hours=12, minutes=1)
    shared = demo.test_client()
    token = csrf_token(shared)
    response = shared.post("/login", data={"username": "rep01", "password": "sunvote2026",
                                           "shared": "y", "csrf_token": token})
    assert "Expires" not in next(h for h in response.headers.getlist("Set-Cookie")
                                 if h.startswith(name))
    assert not any(h.startswith("remember_token")
                   for h in own.headers.getlist("Set-Cookie")
                   + response.headers.getlist("Set-Cookie"))


def test_secure_cookies_are_configured_from_the_environment_and_kept_to_this_host(
        demo: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from sunvote import create_app
    from sunvote.config import load_config

    monkeypatch.setenv("SUNVOTE_SECURE_COOKIES", "1")
    assert load_config(tmp_path)["SESSION_COOKIE_SECURE"] is True
    app = create_app({"TESTING": True, "SERVER_NAME": DOMAIN, "BASE_URL": f"https://{DOMAIN}",
                      "SQLALCHEMY_DATABASE_URI": demo.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        client = app.test_client()
        page = client.get("/login", base_url=f"https://{DOMAIN}").get_data(as_text=True)
        token = CSRF_RE.search(page)
        assert token is not None
        response = client.post("/login", base_url=f"https://{DOMAIN}", data={
            "username": "rep01", "password": "sunvote2026", "csrf_token": token.group(1)},
            headers={"Referer": f"https://{DOMAIN}/login"})
        assert response.status_code == 302
        cookie = next(h for h in response.headers.getlist("Set-Cookie")
                      if h.startswith("__Host-session="))
        assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Path=/;" in cookie and "Domain" not in cookie
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_remember_me_cookie_logs_nobody_in(demo: Flask) -> None:
    from flask_login.utils import encode_cookie

    with demo.app_context():
        account = db.session.execute(select(Account).where(
            Account.username == "rep01")).scalar_one()
        with demo.test_request_context():
            value = encode_cookie(account.get_id())
    client = demo.test_client()
    client.set_cookie("remember_token", value, domain=DOMAIN)
    assert not logged_in(client)


# --- Nothing personal kept in a cache -----------------------------------------------------------


def test_pages_with_id_numbers_phones_or_temporary_passwords_are_not_stored(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("clerk")
    page = f"/v/sunshine/register/p/{person_id(demo, '王磊')}"
    for path in ("/v/sunshine/register", page, "/v/sunshine/register/export.csv", HOME):
        response = clerk.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    reset = clerk.post(f"{page}/reset", data={"csrf_token": csrf_token(clerk, page)})
    assert "temp-password" in reset.get_data(as_text=True)
    assert reset.headers["Cache-Control"] == "no-store"
    district = as_user("district")
    assert district.get("/admin/").headers["Cache-Control"] == "no-store"
    anonymous = demo.test_client()
    for path in ("/login", "/c/enrol/not-a-token", "/c/join/not-a-token"):
        assert anonymous.get(path).headers["Cache-Control"] == "no-store", path


def test_static_files_stay_cacheable_and_untouched_by_the_session(as_user) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("clerk")
    response = clerk.get("/static/js/page.js")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Set-Cookie" not in response.headers
