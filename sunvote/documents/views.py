"""One URL per printed document. Public ones (the meeting notice, the minutes, the
implementation report, the completion certificate) under /p/<village>/, like the pages that show
the same data; the sign-in sheet, ballots and tally sheets for those who run the meeting. The
documents are Chinese whatever the page's language (official village papers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort
from flask.blueprints import BlueprintSetupState
from flask_babel import force_locale
from flask_login import login_required

from sunvote.documents import queries
from sunvote.domain.assembly import MEETING_RUNNERS, VoteMode
from sunvote.domain.documents import certificate_refusal, minutes_refusal, report_refusal
from sunvote.domain.procedure import MatterState
from sunvote.models import Matter, Meeting, Village
from sunvote.models.base import utcnow
from sunvote.services.access import require_village_access
from sunvote.services.matters import matter_by_number
from sunvote.web import pdf
from sunvote.web.pages import file_response, meeting_or_404, person_id, village_or_404

bp = Blueprint("documents", __name__)

T = TypeVar("T")


def _pdf(layout: Callable[[T, str], bytes], build: Callable[[], T], filename: str):
    name = pdf.app_font()  # refuse before reading anything when there is no font
    with force_locale("zh"):
        data = build()
    return file_response(layout(data, name), filename, "application/pdf")


def _runner_village(code: str) -> Village:
    v = village_or_404(code)
    if not require_village_access(person_id(), v, utcnow()) & MEETING_RUNNERS:
        abort(403)
    return v


# --- Public ------------------------------------------------------------------------------------


@bp.route("/p/<code>/meetings/<int:number>/notice.pdf")
def meeting_notice(code: str, number: int):
    """会议通知: the meeting's time, place, agenda and who attends, with seal and signature."""
    v = village_or_404(code)
    meeting = meeting_or_404(v, number)
    return _pdf(pdf.meeting_notice, lambda: queries.meeting_notice(v, meeting),
                f"会议通知-第{number}次.pdf")


@bp.route("/p/<code>/meetings/<int:number>/minutes.pdf")
def minutes(code: str, number: int):
    """会议记录 from the ledger's records of the meeting; only once the meeting is closed."""
    v = village_or_404(code)
    meeting = meeting_or_404(v, number)
    refusal = minutes_refusal(number, meeting.state)
    if refusal is not None:
        raise refusal
    return _pdf(pdf.minutes, lambda: queries.minutes(v, meeting), f"会议记录-第{number}次.pdf")


@bp.route("/p/<code>/m/<number>/implementation.pdf")
def implementation_report(code: str, number: str):
    """实施情况报告: plan, progress updates, money spent against plan (once implementing)."""
    v = village_or_404(code)
    m = matter_by_number(v, number[:20])
    refusal = report_refusal(m.number, MatterState(m.state))
    if refusal is not None:
        raise refusal
    return _pdf(pdf.implementation_report, lambda: queries.implementation_report(v, m),
                f"实施情况报告-{m.number}.pdf")


@bp.route("/p/<code>/m/<number>/completion.pdf")
def completion_certificate(code: str, number: str):
    """验收证明: the supervisory committee's sign-off (once completed)."""
    v = village_or_404(code)
    m = matter_by_number(v, number[:20])
    refusal = certificate_refusal(m.number, MatterState(m.state))
    if refusal is not None:
        raise refusal
    return _pdf(pdf.completion_certificate, lambda: queries.completion_certificate(v, m),
                f"验收证明-{m.number}.pdf")


# --- For those who run the meeting --------------------------------------------------------------


@bp.route("/v/<code>/meetings/<int:number>/signin.pdf")
@login_required
def signin_sheet(code: str, number: int):
    """签到表: every member with a signature column and the self check-in link."""
    v = _runner_village(code)
    meeting = meeting_or_404(v, number)
    return _pdf(pdf.signin_sheet, lambda: queries.signin_sheet(v, meeting),
                f"签到表-第{number}次.pdf")


@bp.route("/v/<code>/meetings/<int:number>/items/<int:item>/ballots-<any(named, secret):mode>.pdf")
@login_required
def ballots(code: str, number: int, item: int, mode: str):
    """选票 for agenda item ``item``: named (each member's name) or secret (no name)."""
    v = _runner_village(code)
    meeting = meeting_or_404(v, number)
    found = queries.agenda_item(meeting, item)
    if found is None:
        abort(404)
    return _pdf(pdf.ballots, lambda: queries.ballots(v, meeting, *found, mode == VoteMode.SECRET),
                f"选票-第{number}次-{found[0].matter.number}.pdf")


@bp.route("/v/<code>/meetings/<int:number>/items/<int:item>/tally-<any(named, secret):mode>.pdf")
@login_required
def tally_sheet(code: str, number: int, item: int, mode: str):
    """计票单 for agenda item ``item``: a row per choice, counters' signatures."""
    v = _runner_village(code)
    meeting = meeting_or_404(v, number)
    found = queries.agenda_item(meeting, item)
    if found is None:
        abort(404)
    return _pdf(pdf.tally_sheet,
                lambda: queries.tally_sheet(v, meeting, *found, mode == VoteMode.SECRET),
                f"计票单-第{number}次-{found[0].matter.number}.pdf")


# --- What pages offer ---------------------------------------------------------------------------


def minutes_ready(meeting: Meeting) -> bool:
    """Whether the meeting's minutes can be printed (the route's own rule)."""
    return minutes_refusal(meeting.number, meeting.state) is None


def report_ready(matter: Matter) -> bool:
    """Whether the matter's implementation report can be printed."""
    return report_refusal(matter.number, MatterState(matter.state)) is None


def certificate_ready(matter: Matter) -> bool:
    """Whether the matter's completion certificate can be printed."""
    return certificate_refusal(matter.number, MatterState(matter.state)) is None


@bp.record_once
def _template_globals(state: BlueprintSetupState) -> None:
    """The pages ask the same rules as the routes whether a document can be printed yet
    (templates/_macros/documents.html)."""
    state.app.jinja_env.globals.update(minutes_ready=minutes_ready, report_ready=report_ready,
                                       certificate_ready=certificate_ready)
