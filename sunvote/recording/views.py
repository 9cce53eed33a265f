"""Recording pages (issue 19): the hall device uploads its chunks; the supervisory committee
and the township watch the hall's recording while the meeting runs, play it back and download
it afterwards; the township deletes it after its retention. Who may do which is one rule,
domain.recording.recording_access_refusal; the video is never on a public page."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required

from sunvote.domain.assembly import MeetingState
from sunvote.domain.errors import N_, DomainError, InvalidField, NotFound
from sunvote.domain.recording import (
    CHUNK_SECONDS,
    RecordingUse,
    purge_refusal,
    recording_access_refusal,
)
from sunvote.domain.roles import Role
from sunvote.domain.text import whole_number
from sunvote.extensions import db
from sunvote.models import Meeting, Recording, Village
from sunvote.models.base import utcnow
from sunvote.recording import queries
from sunvote.services import recording as service
from sunvote.services import sfu
from sunvote.services.access import require_village_access
from sunvote.services.recording_export import write_zip
from sunvote.web.errors import both_languages
from sunvote.web.pages import meeting_or_404, person_id, refused, village_or_404

bp = Blueprint("recording", __name__)

REC = "/v/<code>/meetings/<int:number>/recording"


def _json_error(error: DomainError, meeting: Meeting | None = None):
    """A refusal as JSON: rule, message in the page's language, Chinese and English; with where
    the recording stands, so that the hall page can resume from there."""
    messages = both_languages(error.msgid, error.params)
    body: dict[str, object] = {"error": {"status": error.status, "rule": error.rule,
                                         "message": error.render(_), "zh": messages["zh"],
                                         "en": messages["en"]}}
    if meeting is not None:
        body["tail"] = queries.tail_of(meeting)
    return jsonify(body), error.status


def _use_for(meeting: Meeting) -> str:
    """Watching live while the meeting runs, playing back otherwise."""
    return (RecordingUse.WATCH_LIVE if meeting.state == MeetingState.OPEN
            else RecordingUse.PLAY)


def _allowed(roles: frozenset[Role], use: str, meeting: Meeting,
             recording: Recording | None) -> None:
    """Raise the rule's refusal unless ``roles`` may ``use`` the recording."""
    refusal = recording_access_refusal(
        roles, use, meeting_open=meeting.state == MeetingState.OPEN,
        purged=recording is not None and recording.purged_at is not None)
    if refusal is not None:
        raise refusal


@bp.app_template_global()
def may_watch_recording(roles: frozenset[Role], meeting: Meeting) -> bool:
    """Whether the meeting page links to the recording for someone holding ``roles``."""
    return recording_access_refusal(roles, _use_for(meeting),
                                    meeting_open=meeting.state == MeetingState.OPEN) is None


@bp.route(f"{REC}/chunks", methods=["POST"])
@login_required
def upload(code: str, number: int):
    """One chunk from the hall page (static/js/recording.js): the body is the chunk, its
    number, the previous chunk's SHA-256, its own SHA-256 and whether a recorder run starts
    with it are headers. Answers JSON: taken, or the refusal with where the recording
    stands."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    denied = recording_access_refusal(roles, RecordingUse.RECORD, meeting_open=True)
    if denied is not None:
        return _json_error(denied)
    headers = request.headers
    seq = whole_number(headers.get("X-Recording-Seq", ""))
    if seq is None:
        return _json_error(InvalidField("input.invalid", N_("录像段的编号须是从0开始的整数")),
                           meeting)
    data = request.get_data(cache=False)
    try:
        taken = service.take_chunk(
            person_id(), meeting.id, seq=seq,
            prev=headers.get("X-Recording-Prev", "").strip().lower()[:64],
            sha256=headers.get("X-Recording-SHA256", "").strip().lower()[:64],
            content_type=request.content_type or "", first=headers.get("X-Recording-First") == "1",
            data=data)
    except DomainError as error:
        db.session.rollback()
        return _json_error(error, meeting)
    return jsonify(seq=taken.seq, next_seq=taken.next_seq, last_sha256=taken.last_sha256,
                   ledger_seq=taken.ledger_seq, gap=taken.gap)


@bp.route(REC)
@login_required
def page(code: str, number: int):
    """The hall's recording: live (the recording so far) while the meeting runs, played back
    after it; its chunks with their SHA-256 and ledger records, its gaps and refused uploads;
    the download; the deletion once the retention has passed."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    refusal = recording_access_refusal(roles, _use_for(meeting),
                                       meeting_open=meeting.state == MeetingState.OPEN)
    if refusal is not None:
        raise refusal
    return _render(v, roles, meeting)


def _render(v: Village, roles: frozenset[Role], meeting: Meeting,
            error: DomainError | None = None, status: int = 200):
    recording = queries.recording_of(meeting)
    live = meeting.state == MeetingState.OPEN
    overview = queries.overview(meeting, recording) if recording else None
    days = service.retention_days(v)
    may_purge = (recording is not None and recording_access_refusal(
        roles, RecordingUse.PURGE, meeting_open=live) is None)
    purge_why = (purge_refusal(meeting.closed_at, days, utcnow(),
                               recording.purged_at is not None) if recording else None)
    return render_template("recording/recording.html", village=v, meeting=meeting,
                           recording=recording, overview=overview, live=live,
                           retention_days=days, may_purge=may_purge, purge_why=purge_why,
                           chunk_seconds=CHUNK_SECONDS, error=error,
                           watch_live=live and sfu.enabled()), status


@bp.route(f"{REC}/run-<int:run>.webm")
@login_required
def run_media(code: str, number: int, run: int):
    """Run ``run`` of the recording (1, 2, …) as one WebM file: its chunks joined in order,
    read one at a time. While the meeting runs, the file ends at the last chunk taken."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    recording = queries.recording_of(meeting)
    _allowed(roles, _use_for(meeting), meeting, recording)
    runs = service.runs(recording) if recording else []
    if not 1 <= run <= len(runs):
        raise NotFound("input.invalid", N_("录像没有这一段"))
    chunks = runs[run - 1]
    hashes = [c.sha256 for c in chunks]
    mimetype = "video/mp4" if "mp4" in chunks[0].content_type else "video/webm"
    response = Response(stream_with_context(service.chunk_bytes(hashes)), mimetype=mimetype)
    response.headers["Content-Length"] = str(sum(c.size for c in chunks))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route(f"{REC}/recording.zip")
@login_required
def download(code: str, number: int):
    """The recording with its manifest and the village's ledger export (docs/recording.md)."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    recording = queries.recording_of(meeting)
    _allowed(roles, RecordingUse.DOWNLOAD, meeting, recording)
    if recording is None:
        raise NotFound("input.invalid", N_("这次会议没有录像"))
    response = send_file(write_zip(v, meeting, recording), mimetype="application/zip",
                         as_attachment=True,
                         download_name=f"sunvote-recording-{v.code}-{meeting.number}.zip")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route(f"{REC}/purge", methods=["POST"])
@login_required
def purge(code: str, number: int):
    """Delete the recording's files after the township's retention (the hashes stay)."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    refusal = recording_access_refusal(roles, RecordingUse.PURGE,
                                       meeting_open=meeting.state == MeetingState.OPEN)
    if refusal is not None:
        raise refusal
    try:
        freed = service.purge(person_id(), meeting.id)
    except DomainError as error:
        return refused(error, _render, v, roles, meeting)
    flash(_("录像文件已删除（%(mb)s MB），各段的指纹仍在账本中", mb=round(freed / 1e6, 1)),
          "success")
    return redirect(url_for("recording.page", code=v.code, number=meeting.number))
