"""The events that write notices (issue 18), against the database: each writes exactly its
notices in its own transaction (to whom, on which channels, which link, which key), a refused
event writes none, and the hourly scan writes the time-based ones once."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sunvote.domain.errors import DomainError
from sunvote.domain.procedure import Action
from sunvote.extensions import db
from sunvote.models import (
    LedgerRecord,
    LedgerVerification,
    Notice,
    Person,
    Suggestion,
    Township,
    Village,
)
from sunvote.services import (
    assembly,
    cloud,
    matters,
    notice_scan,
    polls,
    suggestions,
    supervision,
)
from sunvote.services import notice_events as events
from sunvote.services.settings import change_setting

from .test_assembly import DAY, T0, matter, members, pid, village
from .test_supervision import AT, household, passed_matter

Row = tuple[str, str, str | None, str, str | None, str]


def last_id() -> int:
    return db.session.execute(select(func.max(Notice.id))).scalar_one() or 0


def written_since(start: int) -> set[Row]:
    """(event, channel, person's name, key, address, link) of each notice written after
    ``start``."""
    rows = db.session.execute(select(Notice, Person.name).outerjoin(
        Person, Person.id == Notice.person_id).where(Notice.id > start)).all()
    return {(n.event.value, n.channel.value, name, n.key, n.address, n.link)
            for n, name in rows}


def set_contacts(**people: tuple[str | None, str | None]) -> None:
    """Give people (by name) a phone and an e-mail address, as the register would."""
    for name, (phone, email) in people.items():
        person = db.session.get(Person, pid(name))
        assert person is not None
        person.phone, person.email = phone, email
    db.session.commit()


def refused(run: object) -> None:
    with pytest.raises(DomainError):
        run()  # type: ignore[operator]


def test_opening_a_poll_tells_the_invited_cloud_voters_on_their_phones(demo: Flask) -> None:
    with demo.app_context():
        clerk, at = pid("张敏"), T0 + 3 * DAY
        road = matter("001")
        meeting = assembly.convene(clerk, village().id, "第四季度会议", "村委会议室", at,
                                   [road.id], now=T0)
        assembly.open_meeting(clerk, meeting.id, now=at)
        roster = members(meeting.id)
        for member in roster[:-2]:
            assembly.check_in(clerk, meeting.id, member, now=at)
        away = roster[-2]  # the last two are away; only this one is invited
        cloud.issue_invitation(clerk, meeting.id, away, now=at)
        away_person = db.session.get(Person, away)
        assert away_person is not None
        away_person.phone = "13900000021"
        db.session.commit()
        start = last_id()
        poll = polls.open_poll(clerk, meeting.id, road.id, now=at)
        name = db.session.get(Person, away).name  # type: ignore[union-attr]
        # Only the invited member (not the other absent one, nor those in the hall).
        assert written_since(start) == {
            ("poll_opened", "inbox", name, f"poll:{poll.id}:p{away}:inbox", None, "/c/meeting"),
            ("poll_opened", "sms", name, f"poll:{poll.id}:p{away}:sms", "13900000021",
             "/c/meeting")}
        text = db.session.execute(select(Notice.text).where(Notice.id > start)).scalars().first()
        assert text is not None and "开始表决事项" in text and road.number in text
        # Opening it again is refused, and tells nobody.
        start = last_id()
        refused(lambda: polls.open_poll(clerk, meeting.id, road.id, now=at))
        assert written_since(start) == set()


def test_an_objection_tells_the_supervisory_committee(demo: Flask) -> None:
    with demo.app_context():
        road = passed_matter()
        set_contacts(刘芳=(None, "liufang@example.cn"), 周涛=("13900000031", None))
        number, name = household()
        start = last_id()
        refused(lambda: supervision.file_objection(road.id, number, "不是本户的人", "程序有误",
                                                   "10.0.0.9", now=AT + DAY))
        assert written_since(start) == set()
        objection = supervision.file_objection(road.id, number, name, "表决时有人代签",
                                               "10.0.0.9", now=AT + DAY)
        key, link = f"objection:{objection.id}", "/v/sunshine/supervise"
        assert written_since(start) == {
            ("objection_received", "inbox", "刘芳", f"{key}:p{pid('刘芳')}:inbox", None, link),
            ("objection_received", "email", "刘芳", f"{key}:p{pid('刘芳')}:email",
             "liufang@example.cn", link),
            ("objection_received", "sms", "周涛", f"{key}:p{pid('周涛')}:sms", "13900000031",
             link)}


def submit(text: str, contact: str | None) -> Suggestion:
    return suggestions.submit_public_suggestion(village().id, text, "村民", contact, False,
                                                False, "10.0.0.1").suggestion


def test_a_suggestion_taken_up_texts_the_villager_who_left_a_mobile(demo: Flask) -> None:
    with demo.app_context():
        mobile = submit("建议修桥", "139 0000 0041")
        landline = submit("建议修路", "0578-2123456")
        nothing = submit("建议种树", None)
        ids = [mobile.id, landline.id, nothing.id]
        start = last_id()
        opened = matters.open_matter(village().id, pid("张敏"), {
            "title": "村北便民桥", "text": "村民建议修桥修路种树"}, suggestion_ids=ids)
        link = f"/p/sunshine/s/{mobile.number}"
        assert written_since(start) == {
            ("suggestion_answered", "sms", None, f"suggestion:{mobile.id}:sms", "13900000041",
             link)}
        text = db.session.execute(select(Notice.text).where(Notice.id > start)).scalar_one()
        assert opened.number in text
        # Taking the same suggestions up again is refused and texts nobody.
        start = last_id()
        refused(lambda: matters.open_matter(village().id, pid("张敏"), {
            "title": "又一座桥", "text": "再次"}, suggestion_ids=ids))
        assert written_since(start) == set()


def test_a_declined_suggestion_texts_the_villager_unless_the_township_sends_no_sms(
        demo: Flask) -> None:
    with demo.app_context():
        first, second = submit("建议建停车场", "13900000051"), submit("建议建广场", "13900000052")
        start = last_id()
        suggestions.decline_suggestion(village().id, pid("张敏"), str(first.number),
                                       "村口是基本农田")
        assert written_since(start) == {
            ("suggestion_answered", "sms", None, f"suggestion:{first.id}:sms", "13900000051",
             f"/p/sunshine/s/{first.number}")}
        start = last_id()
        refused(lambda: suggestions.decline_suggestion(village().id, pid("张敏"),
                                                       str(first.number), "再答复一次"))
        town = db.session.execute(select(Township)).scalars().first()
        assert town is not None
        change_setting(town.id, "notice_sms", False, pid("吴静"))
        suggestions.decline_suggestion(village().id, pid("张敏"), str(second.number), "没有地")
        assert written_since(start) == set()


def test_sending_a_matter_to_review_tells_the_township_reviewers(demo: Flask) -> None:
    with demo.app_context():
        forest = matter("002")  # proposed: awaits the joint meeting
        fields = {"meeting_date": T0.date().isoformat(), "expected": 9, "present": 8,
                  "minutes": "同意提交乡镇审议。", "plan": "公开竞价发包。"}
        start = last_id()
        refused(lambda: matters.act(forest.id, Action.DISCUSS, pid("刘芳"), fields))
        assert written_since(start) == set()
        after = matters.act(forest.id, Action.DISCUSS, pid("张敏"), fields)
        seq = len(after.steps)
        assert written_since(start) == {
            ("review_requested", "inbox", "孙伟", f"review:{forest.id}:{seq}:p{pid('孙伟')}:inbox",
             None, f"/v/sunshine/m/{forest.number}")}


# --- The scan ---------------------------------------------------------------------------------


def events_since(start: int) -> set[tuple[str, str | None]]:
    """(event key without recipient and channel, person's name) of each notice since ``start``."""
    return {(key.rsplit(":", 2)[0], name) for _e, _c, name, key, _a, _l in written_since(start)}


def test_the_scan_tells_of_answers_due_and_notice_periods_ended_once(demo: Flask) -> None:
    with demo.app_context():
        road = passed_matter()  # notice period ends AT + 5 days
        number, name = household()
        objection = supervision.file_objection(road.id, number, name, "请说明招标结果",
                                               "10.0.0.9", now=AT + DAY)  # due AT + 8 days
        start = last_id()
        notice_scan.scan(now=AT + 4 * DAY)
        assert events_since(start) == set()
        ends = int((AT + 5 * DAY).timestamp())
        notice_scan.scan(now=AT + 7 * DAY + dt.timedelta(hours=2))
        assert events_since(start) == {
            (f"objection-due:{objection.id}", "刘芳"),
            (f"notice-ended:{road.id}:{ends}", "王建国")}  # the committee director
        start = last_id()
        assert notice_scan.scan(now=AT + 7 * DAY + dt.timedelta(hours=3)).notices == 0
        notice_scan.scan(now=AT + 9 * DAY)
        assert events_since(start) == {(f"objection-overdue:{objection.id}", "刘芳")}
        start = last_id()
        notice_scan.scan(now=AT + 9 * DAY + dt.timedelta(hours=1))
        assert events_since(start) == set()
        # Answered: nothing more is due.
        supervision.reply_objection(pid("刘芳"), objection.id, "dismissed", "招标结果已公示",
                                    now=AT + 9 * DAY)
        notice_scan.scan(now=AT + 10 * DAY)
        assert events_since(start) == set()


def test_a_red_warning_tells_the_township_and_district_administrators_once(
        demo: Flask) -> None:
    with demo.app_context():
        now = T0 + DAY
        start = last_id()
        notice_scan.scan(now=now)
        assert written_since(start) == set()  # the demo has no red warning
        db.session.add(LedgerVerification(
            village_id=village().id, size=3, root=b"\0" * 32, ok=False, exit_code=1,
            failures=["2 matter.step signature: bad"], cosigned_by=[], seconds=0.1,
            verified_at=now))
        db.session.commit()
        result = notice_scan.scan(now=now + dt.timedelta(hours=1))
        rows = written_since(start)
        assert {(e, c, n, link) for e, c, n, _k, _a, link in rows} == {
            ("red_warning", "inbox", "吴静", "/t/demo-town/oversight/v/sunshine"),
            ("red_warning", "inbox", "郑平", "/t/demo-town/oversight/v/sunshine")}
        assert result.notices == 2 and result.villages == 2
        assert all(k.startswith(f"red:{village().id}:ledger.verification_failed:")
                   for _e, _c, _n, k, _a, _l in rows)
        start = last_id()
        assert notice_scan.scan(now=now + dt.timedelta(hours=2)).notices == 0
        assert written_since(start) == set()


def test_every_link_a_notice_gives_is_a_page_of_the_site(demo: Flask) -> None:
    with demo.app_context():
        v = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        adapter = demo.url_map.bind("localhost")
        for path in (events.CLOUD_VOTE_PATH, events.matter_path(v, "2026-001"),
                     events.supervision_path(v), events.suggestion_path(v, 3),
                     events.oversight_path("demo-town", v)):
            endpoint, _args = adapter.match(path, method="GET")
            assert endpoint != "static", path


def test_the_scan_command_reports_what_it_wrote(demo: Flask) -> None:
    with demo.app_context():
        db.session.add(LedgerVerification(
            village_id=village().id, size=3, root=b"\0" * 32, ok=False, exit_code=1,
            failures=["1 bad"], cosigned_by=[], seconds=0.1, verified_at=T0))
        db.session.commit()
    runner = demo.test_cli_runner()
    first = runner.invoke(args=["notices", "scan"])
    assert first.exit_code == 0, first.output
    assert "2 notices written for 2 villages" in first.output
    again = runner.invoke(args=["notices", "scan"])
    assert "0 notices written for 2 villages" in again.output


def test_the_event_and_its_notices_are_one_transaction(demo: Flask) -> None:
    """A notice that cannot be written (its key taken) undoes the event with it: the suggestion
    stays unanswered and the ledger gains nothing."""
    with demo.app_context():
        suggestion = submit("建议修水渠", "13900000061")
        db.session.add(Notice(key=f"suggestion:{suggestion.id}:sms", event="suggestion_answered",
                              channel="sms", state="sent", village_id=village().id, text="x",
                              link="/", created_at=T0))
        db.session.commit()
        records = db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()
        with pytest.raises(IntegrityError):
            suggestions.decline_suggestion(village().id, pid("张敏"), str(suggestion.number),
                                           "水渠已列入明年计划")
        db.session.rollback()
        again = db.session.get(Suggestion, suggestion.id)
        assert again is not None and again.declined_at is None
        assert db.session.execute(select(func.count()).select_from(LedgerRecord)
                                  ).scalar_one() == records
