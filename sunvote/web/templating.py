"""Template helpers: dates in China time, money in yuan, labels of steps, states and roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flask import Flask, request
from flask_babel import get_locale, gettext
from flask_login import current_user
from markupsafe import Markup

from sunvote.domain import assembly as assembly_rules
from sunvote.domain.assembly import BALLOT_ID_LENGTH, MEETING_RUNNERS, Choice, not_voted
from sunvote.domain.errors import N_, render
from sunvote.domain.matter_filter import STATE_GROUPS
from sunvote.domain.matters import CATEGORIES, CATEGORIES_BY_CODE
from sunvote.domain.procedure import FIELD_LABELS, STEP_LABELS, Action, MatterState, Step
from sunvote.domain.roles import Role
from sunvote.domain.rules import RULES_BY_CODE
from sunvote.domain.settings import PASS_RULE_LABELS, PassRule
from sunvote.domain.suggestions import STATUS_LABELS as SUGGESTION_STATUS_LABELS
from sunvote.domain.suggestions import status_of as suggestion_status_of
from sunvote.domain.supervision import (
    OUTCOME_LABELS,
    Outcome,
    notice_period_over,
    state_label,
)
from sunvote.models import StepRecord
from sunvote.services.access import CHINA, roles_in_village
from sunvote.services.notices import unread_count
from sunvote.web.errors import both_languages


def format_time(value: dt.datetime | None) -> str:
    """An aware datetime as local China time, to the minute."""
    if value is None:
        return ""
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def format_yuan(fen: int | None) -> str:
    """An amount in fen shown in yuan with two decimals and thousands separators."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{cents:02d}"


def format_size(size: int) -> str:
    """Bytes as B, KB or MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def label(kind: str, value: Any) -> str:
    """The translated label of a step, state, action, role or category code."""
    if value is None or value == "":
        return ""
    if kind == "step":
        return gettext(Step(value).label)
    if kind == "state":
        return gettext(MatterState(value).label)
    if kind == "action":
        return gettext(Action(value).label)
    if kind == "role":
        return gettext(Role(value).label)
    if kind == "category":
        cat = CATEGORIES_BY_CODE[int(value)]
        return cat.name_en if str(get_locale()) == "en" else gettext(cat.name)
    raise ValueError(kind)


CHANNEL_LABELS = {"qr": N_("扫码提交"), "paper": N_("书面"), "box": N_("意见箱"),
                  "township": N_("乡镇交办")}
KIND_LABELS = {"refusal": N_("拒绝办理"), "warning": N_("提示"), "setting": N_("乡镇设置")}
FORM_TITLES = {
    "propose": N_("第2步：党支部提议"),
    "merge": N_("第2、3步：提议并商议（一肩挑）"),
    "discuss": N_("第3步：村务联席会议商议"),
    "review": N_("第4步：乡镇审议备案"),
    "withdraw": N_("撤回事项"),
    "breach": N_("监督：指出程序违规"),
    "repropose": N_("重新提议（新事项，从第2步开始）"),
    "start": N_("第6步：开始实施"),
    "complete": N_("第6步：监督验收"),
}


def poll_not_voted(poll: Any) -> int:
    """A closed poll's members present who cast no ballot (domain.assembly.not_voted)."""
    return not_voted(poll.present, poll.recused or 0, poll.yes or 0, poll.no or 0,
                     poll.abstain or 0)


def matter_state_label(matter: Any) -> str:
    """A matter's state in the page's language, as supervision.state_label reads it (a passed
    matter after its notice period says so)."""
    return gettext(state_label(MatterState(matter.state), getattr(matter, "notice_ends_at", None),
                               dt.datetime.now(dt.UTC)))


def can_manage_phones(village: Any) -> bool:
    """Whether the person logged in may open the village's phone page (cloud.devices lets in
    MEETING_RUNNERS only): the header shows the link to them alone."""
    if not current_user.is_authenticated or current_user.person_id is None:
        return False
    return bool(roles_in_village(current_user.person_id, village, dt.datetime.now(dt.UTC))
                & MEETING_RUNNERS)


def unread_notices() -> int:
    """The logged-in person's unread inbox notices, for the badge in the navigation (one COUNT
    statement per page; 0 for a visitor)."""
    if not current_user.is_authenticated or current_user.person_id is None:
        return 0
    return unread_count(current_user.person_id)


def role_names(roles: Iterable[Role | str]) -> str:
    """Role labels in the page's language, in the roles' fixed order, joined as the language
    joins a list ("村务工作者、村委会主任" / "clerk, committee director")."""
    wanted = {Role(r) for r in roles}
    names = [gettext(r.label) for r in Role if r in wanted]
    return list_sep().join(names)


def _english() -> bool:
    return str(get_locale()) == "en"


def colon() -> str:
    """The colon after a label: full-width in Chinese, ASCII and a space in English."""
    return ": " if _english() else "："


def semicolon() -> str:
    """Between clauses: full-width in Chinese, ASCII and a space in English."""
    return "; " if _english() else "；"


def list_sep() -> str:
    """Between the items of a list: the enumeration comma in Chinese, a comma in English."""
    return ", " if _english() else "、"


def paren(text: object) -> Markup:
    """An aside in brackets: full-width in Chinese, ASCII after a space in English (escaped)."""
    return (Markup(" (%s)") if _english() else Markup("（%s）")) % text


def record_fields(record: StepRecord) -> list[tuple[str, str]]:
    """The recorded fields of a step, labelled and formatted for display, in a fixed order."""
    data = dict(record.data or {})
    rows: list[tuple[str, str]] = []
    for key, field_label in FIELD_LABELS.items():
        if key not in data or data[key] in (None, "") or key == "origin_state":
            continue
        value = data[key]
        if key == "category":
            shown = f"{value}. {label('category', value)}"
        elif key == "amount_fen":
            shown = "¥ " + format_yuan(int(value))
        elif key == "breach_step":
            shown = label("step", value)
        elif key == "verdict":
            shown = gettext("通过") if value == "passed" else gettext("未通过")
        else:
            shown = str(value)
        rows.append((gettext(field_label), shown))
    if data.get("suggestion_ids"):
        merged = list_sep().join(f"#{i}" for i in data["suggestion_ids"])
        rows.append((gettext("并入的建议"), merged))
    if data.get("origin_matter"):
        rows.append((gettext("原事项"), str(data["origin_matter"])))
    return rows


def register_template_helpers(app: Flask) -> None:
    """Filters and globals every template may use."""
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["yuan"] = format_yuan
    app.jinja_env.filters["filesize"] = format_size
    app.jinja_env.globals.update(
        label=label, STEPS=list(Step), STEP_LABELS=STEP_LABELS, CATEGORIES=CATEGORIES,
        RULES=RULES_BY_CODE, current_user=current_user,
        STEPS_BY_VALUE={s.value: s for s in Step},
        record_fields=record_fields,
        render_msg=lambda msgid, params: render(msgid, params, gettext),
        refusal_messages=lambda error: both_languages(error.msgid, error.params),
        channel_label=lambda c: gettext(CHANNEL_LABELS.get(c, c)),
        kind_label=lambda k: gettext(KIND_LABELS[str(k)]),
        form_title=lambda name: gettext(FORM_TITLES[name]),
        role_names=role_names,
        colon=colon, semicolon=semicolon, list_sep=list_sep, paren=paren,
        can_manage_phones=can_manage_phones, unread_notices=unread_notices,
        notice_period_over=notice_period_over,
        matter_state_label=matter_state_label,
        poll_not_voted=poll_not_voted,
        vote_channel_label=lambda c: gettext(assembly_rules.CHANNEL_LABELS.get(c, c)),
        meeting_state_label=lambda s: gettext(assembly_rules.MEETING_STATE_LABELS.get(s, s)),
        mode_label=lambda m: gettext(assembly_rules.VOTE_MODE_LABELS.get(m, m)),
        pass_rule_label=lambda r: gettext(PASS_RULE_LABELS[PassRule(r)]),
        choice_label=lambda c: gettext(Choice(c).label),
        outcome_label=lambda o: gettext(OUTCOME_LABELS[Outcome(o)]),
        CHOICES=list(Choice), STATE_GROUPS=STATE_GROUPS, BALLOT_ID_LENGTH=BALLOT_ID_LENGTH,
        SUGGESTION_STATUS_LABELS=SUGGESTION_STATUS_LABELS,
        suggestion_status=lambda s: suggestion_status_of(s.matter_id is not None,
                                                         s.declined_at is not None),
    )

    @app.context_processor
    def _locale() -> dict[str, Any]:
        lang = str(get_locale())
        # A villager's page (/p/…, no account) shows a refusal in its own language only, with
        # the rule's code on a small line; staff pages show both languages (docs/i18n.md).
        return {"lang": lang, "villager_page": request.blueprint == "public"}
