"""What a phone downloads (issue 16, "phones that cache"): prints a table; never a pass/fail test.
Figures go in docs/performance.md.

    python benchmarks/phone_bytes.py

Builds the demo village (``seed_demo(history=True)``, as ``sunvote demo`` does) in a temporary
SQLite database and serves it from a thread three ways in one run: as SunVote serves it now
(content-hashed static names cached for a year, compressed public answers), with the hashed
names but no compression, and as before issue 16 (plain static names revalidated on every
visit, nothing compressed). A real Chromium at 390×844 (Playwright, /usr/bin/chromium) opens each
page twice in one browser context — a first visit with an empty cache, then a second visit —
and the Chrome DevTools protocol counts the bytes that came over the network (headers included)
and the requests. Pages: the public board, a public matter page, the login page, and a
representative's meeting page (logged in: a private page, never compressed).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ledger_bench import table  # noqa: E402

CHROMIUM = os.environ.get("SUNVOTE_CHROMIUM", "/usr/bin/chromium")


def build_app(instance: Path, mode: str):  # type: ignore[no-untyped-def]
    """The demo app; ``mode`` is "now", "no-compression" or "before"."""
    os.environ["SUNVOTE_INSTANCE_PATH"] = str(instance)
    from sunvote import create_app
    from sunvote.extensions import db
    from sunvote.services.demo import seed_demo

    config: dict[str, Any] = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/bench.sqlite3"}
    if mode != "now":
        config["COMPRESS_ALGORITHM"] = []  # Flask-Compress then chooses nothing
    app = create_app(config)
    if mode == "before":  # plain names, revalidated each time: what phones got before
        app.url_default_functions[None] = [
            f for f in app.url_default_functions[None] if f.__name__ != "hashed_static_names"]
    with app.app_context():
        db.create_all()
        seed_demo(history=True)
    return app


def serve(app):  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def visit(page: Any, cdp: Any, url: str) -> tuple[int, int]:
    """(bytes over the network, requests that went to the server) for one navigation, until
    the network is idle. A file taken from the browser's cache is neither."""
    done: dict[str, int] = {}
    cached: set[str] = set()

    def finished(event: dict[str, Any]) -> None:
        done[event["requestId"]] = int(event["encodedDataLength"])

    def from_cache(event: dict[str, Any]) -> None:
        cached.add(event["requestId"])

    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.requestServedFromCache", from_cache)
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)  # the last loadingFinished events
    cdp.remove_listener("Network.loadingFinished", finished)
    cdp.remove_listener("Network.requestServedFromCache", from_cache)
    went = [rid for rid in done if rid not in cached and done[rid] > 0]
    return sum(done[rid] for rid in went), len(went)


def measure(base: str, browser: Any) -> list[tuple[str, int, int, int, int]]:
    """Per page, each in a new browser (empty cache): the first visit's bytes and requests,
    then the second visit's."""
    pages = [("public board /p/sunshine/", "/p/sunshine/", None),
             ("public matter page", "/p/sunshine/m/2026-003", None),
             ("login page", "/login", None),
             ("representative's meeting page (logged in)", "/v/sunshine/meetings/5", "rep01")]
    rows = []
    for name, path, user in pages:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        if user:  # log in without loading any page that would fill the cache
            form = page.request.get(base + "/login").text()
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
            assert token is not None, "no CSRF token on the login page"
            page.request.post(base + "/login", form={
                "username": user, "password": "sunvote2026", "csrf_token": token.group(1)})
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        first = visit(page, cdp, base + path)
        second = visit(page, cdp, base + path)
        rows.append((name, *first, *second))
        context.close()
    return rows


def main() -> None:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[tuple[str, int, int, int, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu"])
        for mode in ("now", "no-compression", "before"):
            instance = Path(tmp) / mode
            instance.mkdir()
            server, base = serve(build_app(instance, mode))
            results[mode] = measure(base, browser)
            server.shutdown()
        browser.close()
    for mode, rows in results.items():
        table(f"{mode}: bytes over the network (requests), first visit → second visit",
              [(name, f"{b1 / 1024:7.1f} KB ({r1}) → {b2 / 1024:6.1f} KB ({r2})")
               for name, b1, r1, b2, r2 in rows])
    now, before = results["now"], results["before"]
    table("now / before, bytes",
          [(a[0], f"first {a[1] / b[1]:.2f} · second {a[3] / b[3]:.2f}")
           for a, b in zip(now, before, strict=True)])


if __name__ == "__main__":
    main()
