"""A villager follows their suggestion: the number and private link after the form, the public
page in each state (received, taken into a matter, not taken up with the reason), the private
page opened with the code (name and contact shown there only), the list and the board's
section; the clerk's "not taken up" form with its refusals (typed text kept, nothing written)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from sunvote.extensions import db
from sunvote.models import LedgerRecord, Suggestion
from sunvote.services import limits
from tests.conftest import csrf_token, login
from tests.web.module_demo import demo_app_once

V = "/p/sunshine"
CONTACT, NAME = "13987654321", "钟秀兰"
LINK_RE = re.compile(r'href="(https?://[^"]+/follow#t=([a-z0-9]+))"')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None) -> Iterator[Flask]:
    with demo_app_once(tmp_path_factory.mktemp("follow"), postgres_url) as app:
        app.config["SUGGESTIONS_PER_HOUR"] = 1000  # one test address submits them all
        yield app


@pytest.fixture(autouse=True)
def _fresh_limits(world: Flask) -> None:
    with world.app_context():
        limits.reset()


def written(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one(),
                db.session.execute(select(func.count()).select_from(Suggestion).where(
                    Suggestion.declined_at.is_not(None))).scalar_one(),
                db.session.execute(select(func.count()).select_from(Suggestion).where(
                    Suggestion.matter_id.is_not(None))).scalar_one())


def submit(client: FlaskClient, text: str, show_name: bool = False) -> tuple[int, str, str]:
    """Suggest on the public form; returns the number, the private link and its code."""
    data = {"csrf_token": csrf_token(client, f"{V}/suggest"), "text": text, "name": NAME,
            "contact": CONTACT}
    if show_name:
        data["show_name"] = "y"
    response = client.post(f"{V}/suggest", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    location = response.headers["Location"]
    assert "#" not in location and "t=" not in location
    page = client.get(location)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    match = LINK_RE.search(html)
    assert match, html[:2000]
    number = int(location.rstrip("/").split("/")[-2])
    assert f"建议{number}号" in html and "<svg" in html
    return number, match.group(1), match.group(2)


def follow(client: FlaskClient, number: int | str, code: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"{V}/s/{number}/follow")
    return client.post(f"{V}/s/{number}/follow", data={"csrf_token": token, "t": code})


def text(response, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:1500]
    return page


def decline(client: FlaskClient, number: int | str, reason: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/v/sunshine/suggestions")
    return client.post("/v/sunshine/suggestions/decline", data={
        "decline-csrf_token": token, "decline-number": str(number), "decline-reason": reason})


def test_a_new_suggestion_shows_its_number_and_private_link_only_to_its_browser(
        world: Flask) -> None:
    client = world.test_client()
    number, link, code = submit(client, "建议在村口装一盏路灯")
    assert link.endswith(f"/p/sunshine/s/{number}/follow#t={code}")
    # another browser asking for that page is sent to the public page, with no code
    other = world.test_client().get(f"{V}/s/{number}/new")
    assert other.status_code == 302 and other.headers["Location"].endswith(f"/s/{number}")


def test_the_public_page_of_a_received_suggestion_hides_the_name_and_the_contact(
        world: Flask) -> None:
    client = world.test_client()
    number, _, _ = submit(client, "建议修一下村小学的围墙")
    page = text(world.test_client().get(f"{V}/s/{number}"))
    assert "建议修一下村小学的围墙" in page and "已收到，待处理" in page
    assert CONTACT not in page and NAME not in page and "未公开" in page
    shown, _, _ = submit(client, "建议办一个读书角", show_name=True)
    page = text(world.test_client().get(f"{V}/s/{shown}?lang=en"))
    assert NAME in page and CONTACT not in page and "Received, awaiting an answer" in page


def test_the_private_link_shows_what_was_submitted_and_a_wrong_code_is_refused_like_an_unknown_number(  # noqa: E501
        world: Flask) -> None:
    client = world.test_client()
    number, _, code = submit(client, "建议给老人装扶手")
    page = text(follow(world.test_client(), number, code))
    assert CONTACT in page and NAME in page and "建议给老人装扶手" in page
    assert "已收到，待处理" in page
    formatted = "-".join(code[i:i + 4] for i in range(0, 16, 4)).upper()
    assert CONTACT in text(follow(world.test_client(), number, formatted))
    wrong = follow(world.test_client(), number, "a" * 16)
    unknown = follow(world.test_client(), 9999, code)
    assert wrong.status_code == unknown.status_code == 404
    wrong_page, unknown_page = wrong.get_data(as_text=True), unknown.get_data(as_text=True)
    for page in (wrong_page, unknown_page):
        assert "suggestion.follow_code" in page and CONTACT not in page
        assert "建议编号或查看码不对" in page
    assert 'value="aaaaaaaaaaaaaaaa"' in wrong_page  # what was typed is kept


def test_guessing_codes_is_limited_per_address(world: Flask) -> None:
    client = world.test_client()
    number, _, code = submit(client, "建议清理河道")
    for _ in range(10):
        assert follow(client, number, "b" * 16).status_code == 404
    refused = follow(client, number, code)  # even the right code waits now
    assert refused.status_code == 429 and "suggestion.follow_code" in refused.get_data(
        as_text=True)


def test_the_clerk_declines_with_a_reason_the_villager_and_the_public_read(world: Flask) -> None:
    villager = world.test_client()
    number, _, code = submit(villager, "建议把篮球场改成停车场")
    clerk = login(world.test_client(), "clerk")
    page = text(clerk.get("/v/sunshine/suggestions"))
    assert "答复未采纳" in page and f'value="{number}"' in page
    before = written(world)
    response = decline(clerk, number, "篮球场是村民活动场地，村民代表会议已决定保留")
    assert response.status_code == 302
    assert written(world)[:2] == (before[0] + 1, before[1] + 1)
    public = text(world.test_client().get(f"{V}/s/{number}"))
    assert "未采纳" in public and "篮球场是村民活动场地" in public and CONTACT not in public
    private = text(follow(world.test_client(), number, code))
    assert "篮球场是村民活动场地" in private and CONTACT in private
    english = text(world.test_client().get(f"{V}/s/{number}?lang=en"))
    assert "Not taken up" in english
    assert "篮球场是村民活动场地" in text(clerk.get("/v/sunshine/suggestions"))  # answered list


def test_a_suggestion_taken_into_a_matter_links_to_the_matters_public_page(
        world: Flask) -> None:
    villager = world.test_client()
    number, _, code = submit(villager, "建议硬化去茶园的机耕路")
    with world.app_context():
        sid = db.session.execute(select(Suggestion.id).where(
            Suggestion.number == number, Suggestion.follow_hash.is_not(None))).scalar_one()
    clerk = login(world.test_client(), "clerk")
    token = csrf_token(clerk, "/v/sunshine/suggestions")
    opened = clerk.post("/v/sunshine/matters/open", data={
        "open-csrf_token": token, "open-suggestion_ids": str(sid), "open-title": "茶园机耕路硬化",
        "open-text": "村民建议硬化去茶园的机耕路"})
    assert opened.status_code == 302, opened.get_data(as_text=True)[:800]
    matter_number = opened.headers["Location"].rstrip("/").split("/")[-1]
    for page in (text(world.test_client().get(f"{V}/s/{number}")),
                 text(follow(world.test_client(), number, code))):
        assert "已纳入事项" in page and "茶园机耕路硬化" in page
        assert f'href="/p/sunshine/m/{matter_number}"' in page
    listing = text(world.test_client().get(f"{V}/suggestions"))
    assert matter_number in listing
    # and back: the matter's public page links the suggestions it came from
    assert f'href="/p/sunshine/s/{number}"' in text(
        world.test_client().get(f"{V}/m/{matter_number}"))


@pytest.mark.parametrize(("case", "reason", "status", "rule"), [
    ("empty", "", 400, "procedure.required_fields"),
    ("long", "太长" * 300, 400, "input.invalid"),
    ("unknown", "与其他建议重复", 404, "suggestion.unknown"),
    ("not a number", "与其他建议重复", 404, "suggestion.unknown"),
    ("taken", "与其他建议重复", 409, "suggestion.answered"),
    ("declined", "与其他建议重复", 409, "suggestion.answered"),
])
def test_a_refused_decline_keeps_the_reason_and_writes_nothing(
        world: Flask, case: str, reason: str, status: int, rule: str) -> None:
    villager = world.test_client()
    fresh, _, _ = submit(villager, f"建议（{case}）")
    clerk = login(world.test_client(), "clerk")
    if case == "declined":
        assert decline(clerk, fresh, "先答复一次").status_code == 302
    with world.app_context():
        taken = db.session.execute(select(Suggestion.number).where(
            Suggestion.matter_id.is_not(None))).scalars().first()
    target = {"unknown": "99999", "not a number": "①", "taken": str(taken)}.get(case, fresh)
    before = written(world)
    page = text(decline(clerk, target, reason), status)
    assert rule in page
    if reason:
        assert reason in page  # what was typed is kept
    assert written(world) == before


def test_only_the_clerk_director_or_secretary_may_decline(world: Flask) -> None:
    fresh, _, _ = submit(world.test_client(), "建议（监督委员会）")
    chair = login(world.test_client(), "supervisor")
    assert "答复未采纳" not in chair.get("/v/sunshine/suggestions").get_data(as_text=True)
    before = written(world)
    token = csrf_token(chair, "/password")
    response = chair.post("/v/sunshine/suggestions/decline", data={
        "decline-csrf_token": token, "decline-number": str(fresh), "decline-reason": "重复"})
    assert response.status_code == 403
    assert written(world) == before


def test_the_list_is_newest_first_and_paged_and_the_board_shows_the_latest(world: Flask) -> None:
    client = world.test_client()
    for i in range(21):
        submit(client, f"分页建议{i:02d}")
    first = text(world.test_client().get(f"{V}/suggestions"))
    assert first.index("分页建议20") < first.index("分页建议19")
    assert "分页建议00" not in first and "第1页" in first
    second = text(world.test_client().get(f"{V}/suggestions?page=2"))
    assert "分页建议00" in second
    assert "api.pagination" in text(world.test_client().get(f"{V}/suggestions?page=x"), 400)
    board = text(world.test_client().get(f"{V}/"))
    assert "村民建议" in board and "分页建议20" in board and "分页建议15" not in board
    assert CONTACT not in board and CONTACT not in first
    assert text(world.test_client().get(f"{V}/s/99999"), 404)
