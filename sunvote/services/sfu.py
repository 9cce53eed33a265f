"""Meeting video through an SFU: Janus's VideoRoom (docs/video.md "Through Janus").

With SUNVOTE_JANUS_URL set, the hall page publishes its camera once to the meeting's Janus room
and subscribes to each admitted phone's feed; each phone publishes its camera and subscribes to
the hall's. SunVote is Janus's only API client (the API is bound to loopback or a private
network; browsers only send media to Janus): each browser operation is one request here that
does the whole exchange with Janus's HTTP API synchronously and returns the SDP the browser
needs. Who may publish and subscribe to what is the same rule as in mesh
(domain.video.video_refusal, asked by the views on every request); the Janus sessions SunVote
holds for each browser are rows of ``video_sfu_session``, kept alive on the browser's poll and
destroyed the moment the rule refuses the browser (it left, was revoked, the meeting closed),
so its media stops within a poll.

The room of a meeting, its secret and its PIN are derived from the app's SECRET_KEY (HMAC):
nothing is stored, and no browser ever sees them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from sunvote.domain.video import (
    MEDIA,
    SFU_HALL_FEED,
    SFU_KEEPALIVE_SECONDS,
    SFU_SESSION_SECONDS,
    is_watcher,
    sfu_feed,
    sfu_unavailable,
)
from sunvote.extensions import db
from sunvote.models import Meeting, VideoSfuSession
from sunvote.models.base import utcnow
from sunvote.services.unit_of_work import use_case

PLUGIN = "janus.plugin.videoroom"
#: Janus's error code for a session it no longer knows (timed out or destroyed).
NO_SUCH_SESSION = 458
#: VideoRoom's error codes: no such room; no such feed (the publisher left).
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428
#: VideoRoom's error code: a publisher with this id is already in the room.
ID_EXISTS = 436
#: The largest room: the hall and every member who may join by cloud.
ROOM_PUBLISHERS = 200


class JanusError(Exception):
    """Janus answered with an error (``code``), or did not answer (code 0)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus {code}: {reason}")
        self.code = code


def enabled() -> bool:
    """Whether this deployment's meeting video goes through Janus (SUNVOTE_JANUS_URL)."""
    return bool(current_app.config.get("JANUS_URL"))


# --- Janus's HTTP API -----------------------------------------------------------------------


def _janus(path: str = "", body: dict[str, Any] | None = None, timeout: float | None = None
           ) -> Any:
    """One request to Janus's HTTP API (POST ``body``, or GET a long poll); its JSON answer.
    Any failure (refused, timed out, not JSON, ``"janus": "error"``) is a JanusError."""
    url = str(current_app.config["JANUS_URL"]) + path
    data = None
    if body is not None:
        body = {**body, "transaction": secrets.token_hex(8)}
        data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(
                request, timeout=timeout or float(current_app.config.get("JANUS_TIMEOUT") or 10)
        ) as response:
            answer = json.loads(response.read().decode())
    except (OSError, ValueError) as error:  # URLError, timeouts, refused, bad JSON
        raise JanusError(0, str(error)) from None
    if isinstance(answer, dict) and answer.get("janus") == "error":
        problem = answer.get("error") or {}
        raise JanusError(int(problem.get("code") or 0), str(problem.get("reason")))
    return answer


def _new_handle() -> tuple[int, int]:
    """A new Janus session with the VideoRoom plugin attached: (session, handle)."""
    session = int(_janus("", {"janus": "create"})["data"]["id"])
    try:
        handle = int(_janus(f"/{session}", {"janus": "attach", "plugin": PLUGIN})["data"]["id"])
    except JanusError:
        destroy_session(session)
        raise
    return session, handle


def _request(session: int, handle: int, body: dict[str, Any]) -> dict[str, Any]:
    """A synchronous VideoRoom request (create, exists, …): the plugin's answer."""
    answer = _janus(f"/{session}/{handle}", {"janus": "message", "body": body})
    data = ((answer.get("plugindata") or {}).get("data")) or {}
    if "error_code" in data:
        raise JanusError(int(data["error_code"]), str(data.get("error")))
    return dict(data)


def _exchange(session: int, handle: int, body: dict[str, Any],
              jsep: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An asynchronous VideoRoom request (join, configure, start): sent, then the session's
    events long-polled until the plugin's answer to this handle: (its data, its jsep)."""
    message: dict[str, Any] = {"janus": "message", "body": body}
    if jsep is not None:
        message["jsep"] = jsep
    _janus(f"/{session}/{handle}", message)
    timeout = float(current_app.config.get("JANUS_TIMEOUT") or 10)
    deadline = utcnow() + dt.timedelta(seconds=timeout)
    while utcnow() < deadline:
        events = _janus(f"/{session}?maxev=10", timeout=timeout)
        for event in events if isinstance(events, list) else [events]:
            if event.get("janus") != "event" or event.get("sender") != handle:
                continue  # a keepalive answer, or news of other publishers: not this answer
            data = ((event.get("plugindata") or {}).get("data")) or {}
            if "error_code" in data:
                raise JanusError(int(data["error_code"]), str(data.get("error")))
            return dict(data), event.get("jsep")
    raise JanusError(0, "no answer from Janus in time")


def _unavailable(error: JanusError, what: str) -> Exception:
    """The refusal for the page (video.sfu_unavailable), after logging Janus's own reason for
    the operator (the page is told only that the video server is unavailable)."""
    current_app.logger.warning("Janus %s failed: %s", what, error)
    return sfu_unavailable()


def kick_publisher(meeting: Meeting, room: int, feed: int) -> None:
    """Put publisher ``feed`` out of the meeting's room (VideoRoom's ``kick``, with the room's
    secret), on a short-lived session of its own. Already gone is as good as kicked."""
    with contextlib.suppress(JanusError):
        session, handle = _new_handle()
        try:
            _request(session, handle, {"request": "kick", "secret": room_secret(meeting),
                                       "room": room, "id": feed})
        finally:
            destroy_session(session)


def destroy_session(session: int) -> None:
    """Destroy a Janus session (its handles leave the room: their media stops). A session Janus
    no longer knows, or a Janus that is down, is already as good as destroyed here."""
    with contextlib.suppress(JanusError):
        _janus(f"/{session}", {"janus": "destroy"})


# --- The meeting's room ---------------------------------------------------------------------


def _derived(meeting: Meeting, what: str) -> bytes:
    key = str(current_app.config["SECRET_KEY"]).encode()
    name = f"sunvote-janus:{what}:{meeting.id}:{meeting.convened_at.isoformat()}"
    return hmac.new(key, name.encode(), hashlib.sha256).digest()


def room_of(meeting: Meeting) -> int:
    """The meeting's Janus room number (48 bits of an HMAC: not guessable, not stored)."""
    return int.from_bytes(_derived(meeting, "room")[:6], "big") or 1


def room_secret(meeting: Meeting) -> str:
    return _derived(meeting, "secret").hex()[:32]


def room_pin(meeting: Meeting) -> str:
    return _derived(meeting, "pin").hex()[:32]


def ensure_room(meeting: Meeting, session: int, handle: int) -> int:
    """The meeting's room, created in Janus if it is not there yet (after a Janus restart too):
    private (not listed), with a secret and a PIN only SunVote knows, the hall's bitrate cap
    for publishers (a phone's publisher is capped lower when it joins)."""
    room = room_of(meeting)
    if _request(session, handle, {"request": "exists", "room": room}).get("exists"):
        return room
    create: dict[str, Any] = {
        "request": "create", "room": room, "description": f"SunVote meeting {meeting.id}",
        "secret": room_secret(meeting), "pin": room_pin(meeting), "is_private": True,
        "publishers": ROOM_PUBLISHERS, "bitrate": int(MEDIA["hall"]["maxBitrate"]),
        "audiocodec": "opus", "videocodec": "vp8", "permanent": False}
    admin_key = current_app.config.get("JANUS_ADMIN_KEY")
    if admin_key:
        create["admin_key"] = admin_key
    try:
        _request(session, handle, create)
    except JanusError as error:
        if error.code != 427:  # 427: the room exists (another worker created it just now)
            raise
    return room


# --- What the views ask ---------------------------------------------------------------------


def rows(meeting: Meeting) -> list[VideoSfuSession]:
    return list(db.session.execute(select(VideoSfuSession).where(
        VideoSfuSession.meeting_id == meeting.id).order_by(VideoSfuSession.id)).scalars())


def publishing(meeting: Meeting) -> dict[str, int]:
    """Who publishes in the meeting's room now: peer → the id of its publisher row (a new id
    when the peer publishes again: subscribers then subscribe again)."""
    return {r.peer: r.id for r in rows(meeting) if r.publisher}


def hall_publication(meeting: Meeting, hall: str | None) -> int | None:
    """The publisher row of the current hall page (``hall``: its peer), or None."""
    return publishing(meeting).get(hall) if hall else None


@use_case
def _record(meeting_id: int, peer: str, feed: int, publisher: bool, session: int, handle: int
            ) -> VideoSfuSession:
    db.session.execute(delete(VideoSfuSession).where(
        VideoSfuSession.meeting_id == meeting_id, VideoSfuSession.feed == feed,
        VideoSfuSession.publisher.is_(publisher),
        # a feed has one publisher (an older hall page's goes); a subscriber is per peer
        VideoSfuSession.peer == peer if not publisher else VideoSfuSession.id.is_not(None)))
    row = VideoSfuSession(meeting_id=meeting_id, peer=peer, feed=feed, publisher=publisher,
                          janus_session=session, janus_handle=handle, kept_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row


def _replace(meeting: Meeting, peer: str, feed: int, publisher: bool) -> None:
    """Destroy the previous publisher of this feed (the peer's previous connection, or an older
    hall page's), or the peer's previous subscription to it: a new connection replaces it."""
    for row in rows(meeting):
        if row.feed == feed and row.publisher == publisher and (publisher or row.peer == peer):
            destroy_session(row.janus_session)


def publish(meeting: Meeting, peer: str, offer: dict[str, str], side: str
            ) -> dict[str, Any] | None:
    """The browser of ``peer`` publishes its camera: a new Janus session joins the meeting's
    room as publisher ``sfu_feed(peer)`` (display: the peer), configured with the browser's
    offer, capped at its side's bitrate; Janus's SDP answer. Replaces the peer's previous
    publisher session. None if another request of the same page published at the same time."""
    feed = sfu_feed(peer)
    _replace(meeting, peer, feed, True)
    for attempt in (1, 2):
        try:
            session, handle = _new_handle()
        except JanusError as error:
            raise _unavailable(error, "session") from None
        try:
            room = ensure_room(meeting, session, handle)
            _, jsep = _exchange(session, handle, {
                "request": "joinandconfigure", "ptype": "publisher", "room": room,
                "pin": room_pin(meeting), "id": feed, "display": peer.split(":", 1)[0],
                "bitrate": int(MEDIA[side]["maxBitrate"])}, {**offer, "trickle": False})
            if not jsep or jsep.get("type") != "answer":
                raise JanusError(0, "no SDP answer")
            break
        except JanusError as error:
            destroy_session(session)
            if error.code != ID_EXISTS or attempt == 2:
                raise _unavailable(error, "publish") from None
            # The feed's previous publisher is still in the room (Janus takes a destroyed
            # session out of its room a moment later, or SunVote lost its row): put it out
            # with the room's secret, and join again on a fresh session.
            kick_publisher(meeting, room, feed)
    assert jsep is not None  # the loop breaks only with Janus's answer
    try:
        row = _record(meeting.id, peer, feed, True, session, handle)
    except IntegrityError:  # the same page published twice at once: the other one stays
        destroy_session(session)
        return None
    return {"answer": {"type": "answer", "sdp": jsep["sdp"]}, "published": row.id}


def subscribe(meeting: Meeting, peer: str, feed: int) -> dict[str, Any] | None:
    """The browser of ``peer`` subscribes to publisher ``feed`` (the caller checked that the
    rule allows it): a new Janus session joins the room as its subscriber; Janus's SDP offer.
    None when that feed is not (or no longer) published."""
    _replace(meeting, peer, feed, False)
    try:
        session, handle = _new_handle()
    except JanusError as error:
        raise _unavailable(error, "session") from None
    try:
        _, jsep = _exchange(session, handle, {
            "request": "join", "ptype": "subscriber", "room": room_of(meeting),
            "pin": room_pin(meeting), "streams": [{"feed": feed}]})
        if not jsep or jsep.get("type") != "offer":
            raise JanusError(0, "no SDP offer")
    except JanusError as error:
        destroy_session(session)
        if error.code in (NO_SUCH_FEED, NO_SUCH_ROOM):
            return None
        raise _unavailable(error, "subscribe") from None
    try:
        _record(meeting.id, peer, feed, False, session, handle)
    except IntegrityError:  # the same page subscribed twice at once: the other one stays
        destroy_session(session)
        return None
    return {"offer": {"type": "offer", "sdp": jsep["sdp"]}}


def start(meeting: Meeting, peer: str, feed: int, answer: dict[str, str]) -> bool:
    """The browser's SDP answer to its subscription to ``feed``: the media starts. False when
    there is no such subscription (it was dropped: subscribe again)."""
    row = next((r for r in rows(meeting)
                if r.peer == peer and r.feed == feed and not r.publisher), None)
    if row is None:
        return False
    try:
        _exchange(row.janus_session, row.janus_handle, {"request": "start"},
                  {**answer, "trickle": False})
    except JanusError as error:
        if error.code == NO_SUCH_SESSION:
            _forget([row.id])
            return False
        raise _unavailable(error, "start") from None
    return True


@use_case
def _forget(ids: list[int]) -> None:
    if ids:
        db.session.execute(delete(VideoSfuSession).where(VideoSfuSession.id.in_(ids)))


def drop(meeting: Meeting, keep: Any) -> list[str]:
    """Destroy the Janus sessions of the meeting that ``keep(row)`` does not keep (their
    browsers are refused by the rule now, or replaced), and forget them; the peers dropped."""
    gone = [(r.id, r.peer, r.janus_session) for r in rows(meeting) if not keep(r)]
    for _, _, session in gone:
        destroy_session(session)
    _forget([row for row, _, _ in gone])
    return sorted({peer for _, peer, _ in gone})


def drop_peer(meeting: Meeting, peer: str) -> list[str]:
    """The peer is refused: destroy all its sessions (its media stops at once)."""
    return drop(meeting, lambda r: r.peer != peer)


def enforce(meeting: Meeting, admitted: set[str], hall: str | None,
            now: dt.datetime | None = None) -> list[str]:
    """On the hall's poll: only the admitted phones (``admitted``: their peers) and the current
    hall page (``hall``: its peer) keep Janus sessions; the hall subscribes only to admitted
    phones' feeds; the watchers (``watcher_peer``) keep their subscriptions to the hall's feed
    only (the rule, WATCH_LIVE, is asked on each watcher's own poll, which drops a refused
    watcher's sessions). A member who checked out, was revoked or whose phone was replaced is
    destroyed here even if their page keeps running. A session not kept alive for
    SFU_SESSION_SECONDS (its page closed) is forgotten too."""
    feeds = {sfu_feed(p) for p in admitted} | {SFU_HALL_FEED}
    alive = (now or utcnow()) - dt.timedelta(seconds=SFU_SESSION_SECONDS)

    def kept(r: VideoSfuSession) -> bool:
        if is_watcher(r.peer):  # a watcher's subscription to the hall (its own poll asks the rule)
            return r.feed == SFU_HALL_FEED and not r.publisher
        return (r.peer in admitted or r.peer == hall) and r.feed in feeds

    return drop(meeting, lambda r: kept(r) and _aware(r.kept_at) >= alive)


def _aware(at: dt.datetime) -> dt.datetime:
    """A time read back from SQLite has no zone: it is UTC."""
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def keep_alive(meeting: Meeting, peer: str, now: dt.datetime | None = None) -> None:
    """On the peer's poll: a keepalive to each of its Janus sessions not kept alive for
    SFU_KEEPALIVE_SECONDS; a session Janus no longer knows is forgotten (the page publishes or
    subscribes again). A Janus that does not answer is sfu_unavailable."""
    now = now or utcnow()
    due = [r for r in rows(meeting) if r.peer == peer
           and _aware(r.kept_at) < now - dt.timedelta(seconds=SFU_KEEPALIVE_SECONDS)]
    if not due:
        return
    lost: list[int] = []
    for row in due:
        try:
            _janus(f"/{row.janus_session}", {"janus": "keepalive"})
        except JanusError as error:
            if error.code != NO_SUCH_SESSION:
                raise _unavailable(error, "keepalive") from None
            lost.append(row.id)
    _kept([r.id for r in due if r.id not in lost], lost, now)


@use_case
def _kept(ids: list[int], lost: list[int], now: dt.datetime) -> None:
    if ids:
        for row in db.session.execute(select(VideoSfuSession).where(
                VideoSfuSession.id.in_(ids))).scalars():
            row.kept_at = now
    _forget(lost)
