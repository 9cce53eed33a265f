"""Issue 16: the meeting room, the hall screen and its feed run the same number of SQL statements
however many members the meeting has, are present, or have voted (no query per member), and
however many polls it has held (no query per poll)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert, select

from sunvote.domain.assembly import VoteMode
from sunvote.extensions import db
from sunvote.models import (
    Matter,
    Meeting,
    MeetingItem,
    MeetingMember,
    Participation,
    Person,
    Poll,
    Recusal,
)
from sunvote.services import assembly, ballots
from tests.web.test_assembly_pages import NOW, ids, meeting_today

PAGES = ("", "/hall", "/hall.json")


def counter(app: Flask, client: FlaskClient, room: str) -> Callable[[], dict[str, int]]:
    with app.app_context():
        engine = db.engine

    def statements() -> dict[str, int]:
        counts = {}
        for page in PAGES:
            seen: list[str] = []

            def listener(*args: object, seen: list[str] = seen) -> None:
                seen.append(str(args[2]))

            event.listen(engine, "before_cursor_execute", listener)
            try:
                answer = client.get(room + page)
            finally:
                event.remove(engine, "before_cursor_execute", listener)
            assert answer.status_code == 200, (page, answer.status_code)
            counts[page or "room"] = len(seen)
        return counts

    return statements


def test_the_room_and_the_hall_cost_the_same_statements_at_23_and_83_members_and_31_polls(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    opened = meeting_today(demo, present=16, mode=VoteMode.NAMED)
    room = f"/v/sunshine/meetings/{opened.number}"
    clerk = as_user("clerk")
    statements = counter(demo, clerk, room)
    village_id, _road, clerk_id = ids(demo)
    with demo.app_context():  # ten of the present vote
        meeting = db.session.execute(select(Meeting).where(
            Meeting.village_id == village_id, Meeting.number == opened.number)).scalar_one()
        poll = db.session.execute(select(Poll).where(Poll.meeting_id == meeting.id)).scalar_one()
        present = [mm.person_id for mm in meeting.members][:16]
        for member in present[:10]:
            ballots.cast_ballot(member, poll.id, member, "yes", now=NOW)
        meeting_id, poll_id = meeting.id, poll.id
    small = statements()

    with demo.app_context():  # sixty more members on the frozen roster, all present (too late
        # for the open poll), and six more ballots
        extra = [Person(village_id=village_id, name=f"代表{i:02d}") for i in range(60)]
        db.session.add_all(extra)
        db.session.flush()
        db.session.add_all(MeetingMember(meeting_id=meeting_id, person_id=p.id,
                                         roles="representative") for p in extra)
        db.session.commit()
        ids_extra = [p.id for p in extra]
        for member in ids_extra:
            assembly.check_in(clerk_id, meeting_id, member, now=NOW)
        for member in present[10:16]:
            ballots.cast_ballot(member, poll_id, member, "no", now=NOW)
    assert statements() == small

    with demo.app_context():  # thirty polls held before on thirty more agenda matters, each
        # with every member's participation and two recusals
        members = [mm.person_id for mm in db.session.get_one(Meeting, meeting_id).members]
        open_poll = db.session.get_one(Poll, poll_id)
        matters = [Matter(village_id=village_id, number=f"2025-{n:03d}", title=f"事项{n}",
                          state="passed") for n in range(30)]
        db.session.add_all(matters)
        db.session.flush()
        db.session.execute(insert(MeetingItem), [
            {"meeting_id": meeting_id, "matter_id": m.id, "position": 2 + n}
            for n, m in enumerate(matters)])
        polls = [Poll(meeting_id=meeting_id, number=2 + n, matter_id=m.id, mode="named",
                      state="closed", present=len(members), members=len(members),
                      quorum=open_poll.quorum, rule=open_poll.rule,
                      recusal_counts_present=open_poll.recusal_counts_present,
                      opened_by_id=clerk_id, closed_at=NOW, yes=len(members) - 2, no=0,
                      abstain=0, recused=2, cloud=0, verdict="passed")
                 for n, m in enumerate(matters)]
        db.session.add_all(polls)
        db.session.flush()
        db.session.execute(insert(Participation), [
            {"poll_id": p.id, "person_id": member, "channel": "hall"}
            for p in polls for member in members[2:]])
        db.session.execute(insert(Recusal), [
            {"poll_id": p.id, "person_id": member, "reason": "利害关系"}
            for p in polls for member in members[:2]])
        db.session.commit()
    assert statements() == small
