"""The oversight dashboard pages: who may open them, warnings that link to their target and name
their rule and limit in both languages, and the CSV / XLSX exports with Chinese headers."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from sunvote.extensions import db
from sunvote.models import LedgerVerification, Village
from sunvote.models.base import utcnow
from sunvote.services.villages import create_township, create_village


def fail_verification(app: Flask, code: str = "sunshine") -> None:
    with app.app_context():
        village = db.session.execute(select(Village).where(Village.code == code)).scalar_one()
        db.session.add(LedgerVerification(
            village_id=village.id, size=7, root=b"\0" * 32, ok=False, exit_code=1,
            failures=["5 matter.step signature: invalid"], cosigned_by=[], seconds=0.2,
            verified_at=utcnow()))
        db.session.commit()


@pytest.mark.parametrize(("username", "path", "status"), [
    ("district", "/admin/oversight", 200), ("township", "/admin/oversight", 403),
    ("clerk", "/admin/oversight", 403),
    ("township", "/t/demo-town/oversight", 200), ("district", "/t/demo-town/oversight", 200),
    ("reviewer", "/t/demo-town/oversight", 403), ("clerk", "/t/demo-town/oversight", 403),
    ("township", "/t/demo-town/oversight/v/sunshine", 200),
    ("district", "/t/demo-town/oversight/v/breeze", 200),
    ("clerk", "/t/demo-town/oversight/v/sunshine", 403),
    ("supervisor", "/t/demo-town/oversight/v/sunshine", 403),
    ("district", "/admin/oversight/villages.xlsx", 200),
    ("township", "/admin/oversight/villages.xlsx", 403),
    ("clerk", "/t/demo-town/oversight/warnings.csv", 403),
    ("township", "/t/demo-town/oversight/villages.pdf", 404),
])
def test_who_may_open_the_dashboard(as_user, username: str, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    assert as_user(username).get(path).status_code == status


def test_a_refusal_names_the_rule_in_both_languages(as_user) -> None:  # type: ignore[no-untyped-def]
    page = as_user("township").get("/admin/oversight").get_data(as_text=True)
    assert "admin.district_admin" in page
    assert "只有区级管理员可以查看全区预警与汇总" in page
    assert "Only the district administrator sees the district" in page


def test_a_village_of_another_township_is_not_found_under_this_one(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    with demo.app_context():
        hill = create_township("hill", "山岭镇")
        create_village(hill.id, "pine", "松林村")
        db.session.commit()
    assert as_user("district").get("/t/demo-town/oversight/v/pine").status_code == 404
    assert as_user("district").get("/t/hill/oversight/v/pine").status_code == 200
    # The demo township's admin does not administer 山岭镇.
    assert as_user("township").get("/t/hill/oversight").status_code == 403


def test_the_landing_pages_link_to_the_dashboard(as_user) -> None:  # type: ignore[no-untyped-def]
    assert 'href="/admin/oversight"' in as_user("district").get("/admin/").get_data(as_text=True)
    assert 'href="/t/demo-town/oversight"' in as_user("township").get(
        "/t/demo-town/").get_data(as_text=True)


def test_a_red_warning_links_to_the_ledger_and_names_its_rule_and_limit(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("district")
    assert "ledger.verification_failed" not in client.get("/admin/oversight").get_data(
        as_text=True)
    fail_verification(demo)
    page = client.get("/admin/oversight").get_data(as_text=True)
    red = page[page.index('class="warning warning-red"'):]
    red = red[:red.index("</li>")]
    assert 'href="/v/sunshine/ledger"' in red
    assert "ledger.verification_failed" in red
    assert "5 matter.step signature: invalid" in red
    assert "账本必须通过验证" in red  # the limit broken
    english = client.get("/admin/oversight?lang=en").get_data(as_text=True)
    assert "The ledger must verify" in english and "failed: 5 matter.step" in english
    # The target opens for the district admin.
    assert client.get("/v/sunshine/ledger").status_code == 200


def test_the_page_draws_its_charts_as_inline_svg(as_user) -> None:  # type: ignore[no-untyped-def]
    page = as_user("township").get("/t/demo-town/oversight").get_data(as_text=True)
    assert page.count('<svg class="chart"') == 4
    # drawn by the server: the only script is the one every page loads (static/js/page.js)
    scripts = re.findall(r"<script[^>]*>", page)
    assert len(scripts) == 1
    assert re.fullmatch(r'<script src="/static/js/page\.[0-9a-f]{12}\.js" defer>', scripts[0])


def test_the_village_drill_down_lists_open_matters_with_their_wait(as_user) -> None:  # type: ignore[no-untyped-def]
    page = as_user("township").get("/t/demo-town/oversight/v/sunshine").get_data(as_text=True)
    assert "村东道路硬化工程" in page and "后山集体林地重新发包" in page
    assert 'href="/v/sunshine/m/' in page


def test_the_csv_exports_are_utf8_with_bom_and_chinese_headers(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    fail_verification(demo)
    client = as_user("district")
    response = client.get("/admin/oversight/villages.csv")
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["乡镇", "村", "村代码", "事项总数"]
    assert [r[2] for r in rows[1:]] == ["breeze", "sunshine"]
    sunshine = dict(zip(rows[0], rows[2], strict=True))
    assert sunshine["事项总数"] == "3" and sunshine["红色预警"] == "1"
    warnings = list(csv.reader(io.StringIO(client.get(
        "/admin/oversight/warnings.csv").data.decode("utf-8-sig"))))
    assert warnings[0] == ["颜色", "规则代码", "规则", "乡镇", "村", "对象", "情况", "突破的限值"]
    assert warnings[1][:2] == ["红", "ledger.verification_failed"]
    assert warnings[1][4] == "阳光村" and "账本必须通过验证" in warnings[1][7]


def test_the_xlsx_export_has_a_village_sheet_and_a_warning_sheet(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    fail_verification(demo)
    response = as_user("township").get("/t/demo-town/oversight/villages.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["村汇总", "预警"]
    villages = [[c.value for c in row] for row in book["村汇总"].iter_rows()]
    assert villages[0][:3] == ["乡镇", "村", "村代码"]
    assert [r[1] for r in villages[1:]] == ["清风村", "阳光村"]
    warnings = [[c.value for c in row] for row in book["预警"].iter_rows()]
    assert warnings[1][:2] == ["红", "ledger.verification_failed"]


def test_the_district_page_lists_townships_with_their_figures_and_warning_counts(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    fail_verification(demo)
    page = as_user("district").get("/admin/oversight").get_data(as_text=True)
    townships = page[page.index('township-table'):]
    townships = townships[:townships.index("</table>")]
    assert 'href="/t/demo-town/oversight"' in townships
    assert '<span class="tag tag-red">1</span>' in townships
    assert '<td data-label="村数">2</td>' in townships  # 阳光村 and 清风村
    assert "village-table" not in page  # villages are one click away, on the township's page
    # A township's own page lists its villages instead.
    own = as_user("township").get("/t/demo-town/oversight").get_data(as_text=True)
    assert "township-table" not in own
    villages = own[own.index("village-table"):]
    assert 'href="/t/demo-town/oversight/v/sunshine"' in villages


def test_warnings_are_listed_by_colour_and_page(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    fail_verification(demo)
    client = as_user("district")
    red = client.get("/admin/oversight?colour=red").get_data(as_text=True)
    listed = red[red.index('<ul class="warnings">'):]
    listed = listed[:listed.index("</ul>")]
    assert listed.count('class="warning warning-red"') == 1
    assert "warning-yellow" not in listed and "warning-blue" not in listed
    everything = client.get("/admin/oversight").get_data(as_text=True)
    assert everything.count('class="warning warning-') > 1


@pytest.mark.parametrize(("query", "message"), [
    ("colour=purple", "没有这种预警颜色：purple"),
    ("page=0", "分页参数page须不小于1"),
    ("page=x", "分页参数page须为整数"),
    ("page=9", "第9页不存在"),
])
def test_a_wrong_filter_or_page_is_refused_naming_the_rule(as_user, query: str, message: str  # type: ignore[no-untyped-def]
                                                           ) -> None:
    response = as_user("district").get(f"/admin/oversight?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert ("input.invalid" if "colour" in query else "api.pagination") in page




def test_a_convened_meeting_whose_day_passed_unopened_is_warned_with_a_link(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from sunvote.models import Matter, Person
    from sunvote.services import assembly

    now = utcnow()
    with demo.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        clerk = db.session.execute(select(Person.id).where(Person.name == "张敏")).scalar_one()
        road = db.session.execute(select(Matter.id).where(
            Matter.village_id == village.id, Matter.number.like("%-001"))).scalar_one()
        # convened ten days ago for three days ago; due today: no warning for that one
        late = assembly.convene(clerk, village.id, "逾期未开的会议", "村委会议室",
                                now - dt.timedelta(days=3), [road], now=now - dt.timedelta(days=10))
        assembly.convene(clerk, village.id, "今天的会议", "村委会议室", now, [road],
                         now=now - dt.timedelta(days=10))
        number, late_id = late.number, late.id
    link = f'href="/v/sunshine/meetings/{number}"'
    for user, path in (("district", "/admin/oversight"), ("township", "/t/demo-town/oversight"),
                       ("township", "/t/demo-town/oversight/v/sunshine")):
        page = as_user(user).get(path).get_data(as_text=True)
        assert page.count("assembly.meeting_not_opened") >= 1, path
        item = page[page.index("assembly.meeting_not_opened") - 1500:]
        item = item[item.rindex("<li"):]
        item = item[:item.index("</li>")]
        assert link in item and f"第{number}次村民代表会议" in item and "会期已过仍未开始" in item
    english = as_user("district").get("/admin/oversight?lang=en").get_data(as_text=True)
    assert f"Assembly meeting {number} was called for" in english
    # the village's own dashboard shows it too, linked to the meeting
    board = as_user("clerk").get("/v/sunshine/").get_data(as_text=True)
    box = board[board.index('id="meeting-warnings"'):]
    box = box[:box.index("</section>")]
    assert link in box and "assembly.meeting_not_opened" in box and box.count("<li>") == 1
    # opened (late, but opened): the warning goes
    with demo.app_context():
        assembly.open_meeting(clerk, late_id, now=now)
    assert "assembly.meeting_not_opened" not in as_user("district").get(
        "/admin/oversight").get_data(as_text=True)
    assert 'id="meeting-warnings"' not in as_user("clerk").get("/v/sunshine/").get_data(
        as_text=True)
