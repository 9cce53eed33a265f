"""The notice pages (issue 18): a representative's inbox with its unread badge and read
receipts, landing on the page the notice acts on; the meeting page's "通知送达情况" and its
warning for those who run the meeting; the letters PDF; a letter's signed slip and its photo;
"send again". Refusals (someone else's notice, a non-runner, a slip that is no photo) are pages
naming their rule, never a 500."""

from __future__ import annotations

import datetime as dt
import io
import re

import time_machine
from flask import Flask
from sqlalchemy import select

from sunvote.domain.notices import NoticeChannel, NoticeEvent, NoticeState
from sunvote.extensions import db
from sunvote.models import Meeting, Notice, Person, Village
from sunvote.models.base import utcnow
from sunvote.services import notices
from sunvote.services.unit_of_work import use_case
from tests.conftest import csrf_token

PNG = b"\x89PNG\r\n\x1a\n" + b"signed slip" * 20


def demo_meeting(app: Flask) -> tuple[int, dict[str, int]]:
    """The demo's convened meeting: its number and its notices' ids by "name:channel"."""
    with app.app_context():
        meeting = db.session.execute(select(Meeting).where(
            Meeting.state == "convened").order_by(Meeting.id)).scalars().first()
        assert meeting is not None
        rows = db.session.execute(select(Notice, Person.name).join(
            Person, Person.id == Notice.person_id).where(Notice.meeting_id == meeting.id)).all()
        return meeting.number, {f"{name}:{n.channel.value}": n.id for n, name in rows}


def badge(page: str) -> int | None:
    found = re.search(r'class="badge unread-badge"[^>]*>(\d+)<', page)
    return int(found.group(1)) if found else None


def post(client, path: str, data: dict | None = None, **kw):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_token(client, "/me/notices"),
                                   **(data or {})}, **kw)


def test_a_representative_reads_the_meeting_notice_in_the_inbox(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    number, ids = demo_meeting(demo)
    rep = as_user("rep01")
    home = rep.get("/me/notices").get_data(as_text=True)
    unread = badge(home)
    assert unread is not None and unread >= 1
    assert "未读" in home and "会议通知" in home and "村民代表会议通知" in home
    opened = post(rep, f"/me/notices/{ids['李秀英:inbox']}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/v/sunshine/meetings/{number}")
    after = rep.get("/me/notices").get_data(as_text=True)
    assert badge(after) == (unread - 1 or None)
    with demo.app_context():
        assert db.session.get(Notice, ids["李秀英:inbox"]).read_at is not None
    # The clerk's meeting page shows it read.
    room = as_user("clerk").get(f"/v/sunshine/meetings/{number}").get_data(as_text=True)
    row = room.split(f'data-notice="{ids["李秀英:inbox"]}"')[1].split("</li>")[0]
    assert "已读" in row


def test_someone_elses_notice_is_not_found_and_nothing_is_written(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    _number, ids = demo_meeting(demo)
    rep = as_user("rep01")
    for notice in (ids["梁华:inbox"], ids["李秀英:letter"], 10**9):
        answer = post(rep, f"/me/notices/{notice}/open")
        assert answer.status_code == 404, answer.status_code
        assert "notice.unknown" in answer.get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Notice, ids["梁华:inbox"]).read_at is None
    assert as_user("rep01").get("/me/notices").status_code == 200
    assert demo.test_client().get("/me/notices").status_code == 302  # to the login page


@use_case
def add_notice(person: int, link: str) -> int:
    v = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one()
    row = db.session.get(Person, person)
    assert row is not None
    written = notices.write_notices(NoticeEvent.RED_WARNING, [row], "测试", link,
                                    key=f"test:{link}", now=utcnow(), village=v)
    key = next(n.key for n in written if n.channel is NoticeChannel.INBOX)
    return db.session.execute(select(Notice.id).where(Notice.key == key)).scalar_one()


def test_a_notice_leads_only_to_a_page_of_this_site(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    rep = as_user("rep01")
    with demo.app_context():
        me = db.session.execute(select(Person.id).where(Person.name == "李秀英")).scalar_one()
        away = [add_notice(me, link) for link in ("//evil.example/x", "https://evil.example",
                                                   "/\\evil.example", "javascript:alert(1)")]
    for notice in away:
        answer = post(rep, f"/me/notices/{notice}/open")
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/me/notices")


def test_the_meeting_page_shows_who_was_reached_and_warns(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    number, _ids = demo_meeting(demo)
    room = as_user("clerk").get(f"/v/sunshine/meetings/{number}").get_data(as_text=True)
    assert "通知送达情况" in room and "打印书面通知" in room
    assert "notice.not_reached" in room and "未收到会议通知" in room
    assert room.count('class="reach-member"') >= 20
    assert "待打印、签收" in room and "尚未送达" in room
    rep_room = as_user("rep01").get(f"/v/sunshine/meetings/{number}").get_data(as_text=True)
    assert "notice.not_reached" not in rep_room and "通知送达情况" not in rep_room
    chair_room = as_user("supervisor").get(f"/v/sunshine/meetings/{number}").get_data(
        as_text=True)
    assert "notice.not_reached" in chair_room and "通知送达情况" not in chair_room
    dashboard = as_user("clerk").get("/v/sunshine/").get_data(as_text=True)
    assert "notice.not_reached" in dashboard and f"/meetings/{number}#reach" in dashboard
    english = as_user("clerk").get(f"/v/sunshine/meetings/{number}?lang=en").get_data(
        as_text=True)
    assert "Notice delivery" in english


def test_the_clerk_prints_the_letters_and_records_a_signed_slip(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    number, ids = demo_meeting(demo)
    clerk, rep = as_user("clerk"), as_user("rep01")
    base = f"/v/sunshine/meetings/{number}"
    letters = clerk.get(f"{base}/letters.pdf")
    assert letters.status_code == 200 and letters.mimetype == "application/pdf"
    assert letters.data.startswith(b"%PDF-")
    assert rep.get(f"{base}/letters.pdf").status_code == 403
    letter = ids["陈丽:letter"]
    slip = f"{base}/notices/{letter}/slip"
    assert clerk.get(slip + "-photo").status_code == 404  # no photo yet
    for who, name, data, status, rule in (
            (rep, "回执.png", PNG, 403, "procedure.role"),
            (clerk, "回执.pdf", b"%PDF-1.4\n" + b"x" * 40, 400, "notice.slip_photo"),
            (clerk, "回执.png", b"no image here", 400, "input.invalid")):
        answer = post(who, slip, {"photo": (io.BytesIO(data), name)},
                      content_type="multipart/form-data")
        assert answer.status_code == status, (name, answer.status_code)
        assert rule in answer.get_data(as_text=True)
    answer = post(clerk, slip, content_type="multipart/form-data")  # no file at all
    assert answer.status_code == 400
    done = post(clerk, slip, {"photo": (io.BytesIO(PNG), "回执.png")},
                content_type="multipart/form-data")
    assert done.status_code == 302 and done.headers["Location"].endswith("#reach")
    photo = clerk.get(slip + "-photo")
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data == PNG
    assert rep.get(slip + "-photo").status_code == 403
    room = clerk.get(base).get_data(as_text=True)
    row = room.split(f'data-notice="{letter}"')[1].split("</li>")[0]
    assert "已签收" in row and "回执照片" in row


@use_case
def fail(notice_id: int) -> None:
    notice = db.session.get(Notice, notice_id)
    assert notice is not None
    notice.channel, notice.state, notice.last_error = (NoticeChannel.SMS, NoticeState.FAILED,
                                                       "isv.BUSINESS_LIMIT_CONTROL")


def test_only_a_runner_sends_a_failed_sms_again(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    number, ids = demo_meeting(demo)
    base = f"/v/sunshine/meetings/{number}"
    clerk, rep = as_user("clerk"), as_user("rep01")
    letter = ids["梁华:letter"]
    answer = post(clerk, f"{base}/notices/{letter}/resend")
    assert answer.status_code == 409 and "notice.resend" in answer.get_data(as_text=True)
    with demo.app_context():
        fail(letter)  # as if it had been an SMS the provider refused
    assert "isv.BUSINESS_LIMIT_CONTROL" in clerk.get(base).get_data(as_text=True)
    answer = post(rep, f"{base}/notices/{letter}/resend")
    assert answer.status_code == 403 and "procedure.role" in answer.get_data(as_text=True)
    assert post(as_user("clerk2"), f"{base}/notices/{letter}/resend").status_code == 403
    assert post(clerk, f"{base}/notices/{letter}/resend").status_code == 302
    with demo.app_context():
        assert db.session.get(Notice, letter).state is NoticeState.QUEUED
    assert post(clerk, f"{base}/notices/10000000/resend").status_code == 404


def test_after_the_deadline_the_warning_says_not_reached_in_time(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    number, _ids = demo_meeting(demo)
    with demo.app_context():
        meeting = db.session.execute(select(Meeting).where(Meeting.number == number)).scalar_one()
        starts, days = meeting.starts_at, meeting.notice_days
    clerk = as_user("clerk")
    before = clerk.get(f"/v/sunshine/meetings/{number}").get_data(as_text=True)
    assert "未收到会议通知，须在" in before and "未按期送达" not in before
    # the day after the deadline (the meeting day less the notice days), China time
    with time_machine.travel(starts - dt.timedelta(days=days - 1), tick=False):
        clerk = as_user("clerk")  # a session of that day
        after = clerk.get(f"/v/sunshine/meetings/{number}").get_data(as_text=True)
        dashboard = clerk.get("/v/sunshine/").get_data(as_text=True)
    assert "未按期送达" in after and "notice.not_reached" in after
    assert "未按期送达" in dashboard


def test_once_the_meeting_opens_the_reach_table_folds(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    number, _ids = demo_meeting(demo)
    convened = as_user("clerk").get(f"/v/sunshine/meetings/{number}").get_data(as_text=True)
    reach = convened.split('id="reach"')[1].split("</section>")[0]
    assert "reach-details" not in reach and 'class="reach-missing"' in reach
    with demo.app_context():
        starts_at = db.session.execute(select(Meeting.starts_at).where(
            Meeting.number == number, Meeting.state == "convened")).scalar_one()
    with time_machine.travel(starts_at.replace(tzinfo=dt.UTC) + dt.timedelta(minutes=1),
                             tick=False):
        clerk = as_user("clerk")  # logged in on the day (a session three days old has ended)
        opened = post(clerk, f"/v/sunshine/meetings/{number}/open")
        assert opened.status_code == 302
        page = clerk.get(f"/v/sunshine/meetings/{number}").get_data(as_text=True)
    with demo.app_context():
        assert db.session.execute(select(Meeting.state).where(
            Meeting.number == number)).scalar_one() == "open"
    reach = page.split('id="reach"')[1].split("</section>")[0]
    assert '<details class="reach-details">' in reach
    assert reach.index("<details") < reach.index('class="reach-member"')


def add_sms(village_code: str, state: NoticeState, age: dt.timedelta, number: str,
            error: str | None = None) -> None:
    v = db.session.execute(select(Village).where(Village.code == village_code)).scalar_one()
    written = utcnow() - age
    db.session.add(Notice(key=f"test-sms:{number}:{state}", event=NoticeEvent.POLL_OPENED,
                          channel=NoticeChannel.SMS, state=state, village_id=v.id,
                          township_id=v.township_id, address=number, text="测试", link="/",
                          created_at=written, attempts=1 if error else 0,
                          next_attempt_at=written, last_error=error))


def test_the_township_sees_its_outbox_stalled_and_what_failed(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    with demo.app_context():
        t = db.session.execute(select(Village).where(Village.code == "sunshine")).scalar_one() \
            .township.code
        calm = as_user("township").get(f"/t/{t}/notices")
        assert calm.status_code == 200 and "notice.stalled" not in calm.get_data(as_text=True)
        add_sms("sunshine", NoticeState.QUEUED, dt.timedelta(minutes=40), "13912345678")
        add_sms("sunshine", NoticeState.FAILED, dt.timedelta(hours=2), "13800001111",
                "isv.MOBILE_NUMBER_ILLEGAL")
        db.session.commit()
    page = as_user("township").get(f"/t/{t}/notices").get_data(as_text=True)
    assert "notice.stalled" in page and "最早的已等待40分钟" in page
    assert "isv.MOBILE_NUMBER_ILLEGAL" in page and "138****1111" in page
    assert "13800001111" not in page and "13912345678" not in page  # numbers stay masked
    row = page.split('data-channel="sms"')[1].split("</tr>")[0]
    assert 'data-state="queued">1<' in row and 'data-state="failed">1<' in row
    english = as_user("township").get(f"/t/{t}/notices?lang=en").get_data(as_text=True)
    assert "Notices held up" in english
    refused = as_user("clerk").get(f"/t/{t}/notices")
    assert refused.status_code == 403 and "admin.township_admin" in refused.get_data(as_text=True)
    home = as_user("township").get(f"/t/{t}/").get_data(as_text=True)
    assert f"/t/{t}/notices" in home and f'href="/t/{t}/verifier"' in home
