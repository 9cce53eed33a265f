"""The reads of the notice pages: what the printed letters say, and a township's outbox (what
its channels delivered, what waits, what failed). The inbox, the meeting's reach and its letters
are read by services/notices.py (the room and the dashboard show them too)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from sunvote.domain.notices import (
    SENT_CHANNELS,
    NoticeChannel,
    NoticeState,
    meeting_notice_deadline,
    stalled_warning,
)
from sunvote.extensions import db
from sunvote.models import Blob, Meeting, Notice, Village
from sunvote.services import notices
from sunvote.services.access import local_date
from sunvote.web import pdf
from sunvote.web.links import base_url
from sunvote.web.templating import format_time


def letters(v: Village, meeting: Meeting) -> pdf.NoticeLetters:
    """The meeting's letter notices as printed: one per member no SMS reaches, each with the
    last day on which reaching them is in time."""
    head = pdf.MeetingHead(township=v.township.name, village=v.name, number=meeting.number,
                           title=meeting.title, starts=format_time(meeting.starts_at),
                           place=meeting.place)
    last = meeting_notice_deadline(local_date(meeting.starts_at), meeting.notice_days)
    return pdf.NoticeLetters(head=head, deadline=f"{last.year}年{last.month}月{last.day}日",
                             letters=[pdf.Letter(name=n.person.name if n.person else "",
                                                 text=n.text, url=base_url() + n.link,
                                                 reference=n.id)
                                      for n in notices.letters(meeting)])


def slip_photo(notice_sha256: str) -> tuple[bytes, str] | None:
    """The stored photo of a letter's signed slip and its content type, or None."""
    blob = db.session.get(Blob, notice_sha256)
    if blob is None:
        return None
    data = bytes(blob.data)
    return data, "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"


#: How far back the outbox page counts, and how many troubled notices it lists.
OUTBOX_DAYS = 30
OUTBOX_TROUBLED = 50


@dataclass(frozen=True)
class TroubledNotice:
    """A notice that failed, whose outcome is unknown, or that waits for a retry."""

    notice: Notice
    village: str | None
    address: str | None  # masked: a township official needs to know which, not the number


@dataclass(frozen=True)
class Outbox:
    """A township's outbox over OUTBOX_DAYS: notices by channel and state, how many wait and
    since when, the warning ``notice.stalled``, and the latest troubled notices."""

    counts: dict[NoticeChannel, dict[NoticeState, int]]
    waiting: int
    oldest_waiting_at: dt.datetime | None
    warning: tuple[str, str, dict[str, object]] | None
    troubled: list[TroubledNotice]


def mask_address(address: str | None) -> str | None:
    """A phone number or e-mail address with its middle hidden (138****5678, z***@example.cn)."""
    if not address:
        return None
    if "@" in address:
        name, _, host = address.partition("@")
        return f"{name[:1]}***@{host}"
    return f"{address[:3]}****{address[-4:]}" if len(address) > 7 else "****"


def township_outbox(township_id: int, now: dt.datetime) -> Outbox:
    """What the township's notices did over the last OUTBOX_DAYS (channels the sender delivers:
    SMS, e-mail, group robots; inbox notices and letters are shown per meeting)."""
    since = now - dt.timedelta(days=OUTBOX_DAYS)
    mine = (Notice.township_id == township_id, Notice.channel.in_(SENT_CHANNELS),
            Notice.created_at >= since)
    counts: dict[NoticeChannel, dict[NoticeState, int]] = {}
    for channel, state, n in db.session.execute(
            select(Notice.channel, Notice.state, func.count(Notice.id)).where(*mine)
            .group_by(Notice.channel, Notice.state)):
        counts.setdefault(NoticeChannel(channel), {})[NoticeState(state)] = n
    waiting_states = (NoticeState.QUEUED, NoticeState.SENDING)
    waiting, oldest = db.session.execute(
        select(func.count(Notice.id), func.min(Notice.created_at))
        .where(*mine, Notice.state.in_(waiting_states))).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    rows = db.session.execute(
        select(Notice, Village.name).outerjoin(Village, Village.id == Notice.village_id)
        .where(*mine, or_(Notice.state.in_((NoticeState.FAILED, NoticeState.UNKNOWN)),
                          (Notice.state == NoticeState.QUEUED) & (Notice.attempts > 0)))
        .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(OUTBOX_TROUBLED)).all()
    troubled = [TroubledNotice(n, name, mask_address(n.address)
                               if n.channel in (NoticeChannel.SMS, NoticeChannel.EMAIL)
                               else None) for n, name in rows]
    return Outbox(counts, waiting, oldest, stalled_warning(waiting, oldest, now), troubled)
