"""What a new user tripped over (issue 15, item 7): the board's step dots carry their names, a
representative's header offers only pages they may open, villagers read refusals in their page's
language, and a passed matter leaves "公示中" on the board when its notice period ends."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token as token
from tests.web.test_supervision_pages import passed_road

BOARD = "/p/sunshine/"


def header_of(html: str) -> str:
    found = re.search(r'<header class="topbar">(.*?)</header>', html, re.S)
    assert found is not None
    return found.group(1)


def group_of(html: str, key: str) -> str:
    """The board group ``key``'s section ("" when the board shows no such group)."""
    found = re.search(rf'<section class="card board-group" id="g-{key}">(.*?)</section>', html,
                      re.S)
    return found.group(1) if found else ""


def test_each_step_dot_on_the_board_shows_its_name(demo: Flask) -> None:
    client = demo.test_client()
    for lang, names in (("zh", ["提建议", "提议", "商议", "审议", "票决", "监督实施"]),
                        ("en", ["Suggest", "Propose", "Discuss", "Review", "Vote", "Oversee"])):
        html = client.get(f"{BOARD}?lang={lang}").get_data(as_text=True)
        lists = re.findall(r'<ol class="mini-steps".*?</ol>', html, re.S)
        assert lists
        for steps in lists:
            assert re.findall(r'<span class="t">([^<]+)</span>', steps) == names
        assert 'aria-current="step"' in html  # the step a matter waits for is marked


def test_a_representative_header_links_only_to_pages_they_may_open(as_user) -> None:  # type: ignore[no-untyped-def]
    for username, phones in (("rep01", False), ("clerk", True)):
        client: FlaskClient = as_user(username)
        header = header_of(client.get("/v/sunshine/").get_data(as_text=True))
        assert ("/v/sunshine/cloud" in header) is phones
        for href in re.findall(r'href="(/[^"]*)"', header):
            assert client.get(href, follow_redirects=True).status_code == 200, (username, href)


def villager_refusal(html: str, rule: str, other_language: str) -> None:
    """The refusal reads in the page's language; its rule code sits on a small line."""
    assert re.search(rf'<div class="rule muted small">[^<]*<code>{re.escape(rule)}</code>', html)
    assert 'class="other-lang"' not in html
    assert other_language not in html


def test_villagers_see_refusals_in_their_page_language(demo: Flask) -> None:
    for lang, other in (("zh", "Not done"), ("en", "未办理")):
        client = demo.test_client()
        client.get(f"{BOARD}?lang={lang}")  # the language is remembered in a cookie
        # Suggest: a suggestion with no text.
        page = client.post("/p/sunshine/suggest", data={
            "csrf_token": token(client, "/p/sunshine/suggest"), "text": ""})
        assert page.status_code == 400
        villager_refusal(page.get_data(as_text=True), "procedure.required_fields", other)
        # Object: a matter not on notice (2026-001 waits for the vote).
        matter = "/p/sunshine/m/2026-001"
        csrf = token(client, "/p/sunshine/suggest")  # the matter page shows no form here
        page = client.post(f"{matter}/object", data={
            "objection-csrf_token": csrf, "objection-household": "001",
            "objection-name": "某某", "objection-text": "有异议"})
        assert page.status_code >= 400
        villager_refusal(page.get_data(as_text=True), "notice.objection_window", other)
        # Rate: a matter not completed.
        page = client.post(f"{matter}/rate", data={
            "rating-csrf_token": csrf, "rating-household": "001",
            "rating-name": "某某", "rating-score": "5"})
        assert page.status_code >= 400
        html = page.get_data(as_text=True)
        rule = re.search(r'<div class="rule muted small">[^<]*<code>([\w.]+)</code>', html)
        assert rule is not None
        villager_refusal(html, rule.group(1), other)
        # Receipt lookup: a code of the wrong shape.
        page = client.get("/p/sunshine/receipt?ballot=not*a*code")
        assert page.status_code == 400
        villager_refusal(page.get_data(as_text=True), "assembly.ballot_id", other)


def test_staff_pages_keep_both_languages_of_a_refusal(as_user) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("clerk")
    page = clerk.post("/v/sunshine/meetings", data={
        "csrf_token": token(clerk, "/v/sunshine/meetings"), "title": "会", "place": "室",
        "starts_at": "not a time"}).get_data(as_text=True)
    assert 'class="other-lang"' in page and "依据规则" in page


def test_a_passed_matter_leaves_on_notice_when_its_notice_period_ends(demo: Flask,
                                                                      as_user) -> None:  # type: ignore[no-untyped-def]
    passed_road(demo)  # the road passes a vote now: its notice period runs
    client = demo.test_client()
    html = client.get(BOARD).get_data(as_text=True)
    assert "村东道路硬化工程" in group_of(html, "notice")
    assert group_of(html, "notice-over") == ""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    with time_machine.travel(later, tick=False):
        html = client.get(BOARD).get_data(as_text=True)
        assert group_of(html, "notice") == ""
        over = group_of(html, "notice-over")
        assert "村东道路硬化工程" in over and "已通过，公示期满，待实施" in over
        assert "公示中" not in over and "公示期已于" in over
        public = client.get("/p/sunshine/m/2026-001").get_data(as_text=True)
        assert "已通过，公示期满，待实施" in public and "公示中，至" not in public
        page = as_user("clerk").get("/v/sunshine/m/2026-001").get_data(as_text=True)
        assert "已通过，公示期满，待实施" in page and '<span class="tag">公示中</span>' not in page
