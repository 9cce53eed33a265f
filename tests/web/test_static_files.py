"""Phones that cache: static files under content-hashed names kept for a year, and compressed
answers for what is public (never for a private, no-store answer: BREACH)."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import brotli
from flask import Flask

from sunvote.web.static_files import IMMUTABLE, StaticDigests

STATIC = Path(__file__).resolve().parents[2] / "static"


def _linked(page: str, kind: str) -> list[str]:
    return re.findall(rf'(?:href|src)="(/static/[^"]+\.{kind})"', page)


def test_every_page_links_its_css_and_js_under_names_that_carry_their_digest(
        client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login").get_data(as_text=True)
    css, js = _linked(page, "css"), _linked(page, "js")
    assert css and js
    for url in css + js:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", url), url
        answer = client.get(url)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == IMMUTABLE
        real = re.sub(r"\.[0-9a-f]{12}\.", ".", url.removeprefix("/static/"))
        assert answer.data == (STATIC / real).read_bytes()


def test_a_name_without_digest_or_with_an_old_one_gets_the_file_revalidated_each_time(
        client) -> None:  # type: ignore[no-untyped-def]
    plain = client.get("/static/css/sunvote.css")
    stale = client.get("/static/css/sunvote.000000000000.css")
    assert plain.status_code == stale.status_code == 200
    assert plain.headers["Cache-Control"] == stale.headers["Cache-Control"] == "no-cache"
    assert plain.data == stale.data == (STATIC / "css/sunvote.css").read_bytes()
    again = client.get("/static/css/sunvote.css", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304


def test_a_changed_file_gets_a_new_name(tmp_path: Path) -> None:
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "a.css"
    sheet.write_text("body { color: red }")
    digests = StaticDigests(tmp_path)
    first = digests.hashed_name("css/a.css")
    sheet.write_text("body { color: blue }")
    os.utime(sheet, ns=(1, 2))  # a different modification time, whatever the clock's grain
    second = digests.hashed_name("css/a.css")
    assert first != second
    assert digests.split(second) == ("css/a.css", second.split(".")[1])
    assert digests.hashed_name("css/missing.css") == "css/missing.css"


def test_static_names_never_leave_the_static_folder(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/static/../sunvote/app.py", "/static/..%2fpyproject.toml",
                 "/static/css/../../pyproject.toml", "/static/%2e%2e/README.md"):
        assert client.get(path).status_code == 404, path


def test_static_files_and_public_pages_are_compressed_as_the_browser_accepts(
        client) -> None:  # type: ignore[no-untyped-def]
    sheet = (STATIC / "css/sunvote.css").read_bytes()
    zipped = client.get("/static/css/sunvote.css", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == sheet and len(zipped.data) < len(sheet) / 3
    squeezed = client.get("/static/css/sunvote.css", headers={"Accept-Encoding": "br, gzip"})
    assert squeezed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(squeezed.data) == sheet
    assert "Accept-Encoding" in squeezed.headers["Vary"]
    rules = client.get("/rules", headers={"Accept-Encoding": "gzip"})
    assert rules.headers["Content-Encoding"] == "gzip"
    assert "阳光票决" in gzip.decompress(rules.data).decode()
    document = client.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert document.headers["Content-Encoding"] == "gzip"  # the open data API's JSON too
    assert "paths" in json.loads(gzip.decompress(document.data))
    plain = client.get("/rules")  # a browser that accepts none gets the page as it is
    assert "Content-Encoding" not in plain.headers and "阳光票决".encode() in plain.data


def test_a_private_answer_is_never_compressed(demo: Flask) -> None:
    """A logged-in page holds the session's CSRF token beside what the user typed: compressing
    it would let a watcher of sizes guess the token (BREACH)."""
    from tests.conftest import login

    clerk = login(demo.test_client(), "clerk")
    for path in ("/v/sunshine/", "/v/sunshine/register", "/v/sunshine/meetings"):
        answer = clerk.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "no-store"
        assert "Content-Encoding" not in answer.headers, path
    login_page = demo.test_client().get("/login", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in login_page.headers  # the auth pages are private too


# The sizes the docs quote, as written there: (doc, pattern with the figure in group 1, static
# file, encoding). A stylesheet grows; its figure in the docs must follow (issue 16: "keep the
# docs' figures measured").
DOC_SIZES = (
    ("docs/cloud-voting.md", r"stylesheet is (\d+) KB", "css/sunvote.css", "identity"),
    ("docs/cloud-voting.md", r"cloud\.js\s+(\d+) KB", "js/cloud.js", "identity"),
    ("docs/cloud-voting.md", r"uncompressed \(([\d.]+) KB and", "css/sunvote.css", "br"),
    ("docs/cloud-voting.md", r"KB and ([\d.]+) KB with\s+brotli", "js/cloud.js", "br"),
    ("docs/performance.md", r"The stylesheet is (\d+) KB", "css/sunvote.css", "identity"),
    ("docs/performance.md", r"The stylesheet is \d+ KB, ([\d.]+) KB with\s+brotli",
     "css/sunvote.css", "br"),
)


def test_the_sizes_the_docs_quote_are_the_files_sizes_as_served(client) -> None:  # type: ignore[no-untyped-def]
    root = STATIC.parent
    for doc, pattern, name, encoding in DOC_SIZES:
        found = re.search(pattern, (root / doc).read_text(encoding="utf-8"))
        assert found, (doc, pattern)
        quoted = float(found.group(1))
        answer = client.get(f"/static/{name}", headers={
            "Accept-Encoding": encoding, "X-Forwarded-Proto": "https"})
        assert answer.status_code == 200
        assert answer.headers.get("Content-Encoding", "identity") == encoding, name
        size = len(answer.data) / 1024
        assert abs(size - quoted) <= max(0.1 * size, 0.6), (doc, pattern, round(size, 1))


def test_the_phone_makes_ballot_ids_of_the_apps_one_shape() -> None:
    """cloud.js makes the ballot id on the phone; domain.assembly.BALLOT_ID_BYTES is the rule's
    (issue
    17: the ballot id had three definitions)."""
    from sunvote.domain.assembly import BALLOT_ID_BYTES

    script = (STATIC / "js" / "cloud.js").read_text(encoding="utf-8")
    made = re.search(r"function randomId\(\) \{[^}]*new Uint8Array\((\d+)\)", script)
    assert made and int(made.group(1)) == BALLOT_ID_BYTES
