"""Administration pages: district, township, settings, register, person, import — who may see and
do what, refusals that change nothing, and personal data kept off every public page."""

from __future__ import annotations

import io
import random
import re
import zipfile
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from sunvote.domain.login import FREE_FAILURES
from sunvote.extensions import db
from sunvote.models import Household, LedgerRecord, Person, RoleAssignment, TownshipSetting
from tests.conftest import csrf_token as token
from tests.roster_files import csv_bytes, id_number, roster_rows, xlsx_bytes


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def person_id(app: Flask, name: str) -> int:
    with app.app_context():
        return db.session.execute(select(Person.id).where(Person.name == name)).scalar_one()


@pytest.mark.parametrize(("username", "path", "status"), [
    ("district", "/admin/", 200), ("township", "/admin/", 403), ("clerk", "/admin/", 403),
    ("township", "/t/demo-town/", 200), ("reviewer", "/t/demo-town/", 200),
    ("district", "/t/demo-town/settings", 200), ("clerk", "/t/demo-town/", 403),
    ("clerk", "/v/sunshine/register", 200), ("rep01", "/v/sunshine/register", 200),
    ("clerk2", "/v/sunshine/register", 403), ("clerk", "/v/sunshine/register/import", 200),
    ("rep01", "/v/sunshine/register/import", 403), ("clerk", "/v/sunshine/register/history", 200),
    ("rep01", "/v/sunshine/register/export.csv", 403),
])
def test_who_may_open_which_page(as_user, username: str, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    assert as_user(username).get(path).status_code == status


def test_the_district_creates_a_township_and_sees_the_temporary_password_once(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("district")
    response = client.post("/admin/townships", data={
        "csrf_token": token(client, "/admin/"), "code": "hill", "name": "山岭镇",
        "admin_name": "韩梅", "admin_username": "13800000009"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "山岭镇" in page
    password = re.search(r'class="temp-password">([a-z0-9]+)<', page)
    assert password
    fresh = demo.test_client()
    login = fresh.post("/login", data={"csrf_token": token(fresh, "/login"),
                                       "username": "13800000009",
                                       "password": password.group(1)})
    assert login.status_code == 302 and login.headers["Location"].endswith("/password")
    assert password.group(1) not in client.get("/admin/").get_data(as_text=True)


def test_a_bad_township_code_is_refused_with_its_rule_and_nothing_is_written(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("district")
    before = count(demo, Person)
    response = client.post("/admin/townships", data={
        "csrf_token": token(client, "/admin/"), "code": "Bad Code", "name": "某镇",
        "admin_name": "某人", "admin_username": "13800000010"})
    assert response.status_code == 400
    assert "input.invalid" in response.get_data(as_text=True)
    assert count(demo, Person) == before


def test_the_township_admin_creates_a_village_with_a_clerk(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("township")
    response = client.post("/t/demo-town/villages", data={
        "csrf_token": token(client, "/t/demo-town/"), "code": "spring", "name": "春泉村",
        "clerk_name": "何静", "clerk_username": "13900000011"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "春泉村" in page and "temp-password" in page
    assert client.get("/v/spring/register").status_code == 200


def test_a_stricter_threshold_is_saved_and_a_looser_quorum_is_refused(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("township")
    saved = client.post("/t/demo-town/settings", data={
        "csrf_token": token(client, "/t/demo-town/settings"),
        "setting-pass_rule.category_5": "two_thirds_of_present", "setting-quorum": "2/3"})
    assert saved.status_code == 302
    assert count(demo, TownshipSetting) == 1
    before = count(demo, LedgerRecord)
    refused = client.post("/t/demo-town/settings", data={
        "csrf_token": token(client, "/t/demo-town/settings"), "setting-quorum": "1/2",
        "setting-public_notice_days": "10"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "settings.law_bound" in page
    assert (count(demo, TownshipSetting), count(demo, LedgerRecord)) == (1, before)
    shown = client.get("/t/demo-town/settings").get_data(as_text=True)
    assert 'value="two_thirds_of_present" selected' in shown


def test_only_the_township_admin_sees_a_settings_form_that_saves(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("reviewer")
    response = client.post("/t/demo-town/settings", data={
        "csrf_token": token(client, "/t/demo-town/settings"), "setting-quorum": "3/4"})
    assert response.status_code == 403 and count(demo, TownshipSetting) == 0


def test_the_clerk_adds_a_household_and_a_villager_and_appoints_them(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    csrf = token(client, "/v/sunshine/register")
    assert client.post("/v/sunshine/register/households", data={
        "csrf_token": csrf, "number": "901", "head_name": "林海", "group_name": "第二村民小组",
    }).status_code == 302
    response = client.post("/v/sunshine/register/people", data={
        "csrf_token": csrf, "name": "林海", "sex": "m", "household": "901",
        "phone": "13600000012"})
    assert response.status_code == 302
    pid = person_id(demo, "林海")
    response = client.post(f"/v/sunshine/register/p/{pid}/appoint", data={
        "csrf_token": csrf, "appoint-role": "representative", "appoint-starts_on": "2026-11-01",
        "appoint-households_represented": "9"})
    assert response.status_code == 302
    page = client.get(f"/v/sunshine/register/p/{pid}").get_data(as_text=True)
    assert "13600000012" in page and "2026-11-01" in page


@pytest.mark.parametrize(("data", "rule"), [
    ({"appoint-role": "representative", "appoint-starts_on": "2026-13-01"}, "input.invalid"),
    ({"appoint-role": "township_admin", "appoint-starts_on": "2026-11-01"}, "input.invalid"),
    ({"appoint-role": "supervisor", "appoint-starts_on": "2026-11-01"},
     "roster.supervisor_kin_bar"),
    ({"appoint-role": "committee_member", "appoint-starts_on": "2025-01-01"}, "input.invalid"),
])
def test_bad_appointments_are_refused_and_write_nothing(as_user, demo: Flask,
                                                         data: dict[str, str], rule: str) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    pid = person_id(demo, "陈丽")  # a committee member already
    before = (count(demo, RoleAssignment), count(demo, LedgerRecord))
    response = client.post(f"/v/sunshine/register/p/{pid}/appoint", data={
        "csrf_token": token(client, f"/v/sunshine/register/p/{pid}"), **data})
    assert response.status_code in (400, 409)
    assert rule in response.get_data(as_text=True)
    assert (count(demo, RoleAssignment), count(demo, LedgerRecord)) == before


def test_a_term_is_ended_early_and_kept_in_the_history(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    pid = person_id(demo, "王磊")
    with demo.app_context():
        term = db.session.execute(select(RoleAssignment.id).where(
            RoleAssignment.person_id == pid)).scalar_one()
    page = f"/v/sunshine/register/p/{pid}"
    refused = client.post(f"{page}/end-{term}", data={
        "csrf_token": token(client, page), "end-last_day": "2020-01-01", "end-reason": "x"})
    assert refused.status_code == 400 and "admin.term_end" in refused.get_data(as_text=True)
    from sunvote.models.base import utcnow
    from sunvote.services.access import local_date

    today = local_date(utcnow()).isoformat()
    done = client.post(f"{page}/end-{term}", data={
        "csrf_token": token(client, page), "end-last_day": today, "end-reason": "外出务工"})
    assert done.status_code == 302
    history = client.get("/v/sunshine/register/history").get_data(as_text=True)
    assert "外出务工" in history


def test_the_clerk_gives_a_login_and_resets_it_but_only_the_township_disables_it(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("clerk")
    pid = person_id(demo, "赵强")
    page = f"/v/sunshine/register/p/{pid}"
    created = clerk.post(f"{page}/login", data={"csrf_token": token(clerk, page),
                                                "login-username": "13500000013"})
    assert created.status_code == 200 and "temp-password" in created.get_data(as_text=True)
    reset = clerk.post(f"{page}/reset", data={"csrf_token": token(clerk, page)})
    assert reset.status_code == 200 and "temp-password" in reset.get_data(as_text=True)
    refused = clerk.post(f"{page}/disable", data={"csrf_token": token(clerk, page)})
    assert refused.status_code == 403
    township = as_user("township")
    assert township.post(f"{page}/disable", data={
        "csrf_token": token(township, page)}).status_code == 302


def test_an_unknown_action_on_a_villager_or_an_officials_login_is_no_route(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    clerk, township = as_user("clerk"), as_user("township")
    page = f"/v/sunshine/register/p/{person_id(demo, '赵强')}"
    assert clerk.post(f"{page}/explode", data={
        "csrf_token": token(clerk, page)}).status_code == 404
    official = person_id(demo, "孙伟")
    assert township.post(f"/t/demo-town/people/{official}/login/explode", data={
        "csrf_token": token(township, "/t/demo-town/")}).status_code == 404


def test_the_clerk_is_not_offered_and_is_refused_a_supervisors_login_the_township_is(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("clerk")
    for name, action in (("周涛", "login"), ("刘芳", "reset"), ("王建国", "reset")):
        page = f"/v/sunshine/register/p/{person_id(demo, name)}"
        shown = clerk.get(page).get_data(as_text=True)
        assert 'id="login-refused"' in shown and "admin.login_issuer" in shown
        assert f"{page}/{action}" not in shown
        before = count(demo, LedgerRecord)
        refused = clerk.post(f"{page}/{action}", data={"csrf_token": token(clerk, page),
                                                       "login-username": "13900000001"})
        assert refused.status_code == 403 and "admin.login_issuer" in refused.get_data(
            as_text=True)
        assert count(demo, LedgerRecord) == before
    township = as_user("township")
    page = f"/v/sunshine/register/p/{person_id(demo, '周涛')}"
    shown = township.get(page).get_data(as_text=True)
    assert 'id="login-refused"' not in shown and f"{page}/login" in shown
    before = count(demo, LedgerRecord)
    created = township.post(f"{page}/login", data={"csrf_token": token(township, page),
                                                   "login-username": "13900000001"})
    assert created.status_code == 200 and "temp-password" in created.get_data(as_text=True)
    assert count(demo, LedgerRecord) == before + 1  # account.issue
    with demo.app_context():
        assert db.session.execute(select(LedgerRecord.type).order_by(
            LedgerRecord.id.desc())).scalars().first() == "account.issue"


def test_the_import_preview_writes_nothing_and_apply_imports(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    rows = roster_rows(25)
    rows[3]["sex"] = "未知"
    before = (count(demo, Person), count(demo, Household), count(demo, LedgerRecord))
    preview = client.post("/v/sunshine/register/import", data={
        "csrf_token": token(client, "/v/sunshine/register/import"),
        "file": (io.BytesIO(xlsx_bytes(rows)), "名册.xlsx")},
        content_type="multipart/form-data")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "import.row" in page
    assert (count(demo, Person), count(demo, Household), count(demo, LedgerRecord)) == before
    fields = dict(re.findall(r'name="(filename|content|sha256|csrf_token)"[^>]*value="([^"]*)"',
                             page))
    applied = client.post("/v/sunshine/register/import/apply", data=fields)
    assert applied.status_code == 302
    assert count(demo, Person) == before[0] + 24


def test_a_tampered_apply_form_is_refused(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    before = count(demo, Person)
    response = client.post("/v/sunshine/register/import/apply", data={
        "csrf_token": token(client, "/v/sunshine/register/import"), "filename": "a.csv",
        "content": "YWJj", "sha256": "0" * 64})
    assert response.status_code == 400 and count(demo, Person) == before


@pytest.mark.parametrize(("filename", "data"), [
    ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64), ("a.csv", b""),
    ("a.csv", csv_bytes(roster_rows(3), "gbk")[:-3] + b"\xff\xfe"),
])
def test_bad_import_files_are_refused_with_the_rule(as_user, demo: Flask, filename: str,
                                                    data: bytes) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    response = client.post("/v/sunshine/register/import", data={
        "csrf_token": token(client, "/v/sunshine/register/import"),
        "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "import.file" in response.get_data(as_text=True)


def test_templates_download_and_the_export_escapes_formulas(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    assert client.get("/v/sunshine/register/template.xlsx").data[:2] == b"PK"
    template = client.get("/v/sunshine/register/template.csv").data.decode("utf-8-sig")
    assert template.startswith("户号,")
    with demo.app_context():
        person = db.session.execute(select(Person).where(Person.name == "陈丽")).scalar_one()
        person.name = "=1+2"
        db.session.commit()
    export = client.get("/v/sunshine/register/export.csv").data.decode("utf-8-sig")
    assert "'=1+2" in export and ",=1+2" not in export


def test_public_pages_never_show_id_or_phone_numbers(demo: Flask) -> None:
    rng = random.Random(3)
    with demo.app_context():
        people = list(db.session.execute(select(Person)).scalars())
        for n, person in enumerate(people):
            person.id_number = id_number(rng, person.female)
            person.phone = f"139{n:08d}"
        db.session.commit()
        secrets = [(p.id_number, p.phone) for p in people]
    client = demo.test_client()
    pages = ["/", "/p/sunshine/", "/p/breeze/", "/p/sunshine/suggest", "/p/sunshine/poster",
             "/rules"]
    texts = [client.get(path).get_data(as_text=True) for path in pages]
    archive = zipfile.ZipFile(io.BytesIO(client.get("/p/sunshine/ledger.zip").data))
    texts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    for text in texts:
        for id_no, phone in secrets:
            assert id_no not in text and phone not in text
    assert any("李秀英" in text for text in texts)  # names of representatives are public


def test_a_recorded_close_relative_bars_the_supervisory_committee(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    csrf = token(client, "/v/sunshine/register")
    client.post("/v/sunshine/register/people", data={
        "csrf_token": csrf, "name": "赵小强", "sex": "m", "household": "004"})
    relative = person_id(demo, "赵小强")
    page = f"/v/sunshine/register/p/{relative}"
    with demo.app_context():
        household = db.session.execute(select(Household.number).join(
            Person, Person.household_id == Household.id).where(Person.name == "赵强")).scalar_one()
    recorded = client.post(f"{page}/kin", data={
        "csrf_token": token(client, page), "kin-household": household, "kin-name": "赵强",
        "kin-relation": "父母"})
    assert recorded.status_code == 302
    assert "父母" in client.get(page).get_data(as_text=True)
    refused = client.post(f"{page}/appoint", data={
        "csrf_token": token(client, page), "appoint-role": "supervisor",
        "appoint-starts_on": "2026-11-01"})
    assert refused.status_code == 409
    assert "roster.supervisor_kin_bar" in refused.get_data(as_text=True)
    unknown = client.post(f"{page}/kin", data={
        "csrf_token": token(client, page), "kin-household": "999", "kin-name": "无此人",
        "kin-relation": "配偶"})
    assert unknown.status_code == 400


def test_a_relative_recorded_after_the_appointment_shows_as_a_warning(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("clerk")
    supervisor = person_id(demo, "周涛")
    page = f"/v/sunshine/register/p/{supervisor}"
    with demo.app_context():
        household = db.session.execute(select(Household.number).join(
            Person, Person.household_id == Household.id).where(Person.name == "陈丽")).scalar_one()
    assert client.post(f"{page}/kin", data={
        "csrf_token": token(client, page), "kin-household": household, "kin-name": "陈丽",
        "kin-relation": "配偶"}).status_code == 302
    register = client.get("/v/sunshine/register").get_data(as_text=True)
    assert "roster.supervisor_kin_bar" in register and "周涛" in register


def test_the_township_admin_adds_a_reviewer_and_ends_a_term(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = as_user("township")
    before = count(demo, LedgerRecord)
    added = client.post("/t/demo-town/officials", data={
        "official-csrf_token": token(client, "/t/demo-town/"), "official-name": "冯敏",
        "official-username": "13700000031", "official-role": "township_reviewer"})
    assert added.status_code == 200 and "temp-password" in added.get_data(as_text=True)
    # one role.appoint and one account.issue in each village's log
    assert count(demo, LedgerRecord) == before + 4
    with demo.app_context():
        term = db.session.execute(select(RoleAssignment.id).join(
            Person, Person.id == RoleAssignment.person_id).where(Person.name == "冯敏")
        ).scalar_one()
    from sunvote.models.base import utcnow
    from sunvote.services.access import local_date

    ended = client.post(f"/t/demo-town/terms/{term}/end", data={
        "end-csrf_token": token(client, "/t/demo-town/"),
        "end-last_day": local_date(utcnow()).isoformat(), "end-reason": "调离"})
    assert ended.status_code == 302
    assert count(demo, LedgerRecord) == before + 6
    clerk = as_user("clerk")
    assert clerk.post("/t/demo-town/officials", data={
        "official-csrf_token": token(clerk, "/v/sunshine/"), "official-name": "某人",
        "official-username": "13700000032",
        "official-role": "township_admin"}).status_code == 403


def test_wrong_passwords_make_the_login_wait_until_the_clerk_resets_it(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    client = demo.test_client()

    def attempt(password: str) -> Any:
        return client.post("/login", data={"csrf_token": token(client, "/login"),
                                           "username": "rep02", "password": password})

    for _ in range(FREE_FAILURES):
        assert attempt("wrong-password").status_code == 401
    waiting = attempt("sunvote2026")  # even the right password waits now, with the same answer
    assert waiting.status_code == 401
    assert "access.login_attempts" in waiting.get_data(as_text=True)
    clerk = as_user("clerk")
    page = f"/v/sunshine/register/p/{person_id(demo, '王磊')}"
    reset = clerk.post(f"{page}/reset", data={"csrf_token": token(clerk, page)})
    password = re.search(r'class="temp-password">([a-z0-9]+)<', reset.get_data(as_text=True))
    assert password
    assert attempt(password.group(1)).status_code == 302


def test_a_right_password_clears_the_count_of_wrong_ones(demo: Flask) -> None:
    def attempt(client: Any, password: str) -> int:
        return client.post("/login", data={"csrf_token": token(client, "/login"),
                                           "username": "rep03",
                                           "password": password}).status_code

    for _ in range(2):  # each time in a browser new to the account
        client = demo.test_client()
        for _ in range(FREE_FAILURES - 1):
            assert attempt(client, "wrong-password") == 401
        assert attempt(client, "sunvote2026") == 302


def test_only_register_keepers_see_id_and_phone_numbers(as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    with demo.app_context():
        person = db.session.execute(select(Person).where(Person.name == "王磊")).scalar_one()
        person.id_number, person.phone = "11010519491231002X", "13911112222"
        db.session.commit()
        pid = person.id
    for username, sees in (("clerk", True), ("secretary", True), ("township", True),
                           ("rep01", False), ("supervisor", False), ("reviewer", False)):
        client = as_user(username)
        pages = [client.get(path).get_data(as_text=True) for path in (
            "/v/sunshine/register", f"/v/sunshine/register/p/{pid}",
            "/v/sunshine/register?q=王磊")]
        assert any("王磊" in page for page in pages)
        shown = any("13911112222" in page or "11010519491231002X" in page for page in pages)
        assert shown is sees, username


@pytest.mark.parametrize("name", ["百分之百%镇", "%(x)s镇", "100%s镇"])
def test_a_percent_sign_in_a_flashed_name_breaks_no_page(  # type: ignore[no-untyped-def]
        as_user, demo: Flask, name: str) -> None:
    """Issue 14: a `%` typed into a field that ends up in a flash message made every page of
    the session answer 500 until logout (the flashed text was formatted a second time)."""
    client = as_user("district")
    response = client.post("/admin/townships", data={
        "csrf_token": token(client, "/admin/"), "code": "pct", "name": name,
        "admin_name": "韩梅", "admin_username": "13800000019"})
    assert response.status_code == 200 and name in response.get_data(as_text=True)
    for url in ("/admin/", "/home", "/rules"):
        assert client.get(url, follow_redirects=True).status_code == 200, url
