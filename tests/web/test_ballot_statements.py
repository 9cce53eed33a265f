"""Issue 16, item 3: a member's ballot and the clerk's check-in in the meeting room, and a
phone's cloud ballot, run the same SQL statements however many members the meeting has or are
present (no query per member), and none of them reads the roster's people but a page that shows
them (benchmarks/http_bench.py measures them under load; docs/performance.md)."""

from __future__ import annotations

import os

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from sunvote.domain.assembly import VoteMode
from sunvote.extensions import db
from sunvote.models import Ballot, Meeting, MeetingMember, Person, Poll
from sunvote.services import assembly, polls
from tests.conftest import csrf_token as token
from tests.services.test_assembly import matter, members, pid, village
from tests.services.test_cloud import AT, T0, Phone, enrol, join, origin
from tests.web.test_assembly_pages import NOW, ids, meeting_today


def statements(app: Flask, client: FlaskClient, path: str, data: dict[str, str]
               ) -> list[str]:
    """The SQL statements one POST runs (the page it may answer with included)."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = client.post(path, data=data)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert answer.status_code in (200, 302, 303), (path, answer.status_code)
    if os.environ.get("SUNVOTE_PRINT_STATEMENTS"):
        print(f"\n{path}: {len(seen)} statements")
        for sql in seen:
            print("  ", " ".join(sql.split())[:160])
    return seen


def roster_reads(seen: list[str]) -> list[str]:
    """The statements that read the meeting's roster with its people."""
    return [sql for sql in seen if "FROM meeting_member" in sql and "JOIN person" in sql]


def test_a_ballot_and_a_check_in_cost_the_same_statements_at_23_and_at_83_members(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    opened = meeting_today(demo, present=20, mode=VoteMode.NAMED)
    room = f"/v/sunshine/meetings/{opened.number}"
    village_id, _road, clerk_id = ids(demo)
    with demo.app_context():
        meeting = db.session.execute(select(Meeting).where(
            Meeting.village_id == village_id, Meeting.number == opened.number)).scalar_one()
        roster = [mm.person_id for mm in meeting.members]
        meeting_id = meeting.id
    clerk = as_user("clerk")
    first, second = as_user("rep01"), as_user("rep02")
    small_ballot = statements(demo, first, f"{room}/vote-1",
                              {"csrf_token": token(first, room), "choice": "yes"})
    small_checkin = statements(demo, clerk, f"{room}/checkin-{roster[20]}",
                               {"csrf_token": token(clerk, room)})

    with demo.app_context():  # sixty more members on the frozen roster, all present
        extra = [Person(village_id=village_id, name=f"代表{i:02d}") for i in range(60)]
        db.session.add_all(extra)
        db.session.flush()
        db.session.add_all(MeetingMember(meeting_id=meeting_id, person_id=p.id,
                                         roles="representative") for p in extra)
        db.session.commit()
        for p in extra:
            assembly.check_in(clerk_id, meeting_id, p.id, now=NOW)
    big_ballot = statements(demo, second, f"{room}/vote-1",
                            {"csrf_token": token(second, room), "choice": "no"})
    big_checkin = statements(demo, clerk, f"{room}/checkin-{roster[21]}",
                             {"csrf_token": token(clerk, room)})

    assert len(big_ballot) == len(small_ballot)
    assert len(big_checkin) == len(small_checkin)
    # The roster with its people is read by a page that shows it (the room page a ballot may
    # answer with), never by the use case or to find the meeting: it was read four times per
    # ballot and three times per check-in.
    assert len(roster_reads(big_ballot)) <= 1
    assert roster_reads(big_checkin) == []
    with demo.app_context():  # both ballots were recorded
        poll = db.session.execute(select(Poll).where(Poll.meeting_id == meeting_id)).scalar_one()
        assert len(db.session.execute(select(Ballot).where(
            Ballot.poll_id == poll.id)).scalars().all()) == 2


def test_a_cloud_ballot_costs_the_same_statements_at_23_and_at_83_members(
        demo: Flask) -> None:
    with demo.app_context():
        clerk = pid("张敏")
        meeting = assembly.convene(clerk, village().id, "云票决会议", "村委会议室", AT,
                                   [matter("001").id], now=T0)
        assembly.open_meeting(clerk, meeting.id, now=AT)
        roster = members(meeting.id)
        phones = {m: Phone() for m in roster[:2]}
        for member, phone in phones.items():
            enrol(member, phone)
        sessions = {m: join(meeting, m, phones[m]).session for m in phones}
        for member in roster[2:]:
            assembly.check_in(clerk, meeting.id, member, now=AT)
        poll = polls.open_poll(clerk, meeting.id, matter("001").id, VoteMode.NAMED, now=AT)
        number, poll_number, log, meeting_id = meeting.number, poll.number, origin(), meeting.id

    def ballot(member: int) -> list[str]:
        client = demo.test_client()
        csrf = token(client)
        client.set_cookie("sunvote_cloud", sessions[member], domain="sunvote.test")
        code = f"{member:022d}"
        proof = phones[member].sign({"v": 1, "t": "ballot", "log": log, "meeting": number,
                                     "poll": poll_number, "member": member, "choice": "yes",
                                     "ballot": code})
        with demo.app_context():
            engine = db.engine
        seen: list[str] = []

        def listener(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", listener)
        try:
            answer = client.post("/c/vote", json={
                "poll": poll_number, "choice": "yes", "ballot": code, "key": proof.key,
                "statement": proof.statement, "sig": proof.sig}, headers={"X-CSRFToken": csrf})
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        if os.environ.get("SUNVOTE_PRINT_STATEMENTS"):
            print(f"\n/c/vote: {len(seen)} statements")
            for sql in seen:
                print("  ", " ".join(sql.split())[:160])
        return seen

    small = ballot(roster[0])
    with demo.app_context():  # sixty more members on the frozen roster, all present
        extra = [Person(village_id=village().id, name=f"代表{i:02d}") for i in range(60)]
        db.session.add_all(extra)
        db.session.flush()
        db.session.add_all(MeetingMember(meeting_id=meeting_id, person_id=p.id,
                                         roles="representative") for p in extra)
        db.session.commit()
        for p in extra:
            assembly.check_in(clerk, meeting_id, p.id, now=AT)
    big = ballot(roster[1])
    assert len(big) == len(small)
    assert roster_reads(big) == []
