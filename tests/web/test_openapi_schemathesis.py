"""Schemathesis against the open data API's own OpenAPI document (/api/openapi.json), loaded
from the app over WSGI: no generated request gets a 5xx, and every answer conforms to the
document (status code, content type, body schema). Bounded and derandomised, so CI repeats.

Each operation of the document is its own test. (Schemathesis' pytest loader, `from_fixture`,
renames test nodes through a pytest attribute that pytest 9 no longer has, so the operations
are listed here from the document and driven with Hypothesis directly.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sunvote.opendata.openapi import openapi_document
from tests.web.module_demo import demo_app_once

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

DOCUMENT = openapi_document("http://sunvote.test")

#: Every operation the document describes, as "GET /api/public/…".
OPERATIONS = [f"{method.upper()} {path}" for path, item in DOCUMENT["paths"].items()
              for method in item]

#: Valid requests for every operation; requests that break the document (bad page numbers,
#: wrong types) for those that constrain a parameter (a path's free string cannot be broken).
CASES = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (f"{method.upper()} {path}", GenerationMode.NEGATIVE)
    for path, item in DOCUMENT["paths"].items() for method, spec in item.items()
    if any(p["in"] == "query" for p in spec.get("parameters", []))]


#: Over WSGI nothing undoes a compressed answer (a real client does): ask for none. The answers
#: are compressed when asked (tests/web/test_static_files.py).
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def open_data_schema(tmp_path_factory: pytest.TempPathFactory,
                     postgres_url: str | None) -> Iterator[Any]:
    """The document as the app serves it, bound to the app (requests go over WSGI)."""
    with demo_app_once(tmp_path_factory.mktemp("openapi"), postgres_url) as app:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def test_every_operation_is_tested(open_data_schema: Any) -> None:
    served = {f"{op.ok().method.upper()} {op.ok().path}"
              for op in open_data_schema.get_all_operations()}
    assert served == set(OPERATIONS)


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_the_open_data_api_keeps_to_its_document(open_data_schema: Any, label: str,
                                                 mode: GenerationMode) -> None:
    """Valid requests and requests that break the document alike get a documented answer,
    never a 5xx."""
    operation = open_data_schema.find_operation_by_label(label)
    assert operation is not None, label

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def keeps_to_it(case: Any) -> None:
        case.call_and_validate(checks=CHECKS, headers=PLAIN)

    keeps_to_it()


@pytest.mark.parametrize("label", OPERATIONS)
def test_the_demo_villages_answers_conform_to_the_document(open_data_schema: Any,
                                                           label: str) -> None:
    """Generated codes rarely name a village: each operation once on the demo's real data, so
    the 200 bodies are checked against the document too."""
    operation = open_data_schema.find_operation_by_label(label)
    known = {"code": "sunshine", "number": matter_number(open_data_schema)}
    case = operation.Case(path_parameters={p: known[p] for p in known if "{" + p + "}" in label})
    response = case.call_and_validate(checks=CHECKS, headers=PLAIN)
    assert response.status_code == 200, (label, response.text[:300])


def matter_number(open_data_schema: Any) -> str:
    operation = open_data_schema.find_operation_by_label(
        "GET /api/public/villages/{code}/matters")
    response = operation.Case(path_parameters={"code": "sunshine"}).call(headers=PLAIN)
    return str(response.json()["items"][0]["number"])
