"""The supervisory committee's workspace and the staff matter page's step-6 parts: objections
answered, implementation recorded and confirmed — refusals name their rule and change nothing."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence

from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.procedure import Action
from sunvote.extensions import db
from sunvote.models import (
    Household,
    ImplementationUpdate,
    LedgerRecord,
    Matter,
    MeetingMember,
    Objection,
    Person,
    Village,
)
from sunvote.services import assembly, ballots, matters, polls, supervision
from tests.conftest import csrf_token as token

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def records(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def pid(name: str) -> int:
    return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


def everyone(roster: Sequence[int]) -> Sequence[int]:
    return roster


def passed_road(app: Flask, who_votes: Callable[[Sequence[int]], Sequence[int]] = everyone
                ) -> tuple[int, int]:
    """The road matter passes a vote now (convened three days ago); an objection is filed.
    Every member checks in; ``who_votes`` picks, from the roster, those who vote yes (all by
    default). Returns (matter id, objection id)."""
    with app.app_context():
        v = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        road = db.session.execute(select(Matter).where(
            Matter.village_id == v.id, Matter.number.like("%-001"))).scalar_one()
        clerk = pid("张敏")
        meeting = assembly.convene(clerk, v.id, "会议", "会议室", NOW, [road.id],
                                   now=NOW - dt.timedelta(days=3))
        assembly.open_meeting(clerk, meeting.id, now=NOW)
        roster = list(db.session.execute(select(MeetingMember.person_id).where(
            MeetingMember.meeting_id == meeting.id)).scalars())
        for member in roster:
            assembly.check_in(clerk, meeting.id, member, now=NOW)
        poll = polls.open_poll(clerk, meeting.id, road.id, now=NOW)
        for member in who_votes(roster):
            ballots.cast_ballot(member, poll.id, member, "yes", now=NOW)
        polls.close_poll(clerk, poll.id, now=NOW)
        household = db.session.execute(select(Household).where(
            Household.village_id == v.id).order_by(Household.id)).scalars().first()
        assert household is not None
        objection = supervision.file_objection(road.id, household.number, household.head_name,
                                               "造价偏高", "9.9.9.9", now=NOW)
        return road.id, objection.id


def test_the_workspace_lists_what_waits_and_a_supervisor_answers(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    _road, objection = passed_road(demo)
    supervisor = as_user("supervisor")
    page = supervisor.get("/v/sunshine/supervise").get_data(as_text=True)
    assert "造价偏高" in page and "提交答复" in page and "账本核验" in page
    before = records(demo)
    response = supervisor.post(f"/v/sunshine/supervise/objections/{objection}", data={
        "csrf_token": token(supervisor, "/v/sunshine/supervise"), "outcome": "maybe",
        "reply": "答复"})
    assert response.status_code == 400 and "objection.reply" in response.get_data(as_text=True)
    assert records(demo) == before
    response = supervisor.post(f"/v/sunshine/supervise/objections/{objection}", data={
        "csrf_token": token(supervisor, "/v/sunshine/supervise"), "outcome": "dismissed",
        "reply": "造价经第三方审核"})
    assert response.status_code == 302
    assert records(demo) == before + 1
    with demo.app_context():
        row = db.session.get(Objection, objection)
        assert row is not None and row.outcome == "dismissed"
    page = supervisor.get("/v/sunshine/m/2026-001").get_data(as_text=True)
    assert "造价经第三方审核" in page


def test_only_the_committee_answers_objections(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    _road, objection = passed_road(demo)
    clerk = as_user("clerk")
    page = clerk.get("/v/sunshine/supervise").get_data(as_text=True)
    assert "造价偏高" in page and "提交答复" not in page  # seen, but no form
    before = records(demo)
    response = clerk.post(f"/v/sunshine/supervise/objections/{objection}", data={
        "csrf_token": token(clerk, "/v/sunshine/supervise"), "outcome": "dismissed",
        "reply": "答复"})
    assert response.status_code == 403 and "objection.reply" in response.get_data(as_text=True)
    assert records(demo) == before


def test_implementation_is_recorded_on_the_matter_page_and_confirmed(as_user,  # type: ignore[no-untyped-def]
                                                                     demo: Flask) -> None:
    road, objection = passed_road(demo)
    with demo.app_context():
        supervision.reply_objection(pid("刘芳"), objection, "dismissed", "已说明", now=NOW)
        matters.act(road, Action.START_IMPLEMENTATION, pid("张敏"), {},
                    now=NOW + dt.timedelta(days=6))
    clerk = as_user("clerk")
    page = clerk.get("/v/sunshine/m/2026-001").get_data(as_text=True)
    assert "记录实施进度" in page
    before = records(demo)
    bad = clerk.post("/v/sunshine/m/2026-001/implementation", data={
        "csrf_token": token(clerk, "/v/sunshine/m/2026-001"), "milestone": "路基",
        "progress": "150", "spent": "10"})
    assert bad.status_code == 400 and "implementation.progress" in bad.get_data(as_text=True)
    assert records(demo) == before
    good = clerk.post("/v/sunshine/m/2026-001/implementation", data={
        "csrf_token": token(clerk, "/v/sunshine/m/2026-001"), "milestone": "路基完成",
        "progress": "40", "spent": "1200.5", "note": "压实",
        "evidence": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"x" * 50), "现场.png")},
        content_type="multipart/form-data")
    assert good.status_code == 302 and records(demo) == before + 1
    with demo.app_context():
        update = db.session.execute(select(ImplementationUpdate)).scalar_one()
        assert update.spent_fen == 120050 and update.evidence[0]["name"] == "现场.png"
        update_id = update.id
    supervisor = as_user("supervisor")
    assert "路基完成" in supervisor.get("/v/sunshine/supervise").get_data(as_text=True)
    response = supervisor.post(f"/v/sunshine/supervise/updates/{update_id}", data={
        "csrf_token": token(supervisor, "/v/sunshine/supervise")})
    assert response.status_code == 302 and records(demo) == before + 2
    again = supervisor.post(f"/v/sunshine/supervise/updates/{update_id}", data={
        "csrf_token": token(supervisor, "/v/sunshine/supervise")})
    assert again.status_code == 409 and "implementation.confirm" in again.get_data(as_text=True)
    assert records(demo) == before + 2
