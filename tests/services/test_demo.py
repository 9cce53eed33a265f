"""The demo village of `sunvote demo`: eight weeks of history through the use cases, with past
dates in time order, that verifies offline; matters at every step; a meeting convened days ago
that the clerk opens today for a named and a secret poll; matters ready to start and to sign
off; enrolled phones; and an empty database is the only one seeded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.assembly import VoteMode
from sunvote.domain.ledger.records import parse_record
from sunvote.domain.ledger.verifier import verify_export
from sunvote.domain.procedure import Action
from sunvote.extensions import db
from sunvote.models import (
    Account,
    Device,
    LedgerRecord,
    Matter,
    Meeting,
    Person,
    Rating,
    Township,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import (
    administration,
    assembly,
    ballots,
    exports,
    ledger,
    matters,
    polls,
    supervision,
)
from sunvote.services.access import CHINA, local_date
from sunvote.services.demo import (
    DEMO_PIN,
    ENROLLED_REPS,
    HISTORY_DAYS,
    _meeting_start_today,
    seed_demo,
)

from .test_assembly import members, pid, village


def by_title(title: str) -> Matter:
    return db.session.execute(select(Matter).where(Matter.title == title)).scalar_one()


def counts() -> dict[str, int]:
    return {m.__name__: db.session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Township, Person, Account, Matter, Meeting, LedgerRecord)}


@pytest.fixture
def history(app: Flask) -> Flask:
    """The app with the demo as `sunvote demo` seeds it, eight weeks before now."""
    with app.app_context():
        assert seed_demo(history=True) is True
    return app


def test_the_history_has_matters_at_every_step_and_its_ledger_verifies_offline(
        history: Flask, tmp_path: Path) -> None:
    with history.app_context():
        states = dict(db.session.execute(select(Matter.title, Matter.state)).all())
        assert set(states.values()) == {
            "suggested", "proposed", "discussed", "returned", "filed", "passed", "implementing",
            "completed", "rejected", "withdrawn"}
        assert states["阳光小学围墙维修"] == "completed"
        assert states["村集体仓库出租"] == "rejected"
        now = utcnow()
        # One passed matter's notice period is over, the other's still runs.
        fitness, river = by_title("村民广场健身器材采购"), by_title("村南河道护岸修复")
        assert fitness.notice_ends_at is not None and fitness.notice_ends_at < now
        assert river.notice_ends_at is not None and river.notice_ends_at > now
        assert db.session.execute(select(func.count()).select_from(Rating)).scalar_one() == 4
        # Every record of the village log was dated in the past, in time order, and the log
        # began eight weeks ago.
        times = [dt.datetime.fromisoformat(body["at"]) for body in (
            parse_record(data).body for data in db.session.execute(
                select(LedgerRecord.data).where(LedgerRecord.village_id == village().id)
                .order_by(LedgerRecord.seq)).scalars()) if "at" in body]
        assert times == sorted(times) and times[-1] < now
        assert local_date(times[0]) == local_date(now) - dt.timedelta(days=HISTORY_DAYS)
        exports.export_directory(village(), tmp_path / "export")
        key = ledger.active_key(village().id).vkey
    report = verify_export(tmp_path / "export", log_vkeys_override=[key])
    assert not report.failures, report.failures


def test_the_clerk_opens_todays_meeting_and_holds_a_named_and_a_secret_poll(
        history: Flask) -> None:
    with history.app_context():
        clerk = pid("张敏")
        meeting = db.session.execute(select(Meeting).where(
            Meeting.state == "convened")).scalar_one()
        assert local_date(meeting.starts_at) == local_date(utcnow())
        assert (local_date(meeting.starts_at) - local_date(meeting.convened_at)).days \
            >= meeting.notice_days
        road, forest = by_title("村东道路硬化工程"), by_title("后山集体林地重新发包")
        assert [item.matter_id for item in meeting.items] == [road.id, forest.id]
        assembly.open_meeting(clerk, meeting.id)  # today, at the real time
        roster = members(meeting.id)
        for member in roster[:20]:
            assembly.check_in(clerk, meeting.id, member)
        for matter, mode in ((road, VoteMode.NAMED), (forest, VoteMode.SECRET)):
            poll = polls.open_poll(clerk, meeting.id, matter.id, mode)
            for member in roster[:20]:
                ballots.cast_ballot(member, poll.id, member, "yes")
            assert polls.close_poll(clerk, poll.id).verdict == "passed"
        assembly.close_meeting(clerk, meeting.id)


def test_one_matter_can_start_today_another_be_signed_off_and_a_third_be_rated(
        history: Flask) -> None:
    with history.app_context():
        # The household the README names has not rated the completed matter yet.
        supervision.rate(by_title("阳光小学围墙维修").id, "033", "赵小燕", 5, "198.51.100.7")
        fitness, lights = by_title("村民广场健身器材采购"), by_title("村口至村委会路段安装路灯")
        assert matters.act(fitness.id, Action.START_IMPLEMENTATION, pid("张敏"), {}).state \
            == "implementing"
        assert matters.act(lights.id, Action.COMPLETE, pid("刘芳"),
                           {"report": "验收合格"}).state == "completed"


def test_ten_representatives_have_enrolled_phones_whose_pin_works_on_a_hall_device(
        history: Flask) -> None:
    with history.app_context():
        devices = list(db.session.execute(select(Device)).scalars())
        owners = set(db.session.execute(select(Account.username).where(
            Account.person_id.in_([d.person_id for d in devices]))).scalars())
        assert owners == {f"rep{n:02d}" for n in ENROLLED_REPS}
        assert all(d.key.startswith("ed25519:") for d in devices)
        enrolments = db.session.execute(select(func.count()).select_from(LedgerRecord).where(
            LedgerRecord.type == "device.enrol")).scalar_one()
        assert enrolments == len(ENROLLED_REPS)
        # Today's meeting: the clerk enters rep11's ballot on a hall device with the phone's PIN.
        clerk = pid("张敏")
        meeting = db.session.execute(select(Meeting).where(
            Meeting.state == "convened")).scalar_one()
        assembly.open_meeting(clerk, meeting.id)
        for member in members(meeting.id):
            assembly.check_in(clerk, meeting.id, member)
        poll = polls.open_poll(clerk, meeting.id, by_title("村东道路硬化工程").id)
        rep11 = db.session.execute(select(Account.person_id).where(
            Account.username == "rep11")).scalar_one()
        ballot = ballots.cast_ballot(clerk, poll.id, rep11, "yes", pin=DEMO_PIN)
        assert ballot.appended


def test_running_the_demo_again_adds_nothing_and_changes_nothing(history: Flask) -> None:
    with history.app_context():
        before = counts()
        assert seed_demo(history=True) is False
        assert seed_demo() is False
        assert counts() == before


def test_a_database_someone_has_started_to_use_gets_no_demo_data(app: Flask) -> None:
    with app.app_context():
        administration.create_district_admin("郑平", "13800000000")
        before = counts()
        assert seed_demo(history=True) is False
        assert counts() == before
        assert db.session.execute(select(Village.id)).first() is None


@pytest.mark.parametrize(("local_time", "expected"), [
    ("08:10", "19:00"),   # the evening's meeting, later today
    ("18:59", "19:00"),
    ("20:02", "20:07"),   # already evening: in five minutes
    ("23:57", "23:55"),   # never tomorrow
])
def test_todays_meeting_starts_today_at_19_00_or_soon_after(local_time: str,
                                                           expected: str) -> None:
    day = dt.date(2026, 12, 6)
    now = dt.datetime.combine(day, dt.time.fromisoformat(local_time), tzinfo=CHINA)
    starts = _meeting_start_today(now.astimezone(dt.UTC)).astimezone(CHINA)
    assert starts.date() == day and starts.strftime("%H:%M") == expected
