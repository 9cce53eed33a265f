"""The township offers the browser verifier and the Python wheel (docs/browser-verifier.md);
the village's poster and "verify it yourself" box point there and print the page's SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask

from sunvote.web.verifier_files import published_sha256


def install(app: Flask, html: bytes = b"<!doctype html><title>verifier</title>") -> Path:
    folder = Path(app.config["VERIFIER_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sunvote-verifier.html").write_bytes(html)
    (folder / "sunvote-0.1.0-py3-none-any.whl").write_bytes(b"PK\x05\x06" + bytes(18))
    return folder


def test_the_township_page_offers_both_downloads_with_their_hashes(demo: Flask) -> None:
    html = b"<!doctype html><title>verifier</title>"
    install(demo, html)
    client = demo.test_client()
    page = client.get("/t/demo-town/verifier").get_data(as_text=True)
    assert hashlib.sha256(html).hexdigest() in page
    assert published_sha256() in page
    assert 'id="hash-mismatch"' in page  # a stand-in is not the published page: said in red
    download = client.get("/t/demo-town/verifier/sunvote-verifier.html")
    assert download.status_code == 200 and download.data == html
    assert "attachment" in download.headers["Content-Disposition"]
    wheel = client.get("/t/demo-town/verifier/sunvote-0.1.0-py3-none-any.whl")
    assert wheel.status_code == 200 and wheel.data.startswith(b"PK")
    assert "pip install sunvote-0.1.0-py3-none-any.whl" in page


def test_nothing_but_installed_wheels_can_be_downloaded(demo: Flask) -> None:
    folder = install(demo)
    (folder / "secret.txt").write_text("no")
    client = demo.test_client()
    for name in ("secret.txt", "..%2Fledger_passphrase", "sunvote-9-py3-none-any.whl",
                 "sunvote-0.1.0-py3-none-any.whl%00.txt"):
        assert client.get(f"/t/demo-town/verifier/{name}").status_code in (400, 404), name
    assert client.get("/t/no-such-town/verifier").status_code == 404


def test_without_the_files_the_page_says_so_and_downloads_are_not_found(demo: Flask) -> None:
    client = demo.test_client()
    page = client.get("/t/demo-town/verifier").get_data(as_text=True)
    assert 'id="not-installed"' in page and 'id="no-wheel"' in page
    assert client.get("/t/demo-town/verifier/sunvote-verifier.html").status_code == 404


def test_the_poster_and_the_village_page_point_to_the_township_and_print_the_hash(
        demo: Flask) -> None:
    client = demo.test_client()
    poster = client.get("/p/sunshine/poster").get_data(as_text=True)
    assert f'<code id="verifier-sha256">{published_sha256()}</code>' in poster
    assert "/t/demo-town/verifier" in poster
    village = client.get("/p/sunshine/").get_data(as_text=True)
    assert 'href="http://sunvote.test/t/demo-town/verifier"' in village \
        or "/t/demo-town/verifier" in village
    assert "需安装 Python 和 sunvote" not in village


def test_a_village_served_by_another_township_server_points_there(demo: Flask) -> None:
    demo.config["WITNESS_URL"] = "https://town.example/witness/{township}/add-checkpoint"
    poster = demo.test_client().get("/p/sunshine/poster").get_data(as_text=True)
    assert "https://town.example/t/demo-town/verifier" in poster


def test_the_exports_readme_tells_how_to_get_both_verifiers_truthfully(demo: Flask) -> None:
    import io
    import zipfile

    from sunvote.verifier_release import wheel_name

    data = demo.test_client().get("/p/sunshine/ledger.zip").data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        readme = zf.read(next(n for n in zf.namelist() if n.endswith("README.txt"))).decode()
    assert "/t/demo-town/verifier" in readme
    assert published_sha256() in readme
    assert f"pip install {wheel_name()}" in readme
    assert "\n  pip install sunvote " not in readme  # PyPI has no SunVote


def test_the_docs_print_the_published_hash() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "browser-verifier.md").read_text()
    assert f"\n{published_sha256()}\n" in docs
