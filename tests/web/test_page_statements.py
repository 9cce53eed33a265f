"""Issue 16, item 2: every page whose content grows with the data runs the same number of SQL
statements in the `sunvote demo` village with one unit of data added (`grow`) and with ten —
the meeting list, the register and its history, the supervision workspace, the staff and
public matter pages, the village dashboard, the staff home, the suggestion lists, the phones
page, the ledger page, the meeting room and the phone's meeting page (no query per row)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, insert, select

from sunvote.cloud.views import COOKIE as CLOUD_COOKIE
from sunvote.domain.assembly import VoteMode
from sunvote.domain.cloud import presence_code
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import (
    Account,
    Attachment,
    Attendance,
    Ballot,
    Blob,
    Household,
    ImplementationUpdate,
    Matter,
    Meeting,
    MeetingItem,
    MeetingMember,
    MeetingRequest,
    Objection,
    PaperBatch,
    Participation,
    Person,
    Poll,
    Rating,
    RoleAssignment,
    StepRecord,
    Suggestion,
    Township,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import assembly, cloud, polls
from sunvote.services.demo import DEMO_PIN, TERM_START
from tests.conftest import login
from tests.services.test_cloud import Phone
from tests.web.module_demo import demo_app_once

V = "/v/sunshine"
#: Matter 2026-001 is the demo's completed matter: every step, a poll, objections, updates,
#: ratings. 2026-003 is being implemented.
PAGES: dict[str, tuple[str, str]] = {
    "meetings": ("clerk", f"{V}/meetings"),
    "register": ("clerk", f"{V}/register"),
    "register history": ("clerk", f"{V}/register/history"),
    "supervise": ("supervisor", f"{V}/supervise"),
    "staff matter 001": ("clerk", f"{V}/m/2026-001"),
    "staff matter 003": ("clerk", f"{V}/m/2026-003"),
    "public matter 001": ("anon", "/p/sunshine/m/2026-001"),
    "dashboard": ("clerk", f"{V}/"),
    "staff home": ("district", "/home"),
    "staff suggestions": ("clerk", f"{V}/suggestions"),
    "phones": ("clerk", f"{V}/cloud"),
    "ledger": ("supervisor", f"{V}/ledger"),
    "public suggestions": ("anon", "/p/sunshine/suggestions"),
    "room": ("clerk", f"{V}/meetings/5"),
    "phone meeting": ("phone", "/c/meeting"),
    "phone meeting.json": ("phone", "/c/meeting.json"),
}
# The public board has its own count (test_public_board.py): its first page here would show
# only the added matters, and skip a look-up the demo's withdrawn matter needs.


@dataclass
class Counts:
    small: dict[str, int]
    large: dict[str, int]


def _pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def _matter(number: str) -> Matter:
    return db.session.execute(select(Matter).where(Matter.number == number)).scalar_one()


def today_meeting_with_a_phone(app: Flask) -> str:
    """Meeting 5 (convened for today) opened, everyone checked in but rep01, who joins from a
    phone enrolled now; a named poll opened on the road. Returns the phone's session cookie."""
    now = utcnow()
    with app.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        clerk, rep01 = _pid("张敏"), _pid("李秀英")
        meeting = db.session.execute(select(Meeting).where(
            Meeting.village_id == village.id, Meeting.number == 5)).scalar_one()
        assembly.open_meeting(clerk, meeting.id, now=now)
        members = [m.person_id for m in meeting.members if m.person_id != rep01]
        assembly.check_in_many(clerk, meeting.id, members, now=now)
        phone = Phone()
        row, token = cloud.issue_enrolment(clerk, village.id, rep01, now=now)
        proof = phone.sign({"v": 1, "t": "enrol", "log": str(village.origin), "member": rep01,
                            "key": phone.key, "challenge": row.challenge})
        cloud.attempt("enrol", "203.0.113.7", lambda seen: cloud.enrol_device(
            seen, token, proof, DEMO_PIN, now=now))
        _, token = cloud.issue_invitation(clerk, meeting.id, rep01, now=now)
        code = presence_code(bytes.fromhex(meeting.presence_secret or ""), now)
        proof = phone.sign({"v": 1, "t": "attend", "log": str(village.origin),
                            "meeting": meeting.number, "member": rep01, "code": code})
        session = cloud.attempt("join", "203.0.113.7", lambda seen: cloud.join(
            seen, token, proof, DEMO_PIN, code, now=now)).session
        polls.open_poll(clerk, meeting.id, _matter("2026-008").id, VoteMode.NAMED, now=now)
        return session


def grow(app: Flask, k: int, tag: str) -> None:
    """Add ``k`` units to the village, in bulk (the rows the pages read, not their ledger
    history). A unit is 28 villagers in their households, each a representative with a current
    and an earlier term (6 with a login), all on today's meeting's roster and present; 8
    matters in step 6 (4 under notice with three open objections each, 4 being implemented
    with two unconfirmed updates each); 2 closed meetings with the whole assembly on their
    roster and three polls each (one on matter 001 with every member's named ballot), a paper
    batch waiting; 3 closed polls at today's meeting; 6 suggestions, 3 attachments, 4 objections
    (each answered by a different person, as committees change), 4 confirmed updates and 28
    ratings for matter 001; 2 requests for a meeting; and a township with two villages.
    ``tag`` keeps this batch's numbers apart from another's."""
    now, day = utcnow(), dt.timedelta(days=1)
    with app.app_context():
        s = db.session
        village = s.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        vid, clerk, chair = village.id, _pid("张敏"), _pid("刘芳")
        repliers, recorders = (chair, _pid("周涛")), (clerk, _pid("王建国"))

        def most(column: Any, *where: Any) -> int:
            return int(s.execute(select(func.max(column)).where(*where)).scalar_one() or 0)

        households = [Household(village_id=vid, number=f"{tag}{i:03d}",
                                head_name=f"户主{tag}{i:03d}", group_name=f"第{i % 8 + 1}村民小组")
                      for i in range(28 * k)]
        s.add_all(households)
        s.flush()
        people = [Person(village_id=vid, household_id=h.id, name=f"代表{tag}{i:03d}",
                         female=i % 2 == 0) for i, h in enumerate(households)]
        s.add_all(people)
        s.flush()
        pids = [p.id for p in people]
        s.execute(insert(RoleAssignment), [
            {"person_id": p, "role": Role.REPRESENTATIVE.value, "village_id": vid,
             "starts_on": TERM_START, "households_represented": 5, "group_name": "第一村民小组"}
            for p in pids] + [
            {"person_id": p, "role": Role.REPRESENTATIVE.value, "village_id": vid,
             "starts_on": dt.date(2018, 3, 1), "ends_on": dt.date(2021, 2, 28)} for p in pids])
        s.execute(insert(Account), [{"person_id": p, "username": f"big{tag}{i:03d}",
                                     "password_hash": "-"} for i, p in enumerate(pids[:6 * k])])

        # Matters in step 6.
        first = most(Matter.id)
        step6 = [Matter(village_id=vid, number=f"2025-{first + i:03d}", title=f"批量事项{tag}{i}",
                        category=2, summary="硬化道路", amount_fen=100_000,
                        state="passed" if i % 2 else "implementing",
                        notice_starts_at=now - 12 * day,
                        notice_ends_at=now + 3 * day if i % 2 else now - 2 * day,
                        created_at=now - 30 * day, updated_at=now - day) for i in range(8 * k)]
        s.add_all(step6)
        s.flush()
        passed, implementing = step6[1::2], step6[::2]
        s.execute(insert(Objection), [
            {"matter_id": m.id, "number": n, "name": f"村民{n}", "household_id":
             households[n].id, "text": "有异议", "filed_at": now - day,
             "reply_due_at": now + 4 * day, "source_key": "0" * 64}
            for m in passed for n in range(1, 4)])
        s.execute(insert(ImplementationUpdate), [
            {"matter_id": m.id, "number": n, "milestone": f"第{n}段", "progress": 20 * n,
             "spent_fen": 1000 * n, "note": "", "evidence": [],
             "recorded_by_id": recorders[n % 2], "recorded_at": now - day}
            for m in implementing for n in range(1, 3)])

        # Closed meetings, each with the whole assembly on its roster and three polls.
        template = s.execute(select(Poll).where(Poll.state == "closed")
                             .order_by(Poll.id)).scalars().first()
        assert template is not None
        road = _matter("2026-001")
        roster = list(s.execute(select(MeetingMember.person_id).where(
            MeetingMember.meeting_id == template.meeting_id)).scalars()) + pids

        def poll(meeting_id: int, number: int, matter_id: int) -> Poll:
            t = template
            return Poll(meeting_id=meeting_id, number=number, matter_id=matter_id,
                        mode=VoteMode.NAMED.value, state="closed", present=len(roster),
                        attendance_upto=0, members=len(roster), quorum=t.quorum, rule=t.rule,
                        recusal_counts_present=t.recusal_counts_present, opened_at=now - day,
                        opened_by_id=clerk, closed_at=now - day, yes=len(roster), no=0,
                        abstain=0, recused=0, cloud=0, verdict="passed")

        number = most(Meeting.number, Meeting.village_id == vid)
        meetings = [Meeting(village_id=vid, number=number + 1 + i, title=f"批量会议{tag}{i}",
                            place="会议室", starts_at=now - (60 + i) * day, notice_days=5,
                            state="closed", checkin_code=f"big-{tag}-{i}", convened_by_id=clerk,
                            opened_at=now - (60 + i) * day, closed_at=now - (60 + i) * day)
                    for i in range(2 * k)]
        s.add_all(meetings)
        s.flush()
        s.execute(insert(MeetingMember), [{"meeting_id": m.id, "person_id": p,
                                           "roles": "representative"}
                                          for m in meetings for p in roster])
        agenda = [[road.id, passed[2 * i].id, passed[2 * i + 1].id] for i in range(2 * k)]
        s.execute(insert(MeetingItem), [{"meeting_id": m.id, "matter_id": matter, "position": n}
                                        for m, items in zip(meetings, agenda, strict=True)
                                        for n, matter in enumerate(items, start=1)])
        polls = [poll(m.id, n, matter) for m, items in zip(meetings, agenda, strict=True)
                 for n, matter in enumerate(items, start=1)]
        s.add_all(polls)
        s.flush()
        voted = [p for p in polls if p.matter_id == road.id]
        s.execute(insert(Participation), [{"poll_id": p.id, "person_id": voter,
                                           "channel": "hall"} for p in voted for voter in roster])
        s.execute(insert(Ballot), [
            {"poll_id": p.id, "code": f"big-{p.id}-{voter}", "choice": "yes", "channel": "hall",
             "voter_id": voter, "cast_at": now - day, "appended": True} for p in voted
            for voter in roster])
        sheet = hashlib.sha256(tag.encode()).hexdigest()
        s.add(Blob(sha256=sheet, size=4, data=b"big!"))
        s.flush()
        s.execute(insert(PaperBatch), [{"poll_id": p.id, "sheet_sha256": sheet,
                                        "sheet_name": f"计票单{p.id}.jpg",
                                        "entered_by_id": clerk} for p in polls[1::3][:k]])

        # Today's meeting: the batch on its roster and present, more closed polls.
        today = s.execute(select(Meeting).where(Meeting.village_id == vid,
                                                Meeting.number == 5)).scalar_one()
        s.execute(insert(MeetingMember), [{"meeting_id": today.id, "person_id": p,
                                           "roles": "representative"} for p in pids])
        s.execute(insert(Attendance), [{"meeting_id": today.id, "person_id": p,
                                        "channel": "hall", "recorded_by_id": clerk,
                                        "checked_in_at": now} for p in pids])
        position = most(MeetingItem.position, MeetingItem.meeting_id == today.id)
        number = most(Poll.number, Poll.meeting_id == today.id)
        s.execute(insert(MeetingItem), [{"meeting_id": today.id, "matter_id": m.id,
                                         "position": position + 1 + n}
                                        for n, m in enumerate(implementing[:3 * k])])
        s.add_all(poll(today.id, number + 1 + n, m.id)
                  for n, m in enumerate(implementing[:3 * k]))

        # Matter 001's history grows.
        number = most(Suggestion.number, Suggestion.village_id == vid)
        s.execute(insert(Suggestion), [{"village_id": vid, "number": number + 1 + i,
                                        "matter_id": road.id, "channel": "paper",
                                        "text": f"建议{i}", "suggester_name": f"村民{i}",
                                        "created_at": now - 40 * day} for i in range(6 * k)])
        first_step = s.execute(select(StepRecord.id).where(StepRecord.matter_id == road.id)
                               .order_by(StepRecord.seq)).scalars().first()
        s.execute(insert(Attachment), [{"step_record_id": first_step,
                                        "filename": f"材料{tag}{i}.jpg",
                                        "content_type": "image/jpeg", "size": 4,
                                        "sha256": sheet} for i in range(3 * k)])
        number = most(Objection.number, Objection.matter_id == road.id)
        s.execute(insert(Objection), [
            {"matter_id": road.id, "number": number + 1 + n, "name": f"村民{n}",
             "household_id": households[n].id, "text": "有异议", "filed_at": now - 20 * day,
             "reply_due_at": now - 15 * day, "source_key": "0" * 64, "outcome": "dismissed",
             "reply": "已说明", "replied_by_id": pids[n], "replied_at": now - 18 * day}
            for n in range(4 * k)])
        number = most(ImplementationUpdate.number, ImplementationUpdate.matter_id == road.id)
        s.execute(insert(ImplementationUpdate), [
            {"matter_id": road.id, "number": number + 1 + n, "milestone": f"第{n}段",
             "progress": 50, "spent_fen": 1000 * n, "note": "", "evidence": [],
             "recorded_by_id": recorders[n % 2], "recorded_at": now - 14 * day,
             "confirmed_by_id": repliers[n % 2], "confirmed_at": now - 13 * day}
            for n in range(4 * k)])
        s.execute(insert(Rating), [{"matter_id": road.id, "household_id": h.id, "score": 5,
                                    "rated_at": now - day} for h in households])
        s.execute(insert(MeetingRequest), [{"village_id": vid, "person_id": p,
                                            "reason": "请开会", "requested_at": now - day}
                                           for p in pids[:2 * k]])
        towns = [Township(code=f"town-{tag}{i}", name=f"批量镇{tag}{i}") for i in range(k)]
        s.add_all(towns)
        s.flush()
        s.execute(insert(Village), [{"township_id": t.id, "code": f"village-{t.id}-{n}",
                                     "name": f"批量村{t.id}-{n}"} for t in towns for n in (1, 2)])
        s.commit()


@pytest.fixture(scope="module")
def counts(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None
           ) -> Iterator[Counts]:
    """Each page's statements in the demo village, then in the large one."""
    with demo_app_once(tmp_path_factory.mktemp("statements"), postgres_url,
                       history=True) as app:
        session = today_meeting_with_a_phone(app)
        clients = {who: login(app.test_client(), who)
                   for who in ("clerk", "supervisor", "district")}
        clients["anon"] = app.test_client()
        clients["phone"] = app.test_client()
        clients["phone"].set_cookie(CLOUD_COOKIE, session, domain="sunvote.test", path="/c/")
        with app.app_context():
            engine = db.engine

        def statements() -> dict[str, int]:
            found = {}
            for page, (who, path) in PAGES.items():
                seen: list[str] = []

                def listener(*args: object, seen: list[str] = seen) -> None:
                    seen.append(str(args[2]))

                event.listen(engine, "before_cursor_execute", listener)
                try:
                    answer = clients[who].get(path)
                finally:
                    event.remove(engine, "before_cursor_execute", listener)
                assert answer.status_code == 200, (page, answer.status_code)
                found[page] = len(seen)
            return found

        grow(app, 1, "a")
        small = statements()
        grow(app, 9, "b")
        yield Counts(small, statements())


@pytest.mark.parametrize("page", list(PAGES))
def test_the_page_runs_the_same_statements_in_a_village_ten_times_larger(
        counts: Counts, page: str) -> None:
    assert counts.large[page] == counts.small[page], (page, counts.small, counts.large)
