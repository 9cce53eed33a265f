"""The room page updates by itself: its change stamp (stamp.json) changes with attendance,
ballots, recusals, paper ballots and polls, is served to those who may see the room only, and
costs the same few SQL statements however big the meeting; the page marks its live regions and
loads static/js/room.js."""

from __future__ import annotations

import io

from flask import Flask
from sqlalchemy import event, select

from sunvote.domain.assembly import VoteMode
from sunvote.extensions import db
from sunvote.models import Meeting, MeetingMember, PaperBatch, Poll
from sunvote.services import assembly, ballots
from tests.conftest import csrf_token as token
from tests.web.test_assembly_pages import NOW, ids, meeting_today


def stamp(client, room: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"{room}/stamp.json")
    assert response.status_code == 200, response.status_code
    assert response.headers["Cache-Control"] == "no-store"
    return str(response.get_json()["stamp"])


def test_the_stamp_changes_with_attendance_ballots_and_paper(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=16, mode=VoteMode.NAMED)
    room = f"/v/sunshine/meetings/{meeting.number}"
    clerk = as_user("clerk")
    first = stamp(clerk, room)
    assert stamp(clerk, room) == first  # nothing happened, nothing changed
    page = clerk.get(room).get_data(as_text=True)
    assert f'data-stamp="{first}"' in page and "js/room." in page
    for region in ("head", "quorum", "polls", "paper", "attendance"):
        assert f'data-live="{region}"' in page
    assert 'aria-live="polite"' in page and f'data-stamp-url="{room}/stamp.json"' in page

    # a member checks in (the clerk's word here): new stamp
    with demo.app_context():
        roster = list(db.session.execute(select(MeetingMember.person_id).join(
            Meeting, Meeting.id == MeetingMember.meeting_id).where(
            Meeting.number == meeting.number, Meeting.village_id == ids(demo)[0]).order_by(
            MeetingMember.person_id)).scalars())
    absent = roster[16]
    clerk.post(f"{room}/checkin-{absent}", data={"csrf_token": token(clerk, room)})
    after_checkin = stamp(clerk, room)
    assert after_checkin != first
    # a ballot: new stamp
    rep = as_user("rep01")
    assert rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room),
                                           "choice": "yes"}).status_code == 302
    after_vote = stamp(clerk, room)
    assert after_vote != after_checkin
    # a paper ballot entered (no ledger record until confirmed) and withdrawn: new stamps
    voter = roster[2]
    entered = clerk.post(f"{room}/paper-1", data={
        "csrf_token": token(clerk, room), f"paper-{voter}": "no",
        "sheet": (io.BytesIO(b"\x89PNG\r\n\x1a\nsheet" * 10), "sheet.png")},
        content_type="multipart/form-data")
    assert entered.status_code == 302
    after_paper = stamp(clerk, room)
    assert after_paper != after_vote
    with demo.app_context():
        batch = db.session.execute(select(PaperBatch.id).order_by(
            PaperBatch.id.desc())).scalars().first()
    clerk.post(f"{room}/discard-{batch}", data={"csrf_token": token(clerk, room)})
    # (the page is as it was before the paper ballot: so is the stamp, which room.js compares
    # with the last one it saw)
    assert stamp(clerk, room) == after_vote


def test_the_stamp_is_for_those_who_may_see_the_room(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=3)
    room = f"/v/sunshine/meetings/{meeting.number}"
    for username in ("clerk", "rep01", "supervisor"):
        assert as_user(username).get(f"{room}/stamp.json").status_code == 200
    assert demo.test_client().get(f"{room}/stamp.json").status_code in (302, 401)
    assert as_user("clerk").get("/v/sunshine/meetings/999999/stamp.json").status_code == 404


def test_the_stamp_takes_the_same_statements_however_big_the_meeting(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=16, mode=VoteMode.NAMED)
    room = f"/v/sunshine/meetings/{meeting.number}"
    clerk = as_user("clerk")
    with demo.app_context():
        engine = db.engine

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            stamp(clerk, room)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    small = statements()
    village_id, _road, clerk_id = ids(demo)
    with demo.app_context():
        m = db.session.execute(select(Meeting).where(
            Meeting.village_id == village_id, Meeting.number == meeting.number)).scalar_one()
        poll = db.session.execute(select(Poll).where(Poll.meeting_id == m.id)).scalar_one()
        members = [mm.person_id for mm in m.members]
        for member in members[16:]:
            assembly.check_in(clerk_id, m.id, member, now=NOW)
        for member in members[:10]:
            ballots.cast_ballot(member, poll.id, member, "yes", now=NOW)
    assert statements() == small


def test_the_hall_shows_the_votes_needed_and_who_has_not_voted_never_choices(  # type: ignore[no-untyped-def]
        as_user, demo: Flask) -> None:
    meeting = meeting_today(demo, present=18, mode=VoteMode.SECRET)
    room = f"/v/sunshine/meetings/{meeting.number}"
    rep = as_user("rep01")
    assert rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room),
                                           "choice": "no"}).status_code == 302
    clerk = as_user("clerk")
    feed = clerk.get(f"{room}/hall.json").get_json()
    (poll,) = feed["polls"]
    # 18 present at the opening, more than half: 10 (domain.assembly.pass_threshold)
    assert (poll["needed"], poll["received"], poll["not_voted"]) == (10, 1, 17)
    assert not {"yes", "no", "abstain"} & set(poll)
    assert feed["current"]["number"] == 1 and feed["last_closed"] is None
    assert [item["poll"]["state"] for item in feed["agenda"]] == ["open"]
    hall = clerk.get(f"{room}/hall").get_data(as_text=True)
    assert 'class="hall-poll open current"' in hall and 'aria-current="step"' in hall
    assert 'id="not-voted">17<' in hall and "hall-tile yes" not in hall
    clerk.post(f"{room}/closepoll-1", data={"csrf_token": token(clerk, room)})
    feed = clerk.get(f"{room}/hall.json").get_json()
    assert feed["current"] is None and feed["last_closed"]["no"] == 1
    assert feed["last_closed"]["not_voted"] == 17
    hall = clerk.get(f"{room}/hall?lang=en").get_data(as_text=True)
    assert "hall-verdict rejected" in hall and "Rejected" in hall


def test_a_page_answering_a_form_is_not_swapped_and_background_fetches_keep_messages(  # type: ignore[no-untyped-def]
        as_user, demo: Flask) -> None:
    meeting = meeting_today(demo, present=16, mode=VoteMode.NAMED)
    room = f"/v/sunshine/meetings/{meeting.number}"
    rep = as_user("rep01")
    assert "data-answer" not in rep.get(room).get_data(as_text=True)
    # a ballot redirects; the page it leads to shows the receipt outside the live regions, so
    # it is swapped as any other
    voted = rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "yes"})
    assert voted.status_code == 302
    receipt = rep.get(room).get_data(as_text=True)
    assert 'id="receipt"' in receipt and "data-answer" not in receipt
    refused = rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "no"})
    assert refused.status_code == 409 and "data-answer" in refused.get_data(as_text=True)
    # the clerk acts (a message waits for the next page); a background fetch leaves it there
    clerk = as_user("clerk")
    done = clerk.post(f"{room}/closepoll-1", data={"csrf_token": token(clerk, room)})
    assert done.status_code == 302
    assert clerk.get(room, headers={"X-SunVote-Live": "1"}).status_code == 200
    assert "表决结束：同意" in clerk.get(room).get_data(as_text=True)
