"""The open data API: public JSON without login, no personal data, paginated with clear refusals,
and an OpenAPI 3.1 document that matches the endpoints."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.pagination import MAX_PER_PAGE
from sunvote.extensions import db
from sunvote.models import Person, Village
from sunvote.models.base import utcnow
from sunvote.services import witness
from tests.oversight_data import add_villages


def prefix(app: Flask) -> str:
    """This installation's origin prefix: the demo's logs are new, so their origins begin so."""
    return str(app.config["LOG_ORIGIN_PREFIX"])


def get(client: Any, path: str, status: int = 200) -> Any:
    response = client.get(path)
    assert response.status_code == status, (path, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    return response.get_json()


def test_villages_are_listed_without_login(client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    body = get(client, "/api/public/villages")
    assert [v["code"] for v in body["items"]] == ["breeze", "sunshine"]
    assert body["items"][1] == {"code": "sunshine", "name": "阳光村", "matters": 3,
                                "origin": f"{prefix(demo)}/demo-town/sunshine",
                                "township": {"code": "demo-town", "name": "阳光镇（演示）"}}
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 20, 2, 1)
    assert get(client, "/api/public/villages/breeze")["matters"] == 0


def test_matters_come_with_their_steps(client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    body = get(client, "/api/public/villages/sunshine/matters")
    assert body["total"] == 3
    road = next(m for m in body["items"] if m["title"] == "村东道路硬化工程")
    assert road["state"] == "filed" and road["filing_no"] == "阳光镇备〔2026〕17号"
    assert [s["step"] for s in road["steps"]] == ["suggest", "propose", "discuss", "review"]
    assert road["steps"][1]["actor"] == "王建国"
    assert road["steps"][1]["fields"]["amount_fen"] == 48_000_000
    one = get(client, f"/api/public/villages/sunshine/matters/{road['number']}")
    assert one == road
    missing = get(client, "/api/public/villages/sunshine/matters/1999-001", 404)
    assert missing["error"]["rule"] == "input.invalid"
    assert get(client, "/api/public/villages/nowhere/matters", 404)["error"]["status"] == 404


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page=-1", "per_page=0",
                                   f"per_page={MAX_PER_PAGE + 1}", "page=3&per_page=1",
                                   "page=99999999999"])
def test_out_of_range_pagination_is_refused_naming_the_rule(client, demo: Flask,  # type: ignore[no-untyped-def]
                                                            query: str) -> None:
    error = get(client, f"/api/public/villages?{query}", 400)["error"]
    assert error["rule"] == "api.pagination"
    assert "分页" in error["zh"] or "页" in error["zh"]
    assert re.search(r"[a-z]{4}", error["en"]) and not re.search(r"[\u4e00-\u9fff]",
                                                                 error["en"])


def test_pages_split_the_list(client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    first = get(client, "/api/public/villages?per_page=1")
    second = get(client, "/api/public/villages?page=2&per_page=1")
    assert (first["pages"], len(first["items"]), len(second["items"])) == (2, 1, 1)
    assert first["items"][0]["code"] != second["items"][0]["code"]
    assert get(client, f"/api/public/villages?per_page={MAX_PER_PAGE}")["per_page"] == 100


def test_poll_results_show_counts_and_verdicts(client, app: Flask) -> None:  # type: ignore[no-untyped-def]
    from tests.oversight_data import add_township

    with app.app_context():
        add_villages(add_township("east", "东乡"), 1, 10, utcnow(), start=1)
    body = get(client, "/api/public/villages/east-v0001/polls")
    assert body["total"] == 4
    verdicts = {p["verdict"] for p in body["items"]}
    assert verdicts == {"passed", "rejected"}
    poll = body["items"][0]
    assert poll["yes"] + poll["no"] + poll["abstain"] == 18 and poll["present"] == 18


def test_checkpoints_show_the_newest_signed_checkpoint_and_cosignatures(
        client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    with demo.app_context():
        village = db.session.execute(select(Village).where(Village.code == "sunshine")
                                     ).scalar_one()
        cosigned = witness.send(village)
        db.session.commit()
        size = cosigned.size
    body = get(client, "/api/public/villages/sunshine/checkpoint")
    assert body["size"] == size and body["checkpoint"].startswith(
        f"{prefix(demo)}/demo-town/sunshine\n")
    [cosignature] = body["cosignatures"]
    assert cosignature["size"] == size
    assert body["township_witness"].startswith(cosignature["witness"] + "+")
    listed = get(client, "/api/public/checkpoints")
    assert [c["village"] for c in listed["items"]] == ["breeze", "sunshine"]
    assert listed["items"][0]["cosignatures"] == []


def test_no_personal_data_reaches_the_api(client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    with demo.app_context():
        for person in db.session.execute(select(Person)).scalars():
            person.phone = f"139{person.id:08d}"
            person.id_number = f"33112720000101{person.id:04d}"
        db.session.commit()
    bodies = [json.dumps(get(client, path), ensure_ascii=False) for path in (
        "/api/public/villages", "/api/public/villages/sunshine",
        "/api/public/villages/sunshine/matters", "/api/public/villages/sunshine/polls",
        "/api/public/villages/sunshine/checkpoint", "/api/public/checkpoints")]
    text = "\n".join(bodies)
    assert not re.search(r"139\d{8}", text)
    assert "3311272000010" not in text
    assert "王大伯" not in text  # the suggester's name stays private


# --- The OpenAPI document -------------------------------------------------------------------------


def test_the_openapi_document_is_3_1_and_served(client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    doc = get(client, "/api/openapi.json")
    assert doc["openapi"] == "3.1.0"
    assert doc["paths"]


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {node["$ref"]} if "$ref" in node else set().union(*map(_refs, node.values()))
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    return set()


def test_every_documented_path_answers(client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    doc = get(client, "/api/openapi.json")
    number = get(client, "/api/public/villages/sunshine/matters")["items"][0]["number"]
    for path, item in doc["paths"].items():
        concrete = path.replace("{code}", "sunshine").replace("{number}", number)
        assert set(item) == {"get"}, path
        assert "200" in item["get"]["responses"]
        get(client, concrete)
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_every_open_data_endpoint_is_documented(client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    doc = get(client, "/api/openapi.json")
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
              for rule in demo.url_map.iter_rules() if rule.endpoint.startswith("opendata.")}
    routes.discard("/api/openapi.json")
    assert routes == set(doc["paths"])
    assert len(routes) == 7


def test_a_page_of_matters_costs_the_same_queries_whatever_its_size(client, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    with demo.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    sizes = {}
    for per_page in (1, 3):
        seen.clear()
        event.listen(engine, "before_cursor_execute", count)
        body = get(client, f"/api/public/villages/sunshine/matters?per_page={per_page}")
        event.remove(engine, "before_cursor_execute", count)
        assert len(body["items"]) == per_page
        sizes[per_page] = len(seen)
    assert sizes[1] == sizes[3], sizes
