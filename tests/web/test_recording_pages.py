"""The recording over HTTP (issue 19): the hall device's chunk uploads (headers, JSON answers,
refusals naming their rule in Chinese and English with where the recording stands), who may
upload (a runner's login only: a supervisor, another village's clerk or a stranger writes
nothing), refusals after the meeting closed recorded; the recording page, its media and its
download for supervisors only; no public page carries video."""

from __future__ import annotations

import hashlib
import io
import zipfile

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from sunvote.extensions import db
from sunvote.models import LedgerRecord, Meeting
from sunvote.services import assembly
from tests.conftest import csrf_token
from tests.services.test_assembly import matter, opened_meeting, pid

ZERO = "0" * 64


def chunk(n: int) -> bytes:
    return b"\x1a\x45\xdf\xa3" + f"web chunk {n} ".encode() * 40


def open_meeting(demo: Flask) -> int:
    with demo.app_context():
        meeting, _roster = opened_meeting([matter("001").id])
        return meeting.number


def records(demo: Flask) -> int:
    with demo.app_context():
        return db.session.execute(select(func.count()).select_from(LedgerRecord)).scalar_one()


def upload(client: FlaskClient, number: int, seq: object, prev: str, data: bytes,
           first: bool = False, token: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    sent = {"X-CSRFToken": token if token is not None else csrf_token(client, "/me/notices"),
            "X-Recording-Seq": str(seq), "X-Recording-Prev": prev,
            "X-Recording-SHA256": hashlib.sha256(data).hexdigest(),
            "X-Recording-First": "1" if first else "0", "Accept": "application/json",
            **headers}
    return client.post(f"/v/sunshine/meetings/{number}/recording/chunks", data=data,
                       headers=sent, content_type=headers.get("ct", "video/webm;codecs=vp8"))


def test_the_hall_device_uploads_chunks_and_a_refusal_says_where_to_resume(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    number = open_meeting(demo)
    clerk = as_user("clerk")
    page = clerk.get(f"/v/sunshine/meetings/{number}/video").get_data(as_text=True)
    assert 'data-next-seq="0"' in page and "正在录像" in page
    first = upload(clerk, number, 0, ZERO, chunk(0), first=True)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json["next_seq"] == 1 and first.json["ledger_seq"] > 0
    head = first.json["last_sha256"]
    before = records(demo)
    wrong = upload(clerk, number, 4, head, chunk(4))
    assert wrong.status_code == 409
    error = wrong.json["error"]
    assert error["rule"] == "recording.order"
    assert "第1段" in error["zh"] and "chunk 1 was expected" in error["en"]
    assert wrong.json["tail"] == {"next_seq": 1, "last_sha256": head, "ended": False}
    assert records(demo) == before + 1  # recorded
    # garbled headers: answered, never a 500, nothing written
    for seq in ("", "-1", "１", "9" * 30, "0x10"):
        answer = upload(clerk, number, seq, head, chunk(1))
        assert answer.status_code == 400 and answer.json["error"]["rule"] == "input.invalid"
    assert upload(clerk, number, 1, head, chunk(1), ct="text/html").status_code == 400
    assert upload(clerk, number, 1, "zz", chunk(1)).json["error"]["rule"] == "recording.chain"
    assert upload(clerk, number, 1, head, chunk(1), token="").status_code == 400  # no CSRF
    assert upload(clerk, number, 1, head, chunk(1)).status_code == 200
    # the page reloaded resumes from where the server stands
    page = clerk.get(f"/v/sunshine/meetings/{number}/video").get_data(as_text=True)
    assert 'data-next-seq="2"' in page


def test_only_a_runner_of_the_village_uploads_and_the_others_write_nothing(
        as_user, demo: Flask, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    number = open_meeting(demo)
    before = records(demo)
    for username in ("supervisor", "rep01", "township", "clerk2"):
        answer = upload(as_user(username), number, 0, ZERO, chunk(0), first=True)
        assert answer.status_code in (403, 404), (username, answer.status_code)
    stranger = client.post(f"/v/sunshine/meetings/{number}/recording/chunks", data=chunk(0),
                           headers={"X-Recording-Seq": "0"}, content_type="video/webm")
    assert stranger.status_code in (302, 400, 401)
    assert records(demo) == before


def test_a_chunk_after_the_meeting_closed_is_refused_and_recorded_and_supervisors_play_it(
        as_user, demo: Flask) -> None:  # type: ignore[no-untyped-def]
    number = open_meeting(demo)
    clerk = as_user("clerk")
    head = upload(clerk, number, 0, ZERO, chunk(0), first=True).json["last_sha256"]
    with demo.app_context():
        meeting_id = db.session.execute(select(Meeting.id).where(
            Meeting.number == number)).scalars().first()
        assembly.close_meeting(pid("张敏"), meeting_id)
    late = upload(clerk, number, 1, head, chunk(1))
    assert late.status_code == 409 and late.json["error"]["rule"] == "recording.meeting_state"
    assert late.json["tail"]["ended"] is True
    supervisor = as_user("supervisor")
    page = supervisor.get(f"/v/sunshine/meetings/{number}/recording").get_data(as_text=True)
    assert "recording.meeting_state" in page and "run-1.webm" in page
    media = supervisor.get(f"/v/sunshine/meetings/{number}/recording/run-1.webm")
    assert media.status_code == 200 and media.data == chunk(0)
    assert media.headers["Content-Type"] == "video/webm"
    assert supervisor.get(f"/v/sunshine/meetings/{number}/recording/run-2.webm"
                          ).status_code == 404
    download = supervisor.get(f"/v/sunshine/meetings/{number}/recording/recording.zip")
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.data)) as zf:
        names = zf.namelist()
        assert zf.read("chunks/000000.webm") == chunk(0)
    assert "manifest.json" in names and "ledger/records" in names
    # the clerk runs the meeting, but does not play back or download it
    assert clerk.get(f"/v/sunshine/meetings/{number}/recording").status_code == 403
    assert clerk.get(f"/v/sunshine/meetings/{number}/recording/recording.zip"
                     ).status_code == 403


def test_no_public_route_serves_or_links_the_recording(demo: Flask, client: FlaskClient) -> None:
    recording_routes = [r for r in demo.url_map.iter_rules() if "recording" in r.rule
                        or r.endpoint.startswith("recording.")]
    assert recording_routes
    assert all(r.rule.startswith("/v/") for r in recording_routes)
    number = open_meeting(demo)
    for path in ("/p/sunshine/", f"/p/sunshine/meetings/{number}/minutes.pdf"):
        assert b"recording" not in client.get(path).data
