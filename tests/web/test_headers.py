"""Security headers on every kind of response (issue 14, item 6): HTML pages, JSON, file
downloads (ours and uploaded ones), images, static files, redirects, error pages of every
status, a crash: nosniff, a Referrer-Policy, a Content-Security-Policy that forbids framing, and
X-Frame-Options for browsers that predate frame-ancestors; HSTS when cookies are secure."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import login
from tests.web.test_public_board import PHOTO, take_to

#: (method, path) a visitor with no login asks for, one of each kind of response.
ANONYMOUS = [
    ("GET", "/"),  # HTML
    ("GET", "/login"),
    ("GET", "/p/sunshine/"),
    ("GET", "/c/enrol"),  # a page that takes a token: no-referrer
    ("GET", "/api/public/villages"),  # JSON
    ("GET", "/api/openapi.json"),
    ("GET", "/api/public/villages/nowhere"),  # JSON error
    ("GET", "/p/sunshine/qr.svg"),  # an SVG image: a document that could hold script
    ("GET", "/p/sunshine/qr.png"),
    ("GET", "/p/sunshine/ledger.zip"),  # send_file
    ("GET", "/static/css/sunvote.css"),  # static
    ("GET", "/static/js/page.js"),
    ("GET", "/v/sunshine/"),  # a redirect to the login page
    ("GET", "/nowhere"),  # 404 page
    ("GET", "/p/sunshine/m/%00"),  # 400 (NUL)
    ("POST", "/login"),  # 400 (no CSRF token)
    ("GET", "/logout"),  # 405
]


def assert_secure_headers(response: TestResponse, what: str, *, hsts: bool = False) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), what
    policy = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, (what, policy)
    assert "script-src 'self'" in policy or policy.startswith("sandbox"), (what, policy)
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
    assert ("Strict-Transport-Security" in headers) == hsts, what


def visit(client: FlaskClient, method: str, path: str) -> TestResponse:
    response = client.open(path, method=method)
    assert response.status_code < 500, (path, response.status_code)
    return response


@pytest.mark.parametrize("secure", [False, True], ids=["http", "https-secure-cookies"])
def test_every_kind_of_response_carries_the_security_headers(demo: Flask, secure: bool) -> None:
    demo.config["SESSION_COOKIE_SECURE"] = secure
    number = take_to(demo, "implementing")  # a notice, an uploaded photo
    base = "https://sunvote.test" if secure else "http://sunvote.test"
    client = demo.test_client()
    client.environ_base["wsgi.url_scheme"] = base.split(":")[0]
    kinds = [*ANONYMOUS,
             ("GET", f"/p/sunshine/m/{number}"),
             ("GET", f"/p/sunshine/m/{number}/notice.pdf"),  # our own download
             # someone's upload: its own policy (sandbox), still never framed
             ("GET", f"/p/sunshine/m/{number}/files/{hashlib.sha256(PHOTO.data).hexdigest()}")]
    statuses = set()
    for method, path in kinds:
        response = visit(client, method, path)
        statuses.add(response.status_code)
        assert_secure_headers(response, f"{method} {path}", hsts=secure)
    assert {200, 302, 400, 404, 405} <= statuses
    clerk = login(client, "clerk")
    for path in ("/v/sunshine/", f"/v/sunshine/m/{number}", "/v/sunshine/register/template.xlsx",
                 "/v/sunshine/cloud"):
        response = visit(clerk, "GET", path)
        assert response.status_code == 200, path
        assert_secure_headers(response, path, hsts=secure)


def test_a_crash_still_answers_with_the_security_headers(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer 500 as in production

    @app.route("/crash")
    def crash() -> str:
        raise RuntimeError("boom")

    response = app.test_client().get("/crash")
    assert response.status_code == 500
    assert_secure_headers(response, "500")
