"""The browser verifier (docs/browser-verifier.md): the one-file page that tools/build_verifier.py
builds, opened from file:// in Chromium with every non-file request refused. It reaches the
same verdicts as ``sunvote ledger verify`` (the same text, line for line), proves a receipt,
and turns red when a log it has seen comes back rolled back or rewritten."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from sunvote.domain.ledger.verifier import verify_export
from sunvote.verify import _print_report
from sunvote.verify_browser import unpack_export
from tests.domain.ledger.logbuilder import LogBuilder, big_log, decode, encode, read_lines
from tests.e2e.verifier_build import built_verifier
from tests.web.module_demo import demo_app_once

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "signatures.json").read_text())["vectors"]
BOOT_TIMEOUT = 180_000


@pytest.fixture(scope="module")
def verifier_html() -> Path:
    """The page, built once (tools/build_verifier.py, npm packages cached)."""
    return built_verifier()


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """From the demo village as the server makes them: its export zip, a receipt of a named
    cloud ballot (or of record 5), and its log key."""
    from sunvote.extensions import db
    from sunvote.models import Ballot, Village
    from sunvote.services import exports, ledger

    tmp = tmp_path_factory.mktemp("verifier-demo")
    with demo_app_once(tmp, None) as app, app.app_context():
        village = db.session.execute(
            select(Village).where(Village.code == "sunshine")).scalar_one()
        (tmp / "export.zip").write_bytes(exports.export_zip(village))
        seq = db.session.execute(select(Ballot.ledger_seq).where(
            Ballot.ledger_seq.is_not(None), Ballot.voter_id.is_not(None))).scalars().first()
        seq = 5 if seq is None else seq
        (tmp / "receipt.txt").write_bytes(ledger.receipt(village.id, seq))
        key = ledger.active_key(village.id).vkey
        poster = app.test_client().get("/p/sunshine/poster").get_data(as_text=True)
    return {"dir": tmp, "zip": tmp / "export.zip", "receipt": tmp / "receipt.txt", "key": key,
            "seq": seq, "poster": poster}


@pytest.fixture
def page(browser: Any, verifier_html: Path) -> Iterator[Any]:
    """The page from file://, ready, with every request that is not a file refused and kept."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    refused: list[str] = []

    def refuse(route: Any) -> None:
        refused.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith("file:"), refuse)
    opened = context.new_page()
    opened.goto(verifier_html.as_uri())
    opened.wait_for_function("() => (window.sunvoteVerifier && window.sunvoteVerifier.ready)"
                             " || document.getElementById('status').dataset.state === 'error'",
                             timeout=BOOT_TIMEOUT)
    assert opened.locator("#status").get_attribute("data-state") == "ready", \
        opened.text_content("#status")
    opened.refused = refused  # type: ignore[attr-defined]
    yield opened
    assert not refused, f"the verifier made network requests: {refused[:3]}"
    context.close()


def verify_in_page(page: Any, export: Path, key: str = "") -> dict[str, str]:
    page.fill("#key", key)
    page.evaluate("() => { const v = document.getElementById('verdict'); "
                  "v.removeAttribute('data-ok'); v.textContent = ''; }")
    page.set_input_files("#export-file", str(export))
    page.wait_for_selector("#verdict[data-ok]", timeout=120_000)
    return {"ok": page.get_attribute("#verdict", "data-ok") or "",
            "verdict": page.text_content("#verdict") or "",
            "output": page.text_content("#output") or ""}


def cli_text(export_zip: Path, tmp: Path, key: str | None = None) -> tuple[str, Any]:
    """What ``sunvote ledger verify`` prints for the same export, and its report."""
    folder = unpack_export(export_zip.read_bytes(), tmp)
    report = verify_export(folder, log_vkeys_override=[key] if key else None)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print_report(report, [key] if key else [], quiet=False)
    return out.getvalue(), report


def zip_dir(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, f"export/{file.name}")
    return target


# ---------------------------------------------------------------------------- the file


def test_the_village_poster_prints_the_sha256_of_the_page_built_from_this_tree(
        verifier_html: Path, demo_files: dict[str, Any]) -> None:
    digest = hashlib.sha256(verifier_html.read_bytes()).hexdigest()
    assert f'<code id="verifier-sha256">{digest}</code>' in demo_files["poster"], (
        "sunvote/verifier.sha256 is not the hash of the page this tree builds: "
        "run python tools/build_verifier.py --write-hash and update docs/browser-verifier.md")


def test_the_page_is_one_file_that_asks_for_nothing_from_a_network(verifier_html: Path) -> None:
    html = verifier_html.read_text(encoding="utf-8")
    assert "connect-src blob: data:" in html  # the page's own policy refuses any request
    for reference in ("src=\"http", "href=\"http", "src=\"//", "@import"):
        assert reference not in html


# ---------------------------------------------------------------------------- exports


def test_the_page_verifies_the_demo_export_offline_as_the_command_does(
        page: Any, demo_files: dict[str, Any], tmp_path: Path, screenshot_dir: Path) -> None:
    shown = verify_in_page(page, demo_files["zip"], demo_files["key"])
    expected, report = cli_text(demo_files["zip"], tmp_path / "x", demo_files["key"])
    assert report.ok
    assert shown["ok"] == "true"
    assert f"验证通过：{report.records} 条记录" in shown["verdict"]
    assert shown["output"] == expected
    assert "trusted log key: given with --key" in shown["output"]
    page.screenshot(path=str(screenshot_dir / "browser-verifier-export-390.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.screenshot(path=str(screenshot_dir / "browser-verifier-export-1366.png"),
                    full_page=True)


def test_a_tampered_export_fails_naming_the_record_and_kind_the_command_names(
        page: Any, demo_files: dict[str, Any], tmp_path: Path, screenshot_dir: Path) -> None:
    folder = unpack_export(demo_files["zip"].read_bytes(), tmp_path / "tampered")
    lines = read_lines(folder)
    index = next(i for i, line in enumerate(lines) if b'"type":"matter.step"' in decode(line))
    raw = decode(lines[index])
    lines[index] = encode(raw.replace(b'"step_seq":', b'"step_seq": ', 1)
                          if b'"step_seq":' in raw else raw[:-70] + b"X" + raw[-69:])
    (folder / "records").write_bytes(b"".join(line + b"\n" for line in lines))
    tampered = zip_dir(folder, tmp_path / "tampered.zip")
    expected, report = cli_text(tampered, tmp_path / "cli", demo_files["key"])
    first = report.failures[0]
    assert first.index == index and not report.ok
    shown = verify_in_page(page, tampered, demo_files["key"])
    assert shown["ok"] == "false"
    assert f"第 {index} 条记录（matter.step）" in shown["verdict"]
    assert f"退出码 {report.exit_code}" in shown["verdict"]
    assert shown["output"] == expected  # every failure, record, kind and reason the same
    assert f"record {index} (matter.step): {first.kind}:" in shown["output"]
    page.screenshot(path=str(screenshot_dir / "browser-verifier-tampered-390.png"),
                    full_page=True)


def test_without_the_posters_key_the_page_says_it_only_shows_the_file_is_consistent(
        page: Any, demo_files: dict[str, Any]) -> None:
    shown = verify_in_page(page, demo_files["zip"])
    assert shown["ok"] == "true"
    assert "未输入账本公钥" in page.text_content("#unchecked")
    assert "taken from the export's own log.vkey" in shown["output"]


def test_a_file_that_is_not_an_export_is_refused_in_words(page: Any, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    with zipfile.ZipFile(junk, "w") as zf:
        zf.writestr("hello.txt", "not a ledger")
    shown = verify_in_page(page, junk)
    assert shown["ok"] == "false"
    assert "no SunVote ledger export" in shown["output"]


# ---------------------------------------------------------------------------- receipts


def test_a_receipt_is_proven_with_the_posters_key_and_a_changed_one_is_not(
        page: Any, demo_files: dict[str, Any], tmp_path: Path, screenshot_dir: Path) -> None:
    page.fill("#key", demo_files["key"])
    page.set_input_files("#receipt-file", str(demo_files["receipt"]))
    page.wait_for_selector("#verdict[data-ok]")
    assert page.get_attribute("#verdict", "data-ok") == "true"
    assert "证明成功" in page.text_content("#verdict")
    assert f"record {demo_files['seq']}" in page.text_content("#output")
    page.screenshot(path=str(screenshot_dir / "browser-verifier-receipt-390.png"),
                    full_page=True)
    # the same receipt with another record's bytes: the leaf hash is computed from the record
    lines = demo_files["receipt"].read_bytes().split(b"\n")
    record = base64.b64decode(lines[1].split(b" ", 1)[1])
    lines[1] = b"record " + base64.b64encode(record.replace(b'"v":1', b'"v":2'))
    changed = tmp_path / "changed.txt"
    changed.write_bytes(b"\n".join(lines))
    page.evaluate("() => document.getElementById('verdict').removeAttribute('data-ok')")
    page.set_input_files("#receipt-file", str(changed))
    page.wait_for_selector("#verdict[data-ok]")
    assert page.get_attribute("#verdict", "data-ok") == "false"
    assert "NOT PROVEN" in page.text_content("#output")


# ---------------------------------------------------------------------------- memory


def _log(n: int) -> LogBuilder:
    return big_log(n)


def test_a_log_rewritten_after_the_page_saw_it_turns_red_with_both_checkpoints(
        page: Any, tmp_path: Path, screenshot_dir: Path) -> None:
    seen = _log(40)
    first = zip_dir(seen.export(tmp_path / "seen"), tmp_path / "seen.zip")
    assert verify_in_page(page, first)["ok"] == "true"
    assert page.locator("#rollback").is_hidden()
    # Restored from a backup at 30 records and rewritten: a well-formed, longer log.
    fork = LogBuilder(tick=seen_tick(), fast=True)
    for raw in seen.records[:30]:
        fork.add_raw(raw)
    fork.suggestion(999, text="另一段历史")
    while fork.size < 45:
        fork.suggestion(1000 + fork.size, text="改写")
    rewritten = zip_dir(fork.export(tmp_path / "fork"), tmp_path / "fork.zip")
    shown = verify_in_page(page, rewritten)
    assert shown["output"].startswith("verified: 45 records")  # the file alone is valid ...
    assert shown["ok"] == "false"
    assert "与本设备以前见过的不同" in shown["verdict"]
    alarm = page.locator("#rollback")
    assert alarm.is_visible()  # ... but not the one this device saw
    assert alarm.get_attribute("data-rule") == "ledger.rollback"
    assert page.text_content("#rollback pre.seen") == seen.checkpoint().decode()
    assert page.text_content("#rollback pre.new") == fork.checkpoint().decode()
    page.screenshot(path=str(screenshot_dir / "browser-verifier-rollback-390.png"),
                    full_page=True)


def test_a_log_that_only_grew_stays_green_and_a_shorter_one_is_a_rollback(
        page: Any, tmp_path: Path) -> None:
    log = _log(30)
    older = zip_dir(log.export(tmp_path / "a"), tmp_path / "a.zip")
    assert verify_in_page(page, older)["ok"] == "true"
    for i in range(5):
        log.suggestion(500 + i)
    newer = zip_dir(log.export(tmp_path / "b"), tmp_path / "b.zip")
    assert verify_in_page(page, newer)["ok"] == "true"
    assert page.locator("#rollback").is_hidden()
    assert "仍在账本中" in page.text_content("#memory-notes")
    assert verify_in_page(page, older)["ok"] == "false"
    assert page.locator("#rollback").is_visible()
    assert "现在只有30条" in page.text_content("#rollback")
    assert "旧文件" in page.text_content("#rollback")  # an old file opened again says so
    assert "A witnessed checkpoint covers 35 records" in page.text_content("#rollback")  # en


def seen_tick() -> Any:
    import datetime as dt

    return dt.timedelta(seconds=1)


# ---------------------------------------------------------------------------- signatures


def test_the_pages_signature_checks_agree_with_the_servers_on_every_vector(page: Any) -> None:
    answer = page.evaluate("v => window.sunvoteVerifier.signatureVerdicts(JSON.stringify(v))",
                           VECTORS)
    assert answer["backend"] == "noble"
    assert answer["verdicts"] == [v["valid"] for v in VECTORS]


def _node_getter(records: list[bytes]) -> Any:
    from sunvote.domain.ledger.merkle import leaf_hash, root_from_leaf_hashes

    leaves = [leaf_hash(r) for r in records]
    return lambda level, index: root_from_leaf_hashes(leaves[index << level:(index + 1) << level])


def test_a_receipt_of_a_grown_log_needs_a_consistency_proof_and_a_bad_one_turns_red(
        page: Any, tmp_path: Path) -> None:
    from sunvote.domain.ledger.merkle import consistency_proof, inclusion_proof
    from sunvote.domain.ledger.proofs import Receipt, TlogProof, format_receipt
    from sunvote.domain.ledger.records import b64

    log = _log(30)
    assert verify_in_page(page, zip_dir(log.export(tmp_path / "a"), tmp_path / "a.zip"),
                          log.log_vkeys[-1])["ok"] == "true"
    for i in range(6):
        log.suggestion(700 + i)
    get = _node_getter(log.records)
    receipt = tmp_path / "r.receipt"
    receipt.write_bytes(format_receipt(Receipt(log.records[33], TlogProof(
        33, tuple(inclusion_proof(33, log.size, get)), log.checkpoint()))))
    page.evaluate("() => document.getElementById('verdict').removeAttribute('data-ok')")
    page.set_input_files("#receipt-file", str(receipt))
    page.wait_for_selector("#verdict[data-ok]")
    assert page.get_attribute("#verdict", "data-ok") == "true"
    assert "未检查" in page.text_content("#memory-notes")  # 30 seen, 36 now: a proof is needed
    wrong = tmp_path / "wrong-proof"
    wrong.write_text("".join(b64(h[::-1]) + "\n" for h in consistency_proof(30, 36, get)))
    page.set_input_files("#memory-notes input.proof-file", str(wrong))
    page.wait_for_selector("#rollback:not([hidden])")
    assert page.get_attribute("#rollback", "data-rule") == "ledger.rollback"
    # the right proof, from the start again: green
    page.set_input_files("#receipt-file", str(tmp_path / "a.zip"))  # not a receipt: refused
    page.evaluate("() => document.getElementById('verdict').removeAttribute('data-ok')")
    page.set_input_files("#receipt-file", str(receipt))
    page.wait_for_selector("#verdict[data-ok]")
    right = tmp_path / "proof"
    right.write_text("".join(b64(h) + "\n" for h in consistency_proof(30, 36, get)))
    page.set_input_files("#memory-notes input.proof-file >> nth=0", str(right))
    page.wait_for_function("() => document.getElementById('memory-notes')"
                           ".textContent.includes('仍在账本中')")


# ---------------------------------------------------------------------------- proofs from the board


@pytest.fixture
def history_server(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The demo with its eight weeks of history (ballots in the ledger), served on a loopback
    port as tests/e2e/conftest.py's live server is."""
    import threading

    from werkzeug.serving import make_server

    with demo_app_once(tmp_path / "history", None, history=True) as app:
        app.config["SERVER_NAME"] = None
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        app.config["BASE_URL"] = base
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield app, base
        server.shutdown()
        thread.join(timeout=5)


def _download(page: Any, click: str, target: Path) -> tuple[Path, str]:
    """Click ``click`` on ``page`` and save what it downloads to ``target``; returns it and the
    address it came from."""
    with page.expect_download() as info:
        page.click(click)
    info.value.save_as(str(target))
    return target, info.value.url


def test_a_phone_gets_its_consistency_proof_from_the_village_board(
        browser: Any, page: Any, history_server: tuple[Flask, str], tmp_path: Path,
        screenshot_dir: Path) -> None:
    """The page saw the village's log at m records; a receipt of n records comes; the page shows
    where to get the proof; a villager downloads it from the board's form on a phone with a
    network (the verifier's own context has none) and picks it: green. A proof for other sizes:
    red."""
    from sunvote.extensions import db
    from sunvote.models import Ballot

    demo, live_server = history_server
    with demo.app_context():  # the starting data: a ballot's receipt code
        ballot = db.session.execute(select(Ballot.code).where(
            Ballot.ledger_seq.is_not(None))).scalars().first()
    assert ballot is not None
    phone = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    board = phone.new_page()
    board.goto(f"{live_server}/p/sunshine/")
    key = board.locator("#ledger p:has-text('账本公钥') code.hash").text_content() or ""
    older, _ = _download(board, "#ledger a:has-text('下载账本')", tmp_path / "older.zip")
    assert verify_in_page(page, older, key.strip())["ok"] == "true"
    m = int(re.search(r"共(\d+)条记录", board.text_content("#ledger") or "").group(1))  # type: ignore[union-attr]
    # The log grows: a villager's suggestion is a record.
    board.click("a:has-text('我要提建议')")
    board.fill("#text", "建议在村口装一盏路灯")
    board.fill("#name", "钟秀兰")
    board.fill("#contact", "13955556666")
    board.click("button:has-text('提交建议')")
    board.wait_for_load_state()
    board.goto(f"{live_server}/p/sunshine/receipt?ballot={ballot}")
    receipt, _ = _download(board, "a:has-text('下载回执文件')", tmp_path / "ballot.receipt")
    page.evaluate("() => document.getElementById('verdict').removeAttribute('data-ok')")
    page.set_input_files("#receipt-file", str(receipt))
    page.wait_for_selector("#verdict[data-ok]")
    assert page.get_attribute("#verdict", "data-ok") == "true"
    n = int(re.search(r"at size (\d+)", page.text_content("#output") or "").group(1))  # type: ignore[union-attr]
    assert n > m
    shown = page.text_content("#memory-notes .proof-path")
    assert shown == f"/p/sunshine/ledger/consistency?from={m}&to={n}"
    assert "村公开页面" in page.text_content("#memory-notes")
    page.screenshot(path=str(screenshot_dir / "browser-verifier-proof-where-390.png"),
                    full_page=True)

    def proof_from_board(old: int, new: int, name: str) -> Path:
        board.goto(f"{live_server}/p/sunshine/")
        board.fill("#consistency-from", str(old))
        board.fill("#consistency-to", str(new))
        saved, url = _download(board, "#consistency-form button", tmp_path / name)
        assert url == f"{live_server}/p/sunshine/ledger/consistency?from={old}&to={new}"
        return saved

    board.goto(f"{live_server}/p/sunshine/")
    board.locator("#consistency-form").scroll_into_view_if_needed()
    board.screenshot(path=str(screenshot_dir / "public-consistency-form-390.png"))
    # A proof for other sizes: red, with both checkpoints.
    page.set_input_files("#memory-notes input.proof-file", str(proof_from_board(m - 1, n, "x")))
    page.wait_for_selector("#rollback:not([hidden])")
    assert page.get_attribute("#rollback", "data-rule") == "ledger.rollback"
    # The receipt again and the proof the page asked for: green.
    page.set_input_files("#receipt-file", str(older))  # not a receipt: refused
    page.evaluate("() => document.getElementById('verdict').removeAttribute('data-ok')")
    page.set_input_files("#receipt-file", str(receipt))
    page.wait_for_selector("#verdict[data-ok]")
    right = proof_from_board(m, n, "proof")
    page.set_input_files("#memory-notes input.proof-file >> nth=0", str(right))
    page.wait_for_function("() => document.getElementById('memory-notes')"
                           ".textContent.includes('仍在账本中')")
    assert page.locator("#rollback").is_hidden()
    assert not page.refused  # type: ignore[attr-defined]
    page.screenshot(path=str(screenshot_dir / "browser-verifier-proof-green-390.png"),
                    full_page=True)
    board.set_viewport_size({"width": 1366, "height": 768})
    board.goto(f"{live_server}/p/sunshine/?lang=en")
    assert "Download a consistency proof" in board.text_content("#consistency-form")
    board.locator("#consistency-form").scroll_into_view_if_needed()
    board.screenshot(path=str(screenshot_dir / "public-consistency-form-en-1366.png"))
    board.goto(f"{live_server}/p/sunshine/ledger/consistency?from={n + 1}")
    assert "ledger.consistency_sizes" in board.text_content("main")
    board.screenshot(path=str(screenshot_dir / "public-consistency-refused-en-1366.png"))
    phone.close()


def test_a_villager_checks_a_receipt_from_a_screenshot_of_its_qr_code(
        browser: Any, page: Any, history_server: tuple[Flask, str], tmp_path: Path,
        screenshot_dir: Path) -> None:
    """The public receipt page shows the receipt itself as a QR code; a villager screenshots it
    on a phone with a network and picks the picture in the verifier (network blocked): proven,
    read by the embedded decoder (Chromium on Linux has no BarcodeDetector). A QR of the online
    check address (the phone's receipt) is answered with where to get the receipt instead."""
    import qrcode

    from sunvote.extensions import db
    from sunvote.models import Ballot

    demo, live_server = history_server
    with demo.app_context():  # the starting data: a ballot's receipt code
        ballot = db.session.execute(select(Ballot.code).where(
            Ballot.ledger_seq.is_not(None))).scalars().first()
    assert ballot is not None
    # a phone's screen has 2–3 device pixels per CSS pixel: its screenshot of the QR code does
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3)
    board = phone.new_page()
    board.goto(f"{live_server}/p/sunshine/")
    key = (board.locator("#ledger p:has-text('账本公钥') code.hash").text_content() or "").strip()
    board.goto(f"{live_server}/p/sunshine/receipt?ballot={ballot}")
    shot_path = tmp_path / "receipt-qr.png"
    board.locator("#receipt-proof-qr .qr").screenshot(path=str(shot_path))
    board.screenshot(path=str(screenshot_dir / "public-receipt-qr-390.png"), full_page=True)
    assert page.evaluate("'BarcodeDetector' in globalThis") is False  # the decoder's the page's
    page.fill("#key", key)
    page.evaluate("() => document.getElementById('verdict').removeAttribute('data-ok')")
    page.set_input_files("#qr-image", str(shot_path))
    page.wait_for_selector("#verdict[data-ok], #scan-note:not([hidden])", timeout=60_000)
    assert page.get_attribute("#verdict", "data-ok") == "true", (
        page.text_content("#scan-note"), page.text_content("#output"))
    assert "证明成功" in page.text_content("#verdict")
    page.screenshot(path=str(screenshot_dir / "browser-verifier-qr-390.png"), full_page=True)
    # the phone receipt's QR holds the online check address: the page says where to go
    address = f"{live_server}/p/sunshine/receipt?ballot={ballot}"
    qrcode.make(address, border=4).save(str(tmp_path / "address.png"))
    page.set_input_files("#qr-image", str(tmp_path / "address.png"))
    page.wait_for_selector("#scan-note:not([hidden])")
    note = page.text_content("#scan-note") or ""
    assert "回执的网上查验地址" in note and address in note
    phone.close()
