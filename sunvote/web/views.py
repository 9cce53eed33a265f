"""Village dashboard, matter page with its timeline and step forms, suggestions inbox, files,
and the small JSON API over the same use cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from sunvote.domain import supervision as supervision_rules
from sunvote.domain.assembly import MeetingState
from sunvote.domain.errors import N_, DomainError, InvalidField
from sunvote.domain.oversight import MeetingFact, unopened_meeting_warnings
from sunvote.domain.procedure import Action, MatterState, allowed_actions, next_actions
from sunvote.domain.roles import Role
from sunvote.domain.suggestions import SuggestionStatus, decline_refusal
from sunvote.domain.supervision import IMPLEMENTERS, SUPERVISORS
from sunvote.extensions import db
from sunvote.models import (
    Attachment,
    Blob,
    Matter,
    Meeting,
    StepRecord,
    Suggestion,
    Township,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import matters as matter_service
from sunvote.services import suggestions as suggestion_service
from sunvote.services import supervision, supervision_checks
from sunvote.services.access import all_roles, local_date, require_village_access
from sunvote.services.files import Upload
from sunvote.services.matter_filter import find_matters
from sunvote.services.roster import village_roster_warnings
from sunvote.web import forms as f
from sunvote.web import matter_filter

bp = Blueprint("web", __name__)


@dataclass(frozen=True)
class StepForm:
    """A form on the matter page: which form class, and which actions it can submit."""

    form: type[f.VersionedForm]
    actions: tuple[Action, ...]
    choose: Callable[[Any], Action]


STEP_FORMS: dict[str, StepForm] = {
    "propose": StepForm(f.ProposeForm, (Action.PROPOSE,), lambda form: Action.PROPOSE),
    "merge": StepForm(f.MergedForm, (Action.PROPOSE_AND_DISCUSS,),
                      lambda form: Action.PROPOSE_AND_DISCUSS),
    "discuss": StepForm(f.DiscussForm, (Action.DISCUSS, Action.DROP),
                        lambda form: Action.DROP if form.decision.data == "drop"
                        else Action.DISCUSS),
    "review": StepForm(f.ReviewForm, (Action.FILE, Action.RETURN),
                       lambda form: Action.RETURN if form.decision.data == "return"
                       else Action.FILE),
    "start": StepForm(f.StartImplementationForm, (Action.START_IMPLEMENTATION,),
                      lambda form: Action.START_IMPLEMENTATION),
    "complete": StepForm(f.CompleteForm, (Action.COMPLETE, Action.REFUSE_COMPLETION),
                         lambda form: Action.REFUSE_COMPLETION if form.decision.data == "refuse"
                         else Action.COMPLETE),
    "withdraw": StepForm(f.ReasonForm, (Action.WITHDRAW,), lambda form: Action.WITHDRAW),
    "breach": StepForm(f.BreachForm, (Action.FLAG_BREACH,), lambda form: Action.FLAG_BREACH),
    "repropose": StepForm(f.ProposeForm, (Action.REPROPOSE,), lambda form: Action.REPROPOSE),
}


def village_or_404(code: str) -> Village:
    village = db.session.execute(select(Village).where(Village.code == code)).scalar_one_or_none()
    if village is None:
        abort(404)
    return village


def person_id() -> int:
    return int(current_user.person_id)


@bp.route("/home")
@login_required
def home():
    """The places the logged-in person works in."""
    now = utcnow()
    assignments = all_roles(person_id(), now)
    village_ids = {a.village_id for a in assignments if a.village_id}
    township_ids = {a.township_id for a in assignments if a.township_id}
    district = any(a.role == Role.DISTRICT_ADMIN.value for a in assignments)
    # each village is listed with its township's name, loaded with it (issue 16)
    query = (select(Village).options(joinedload(Village.township))
             .order_by(Village.township_id, Village.code))
    if not district:
        query = query.where(Village.id.in_(village_ids) | Village.township_id.in_(township_ids))
    villages = list(db.session.execute(query).scalars())
    townships = list(db.session.execute(
        select(Township).where(Township.id.in_(township_ids)).order_by(Township.code)).scalars())
    if len(villages) == 1 and not townships and not district:
        return redirect(url_for("web.village", code=villages[0].code))
    return render_template("village/home.html", villages=villages, assignments=assignments,
                           townships=townships, district=district)


#: Dashboard columns: the states shown under each heading.
BOARD_COLUMNS: list[tuple[str, tuple[MatterState, ...]]] = [
    (N_("待提议"), (MatterState.SUGGESTED,)),
    (N_("待商议"), (MatterState.PROPOSED, MatterState.RETURNED)),
    (N_("待审议备案"), (MatterState.DISCUSSED,)),
    (N_("待票决"), (MatterState.FILED,)),
    (N_("公示与实施"), (MatterState.PASSED, MatterState.IMPLEMENTING)),
    (N_("已结束"), (MatterState.COMPLETED, MatterState.REJECTED, MatterState.WITHDRAWN,
                    MatterState.DROPPED)),
]


#: Matters per page of the dashboard (spread over its six columns).
DASHBOARD_PER_PAGE = 60


@bp.route("/v/<code>/")
@login_required
def village(code: str):
    """The village dashboard: matters by step (filtered and paged as the public board,
    ``?category=&year=&state=&q=&page=``), pending suggestions, roster warnings."""
    v = village_or_404(code)
    now = utcnow()
    roles = require_village_access(person_id(), v, now)
    grouping = [(title, states) for title, states in BOARD_COLUMNS]
    listing, status = matter_filter.listed(
        matter_filter.asked(DASHBOARD_PER_PAGE),
        lambda f: find_matters(select(Village.id).where(Village.id == v.id), f, grouping))
    page = listing["matters"]
    columns = [(title, [m for m in page.items if MatterState(m.state) in states],
                page.counts[title]) for title, states in BOARD_COLUMNS]
    pending = db.session.execute(
        select(func.count()).select_from(Suggestion).where(
            Suggestion.village_id == v.id,
            Suggestion.matter_id.is_(None))
    ).scalar_one()
    meetings = list(db.session.execute(
        select(Meeting).where(Meeting.village_id == v.id, Meeting.state != MeetingState.CLOSED)
        .order_by(Meeting.starts_at)).scalars())
    # the oversight dashboard's rule, asked of the meetings shown here
    late = unopened_meeting_warnings(v.code, [MeetingFact(
        m.number, m.state, local_date(m.starts_at),
        None if m.opened_at is None else local_date(m.opened_at)) for m in meetings],
        local_date(now))
    return render_template("village/dashboard.html", village=v, columns=columns, roles=roles,
                           pending=pending, warnings=village_roster_warnings(v, now),
                           meetings=meetings, meeting_warnings=late,
                           can_open=Action.SUGGEST in allowed_actions(
                               MatterState.NEW, roles,
                               matter_service.procedure_settings(v)), **listing), status


def _load_matter(code: str, number: str) -> tuple[Village, Matter, frozenset[Role]]:
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    return v, matter_service.matter_by_number(v, number), roles


def _forms_for(matter: Matter, roles: frozenset[Role], start: DomainError | None
               ) -> tuple[dict[str, f.VersionedForm], dict[str, DomainError]]:
    """The step forms the person may submit on this matter now, and the forms their role would
    have but a rule holds back for now (step 6: the notice period, unanswered objections,
    unconfirmed progress, who issued the signer's login), with the refusal the service would
    give: the page shows that instead of a form that would be refused. ``start`` is
    supervision_checks.start_refusal's answer for now, computed once by the caller."""
    state = MatterState(matter.state)
    settings = matter_service.procedure_settings(matter.village)
    allowed = set(allowed_actions(state, roles, settings))
    if state is MatterState.REJECTED:
        allowed |= set(allowed_actions(MatterState.NEW, roles, settings)) & {Action.REPROPOSE}
    forms: dict[str, f.VersionedForm] = {}
    held: dict[str, DomainError] = {}
    for name, spec in STEP_FORMS.items():
        if not allowed & set(spec.actions):
            continue
        refusal = None
        if name == "start":
            refusal = start
        elif name == "complete":
            refusal = supervision_checks.completion_refusal(matter, person_id())
        if refusal is not None:
            held[name] = refusal
            continue
        form = spec.form(formdata=None, prefix=name)
        form.version.data = str(matter.version)
        if isinstance(form, f.ProposeForm):
            form.title.data = matter.title
        forms[name] = form
    return forms, held


def _render_matter(v: Village, matter: Matter, roles: frozenset[Role],
                   forms: dict[str, f.VersionedForm] | None = None,
                   error: DomainError | None = None, status: int = 200):
    now = utcnow()
    records = list(db.session.execute(
        select(StepRecord).where(StepRecord.matter_id == matter.id)
        .options(selectinload(StepRecord.attachments), selectinload(StepRecord.actor))
        .order_by(StepRecord.seq)).scalars())
    state = MatterState(matter.state)
    # Why implementation may not start yet: both the start form and the "waiting" line ask it.
    start = supervision_checks.start_refusal(matter, now) if state is MatterState.PASSED else None
    shown, held = _forms_for(matter, roles, start)
    # Re-show a submitted form with what was typed, but only to someone allowed to use it.
    shown.update({name: form for name, form in (forms or {}).items() if name in shown})
    origin = db.session.get(Matter, matter.origin_matter_id) if matter.origin_matter_id else None
    followers = list(db.session.execute(
        select(Matter).where(Matter.origin_matter_id == matter.id)).scalars())
    objections, updates = supervision.matter_supervision(matter)
    next_steps = next_actions(state, matter_service.procedure_settings(v))
    next_names = {name for name, spec in STEP_FORMS.items()
                  if {a for a, _who in next_steps} & set(spec.actions)}
    waiting = None  # why the next step cannot be taken yet, whoever is looking
    if state is MatterState.PASSED:
        waiting = start
    elif state is MatterState.IMPLEMENTING:
        waiting = supervision_rules.completion_refusal(
            sum(1 for u in updates if u.confirmed_at is None),
            updates[-1].progress if updates else None)
    return render_template("matter/matter.html", village=v, matter=matter, records=records,
                           forms=shown, held=held, roles=roles, error=error, origin=origin,
                           followers=followers, state=state, next_steps=next_steps,
                           is_next_actor=bool(next_names & (set(shown) | set(held))),
                           waiting=waiting, objections=objections, updates=updates, now=now,
                           can_record=bool(roles & IMPLEMENTERS)
                           and matter.state == MatterState.IMPLEMENTING.value,
                           can_confirm=bool(roles & SUPERVISORS),
                           IMPLEMENTERS=IMPLEMENTERS, SUPERVISORS=SUPERVISORS), status


@bp.route("/v/<code>/m/<number>")
@login_required
def matter(code: str, number: str):
    """A matter with its six-step progress, full timeline and the forms the person may use."""
    v, m, roles = _load_matter(code, number)
    return _render_matter(v, m, roles)


def _uploads(form: Any) -> list[Upload]:
    files = getattr(form, "materials", None)
    if files is None:
        return []
    return [Upload(fs.filename or "", fs.read()) for fs in (files.data or []) if fs and fs.filename]


@bp.route("/v/<code>/m/<number>/<form_name>", methods=["POST"])
@login_required
def matter_action(code: str, number: str, form_name: str):
    """Submit a step form. Refusals re-show the page with the reason; nothing is written."""
    spec = STEP_FORMS.get(form_name)
    if spec is None:
        abort(404)
    v, m, roles = _load_matter(code, number)
    form = spec.form(prefix=form_name)
    if not form.validate():
        error = InvalidField("input.invalid", N_("表单填写有误：%(detail)s"),
                             detail=f.first_error(form) or "")
        return _render_matter(v, m, roles, {form_name: form}, error, 400)
    version = form.version_number()
    if form.version.data and version is None:
        return _render_matter(v, m, roles, {form_name: form},
                              InvalidField("input.invalid", N_("表单已损坏，请刷新页面")), 400)
    action = spec.choose(form)
    fields = form.fields_for_engine()
    try:
        if action is Action.REPROPOSE:
            new = matter_service.repropose(m.id, person_id(), fields, _uploads(form))
            flash(_("已重新提议，新事项编号%(number)s", number=new.number), "success")
            return redirect(url_for("web.matter", code=v.code, number=new.number))
        matter_service.act(m.id, action, person_id(), fields, _uploads(form),
                           expected_version=version)
    except DomainError as error:
        db.session.rollback()
        v, m, roles = _load_matter(code, number)
        return _render_matter(v, m, roles, {form_name: form}, error, error.status)
    flash(_("已办理：%(action)s", action=_(action.label)), "success")
    return redirect(url_for("web.matter", code=v.code, number=m.number))


@bp.route("/v/<code>/suggestions", methods=["GET"])
@login_required
def suggestions(code: str):
    """Pending suggestions, the form to record a paper one, and the form to open a matter."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    return _render_suggestions(v, roles)


def _render_suggestions(v: Village, roles: frozenset[Role], record_form: Any = None,
                        open_form: Any = None, decline_form: Any = None,
                        error: DomainError | None = None, error_form: str | None = None,
                        status: int = 200):
    pending = suggestion_service.pending_suggestions(v)
    open_form = open_form or f.OpenMatterForm(formdata=None, prefix="open")
    open_form.suggestion_ids.choices = [
        (str(s.id), _("建议%(number)s号：%(text)s", number=s.number, text=s.text[:40]))
        for s in pending]
    decline_form = decline_form or f.DeclineSuggestionForm(formdata=None, prefix="decline")
    decline_form.number.choices = [
        (str(s.number), _("建议%(number)s号：%(text)s", number=s.number, text=s.text[:40]))
        for s in pending]
    can_open = Action.SUGGEST in allowed_actions(MatterState.NEW, roles,
                                                 matter_service.procedure_settings(v))
    # The page offers the decline form when the rule would let this person decline one.
    can_decline = decline_refusal(roles, SuggestionStatus.RECEIVED) is None
    return render_template("village/suggestions.html", village=v, pending=pending,
                           answered=suggestion_service.answered_suggestions(v),
                           record_form=record_form or f.RecordSuggestionForm(formdata=None,
                                                                             prefix="record"),
                           open_form=open_form, decline_form=decline_form, can_open=can_open,
                           can_decline=can_decline, error=error,
                           error_form=error_form), status


@bp.route("/v/<code>/suggestions/decline", methods=["POST"])
@login_required
def decline_suggestion(code: str):
    """A suggestion not taken up, with the reason the suggester and the public read."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    form = f.DeclineSuggestionForm(prefix="decline")
    form.validate()
    try:
        suggestion = suggestion_service.decline_suggestion(v.id, person_id(), form.number.data,
                                                           form.reason.data)
    except DomainError as error:
        db.session.rollback()
        return _render_suggestions(v, roles, decline_form=form, error=error,
                                   error_form="decline", status=error.status)
    flash(_("已答复：建议%(number)s号未采纳", number=suggestion.number), "success")
    return redirect(url_for("web.suggestions", code=v.code))


@bp.route("/v/<code>/suggestions/record", methods=["POST"])
@login_required
def record_suggestion(code: str):
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    form = f.RecordSuggestionForm(prefix="record")
    form.validate()
    try:
        suggestion_service.record_suggestion(v.id, person_id(), form.channel.data or "",
                                             form.text.data, form.name.data,
                                             bool(form.party_member.data))
    except DomainError as error:
        db.session.rollback()
        return _render_suggestions(v, roles, record_form=form, error=error, error_form="record",
                                   status=error.status)
    flash(_("建议已登记"), "success")
    return redirect(url_for("web.suggestions", code=v.code))


@bp.route("/v/<code>/matters/open", methods=["POST"])
@login_required
def open_matter(code: str):
    """Step 1: open a matter, merging the chosen suggestions into it."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    form = f.OpenMatterForm(prefix="open")
    form.validate()
    try:
        ids = form.selected_ids()
    except ValueError:
        ids = None
    try:
        if ids is None:
            raise InvalidField("input.invalid", N_("所选建议不属于本村或不存在"))
        matter = matter_service.open_matter(v.id, person_id(),
                                            {"title": form.title.data, "text": form.text.data},
                                            ids, _uploads(form))
    except DomainError as error:
        db.session.rollback()
        return _render_suggestions(v, roles, open_form=form, error=error, error_form="open",
                                   status=error.status)
    flash(_("已立项，事项编号%(number)s", number=matter.number), "success")
    return redirect(url_for("web.matter", code=v.code, number=matter.number))


@bp.route("/v/<code>/files/<sha256>")
@login_required
def download(code: str, sha256: str):
    """An attachment of one of the village's matters, by its SHA-256."""
    v = village_or_404(code)
    require_village_access(person_id(), v, utcnow())
    attachment = db.session.execute(
        select(Attachment).join(StepRecord).join(Matter)
        .where(Attachment.sha256 == sha256, Matter.village_id == v.id).limit(1)
    ).scalar_one_or_none()
    if attachment is None:
        abort(404)
    blob = db.session.get(Blob, sha256)
    assert blob is not None
    return file_response(blob.data, attachment.filename, attachment.content_type, sandbox=True)


def disposition(filename: str) -> str:
    """A Content-Disposition header value for downloading ``filename`` (any characters)."""
    from urllib.parse import quote

    return f"attachment; filename*=UTF-8''{quote(filename)}"


def file_response(data: bytes, filename: str, mimetype: str, *, sandbox: bool = False
                  ) -> Response:
    """``data`` served as a download named ``filename``. ``sandbox`` for files people uploaded:
    a browser that opens one anyway runs nothing in it (Content-Security-Policy: sandbox)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = disposition(filename)
    if sandbox:
        response.headers["Content-Security-Policy"] = "sandbox"
    return response


# --- JSON API: the same use cases for scripts and tests ----------------------------------------


def matter_json(matter: Matter) -> dict[str, Any]:
    return {
        "village": matter.village.code, "number": matter.number, "title": matter.title,
        "category": matter.category, "state": matter.state, "amount_fen": matter.amount_fen,
        "filing_no": matter.filing_no, "version": matter.version,
        "steps": [{"seq": r.seq, "step": r.step, "action": r.action, "from": r.from_state,
                   "to": r.to_state, "actor": r.actor.name, "role": r.actor_role,
                   "at": r.acted_at.isoformat(), "data": r.data,
                   "attachments": [{"filename": a.filename, "sha256": a.sha256, "size": a.size}
                                   for a in r.attachments]}
                  for r in matter.steps],
    }


@bp.route("/api/v1/villages/<code>/matters/<number>")
@login_required
def api_matter(code: str, number: str):
    _, m, _ = _load_matter(code, number)
    return jsonify(matter_json(m))


@bp.route("/api/v1/villages/<code>/matters/<number>/actions/<action>", methods=["POST"])
@login_required
def api_act(code: str, number: str, action: str):
    """Take a step with a JSON body of fields (and optionally "version"); CSRF token in the
    X-CSRFToken header."""
    _, m, _ = _load_matter(code, number)
    try:
        chosen = Action(action)
    except ValueError:
        raise InvalidField("input.invalid", N_("没有这种操作：%(action)s"),
                           action=action[:30]) from None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidField("input.invalid", N_("请求内容必须是JSON对象"))
    version = body.pop("version", None)
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise InvalidField("input.invalid", N_("version必须是整数"))
    if chosen is Action.REPROPOSE:
        result = matter_service.repropose(m.id, person_id(), body)
    else:
        result = matter_service.act(m.id, chosen, person_id(), body, expected_version=version)
    return jsonify(matter_json(result))
