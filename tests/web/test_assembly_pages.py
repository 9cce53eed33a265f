"""Assembly pages: convene, the room, voting and receipts, the hall feed — refusals show their
rule and change nothing; the hall shows counts, never choices, while a poll is open."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.voting import VoteMode
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Matter, MeetingMember, Person, Village
from sunvote.services import assembly
from tests.conftest import csrf_token as token

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def records(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def ids(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        v = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        road = db.session.execute(select(Matter.id).where(
            Matter.village_id == v.id, Matter.number.like("%-001"))).scalar_one()
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        return v.id, road, clerk


@dataclass(frozen=True)
class Opened:
    number: int
    checkin_code: str


def meeting_today(app: Flask, present: int = 23, mode: VoteMode | None = None) -> Opened:
    """A meeting convened three days ago (back-dated through the services' `now`), opened
    today, with ``present`` members checked in and optionally a poll open on the road."""
    village_id, road, clerk = ids(app)
    with app.app_context():
        meeting = assembly.convene(clerk, village_id, "第四季度村民代表会议", "村委会议室", NOW,
                                   [road], now=NOW - dt.timedelta(days=3))
        assembly.open_meeting(clerk, meeting.id, now=NOW)
        roster = list(db.session.execute(select(MeetingMember.person_id).where(
            MeetingMember.meeting_id == meeting.id).order_by(MeetingMember.person_id)).scalars())
        for member in roster[:present]:
            assembly.check_in(clerk, meeting.id, member, now=NOW)
        if mode is not None:
            assembly.open_poll(clerk, meeting.id, road, mode, now=NOW)
        return Opened(meeting.number, meeting.checkin_code)


def test_the_clerk_convenes_and_too_short_notice_is_refused(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    _, road, _ = ids(demo)
    before = records(demo)
    soon = (NOW + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    refused = client.post("/v/sunshine/meetings", data={
        "csrf_token": token(client, "/v/sunshine/meetings"), "title": "会议", "place": "会议室",
        "starts_at": soon.strftime("%Y-%m-%dT%H:%M"), "matters": [str(road)]})
    assert refused.status_code == 409 and "assembly.notice" in refused.get_data(as_text=True)
    assert records(demo) == before
    later = soon + dt.timedelta(days=5)
    done = client.post("/v/sunshine/meetings", data={
        "csrf_token": token(client, "/v/sunshine/meetings"), "title": "第四季度会议",
        "place": "会议室", "starts_at": later.strftime("%Y-%m-%dT%H:%M"), "matters": [str(road)]})
    assert done.status_code == 302 and records(demo) == before + 1
    assert "第四季度会议" in client.get(done.headers["Location"]).get_data(as_text=True)


def test_a_member_votes_from_the_room_and_gets_a_receipt(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, mode=VoteMode.NAMED)
    rep = as_user("rep01")
    room = f"/v/sunshine/meetings/{meeting.number}"
    page = rep.get(room).get_data(as_text=True)
    assert "vote-yes" in page
    voted = rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "yes"})
    text = voted.get_data(as_text=True)
    code = re.search(r'class="receipt-code">([A-Za-z0-9_-]+)<', text)
    assert voted.status_code == 200 and code
    again = rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "no"})
    assert again.status_code == 409 and "assembly.one_ballot" in again.get_data(as_text=True)
    public = demo.test_client().get(f"/p/sunshine/receipt?ballot={code.group(1)}")
    assert "已证明" in public.get_data(as_text=True)
    proof = demo.test_client().get(f"/p/sunshine/receipt/{code.group(1)}.receipt")
    assert proof.status_code == 200 and proof.data.startswith(b"sunvote-receipt/v1")


def test_the_hall_feed_shows_counts_and_never_choices_while_open(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, mode=VoteMode.NAMED)
    rep = as_user("rep01")
    room = f"/v/sunshine/meetings/{meeting.number}"
    rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "no"})
    clerk = as_user("clerk")
    feed = clerk.get(f"{room}/hall.json").get_json()
    assert feed["present"] == 23 and feed["needed"] == 16 and feed["quorum_met"]
    (poll,) = feed["polls"]
    assert poll["received"] == 1 and "no" not in poll and "yes" not in poll
    hall = clerk.get(f"{room}/hall").get_data(as_text=True)
    assert "<svg" in hall and "hall.js" in hall
    clerk.post(f"{room}/closepoll-1", data={"csrf_token": token(clerk, room)})
    (closed,) = clerk.get(f"{room}/hall.json").get_json()["polls"]
    assert closed["no"] == 1 and closed["verdict"] == "rejected"


def test_a_poll_without_quorum_is_refused_on_the_page(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=15)
    _, road, _ = ids(demo)
    clerk = as_user("clerk")
    room = f"/v/sunshine/meetings/{meeting.number}"
    before = records(demo)
    response = clerk.post(f"{room}/poll-{road}", data={"csrf_token": token(clerk, room),
                                                       "mode": "named"})
    assert response.status_code == 409 and "assembly.quorum" in response.get_data(as_text=True)
    assert records(demo) == before


@pytest.mark.parametrize("username", ["rep01", "supervisor"])
def test_only_those_who_run_the_meeting_open_polls(as_user, demo: Flask, username: str) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo)
    _, road, _ = ids(demo)
    client = as_user(username)
    room = f"/v/sunshine/meetings/{meeting.number}"
    response = client.post(f"{room}/poll-{road}", data={"csrf_token": token(client, room),
                                                        "mode": "named"})
    assert response.status_code == 403


def test_self_check_in_by_the_hall_qr(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=0)
    rep = as_user("rep02")
    url = f"/v/sunshine/meetings/{meeting.number}/checkin/{meeting.checkin_code}"
    assert rep.get(url).status_code == 200
    assert rep.post(url, data={"csrf_token": token(rep, url)}).status_code == 302
    assert rep.get(f"/v/sunshine/meetings/{meeting.number}/checkin/wrong").status_code == 404
    feed = as_user("clerk").get(f"/v/sunshine/meetings/{meeting.number}/hall.json").get_json()
    assert feed["present"] == 1 and feed["hall"] == 1


def test_an_unknown_receipt_code_is_said_plainly(demo: Flask) -> None:
    page = demo.test_client().get("/p/sunshine/receipt?ballot=" + "A" * 22).get_data(
        as_text=True)  # well formed, but no such ballot
    assert "没有这个回执码" in page
