"""The matter pages for the people who work in a village: where a login lands, the village
dashboard, a matter with its timeline and step forms (one URL per step form), the
implementation progress form, the suggestions inbox, opening a matter, and the matters' files.
The JSON API over the same use cases is in api/views.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from sunvote.domain import supervision as supervision_rules
from sunvote.domain.errors import N_, DomainError, InvalidField
from sunvote.domain.oversight import MeetingFact, unopened_meeting_warnings
from sunvote.domain.procedure import Action, MatterState, allowed_actions, next_actions
from sunvote.domain.roles import Role
from sunvote.domain.suggestions import SuggestionStatus, decline_refusal
from sunvote.domain.supervision import IMPLEMENTERS, SUPERVISORS
from sunvote.matters import forms as f
from sunvote.matters import queries
from sunvote.models import Matter, Village
from sunvote.models.base import utcnow
from sunvote.services import matters as matter_service
from sunvote.services import notices, supervision, supervision_checks
from sunvote.services import suggestions as suggestion_service
from sunvote.services.access import all_roles, local_date, require_village_access
from sunvote.services.files import Upload
from sunvote.services.matter_filter import find_matters
from sunvote.services.roster import village_roster_warnings
from sunvote.web import matter_filter
from sunvote.web.pages import (
    file_response,
    form_refusal,
    load_matter,
    person_id,
    refused,
    village_or_404,
)

bp = Blueprint("matters", __name__)


@bp.route("/home")
@login_required
def home():
    """The places the logged-in person works in (where a login lands)."""
    assignments = all_roles(person_id(), utcnow())
    found = queries.places(assignments)
    if len(found.villages) == 1 and not found.townships and not found.district:
        return redirect(url_for("matters.village", code=found.villages[0].code))
    return render_template("village/home.html", villages=found.villages, assignments=assignments,
                           townships=found.townships, district=found.district)


# --- The village dashboard ---------------------------------------------------------------------


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
        lambda f: find_matters(queries.village_ids(v), f, grouping))
    page = listing["matters"]
    columns = [(title, [m for m in page.items if MatterState(m.state) in states],
                page.counts[title]) for title, states in BOARD_COLUMNS]
    meetings = queries.meetings_not_closed(v)
    # the oversight dashboard's rule, asked of the meetings shown here
    late = unopened_meeting_warnings(v.code, [MeetingFact(
        m.number, m.state, local_date(m.starts_at),
        None if m.opened_at is None else local_date(m.opened_at)) for m in meetings],
        local_date(now))
    return render_template("village/dashboard.html", village=v, columns=columns, roles=roles,
                           pending=queries.pending_suggestions(v),
                           warnings=village_roster_warnings(v, now),
                           meetings=meetings, meeting_warnings=late,
                           reach_warnings=notices.upcoming_warnings(meetings, now),
                           can_open=Action.SUGGEST in allowed_actions(
                               MatterState.NEW, roles,
                               matter_service.procedure_settings(v)), **listing), status


# --- A matter and its step forms ---------------------------------------------------------------


@dataclass(frozen=True)
class StepForm:
    """A form on the matter page: which form class, and which actions it can submit."""

    form: type[f.VersionedForm]
    actions: tuple[Action, ...]
    choose: Callable[[Any], Action]


#: The matter page's step forms by name. Each has its own URL and view below
#: (``/v/<code>/m/<number>/<name>``, endpoint ``matters.<name>``).
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
    state = MatterState(matter.state)
    # Why implementation may not start yet: both the start form and the "waiting" line ask it.
    start = supervision_checks.start_refusal(matter, now) if state is MatterState.PASSED else None
    shown, held = _forms_for(matter, roles, start)
    # Re-show a submitted form with what was typed, but only to someone allowed to use it.
    shown.update({name: form for name, form in (forms or {}).items() if name in shown})
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
    return render_template("matter/matter.html", village=v, matter=matter,
                           records=queries.timeline(matter),
                           forms=shown, held=held, roles=roles, error=error,
                           origin=queries.origin(matter), followers=queries.followers(matter),
                           state=state, next_steps=next_steps,
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
    v, m, roles = load_matter(code, number)
    return _render_matter(v, m, roles)


def _uploads(form: Any) -> list[Upload]:
    files = getattr(form, "materials", None)
    if files is None:
        return []
    return [Upload(fs.filename or "", fs.read()) for fs in (files.data or []) if fs and fs.filename]


def _take_step(code: str, number: str, name: str):
    """Submit the step form ``name`` (a key of STEP_FORMS). Refusals re-show the page with the
    reason and what was typed; nothing is written."""
    spec = STEP_FORMS[name]
    v, m, roles = load_matter(code, number)
    form = spec.form(prefix=name)
    if not form.validate():
        return _render_matter(v, m, roles, {name: form}, form_refusal(form), 400)
    version = form.version_number()
    if form.version.data and version is None:
        return _render_matter(v, m, roles, {name: form},
                              InvalidField("input.invalid", N_("表单已损坏，请刷新页面")), 400)
    action = spec.choose(form)
    fields = form.fields_for_engine()
    try:
        if action is Action.REPROPOSE:
            new = matter_service.repropose(m.id, person_id(), fields, _uploads(form))
            flash(_("已重新提议，新事项编号%(number)s", number=new.number), "success")
            return redirect(url_for("matters.matter", code=v.code, number=new.number))
        matter_service.act(m.id, action, person_id(), fields, _uploads(form),
                           expected_version=version)
    except DomainError as error:
        return refused(error, _render_matter, v, m, roles, {name: form})
    flash(_("已办理：%(action)s", action=_(action.label)), "success")
    return redirect(url_for("matters.matter", code=v.code, number=m.number))


@bp.route("/v/<code>/m/<number>/propose", methods=["POST"])
@login_required
def propose(code: str, number: str):
    """Step 2: the party branch proposes the matter."""
    return _take_step(code, number, "propose")


@bp.route("/v/<code>/m/<number>/merge", methods=["POST"])
@login_required
def merge(code: str, number: str):
    """Steps 2 and 3 at one joint meeting (where the township allows it)."""
    return _take_step(code, number, "merge")


@bp.route("/v/<code>/m/<number>/discuss", methods=["POST"])
@login_required
def discuss(code: str, number: str):
    """Step 3: the joint meeting's plan, or dropping the matter."""
    return _take_step(code, number, "discuss")


@bp.route("/v/<code>/m/<number>/review", methods=["POST"])
@login_required
def review(code: str, number: str):
    """Step 4: the township files the plan, or returns it."""
    return _take_step(code, number, "review")


@bp.route("/v/<code>/m/<number>/start", methods=["POST"])
@login_required
def start(code: str, number: str):
    """Step 6: implementation starts (after the notice period, objections answered)."""
    return _take_step(code, number, "start")


@bp.route("/v/<code>/m/<number>/complete", methods=["POST"])
@login_required
def complete(code: str, number: str):
    """Step 6: the supervisory committee signs the completion off, or refuses it."""
    return _take_step(code, number, "complete")


@bp.route("/v/<code>/m/<number>/withdraw", methods=["POST"])
@login_required
def withdraw(code: str, number: str):
    """The matter is withdrawn, with the reason."""
    return _take_step(code, number, "withdraw")


@bp.route("/v/<code>/m/<number>/breach", methods=["POST"])
@login_required
def breach(code: str, number: str):
    """The supervisory committee flags a step taken against the procedure."""
    return _take_step(code, number, "breach")


@bp.route("/v/<code>/m/<number>/repropose", methods=["POST"])
@login_required
def repropose(code: str, number: str):
    """A rejected matter proposed again, as a new matter."""
    return _take_step(code, number, "repropose")


@bp.route("/v/<code>/m/<number>/implementation", methods=["POST"])
@login_required
def record_update(code: str, number: str):
    """The village committee records implementation progress (step 6); the supervisory
    committee confirms it on its workspace or on this page."""
    village, matter, roles = load_matter(code, number)
    files = request.files.getlist("evidence")
    uploads = [Upload(fs.filename or "", fs.read()) for fs in files if fs and fs.filename]
    try:
        supervision.record_update(person_id(), matter.id,
                                  request.form.get("milestone"), request.form.get("progress"),
                                  request.form.get("spent"), request.form.get("note"), uploads)
    except DomainError as error:
        return refused(error, _render_matter, village, matter, roles)
    flash(_("已记录实施进度，等待村务监督委员会确认"), "success")
    return redirect(url_for("matters.matter", code=code, number=number) + "#implementation")


# --- Suggestions and opening a matter ----------------------------------------------------------


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
        return refused(error, _render_suggestions, v, roles, decline_form=form,
                       error_form="decline")
    flash(_("已答复：建议%(number)s号未采纳", number=suggestion.number), "success")
    return redirect(url_for("matters.suggestions", code=v.code))


@bp.route("/v/<code>/suggestions/record", methods=["POST"])
@login_required
def record_suggestion(code: str):
    """A paper or box suggestion, recorded by the clerk."""
    v = village_or_404(code)
    roles = require_village_access(person_id(), v, utcnow())
    form = f.RecordSuggestionForm(prefix="record")
    form.validate()
    try:
        suggestion_service.record_suggestion(v.id, person_id(), form.channel.data or "",
                                             form.text.data, form.name.data,
                                             bool(form.party_member.data))
    except DomainError as error:
        return refused(error, _render_suggestions, v, roles, record_form=form,
                       error_form="record")
    flash(_("建议已登记"), "success")
    return redirect(url_for("matters.suggestions", code=v.code))


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
        return refused(error, _render_suggestions, v, roles, open_form=form, error_form="open")
    flash(_("已立项，事项编号%(number)s", number=matter.number), "success")
    return redirect(url_for("matters.matter", code=v.code, number=matter.number))


# --- Files -------------------------------------------------------------------------------------


@bp.route("/v/<code>/files/<sha256>")
@login_required
def download(code: str, sha256: str):
    """An attachment of one of the village's matters, by its SHA-256."""
    v = village_or_404(code)
    require_village_access(person_id(), v, utcnow())
    found = queries.attachment(v, sha256)
    if found is None:
        abort(404)
    attachment, blob = found
    return file_response(blob.data, attachment.filename, attachment.content_type, sandbox=True)
