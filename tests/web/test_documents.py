"""The documents a village prints (sunvote/documents): each renders as a PDF whose Chinese font
is embedded and whose text reads back in Chinese; the minutes' counts are the ledger's; a secret
ballot names nobody; documents not yet due are refused with their rule; who may print what."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from typing import Any

import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sunvote import create_app
from sunvote.domain.ledger.records import parse_record
from sunvote.extensions import db
from sunvote.models import LedgerRecord, MeetingMember, Person, Village
from sunvote.services import ledger
from sunvote.services.demo import seed_demo
from tests.conftest import _empty_postgres, login

V = "sunshine"
PUBLIC = {
    "meeting notice": f"/p/{V}/meetings/5/notice.pdf",
    "minutes": f"/p/{V}/meetings/1/minutes.pdf",
    "implementation report": f"/p/{V}/m/2026-003/implementation.pdf",
    "completion certificate": f"/p/{V}/m/2026-001/completion.pdf",
    "public notice": f"/p/{V}/m/2026-005/notice.pdf",
}
RUNNERS_ONLY = {
    "sign-in sheet": f"/v/{V}/meetings/5/signin.pdf",
    "named ballots": f"/v/{V}/meetings/5/items/1/ballots-named.pdf",
    "secret ballots": f"/v/{V}/meetings/5/items/2/ballots-secret.pdf",
    "named tally sheet": f"/v/{V}/meetings/5/items/1/tally-named.pdf",
    "secret tally sheet": f"/v/{V}/meetings/1/items/2/tally-secret.pdf",
}
EXPECTED = {  # words each document must carry
    "meeting notice": ["会议通知", "第5次村民代表会议", "村东道路硬化工程", "后山集体林地重新发包",
                       "提前3天通知", "（盖章）", "通知人（签名）"],
    "minutes": ["会议记录", "到会人员", "阳光小学围墙维修", "村集体仓库出租",
                "无记名表决：只记总数"],
    "implementation report": ["实施情况报告", "村口至村委会路段安装路灯", "计划金额", "累计支出",
                              "120,000.00", "（盖章）"],
    "completion certificate": ["验收证明", "阳光小学围墙维修", "刘芳", "验收意见", "84,600.00",
                               "（盖章）"],
    "public notice": ["公示", "村民广场健身器材采购", "同意19票"],
    "sign-in sheet": ["签到表", "签名", "现场签到码", f"/v/{V}/meetings/5/checkin"],
    "named ballots": ["选票", "记名表决", "村东道路硬化工程", "同意", "反对", "弃权",
                      "投票人（签名）"],
    "secret ballots": ["选票", "无记名表决", "本票不记名"],
    "named tally sheet": ["计票单", "每位投票人的选择", "计票人（签名）", "监票人（签名）"],
    "secret tally sheet": ["计票单", "无记名表决", "收回选票"],
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None) -> Iterator[Flask]:
    """The demo with eight weeks of history (closed meetings with named and secret polls, a
    matter being implemented, a completed one, meeting 5 convened), built once."""
    tmp = tmp_path_factory.mktemp("documents")
    url = postgres_url or f"sqlite:///{tmp / 'documents.sqlite3'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUNVOTE_INSTANCE_PATH", str(tmp / "instance"))
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                          "SERVER_NAME": "sunvote.test"})
        with app.app_context():
            if postgres_url is None:
                db.create_all()
            seed_demo(history=True)
            db.session.remove()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if postgres_url is not None:
        _empty_postgres(postgres_url)


def _as(app: Flask, username: str | None) -> FlaskClient:
    client = app.test_client()
    return login(client, username) if username else client


@pytest.fixture(scope="module")
def clerk(world: Flask) -> FlaskClient:
    return _as(world, "clerk")


def _pdf(client: FlaskClient, url: str) -> tuple[pypdf.PdfReader, str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, text


def _fonts(reader: pypdf.PdfReader) -> list[dict[str, Any]]:
    """Every font dictionary used on the pages, with its descendant's descriptor."""
    found = []
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            found.append({"name": font.get("/BaseFont"),
                          "descriptor": descriptor.get_object() if descriptor else None})
    return found


@pytest.mark.parametrize("name", [*PUBLIC, *RUNNERS_ONLY])
def test_each_document_embeds_its_chinese_font_and_reads_back_in_chinese(
        clerk: FlaskClient, name: str) -> None:
    reader, text = _pdf(clerk, {**PUBLIC, **RUNNERS_ONLY}[name])
    fonts = _fonts(reader)
    assert fonts
    for font in fonts:  # every font on every page is embedded: no reader shows boxes
        descriptor = font["descriptor"]
        assert descriptor is not None, font["name"]
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor, font["name"]
    flat = re.sub(r"\s+", "", text)
    for word in EXPECTED[name]:
        assert re.sub(r"\s+", "", word) in flat, (name, word)


def _tallies(app: Flask, meeting: int) -> list[dict[str, Any]]:
    with app.app_context():
        v = db.session.execute(select(Village).where(Village.code == V)).scalar_one()
        rows = db.session.execute(select(LedgerRecord.seq, LedgerRecord.data).where(
            LedgerRecord.village_id == v.id, LedgerRecord.type.in_(
                ("poll.tally", "ballot.cast", "meeting.notice")))).all()
        bodies = [{"type": r.type, "seq": seq, **r.body}
                  for seq, r in ((seq, parse_record(data)) for seq, data in rows)]
        head = ledger.head(v.id)
        assert head is not None
        size = head.size
    return [dict(b, size=size) for b in bodies if b["meeting"] == meeting]


def test_the_minutes_carry_the_ledgers_counts_names_and_size(world: Flask) -> None:
    """Each poll's yes / no / abstain / did not vote as its poll.tally says; a named poll's
    voters by name with their choice; a secret poll's totals only; the log size read."""
    _reader, text = _pdf(_as(world, None), PUBLIC["minutes"])
    flat = re.sub(r"\s+", "", text)
    records = _tallies(world, 1)
    tallies = [r for r in records if r["type"] == "poll.tally"]
    assert len(tallies) == 2
    for t in tallies:
        not_voted = t["present"] - t["recused"] - t["yes"] - t["no"] - t["abstain"]
        assert (f"同意{t['yes']}票，反对{t['no']}票，弃权{t['abstain']}票，未投票{not_voted}人"
                in flat)
    named = [r for r in records if r["type"] == "ballot.cast"]
    assert named
    choice = {"yes": "同意", "no": "反对", "abstain": "弃权"}
    for ballot in named:
        assert f"{ballot['member_name']}{choice[ballot['choice']]}" in flat
    assert f"账本共{records[0]['size']}条记录" in flat
    notice = next(r for r in records if r["type"] == "meeting.notice")  # the legal notice
    assert f"通知{notice['recipients']}人（账本第{notice['seq']}号记录）" in flat
    # the secret poll (2): nobody's choice is listed for it
    secret_part = flat.split("第2项")[1].split("三、核验")[0]
    assert "投票方式" not in secret_part and "无记名表决：只记总数" in secret_part


def test_a_secret_ballot_names_nobody_and_a_named_one_names_each_member(
        world: Flask, clerk: FlaskClient) -> None:
    with world.app_context():
        names = list(db.session.execute(select(Person.name).join(
            MeetingMember, MeetingMember.person_id == Person.id).where(
            MeetingMember.meeting_id == 1)).scalars())
    assert names
    _r, secret = _pdf(clerk, RUNNERS_ONLY["secret ballots"])
    _r, named = _pdf(clerk, RUNNERS_ONLY["named ballots"])
    secret, named = re.sub(r"\s+", "", secret), re.sub(r"\s+", "", named)
    assert "投票人：" not in secret
    for name in names:
        assert name not in secret
        assert f"投票人：{name}" in named


@pytest.mark.parametrize(("url", "rule", "english"), [
    (f"/p/{V}/meetings/5/minutes.pdf", "documents.minutes_after_close", "minutes"),
    (f"/p/{V}/m/2026-005/implementation.pdf", "documents.report_after_start",
     "implementation report"),
    (f"/p/{V}/m/2026-003/completion.pdf", "documents.certificate_after_completion",
     "completion certificate"),
])
def test_a_document_not_yet_due_is_refused_in_both_languages(
        world: Flask, url: str, rule: str, english: str) -> None:
    response = _as(world, None).get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and rule in page
    assert english in page  # the English line under the Chinese one
    assert "后才能生成" in page


def test_without_a_font_file_printing_is_refused_clearly(world: Flask) -> None:
    world.config["PDF_FONT"] = os.path.join(os.sep, "nonexistent", "font.ttf")
    try:
        response = _as(world, None).get(PUBLIC["meeting notice"])
    finally:
        world.config["PDF_FONT"] = None
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and "documents.font_missing" in page
    assert "找不到可嵌入PDF的中文字体" in page and "SUNVOTE_PDF_FONT" in page


@pytest.mark.parametrize("who", [None, "rep01", "supervisor", "clerk2"])
def test_sign_in_sheets_ballots_and_tally_sheets_are_for_those_who_run_the_meeting(
        world: Flask, who: str | None) -> None:
    client = _as(world, who)
    for url in RUNNERS_ONLY.values():
        response = client.get(url)
        if who is None:
            assert response.status_code == 302 and "/login" in response.location
        else:
            assert response.status_code in (403, 404), (who, url)
    for url in PUBLIC.values():  # public papers: anyone
        assert client.get(url).status_code == 200


def test_the_documents_stay_chinese_in_the_english_ui_and_the_links_are_translated(
        world: Flask, clerk: FlaskClient) -> None:
    _r, text = _pdf(clerk, PUBLIC["public notice"] + "?lang=en")
    assert "公示" in text and "Public notice" not in text
    room = clerk.get(f"/v/{V}/meetings/1?lang=en").get_data(as_text=True)
    assert f"/v/{V}/meetings/1/signin.pdf" in room and f"/p/{V}/meetings/1/minutes.pdf" in room
    assert "Sign-in sheet (PDF)" in room and "Minutes (PDF)" in room
    clerk.get("/?lang=zh")
    room = clerk.get(f"/v/{V}/meetings/5").get_data(as_text=True)
    assert "签到表（PDF）" in room and "会议结束后可打印会议记录" in room
    assert f"/v/{V}/meetings/5/items/2/ballots-secret.pdf" in room
    rep = _as(world, "rep01").get(f"/v/{V}/meetings/5").get_data(as_text=True)
    assert "会议通知（PDF）" in rep and "signin.pdf" not in rep and "ballots-" not in rep
    public = _as(world, None).get(f"/p/{V}/m/2026-001").get_data(as_text=True)
    assert f"/p/{V}/m/2026-001/completion.pdf" in public
    assert f"/p/{V}/meetings/1/minutes.pdf" in public
    staff = clerk.get(f"/v/{V}/m/2026-003").get_data(as_text=True)
    assert f"/p/{V}/m/2026-003/implementation.pdf" in staff and "completion.pdf" not in staff
