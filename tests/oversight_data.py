"""Generated districts for the oversight tests and benchmark: townships of villages, each with a
roster, matters at every state with their step records, quarterly meetings with attendance
(some by cloud), polls with ballots, and a few villages that break a warning rule.

Villages, townships and their logs are made through the services (keys, log.init); the bulk
rows (people, terms, matters, meetings, ballots) are inserted directly, which is what a
dashboard reads — this is data for reading, not a history the verifier would replay.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
from dataclasses import dataclass

from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from sunvote.domain.procedure import MatterState, Step
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import (
    Account,
    Attendance,
    Ballot,
    EquivocationEvidence,
    LedgerVerification,
    Matter,
    Meeting,
    MeetingMember,
    MeetingRequest,
    Person,
    Poll,
    RoleAssignment,
    StepRecord,
    Township,
    Village,
)
from sunvote.services.villages import create_township, create_village

#: The states generated matters cycle through, with the step of their newest record.
STATES: tuple[tuple[MatterState, Step], ...] = (
    (MatterState.SUGGESTED, Step.SUGGEST), (MatterState.PROPOSED, Step.PROPOSE),
    (MatterState.DISCUSSED, Step.DISCUSS), (MatterState.FILED, Step.REVIEW),
    (MatterState.PASSED, Step.VOTE), (MatterState.REJECTED, Step.VOTE),
    (MatterState.IMPLEMENTING, Step.SUPERVISE), (MatterState.COMPLETED, Step.SUPERVISE),
    (MatterState.WITHDRAWN, Step.PROPOSE), (MatterState.DROPPED, Step.DISCUSS),
)
TERM_START = dt.date(2021, 3, 1)
#: Every voted matter's public notice lasts a week (none ends within a day of generation).
NOTICE = dt.timedelta(days=7)


@dataclass(frozen=True)
class District:
    """What was generated: township ids and village ids in creation order."""

    townships: list[int]
    villages: list[int]


def add_district_admin() -> None:
    """The district administrator 郑平, who logs in as "district" (password sunvote2026)."""
    admin = Person(name="郑平")
    db.session.add(admin)
    db.session.flush()
    db.session.add(Account(person_id=admin.id, username="district",
                           password_hash=generate_password_hash("sunvote2026")))
    db.session.add(RoleAssignment(person_id=admin.id, role=Role.DISTRICT_ADMIN.value,
                                  starts_on=dt.date(2021, 1, 1)))
    db.session.commit()


def add_district(townships: int, villages: int, matters: int, now: dt.datetime, *,
                 meetings: int = 4, progress: bool = False) -> None:
    """The district administrator and ``townships`` townships (t000, t001, …) of ``villages``
    villages each (the benchmarks' district); ``progress`` reports each township on stderr."""
    add_district_admin()
    for t in range(townships):
        town = add_township(f"t{t:03d}", f"第{t}镇")
        add_villages(town, villages, matters, now, meetings=meetings)
        if progress:
            print(f"  township {t + 1}/{townships} generated", file=sys.stderr, flush=True)


def add_township(code: str, name: str) -> Township:
    township = create_township(code, name)
    db.session.commit()
    return township


def add_villages(township: Township, count: int, matters: int, now: dt.datetime, *,
                 start: int = 0, meetings: int = 4, troubled_every: int = 5,
                 people: int = 21) -> list[int]:
    """``count`` villages in ``township``, numbered from ``start``, each with ``matters``
    matters and ``meetings`` meetings (one a quarter, the newest this quarter), and ``people``
    people: the committee director, three members, representatives, and the supervisory
    committee's chair (the last), so an assembly of ``people - 1``. Every
    ``troubled_every``-th village breaks rules: a failed verification, equivocation evidence,
    a poll below quorum, a long wait, open meeting requests and too few women."""
    ids = []
    for i in range(start, start + count):
        village = create_village(township.id, f"{township.code}-v{i:04d}", f"第{i}村", now=now)
        db.session.commit()
        _fill(village, matters, meetings, now, troubled=(i % troubled_every == 0),
              size=people)
        db.session.commit()
        ids.append(village.id)
    return ids


def _fill(village: Village, matter_count: int, meeting_count: int, now: dt.datetime,
          troubled: bool, size: int = 21) -> None:
    chair = size - 1
    people = [Person(village_id=village.id, name=f"{village.code}-{n}",
                     female=(n % 2 == 0) and not (troubled and n > 2),
                     accounting_skill=(n == chair)) for n in range(size)]
    db.session.add_all(people)
    db.session.flush()
    terms = []
    for n, person in enumerate(people):
        role = (Role.COMMITTEE_DIRECTOR if n == 0 else Role.COMMITTEE_MEMBER if n < 4
                else Role.SUPERVISOR_CHAIR if n == chair else Role.REPRESENTATIVE)
        terms.append({"person_id": person.id, "role": role.value, "village_id": village.id,
                      "starts_on": TERM_START, "created_at": now,
                      "households_represented": 10 if role is Role.REPRESENTATIVE else None})
    db.session.execute(insert(RoleAssignment), terms)
    clerk = people[0].id
    members = people[:chair]

    matters = []
    for n in range(matter_count):
        state, _ = STATES[n % len(STATES)]
        age = dt.timedelta(days=(60 if troubled and n == 2 else n % 20),
                           hours=n % 24)
        matter = Matter(village_id=village.id, number=f"2026-{n + 1:04d}",
                        title=f"事项{n + 1}", category=n % 10 + 1, state=state.value,
                        summary="方案", amount_fen=100_000 * (n + 1),
                        created_at=now - age, updated_at=now - age)
        if state in (MatterState.PASSED, MatterState.REJECTED):  # voted: notice from then
            matter.notice_starts_at, matter.notice_ends_at = now - age, now - age + NOTICE
        elif state in (MatterState.IMPLEMENTING, MatterState.COMPLETED):  # notice over first
            matter.notice_starts_at = now - age - NOTICE - dt.timedelta(days=1)
            matter.notice_ends_at = now - age - dt.timedelta(days=1)
        matters.append(matter)
    db.session.add_all(matters)
    db.session.flush()
    steps = []
    for n, matter in enumerate(matters):
        state, last_step = STATES[n % len(STATES)]
        for seq, step in enumerate(list(Step)[:last_step.number], start=1):
            steps.append({"matter_id": matter.id, "seq": seq, "step": step.value,
                          "action": step.value, "from_state": "new", "to_state": state.value,
                          "actor_id": clerk, "actor_role": Role.CLERK.value,
                          "acted_at": matter.updated_at, "data": {"title": matter.title}})
    if steps:
        db.session.execute(insert(StepRecord), steps)

    voted = [m for n, m in enumerate(matters)
             if STATES[n % len(STATES)][0] in (MatterState.PASSED, MatterState.REJECTED,
                                               MatterState.IMPLEMENTING,
                                               MatterState.COMPLETED)]
    for k in range(meeting_count):
        held_at = now - dt.timedelta(days=91 * k + 1)
        meeting = Meeting(village_id=village.id, number=k + 1, title=f"第{k + 1}次会议",
                          place="会议室", starts_at=held_at, notice_days=3, state="closed",
                          checkin_code=secrets.token_urlsafe(8), convened_at=held_at,
                          convened_by_id=clerk, opened_at=held_at, closed_at=held_at)
        db.session.add(meeting)
        db.session.flush()
        db.session.execute(insert(MeetingMember), [
            {"meeting_id": meeting.id, "person_id": p.id, "roles": "representative"}
            for p in members])
        present = members[:18]
        db.session.execute(insert(Attendance), [
            {"meeting_id": meeting.id, "person_id": p.id, "recorded_by_id": clerk,
             "channel": "cloud" if j % 6 == 0 else "hall", "checked_in_at": held_at}
            for j, p in enumerate(present)])
        for number, matter in enumerate(voted[k::meeting_count], start=1):
            below = troubled and k == 0 and number == 1
            passed = matter.state != MatterState.REJECTED.value
            poll = Poll(meeting_id=meeting.id, number=number, matter_id=matter.id,
                        mode="named", state="closed", present=10 if below else 18,
                        members=20, quorum="2/3", rule="majority_of_present",
                        recusal_counts_present=True, opened_at=held_at, opened_by_id=clerk,
                        closed_at=held_at, yes=14 if passed else 5, no=2 if passed else 11,
                        abstain=2, recused=0, verdict="passed" if passed else "rejected")
            choices = ["yes"] * poll.yes + ["no"] * poll.no + ["abstain"] * poll.abstain
            poll.cloud = sum(1 for j in range(len(choices)) if j % 6 == 0)  # as below
            db.session.add(poll)
            db.session.flush()
            db.session.execute(insert(Ballot), [
                {"poll_id": poll.id, "code": secrets.token_hex(16), "choice": choice,
                 "channel": "cloud" if j % 6 == 0 else "hall", "voter_id": present[j].id,
                 "cast_at": held_at, "appended": True}
                for j, choice in enumerate(choices)])
    if troubled:
        db.session.add(LedgerVerification(
            village_id=village.id, size=3, root=b"\0" * 32, ok=False, exit_code=1,
            failures=["2 matter.step signature: bad"], cosigned_by=[], seconds=0.1,
            verified_at=now))
        db.session.add(EquivocationEvidence(
            origin=village.origin, reason="two roots for size 3", cosigned_checkpoint=b"",
            offered_checkpoint=b"", offered_proof="", detected_at=now))
        db.session.execute(insert(MeetingRequest), [
            {"village_id": village.id, "person_id": p.id, "reason": "请开会",
             "requested_at": now} for p in members[4:9]])
    else:
        db.session.add(LedgerVerification(
            village_id=village.id, size=3, root=b"\0" * 32, ok=True, exit_code=0, failures=[],
            cosigned_by=[], seconds=0.1, verified_at=now))


def village_ids() -> list[int]:
    return list(db.session.execute(select(Village.id).order_by(Village.id)).scalars())
