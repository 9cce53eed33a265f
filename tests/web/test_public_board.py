"""The villagers' public board without an account: the village board grouped by state, a
matter's public page in every state (steps, results, notice, objections, implementation,
satisfaction, ledger status), the objection and rating forms with each refusal writing nothing,
receipt checks, public downloads, the printable notice and its PDF — and never an ID or phone
number, nor an objector's name or household."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from sunvote.domain.assembly import VoteMode
from sunvote.domain.procedure import Action
from sunvote.extensions import db
from sunvote.models import Ballot, Household, LedgerRecord, Objection, Person, Rating
from sunvote.services import assembly, ballots, matters, polls, supervision
from sunvote.services.files import Upload
from tests.conftest import csrf_token
from tests.services.test_assembly import matter, members, pid, village

DAY = dt.timedelta(days=1)
PHOTO = Upload("路基照片.png", b"\x89PNG\r\n\x1a\n" + b"road base" * 30)
#: A villager who appears nowhere but as an objector: her name and household must stay private.
OBJECTOR = ("H-7301", "黄小梅")
ID_NUMBER, PHONE = "330102199001011234", "13912345678"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def vote(suffix: str, at: dt.datetime, choice: str = "yes",
         mode: VoteMode = VoteMode.NAMED) -> str:
    """Matter ``suffix`` (filed) is voted on at ``at`` by everyone present; returns its number.
    Call inside an app context."""
    clerk = pid("张敏")
    m = matter(suffix)
    meeting = assembly.convene(clerk, village().id, "第四季度村民代表会议", "村委会议室", at,
                               [m.id], now=at - 3 * DAY)
    assembly.open_meeting(clerk, meeting.id, now=at)
    roster = members(meeting.id)
    for member in roster:
        assembly.check_in(clerk, meeting.id, member, now=at)
    poll = polls.open_poll(clerk, meeting.id, m.id, mode, now=at)
    for member in roster:
        ballots.cast_ballot(member, poll.id, member, choice, now=at)
    polls.close_poll(clerk, poll.id, now=at)
    assembly.close_meeting(clerk, meeting.id, now=at)
    return m.number


def file_second_matter(at: dt.datetime) -> None:
    """The demo's matter 002 through the joint meeting and the township's filing."""
    m = matter("002")
    matters.act(m.id, Action.DISCUSS, pid("张敏"), {
        "meeting_date": at.date().isoformat(), "expected": 9, "present": 9,
        "minutes": "同意提交审议", "plan": "公开竞价发包"}, now=at)
    matters.act(m.id, Action.FILE, pid("孙伟"), {"filing_no": "阳光镇备〔2026〕18号"}, now=at)


def take_to(app: Flask, state: str) -> str:
    """Put the demo's road matter (001) into ``state``; returns its number."""
    with app.app_context():
        if state == "filed":
            return matter("001").number
        if state == "rejected":
            return vote("001", now() - dt.timedelta(hours=1), "no")
        if state == "passed":
            return vote("001", now() - dt.timedelta(hours=1))
        start = now() - 10 * DAY
        number = vote("001", start)
        road = matter("001").id
        clerk, chair, other = pid("张敏"), pid("刘芳"), pid("周涛")
        matters.act(road, Action.START_IMPLEMENTATION, clerk, {}, now=start + 6 * DAY)
        first = supervision.record_update(clerk, road, "路基完成", 40, "120000.50", "路基压实",
                                          [PHOTO], now=start + 6 * DAY)
        supervision.confirm_update(chair, first.id, now=start + 6 * DAY)
        if state == "implementing":
            return number
        last = supervision.record_update(clerk, road, "路面浇筑完成", 100, "300000", "",
                                         now=start + 7 * DAY)
        supervision.confirm_update(other, last.id, now=start + 7 * DAY)
        matters.act(road, Action.COMPLETE, chair, {"report": "验收合格，路面平整"},
                    now=start + 8 * DAY)
        assert state == "completed"
        return number


def add_objector(app: Flask) -> None:
    with app.app_context():
        household = Household(village_id=village().id, number=OBJECTOR[0],
                              head_name=OBJECTOR[1])
        db.session.add(household)
        db.session.commit()


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (Objection, Rating, LedgerRecord))  # type: ignore[return-value]


def text_of(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    return response.get_data(as_text=True)


def post(client: FlaskClient, path: str, form: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    """Post a public form; the session's CSRF token is read from the suggestion form, so a
    post can be forged where the page shows no form."""
    payload = {f"{form}-{k}": v for k, v in data.items()}
    payload[f"{form}-csrf_token"] = csrf_token(client, "/p/sunshine/suggest")
    return client.post(path, data=payload)


# --- Pages --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "expected"), [
    ("filed", ["已备案，待票决", "第4步", "审议通过，予以备案", "阳光镇备〔2026〕17号"]),
    ("passed", ["公示中，至", "还剩", "我有异议", "通过", "同意", "记名投票", "计票结果",
                "打印公示"]),
    ("rejected", ["未通过", "表决未通过，结果已于", "反对"]),
    ("implementing", ["实施情况", "路基完成", "40%", "¥ 120,000.50", "监督委员会已确认",
                      "路基照片.png", "SHA-256"]),
    ("completed", ["群众满意度", "还没有评价", "验收报告", "验收合格，路面平整", "100%",
                   "我来评价"]),
])
def test_the_matter_page_shows_each_state(demo: Flask, state: str, expected: list[str]) -> None:
    number = take_to(demo, state)
    page = text_of(demo.test_client(), f"/p/sunshine/m/{number}")
    for text in [*expected, "村东道路硬化工程", "办理记录", "自己验证", "下载账本",
                 "sunvote ledger verify", "查验投票回执"]:
        assert text in page, text
    if state != "passed":
        assert "我有异议" not in page
    if state != "completed":
        assert "我来评价" not in page


def test_the_village_board_groups_matters_and_links_each(demo: Flask) -> None:
    number = take_to(demo, "passed")
    page = text_of(demo.test_client(), "/p/sunshine/")
    assert page.index("公示中") < page.index("进行中")
    assert f'href="/p/sunshine/m/{number}"' in page
    for kept in ("我要提建议", "村干部和村民代表", "账本公钥", "/p/sunshine/poster",
                 "/p/sunshine/ledger.zip", "乡镇见证"):
        assert kept in page
    assert 'action="/p/sunshine/receipt"' in page


def test_the_village_board_queries_do_not_grow_with_its_matters(demo: Flask) -> None:
    client = demo.test_client()

    def statements() -> int:
        seen: list[str] = []
        with demo.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            text_of(client, "/p/sunshine/")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    with demo.app_context():
        matters.act(matter("003").id, Action.WITHDRAW, pid("王建国"), {"reason": "暂缓"})
    before = statements()
    with demo.app_context():
        for i in range(6):
            opened = matters.open_matter(village().id, pid("张敏"),
                                         {"title": f"事项{i}", "text": "建议"})
        matters.act(opened.id, Action.WITHDRAW, pid("王建国"), {"reason": "暂缓"})
    assert statements() == before


def test_public_pages_show_no_id_or_phone_numbers_nor_objectors(demo: Flask) -> None:
    add_objector(demo)
    number = take_to(demo, "passed")
    with demo.app_context():
        for person in db.session.execute(select(Person).where(
                Person.village_id == village().id)).scalars():
            person.id_number = f"{ID_NUMBER[:-4]}{person.id:04d}"
            person.phone = PHONE
        db.session.commit()
    client = demo.test_client()
    response = post(client, f"/p/sunshine/m/{number}/object", "objection",
                    {"household": OBJECTOR[0], "name": OBJECTOR[1], "text": "招标没有公开"})
    assert response.status_code == 302
    for path in ("/p/sunshine/", f"/p/sunshine/m/{number}", f"/p/sunshine/m/{number}/notice"):
        page = text_of(client, path)
        assert ID_NUMBER[:-4] not in page and PHONE not in page, path
        assert OBJECTOR[0] not in page and OBJECTOR[1] not in page, path
    assert "招标没有公开" in text_of(client, f"/p/sunshine/m/{number}")


def test_a_secret_poll_shows_counts_only(demo: Flask) -> None:
    with demo.app_context():
        number = vote("001", now() - dt.timedelta(hours=1), mode=VoteMode.SECRET)
    page = text_of(demo.test_client(), f"/p/sunshine/m/{number}")
    assert "无记名投票：只公布票数" in page and "每位代表的表决意见" not in page
    assert "陈丽" not in page.split('id="results"')[1].split("</section>")[0]


def test_unknown_village_or_matter_is_404(demo: Flask) -> None:
    client = demo.test_client()
    assert "2099-999" in text_of(client, "/p/sunshine/m/2099-999", 404)
    text_of(client, "/p/nowhere/m/2026-001", 404)
    text_of(client, "/p/sunshine/m/2026-001/notice", 404)  # not voted: nothing to post
    text_of(client, "/p/sunshine/m/2026-001/notice.pdf", 404)


# --- Forms --------------------------------------------------------------------------------------


def test_a_villager_files_an_objection_and_sees_it_listed(demo: Flask) -> None:
    add_objector(demo)
    number = take_to(demo, "passed")
    client = demo.test_client()
    before = counts(demo)
    response = post(client, f"/p/sunshine/m/{number}/object", "objection",
                    {"household": OBJECTOR[0], "name": OBJECTOR[1],
                     "text": "道路宽度与方案不符"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#objections")
    assert counts(demo) == (before[0] + 1, before[1], before[2] + 1)
    page = text_of(client, response.headers["Location"])
    assert "异议1" in page and "道路宽度与方案不符" in page and "等待答复，答复期限" in page


def test_a_household_rates_a_completed_matter(demo: Flask) -> None:
    number = take_to(demo, "completed")
    client = demo.test_client()
    before = counts(demo)
    response = post(client, f"/p/sunshine/m/{number}/rate", "rating",
                    {"household": "001", "name": "张敏", "score": "4"})
    assert response.status_code == 302
    assert counts(demo) == (before[0], before[1] + 1, before[2] + 1)
    page = text_of(client, f"/p/sunshine/m/{number}")
    assert "4.0" in page and "1户评价" in page


OBJECTION_CASES: dict[str, tuple[str, dict[str, str], int, str]] = {
    "after the notice period": ("implementing", {}, 409, "notice.objection_window"),
    "before any vote": ("filed", {}, 409, "notice.objection_window"),
    "a rejected result": ("rejected", {}, 409, "notice.objection_window"),
    "wrong name": ("passed", {"name": "不是本户的人"}, 400, "notice.objector"),
    "unknown household": ("passed", {"household": "999"}, 400, "notice.objector"),
    "empty text": ("passed", {"text": ""}, 400, ""),
    "robot": ("passed", {"website": "http://spam"}, 400, "notice.objector"),
}


@pytest.mark.parametrize("case", list(OBJECTION_CASES))
def test_bad_objections_are_refused_and_write_nothing(demo: Flask, case: str) -> None:
    state, change, status, rule = OBJECTION_CASES[case]
    number = take_to(demo, state)
    client = demo.test_client()
    data = {"household": "001", "name": "张敏", "text": "有异议", **change}
    before = counts(demo)
    response = post(client, f"/p/sunshine/m/{number}/object", "objection", data)
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:2000]
    assert "未办理" in body and rule in body
    if state == "passed":  # re-shown with what was typed
        assert 'id="object-form"' in body and data["text"] in body
    assert counts(demo) == before


RATING_CASES: dict[str, tuple[str, dict[str, str], int, str]] = {
    "not completed yet": ("implementing", {}, 409, "rating.completed_only"),
    "score too high": ("completed", {"score": "6"}, 400, "rating.score"),
    "score zero": ("completed", {"score": "0"}, 400, "rating.score"),
    "no score": ("completed", {"score": ""}, 400, "rating.score"),
    "wrong name": ("completed", {"name": "李四"}, 400, "rating.household"),
    "unknown household": ("completed", {"household": "999"}, 400, "rating.household"),
    "second rating": ("completed", {}, 409, "rating.household"),
}


@pytest.mark.parametrize("case", list(RATING_CASES))
def test_bad_ratings_are_refused_and_write_nothing(demo: Flask, case: str) -> None:
    state, change, status, rule = RATING_CASES[case]
    number = take_to(demo, state)
    client = demo.test_client()
    if case == "second rating":
        with demo.app_context():
            supervision.rate(matter("001").id, "001", "张敏", 5, "1.2.3.4")
    before = counts(demo)
    response = post(client, f"/p/sunshine/m/{number}/rate", "rating",
                    {"household": "001", "name": "张敏", "score": "3", **change})
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:2000]
    assert "未办理" in body and rule in body
    assert counts(demo) == before


def test_ratings_from_one_address_are_limited_per_hour(demo: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sunvote.domain import supervision as rules

    monkeypatch.setattr(rules, "RATINGS_PER_HOUR", 1)
    add_objector(demo)
    number = take_to(demo, "completed")
    with demo.app_context():  # one rating already came from the test client's address
        supervision.rate(matter("001").id, "001", "张敏", 5, "127.0.0.1")
    client = demo.test_client()
    before = counts(demo)
    response = post(client, f"/p/sunshine/m/{number}/rate", "rating",
                    {"household": OBJECTOR[0], "name": OBJECTOR[1], "score": "3"})
    body = response.get_data(as_text=True)
    assert response.status_code == 429, body[:2000]
    assert "同一来源每小时最多评价1次" in body and "rating.household" in body
    assert counts(demo) == before
    with demo.app_context():  # another address is not held back
        supervision.rate(matter("001").id, OBJECTOR[0], OBJECTOR[1], 3, "10.0.0.9")


# --- Receipts and files -------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["abc", "x" * 80, "有中文的回执码有中文的回执码有中文的回执",
                                  "aaaaaaaaaaaaaaaaaaaa<>", "a" * 21])
def test_malformed_receipt_codes_are_refused_with_400(demo: Flask, code: str) -> None:
    response = demo.test_client().get("/p/sunshine/receipt", query_string={"ballot": code})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "回执码格式不正确" in body and "22位" in body
    assert "assembly.ballot_id" in body
    assert "本村账本中没有这个回执码的选票" not in body


def test_a_good_receipt_code_is_proven_and_an_unknown_one_is_not_found(demo: Flask) -> None:
    take_to(demo, "passed")
    with demo.app_context():
        code = db.session.execute(select(Ballot.code).limit(1)).scalar_one()
    client = demo.test_client()
    assert "已证明" in text_of(client, f"/p/sunshine/receipt?ballot={code}")
    unknown = text_of(client, "/p/sunshine/receipt?ballot=" + "A" * 22)
    assert "本村账本中没有这个回执码的选票" in unknown


def test_documents_of_a_matter_download_publicly_and_nothing_else(demo: Flask) -> None:
    number = take_to(demo, "implementing")
    client = demo.test_client()
    import hashlib

    digest = hashlib.sha256(PHOTO.data).hexdigest()
    response = client.get(f"/p/sunshine/m/{number}/files/{digest}")
    assert response.status_code == 200 and response.data == PHOTO.data
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Security-Policy"] == "sandbox; frame-ancestors 'none'"
    other = matter_number(demo, "002")
    assert client.get(f"/p/sunshine/m/{other}/files/{digest}").status_code == 404
    assert client.get(f"/p/sunshine/m/{number}/files/{'0' * 64}").status_code == 404
    assert client.get(f"/p/breeze/m/{number}/files/{digest}").status_code == 404


def matter_number(app: Flask, suffix: str) -> str:
    with app.app_context():
        return matter(suffix).number


# --- The printable notice -----------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize(("state", "verdict"), [("passed", "通过"), ("rejected", "未通过")])
def test_the_printable_notice_and_its_pdf(demo: Flask, state: str, verdict: str) -> None:
    number = take_to(demo, state)
    client = demo.test_client()
    page = text_of(client, f"/p/sunshine/m/{number}/notice")
    for text in ("公示", "阳光村", number, "村东道路硬化工程", verdict, "同意", "表决规则",
                 "公示期", "<svg", "账本记录", "计票结果"):
        assert text in page, text
    response = client.get(f"/p/sunshine/m/{number}/notice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data)
    assert "村东道路硬化工程" in text and verdict in text and number in text
    if state == "passed":
        assert "通过：同意" in text and "异议" in text
    else:
        assert "未通过：同意" in text


def test_pages_are_in_english_too(demo: Flask) -> None:
    number = take_to(demo, "passed")
    page = text_of(demo.test_client(), f"/p/sunshine/m/{number}?lang=en")
    assert "<html lang=\"en\"" in page


@pytest.mark.parametrize("outcome", ["dismissed", "upheld"])
def test_the_committees_reply_and_the_township_cosignature_are_shown(demo: Flask,
                                                                     outcome: str) -> None:
    from sunvote.models import LedgerCosigned
    from sunvote.services import ledger

    add_objector(demo)
    number = take_to(demo, "passed")
    with demo.app_context():
        objection = supervision.file_objection(matter("001").id, *OBJECTOR, "通知没有送到",
                                               "1.2.3.4")
        supervision.reply_objection(pid("刘芳"), objection.id, outcome, "经核实已送达")
        head = ledger.head(village().id)
        assert head is not None
        db.session.add(LedgerCosigned(village_id=village().id, size=head.size,
                                      witness="demo-town witness", note=b"x"))
        db.session.commit()
    client = demo.test_client()
    page = text_of(client, f"/p/sunshine/m/{number}")
    assert "村务监督委员会答复" in page and "经核实已送达" in page and "刘芳" in page
    assert "已由乡镇见证签名" in page
    assert OBJECTOR[1] not in page
    if outcome == "dismissed":
        assert "不成立，已说明" in page and "公示中，至" in page
    else:  # the vote was flawed: back to a new vote, the old notice no longer stands
        assert "成立，退回重新票决" in page and "待重新票决" in page
        assert "公示中，至" not in page and "我有异议" not in page
        assert "原公示已失效" in text_of(client, f"/p/sunshine/m/{number}/notice", 409)


def test_step_one_scans_are_listed_but_not_downloadable(demo: Flask) -> None:
    import hashlib

    scan = Upload("建议单扫描.png", b"\x89PNG\r\n\x1a\n" + b"name and phone" * 20)
    plan = Upload("方案.pdf", b"%PDF-1.4\n% plan\n")
    with demo.app_context():
        opened = matters.open_matter(village().id, pid("张敏"),
                                     {"title": "村口路灯", "text": "建议装路灯"}, (), [scan])
        matters.act(opened.id, Action.PROPOSE, pid("王建国"), {
            "category": 2, "title": "村口路灯", "summary": "太阳能路灯20盏",
            "amount_fen": 6000000}, [plan])
        number = opened.number
    client = demo.test_client()
    page = text_of(client, f"/p/sunshine/m/{number}")
    scan_hash, plan_hash = (hashlib.sha256(u.data).hexdigest() for u in (scan, plan))
    assert scan_hash in page and plan_hash in page and "不公开下载" in page
    assert f"/files/{scan_hash}" not in page and f"/files/{plan_hash}" in page
    assert client.get(f"/p/sunshine/m/{number}/files/{scan_hash}").status_code == 404
    assert client.get(f"/p/sunshine/m/{number}/files/{plan_hash}").data == plan.data
