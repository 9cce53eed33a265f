"""Meeting video (issue 19, docs/video.md). The media goes browser to browser (WebRTC); SunVote
relays the signalling, by plain HTTP: a browser POSTs its offer, answer or ICE candidates and
asks every second or few for what is addressed to it (like hall.js and room.js poll their
.json). Who may take part is one rule, domain.video.video_refusal: the hall device (a login
that runs meetings, on the hall video page) and invited cloud members checked in by their
phone who have not left.

The hall's page is assembly.hall_video (templates/assembly/hall_video.html), which includes
templates/assembly/_video_peers_hall.html and static/js/meeting_video.js; the phone's is
``phone`` here, under /c/ where its cloud session cookie goes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, make_response, render_template, request
from flask_login import login_required

from sunvote.domain.assembly import MEETING_RUNNERS
from sunvote.domain.errors import DomainError
from sunvote.domain.text import whole_number
from sunvote.domain.video import (
    HALL_HELLO_SECONDS,
    MEDIA,
    Kind,
    Side,
    check_session_id,
    check_signal,
    hall_peer,
    phone_peer,
    video_refusal,
)
from sunvote.models.base import utcnow
from sunvote.services import cloud
from sunvote.services import video as service
from sunvote.services.access import require_village_access
from sunvote.web.pages import meeting_or_404, person_id, village_or_404

bp = Blueprint("video", __name__)

ROOM = "/v/<code>/meetings/<int:number>"


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


def _after() -> int:
    """The last message id the browser has seen (?after=); -1: none yet, start from now."""
    raw = request.args.get("after", "-1")
    if raw == "-1":
        return -1
    number = whole_number(raw)
    if number is None:
        abort(400)
    return number


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    return data


def _messages(meeting: Any, recipient: str, after: int) -> dict[str, Any]:
    if after < 0:
        return {"cursor": service.cursor(meeting), "messages": []}
    rows = service.mailbox(meeting, recipient, after)
    return {"cursor": rows[-1].id if rows else after,
            "messages": [service.message_json(r) for r in rows]}


# --- The hall device ------------------------------------------------------------------------


def _hall(code: str, number: int) -> Any:
    """The meeting, if this login may be the hall device of its media session (else the
    refusal, as JSON: the page's script shows it)."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    refusal = video_refusal(service.hall_joiner(meeting, bool(roles & MEETING_RUNNERS)))
    if refusal is not None:
        raise refusal
    return meeting


@bp.route(f"{ROOM}/video/signal.json")
@login_required
def hall_poll(code: str, number: int):
    """For the hall page (?sid=its session, ?after=the last id it saw): the phones it should be
    connected to (admitted cloud members, with their names), the messages addressed to it,
    whether it is still the hall (a newer hall page takes over) and its RTC configuration."""
    meeting = _hall(code, number)
    sid = check_session_id(request.args.get("sid"))
    current = service.current_hall(meeting)
    return _no_store(jsonify(
        hall=current, me=current == sid, hello_seconds=HALL_HELLO_SECONDS,
        peers=[{"peer": p.peer, "name": p.name} for p in service.admitted_phones(meeting)],
        rtc=service.rtc_configuration(hall_peer(sid)), media=MEDIA,
        **_messages(meeting, hall_peer(sid), _after())))


@bp.route(f"{ROOM}/video/signal", methods=["POST"])
@login_required
def hall_send(code: str, number: int):
    """The hall page's hello (every HALL_HELLO_SECONDS), or its answer, ICE candidates or bye to
    one admitted phone (``to``)."""
    meeting = _hall(code, number)
    data = _body()
    sid = check_session_id(data.get("sid"))
    signal = check_signal(Side.HALL, data)
    admitted = {p.peer for p in service.admitted_phones(meeting)}
    if signal.kind == Kind.HELLO:
        recipient = "*"
    else:
        recipient = str(data.get("to", ""))
        if recipient not in admitted:
            return _no_store(jsonify(ok=False, gone=True)), 409
    row = service.send(meeting.id, hall_peer(sid), recipient, signal,
                       peers=len(admitted) + 1)
    return _no_store(jsonify(ok=True, id=row.id))


# --- The phone ------------------------------------------------------------------------------


def _phone() -> tuple[cloud.CloudSession | None, DomainError | None]:
    session = cloud.session_for(request.cookies.get(cloud.SESSION_COOKIE))
    return session, video_refusal(service.phone_joiner(session))


@bp.route("/c/video")
def phone():
    """The cloud member's video page: the hall, the phone's own camera, mute and camera-off;
    a link back to the meeting page to vote."""
    session, refusal = _phone()
    page = render_template("video/phone.html", session=session, video_refused=refusal,
                           village=session.village if session else None,
                           meeting=session.meeting if session else None,
                           video_media=MEDIA["phone"])
    return _no_store(make_response(page, refusal.status if refusal else 200))


@bp.route("/c/video/signal.json")
def phone_poll():
    """For the phone's page: the hall page to talk to (None while there is none), the messages
    addressed to this phone and its RTC configuration; the refusal once it may no longer
    take part (it left the meeting, the phone was revoked, the meeting closed)."""
    session, refusal = _phone()
    if refusal is not None:
        raise refusal
    assert session is not None
    me = phone_peer(session.member.id)
    return _no_store(jsonify(
        hall=service.current_hall(session.meeting), rtc=service.rtc_configuration(me),
        media=MEDIA, **_messages(session.meeting, me, _after())))


@bp.route("/c/video/signal", methods=["POST"])
def phone_send():
    """The phone's offer, ICE candidates or bye, to the hall page ``hall`` (its session id):
    refused with 409 once that page is no longer the hall (the phone then offers again to the
    new one)."""
    session, refusal = _phone()
    if refusal is not None:
        raise refusal
    assert session is not None
    data = _body()
    signal = check_signal(Side.PHONE, data)
    hall = check_session_id(data.get("hall"))
    if hall != service.current_hall(session.meeting):
        return _no_store(jsonify(ok=False, gone=True)), 409
    row = service.send(session.meeting.id, phone_peer(session.member.id), hall_peer(hall),
                       signal)
    return _no_store(jsonify(ok=True, id=row.id))
