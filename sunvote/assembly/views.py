"""Meetings list and convening, the meeting room (attendance, polls, ballots, recusal, paper
ballots), self check-in by QR, and the hall screen for the projector (with its JSON feed)."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required

from sunvote.assembly import forms as f
from sunvote.assembly import queries
from sunvote.domain.assembly import (
    MEETING_RUNNERS,
    PAPER_CONFIRMERS,
    AttendProof,
    Channel,
    MeetingState,
    PollState,
    VoteMode,
    Voter,
    ballot_refusal,
    leave_refusal,
    not_present,
    not_voted,
    pass_threshold,
    poll_opening_refusal,
    present_at_open,
)
from sunvote.domain.cloud import presence_code, presence_seconds_left
from sunvote.domain.errors import N_, DomainError, InvalidField
from sunvote.domain.notices import CHANNEL_LABELS as NOTICE_CHANNELS
from sunvote.domain.notices import STATE_LABELS as NOTICE_STATES
from sunvote.domain.notices import resend_refusal
from sunvote.domain.procedure import MatterState
from sunvote.domain.roles import Role
from sunvote.domain.settings import PassRule
from sunvote.domain.text import whole_number
from sunvote.models import (
    Ballot,
    Meeting,
    Poll,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import assembly as service
from sunvote.services import ballots, cloud, notices, polls
from sunvote.services import recording as recording_service
from sunvote.services.access import CHINA, require_village_access
from sunvote.services.files import Upload
from sunvote.web import sealed
from sunvote.web.links import absolute_url
from sunvote.web.pages import meeting_or_404, person_id, refused, village_or_404
from sunvote.web.qr import qr_svg_text
from sunvote.web.templating import poll_not_voted

bp = Blueprint("assembly", __name__)

# A meeting's pages and controls (one URL per control of the room, issue 17). ``int`` is the
# app's DatabaseIntConverter: a number past the database's integers is no route (404).
ROOM = "/v/<code>/meetings/<int:number>"


# --- Meetings -----------------------------------------------------------------------------------


@bp.route("/v/<code>/meetings", methods=["GET", "POST"])
@login_required
def meetings(code: str):
    """The village's meetings; the committee convenes one; representatives ask for one."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    if request.method != "POST":
        return _render_meetings(v, roles)
    form = f.ConveneForm()
    _agenda_choices(v, form)
    try:
        starts_at = _local_datetime(form.starts_at.data)
        ids = [n for x in (form.matters.data or []) if (n := whole_number(x)) is not None]
        meeting = service.convene(person_id(), v.id, form.title.data or "",
                                  form.place.data or "", starts_at, ids)
    except DomainError as error:
        return refused(error, _render_meetings, v, roles, form)
    flash(_("已召集第%(n)s次会议，并通知全体组成人员", n=meeting.number), "success")
    return redirect(url_for("assembly.room", code=v.code, number=meeting.number))


def _agenda_choices(v: Village, form: f.ConveneForm) -> None:
    filed = queries.filed_matters(v)
    form.matters.choices = [(str(m.id), f"{m.number} {m.title}") for m in filed]


def _local_datetime(text: str | None) -> dt.datetime:
    """A meeting time typed in China time (YYYY-MM-DDTHH:MM from the browser)."""
    refusal = InvalidField("input.invalid", N_("请填写会议时间，例如 2026-12-01 09:00"))
    try:
        local = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise refusal from None
    if not 2000 <= local.year <= 2999:  # 0001-01-01 and 9999-12-31 overflow in the conversion
        raise refusal
    if local.tzinfo is None:
        local = local.replace(tzinfo=CHINA)
    return local.astimezone(dt.UTC)


def _render_meetings(v: Village, roles: frozenset[Role], form: Any = None,
                     error: DomainError | None = None, status: int = 200,
                     request_form: Any = None):
    """The meetings page; ``form`` and ``request_form`` as typed when a use case refused."""
    if form is None:
        form = f.ConveneForm(formdata=None)
        _agenda_choices(v, form)
    rows = queries.meetings(v)
    return render_template(
        "assembly/meetings.html", village=v, roles=roles, meetings=rows, form=form,
        request_form=request_form or f.RequestForm(formdata=None), error=error,
        requests=service.request_status(v, utcnow()),
        can_convene=bool(roles & MEETING_RUNNERS),
        is_representative=Role.REPRESENTATIVE in roles), status


@bp.route("/v/<code>/meetings/request", methods=["POST"])
@login_required
def request_meeting(code: str):
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    form = f.RequestForm()
    try:
        service.request_meeting(person_id(), v.id, form.reason.data or "")
    except DomainError as error:
        return refused(error, _render_meetings, v, roles, request_form=form)
    flash(_("已提议召开村民代表会议"), "success")
    return redirect(url_for("assembly.meetings", code=v.code))


# --- The meeting room ---------------------------------------------------------------------------


@bp.route(f"{ROOM}/stamp.json")
@login_required
def room_stamp_json(code: str, number: int):
    """The room page's change stamp, for whoever may see the room (a fixed number of SQL
    statements, whatever the meeting's size)."""
    v = village_or_404(code)
    require_village_access(person_id(), v, utcnow())
    response = jsonify({"stamp": queries.room_stamp(meeting_or_404(v, number))})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(f"{ROOM}")
@login_required
def room(code: str, number: int):
    """The meeting room: the runner's controls, the member's check-in and vote, the
    supervisor's confirmation of paper ballots."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    if request.headers.get("X-SunVote-Live"):
        # room.js fetching the page in the background: the messages of an action the user
        # just took (perhaps in another tab) are for the page they see next, not for this one
        waiting = session.get("_flashes")
        page = _render_room(v, roles, meeting_or_404(v, number))
        if waiting:
            session["_flashes"] = waiting
        return page
    # the receipt of the ballot just cast (vote redirected here): shown once
    return _render_room(v, roles, meeting_or_404(v, number),
                        receipt_code=session.pop(RECEIPT_KEY, None))


# The session key holding the code of a named ballot just cast from the room, for the room page
# that follows the redirect (docs/assembly.md, "A ballot answers with a redirect").
RECEIPT_KEY = "room_receipt"


def _render_room(v: Village, roles: frozenset[Role], meeting: Meeting,
                 error: DomainError | None = None, status: int = 200,
                 receipt_code: str | None = None):
    state = queries.room_state(meeting)
    me = person_id()
    # The members a runner may check in (domain.assembly.not_present), filtered by name with ?q=
    # (the list's own script filters as one types; this works without it).
    query = (request.args.get("q") or "").strip()[:50]
    not_here = set(not_present([mm.person_id for mm in meeting.members], state["attendance"]))
    absent = [m for m in meeting.members if m.person_id in not_here]
    shown = [m for m in absent if query.casefold() in m.person.name.casefold()]
    ticked = {n for n in (whole_number(x) for x in request.form.getlist("member"))
              if n is not None} if request.method == "POST" else set()
    may_leave = {m.person_id for m in meeting.members if leave_refusal(
        meeting.state == MeetingState.OPEN, True, m.person_id in state["attendance"]) is None}
    my_ballots = queries.ballots_of(me, meeting)
    my_sealed = sealed.mine(me, meeting.polls, utcnow())
    receipt = next((b for b in my_ballots.values() if b.code == receipt_code), None)
    batches = queries.paper_batches(meeting)
    on_agenda_polled = {p.matter_id for p in meeting.polls}
    # What the runner is offered: "open poll" only where domain.assembly.poll_opening_refusal
    # allows it
    # (one open poll per matter), "void" instead of "close" where the poll cannot be tallied.
    elsewhere = polls.open_poll_meetings([i.matter_id for i in meeting.items])
    opening = {i.matter_id: poll_opening_refusal(
        i.matter.number, i.matter.state == MatterState.FILED.value, elsewhere.get(i.matter_id))
        for i in meeting.items if i.matter_id not in on_agenda_polled}
    untallied = {p.id: polls.tally_refusal(p) for p in meeting.polls
                 if p.state.unfinished}
    named = queries.named_ballots(meeting)
    slips = queries.device_slips(batches)
    is_member = any(m.person_id == me for m in meeting.members)
    my_vote, voters_now = may_vote_now(state, meeting, me, is_member)
    # Who the meeting's notice reached (the runners' section), and its warning (runners and
    # the supervisory committee)
    reach = (notices.meeting_reach(meeting) if roles & (MEETING_RUNNERS | PAPER_CONFIRMERS)
             else None)
    return render_template(
        "assembly/room.html", village=v, roles=roles, meeting=meeting, state=state,
        my_vote=my_vote, voters_now=voters_now,
        absent=absent, shown=shown, query=query, ticked=ticked, may_leave=may_leave,
        stamp=queries.room_stamp(meeting),
        device_slips=slips,
        runner=bool(roles & MEETING_RUNNERS), confirmer=bool(roles & PAPER_CONFIRMERS),
        is_member=is_member, me=me,
        my_ballots=my_ballots, my_sealed=my_sealed, batches=batches, polled=on_agenda_polled,
        error=error,
        named=named, events=cloud.events(v.id, meeting.id),
        receipt=receipt, poll_form=f.PollForm(formdata=None), opening=opening,
        untallied=untallied, void_form=f.VoidForm(formdata=None, prefix="void"),
        recusal_form=f.RecusalForm(formdata=None), paper_form=f.PaperForm(formdata=None),
        reach=reach, reach_warning=reach and notices.reach_warning(reach, utcnow()),
        resend_refusal=resend_refusal,
        NOTICE_CHANNELS=NOTICE_CHANNELS, NOTICE_STATES=NOTICE_STATES,
        MeetingState=MeetingState, PollState=PollState, PassRule=PassRule), status


def vote_refusal(state: dict[str, Any], entry: dict[str, Any], person: int,
                 is_member: bool) -> DomainError | None:
    """Why ``person`` may not vote in the room's poll ``entry`` now (domain.assembly.ballot_refusal,
    the rule the ballot's use case applies), or None, from what room_state read."""
    present = state["attendance"].get(person)
    return ballot_refusal(entry["poll"].state, Voter(
        member=is_member, present=present is not None,
        present_at_open=present_at_open(present.id if present else None,
                                        entry["poll"].attendance_upto),
        recused=person in entry["recused"], voted=person in entry["voted"]))


def may_vote_now(state: dict[str, Any], meeting: Meeting, me: int,
                 is_member: bool) -> tuple[dict[int, DomainError | None], dict[int, list[Any]]]:
    """What the room offers: for each poll, why ``me`` may not vote in it (None: the vote
    buttons), and the members whose ballot the hall device may take or the clerk may enter from
    paper (those vote_refusal lets vote: present since the poll opened, not recused, not
    voted)."""
    mine = {entry["poll"].id: vote_refusal(state, entry, me, is_member)
            for entry in state["polls"]}
    voters = {entry["poll"].id: [mm for mm in meeting.members
                                 if vote_refusal(state, entry, mm.person_id, True) is None]
              for entry in state["polls"] if entry["poll"].state == PollState.OPEN}
    return mine, voters


def _room_use_case(code: str, number: int, act: Any, anchor: str = "#attendance"):
    """Run one control of the room (``act(me, meeting)``), then back to the room: a redirect,
    never the room page itself (issue 16: a ballot costs what an insert costs); a named
    ballot's receipt (``act`` returns the Ballot) rides in the session to the page that follows.
    A refusal re-renders the room with it, what was typed or ticked kept, nothing written."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    try:
        receipt = act(person_id(), meeting)
    except DomainError as error:
        return refused(error, _render_room, v, roles, meeting)
    if isinstance(receipt, Ballot):
        session[RECEIPT_KEY] = receipt.code
        anchor = "#receipt"
    return redirect(url_for("assembly.room", code=v.code, number=number) + anchor)


@bp.route(f"{ROOM}/open", methods=["POST"])
@login_required
def open_meeting(code: str, number: int):
    """Open the meeting: the roster is frozen."""
    def act(me: int, meeting: Meeting) -> None:
        service.open_meeting(me, meeting.id)
        flash(_("会议开始，组成人员名册已冻结"), "success")
    return _room_use_case(code, number, act, "")


@bp.route(f"{ROOM}/close", methods=["POST"])
@login_required
def close_meeting(code: str, number: int):
    """Close the meeting (no poll open)."""
    def act(me: int, meeting: Meeting) -> None:
        service.close_meeting(me, meeting.id)
        flash(_("会议结束"), "success")
    return _room_use_case(code, number, act, "")


@bp.route(f"{ROOM}/checkin", methods=["GET", "POST"])
@login_required
def check_in_self(code: str, number: int):
    """A member checks in themself. GET: where the hall screen's QR leads
    (…/checkin#t=TOKEN&c=CODE) — static/js/token-link.js fills the token and the live code in
    from the fragment (which no server sees); without script, or when the fragment was lost on
    the way through the login page, the member types the live code. POST: the check-in, with
    the live code the hall screen shows, typed or carried by the QR with the meeting's token."""
    if request.method == "GET":
        v = village_or_404(code)
        require_village_access(person_id(), v, utcnow())
        return _checkin_page(v, meeting_or_404(v, number), "", "")

    def act(me: int, meeting: Meeting) -> None:
        token = request.form.get("token", "")
        if token and not _is_checkin_token(meeting, token):
            abort(404)
        service.check_in(me, meeting.id, me, Channel.HALL,
                         proof=AttendProof.QR if token else AttendProof.CODE,
                         code=request.form.get("code", "").strip())
        flash(_("已签到"), "success")
    return _room_use_case(code, number, act, "")


@bp.route(f"{ROOM}/checkin-<int:member>", methods=["POST"])
@login_required
def check_in_member(code: str, number: int, member: int):
    """Someone running the meeting marks a member present (recorded as theirs)."""
    def act(me: int, meeting: Meeting) -> None:
        service.check_in(me, meeting.id, member, Channel.HALL)
        flash(_("已签到"), "success")
    return _room_use_case(code, number, act, "")


@bp.route(f"{ROOM}/poll-<int:matter>", methods=["POST"])
@login_required
def open_poll(code: str, number: int, matter: int):
    """Open the poll on an agenda matter, named or secret."""
    def act(me: int, meeting: Meeting) -> None:
        form = f.PollForm()
        try:
            mode = VoteMode(form.mode.data or "named")
        except ValueError:
            raise InvalidField("input.invalid", N_("请选择表决方式")) from None
        polls.open_poll(me, meeting.id, matter, mode)
        flash(_("表决开始"), "success")
    return _room_use_case(code, number, act, "#polls")


@bp.route(f"{ROOM}/closepoll-<int:poll>", methods=["POST"])
@login_required
def close_poll(code: str, number: int, poll: int):
    """Close the poll and count it."""
    def act(me: int, meeting: Meeting) -> None:
        tally = polls.close_poll(me, _poll_of(meeting, poll).id)
        flash(_("表决结束：同意%(yes)s，反对%(no)s，弃权%(abstain)s，%(verdict)s",
                yes=tally.yes, no=tally.no, abstain=tally.abstain,
                verdict=_("通过") if tally.passed else _("未通过")), "success")
    return _room_use_case(code, number, act, "#polls")


@bp.route(f"{ROOM}/voidpoll-<int:poll>", methods=["POST"])
@login_required
def void_poll(code: str, number: int, poll: int):
    """Void a poll that cannot be tallied, with a reason."""
    def act(me: int, meeting: Meeting) -> None:
        form = f.VoidForm(prefix="void")
        polls.void_poll(me, _poll_of(meeting, poll).id, form.reason.data or "")
        flash(_("本项表决已作废，选票不计"), "success")
    return _room_use_case(code, number, act, "#polls")


@bp.route(f"{ROOM}/vote-<int:poll>", methods=["POST"])
@login_required
def vote(code: str, number: int, poll: int):
    """A ballot: the member's own (a named one gets its receipt), or one the hall device takes
    for a member (their PIN typed on it, else held for a supervisor's check; never a receipt
    on the clerk's screen)."""
    return _room_use_case(code, number, lambda me, meeting: _ballot(
        me, _poll_of(meeting, poll)), "#polls")


def _ballot(me: int, poll: Poll) -> Ballot | None:
    voter = whole_number(request.form.get("member", "")) or me
    secret = poll.mode == VoteMode.SECRET
    choice = request.form.get("choice")
    if voter == me:
        ballot = ballots.cast_ballot(me, poll.id, me, choice)
        if secret:
            # Sealed: the code stays on the voter's own phone, its choice shown there only
            # after close (docs/assembly.md, "Receipts of secret ballots").
            sealed.remember(me, ballot.code)
            flash(_("已投票。您的选票已密封，表决结束后可在本机核对"), "success")
            return None
        flash(_("已投票"), "success")
        return ballot
    pin = request.form.get("pin", "").strip() or None
    if pin is None:
        ballot = ballots.cast_ballot(me, poll.id, voter, choice, Channel.DEVICE)
    else:  # a wrong PIN counts towards the phone's lock and shows in the audit
        ballot = cloud.attempt("hall_pin", request.remote_addr or "", lambda seen: (
            ballots.cast_ballot(me, poll.id, voter, choice, Channel.DEVICE, pin=pin,
                                seen=seen)))
    if ballot.paper_batch_id is not None:
        flash(_("未输入PIN码：这张选票按纸质票处理，须经村务监督委员会成员确认后才计入"),
              "warning")
    elif secret:
        flash(_("已投票（无记名表决：回执码和选择不在本屏显示）"), "success")
    else:
        flash(_("已投票（本人PIN码）"), "success")
    return None


@bp.route(f"{ROOM}/recuse-<int:poll>", methods=["POST"])
@login_required
def recuse(code: str, number: int, poll: int):
    """The member declares recusal on the poll, with a reason."""
    def act(me: int, meeting: Meeting) -> None:
        form = f.RecusalForm()
        ballots.recuse(me, _poll_of(meeting, poll).id, me, form.reason.data or "")
        flash(_("已申请回避"), "success")
    return _room_use_case(code, number, act, "#polls")


@bp.route(f"{ROOM}/paper-<int:poll>", methods=["POST"])
@login_required
def enter_paper(code: str, number: int, poll: int):
    """Enter paper ballots from the signed tally sheet (its photo or scan)."""
    def act(me: int, meeting: Meeting) -> None:
        form = f.PaperForm()
        storage = form.sheet.data
        if storage is None or not getattr(storage, "filename", ""):
            raise InvalidField("input.invalid", N_("请上传签字计票单的照片或扫描件"))
        entries = [(n, value) for k, value in request.form.items()
                   if k.startswith("paper-") and (n := whole_number(k[6:])) is not None
                   and value]
        ballots.enter_paper(me, _poll_of(meeting, poll).id, entries,
                            Upload(storage.filename or "", storage.read()))
        flash(_("纸质票已录入，等待村务监督委员会确认"), "success")
    return _room_use_case(code, number, act, "#polls")


@bp.route(f"{ROOM}/confirm-<int:batch>", methods=["POST"])
@login_required
def confirm_paper(code: str, number: int, batch: int):
    """A supervisory committee member confirms a batch of paper ballots."""
    def act(me: int, meeting: Meeting) -> None:
        ballots.confirm_paper(me, batch)
        flash(_("纸质票已确认，记入账本"), "success")
    return _room_use_case(code, number, act, "#polls")


@bp.route(f"{ROOM}/discard-<int:batch>", methods=["POST"])
@login_required
def discard_paper(code: str, number: int, batch: int):
    """Someone running the meeting withdraws an unconfirmed batch of paper ballots."""
    def act(me: int, meeting: Meeting) -> None:
        ballots.discard_paper(me, batch)
        flash(_("已撤回未确认的纸质票"), "success")
    return _room_use_case(code, number, act, "#polls")


@bp.route(f"{ROOM}/checkin-many", methods=["POST"])
@login_required
def checkin_many(code: str, number: int):
    """Someone running the meeting checks in the ticked members (recorded as theirs)."""
    def act(me: int, meeting: Meeting) -> None:
        done = service.check_in_many(me, meeting.id, request.form.getlist("member"))
        flash(_("已为%(n)s人签到（由村务工作者登记）", n=len(done)), "success")
    return _room_use_case(code, number, act)


@bp.route(f"{ROOM}/checkin-except", methods=["POST"])
@login_required
def checkin_except(code: str, number: int):
    """"Everyone present except …": the ticked members are absent, every other member not yet
    present is checked in (recorded as the runner's)."""
    def act(me: int, meeting: Meeting) -> None:
        done = service.check_in_all_except(me, meeting.id, request.form.getlist("member"))
        flash(_("已为%(n)s人签到（由村务工作者登记）", n=len(done)), "success")
    return _room_use_case(code, number, act)


@bp.route(f"{ROOM}/leave/<int:member>", methods=["POST"])
@login_required
def leave(code: str, number: int, member: int):
    """A member leaves (离场): the member themself, or recorded by someone running the
    meeting."""
    def act(me: int, meeting: Meeting) -> None:
        service.leave(me, meeting.id, member)
        flash(_("已登记离场") if member == me else _("已登记离场（由村务工作者登记）"),
              "success")
    return _room_use_case(code, number, act, "")


@bp.route(f"{ROOM}/invite/<int:member>", methods=["POST"])
@login_required
def invite(code: str, number: int, member: int):
    """A printable personal invitation (QR and link) for one member to vote from afar
    (docs/cloud.md): a control of the room for whoever runs the meeting, so a refusal shows
    the room again."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    if not roles & MEETING_RUNNERS:
        abort(403)
    meeting = meeting_or_404(v, number)
    try:
        invitation, token = cloud.issue_invitation(person_id(), meeting.id, member)
    except DomainError as error:
        return refused(error, _render_room, v, roles, meeting)
    url = absolute_url("cloud.join_start", fragment={"t": token})
    return render_template("cloud/invitation.html", village=v, meeting=meeting,
                           invitation=invitation, url=url, qr_svg=qr_svg_text(url),
                           device=cloud.current_device(member))


def _poll_of(meeting: Meeting, number: int) -> Poll:
    poll = next((p for p in meeting.polls if p.number == number), None)
    if poll is None:
        abort(404)
    return poll


def _is_checkin_token(meeting: Meeting, token: str) -> bool:
    # compared as bytes: compare_digest refuses str with non-ASCII characters (a 500 before)
    return hmac.compare_digest(token.encode(), meeting.checkin_code.encode())


@bp.route(f"{ROOM}/checkin/<token>", methods=["GET"])
@login_required
def self_checkin(code: str, number: int, token: str):
    """A check-in QR from before tokens moved to the fragment (token in the path, the live code
    in ``c``): still opens, with both filled in."""
    v = village_or_404(code)
    require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    if not _is_checkin_token(meeting, token):
        abort(404)
    live = request.args.get("c", "")
    ok = len(live) == 6 and whole_number(live, max_digits=6) is not None
    return _checkin_page(v, meeting, token, live if ok else "")


def _checkin_page(v: Village, meeting: Meeting, token: str, live: str):
    response = make_response(render_template("assembly/checkin.html", village=v,
                                             meeting=meeting, token=token, code=live))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- The hall screen ----------------------------------------------------------------------------


def _is_hall_screen(roles: frozenset[Role]) -> bool:
    """The hall screen is the page opened by someone running the meeting (the clerk's or a
    committee member's login on the projector's computer): only there do the check-in QR and
    the live presence code appear. Any other account sees the same screen without them."""
    return bool(roles & MEETING_RUNNERS)


@bp.route(f"{ROOM}/hall")
@login_required
def hall(code: str, number: int):
    """Full screen for the projector: attendance, quorum bar, the poll in progress (ballots
    received, never choices before close), results; refreshes itself from hall.json."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    meeting = meeting_or_404(v, number)
    return render_template("assembly/hall.html", village=v, meeting=meeting,
                           feed=hall_feed(meeting, _is_hall_screen(roles)))


@bp.route(f"{ROOM}/video")
@login_required
def hall_video(code: str, number: int):
    """The hall device's video page (issue 19): the hall's camera and microphone, the remote
    members' tiles, and the recording. Only for those who run the meeting: it is the hall's own
    device, never a public page."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    if not _is_hall_screen(roles):
        abort(403)
    meeting = meeting_or_404(v, number)
    return render_template("assembly/hall_video.html", village=v, meeting=meeting,
                           open=meeting.state == MeetingState.OPEN,
                           recording=recording_service.tail_of(meeting))


@bp.route(f"{ROOM}/hall.json")
@login_required
def hall_json(code: str, number: int):
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    response = jsonify(hall_feed(meeting_or_404(v, number), _is_hall_screen(roles)))
    response.headers["Cache-Control"] = "no-store"
    return response


def hall_feed(meeting: Meeting, screen: bool = False) -> dict[str, Any]:
    """The hall screen's data: only counts while a poll is open; choices after it closes; who
    is present and whether the clerk checked them in. The live presence code and the check-in
    QR (which carries it, so it changes every minute) only for the hall screen (``screen``)."""
    state = queries.room_state(meeting)
    polls = []
    for item in state["polls"]:
        poll: Poll = item["poll"]
        closed = poll.state == PollState.CLOSED
        recused = (poll.recused or 0) if closed else len(item["recused"])
        # the fewest "yes" that pass, by the rule the tally applies (domain.assembly.pass_threshold)
        _base, needed = pass_threshold(
            PassRule(poll.rule), present=poll.present, members=poll.members, recused=recused,
            recusal_counts_present=poll.recusal_counts_present)
        entry: dict[str, Any] = {
            "number": poll.number, "matter": poll.matter.number, "title": poll.matter.title,
            "mode": poll.mode, "state": poll.state, "received": item["received"],
            "cloud": item["cloud"], "rule": poll.rule, "needed": needed,
            "recused": recused, "present": poll.present}
        if closed:
            entry.update(yes=poll.yes, no=poll.no, abstain=poll.abstain, verdict=poll.verdict,
                         not_voted=poll_not_voted(poll))
        elif poll.state == PollState.OPEN:
            # present at opening, not recused, no ballot yet (counts only: never choices)
            entry["not_voted"] = not_voted(poll.present, recused, item["received"], 0, 0)
        polls.append(entry)
    by_matter = {p["matter"]: p for p in polls}
    agenda = [{"matter": i.matter.number, "title": i.matter.title,
               "poll": by_matter.get(i.matter.number)} for i in meeting.items]
    current = next((p for p in polls if p["state"] == PollState.OPEN), None)
    last_closed = max((p for p in polls if p["state"] == PollState.CLOSED),
                      key=lambda p: p["number"], default=None)
    now = utcnow()
    presence = None
    if screen and meeting.state == MeetingState.OPEN and meeting.presence_secret:
        live = presence_code(bytes.fromhex(meeting.presence_secret), now)
        url = absolute_url("assembly.check_in_self", code=meeting.village.code,
                           number=meeting.number,
                           fragment={"t": meeting.checkin_code, "c": live})
        presence = {"code": live, "seconds_left": presence_seconds_left(now),
                    "qr": qr_svg_text(url)}
    names = {m.person_id: m.person.name for m in meeting.members}
    attendance = [{"name": names.get(a.person_id, ""), "channel": a.channel,
                   "by_clerk": a.recorded_by_id != a.person_id}
                  for a in sorted(state["attendance"].values(), key=lambda a: a.checked_in_at)]
    return {"meeting": meeting.number, "title": meeting.title, "state": meeting.state,
            "presence": presence, "attendance": attendance,
            "members": state["members"], "present": state["present"],
            "needed": state["needed"], "quorum_met": state["present"] >= state["needed"],
            "hall": sum(1 for a in state["attendance"].values() if a.channel == Channel.HALL),
            "cloud": sum(1 for a in state["attendance"].values() if a.channel == Channel.CLOUD),
            "polls": polls, "agenda": agenda, "current": current, "last_closed": last_closed,
            "updated": utcnow().astimezone(CHINA).strftime("%H:%M:%S")}
