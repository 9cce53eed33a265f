"""The reads of the notice pages: what the printed letters say. The inbox, the meeting's reach
and its letters are read by services/notices.py (the room and the dashboard show them too)."""

from __future__ import annotations

from sunvote.domain.notices import meeting_notice_deadline
from sunvote.extensions import db
from sunvote.models import Blob, Meeting, Village
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
