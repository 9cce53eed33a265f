"""The web layer: logins, pages per role, every step form with good and bad input, CSRF,
JSON errors in both languages, the public suggestion form and the QR poster."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from sunvote.extensions import db
from sunvote.models import Account, Attachment, Matter, StepRecord, Suggestion
from tests.conftest import csrf_token, login

PDF = b"%PDF-1.4\n% minutes\n"


def rows(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (Matter, StepRecord, Attachment, Suggestion)}


def state_of(app: Flask, number: str) -> tuple[str, int]:
    with app.app_context():
        m = db.session.execute(select(Matter).where(Matter.number == number)).scalar_one()
        return m.state, m.version


def version(app: Flask, number: str) -> str:
    return str(state_of(app, number)[1])


def post_step(client: FlaskClient, number: str, form: str, data: dict[str, Any],
              app: Flask, token: str | None = "auto", **kw: Any):  # type: ignore[no-untyped-def]
    payload = {f"{form}-{k}": v for k, v in data.items()}
    payload.setdefault(f"{form}-version", version(app, number))
    if token == "auto":
        token = csrf_token(client)
    if token is not None:
        payload[f"{form}-csrf_token"] = token
    return client.post(f"/v/sunshine/m/{number}/{form}", data=payload,
                       content_type="multipart/form-data", **kw)


def test_login_works_and_wrong_passwords_are_refused(demo: Flask) -> None:
    client = demo.test_client()
    token = csrf_token(client)
    bad = client.post("/login", data={"username": "clerk", "password": "nope",
                                      "csrf_token": token})
    assert bad.status_code == 401
    assert "用户名或密码不正确" in bad.get_data(as_text=True)
    assert client.get("/v/sunshine/").status_code == 302  # still logged out
    login(client, "clerk")
    page = client.get("/v/sunshine/")
    assert page.status_code == 200 and "村东道路硬化工程" in page.get_data(as_text=True)


def test_disabled_accounts_cannot_log_in(demo: Flask) -> None:
    with demo.app_context():
        account = db.session.execute(
            select(Account).where(Account.username == "clerk")).scalar_one()
        account.disabled = True
        db.session.commit()
    client = demo.test_client()
    response = client.post("/login", data={"username": "clerk", "password": "sunvote2026",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401


@pytest.mark.parametrize("next_", [
    "//evil.example/x", "/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example",
    "/%20/evil.example", "/%5Cevil.example", "https://evil.example/", "/%7F/evil.example"])
def test_login_never_redirects_to_another_site(demo: Flask, next_: str) -> None:
    """Issue 14: `/login?next=/%09/evil.example` answered `Location: //evil.example` (browsers
    drop the tab); a newline in next gave a 500."""
    client = demo.test_client()
    response = client.post(f"/login?next={next_}",
                           data={"username": "clerk", "password": "sunvote2026",
                                 "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil" not in location and location.startswith("/") and not location.startswith("//")


def test_login_follows_a_local_next(demo: Flask) -> None:
    client = demo.test_client()
    response = client.post("/login?next=/v/sunshine/ledger",
                           data={"username": "clerk", "password": "sunvote2026",
                                 "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/v/sunshine/ledger"


@pytest.mark.parametrize("username", ["clerk", "secretary", "reviewer", "supervisor", "rep01",
                                      "township", "district"])
def test_every_demo_role_sees_the_village_and_a_matter(as_user, username: str) -> None:  # type: ignore[no-untyped-def]
    client = as_user(username)
    home = client.get("/home", follow_redirects=True)
    assert home.status_code == 200 and "阳光村" in home.get_data(as_text=True)
    page = client.get("/v/sunshine/m/2026-001")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "办理记录" in text and "阳光镇备〔2026〕17号" in text


def test_another_villages_clerk_is_refused(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk2")
    for path in ("/v/sunshine/", "/v/sunshine/m/2026-001", "/v/sunshine/suggestions"):
        response = client.get(path)
        assert response.status_code == 403
        assert "access.village" in response.get_data(as_text=True)
    before = rows(demo)
    response = post_step(client, "2026-003", "propose",
                         {"category": "2", "title": "x", "summary": "y", "amount": "1"}, demo)
    assert response.status_code == 403
    assert rows(demo) == before


def test_unknown_village_or_matter_is_404(as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    assert client.get("/v/nowhere/").status_code == 404
    assert client.get("/v/sunshine/m/1999-999").status_code == 404
    assert client.get("/p/nowhere/").status_code == 404


def test_clerk_and_secretary_take_a_matter_from_suggestion_to_filed_review(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    clerk, secretary, reviewer = as_user("clerk"), as_user("secretary"), as_user("reviewer")
    token = csrf_token(clerk)
    page = clerk.get("/v/sunshine/suggestions").get_data(as_text=True)
    assert "建议在村口安装路灯" in page
    with demo.app_context():
        sid = db.session.execute(select(Suggestion.id).where(
            Suggestion.text.like("建议在村口%"))).scalar_one()
    opened = clerk.post("/v/sunshine/matters/open", data={
        "open-csrf_token": token, "open-suggestion_ids": [str(sid)], "open-title": "村口路灯",
        "open-text": "村民建议在村口安装路灯"})
    assert opened.status_code == 302
    number = opened.headers["Location"].rsplit("/", 1)[-1]
    assert state_of(demo, number)[0] == "suggested"

    page = secretary.get(f"/v/sunshine/m/{number}").get_data(as_text=True)
    assert "第2步：党支部提议" in page
    response = post_step(secretary, number, "propose", {
        "category": "2", "title": "村口路灯", "summary": "安装太阳能路灯20盏",
        "amount": "60,000.50", "materials": [(io.BytesIO(PDF), "方案.pdf")]}, demo)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert state_of(demo, number)[0] == "proposed"

    response = post_step(clerk, number, "discuss", {
        "decision": "discuss", "meeting_date": "2026-11-20", "expected": "9", "present": "8",
        "minutes": "同意提交审议", "plan": "安装太阳能路灯20盏"}, demo)
    assert response.status_code == 302
    response = post_step(reviewer, number, "review", {"decision": "file",
                                                       "filing_no": "阳光镇备〔2026〕20号"}, demo)
    assert response.status_code == 302
    assert state_of(demo, number)[0] == "filed"
    page = clerk.get(f"/v/sunshine/m/{number}").get_data(as_text=True)
    for text in ("登记建议，立项", "党支部提议", "联席会议商议，提交审议", "审议通过，予以备案",
                 "¥ 60,000.50", "方案.pdf", "SHA-256"):
        assert text in page
    with demo.app_context():
        sha = db.session.execute(select(Attachment.sha256)).scalars().first()
    download = clerk.get(f"/v/sunshine/files/{sha}")
    assert download.status_code == 200 and download.data == PDF
    assert as_user("clerk2").get(f"/v/sunshine/files/{sha}").status_code == 403


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    secretary = as_user("secretary")
    before, state = rows(demo), state_of(demo, "2026-003")
    response = post_step(secretary, "2026-003", "propose", {
        "category": "2", "title": "x", "summary": "y", "amount": "1"}, demo, token=None)
    assert response.status_code == 400
    assert "access.csrf" in response.get_data(as_text=True)
    assert rows(demo) == before and state_of(demo, "2026-003") == state


def test_a_replayed_form_is_refused_after_the_matter_moved_on(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    secretary = as_user("secretary")
    old_version = version(demo, "2026-003")
    data = {"category": "2", "title": "礼堂", "summary": "修缮", "amount": "100",
            "version": old_version}
    assert post_step(secretary, "2026-003", "propose", data, demo).status_code == 302
    before = rows(demo), state_of(demo, "2026-003")
    again = post_step(secretary, "2026-003", "propose", data, demo)
    assert again.status_code == 409
    assert (rows(demo), state_of(demo, "2026-003")) == before


@pytest.mark.parametrize(("user", "form", "data", "status", "rule"), [
    ("clerk", "propose", {"category": "2", "title": "x", "summary": "y", "amount": "1"}, 403,
     "procedure.role"),
    ("secretary", "propose", {"category": "", "title": "x", "summary": "y", "amount": "1"}, 400,
     "procedure.required_fields"),
    ("secretary", "propose", {"category": "99", "title": "x", "summary": "y", "amount": "1"},
     400, "input.invalid"),
    ("secretary", "propose", {"category": "10", "title": "x", "summary": "y", "amount": "1"},
     400, "procedure.category_10_reason"),
    ("secretary", "propose", {"category": "2", "title": "x", "summary": "y", "amount": "abc"},
     400, "input.invalid"),
    ("secretary", "propose", {"category": "2", "title": "x", "summary": "y", "amount": "-5"},
     400, "input.invalid"),
    ("secretary", "propose", {"category": "2", "title": "x" * 101, "summary": "y",
                              "amount": "1"}, 400, "input.invalid"),
    ("secretary", "propose", {"category": "2", "title": "a\x07b", "summary": "y",
                              "amount": "1"}, 400, "input.invalid"),
    ("secretary", "propose", {"category": "2", "title": "x", "summary": "y", "amount": "1",
                              "version": "zz"}, 400, "input.invalid"),
    ("reviewer", "review", {"decision": "file", "filing_no": "x"}, 409, "procedure.step_order"),
    ("supervisor", "breach", {"breach_step": "propose", "reason": "x"}, 409,
     "procedure.step_order"),
    ("secretary", "withdraw", {"reason": ""}, 400, "procedure.required_fields"),
])
def test_bad_step_forms_are_refused_with_their_rule_and_change_nothing(
        as_user, demo: Flask, user: str, form: str, data: dict[str, str], status: int,
        rule: str) -> None:  # type: ignore[no-untyped-def]
    client = as_user(user)
    before, state = rows(demo), state_of(demo, "2026-003")
    response = post_step(client, "2026-003", form, data, demo)
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:3000]
    assert rule in body
    assert rows(demo) == before and state_of(demo, "2026-003") == state


def test_unknown_step_form_is_404(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    response = post_step(as_user("secretary"), "2026-003", "vote", {}, demo)
    assert response.status_code == 404


def test_wrong_file_type_refuses_the_step(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    before = rows(demo)
    response = post_step(as_user("secretary"), "2026-003", "propose", {
        "category": "2", "title": "x", "summary": "y", "amount": "1",
        "materials": [(io.BytesIO(b"MZ\x90\x00"), "tool.exe")]}, demo)
    assert response.status_code == 400
    assert "不支持的文件类型" in response.get_data(as_text=True)
    assert rows(demo) == before


def test_oversized_uploads_are_refused(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    demo.config["MAX_CONTENT_LENGTH"] = 50_000
    before = rows(demo)
    client = as_user("secretary")
    response = post_step(client, "2026-003", "propose", {
        "category": "2", "title": "x", "summary": "y", "amount": "1",
        "materials": [(io.BytesIO(b"%PDF-" + b"0" * 60_000), "big.pdf")]}, demo)
    assert response.status_code == 413
    assert rows(demo) == before


def test_json_api_errors_name_the_rule_in_chinese_and_english(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    token = csrf_token(client)
    response = client.post("/api/v1/villages/sunshine/matters/2026-003/actions/file",
                           json={"filing_no": "x"}, headers={"X-CSRFToken": token})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["rule"] == "procedure.step_order"
    assert "待提议" in error["zh"]
    assert "awaiting proposal" in error["en"].lower()


@pytest.mark.parametrize(("body", "status"), [
    ({"category": "two", "title": "x", "summary": "y", "amount_fen": 1}, 400),
    ({"category": 2, "title": ["x"], "summary": "y", "amount_fen": 1}, 400),
    ({"category": 2, "title": "x", "summary": "y", "amount_fen": 1.5}, 400),
    ({"category": 2, "title": "x", "summary": "y", "amount_fen": 1, "version": "1"}, 400),
    ({"category": 2, "title": "x", "summary": "y"}, 400),
])
def test_json_api_refuses_wrong_types(as_user, demo: Flask, body: dict[str, Any],
                                      status: int) -> None:  # type: ignore[no-untyped-def]
    client = as_user("secretary")
    token = csrf_token(client)
    before = rows(demo)
    response = client.post("/api/v1/villages/sunshine/matters/2026-003/actions/propose",
                           json=body, headers={"X-CSRFToken": token})
    assert response.status_code == status
    assert response.get_json()["error"]["rule"]
    assert rows(demo) == before


def test_json_api_takes_a_step_and_reports_the_matter(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("secretary")
    response = client.post(
        "/api/v1/villages/sunshine/matters/2026-003/actions/propose",
        json={"category": 2, "title": "礼堂修缮", "summary": "屋顶翻修", "amount_fen": 1234},
        headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200
    assert response.get_json()["state"] == "proposed"
    assert client.get("/api/v1/villages/sunshine/matters/2026-003").get_json()["steps"][-1][
        "action"] == "propose"
    no_json = client.post("/api/v1/villages/sunshine/matters/2026-003/actions/discuss",
                          data="not json", headers={"X-CSRFToken": csrf_token(client)})
    assert no_json.status_code == 400
    unknown = client.post("/api/v1/villages/sunshine/matters/2026-003/actions/explode",
                          json={}, headers={"X-CSRFToken": csrf_token(client)})
    assert unknown.status_code == 400


def test_json_api_without_csrf_is_refused(as_user) -> None:  # type: ignore[no-untyped-def]
    response = as_user("secretary").post(
        "/api/v1/villages/sunshine/matters/2026-003/actions/propose", json={})
    assert response.status_code == 400
    assert response.get_json()["error"]["rule"] == "access.csrf"


def test_pages_switch_to_english(as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    page = client.get("/v/sunshine/m/2026-001?lang=en").get_data(as_text=True)
    assert "Filed, awaiting the vote" in page and "Timeline" in page
    assert "Filed, awaiting the vote" in client.get("/v/sunshine/").get_data(as_text=True)


def test_villagers_suggest_without_an_account(demo: Flask) -> None:
    client = demo.test_client()
    page = client.get("/p/sunshine/suggest")
    assert page.status_code == 200
    token = csrf_token(client, "/p/sunshine/suggest")
    before = rows(demo)
    response = client.post("/p/sunshine/suggest", data={
        "csrf_token": token, "text": "建议村里建一个老年食堂", "name": "老李",
        "contact": "13800000000"})
    assert response.status_code == 302
    assert rows(demo)["Suggestion"] == before["Suggestion"] + 1
    # the contact is never shown publicly
    assert "13800000000" not in client.get("/p/sunshine/").get_data(as_text=True)


@pytest.mark.parametrize(("data", "status"), [
    ({"text": ""}, 400),
    ({"text": "x" * 2001}, 400),
    ({"text": "正常\x00内容"}, 400),
    ({"text": "正常内容", "website": "http://spam"}, 400),
])
def test_bad_public_suggestions_are_refused(demo: Flask, data: dict[str, str], status: int) -> None:
    client = demo.test_client()
    before = rows(demo)
    response = client.post("/p/sunshine/suggest",
                           data={"csrf_token": csrf_token(client, "/p/sunshine/suggest"), **data})
    assert response.status_code == status
    assert rows(demo) == before


def test_public_suggestions_are_limited_per_address(demo: Flask) -> None:
    demo.config["SUGGESTIONS_PER_HOUR"] = 2
    client = demo.test_client()
    token = csrf_token(client, "/p/sunshine/suggest")
    for _ in range(2):
        assert client.post("/p/sunshine/suggest", data={"csrf_token": token,
                                                        "text": "建议"}).status_code == 302
    before = rows(demo)
    third = client.post("/p/sunshine/suggest", data={"csrf_token": token, "text": "建议"})
    assert third.status_code == 429
    assert "suggestion.rate_limit" in third.get_data(as_text=True)
    assert rows(demo) == before


def test_the_poster_carries_a_qr_code_of_the_village_page(demo: Flask) -> None:
    client = demo.test_client()
    poster = client.get("/p/sunshine/poster").get_data(as_text=True)
    assert "<svg" in poster and "阳光村" in poster and "/p/sunshine/" in poster
    png = client.get("/p/sunshine/qr.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = client.get("/p/sunshine/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_the_rules_page_lists_every_rule_with_its_source(demo: Flask) -> None:
    from sunvote.domain.rules import RULES

    page = demo.test_client().get("/rules").get_data(as_text=True)
    for rule in RULES:
        assert rule.code in page
    assert "第二十六条" in page


def test_logout_needs_a_post_with_csrf(as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/v/sunshine/").status_code == 302


@pytest.mark.parametrize(("data", "status", "rule"), [
    ({"channel": "paper", "text": ""}, 400, "procedure.required_fields"),
    ({"channel": "qr", "text": "冒充扫码"}, 400, "input.invalid"),
    ({"channel": "paper", "text": "x" * 2001}, 400, "input.invalid"),
    ({"channel": "paper", "text": "a\x1bb"}, 400, "input.invalid"),
])
def test_bad_paper_suggestions_are_refused(as_user, demo: Flask, data: dict[str, str],
                                           status: int, rule: str) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    before = rows(demo)
    response = client.post("/v/sunshine/suggestions/record", data={
        "record-csrf_token": csrf_token(client), **{f"record-{k}": v for k, v in data.items()}})
    assert response.status_code == status
    assert rule in response.get_data(as_text=True)
    assert rows(demo) == before


def test_representatives_cannot_record_suggestions_or_open_matters(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("rep01")
    before = rows(demo)
    token = csrf_token(client)
    assert client.post("/v/sunshine/suggestions/record", data={
        "record-csrf_token": token, "record-channel": "paper",
        "record-text": "x"}).status_code == 403
    assert client.post("/v/sunshine/matters/open", data={
        "open-csrf_token": token, "open-title": "x", "open-text": "y"}).status_code == 403
    assert rows(demo) == before


@pytest.mark.parametrize(("data", "status"), [
    ({"title": "", "text": "y"}, 400),
    ({"title": "x", "text": ""}, 400),
    ({"title": "x", "text": "y", "suggestion_ids": ["abc"]}, 400),
    ({"title": "x", "text": "y", "suggestion_ids": ["999999"]}, 400),
    ({"title": "x\x00", "text": "y"}, 400),
])
def test_bad_open_matter_forms_are_refused(as_user, demo: Flask, data: dict[str, Any],
                                           status: int) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    before = rows(demo)
    response = client.post("/v/sunshine/matters/open", data={
        "open-csrf_token": csrf_token(client), **{f"open-{k}": v for k, v in data.items()}})
    assert response.status_code == status
    assert rows(demo) == before


def test_a_clerk_cannot_merge_another_villages_suggestion(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    other = as_user("clerk2")
    other.post("/v/breeze/suggestions/record", data={
        "record-csrf_token": csrf_token(other), "record-channel": "paper",
        "record-text": "清风村的建议"})
    with demo.app_context():
        sid = db.session.execute(select(Suggestion.id).where(
            Suggestion.text == "清风村的建议")).scalar_one()
    client = as_user("clerk")
    before = rows(demo)
    response = client.post("/v/sunshine/matters/open", data={
        "open-csrf_token": csrf_token(client), "open-title": "x", "open-text": "y",
        "open-suggestion_ids": [str(sid)]})
    assert response.status_code == 400
    assert rows(demo) == before


def test_a_reset_password_must_be_changed_before_anything_else(demo: Flask) -> None:
    with demo.app_context():
        account = db.session.execute(
            select(Account).where(Account.username == "clerk")).scalar_one()
        account.must_change_password = True
        db.session.commit()
    client = login(demo.test_client(), "clerk")
    response = client.get("/v/sunshine/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/password")
    token = csrf_token(client, "/password")
    short = client.post("/password", data={"csrf_token": token, "current": "sunvote2026",
                                           "new": "short", "again": "short"})
    assert short.status_code == 400
    wrong = client.post("/password", data={"csrf_token": token, "current": "nope",
                                           "new": "a-new-password", "again": "a-new-password"})
    assert wrong.status_code == 400
    ok = client.post("/password", data={"csrf_token": token, "current": "sunvote2026",
                                        "new": "a-new-password", "again": "a-new-password"})
    assert ok.status_code == 302
    assert client.get("/v/sunshine/").status_code == 200
    login(demo.test_client(), "clerk", "a-new-password")


def test_unknown_attachment_hashes_are_404(as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    assert client.get("/v/sunshine/files/" + "0" * 64).status_code == 404
    assert client.get("/v/sunshine/files/not-a-hash").status_code == 404


def test_refusals_on_pages_show_both_languages(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    response = post_step(as_user("secretary"), "2026-003", "withdraw", {"reason": ""}, demo)
    body = response.get_data(as_text=True)
    assert "请填写理由" in body and "please fill in" in body.lower()


@pytest.mark.parametrize("path", ["/", "/p/sunshine/", "/p/sunshine/suggest", "/rules",
                                  "/login"])
def test_public_pages_have_a_plain_title(demo: Flask, path: str) -> None:
    import re as regex

    page = demo.test_client().get(path).get_data(as_text=True)
    title = regex.search(r"<title>(.*?)</title>", page, regex.S)
    assert title is not None and "<" not in title.group(1) and len(title.group(1)) < 80


@pytest.mark.parametrize("url", ["/p/sunshine/m/%00", "/p/sunshine/m/2026-001%00",
                                 "/p/sunshine/receipt?ballot=%00" + "A" * 21,
                                 "/api/public/villages/sunshine/matters?page=%00",
                                 "/login?next=/%00"])
def test_a_nul_byte_in_a_path_or_query_is_refused_with_its_rule(demo: Flask, url: str) -> None:
    """Issue 14: a NUL in a path or a field gave a 500 (PostgreSQL refuses it in a string),
    even anonymously."""
    response = demo.test_client().get(url)
    assert response.status_code == 400 and "input.invalid" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_form_or_json_is_refused_and_nothing_is_written(demo: Flask) -> None:
    client = demo.test_client()
    before = rows(demo)
    response = client.post("/p/sunshine/suggest", data={
        "csrf_token": csrf_token(client, "/p/sunshine/suggest"),
        "text": "建议村里建一个老年食堂\x00", "name": "老李"})
    assert response.status_code == 400 and "input.invalid" in response.get_data(as_text=True)
    answer = client.post("/api/v1/villages/sunshine/matters", data=b'{"title": "a\\u0000"}',
                         content_type="application/json")
    assert answer.status_code == 400 and answer.get_json()["error"]["rule"] == "input.invalid"
    assert rows(demo) == before


def test_every_page_forbids_inline_script_and_framing(demo: Flask) -> None:
    """Issue 14: a Content-Security-Policy with no inline script, never framed, nosniff and a
    Referrer-Policy; HSTS once cookies are secure (behind HTTPS)."""
    client = demo.test_client()
    for url in ("/login", "/p/sunshine/", "/p/sunshine/poster", "/rules"):
        headers = client.get(url).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy.split(
            "script-src", 1)[1].split(";", 1)[0], url
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers
    demo.config["SESSION_COOKIE_SECURE"] = True
    assert "max-age=" in client.get("/login").headers["Strict-Transport-Security"]


def test_no_template_has_inline_script() -> None:
    """What the policy forbids, no page may need: no <script> without src, no on…= handler."""
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path
