"""Meeting video (issue 19): the signalling mailbox between the hall device and the cloud
members' phones, who may use it (domain.video.video_refusal), and the ICE servers handed to
the pages (docs/video.md).

Messages are rows of ``video_signal``: every gunicorn worker sees them, on SQLite and on
PostgreSQL alike, with no other server. Each is dropped SIGNAL_KEEP_SECONDS after it was sent
(by the next message of the meeting); none is a ledger record.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from sunvote.domain.assembly import Channel, MeetingState
from sunvote.domain.errors import N_, Conflict
from sunvote.domain.video import (
    HALL_ALIVE_SECONDS,
    MAX_SIGNALS_PER_POLL,
    SIGNAL_KEEP_SECONDS,
    Joiner,
    Kind,
    Side,
    Signal,
    check_signal_budget,
    phone_peer,
    video_refusal,
)
from sunvote.extensions import db
from sunvote.models import Attendance, Device, Invitation, Meeting, Person, VideoSignal
from sunvote.models.base import utcnow
from sunvote.services.cloud import CloudSession
from sunvote.services.unit_of_work import use_case


def hall_joiner(meeting: Meeting, runner: bool) -> Joiner:
    """The hall device: a login on the hall page, ``runner`` if it runs meetings here."""
    return Joiner(Side.HALL, meeting.state == MeetingState.OPEN, runner=runner)


def phone_joiner(session: CloudSession | None) -> Joiner:
    """A phone by its cloud session (None: no valid session, so not invited; which meeting it
    would be is unknown, so the refusal is the invitation's, not the meeting's)."""
    if session is None:
        return Joiner(Side.PHONE, True)
    attendance = db.session.execute(select(Attendance).where(
        Attendance.meeting_id == session.meeting.id,
        Attendance.person_id == session.member.id)).scalar_one_or_none()
    return Joiner(Side.PHONE, session.meeting.state == MeetingState.OPEN, invited=True,
                  present=attendance is not None,
                  cloud=attendance is not None and attendance.channel == Channel.CLOUD)


@dataclass(frozen=True)
class Peer:
    """A cloud member the hall connects to: their signalling address and name."""

    member: int
    name: str

    @property
    def peer(self) -> str:
        return phone_peer(self.member)


def admitted_phones(meeting: Meeting) -> list[Peer]:
    """The cloud members of the meeting that video_refusal admits now: present by cloud, with a
    used invitation to this meeting on their current phone. In check-in order."""
    if meeting.state != MeetingState.OPEN:
        return []
    rows = db.session.execute(
        select(Attendance.person_id, Attendance.channel, Person.name, Invitation.id, Device.id)
        .join(Person, Person.id == Attendance.person_id)
        .outerjoin(Invitation, (Invitation.meeting_id == Attendance.meeting_id)
                   & (Invitation.person_id == Attendance.person_id)
                   & Invitation.session_hash.is_not(None))
        .outerjoin(Device, (Device.id == Invitation.device_id) & Device.replaced_at.is_(None)
                   & Device.revoked_at.is_(None))
        .where(Attendance.meeting_id == meeting.id)
        .order_by(Attendance.id)).all()
    seen: dict[int, Peer] = {}
    for member, channel, name, invitation, device in rows:
        joiner = Joiner(Side.PHONE, True, invited=invitation is not None and device is not None,
                        present=True, cloud=channel == Channel.CLOUD)
        if video_refusal(joiner) is None:
            seen.setdefault(member, Peer(member, name))
    return list(seen.values())


def current_hall(meeting: Meeting, now: dt.datetime | None = None) -> str | None:
    """The session id of the hall page heard from last (within HALL_ALIVE_SECONDS), or None."""
    now = now or utcnow()
    sender = db.session.execute(select(VideoSignal.sender).where(
        VideoSignal.meeting_id == meeting.id, VideoSignal.kind == Kind.HELLO.value,
        VideoSignal.at >= now - dt.timedelta(seconds=HALL_ALIVE_SECONDS))
        .order_by(VideoSignal.id.desc()).limit(1)).scalar_one_or_none()
    return sender.split(":", 1)[1] if sender else None


def mailbox(meeting: Meeting, recipient: str, after: int) -> list[VideoSignal]:
    """The messages to ``recipient`` after id ``after``, oldest first."""
    return list(db.session.execute(select(VideoSignal).where(
        VideoSignal.meeting_id == meeting.id, VideoSignal.recipient == recipient,
        VideoSignal.id > after).order_by(VideoSignal.id).limit(MAX_SIGNALS_PER_POLL)).scalars())


def cursor(meeting: Meeting) -> int:
    """The newest message id of the meeting (a new page starts reading after it)."""
    return int(db.session.execute(select(func.coalesce(func.max(VideoSignal.id), 0)).where(
        VideoSignal.meeting_id == meeting.id)).scalar_one())


def message_json(row: VideoSignal) -> dict[str, Any]:
    """One message as the pages read it."""
    return {"id": row.id, "from": row.sender, "kind": row.kind, "pc": row.connection,
            "data": json.loads(row.body)}


@use_case
def send(meeting_id: int, sender: str, recipient: str, signal: Signal,
         now: dt.datetime | None = None, peers: int = 1) -> VideoSignal:
    """Post one message (the caller checked who may send what to whom); drop the meeting's
    messages older than SIGNAL_KEEP_SECONDS; refuse a sender with too many still waiting
    (domain.video.check_signal_budget)."""
    now = now or utcnow()
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or meeting.state != MeetingState.OPEN:
        raise Conflict("video.join", N_("会议未开始或已结束，视频连线不可用"))
    db.session.execute(delete(VideoSignal).where(
        VideoSignal.meeting_id == meeting_id,
        VideoSignal.at < now - dt.timedelta(seconds=SIGNAL_KEEP_SECONDS)))
    check_signal_budget(int(db.session.execute(select(func.count()).select_from(VideoSignal)
                                               .where(VideoSignal.meeting_id == meeting_id,
                                                      VideoSignal.sender == sender))
                            .scalar_one()), peers)
    row = VideoSignal(meeting_id=meeting_id, sender=sender, recipient=recipient,
                      kind=signal.kind.value, connection=signal.connection, body=signal.body,
                      at=now)
    db.session.add(row)
    db.session.flush()
    return row


def ice_servers(peer: str, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The ICE servers a page may use (SUNVOTE_ICE_SERVERS). With SUNVOTE_TURN_SECRET, a TURN
    entry without a credential gets a time-limited one (coturn's ``use-auth-secret``: user
    "<expiry>:<peer>", password base64(HMAC-SHA1(secret, user))), so no lasting TURN password
    is ever in a page."""
    now = now or utcnow()
    secret = current_app.config.get("TURN_SECRET")
    ttl = int(current_app.config.get("TURN_TTL_SECONDS") or 12 * 3600)
    out = []
    for entry in current_app.config.get("ICE_SERVERS") or []:
        server = dict(entry)
        urls = server.get("urls")
        turn = any(str(u).startswith(("turn:", "turns:"))
                   for u in (urls if isinstance(urls, list) else [urls]))
        if turn and secret and "credential" not in server:
            user = f"{int(now.timestamp()) + ttl}:{peer}"
            digest = hmac.new(str(secret).encode(), user.encode(), hashlib.sha1).digest()
            server.update(username=user, credential=base64.b64encode(digest).decode())
        out.append(server)
    return out


def rtc_configuration(peer: str) -> dict[str, Any]:
    """What the page hands to ``new RTCPeerConnection()``."""
    return {"iceServers": ice_servers(peer),
            "iceTransportPolicy": current_app.config.get("ICE_TRANSPORT_POLICY") or "all"}
