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

from sunvote.domain.assembly import MEETING_RUNNERS, MeetingState
from sunvote.domain.errors import DomainError
from sunvote.domain.recording import RecordingUse, recording_access_refusal
from sunvote.domain.text import whole_number
from sunvote.domain.video import (
    HALL_HELLO_SECONDS,
    MEDIA,
    SFU_HALL_FEED,
    Kind,
    Side,
    check_description,
    check_session_id,
    check_signal,
    hall_peer,
    phone_peer,
    sfu_feed,
    video_refusal,
    watcher_peer,
    watcher_person,
)
from sunvote.models.base import utcnow
from sunvote.services import cloud, sfu
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
        if sfu.enabled() and refusal.status == 409:  # the meeting is not open: nobody stays
            sfu.drop(meeting, lambda row: False)
        raise refusal
    return meeting


def _sfu_only() -> None:
    """The SFU routes exist only where SUNVOTE_JANUS_URL is set (else the video is mesh)."""
    if not sfu.enabled():
        abort(404)


def _current_hall_sid(meeting: Any, sid: str) -> bool:
    return service.current_hall(meeting) == sid


@bp.route(f"{ROOM}/video/signal.json")
@login_required
def hall_poll(code: str, number: int):
    """For the hall page (?sid=its session, ?after=the last id it saw): the phones it should be
    connected to (admitted cloud members, with their names), the messages addressed to it,
    whether it is still the hall (a newer hall page takes over) and its RTC configuration."""
    meeting = _hall(code, number)
    sid = check_session_id(request.args.get("sid"))
    current = service.current_hall(meeting)
    peers = service.admitted_phones(meeting)
    through_sfu = None
    if sfu.enabled():
        # Only the admitted phones and the current hall page keep their Janus sessions: a
        # member who left is cut off here, within a poll, even if their page keeps running.
        sfu.enforce(meeting, {p.peer for p in peers}, hall_peer(current) if current else None)
        sfu.keep_alive(meeting, hall_peer(sid))
        published = sfu.publishing(meeting)
        through_sfu = {"published": published.get(hall_peer(sid)),
                       "feeds": {p.peer: published[p.peer] for p in peers
                                 if p.peer in published}}
    return _no_store(jsonify(
        hall=current, me=current == sid, hello_seconds=HALL_HELLO_SECONDS,
        peers=[{"peer": p.peer, "name": p.name} for p in peers], sfu=through_sfu,
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


def _hall_sfu(code: str, number: int) -> tuple[Any, str, dict[str, Any]]:
    """An SFU request of the hall page: the meeting, the page's peer and the body; refused with
    409 ``gone`` (as a JSON answer) when the page is no longer the hall."""
    meeting = _hall(code, number)
    _sfu_only()
    data = _body()
    sid = check_session_id(data.get("sid"))
    if not _current_hall_sid(meeting, sid):
        abort(make_response(jsonify(ok=False, gone=True), 409))
    return meeting, hall_peer(sid), data


def _admitted_feed(meeting: Any, data: dict[str, Any]) -> int:
    """The feed of the admitted phone the hall names (``peer``), or 409 ``gone``."""
    peer = data.get("peer")
    if not isinstance(peer, str) or peer not in {p.peer for p in service.admitted_phones(meeting)}:
        abort(make_response(jsonify(ok=False, gone=True), 409))
    return sfu_feed(peer)


@bp.route(f"{ROOM}/video/publish", methods=["POST"])
@login_required
def hall_publish(code: str, number: int):
    """Through Janus: the hall page's SDP offer (``offer``, ICE gathered); SunVote joins the
    meeting's room as the hall's publisher and returns Janus's answer."""
    meeting, peer, data = _hall_sfu(code, number)
    offer = check_description(data.get("offer"), "offer")
    result = sfu.publish(meeting, peer, offer, "hall")
    if result is None:
        return _no_store(jsonify(ok=False, gone=True)), 409
    return _no_store(jsonify(ok=True, **result))


@bp.route(f"{ROOM}/video/subscribe", methods=["POST"])
@login_required
def hall_subscribe(code: str, number: int):
    """Through Janus: the hall page subscribes to one admitted phone's feed (``peer``);
    Janus's SDP offer, or 409 ``gone`` when that phone is not admitted or not publishing."""
    meeting, peer, data = _hall_sfu(code, number)
    feed = _admitted_feed(meeting, data)
    result = sfu.subscribe(meeting, peer, feed)
    if result is None:
        return _no_store(jsonify(ok=False, gone=True)), 409
    return _no_store(jsonify(ok=True, **result))


@bp.route(f"{ROOM}/video/start", methods=["POST"])
@login_required
def hall_start(code: str, number: int):
    """Through Janus: the hall page's SDP answer to its subscription to a phone (``peer``)."""
    meeting, peer, data = _hall_sfu(code, number)
    feed = _admitted_feed(meeting, data)
    answer = check_description(data.get("answer"), "answer")
    if not sfu.start(meeting, peer, feed, answer):
        return _no_store(jsonify(ok=False, gone=True)), 409
    return _no_store(jsonify(ok=True))


# --- The phone ------------------------------------------------------------------------------


def _phone() -> tuple[cloud.CloudSession | None, DomainError | None]:
    """The phone's cloud session and the rule's refusal, if any. Through Janus, a refused
    phone's sessions are destroyed at once: it stops receiving the hall and leaves the hall's
    screen, whatever its page does next."""
    session = cloud.session_for(request.cookies.get(cloud.SESSION_COOKIE))
    refusal = video_refusal(service.phone_joiner(session))
    if refusal is not None and session is not None and sfu.enabled():
        sfu.drop_peer(session.meeting, phone_peer(session.member.id))
    return session, refusal


def _phone_sfu() -> tuple[Any, str, dict[str, Any]]:
    session, refusal = _phone()
    if refusal is not None:
        raise refusal
    assert session is not None
    _sfu_only()
    return session.meeting, phone_peer(session.member.id), _body()


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
    hall = service.current_hall(session.meeting)
    through_sfu = None
    if sfu.enabled():
        sfu.keep_alive(session.meeting, me)
        published = sfu.publishing(session.meeting)
        through_sfu = {"published": published.get(me),
                       "hall": published.get(hall_peer(hall)) if hall else None}
    return _no_store(jsonify(
        hall=hall, rtc=service.rtc_configuration(me), media=MEDIA, sfu=through_sfu,
        **_messages(session.meeting, me, _after())))


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


@bp.route("/c/video/publish", methods=["POST"])
def phone_publish():
    """Through Janus: the phone's SDP offer (``offer``: its camera and microphone, ICE
    gathered); SunVote joins the meeting's room as this member's publisher, capped for 4G, and
    returns Janus's answer."""
    meeting, peer, data = _phone_sfu()
    offer = check_description(data.get("offer"), "offer")
    result = sfu.publish(meeting, peer, offer, "phone")
    if result is None:
        return _no_store(jsonify(ok=False, gone=True)), 409
    return _no_store(jsonify(ok=True, **result))


@bp.route("/c/video/subscribe", methods=["POST"])
def phone_subscribe():
    """Through Janus: the phone subscribes to the hall's feed, and only to it; Janus's SDP
    offer, or 409 ``gone`` while no hall page publishes."""
    meeting, peer, _ = _phone_sfu()
    hall = service.current_hall(meeting)
    if sfu.hall_publication(meeting, hall_peer(hall) if hall else None) is None:
        return _no_store(jsonify(ok=False, gone=True)), 409
    result = sfu.subscribe(meeting, peer, SFU_HALL_FEED)
    if result is None:
        return _no_store(jsonify(ok=False, gone=True)), 409
    return _no_store(jsonify(ok=True, **result))


@bp.route("/c/video/start", methods=["POST"])
def phone_start():
    """Through Janus: the phone's SDP answer to its subscription to the hall."""
    meeting, peer, data = _phone_sfu()
    answer = check_description(data.get("answer"), "answer")
    if not sfu.start(meeting, peer, SFU_HALL_FEED, answer):
        return _no_store(jsonify(ok=False, gone=True)), 409
    return _no_store(jsonify(ok=True))


# --- Watchers: the supervisory committee and the township watch the hall live ----------------


def _watcher(code: str, number: int, sid: Any) -> tuple[Any, str]:
    """Through Janus only: the meeting and the peer of this live-view page (``sid()``: its own
    random id, asked once the rule admits the login), if this login may watch the hall live
    (the recording's rule, RecordingUse.WATCH_LIVE: the same people as the recording so far).
    A refused watcher's Janus sessions (all its pages') are destroyed at once."""
    _sfu_only()
    v = village_or_404(code)
    meeting = meeting_or_404(v, number)
    me = person_id()
    try:
        roles = require_village_access(me, v, utcnow())
        refusal = recording_access_refusal(roles, RecordingUse.WATCH_LIVE,
                                           meeting_open=meeting.state == MeetingState.OPEN)
    except DomainError as error:
        refusal = error
    if refusal is not None:
        sfu.drop(meeting, lambda row: watcher_person(row.peer) != me)
        raise refusal
    return meeting, watcher_peer(me, check_session_id(sid()))


def _hall_publication(meeting: Any) -> int | None:
    hall = service.current_hall(meeting)
    return sfu.hall_publication(meeting, hall_peer(hall) if hall else None)


@bp.route(f"{ROOM}/video/watch.json")
@login_required
def watch_poll(code: str, number: int):
    """For a watcher's live view (on the recording page; ?sid=the page's id): the hall's current
    publication (an id that changes when the hall publishes again: subscribe again; null while
    no hall page publishes) and the RTC configuration; keeps the page's Janus session alive."""
    meeting, peer = _watcher(code, number, lambda: request.args.get("sid"))
    sfu.keep_alive(meeting, peer)
    return _no_store(jsonify(hall=_hall_publication(meeting),
                             rtc=service.rtc_configuration(peer)))


@bp.route(f"{ROOM}/video/watch/subscribe", methods=["POST"])
@login_required
def watch_subscribe(code: str, number: int):
    """Through Janus: the watcher's page (``sid``) subscribes to the hall's feed, and only to it
    (receive-only); Janus's SDP offer, or 409 ``gone`` while no hall page publishes."""
    meeting, peer = _watcher(code, number, lambda: _body().get("sid"))
    if _hall_publication(meeting) is None:
        return _no_store(jsonify(ok=False, gone=True)), 409
    result = sfu.subscribe(meeting, peer, SFU_HALL_FEED)
    if result is None:
        return _no_store(jsonify(ok=False, gone=True)), 409
    return _no_store(jsonify(ok=True, **result))


@bp.route(f"{ROOM}/video/watch/start", methods=["POST"])
@login_required
def watch_start(code: str, number: int):
    """Through Janus: the SDP answer of the watcher's page (``sid``) to its subscription to the
    hall; the media starts."""
    meeting, peer = _watcher(code, number, lambda: _body().get("sid"))
    answer = check_description(_body().get("answer"), "answer")
    if not sfu.start(meeting, peer, SFU_HALL_FEED, answer):
        return _no_store(jsonify(ok=False, gone=True)), 409
    return _no_store(jsonify(ok=True))
