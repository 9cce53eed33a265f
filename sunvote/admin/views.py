"""District page (townships), township page (villages, settings, logins) and the village register
(households, villagers, terms, logins, import). Views parse the request and call one service."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from sunvote.admin import forms as f
from sunvote.admin import queries
from sunvote.domain.administration import (
    PERSONAL_DATA_READERS,
    VILLAGE_APPOINTABLE,
    check_district_admin,
    check_township_admin,
)
from sunvote.domain.errors import N_, DomainError, InvalidField
from sunvote.domain.matters import CATEGORIES
from sunvote.domain.notices import SmsProvider
from sunvote.domain.roles import Role
from sunvote.domain.settings import PASS_RULE_LABELS, SETTINGS, PassRule, encode_setting
from sunvote.models import (
    Person,
    Township,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import administration as admin_service
from sunvote.services import register as register_service
from sunvote.services import register_files
from sunvote.services import register_import as import_service
from sunvote.services.access import local_date, require_village_access
from sunvote.services.settings import township_settings
from sunvote.web.pages import (
    XLSX,
    file_response,
    form_refusal,
    person_id,
    refused,
    township_or_404,
    village_or_404,
)

bp = Blueprint("admin", __name__)

PAGE_SIZE = 100


# --- District: townships ------------------------------------------------------------------------


@bp.route("/admin/")
@login_required
def district():
    """Every township with its villages and administrators; the form to add a township."""
    check_district_admin(admin_service.district_roles(person_id(), utcnow()))
    return _render_district(f.TownshipForm(formdata=None))


def _render_district(form: f.TownshipForm, error: DomainError | None = None, status: int = 200,
                     login: admin_service.NewLogin | None = None):
    townships = queries.townships()
    admins = queries.township_admins([t.id for t in townships], local_date(utcnow()))
    return render_template("admin/district.html", townships=townships, admins=admins, form=form,
                           error=error, login=login), status


@bp.route("/admin/townships", methods=["POST"])
@login_required
def create_township():
    form = f.TownshipForm()
    try:
        township, login = admin_service.create_township_with_admin(
            person_id(), form.code.data or "", form.name.data or "", form.admin_name.data or "",
            form.admin_username.data or "")
    except DomainError as error:
        return refused(error, _render_district, form)
    flash(_("已新建乡镇%(name)s", name=township.name), "success")
    # The temporary password is shown on this response only, never stored or redirected with.
    return _render_district(f.TownshipForm(formdata=None), login=login)


# --- Township: villages, settings, logins -------------------------------------------------------


def _township_roles(township: Township) -> frozenset[Role]:
    roles = admin_service.roles_in_township(person_id(), township.id, utcnow())
    if not roles:
        check_township_admin(roles)
    return roles


@bp.route("/t/<code>/")
@login_required
def township(code: str):
    """The township's villages (clerk, roster warnings), the form to add a village, and the
    logins of its officials."""
    t = township_or_404(code)
    roles = _township_roles(t)
    return _render_township(t, roles, f.VillageForm(formdata=None))


def _render_township(t: Township, roles: frozenset[Role], form: f.VillageForm,
                     error: DomainError | None = None, status: int = 200,
                     login: admin_service.NewLogin | None = None,
                     official_form: f.OfficialForm | None = None):
    now = utcnow()
    day = local_date(now)
    villages = list(t.villages)
    clerks = queries.clerk_names(villages, day)
    warnings = {v.id: len(register_service.register_warnings(v, now)) for v in villages}
    officials = queries.township_officials(t)
    return render_template("admin/township.html", township=t, villages=villages, clerks=clerks,
                           warnings=warnings, officials=officials, roles=roles, form=form,
                           error=error, login=login, today=day,
                           official_form=official_form or f.OfficialForm(formdata=None,
                                                                         prefix="official"),
                           end_form=f.EndTermForm(formdata=None, prefix="end"),
                           is_admin=bool(roles & {Role.TOWNSHIP_ADMIN, Role.DISTRICT_ADMIN}),
                           ), status


@bp.route("/t/<code>/villages", methods=["POST"])
@login_required
def create_village(code: str):
    t = township_or_404(code)
    roles = _township_roles(t)
    form = f.VillageForm()
    try:
        village, login = admin_service.create_village_with_clerk(
            person_id(), t.id, form.code.data or "", form.name.data or "",
            form.clerk_name.data or "", form.clerk_username.data or "")
    except DomainError as error:
        return refused(error, _render_township, t, roles, form)
    flash(_("已新建%(name)s，账本密钥已生成", name=village.name), "success")
    return _render_township(t, roles, f.VillageForm(formdata=None), login=login)


@bp.route("/t/<code>/officials", methods=["POST"])
@login_required
def add_official(code: str):
    """The township admin adds a reviewer or another administrator, with a login."""
    t = township_or_404(code)
    roles = _township_roles(t)
    form = f.OfficialForm(prefix="official")
    form.validate()
    try:
        try:
            role = Role(form.role.data)
        except ValueError:
            raise InvalidField("input.invalid", N_("请选择乡镇职务")) from None
        login = admin_service.appoint_township_official(
            person_id(), t.id, form.name.data or "", form.username.data or "", role)
    except DomainError as error:
        return refused(error, _render_township, t, roles, f.VillageForm(formdata=None),
                       official_form=form)
    flash(_("已任命%(name)s为%(role)s", name=login.account.person.name, role=_(role.label)),
          "success")
    return _render_township(t, roles, f.VillageForm(formdata=None), login=login)


@bp.route("/t/<code>/terms/<int:term_id>/end", methods=["POST"])
@login_required
def end_township_term(code: str, term_id: int):
    """End a township official's term early (recorded in every village log of the township)."""
    t = township_or_404(code)
    roles = _township_roles(t)
    form = f.EndTermForm(prefix="end")
    term = queries.township_term(t, term_id)
    if term is None:
        abort(404)
    try:
        if not form.validate():
            raise form_refusal(form)
        if form.last_day.date is None:
            raise InvalidField("input.invalid", N_("请填写任期最后一天"))
        register_service.end_term(person_id(), term.id, form.last_day.date,
                                  form.reason.data or "")
    except DomainError as error:
        return refused(error, _render_township, t, roles, f.VillageForm(formdata=None))
    flash(_("任期已结束，并记入账本"), "success")
    return redirect(url_for("admin.township", code=t.code))


#: The notice channels share one rule (settings.notice_channels); each has a name of its own.
NOTICE_SETTING_LABELS: dict[str, str] = {
    "notice_sms": N_("发送短信通知"),
    "notice_sms_provider": N_("短信服务商"),
    "notice_email": N_("发送电子邮件通知"),
    "notice_group_robot": N_("向村议事群机器人推送通知"),
}

SMS_PROVIDER_LABELS: dict[SmsProvider, str] = {
    SmsProvider.ALIBABA: N_("阿里云短信"),
    SmsProvider.TENCENT: N_("腾讯云短信"),
}


def setting_label(key: str) -> str:
    """The message id naming a setting (per-category pass rules get their category)."""
    if key.startswith("pass_rule.category_"):
        return N_("第%(n)s类事项的通过规则")
    if key in NOTICE_SETTING_LABELS:
        return NOTICE_SETTING_LABELS[key]
    from sunvote.domain.rules import RULES_BY_CODE

    spec = next(s for s in SETTINGS if s.key == key)
    return RULES_BY_CODE[spec.rule].title


@bp.route("/t/<code>/settings", methods=["GET", "POST"])
@login_required
def settings(code: str):
    """The township's rules: each with its value, default, legal bound and source, and history.
    Saving records every changed value in each village's ledger; a looser-than-law value is
    refused and nothing is saved."""
    t = township_or_404(code)
    roles = _township_roles(t)
    if request.method != "POST":
        return _render_settings(t, roles)
    # the CSRF token is checked for every POST by CSRFProtect
    submitted = {s.key: request.form.get(f"setting-{s.key}", "").strip() for s in SETTINGS}
    values: dict[str, object] = {k: (v if v != "" else None) for k, v in submitted.items()
                                 if f"setting-{k}" in request.form}
    try:
        changed = admin_service.change_settings(person_id(), t.id, values)
    except DomainError as error:
        return refused(error, _render_settings, t, roles, submitted)
    if changed:
        flash(_("已修改%(n)s项设置，并记入各村账本", n=len(changed)), "success")
    else:
        flash(_("设置没有变化"), "info")
    return redirect(url_for("admin.settings", code=t.code))


def _render_settings(t: Township, roles: frozenset[Role], submitted: dict[str, str] | None = None,
                     error: DomainError | None = None, status: int = 200):
    """The settings page; ``submitted`` (what a refused save typed) shown in place of the
    values in force."""
    submitted = submitted or {}
    current = township_settings(t.id)
    history = queries.setting_history(t)
    rows = [{"spec": s, "label": setting_label(s.key),
             "n": s.key.rsplit("_", 1)[-1] if s.key.startswith("pass_rule.category_") else None,
             "value": submitted.get(s.key, encode_setting(current[s.key])),
             "default": s.default} for s in SETTINGS]
    return render_template("admin/settings.html", township=t, rows=rows, history=history,
                           error=error, roles=roles, PASS_RULE_LABELS=PASS_RULE_LABELS,
                           PassRule=PassRule, CATEGORIES=CATEGORIES,
                           SmsProvider=SmsProvider, SMS_PROVIDER_LABELS=SMS_PROVIDER_LABELS,
                           can_edit=Role.TOWNSHIP_ADMIN in roles,
                           encode=encode_setting), status


LOGIN = "/t/<code>/people/<int:pid>/login"


def _township_login_use_case(code: str, act: Callable[[], admin_service.NewLogin | None]):
    """Run one change to an official's login (``act()``), then back to the township page: a
    redirect, or, when ``act`` returns a new login, the page showing its temporary password on
    this response only. A refusal re-renders the township page with it, nothing written."""
    t = township_or_404(code)
    roles = _township_roles(t)
    f.ConfirmForm().validate()
    try:
        login = act()
    except DomainError as error:
        return refused(error, _render_township, t, roles, f.VillageForm(formdata=None))
    if login is not None:
        return _render_township(t, roles, f.VillageForm(formdata=None), login=login)
    return redirect(url_for("admin.township", code=t.code))


@bp.route(f"{LOGIN}/disable", methods=["POST"])
@login_required
def disable_township_login(code: str, pid: int):
    """Disable an official's login."""
    return _township_login_use_case(code, lambda: _set_login_disabled(pid, True))


@bp.route(f"{LOGIN}/enable", methods=["POST"])
@login_required
def enable_township_login(code: str, pid: int):
    """Enable an official's login again."""
    return _township_login_use_case(code, lambda: _set_login_disabled(pid, False))


@bp.route(f"{LOGIN}/reset", methods=["POST"])
@login_required
def reset_township_password(code: str, pid: int):
    """Reset an official's password: a new temporary password, shown once."""
    return _township_login_use_case(code, lambda: _new_password(pid))


def _set_login_disabled(pid: int, disabled: bool) -> None:
    """Disable or enable a person's login (the township's officials and the villagers)."""
    admin_service.set_login_disabled(person_id(), pid, disabled)
    flash(_("账号已停用") if disabled else _("账号已启用"), "success")


def _new_password(pid: int) -> admin_service.NewLogin:
    """Reset a person's password (the township's officials and the villagers)."""
    login = admin_service.reset_password(person_id(), pid)
    flash(_("密码已重置"), "success")
    return login


# --- Village register ---------------------------------------------------------------------------


def _register_roles(code: str) -> tuple[Village, frozenset[Role]]:
    v = village_or_404(code)
    return v, require_village_access(person_id(), v, utcnow())


@bp.route("/v/<code>/register")
@login_required
def register(code: str):
    """The register: roster and term warnings, current roles, villagers (searchable), and the
    forms to add a household or a villager."""
    v, roles = _register_roles(code)
    return _render_register(v, roles)


def _render_register(v: Village, roles: frozenset[Role], household_form: Any = None,
                     person_form: Any = None, error: DomainError | None = None,
                     status: int = 200):
    now = utcnow()
    q = (request.args.get("q") or "").strip()[:60]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total, people = queries.register_people(v, q, page, PAGE_SIZE)
    households = queries.household_count(v)
    terms = register_service.current_terms(v, now)
    keeper = bool(roles & PERSONAL_DATA_READERS)
    return render_template(
        "admin/register.html", village=v, roles=roles, people=people, total=total, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), q=q, households=households, terms=terms,
        warnings=register_service.register_warnings(v, now), keeper=keeper,
        household_form=household_form or f.HouseholdForm(formdata=None),
        person_form=person_form or f.PersonForm(formdata=None), error=error), status


def _household_id(v: Village, number: str | None) -> int | None:
    number = (number or "").strip()
    if not number:
        return None
    household_id = queries.household_id(v, number)
    if household_id is None:
        raise InvalidField("input.invalid", N_("户号“%(number)s”未登记，请先登记该户"),
                           number=number[:30])
    return household_id


def _person_input(v: Village, form: f.PersonForm) -> register_service.PersonInput:
    return register_service.PersonInput(
        name=form.name.data or "", female=form.sex.data == "f",
        household_id=_household_id(v, form.household.data),
        id_number=(form.id_number.data or "").strip() or None,
        phone=(form.phone.data or "").strip() or None,
        party_member=bool(form.party_member.data),
        accounting_skill=bool(form.accounting_skill.data))


@bp.route("/v/<code>/register/households", methods=["POST"])
@login_required
def add_household(code: str):
    v, roles = _register_roles(code)
    form = f.HouseholdForm()
    form.validate()
    try:
        household = register_service.add_household(
            v.id, person_id(), form.number.data or "", form.head_name.data or "",
            form.group_name.data, form.address.data)
    except DomainError as error:
        return refused(error, _render_register, v, roles, household_form=form)
    flash(_("已登记户号%(number)s", number=household.number), "success")
    return redirect(url_for("admin.register", code=v.code))


@bp.route("/v/<code>/register/people", methods=["POST"])
@login_required
def add_person(code: str):
    v, roles = _register_roles(code)
    form = f.PersonForm()
    form.validate()
    try:
        person = register_service.add_person(v.id, person_id(), _person_input(v, form))
    except DomainError as error:
        return refused(error, _render_register, v, roles, person_form=form)
    flash(_("已登记%(name)s", name=person.name), "success")
    return redirect(url_for("admin.person", code=v.code, pid=person.id))


PERSON = "/v/<code>/register/p/<int:pid>"


def _village_person(v: Village, pid: int) -> Person:
    person = queries.village_person(v, pid)
    if person is None:
        abort(404)
    return person


@bp.route(PERSON)
@login_required
def person(code: str, pid: int):
    """A villager: details (ID and phone for register keepers only), every term they held,
    and the forms to correct details, appoint, end a term and manage their login."""
    v, roles = _register_roles(code)
    return _render_person(v, roles, _village_person(v, pid))


def _render_person(v: Village, roles: frozenset[Role], p: Person,
                   forms: dict[str, Any] | None = None,
                   error: DomainError | None = None, status: int = 200,
                   login: admin_service.NewLogin | None = None):
    now = utcnow()
    today = local_date(now)
    terms = queries.terms_of(p)
    edit = f.PersonForm(formdata=None, prefix="edit")
    appoint = f.AppointForm(formdata=None, prefix="appoint")
    end = f.EndTermForm(formdata=None, prefix="end")
    new_login = f.LoginForm(formdata=None, prefix="login")
    kin = f.KinshipForm(formdata=None, prefix="kin")
    edit.name.data = p.name
    edit.sex.data = "f" if p.female else "m"
    edit.household.data = p.household.number if p.household else ""
    edit.id_number.data = p.id_number or ""
    edit.phone.data = p.phone or ""
    edit.party_member.data = p.party_member
    edit.accounting_skill.data = p.accounting_skill
    appoint.starts_on.data = today.isoformat()
    end.last_day.data = today.isoformat()
    new_login.username.data = p.phone or ""
    shown: dict[str, Any] = {"edit": edit, "appoint": appoint, "end": end, "login": new_login,
                             "kin": kin, "confirm": f.ConfirmForm(formdata=None)}
    shown.update(forms or {})
    return render_template("admin/person.html", village=v, roles=roles, person=p, terms=terms,
                           kin=register_service.kin_of(p),
                           forms=shown, today=today, error=error, login=login,
                           login_refused=admin_service.login_refusal(person_id(), p, now),
                           keeper=bool(roles & PERSONAL_DATA_READERS),
                           township_admin=bool(roles & {Role.TOWNSHIP_ADMIN,
                                                        Role.DISTRICT_ADMIN}),
                           appointable=VILLAGE_APPOINTABLE), status


def _person_use_case(code: str, pid: int,
                     act: Callable[[Village, Person], admin_service.NewLogin | None],
                     forms: dict[str, Any] | None = None):
    """Run one change to a villager (``act(village, person)``), then back to their page: a
    redirect, or, when ``act`` returns a new login, the page showing its temporary password on
    this response only. A refusal re-renders the page with it and ``forms`` (what was typed),
    nothing written."""
    v, roles = _register_roles(code)
    p = _village_person(v, pid)
    try:
        login = act(v, p)
    except DomainError as error:
        return refused(error, _render_person, v, roles, p, forms)
    if login is not None:
        return _render_person(v, roles, _village_person(v, pid), login=login)
    return redirect(url_for("admin.person", code=v.code, pid=p.id))


@bp.route(f"{PERSON}/edit", methods=["POST"])
@login_required
def update_person(code: str, pid: int):
    """Correct a villager's details."""
    form = f.PersonForm(prefix="edit")

    def act(v: Village, p: Person) -> None:
        if not form.validate():
            raise form_refusal(form)
        register_service.update_person(p.id, person_id(), _person_input(v, form))
        flash(_("已更新%(name)s的信息", name=p.name), "success")
    return _person_use_case(code, pid, act, {"edit": form})


@bp.route(f"{PERSON}/appoint", methods=["POST"])
@login_required
def appoint_role(code: str, pid: int):
    """Appoint a villager to a village role, from a day, for a term."""
    form = f.AppointForm(prefix="appoint")

    def act(v: Village, p: Person) -> None:
        if not form.validate():
            raise form_refusal(form)
        if form.starts_on.date is None:
            raise InvalidField("input.invalid", N_("请填写任期开始日期"))
        try:
            role = Role(form.role.data)
        except ValueError:
            raise InvalidField("input.invalid", N_("请选择职务")) from None
        register_service.appoint_role(
            person_id(), p.id, role, form.starts_on.date, form.ends_on.date,
            households_represented=form.households_represented.data,
            group_name=form.group_name.data)
        flash(_("已任命%(name)s为%(role)s", name=p.name, role=_(role.label)), "success")
    return _person_use_case(code, pid, act, {"appoint": form})


@bp.route(f"{PERSON}/end-<int:term>", methods=["POST"])
@login_required
def end_term(code: str, pid: int, term: int):
    """End one of a villager's terms early, with the last day and a reason."""
    form = f.EndTermForm(prefix="end")

    def act(v: Village, p: Person) -> None:
        if not form.validate():
            raise form_refusal(form)
        if form.last_day.date is None:
            raise InvalidField("input.invalid", N_("请填写任期最后一天"))
        assignment = queries.person_term(p, term)
        if assignment is None:
            abort(404)
        register_service.end_term(person_id(), assignment.id, form.last_day.date,
                                  form.reason.data or "")
        flash(_("任期已结束，并记入账本"), "success")
    return _person_use_case(code, pid, act, {"end": form})


@bp.route(f"{PERSON}/kin", methods=["POST"])
@login_required
def add_kinship(code: str, pid: int):
    """Record a close relative of a villager (found by household number and name)."""
    form = f.KinshipForm(prefix="kin")

    def act(v: Village, p: Person) -> None:
        form.validate()
        relative = _find_villager(v, form.household.data, form.name.data)
        register_service.add_kinship(person_id(), p.id, relative.id, form.relation.data or "")
        flash(_("已登记近亲属%(name)s", name=relative.name), "success")
    return _person_use_case(code, pid, act, {"kin": form})


@bp.route(f"{PERSON}/login", methods=["POST"])
@login_required
def create_login(code: str, pid: int):
    """Give a villager a login: a new temporary password, shown once."""
    form = f.LoginForm(prefix="login")

    def act(v: Village, p: Person) -> admin_service.NewLogin:
        form.validate()
        login = admin_service.create_login(person_id(), p.id, form.username.data or "")
        flash(_("已开通登录账号"), "success")
        return login
    return _person_use_case(code, pid, act, {"login": form})


@bp.route(f"{PERSON}/reset", methods=["POST"])
@login_required
def reset_password(code: str, pid: int):
    """Reset a villager's password: a new temporary password, shown once."""
    f.ConfirmForm().validate()
    return _person_use_case(code, pid, lambda v, p: _new_password(p.id))


@bp.route(f"{PERSON}/disable", methods=["POST"])
@login_required
def disable_login(code: str, pid: int):
    """Disable a villager's login."""
    f.ConfirmForm().validate()
    return _person_use_case(code, pid, lambda v, p: _set_login_disabled(p.id, True))


@bp.route(f"{PERSON}/enable", methods=["POST"])
@login_required
def enable_login(code: str, pid: int):
    """Enable a villager's login again."""
    f.ConfirmForm().validate()
    return _person_use_case(code, pid, lambda v, p: _set_login_disabled(p.id, False))


def _find_villager(v: Village, household: str | None, name: str | None) -> Person:
    """The one villager with this household number and name."""
    found = queries.villagers_named(v, (household or "").strip(), (name or "").strip())
    if len(found) != 1:
        raise InvalidField("input.invalid",
                           N_("本村户号%(household)s中没有唯一一位名叫%(name)s的村民"),
                           household=(household or "").strip()[:30],
                           name=(name or "").strip()[:60])
    return found[0]


@bp.route("/v/<code>/register/history")
@login_required
def history(code: str):
    """Every term ever held in the village, ended early or not, newest first."""
    v, roles = _register_roles(code)
    return render_template("admin/history.html", village=v, roles=roles,
                           terms=register_service.village_terms(v), today=local_date(utcnow()))


# --- Import and export --------------------------------------------------------------------------


@bp.route("/v/<code>/register/template.<ext>")
@login_required
def template(code: str, ext: str):
    """The import template with Chinese headers and example rows."""
    _register_roles(code)
    if ext == "csv":
        return file_response(register_files.template_csv(), "花名册导入模板.csv", "text/csv")
    if ext == "xlsx":
        return file_response(register_files.template_xlsx(), "花名册导入模板.xlsx", XLSX)
    abort(404)


@bp.route("/v/<code>/register/export.<ext>")
@login_required
def export(code: str, ext: str):
    """The register in the import template's columns (cells that look like formulas escaped),
    for register keepers only: it holds ID and phone numbers."""
    v, _ = _register_roles(code)
    register_service.keeper_of(person_id(), v, utcnow())
    headers, rows = import_service.export_rows(v, utcnow())
    if ext == "csv":
        return file_response(register_files.write_csv(headers, rows), f"{v.name}花名册.csv",
                         "text/csv")
    if ext == "xlsx":
        return file_response(register_files.write_xlsx(headers, rows), f"{v.name}花名册.xlsx", XLSX)
    abort(404)


@bp.route("/v/<code>/register/import", methods=["GET", "POST"])
@login_required
def import_page(code: str):
    """Upload a file and see, row by row, what importing it would create, change or reject.
    Nothing is written until the clerk confirms."""
    v, roles = _register_roles(code)
    register_service.keeper_of(person_id(), v, utcnow())
    upload = f.ImportUploadForm()
    if request.method == "GET":
        return _render_import(v, roles, upload)
    upload.validate()
    storage = upload.file.data
    if storage is None or not getattr(storage, "filename", ""):
        return _render_import(v, roles, upload, error=InvalidField(
            "import.file", N_("请选择要导入的文件")), status=400)
    data = storage.read()
    filename = storage.filename or ""
    try:
        preview = import_service.preview_import(v.id, person_id(), filename, data)
    except DomainError as error:
        return refused(error, _render_import, v, roles, upload)
    apply_form = f.ImportApplyForm(formdata=None)
    apply_form.filename.data = filename
    apply_form.content.data = base64.b64encode(data).decode("ascii")
    apply_form.sha256.data = hashlib.sha256(data).hexdigest()
    return _render_import(v, roles, upload, preview=preview, apply_form=apply_form)


def _render_import(v: Village, roles: frozenset[Role], upload: Any, preview: Any = None,
                   apply_form: Any = None, error: DomainError | None = None,
                   status: int = 200):
    from sunvote.domain.register_import import COLUMNS

    return render_template("admin/import.html", village=v, roles=roles, upload=upload,
                           preview=preview, apply_form=apply_form, columns=COLUMNS,
                           error=error), status


@bp.route("/v/<code>/register/import/apply", methods=["POST"])
@login_required
def import_apply(code: str):
    """Import the previewed file: one transaction; rejected rows are skipped (fix them and import
    the file again: rows already imported are then unchanged)."""
    v, roles = _register_roles(code)
    form = f.ImportApplyForm()
    form.validate()
    try:
        data = base64.b64decode(form.content.data or "", validate=True)
    except ValueError:
        data = b""
    if not data or hashlib.sha256(data).hexdigest() != (form.sha256.data or ""):
        return _render_import(v, roles, f.ImportUploadForm(formdata=None), error=InvalidField(
            "import.file", N_("导入内容已损坏，请重新上传文件")), status=400)
    try:
        result = import_service.apply_import(v.id, person_id(), form.filename.data or "", data)
    except DomainError as error:
        return refused(error, _render_import, v, roles, f.ImportUploadForm(formdata=None))
    counts = result.counts
    flash(_("导入完成：新增%(created)s人，更新%(changed)s人，未变%(unchanged)s人，"
            "跳过%(rejected)s行", created=counts.get("create", 0),
            changed=counts.get("change", 0), unchanged=counts.get("unchanged", 0),
            rejected=counts.get("reject", 0)), "success")
    return redirect(url_for("admin.register", code=v.code))
