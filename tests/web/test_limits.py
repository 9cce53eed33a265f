"""Limits that cannot lock everyone out (issue 14, item 4), over HTTP: one answer to every
refused login, a per-address bound on failed logins, an account's wait that never keeps its owner
out of their own browser, X-Forwarded-For only from a trusted proxy, and cloud voting limits that
junk from a shared address cannot turn against the phones behind it."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sunvote.domain import cloud as rules
from sunvote.domain.login import ADDRESS_FAILURES, FREE_FAILURES
from sunvote.extensions import db
from sunvote.models import Account, Meeting
from sunvote.models.base import utcnow
from sunvote.services import accounts, cloud
from tests.conftest import csrf_token
from tests.services.test_assembly import pid
from tests.services.test_cloud import Phone, enrol, open_meeting_with_hall, origin

OWNER_ADDRESS = "192.0.2.10"
ATTACKER = "198.51.100.66"
CSRF = re.compile(r'value="[^"]*"')


def client_at(app: Flask, address: str) -> FlaskClient:
    """A browser at ``address`` (the socket's address, as a proxy-less server sees it)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def post_login(client: FlaskClient, username: str, password: str, **headers: str) -> Any:
    return client.post("/login", headers=headers, data={
        "csrf_token": csrf_token(client), "username": username, "password": password})


def answer(response: Any, username: str) -> tuple[int, str]:
    """The status and the page, with what differs by nature (the CSRF token, the user name typed
    back into the form) taken out."""
    page = response.get_data(as_text=True).replace(f'value="{username}"', 'value="NAME"')
    return response.status_code, CSRF.sub('value=""', page)


def test_unknown_users_wrong_passwords_waiting_and_disabled_accounts_get_one_answer(
        demo: Flask) -> None:
    with demo.app_context():
        disabled = db.session.execute(select(Account).where(Account.username == "rep04")
                                      ).scalar_one()
        disabled.disabled = True
        db.session.commit()
    for _ in range(FREE_FAILURES):  # rep02 must now wait
        post_login(client_at(demo, ATTACKER), "rep02", "wrong-password")
    answers = {
        "unknown user": answer(post_login(client_at(demo, OWNER_ADDRESS), "nobody-here",
                                          "sunvote2026"), "nobody-here"),
        "wrong password": answer(post_login(client_at(demo, OWNER_ADDRESS), "rep01",
                                            "wrong-password"), "rep01"),
        "waiting, right password": answer(post_login(client_at(demo, OWNER_ADDRESS), "rep02",
                                                     "sunvote2026"), "rep02"),
        "disabled, right password": answer(post_login(client_at(demo, OWNER_ADDRESS), "rep04",
                                                      "sunvote2026"), "rep04"),
    }
    assert len(set(answers.values())) == 1, answers
    status, page = answers["unknown user"]
    assert status == 401 and "access.login_attempts" in page


def test_one_address_cannot_spray_a_password_across_accounts(demo: Flask) -> None:
    owner = client_at(demo, ATTACKER)  # rep05 logged in here before: a known browser
    assert post_login(owner, "rep05", "sunvote2026").status_code == 302
    owner.post("/logout", data={"csrf_token": csrf_token(owner, "/v/sunshine/")})
    for n in range(ADDRESS_FAILURES):  # one guess at each of many accounts, none waits
        assert post_login(client_at(demo, ATTACKER), f"user{n:02d}",
                          "123456").status_code == 401
    stopped = post_login(client_at(demo, ATTACKER), "rep01", "sunvote2026")
    assert answer(stopped, "rep01") == answer(
        post_login(client_at(demo, OWNER_ADDRESS), "rep01", "wrong"), "rep01")
    assert post_login(client_at(demo, OWNER_ADDRESS), "rep01", "sunvote2026").status_code == 302
    assert post_login(owner, "rep05", "sunvote2026").status_code == 302  # its own browser


def test_an_attacker_cannot_keep_the_owner_out_of_their_account(demo: Flask) -> None:
    owner = client_at(demo, OWNER_ADDRESS)
    assert post_login(owner, "clerk", "sunvote2026").status_code == 302
    owner.post("/logout", data={"csrf_token": csrf_token(owner, "/v/sunshine/")})
    for _ in range(ADDRESS_FAILURES - 1):  # from elsewhere, guessing on purpose
        assert post_login(client_at(demo, ATTACKER), "clerk", "guess").status_code == 401
    with demo.app_context():
        account = db.session.execute(select(Account).where(Account.username == "clerk")
                                     ).scalar_one()
        assert account.locked_until is not None  # the account waits for everyone else...
    assert post_login(owner, "clerk", "sunvote2026").status_code == 302  # ...not its owner
    # A forged or foreign known-browser cookie does not exempt anyone.
    stranger = client_at(demo, "203.0.113.99")
    stranger.set_cookie(accounts.KNOWN_BROWSER_COOKIE, "forged.cookie.value",
                        domain="sunvote.test")
    assert post_login(stranger, "clerk", "sunvote2026").status_code == 401


@pytest.mark.parametrize(("app_config", "counted_apart"), [
    ({}, False), ({"TRUSTED_PROXIES": 1}, True)], ids=["no proxy trusted", "one proxy trusted"])
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
        demo: Flask, app_config: dict[str, Any], counted_apart: bool) -> None:
    """Failed logins each with another forged X-Forwarded-For: without a trusted proxy they are
    all the socket's address (and exhaust its bound); behind one, each is its own address."""
    for n in range(ADDRESS_FAILURES):
        post_login(client_at(demo, ATTACKER), f"user{n:02d}", "123456",
                   **{"X-Forwarded-For": f"10.9.{n}.1"})
    right = post_login(client_at(demo, ATTACKER), "rep01", "sunvote2026",
                       **{"X-Forwarded-For": "10.9.200.1"})
    assert (right.status_code == 302) is counted_apart


def test_junk_from_a_shared_address_does_not_stop_the_phones_behind_it(demo: Flask) -> None:
    with demo.app_context():
        meeting, roster = open_meeting_with_hall(20)
        member, phone = roster[-1], Phone()
        enrol(member, phone)
        token = cloud.issue_invitation(pid("张敏"), meeting.id, member)[1]
        meeting_id = meeting.id
    proxy = "192.0.2.1"  # every phone of the village arrives from the HTTPS proxy's address
    for _ in range(25):
        junk = client_at(demo, proxy)
        refused = junk.post("/c/join/checkin", headers=phone_csrf(junk),
                            json={"token": secrets.token_urlsafe(32), "pin": "000000",
                                  "code": "000000"})
        assert refused.status_code == 403 and refused.get_json()["error"]["rule"] == \
            "cloud.invitation"
    with demo.app_context():
        joined = join_now(client_at(demo, proxy), meeting_id, token, phone, member)
    assert joined.status_code == 200, joined.get_data(as_text=True)
    assert joined.get_json()["ok"] is True


def phone_csrf(client: FlaskClient) -> dict[str, str]:
    """The header the phone's script sends: the session's CSRF token."""
    return {"X-CSRFToken": csrf_token(client)}


def join_now(client: FlaskClient, meeting_id: int, token: str, phone: Phone,
             member: int) -> Any:
    """Join over HTTP with the presence code current now (the server checks it at its clock)."""
    meeting = db.session.get(Meeting, meeting_id)
    assert meeting is not None
    code = rules.presence_code(bytes.fromhex(meeting.presence_secret or ""), utcnow())
    proof = phone.sign({"v": 1, "t": "attend", "log": origin(), "meeting": meeting.number,
                        "member": member, "code": code})
    return client.post("/c/join/checkin", headers=phone_csrf(client), json={
        "token": token, "key": proof.key, "statement": proof.statement, "sig": proof.sig,
        "pin": "246810", "code": code})



@pytest.mark.parametrize("app_config", [{"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1"}],
                         ids=["Redis unreachable"])
def test_without_its_storage_the_limits_count_in_memory_and_nothing_fails(
        demo: Flask, app_config: dict[str, Any]) -> None:
    for _ in range(FREE_FAILURES):
        assert post_login(client_at(demo, ATTACKER), "rep02", "wrong").status_code == 401
    assert post_login(client_at(demo, OWNER_ADDRESS), "rep01", "sunvote2026").status_code == 302
    for n in range(ADDRESS_FAILURES):  # the address bound still holds, counted in memory
        post_login(client_at(demo, ATTACKER), f"user{n:02d}", "123456")
    assert post_login(client_at(demo, ATTACKER), "rep03", "sunvote2026").status_code == 401
