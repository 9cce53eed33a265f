"""Assembly pages: convene, the room, voting and receipts, the hall feed — refusals show their
rule and change nothing; the hall shows counts, never choices, while a poll is open."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.assembly import VoteMode
from sunvote.domain.ledger.records import parse_record
from sunvote.extensions import db
from sunvote.models import Account, LedgerRecord, Matter, Meeting, MeetingMember, Person, Village
from sunvote.services import assembly, polls
from sunvote.web.qr import qr_svg_text
from tests.conftest import csrf_token as token

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def records(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def ids(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        v = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
        road = db.session.execute(select(Matter.id).where(
            Matter.village_id == v.id, Matter.number.like("%-001"))).scalar_one()
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        return v.id, road, clerk


@dataclass(frozen=True)
class Opened:
    number: int
    checkin_code: str


def meeting_today(app: Flask, present: int = 23, mode: VoteMode | None = None) -> Opened:
    """A meeting convened three days ago (back-dated through the services' `now`), opened
    today, with ``present`` members checked in and optionally a poll open on the road."""
    village_id, road, clerk = ids(app)
    with app.app_context():
        meeting = assembly.convene(clerk, village_id, "第四季度村民代表会议", "村委会议室", NOW,
                                   [road], now=NOW - dt.timedelta(days=3))
        assembly.open_meeting(clerk, meeting.id, now=NOW)
        roster = list(db.session.execute(select(MeetingMember.person_id).where(
            MeetingMember.meeting_id == meeting.id).order_by(MeetingMember.person_id)).scalars())
        for member in roster[:present]:
            assembly.check_in(clerk, meeting.id, member, now=NOW)
        if mode is not None:
            polls.open_poll(clerk, meeting.id, road, mode, now=NOW)
        return Opened(meeting.number, meeting.checkin_code)


def test_the_clerk_convenes_and_too_short_notice_is_refused(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    _, road, _ = ids(demo)
    before = records(demo)
    soon = (NOW + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    refused = client.post("/v/sunshine/meetings", data={
        "csrf_token": token(client, "/v/sunshine/meetings"), "title": "会议", "place": "会议室",
        "starts_at": soon.strftime("%Y-%m-%dT%H:%M"), "matters": [str(road)]})
    assert refused.status_code == 409 and "assembly.notice" in refused.get_data(as_text=True)
    assert records(demo) == before
    later = soon + dt.timedelta(days=5)
    done = client.post("/v/sunshine/meetings", data={
        "csrf_token": token(client, "/v/sunshine/meetings"), "title": "第四季度会议",
        "place": "会议室", "starts_at": later.strftime("%Y-%m-%dT%H:%M"), "matters": [str(road)]})
    assert done.status_code == 302 and records(demo) == before + 2  # convene, notice
    assert "第四季度会议" in client.get(done.headers["Location"]).get_data(as_text=True)


def test_a_member_votes_from_the_room_and_gets_a_receipt(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, mode=VoteMode.NAMED)
    rep = as_user("rep01")
    room = f"/v/sunshine/meetings/{meeting.number}"
    page = rep.get(room).get_data(as_text=True)
    assert "vote-yes" in page
    voted = rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "yes"})
    # a ballot answers with a redirect, not the room page (issue 16); the page that follows
    # shows the receipt once, and a background refresh of the page (room.js) does not take it
    assert voted.status_code == 302 and len(voted.data) < 1000
    assert voted.headers["Location"].endswith(f"{room}#receipt")
    live = rep.get(room, headers={"X-SunVote-Live": "1"}).get_data(as_text=True)
    assert 'id="receipt"' not in live
    text = rep.get(room).get_data(as_text=True)
    code = re.search(r'class="receipt-code">([A-Za-z0-9_-]+)<', text)
    assert code and 'id="receipt"' in text
    assert 'id="receipt"' not in rep.get(room).get_data(as_text=True)
    again = rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "no"})
    assert again.status_code == 409 and "assembly.one_ballot" in again.get_data(as_text=True)
    public = demo.test_client().get(f"/p/sunshine/receipt?ballot={code.group(1)}")
    assert "已证明" in public.get_data(as_text=True)
    proof = demo.test_client().get(f"/p/sunshine/receipt/{code.group(1)}.receipt")
    assert proof.status_code == 200 and proof.data.startswith(b"sunvote-receipt/v1")


def test_a_member_who_arrived_after_the_poll_opened_is_not_offered_the_vote(  # type: ignore[no-untyped-def]
        as_user, demo: Flask) -> None:
    """The room offers a vote where domain.assembly.ballot_refusal allows it, the rule the
    ballot's use
    case applies (issue 17): a member checked in after the poll opened sees why not, and the
    hall device does not list them; before, both offered a vote the service then refused."""
    meeting = meeting_today(demo, present=16, mode=VoteMode.NAMED)
    room = f"/v/sunshine/meetings/{meeting.number}"
    with demo.app_context():
        late, username, name = db.session.execute(
            select(MeetingMember.person_id, Account.username, Person.name)
            .join(Meeting, Meeting.id == MeetingMember.meeting_id)
            .join(Account, Account.person_id == MeetingMember.person_id)
            .join(Person, Person.id == MeetingMember.person_id)
            .where(Meeting.number == meeting.number, Meeting.village_id == ids(demo)[0])
            .order_by(MeetingMember.person_id).offset(16).limit(1)).one()
    clerk = as_user("clerk")
    assert clerk.post(f"{room}/checkin-{late}",
                      data={"csrf_token": token(clerk, room)}).status_code == 302
    page = as_user(username).get(room).get_data(as_text=True)
    assert "vote-yes" not in page and "assembly.late" in page
    assert "您在本项表决开始后才签到" in page
    device = clerk.get(room).get_data(as_text=True)
    options = device[device.index('id="device-member-1"'):]
    options = options[:options.index("</select>")]
    assert f">{name}<" not in options and options.count("<option") == 16
    # nor the paper-ballot table (enter_paper applies the same rule)
    assert f'name="paper-{late}"' not in device and device.count('name="paper-') == 16


def test_the_hall_feed_shows_counts_and_never_choices_while_open(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, mode=VoteMode.NAMED)
    rep = as_user("rep01")
    room = f"/v/sunshine/meetings/{meeting.number}"
    rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "no"})
    clerk = as_user("clerk")
    feed = clerk.get(f"{room}/hall.json").get_json()
    assert feed["present"] == 23 and feed["needed"] == 16 and feed["quorum_met"]
    (poll,) = feed["polls"]
    assert poll["received"] == 1 and "no" not in poll and "yes" not in poll
    hall = clerk.get(f"{room}/hall").get_data(as_text=True)
    assert "<svg" in hall and "js/hall." in hall
    clerk.post(f"{room}/closepoll-1", data={"csrf_token": token(clerk, room)})
    (closed,) = clerk.get(f"{room}/hall.json").get_json()["polls"]
    assert closed["no"] == 1 and closed["verdict"] == "rejected"


def test_a_poll_without_quorum_is_refused_on_the_page(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=15)
    _, road, _ = ids(demo)
    clerk = as_user("clerk")
    room = f"/v/sunshine/meetings/{meeting.number}"
    before = records(demo)
    response = clerk.post(f"{room}/poll-{road}", data={"csrf_token": token(clerk, room),
                                                       "mode": "named"})
    assert response.status_code == 409 and "assembly.quorum" in response.get_data(as_text=True)
    assert records(demo) == before


@pytest.mark.parametrize("username", ["rep01", "supervisor"])
def test_only_those_who_run_the_meeting_open_polls(as_user, demo: Flask, username: str) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo)
    _, road, _ = ids(demo)
    client = as_user(username)
    room = f"/v/sunshine/meetings/{meeting.number}"
    response = client.post(f"{room}/poll-{road}", data={"csrf_token": token(client, room),
                                                        "mode": "named"})
    assert response.status_code == 403


def account_person(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.execute(select(Account.person_id).where(
            Account.username == username)).scalar_one()


def last_body(app: Flask, type_: str) -> dict[str, object]:
    with app.app_context():
        data = db.session.execute(select(LedgerRecord.data).where(
            LedgerRecord.type == type_).order_by(LedgerRecord.id.desc())).scalars().first()
        assert data is not None
        return dict(parse_record(data).body)


def test_self_check_in_by_the_hall_qr(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    """The QR carries the check-in token and the live code in its fragment, which no server or
    proxy sees; the page's script posts them with the room's check-in form."""
    meeting = meeting_today(demo, present=0)
    room = f"/v/sunshine/meetings/{meeting.number}"
    clerk = as_user("clerk")
    live = clerk.get(f"{room}/hall.json").get_json()["presence"]
    hall = clerk.get(f"{room}/hall").get_data(as_text=True)
    assert live["code"] in hall and "<svg" in live["qr"] and 'id="checkin-qr"' in hall
    link = f"http://sunvote.test{room}/checkin#t={meeting.checkin_code}&c={live['code']}"
    assert live["qr"] == qr_svg_text(link)
    rep = as_user("rep02")
    page = rep.get(f"{room}/checkin")  # what the browser asks for: no token, no code
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "js/token-link." in html
    assert 'data-fragment="t"' in html and 'data-fragment="c"' in html
    assert f'action="{room}/checkin"' in html and meeting.checkin_code not in html
    assert rep.post(f"{room}/checkin", data={
        "csrf_token": token(rep, room), "token": meeting.checkin_code,
        "code": live["code"]}).status_code == 302
    feed = clerk.get(f"{room}/hall.json").get_json()
    assert feed["present"] == 1 and feed["hall"] == 1
    assert feed["attendance"][0]["by_clerk"] is False
    body = last_body(demo, "meeting.attend")
    assert (body["role"], body["proof"]) == ("member", "qr")


def test_a_check_in_qr_printed_with_the_token_in_its_path_still_opens(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=0)
    room = f"/v/sunshine/meetings/{meeting.number}"
    code = as_user("clerk").get(f"{room}/hall.json").get_json()["presence"]["code"]
    rep = as_user("rep02")
    old = rep.get(f"{room}/checkin/{meeting.checkin_code}?c={code}")
    html = old.get_data(as_text=True)
    assert old.status_code == 200 and f'value="{code}"' in html  # the QR carried the code
    assert f'value="{meeting.checkin_code}"' in html and f'action="{room}/checkin"' in html
    # the page's own requests (CSS, script) do not send its URL on as a Referer
    assert old.headers["Referrer-Policy"] == "no-referrer"
    assert old.headers["Cache-Control"] == "no-store"
    before = records(demo)
    for wrong in ("wrong", "%C3%A9t%C3%A9"):  # a non-ASCII token was a 500 (compare_digest)
        assert rep.get(f"{room}/checkin/{wrong}").status_code == 404
        refused = rep.post(f"{room}/checkin", data={"csrf_token": token(rep, room),
                                                    "token": "été" if "%" in wrong else wrong,
                                                    "code": code})
        assert refused.status_code == 404
    assert records(demo) == before


def test_a_check_in_from_home_without_the_live_code_is_refused(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    """The attack: a representative at home posts the room's check-in with only the CSRF
    token (or the QR link without the live code, or a guessed code)."""
    meeting = meeting_today(demo, present=0)
    rep = as_user("rep02")
    room = f"/v/sunshine/meetings/{meeting.number}"
    qr = {"token": meeting.checkin_code}
    before = records(demo)
    for data in ({}, qr, {"code": "1234"}, {**qr, "code": "12345x"}):
        refused = rep.post(f"{room}/checkin", data={"csrf_token": token(rep, room), **data})
        assert refused.status_code == 400 and "cloud.presence" in refused.get_data(as_text=True)
    assert records(demo) == before
    assert as_user("clerk").get(f"{room}/hall.json").get_json()["present"] == 0
    # typed from the hall screen, it is the member's own check-in by code
    code = as_user("clerk").get(f"{room}/hall.json").get_json()["presence"]["code"]
    done = rep.post(f"{room}/checkin", data={"csrf_token": token(rep, room), "code": code})
    assert done.status_code == 302 and records(demo) == before + 1
    assert last_body(demo, "meeting.attend")["proof"] == "code"


@pytest.mark.parametrize("username", ["rep01", "supervisor"])
def test_only_the_hall_screen_shows_the_live_code_and_qr(as_user, demo: Flask,  # type: ignore[no-untyped-def]
                                                         username: str) -> None:
    meeting = meeting_today(demo, present=3)
    room = f"/v/sunshine/meetings/{meeting.number}"
    other = as_user(username)
    feed = other.get(f"{room}/hall.json").get_json()
    assert feed["presence"] is None and feed["present"] == 3
    hall = other.get(f"{room}/hall").get_data(as_text=True)
    assert "<svg" not in hall and meeting.checkin_code not in hall
    assert meeting.checkin_code not in other.get(room).get_data(as_text=True)
    live = as_user("clerk").get(f"{room}/hall.json").get_json()["presence"]
    assert live["code"] not in hall.split('id="presence-code">')[1][:20]


def test_a_clerk_entered_check_in_is_recorded_and_shown_as_such(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=0)
    room = f"/v/sunshine/meetings/{meeting.number}"
    clerk = as_user("clerk")
    member = account_person(demo, "rep03")
    assert clerk.post(f"{room}/checkin-{member}",
                      data={"csrf_token": token(clerk, room)}).status_code == 302
    body = last_body(demo, "meeting.attend")
    _, _, clerk_id = ids(demo)
    assert (body["member"], body["person"], body["role"], body["proof"]) == (
        member, clerk_id, "clerk", "clerk")
    (entry,) = clerk.get(f"{room}/hall.json").get_json()["attendance"]
    assert entry["by_clerk"] is True
    hall = as_user("rep01").get(f"{room}/hall").get_data(as_text=True)
    assert "由村务工作者登记" in hall.split('id="attendance"')[1]
    assert "由村务工作者登记" in clerk.get(room).get_data(as_text=True)


def test_the_hall_device_without_the_pin_needs_a_supervisor(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, mode=VoteMode.NAMED)
    room = f"/v/sunshine/meetings/{meeting.number}"
    clerk = as_user("clerk")
    member = account_person(demo, "rep04")
    page = clerk.get(room).get_data(as_text=True)
    assert 'name="pin"' in page
    before = records(demo)
    cast = clerk.post(f"{room}/vote-1", data={"csrf_token": token(clerk, room),
                                              "member": member, "choice": "yes"})
    assert cast.status_code == 302 and records(demo) == before  # not counted yet
    assert clerk.get(f"{room}/hall.json").get_json()["polls"][0]["received"] == 1
    closing = clerk.post(f"{room}/closepoll-1", data={"csrf_token": token(clerk, room)})
    assert closing.status_code == 409
    assert "assembly.paper_unconfirmed" in closing.get_data(as_text=True)
    wrong = clerk.post(f"{room}/vote-1", data={"csrf_token": token(clerk, room), "pin": "123456",
                                               "member": account_person(demo, "rep05"),
                                               "choice": "no"})
    assert wrong.status_code == 403 and "cloud.device" in wrong.get_data(as_text=True)
    supervisor = as_user("supervisor")
    sup_page = supervisor.get(room).get_data(as_text=True)
    assert "会场设备选票（未输入PIN码）" in sup_page
    batch = re.search(r'action="[^"]*/confirm-(\d+)"', sup_page)
    assert batch
    confirmed = supervisor.post(f"{room}/confirm-{batch.group(1)}",
                                data={"csrf_token": token(supervisor, room)})
    assert confirmed.status_code == 302 and records(demo) == before + 2
    body = last_body(demo, "ballot.cast")
    assert (body["member"], body["channel"], body["proof"]) == (member, "device", "confirmed")


def test_an_unknown_receipt_code_is_said_plainly(demo: Flask) -> None:
    page = demo.test_client().get("/p/sunshine/receipt?ballot=" + "A" * 22).get_data(
        as_text=True)  # well formed, but no such ballot
    assert "没有这个回执码" in page


# --- Attendance as clerks run it (issue 15, item 3) ----------------------------------------------


def roster_of(app: Flask, number: int) -> list[int]:
    from sunvote.models import Meeting

    with app.app_context():
        return list(db.session.execute(select(MeetingMember.person_id).join(
            Meeting, Meeting.id == MeetingMember.meeting_id).join(
            Village, Village.id == Meeting.village_id).where(
            Meeting.number == number, Village.code == "sunshine")
            .order_by(MeetingMember.person_id)).scalars())


def present_now(app: Flask) -> set[int]:
    from sunvote.models import Attendance, Meeting

    with app.app_context():
        return set(db.session.execute(select(Attendance.person_id).join(
            Meeting, Meeting.id == Attendance.meeting_id).where(
            Meeting.state == "open")).scalars())


def name_of(app: Flask, person: int) -> str:
    with app.app_context():
        person_row = db.session.get(Person, person)
        assert person_row is not None
        return person_row.name


def test_the_clerk_checks_in_the_ticked_members_from_the_room(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=2)
    room = f"/v/sunshine/meetings/{meeting.number}"
    roster = roster_of(demo, meeting.number)
    clerk = as_user("clerk")
    html = clerk.get(room).get_data(as_text=True)
    section = html.split('id="attendance"')[1]
    assert 'data-live="attendance"' in html.split('id="attendance"')[0][-80:] + section[:40]
    assert f'value="{roster[0]}"' not in section and f'value="{roster[2]}"' in section
    assert "js/checkin." in html and f'action="{room}/checkin-many"' in section
    # the name box works without script: ?q= filters the list on the server
    wanted = name_of(demo, roster[5])
    found = clerk.get(f"{room}?q={wanted}").get_data(as_text=True).split('id="checkin-list"')[1]
    found = found.split("</ul>")[0]
    assert f'value="{roster[5]}"' in found and f'value="{roster[6]}"' not in found
    before = records(demo)
    done = clerk.post(f"{room}/checkin-many", data={
        "csrf_token": token(clerk, room), "member": [str(roster[2]), str(roster[3])]})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{room}#attendance")
    assert records(demo) == before + 2
    assert present_now(demo) == set(roster[:4])
    body = last_body(demo, "meeting.attend")
    assert (body["member"], body["role"], body["proof"]) == (roster[3], "clerk", "clerk")


def test_all_present_except_the_ticked_from_the_room(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=1)
    room = f"/v/sunshine/meetings/{meeting.number}"
    roster = roster_of(demo, meeting.number)
    clerk = as_user("clerk")
    assert f'action="{room}/checkin-except"' not in clerk.get(f"{room}?q=x").get_data(
        as_text=True)  # not while the list is filtered: the hidden would be checked in
    done = clerk.post(f"{room}/checkin-except", data={
        "csrf_token": token(clerk, room), "member": [str(roster[-1]), str(roster[-2])]})
    assert done.status_code == 302
    assert present_now(demo) == set(roster[:-2])


def test_bad_check_in_selections_are_refused_keeping_the_ticks(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=1)
    room = f"/v/sunshine/meetings/{meeting.number}"
    roster = roster_of(demo, meeting.number)
    with demo.app_context():
        elsewhere = db.session.execute(select(Account.person_id).join(
            Person, Person.id == Account.person_id).where(Person.name != "")
            .where(Account.person_id.not_in(roster))).scalars().first()
    clerk = as_user("clerk")
    before = records(demo)
    cases = {
        "checkin-many": [([], 400, "input.invalid"), (["abc", str(roster[3])], 400,
                                                       "input.invalid"),
                         (["²"], 400, "input.invalid"),
                         ([str(roster[3]), "999999"], 403, "assembly.not_member"),
                         ([str(roster[3]), str(elsewhere)], 403, "assembly.not_member"),
                         ([str(roster[3]), str(roster[0])], 409, "assembly.attendance")],
        "checkin-except": [([str(roster[0])], 409, "assembly.attendance"),
                           (["1x"], 400, "input.invalid"),
                           ([str(m) for m in roster[1:]], 400, "input.invalid")],
    }
    for action, selections in cases.items():
        for members, status, rule in selections:
            refused = clerk.post(f"{room}/{action}", data={
                "csrf_token": token(clerk, room), "member": members})
            html = refused.get_data(as_text=True)
            assert (refused.status_code, rule in html) == (status, True), (action, members)
            if action == "checkin-many" and str(roster[3]) in members:  # the ticks are kept
                assert re.search(rf'value="{roster[3]}" checked', html), members
    assert records(demo) == before and present_now(demo) == {roster[0]}


def test_check_in_of_several_needs_an_open_meeting_and_a_runner(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=1)
    room = f"/v/sunshine/meetings/{meeting.number}"
    roster = roster_of(demo, meeting.number)
    before = records(demo)
    rep = as_user("rep01")
    refused = rep.post(f"{room}/checkin-many", data={"csrf_token": token(rep, room),
                                                     "member": [str(roster[4])]})
    assert refused.status_code == 403 and "procedure.role" in refused.get_data(as_text=True)
    clerk = as_user("clerk")
    assert clerk.post(f"{room}/close", data={"csrf_token": token(clerk, room)}).status_code == 302
    closed = records(demo)
    for action in ("checkin-many", "checkin-except", f"leave/{roster[0]}"):
        refused = clerk.post(f"{room}/{action}", data={"csrf_token": token(clerk, room),
                                                       "member": [str(roster[4])]})
        assert refused.status_code == 409, action
        assert "assembly.meeting_state" in refused.get_data(as_text=True)
    assert records(demo) == closed == before + 1


def test_leaving_from_the_room_lowers_the_count_of_the_next_poll(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=23)
    room = f"/v/sunshine/meetings/{meeting.number}"
    roster = roster_of(demo, meeting.number)
    rep = as_user("rep02")
    me = account_person(demo, "rep02")
    assert me in roster[:23]
    mine = rep.get(room).get_data(as_text=True)
    top = mine.split('id="my-presence"')[1].split("</section>")[0]
    assert "我要离场" in top and f'action="{room}/leave/{me}"' in top
    assert rep.post(f"{room}/leave/{me}", data={"csrf_token": token(rep, room)}
                    ).status_code == 302
    assert (last_body(demo, "meeting.leave")["role"], me in present_now(demo)) == ("member",
                                                                                    False)
    # back on their page: the check-in card with the live-code field, at the top
    again = rep.get(room).get_data(as_text=True)
    assert again.index('id="my-presence"') < again.index('id="polls"')
    assert 'id="checkin-code"' in again.split('id="my-presence"')[1].split("</section>")[0]
    clerk = as_user("clerk")
    other = roster[0]
    assert f'action="{room}/leave/{other}"' in clerk.get(room).get_data(as_text=True)
    assert clerk.post(f"{room}/leave/{other}", data={"csrf_token": token(clerk, room)}
                      ).status_code == 302
    assert last_body(demo, "meeting.leave")["role"] != "member"
    _, road, _ = ids(demo)
    assert clerk.post(f"{room}/poll-{road}", data={"csrf_token": token(clerk, room),
                                                   "mode": "named"}).status_code == 302
    assert last_body(demo, "poll.open")["present"] == 21
    assert "开始时到会21人" in clerk.get(room).get_data(as_text=True)


@pytest.mark.parametrize(("who", "member", "status", "rule"), [
    ("clerk", "absent", 409, "assembly.leave"),
    ("clerk", "elsewhere", 403, "assembly.not_member"),
    ("rep01", "other", 403, "procedure.role")])
def test_bad_leaves_are_refused_and_write_nothing(as_user, demo: Flask, who: str,  # type: ignore[no-untyped-def]
                                                  member: str, status: int, rule: str) -> None:
    meeting = meeting_today(demo, present=3)
    room = f"/v/sunshine/meetings/{meeting.number}"
    roster = roster_of(demo, meeting.number)
    target = {"absent": roster[-1], "elsewhere": 999999, "other": roster[0]}[member]
    client = as_user(who)
    before = records(demo)
    refused = client.post(f"{room}/leave/{target}", data={"csrf_token": token(client, room)})
    assert refused.status_code == status and rule in refused.get_data(as_text=True)
    assert records(demo) == before
    assert client.post(f"{room}/leave/abc", data={"csrf_token": token(client, room)}
                       ).status_code == 404


def test_any_name_search_answers_the_room(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, present=1)
    room = f"/v/sunshine/meetings/{meeting.number}"
    clerk = as_user("clerk")
    for query in ("%", "_", "'\"<b>", "王" * 500, "%ZZ"):
        page = clerk.get(room, query_string={"q": query})
        assert page.status_code == 200, query
        assert "<b>" not in page.get_data(as_text=True).split('id="attendance"')[1]
    assert clerk.get(room, query_string={"q": "\x00"}).status_code == 400  # NUL: refused
