"""The reads of the assembly's pages: the meetings and the matters that may go on an agenda, the
room's state and change stamp, and what the room shows of ballots and paper batches. A room's
statements do not grow with its roster or its polls (issue 16: tests/web/test_room_statements.py).
The use cases are in services/assembly.py."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from sunvote.domain.assembly import Channel, PollState, VoteMode, quorum_needed
from sunvote.domain.procedure import MatterState
from sunvote.extensions import db
from sunvote.models import (
    Attendance,
    Ballot,
    Matter,
    Meeting,
    MeetingItem,
    MeetingMember,
    PaperBatch,
    Participation,
    Person,
    Poll,
    Recusal,
    Village,
)
from sunvote.models.ledger import LedgerHead
from sunvote.services.settings import township_settings


def meetings(village: Village) -> list[Meeting]:
    """The village's meetings, newest first."""
    return list(db.session.execute(select(Meeting).where(Meeting.village_id == village.id)
                                   .order_by(Meeting.number.desc())).scalars())


def filed_matters(village: Village) -> list[Matter]:
    """The village's matters filed and waiting for the vote (what an agenda may hold)."""
    return list(db.session.execute(select(Matter).where(
        Matter.village_id == village.id, Matter.state == MatterState.FILED.value)
        .order_by(Matter.number)).scalars())


def load_roster(meeting: Meeting) -> None:
    """Load the meeting's roster with its people and its agenda with its matters (the room and
    the hall name every member and every matter)."""
    db.session.execute(select(Meeting).where(Meeting.id == meeting.id).options(
        selectinload(Meeting.members).joinedload(MeetingMember.person),
        selectinload(Meeting.items).joinedload(MeetingItem.matter))).scalar_one()


def room_state(meeting: Meeting) -> dict[str, Any]:
    """What the room and the hall screen show: roster and attendance, quorum, the polls with
    ballots received (counts only while open) and results once closed."""
    load_roster(meeting)
    quorum = township_settings(meeting.village.township_id)["quorum"]
    assert isinstance(quorum, Fraction)
    attendance = {a.person_id: a for a in db.session.execute(select(Attendance).where(
        Attendance.meeting_id == meeting.id)).scalars()}
    members = len(meeting.members)
    # Who took part in and who stood aside from each poll: one statement each for all the
    # meeting's polls (issue 16: the room's statements do not grow with its polls).
    polls_here = select(Poll.id).where(Poll.meeting_id == meeting.id)
    taken: dict[int, list[tuple[int, str]]] = {}
    for poll_id, person, channel in db.session.execute(select(
            Participation.poll_id, Participation.person_id, Participation.channel)
            .where(Participation.poll_id.in_(polls_here))).all():
        taken.setdefault(poll_id, []).append((person, channel))
    recused: dict[int, set[int]] = {}
    for poll_id, person in db.session.execute(select(Recusal.poll_id, Recusal.person_id)
                                              .where(Recusal.poll_id.in_(polls_here))).all():
        recused.setdefault(poll_id, set()).add(person)
    polls: list[dict[str, Any]] = []
    for poll in meeting.polls:
        received = [person for person, _channel in taken.get(poll.id, [])]
        polls.append({"poll": poll, "received": len(received),
                      "cloud": sum(1 for _p, channel in taken.get(poll.id, [])
                                   if channel == "cloud"),
                      "voted": set(received), "recused": recused.get(poll.id, set())})
    return {"members": members, "present": len(attendance), "attendance": attendance,
            "needed": quorum_needed(members, quorum), "quorum": str(quorum),
            "polls": polls, "open_poll": next((p for p in polls
                                               if p["poll"].state == PollState.OPEN), None)}


def room_stamp(meeting: Meeting) -> str:
    """What changes whenever the room page would show something new, in one SQL statement:
    the village's ledger size (every use case that changes attendance, ballots, polls or the
    meeting appends to it), with the counts of what changes without a ledger record (paper
    ballots entered, withdrawn) or in a village without a ledger. static/js/room.js asks for it
    every few seconds and fetches the page again only when it changes."""
    polls = select(Poll.id).where(Poll.meeting_id == meeting.id)
    batches = PaperBatch.poll_id.in_(polls)
    row = db.session.execute(select(
        select(Meeting.state).where(Meeting.id == meeting.id).scalar_subquery(),
        select(LedgerHead.size).where(LedgerHead.village_id == meeting.village_id)
        .scalar_subquery(),
        select(func.count()).select_from(Attendance)
        .where(Attendance.meeting_id == meeting.id).scalar_subquery(),
        select(func.count()).select_from(Poll).where(Poll.meeting_id == meeting.id)
        .scalar_subquery(),
        select(func.count()).select_from(Participation)
        .where(Participation.poll_id.in_(polls)).scalar_subquery(),
        select(func.count()).select_from(Recusal)
        .where(Recusal.poll_id.in_(polls)).scalar_subquery(),
        select(func.count(PaperBatch.id)).where(batches).scalar_subquery(),
        select(func.max(PaperBatch.id)).where(batches).scalar_subquery(),
        select(func.count(PaperBatch.confirmed_by_id)).where(batches).scalar_subquery(),
    )).one()
    return ".".join("-" if value is None else str(value) for value in row)


def ballots_of(person_id: int, meeting: Meeting) -> dict[int, Ballot]:
    """The person's named ballots in the meeting's polls, by poll id."""
    return {b.poll_id: b for b in db.session.execute(select(Ballot).where(
        Ballot.voter_id == person_id, Ballot.poll_id.in_([p.id for p in meeting.polls]))).scalars()}


def paper_batches(meeting: Meeting) -> list[PaperBatch]:
    """The paper ballots entered in the meeting's polls, in entry order."""
    return list(db.session.execute(select(PaperBatch).where(
        PaperBatch.poll_id.in_([p.id for p in meeting.polls])).order_by(PaperBatch.id)).scalars())


def named_ballots(meeting: Meeting) -> dict[int, list[Ballot]]:
    """The ballots of the meeting's closed named polls, with their voters, by poll id."""
    named: dict[int, list[Ballot]] = {}
    for ballot in db.session.execute(select(Ballot).join(Poll).where(
            Poll.meeting_id == meeting.id, Poll.mode == VoteMode.NAMED,
            Poll.state == PollState.CLOSED).order_by(Ballot.id)
            .options(joinedload(Ballot.voter))).scalars():
        named.setdefault(ballot.poll_id, []).append(ballot)
    return named


def device_slips(batches: list[PaperBatch]) -> dict[int | None, str]:
    """Who each hall-device slip is for, by paper batch id (from the participation row: a
    secret ballot's row names nobody)."""
    return {name_of[0]: name_of[1] for name_of in db.session.execute(
        select(Participation.paper_batch_id, Person.name)
        .join(Person, Person.id == Participation.person_id)
        .where(Participation.paper_batch_id.in_([b.id for b in batches]),
               Participation.channel == Channel.DEVICE)).all()}
