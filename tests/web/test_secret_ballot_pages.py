"""Secret ballots on the pages (issue 13, item 1): the clerk's screen never shows a secret
hall-device ballot's code; the member's own phone keeps it sealed until the poll closes, then
shows its choice for the check window only; the cloud receipt page shows no choice to anyone
else."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from sqlalchemy import select

from sunvote.domain.assembly import SECRET_RECEIPT_WINDOW, VoteMode
from sunvote.extensions import db
from sunvote.models import Account, Ballot, Poll
from tests.conftest import csrf_token as token

from .test_assembly_pages import meeting_today

RECEIPT_CODE = re.compile(r'class="receipt-code[^"]*">([A-Za-z0-9_-]+)<')


def person(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.execute(select(Account.person_id).where(
            Account.username == username)).scalar_one()


def codes(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(Ballot.code)).scalars())


def test_the_clerks_screen_never_shows_a_secret_device_ballots_code(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, mode=VoteMode.SECRET)
    clerk = as_user("clerk")
    room = f"/v/sunshine/meetings/{meeting.number}"
    voted = clerk.post(f"{room}/vote-1", data={"csrf_token": token(clerk, room),
                                               "member": str(person(demo, "rep01")),
                                               "choice": "abstain"}, follow_redirects=True)
    text = voted.get_data(as_text=True)
    # without the member's PIN it waits for a supervisor (item 4); either way no code is shown
    assert voted.status_code == 200 and "按纸质票处理" in text
    (code,) = codes(demo)
    assert code not in text and not RECEIPT_CODE.search(text)
    assert code not in clerk.get(room).get_data(as_text=True)
    assert "sunvote_sealed" not in (voted.headers.get("Set-Cookie") or "")


def test_sealed_on_the_members_phone_then_checked_in_the_window(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    meeting = meeting_today(demo, mode=VoteMode.SECRET)
    rep = as_user("rep01")
    room = f"/v/sunshine/meetings/{meeting.number}"
    voted = rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "no"})
    assert voted.status_code == 302
    (code,) = codes(demo)
    page = rep.get(room).get_data(as_text=True)
    assert "您的选票已密封" in page and code not in page and not RECEIPT_CODE.search(page)
    # Another login on the same browser is shown nothing of it.
    clerk = as_user("clerk")
    clerk.post(f"{room}/closepoll-1", data={"csrf_token": token(clerk, room)})
    after = rep.get(room).get_data(as_text=True)
    assert code in after and "本机核对" in after and "<strong>反对</strong>" in after
    other = as_user("rep02")
    assert code not in other.get(room).get_data(as_text=True)
    # After the window the phone no longer shows the choice.
    with demo.app_context():
        poll = db.session.execute(select(Poll)).scalar_one()
        assert poll.closed_at is not None
        poll.closed_at -= SECRET_RECEIPT_WINDOW + dt.timedelta(minutes=1)
        db.session.commit()
    late = rep.get(room).get_data(as_text=True)
    assert "核对时限" in late and code not in late and "本机核对" not in late


def test_the_cloud_receipt_of_a_secret_ballot_shows_no_choice_to_another_device(
        demo: Flask) -> None:
    from sunvote.services import polls
    from tests.services.test_assembly import matter, pid
    from tests.services.test_cloud import AT, Phone, enrol, join, open_meeting_with_hall, vote

    with demo.app_context():
        rep20 = db.session.execute(select(Account.person_id).where(
            Account.username == "rep20")).scalar_one()
        phone = Phone()
        enrol(rep20, phone)
        meeting, _ = open_meeting_with_hall(20)
        session = join(meeting, rep20, phone).session
        poll = polls.open_poll(pid("张敏"), meeting.id, matter("001").id, VoteMode.SECRET,
                               now=AT)
        code = vote(session, meeting, poll.number, rep20, phone, "no", mode="secret").code
        poll_id = poll.id
    browser = demo.test_client()
    sealed = browser.get(f"/c/receipt/{code}").get_data(as_text=True)
    assert code not in sealed and "反对" not in sealed and "无记名表决进行中" in sealed
    with demo.app_context():
        polls.close_poll(pid("张敏"), poll_id, now=AT)
    closed = browser.get(f"/c/receipt/{code}").get_data(as_text=True)
    assert code in closed and "反对" not in closed and "assembly.ballot_sealed" not in closed
    assert "只在投票人本人的手机上显示" in closed


def test_the_public_receipt_page_answers_a_sealed_code_like_an_unknown_one(  # type: ignore[no-untyped-def]
        as_user, client, demo: Flask) -> None:
    """Before the close, a secret ballot's code is not in the ledger: the public page must not
    confirm that it is real (a buyer given the code before the close would otherwise learn it
    is one), so it answers it word for word like a made-up code."""
    meeting = meeting_today(demo, mode=VoteMode.SECRET)
    rep = as_user("rep01")
    room = f"/v/sunshine/meetings/{meeting.number}"
    rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "no"})
    (code,) = codes(demo)

    def answer(ballot: str) -> str:
        page = client.get(f"/p/sunshine/receipt?ballot={ballot}")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        return body[body.index('receipt-result'):].replace(ballot, "CODE")

    made_up = "A" * 22
    assert answer(code) == answer(made_up)
    assert client.get(f"/p/sunshine/receipt/{code}.receipt").status_code == 404


def test_the_ledger_page_warns_of_secret_ballots_an_earlier_version_wrote_with_their_channel(  # type: ignore[no-untyped-def]
        as_user, demo: Flask, monkeypatch) -> None:
    """A log from before secret ballots lost their channel verifies (the records are authentic),
    and the server-side check shows the privacy finding to the supervisors, without failing."""
    from sunvote.domain import assembly as rules
    from sunvote.services import polls

    def old_shape(meeting: int, poll: int, ballot: str, choice: rules.Choice
                  ) -> dict[str, object]:  # what versions before 2026-12 wrote
        return {**rules.secret_ballot_body(meeting, poll, ballot, choice), "channel": "hall"}

    meeting = meeting_today(demo, mode=VoteMode.SECRET)
    room = f"/v/sunshine/meetings/{meeting.number}"
    for username in ("rep01", "rep02"):
        rep = as_user(username)
        rep.post(f"{room}/vote-1", data={"csrf_token": token(rep, room), "choice": "no"})
    monkeypatch.setattr(polls, "secret_ballot_body", old_shape)
    clerk = as_user("clerk")
    assert clerk.post(f"{room}/closepoll-1", data={"csrf_token": token(clerk, room)}
                      ).status_code == 302
    monkeypatch.undo()
    supervisor = as_user("supervisor")
    supervisor.post("/v/sunshine/ledger/verify",
                    data={"csrf_token": token(supervisor, "/v/sunshine/ledger")})
    page = supervisor.get("/v/sunshine/ledger").get_data(as_text=True)
    assert "验证通过" in page and "隐私问题" in page and "ballot.secret_linkable" in page
