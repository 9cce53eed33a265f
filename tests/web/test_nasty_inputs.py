"""Inputs that were 500s (found by tests/web/test_fuzz_inputs.py and the security probe of issue
14), each now a 4xx naming its rule, in Chinese and English, that changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from sunvote.domain.errors import InvalidField
from sunvote.extensions import db
from sunvote.models import LedgerRecord, Matter
from tests.conftest import csrf_token, login
from tests.web.module_demo import demo_app_once


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None) -> Iterator[Flask]:
    with demo_app_once(tmp_path_factory.mktemp("nasty"), postgres_url) as app:
        yield app


def records(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def number(app: Flask, state: str) -> str:
    with app.app_context():
        return db.session.execute(select(Matter.number).where(Matter.state == state)
                                  ).scalars().first() or ""


def as_user(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = login(app.test_client(), username)
    return client, csrf_token(client, "/password")


def refused(response, status: int = 400, rule: str = "input.invalid") -> str:  # type: ignore[no-untyped-def]
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:1000]
    assert rule in page
    return page


@pytest.mark.parametrize("amount", ["1e30", "1e309", "100000000000000000000000000", "1e999999999"])
def test_a_huge_amount_is_refused_as_out_of_range(world: Flask, amount: str) -> None:
    client, token = as_user(world, "secretary")
    before = records(world)
    page = refused(client.post(f"/v/sunshine/m/{number(world, 'suggested')}/propose", data={
        "csrf_token": token, "propose-category": "2", "propose-title": "修路",
        "propose-summary": "修路", "propose-amount": amount}))
    assert "涉及金额超出合理范围" in page
    assert records(world) == before


@pytest.mark.parametrize("amount", ["Infinity", "-inf", "NaN", "sNaN", "-1"])
def test_an_amount_that_is_not_a_finite_sum_is_refused(world: Flask, amount: str) -> None:
    client, token = as_user(world, "secretary")
    page = refused(client.post(f"/v/sunshine/m/{number(world, 'suggested')}/propose", data={
        "csrf_token": token, "propose-category": "2", "propose-title": "修路",
        "propose-summary": "修路", "propose-amount": amount}))
    assert "金额格式不正确" in page


@pytest.mark.parametrize("version", ["²", "¹²", "①", "9" * 40])
def test_a_garbled_form_version_is_refused(world: Flask, version: str) -> None:
    client, token = as_user(world, "secretary")
    before = records(world)
    refused(client.post(f"/v/sunshine/m/{number(world, 'suggested')}/propose", data={
        "csrf_token": token, "propose-version": version, "propose-category": "2",
        "propose-title": "修路", "propose-summary": "修路"}))
    assert records(world) == before


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a": ' * 50_000 + b"1" + b"}" * 50_000])
def test_json_nested_too_deeply_is_refused(world: Flask, body: bytes) -> None:
    client, token = as_user(world, "secretary")
    response = client.post(
        f"/api/v1/villages/sunshine/matters/{number(world, 'suggested')}/actions/propose",
        data=body, content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["rule"] == "input.invalid" and error["zh"] and error["en"]


@pytest.mark.parametrize("value", ["²", "--5", "¹²³"])
def test_a_superscript_number_in_json_is_refused(world: Flask, value: str) -> None:
    client, token = as_user(world, "clerk")
    before = records(world)
    response = client.post(
        f"/api/v1/villages/sunshine/matters/{number(world, 'proposed')}/actions/discuss",
        json={"meeting_date": "2026-12-01", "expected": value, "present": "1", "plan": "方案",
              "minutes": "纪要"}, headers={"X-CSRFToken": token})
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert response.get_json()["error"]["rule"] == "input.invalid"
    assert records(world) == before


@pytest.mark.parametrize("action", ["checkin-²", "confirm-²", "discard-①", "poll-²"])
def test_a_superscript_number_in_a_room_action_is_not_found(world: Flask, action: str) -> None:
    client, token = as_user(world, "clerk")
    response = client.post(f"/v/sunshine/meetings/1/{action}", data={"csrf_token": token})
    assert response.status_code == 404


def test_a_superscript_term_number_is_not_found(world: Flask) -> None:
    client, token = as_user(world, "clerk")
    with world.app_context():
        from sunvote.models import Person
        pid = db.session.execute(select(Person.id).where(Person.name == "陈丽")).scalar_one()
    response = client.post(f"/v/sunshine/register/p/{pid}/end-²", data={
        "csrf_token": token, "end-last_day": "2026-12-01", "end-reason": "理由"})
    assert response.status_code == 404


def test_whole_number_takes_only_ascii_digits_that_fit_an_integer_column() -> None:
    from sunvote.domain.text import whole_number

    assert whole_number("42") == 42 and whole_number(" 7 ") == 7
    for bad in ("²", "①", "٣", "-1", "1.0", "", "9" * 10, None, 5):
        assert whole_number(bad) is None, bad
    assert whole_number("9" * 12, max_digits=12) == int("9" * 12)


@pytest.mark.parametrize("spent", ["²", "1.²", "¹.00"])
def test_a_superscript_amount_spent_is_refused(world: Flask, spent: str) -> None:
    from sunvote.services.supervision import _fen

    with pytest.raises(InvalidField):
        _fen(spent)


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00", "0001-01-01",
                                       "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_a_meeting_time_at_the_ends_of_the_calendar_is_refused(world: Flask,
                                                                starts_at: str) -> None:
    client, token = as_user(world, "clerk")
    before = records(world)
    page = refused(client.post("/v/sunshine/meetings", data={
        "csrf_token": token, "title": "会议", "place": "会议室", "starts_at": starts_at}))
    assert "请填写会议时间" in page
    assert records(world) == before


@pytest.mark.parametrize("suggestion", ["9223372036854775808", "9" * 30, "²"])
def test_a_suggestion_id_that_fits_no_integer_column_is_refused(world: Flask,
                                                                 suggestion: str) -> None:
    client, token = as_user(world, "clerk")
    before = records(world)
    refused(client.post("/v/sunshine/matters/open", data={
        "csrf_token": token, "open-suggestion_ids": suggestion, "open-title": "修路",
        "open-text": "修路"}))
    assert records(world) == before


def test_a_number_in_a_url_past_the_database_integer_is_not_found(world: Flask) -> None:
    """Every route with an <int:…> part, with 10^25 there: 404, not an out-of-range query."""
    client, token = as_user(world, "clerk")
    huge = "9" * 25
    tried = 0
    for rule in world.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items()
                if isinstance(conv, IntegerConverter)]
        if not ints:
            continue
        values = {name: huge if name in ints else ("demo-town" if rule.rule.startswith("/t/")
                                                  else "sunshine" if name == "code" else "x")
                  for name in rule.arguments}
        path = rule.rule
        for name, value in values.items():  # <name>, <int:name>, <int(max=…):name>
            path = re.sub(rf"<(?:[^<>:]+:)?{name}>", value, path)
        assert "<" not in path, path
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code == 404, (method, path, response.status_code)
            tried += 1
    assert tried >= 15
