"""Cloud voting pages. Staff (logged in): the village's enrolled phones (enrol QR, revoke,
unlock), a member's meeting invitation, the live audit of refused attempts. Phone (no login,
tokens only, never a member's identity in a URL): enrol, join a meeting, vote, receipt. An
enrolment or invitation link carries its token in the fragment (/c/enrol#t=…), which no server
sees; the page posts it (docs/operations.md, "Logs")."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required

from sunvote.cloud import queries
from sunvote.domain import cloud as rules
from sunvote.domain.assembly import (
    MEETING_RUNNERS,
    PAPER_CONFIRMERS,
    Choice,
    MeetingState,
    PollState,
    VoteMode,
    check_secret_receipt,
    leave_refusal,
)
from sunvote.domain.errors import DomainError
from sunvote.domain.video import MEDIA, video_refusal
from sunvote.models import (
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import assembly, video
from sunvote.services import cloud as service
from sunvote.services.access import CHINA, require_village_access
from sunvote.services.roster import assembly_roster
from sunvote.web import sealed
from sunvote.web.errors import both_languages
from sunvote.web.links import absolute_url
from sunvote.web.pages import file_response, meeting_or_404, person_id, refused, village_or_404
from sunvote.web.qr import qr_svg_text

bp = Blueprint("cloud", __name__)

#: The phone's session cookie (HttpOnly; its value is a random token, stored hashed).
COOKIE = service.SESSION_COOKIE


def _staff(code: str, allowed: frozenset[Any] = MEETING_RUNNERS) -> Village:
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    if not roles & allowed:
        abort(403)
    return v


# --- Staff: phones --------------------------------------------------------------------------------


@bp.route("/v/<code>/cloud")
@login_required
def devices(code: str):
    """The assembly's members and their enrolled phones; enrol, revoke, unlock; the audit."""
    v = _staff(code)
    return _render_devices(v)


def _render_devices(v: Village, error: DomainError | None = None, status: int = 200):
    roster = assembly_roster(v, utcnow())
    people = queries.phones_in_use(v)
    persons = queries.people(list(roster))
    rows = [{"person": persons[pid], "roles": roles, "device": people.get(pid)}
            for pid, roles in roster.items()]
    return render_template("cloud/devices.html", village=v, rows=rows,
                           events=service.events(v.id), error=error,
                           pin_attempts=rules.PIN_ATTEMPTS), status


@bp.route("/v/<code>/cloud/enrol/<int:member>", methods=["POST"])
@login_required
def issue_enrolment(code: str, member: int):
    """Show a single-use enrolment QR for one member (shown once; only its hash is kept)."""
    v = _staff(code)
    try:
        row, token = service.issue_enrolment(person_id(), v.id, member)
    except DomainError as error:
        return refused(error, _render_devices, v)
    url = absolute_url("cloud.enrol_start", fragment={"t": token})
    return render_template("cloud/enrol_qr.html", village=v, enrolment=row, url=url,
                           qr_svg=qr_svg_text(url), minutes=rules.ENROLMENT_MINUTES)


@bp.route("/v/<code>/cloud/revoke/<int:device>", methods=["POST"])
@login_required
def revoke(code: str, device: int):
    v = _staff(code)
    if queries.device(v, device) is None:
        abort(404)
    try:
        service.revoke_device(person_id(), device, request.form.get("reason", ""))
    except DomainError as error:
        return refused(error, _render_devices, v)
    flash(_("已撤销该手机，它签名的签到和选票不再有效"), "success")
    return redirect(url_for("cloud.devices", code=v.code))


@bp.route("/v/<code>/cloud/unlock/<int:device>", methods=["POST"])
@login_required
def unlock(code: str, device: int):
    v = _staff(code)
    if queries.device(v, device) is None:
        abort(404)
    service.unlock_pin(person_id(), device)
    flash(_("已解锁，该代表可以重新输入PIN码"), "success")
    return redirect(url_for("cloud.devices", code=v.code))


# --- Staff: invitations and the live audit ----------------------------------------------------


@bp.route("/v/<code>/meetings/<int:number>/cloud.json")
@login_required
def audit_json(code: str, number: int):
    """Refused cloud attempts of this meeting (and enrolments), newest first: for the clerk's and
    the supervisors' live list on the meeting page."""
    v = _staff(code, MEETING_RUNNERS | PAPER_CONFIRMERS)
    meeting = meeting_or_404(v, number)
    response = jsonify(events=[event_json(e) for e in service.events(v.id, meeting.id)])
    response.headers["Cache-Control"] = "no-store"
    return response


def event_json(event: Any) -> dict[str, Any]:
    """One audit entry for the live list."""
    return {"id": event.id, "at": event.at.astimezone(CHINA).strftime("%H:%M:%S"),
            "action": event.action, "rule": event.rule, "message": event.message,
            "person": event.person.name if event.person else None}


# --- The phone: enrol ---------------------------------------------------------------------------


def _address() -> str:
    """The client's address: the proxy's X-Forwarded-For only with SUNVOTE_TRUSTED_PROXIES."""
    return request.remote_addr or "-"


def _json_error(error: DomainError):
    messages = both_languages(error.msgid, error.params)
    return jsonify(error={"status": error.status, "rule": error.rule,
                          "message": error.render(_), "zh": messages["zh"],
                          "en": messages["en"]}), error.status


def _proof(data: dict[str, Any]) -> service.Proof:
    return service.Proof(key=str(data.get("key", "")), statement=str(data.get("statement", "")),
                         sig=str(data.get("sig", "")))


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    return data


def _token_page(response: Any) -> Any:
    """A page that holds a token (in its HTML, or in its URL for links printed before tokens
    moved to the fragment): never cached, never sent on as a Referer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _pasted_token(text: str) -> str:
    """The token typed or pasted into the form: the code alone, or the whole link (the token
    after "#t=", or an old link's last path segment)."""
    text = text.strip()
    if "t=" in text:
        text = text.rsplit("t=", 1)[1].split("&", 1)[0]
    return text.rstrip("/").rsplit("/", 1)[-1].strip()


def _open_page(title: str, label: str, action: str):
    return _token_page(make_response(render_template(
        "cloud/open.html", title=title, label=label, action=action)))


@bp.route("/c/enrol", methods=["GET"])
def enrol_start():
    """Where the enrolment QR leads (/c/enrol#t=TOKEN): static/js/token-link.js posts the
    token from the fragment to enrol_open; without script, the member pastes it."""
    return _open_page(_("登记云票决手机"), _("登记码（或整段登记链接）"),
                      url_for("cloud.enrol_open"))


@bp.route("/c/enrol", methods=["POST"])
def enrol_open():
    """The enrolment page for the token posted from the fragment or typed."""
    return _enrol_page(_pasted_token(request.form.get("token", "")))


@bp.route("/c/enrol/<token>", methods=["GET"])
def enrol(token: str):
    """An enrolment link printed before tokens moved to the fragment: still opens."""
    return _enrol_page(token)


def _enrol_page(token: str):
    """The page the enrolment QR opens on the member's phone: set a PIN, make the key pair."""
    row = service.enrolment_for(token)
    problem = None
    if row is None:
        problem = _("登记二维码无效，请村务工作者重新生成")
    elif row.used_at is not None:
        problem = _("这个登记二维码已经用过，请村务工作者重新生成")
    elif utcnow() >= row.expires_at:
        problem = _("登记二维码已过期（有效期%(m)s分钟），请村务工作者重新生成",
                    m=rules.ENROLMENT_MINUTES)
    village = queries.village(row.village_id) if row else None
    return _token_page(make_response(
        render_template("cloud/enrol.html", enrolment=row, problem=problem, village=village,
                        token=token),
        410 if problem and row else 404 if problem else 200))


@bp.route("/c/enrol/device", methods=["POST"])
def enrol_post():
    """The phone's key and proof of possession, with the enrolment token (JSON body)."""
    data = _body()
    token = str(data.get("token", ""))
    try:
        device = service.attempt("enrol", _address(), lambda seen: service.enrol_device(
            seen, token, _proof(data), data.get("pin")), credential=token)
    except DomainError as error:
        return _json_error(error)
    return jsonify(ok=True, fingerprint=device.fingerprint,
                   message=_("手机登记成功。开会时请用村务工作者发给您的邀请加入。"))


# --- The phone: join a meeting --------------------------------------------------------------------


@bp.route("/c/join", methods=["GET"])
def join_start():
    """Where an invitation leads (/c/join#t=TOKEN), like enrol_start."""
    return _open_page(_("云端参会"), _("邀请码（或整段邀请链接）"), url_for("cloud.join_open"))


@bp.route("/c/join", methods=["POST"])
def join_open():
    """The join page for the invitation token posted from the fragment or typed."""
    return _join_page(_pasted_token(request.form.get("token", "")))


@bp.route("/c/join/<token>", methods=["GET"])
def join(token: str):
    """An invitation link printed before tokens moved to the fragment: still opens."""
    return _join_page(token)


def _join_page(token: str):
    """The page an invitation opens: PIN and the presence code off the hall screen."""
    invitation = service.invitation_for(token)
    problem = None
    if invitation is None:
        problem = _("邀请链接无效，请向村务工作者索取")
    elif invitation.used_at is not None:
        problem = _("这个邀请已经用过：每个邀请只能在本人登记的手机上使用一次")
    meeting = invitation.meeting if invitation else None
    village = meeting.village if meeting else None
    return _token_page(make_response(
        render_template("cloud/join.html", invitation=invitation, meeting=meeting,
                        village=village, problem=problem, token=token,
                        member=invitation.person if invitation else None),
        404 if invitation is None else 410 if problem else 200))


@bp.route("/c/join/checkin", methods=["POST"])
def join_post():
    """The phone's signed check-in, with the invitation token (JSON body)."""
    data = _body()
    token = str(data.get("token", ""))
    try:
        joined = service.attempt("join", _address(), lambda seen: service.join(
            seen, token, _proof(data), data.get("pin"), data.get("code")), credential=token)
    except DomainError as error:
        return _json_error(error)
    response = jsonify(ok=True, redirect=url_for("cloud.meeting"))
    response.set_cookie(COOKIE, joined.session, httponly=True, samesite="Strict", path="/c/",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
                        max_age=24 * 3600)
    return response


# --- The phone: the meeting and the vote ------------------------------------------------------


def _session() -> service.CloudSession | None:
    return service.session_for(request.cookies.get(COOKIE))


@bp.route("/c/meeting")
def meeting():
    """The member's meeting on the phone: presence, the poll in progress, their receipts."""
    return _phone_page(_session())


def _phone_page(session: service.CloudSession | None, error: DomainError | None = None,
                status: int = 200):
    if session is None:
        return render_template("cloud/meeting.html", session=None), 403
    view = service.phone_view(session)
    materials = queries.materials(view.open_poll.matter_id) if view.open_poll else []
    may_leave = leave_refusal(session.meeting.state == MeetingState.OPEN, True,
                              view.attendance is not None) is None
    # the meeting video on the voting page too (docs/video.md), when the member may join it
    video_media = MEDIA["phone"] if video_refusal(video.phone_joiner(session)) is None \
        else None
    return render_template("cloud/meeting.html", session=session, view=view,
                           village=session.village, materials=materials, error=error,
                           may_leave=may_leave, video_media=video_media,
                           my_sealed=sealed.mine(view.member.id, view.meeting.polls, utcnow()),
                           signature=page_signature(view),
                           choices=list(Choice)), status


@bp.route("/c/leave", methods=["POST"])
def leave():
    """The member leaves the meeting (离场) from the phone of their cloud session: by their
    own word (services.assembly.leave); to come back they ask for a new invitation."""
    session = _session()
    if session is None:
        return _phone_page(None)
    member, meeting_id = session.member.id, session.meeting.id
    try:
        assembly.leave(member, meeting_id, member)
    except DomainError as error:
        return refused(error, _phone_page, session)
    flash(_("已登记离场"), "success")
    return redirect(url_for("cloud.meeting"))


@bp.route("/c/meeting.json")
def meeting_json():
    """Polled by the phone every few seconds: which poll is open, whether this member may vote."""
    session = _session()
    if session is None:
        return jsonify(error={"rule": "cloud.invitation"}), 403
    view = service.phone_view(session)
    poll = view.open_poll
    response = jsonify(state=session.meeting.state, present=view.attendance is not None,
                       poll=poll.number if poll else None, may_vote=view.may_vote,
                       signature=page_signature(view))
    response.headers["Cache-Control"] = "no-store"
    return response


def page_signature(view: service.PhoneView) -> str:
    """What the phone's page shows, in one string: the page reloads when it changes."""
    poll = view.open_poll
    closed = ",".join(str(p.number) for p in view.meeting.polls if p.state == PollState.CLOSED)
    return (f"{view.meeting.state}|{poll.number if poll else ''}|{int(view.may_vote)}|"
            f"{int(view.attendance is not None)}|{closed}")


@bp.route("/c/file/<int:attachment>")
def material(attachment: int):
    """A material of a matter on this meeting's agenda, for the member on the phone."""
    session = _session()
    if session is None:
        abort(403)
    found = queries.agenda_material(session.meeting, attachment)
    if found is None:
        abort(404)
    row, data = found
    return file_response(data, row.filename, row.content_type, sandbox=True)


@bp.route("/c/vote", methods=["POST"])
def vote():
    """A ballot signed on the phone. The same ballot id again returns the same receipt, whatever
    the limits say (services.cloud.vote_from_phone)."""
    data = _body()
    token = request.cookies.get(COOKIE)
    try:
        ballot = service.vote_from_phone(_address(), token, data.get("poll"),
                                         data.get("choice"), data.get("ballot"), _proof(data))
    except DomainError as error:
        return _json_error(error)
    if ballot.voter_id is None:  # secret: sealed on this phone until the poll closes
        session = _session()
        assert session is not None  # service.vote refuses a request without one
        sealed.remember(session.member.id, ballot.code)
        return jsonify(ok=True, receipt=None, receipt_url=url_for("cloud.meeting"))
    return jsonify(ok=True, receipt=ballot.code,
                   receipt_url=url_for("cloud.receipt", ballot=ballot.code))


@bp.route("/c/receipt/<ballot>")
def receipt(ballot: str):
    """A receipt to keep (screenshot): the code and a QR of the public check."""
    session = _session()
    found = queries.ballot(ballot)
    if found is None:
        abort(404)
    row, poll, meeting_row = found
    village = meeting_row.village
    check_url = absolute_url("public.receipt", code=village.code, ballot=row.code)
    mine = session_ok = session is not None and session.meeting.id == meeting_row.id
    refusal = None
    if poll.mode == VoteMode.SECRET:
        # A secret ballot's choice only on the phone that cast it, after close, in the window;
        # while the poll is open not even its code (docs/assembly.md).
        own = session is not None and sealed.is_mine(session.member.id, row.code)
        refusal = check_secret_receipt(
            poll.closed_at if poll.state == PollState.CLOSED else None, utcnow(), own)
        mine = refusal is None
    return render_template("cloud/receipt.html", ballot=row, poll=poll, meeting=meeting_row,
                           village=village, check_url=check_url, qr_svg=qr_svg_text(check_url),
                           mine=mine, sealed_refusal=refusal, session_ok=session_ok,
                           open=poll.state == PollState.OPEN)
