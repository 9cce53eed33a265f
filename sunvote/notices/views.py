"""Notices (issue 18): a person's inbox (/me/notices) with its read receipts and its badge in the
navigation, and the meeting's notices as those who run the meeting handle them from the meeting
page: send an SMS or e-mail again, print the letters, record a letter's signed slip and see its
photo. Who was reached is shown on the meeting page itself (assembly/views.py). A township's
officials see its outbox: what each channel delivered, what waits, what failed."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import login_required

from sunvote.domain.administration import check_township_admin
from sunvote.domain.assembly import MEETING_RUNNERS
from sunvote.domain.notices import (
    CHANNEL_LABELS,
    EVENT_LABELS,
    SENT_CHANNELS,
    STATE_LABELS,
    NoticeChannel,
    NoticeState,
    site_path,
)
from sunvote.models import Meeting, Notice, Village
from sunvote.models.base import utcnow
from sunvote.notices import forms as f
from sunvote.notices import queries
from sunvote.services import notices as service
from sunvote.services.access import require_village_access
from sunvote.services.administration import roles_in_township
from sunvote.web import pdf
from sunvote.web.pages import (
    file_response,
    meeting_or_404,
    person_id,
    township_or_404,
    village_or_404,
)

bp = Blueprint("notices", __name__)

ROOM = "/v/<code>/meetings/<int:number>"


# --- The inbox ----------------------------------------------------------------------------------


@bp.route("/me/notices")
@login_required
def inbox():
    """The person's own notices, newest first, the unread ones marked."""
    rows = service.inbox(person_id())
    return render_template("notices/inbox.html", notices=rows, EVENT_LABELS=EVENT_LABELS)


@bp.route("/me/notices/<int:notice>/open", methods=["POST"])
@login_required
def open_notice(notice: int):
    """Open a notice: its read receipt, then the page that acts on it (a path of this site only;
    else back to the inbox)."""
    opened = service.mark_read(person_id(), notice, utcnow())
    return redirect(site_path(opened.link) or url_for("notices.inbox"))


# --- The meeting's notices, for those who run it -----------------------------------------------


def _runner_meeting(code: str, number: int) -> tuple[Village, Meeting]:
    v = village_or_404(code)
    if not require_village_access(person_id(), v, utcnow()) & MEETING_RUNNERS:
        abort(403)
    return v, meeting_or_404(v, number)


def _notice_of(meeting: Meeting, notice: int) -> Notice:
    found = service.meeting_notice(meeting, notice)
    if found is None:
        abort(404)
    return found


def _back(v: Village, meeting: Meeting):
    return redirect(url_for("assembly.room", code=v.code, number=meeting.number) + "#reach")


@bp.route(f"{ROOM}/letters.pdf")
@login_required
def letters_pdf(code: str, number: int):
    """书面通知: one page per letter notice of the meeting, with the slip to sign."""
    v, meeting = _runner_meeting(code, number)
    font = pdf.app_font()  # refuse before reading anything when there is no font
    with force_locale("zh"):
        doc = queries.letters(v, meeting)
    return file_response(pdf.notice_letters(doc, font), f"书面通知-第{number}次.pdf",
                         "application/pdf")


@bp.route(f"{ROOM}/notices/<int:notice>/resend", methods=["POST"])
@login_required
def resend(code: str, number: int, notice: int):
    """Send a failed SMS or e-mail again (or one whose outcome is unknown)."""
    v = village_or_404(code)
    meeting = meeting_or_404(v, number)
    service.requeue_notice(person_id(), _notice_of(meeting, notice).id, utcnow())
    flash(_("已重新排队发送"), "success")
    return _back(v, meeting)


@bp.route(f"{ROOM}/notices/<int:notice>/slip", methods=["POST"])
@login_required
def record_slip(code: str, number: int, notice: int):
    """Record a letter's signed slip: its photo."""
    v = village_or_404(code)
    meeting = meeting_or_404(v, number)
    found = _notice_of(meeting, notice)
    storage = f.SlipForm().photo.data
    if storage is None or not getattr(storage, "filename", ""):
        photo, filename = b"", ""  # the use case refuses it, after asking who is asking
    else:
        photo, filename = storage.read(), storage.filename or ""
    service.record_letter_receipt(person_id(), found.id, photo, filename, utcnow())
    flash(_("已登记书面通知签收回执"), "success")
    return _back(v, meeting)


@bp.route(f"{ROOM}/notices/<int:notice>/slip-photo")
@login_required
def slip_photo(code: str, number: int, notice: int):
    """The photo of a letter's signed slip, for those who run the meeting."""
    _v, meeting = _runner_meeting(code, number)
    found = _notice_of(meeting, notice)
    photo = queries.slip_photo(found.evidence_sha256) if found.evidence_sha256 else None
    if photo is None:
        abort(404)
    data, mimetype = photo
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- A township's outbox ------------------------------------------------------------------------


@bp.route("/t/<code>/notices")
@login_required
def outbox(code: str):
    """The township's outbox for its officials (and the district's): notices by channel and
    state over the last 30 days, how many wait and since when (a provider outage shows here
    as ``notice.stalled``), and the notices that failed or wait for a retry, with the
    provider's answer."""
    t = township_or_404(code)
    now = utcnow()
    roles = roles_in_township(person_id(), t.id, now)
    if not roles:
        check_township_admin(roles)  # refused, naming its rule
    return render_template(
        "notices/outbox.html", township=t, outbox=queries.township_outbox(t.id, now),
        channels=[c for c in NoticeChannel if c in SENT_CHANNELS], states=list(NoticeState),
        CHANNEL_LABELS=CHANNEL_LABELS, STATE_LABELS=STATE_LABELS, EVENT_LABELS=EVENT_LABELS,
        days=queries.OUTBOX_DAYS)
