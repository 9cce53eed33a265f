"""The production gunicorn settings: the worker hook really freezes what is alive, and the
access log never shows a token (enrolment and invitation links, check-in QR, receipt codes)."""

from __future__ import annotations

import datetime as dt
import gc
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

from flask import Flask
from gunicorn.config import Config

from sunvote import gunicorn_conf

ROOT = Path(__file__).resolve().parents[1]
SECRET = "Sec-ret_Token0123456789abcdefghijklmnopqrstu"


def test_the_worker_hook_moves_what_is_alive_out_of_the_collectors_reach() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        gunicorn_conf.post_worker_init(object())
        assert gc.get_freeze_count() > 1000  # the modules, the app and everything they hold
    finally:
        gc.unfreeze()


def test_every_access_log_value_has_its_tokens_blanked() -> None:
    """Whatever access_log_format an operator picks: request line, path, query, Referer, any
    header or environ value."""
    assert gunicorn_conf.logger_class == "sunvote.gunicorn_conf.RedactingLogger"
    logger = gunicorn_conf.RedactingLogger(Config())
    referer = f"https://vote.example.org/c/join/{SECRET}"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/c/enrol/{SECRET}?ballot={SECRET}",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": f"/c/enrol/{SECRET}",
               "QUERY_STRING": f"ballot={SECRET}", "HTTP_REFERER": referer,
               "REMOTE_ADDR": "203.0.113.7"}
    atoms = logger.atoms(SimpleNamespace(status="404 NOT FOUND", headers=[], sent=10),
                         SimpleNamespace(headers=[("REFERER", referer)]), environ,
                         dt.timedelta(microseconds=1500))
    assert atoms["r"] == "GET /c/enrol/…?ballot=… HTTP/1.1"
    assert atoms["U"] == "/c/enrol/…" and atoms["f"] == "https://vote.example.org/c/join/…"
    assert not [key for key, value in atoms.items() if SECRET in str(value)]
    assert atoms["h"] == "203.0.113.7" and atoms["s"] == "404"


def test_a_real_gunicorn_access_log_shows_no_token(app: Flask, tmp_path: Path) -> None:
    """gunicorn with our settings, on a socket bound here (a free port, no race), serving the
    real wsgi:app; a request for each kind of token URL, then the access log is read."""
    access_log = tmp_path / "access.log"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "SUNVOTE_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:sunvote.gunicorn_conf",
         "-b", f"fd://{listener.fileno()}", "-w", "1", "--access-logfile", str(access_log),
         "--error-logfile", str(tmp_path / "error.log"), "wsgi:app"],
        cwd=ROOT, env=env, pass_fds=(listener.fileno(),))
    try:
        for path, referer in ((f"/c/enrol/{SECRET}", None), (f"/c/join/{SECRET}", None),
                              (f"/v/sunshine/meetings/1/checkin/{SECRET}?c=123456", None),
                              (f"/p/sunshine/receipt?ballot={SECRET}", None),
                              ("/static/js/cloud.js", f"https://vote.example.org/c/join/{SECRET}")):
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                             headers={"Referer": referer} if referer else {})
            try:  # the listening socket queues the request until the worker is up
                urllib.request.urlopen(request, timeout=120).close()
            except urllib.error.HTTPError as answered:  # 404, 302 … still logged
                answered.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        listener.close()
    logged = access_log.read_text(encoding="utf-8")
    assert "GET /c/enrol/… HTTP/1.1" in logged, (logged, (tmp_path / "error.log").read_text())
    assert "GET /c/join/… HTTP/1.1" in logged and "/checkin/…?c=…" in logged
    assert "ballot=…" in logged and '"https://vote.example.org/c/join/…"' in logged
    assert SECRET not in logged
