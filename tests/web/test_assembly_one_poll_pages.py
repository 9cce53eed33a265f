"""The meeting room and one open poll per matter (issue 13 item 6): "open poll" is not offered
for a matter being voted on at another meeting, and a poll left open by the old version on a
matter decided elsewhere is voided through the page, so its meeting can be closed."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.assembly import VoteMode
from sunvote.extensions import db
from sunvote.models import Meeting, MeetingMember, Poll
from sunvote.services import ballots
from tests.conftest import csrf_token as token
from tests.services.test_assembly_one_poll import legacy_second_poll
from tests.web.test_assembly_pages import NOW, ids, meeting_today, records


def roster(app: Flask, number: int) -> list[int]:
    with app.app_context():
        meeting = db.session.execute(select(Meeting).where(Meeting.number == number)).scalar_one()
        return list(db.session.execute(select(MeetingMember.person_id).where(
            MeetingMember.meeting_id == meeting.id).order_by(MeetingMember.person_id)).scalars())


def test_the_room_does_not_offer_a_poll_on_a_matter_open_at_another_meeting(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    _, road, _ = ids(demo)
    first = meeting_today(demo, mode=VoteMode.NAMED)
    second = meeting_today(demo)
    clerk = as_user("clerk")
    page = clerk.get(f"/v/sunshine/meetings/{second.number}").get_data(as_text=True)
    assert f"/meetings/{second.number}/poll-{road}" not in page
    assert "assembly.one_poll_per_matter" in page
    assert f"第{first.number}次会议" in page
    # Forcing it anyway is refused with the rule and writes nothing.
    before = records(demo)
    room = f"/v/sunshine/meetings/{second.number}"
    refused = clerk.post(f"{room}/poll-{road}", data={"csrf_token": token(clerk, room),
                                                      "mode": "named"})
    assert refused.status_code == 409
    assert "assembly.one_poll_per_matter" in refused.get_data(as_text=True)
    assert records(demo) == before
    # The meeting where it is open offers nothing to void: its poll is closed and counted.
    page = clerk.get(f"/v/sunshine/meetings/{first.number}").get_data(as_text=True)
    assert "closepoll-1" in page and "voidpoll-1" not in page


def test_a_poll_left_open_by_the_old_version_is_voided_in_the_room_and_the_meeting_closes(
        as_user, demo: Flask, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    first = meeting_today(demo, mode=VoteMode.NAMED)
    second = meeting_today(demo)
    members = roster(demo, first.number)
    with demo.app_context():
        second_id = db.session.execute(select(Meeting.id).where(
            Meeting.number == second.number)).scalar_one()
        legacy_second_poll(monkeypatch, second_id, members[3], at=NOW)
        first_poll = db.session.execute(select(Poll).join(Meeting).where(
            Meeting.number == first.number)).scalar_one()
        for member in members:
            ballots.cast_ballot(member, first_poll.id, member, "yes", now=NOW)
    clerk = as_user("clerk")
    room1, room2 = (f"/v/sunshine/meetings/{n}" for n in (first.number, second.number))
    # The suspended poll: no close, no ballots; void is offered.
    page = clerk.get(room2).get_data(as_text=True)
    assert "voidpoll-1" in page and "closepoll-1" not in page and "vote-1" not in page
    # Its meeting cannot close yet.
    assert clerk.post(f"{room2}/close", data={"csrf_token": token(clerk, room2)}
                      ).status_code == 409
    # The first poll is counted through the page.
    assert clerk.post(f"{room1}/closepoll-1", data={"csrf_token": token(clerk, room1)}
                      ).status_code == 302
    # A void without a reason is refused; with one, the poll is void and the meeting closes.
    assert clerk.post(f"{room2}/voidpoll-1", data={"void-csrf_token": token(clerk, room2),
                                                   "void-reason": ""}).status_code == 400
    voided = clerk.post(f"{room2}/voidpoll-1", data={"void-csrf_token": token(clerk, room2),
                                                     "void-reason": "该事项已在另一次会议表决通过"})
    assert voided.status_code == 302
    page = clerk.get(room2).get_data(as_text=True)
    assert "已作废，选票不计" in page and "该事项已在另一次会议表决通过" in page
    for room in (room2, room1):
        assert clerk.post(f"{room}/close", data={"csrf_token": token(clerk, room)}
                          ).status_code == 302
    with demo.app_context():
        states = set(db.session.execute(select(Meeting.state).where(
            Meeting.number.in_([first.number, second.number]))).scalars())
    assert states == {"closed"}
    hall = clerk.get(f"{room2}/hall.json").get_json()
    assert hall["polls"][0]["state"] == "void"
