"""The six steps, the matter states and the transition table; transition() is the only way a
matter's state changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sunvote.domain.errors import (
    N_,
    InvalidField,
    MatterClosed,
    MissingField,
    Msg,
    MsgList,
    RoleNotAllowed,
    SettingDisabled,
    StepOutOfOrder,
)
from sunvote.domain.matters import category
from sunvote.domain.roles import Role
from sunvote.domain.text import clean_text


class Step(StrEnum):
    """The six steps of the sunshine vote, in order."""

    SUGGEST = "suggest"
    PROPOSE = "propose"
    DISCUSS = "discuss"
    REVIEW = "review"
    VOTE = "vote"
    SUPERVISE = "supervise"

    @property
    def number(self) -> int:
        """1–6."""
        return list(Step).index(self) + 1

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return STEP_LABELS[self]

    @property
    def short_label(self) -> str:
        """A two- to four-character name (message id) for the public board's step dots."""
        return STEP_SHORT_LABELS[self]


STEP_LABELS: dict[Step, str] = {
    Step.SUGGEST: N_("党员群众建议"),
    Step.PROPOSE: N_("村党支部提议"),
    Step.DISCUSS: N_("村务联席会议商议"),
    Step.REVIEW: N_("乡镇党委审议备案"),
    Step.VOTE: N_("村民代表会议票决"),
    Step.SUPERVISE: N_("村务监督委员会监督"),
}

STEP_SHORT_LABELS: dict[Step, str] = {
    Step.SUGGEST: N_("提建议"),
    Step.PROPOSE: N_("提议"),
    Step.DISCUSS: N_("商议"),
    Step.REVIEW: N_("审议"),
    Step.VOTE: N_("票决"),
    Step.SUPERVISE: N_("监督实施"),
}


class MatterState(StrEnum):
    """Where a matter stands. ``NEW`` is never stored: it is the state before a matter exists."""

    NEW = "new"
    SUGGESTED = "suggested"  # step 1 done; awaits the party branch's proposal
    PROPOSED = "proposed"  # step 2 done; awaits the joint meeting
    RETURNED = "returned"  # the township returned it; awaits the joint meeting again
    DISCUSSED = "discussed"  # step 3 done; awaits township review
    FILED = "filed"  # step 4 done (filed); awaits the assembly's vote
    PASSED = "passed"  # step 5 passed; public notice, awaits implementation
    IMPLEMENTING = "implementing"  # being implemented under supervision
    COMPLETED = "completed"  # signed off by the supervisory committee (closed)
    REJECTED = "rejected"  # failed the vote (closed; may be re-proposed as a new matter)
    WITHDRAWN = "withdrawn"  # withdrawn by the party branch before the vote (closed)
    DROPPED = "dropped"  # the joint meeting decided not to pursue it (closed)

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return STATE_LABELS[self]

    @property
    def closed(self) -> bool:
        """Closed matters accept no further action."""
        return self in CLOSED_STATES

    @property
    def awaiting(self) -> Step | None:
        """The step the matter is waiting for, or None when it is closed."""
        return AWAITING_STEP.get(self)


STATE_LABELS: dict[MatterState, str] = {
    MatterState.NEW: N_("新建"),
    MatterState.SUGGESTED: N_("待提议"),
    MatterState.PROPOSED: N_("待商议"),
    MatterState.RETURNED: N_("已退回，待重新商议"),
    MatterState.DISCUSSED: N_("待审议备案"),
    MatterState.FILED: N_("已备案，待票决"),
    MatterState.PASSED: N_("已通过，公示中"),
    MatterState.IMPLEMENTING: N_("实施中"),
    MatterState.COMPLETED: N_("已完成"),
    MatterState.REJECTED: N_("未通过"),
    MatterState.WITHDRAWN: N_("已撤回"),
    MatterState.DROPPED: N_("已终止"),
}

CLOSED_STATES: frozenset[MatterState] = frozenset(
    {MatterState.COMPLETED, MatterState.REJECTED, MatterState.WITHDRAWN, MatterState.DROPPED}
)

AWAITING_STEP: dict[MatterState, Step] = {
    MatterState.NEW: Step.SUGGEST,
    MatterState.SUGGESTED: Step.PROPOSE,
    MatterState.PROPOSED: Step.DISCUSS,
    MatterState.RETURNED: Step.DISCUSS,
    MatterState.DISCUSSED: Step.REVIEW,
    MatterState.FILED: Step.VOTE,
    MatterState.PASSED: Step.SUPERVISE,
    MatterState.IMPLEMENTING: Step.SUPERVISE,
}

#: A procedural breach found at step k sends the matter back to the state that awaits step k.
STATE_AWAITING: dict[Step, MatterState] = {
    Step.PROPOSE: MatterState.SUGGESTED,
    Step.DISCUSS: MatterState.PROPOSED,
    Step.REVIEW: MatterState.DISCUSSED,
    Step.VOTE: MatterState.FILED,
    Step.SUPERVISE: MatterState.PASSED,
}

#: The last step a matter in this state has been through (breaches can be flagged up to it).
LAST_STEP_DONE: dict[MatterState, Step] = {
    MatterState.SUGGESTED: Step.SUGGEST,
    MatterState.PROPOSED: Step.PROPOSE,
    MatterState.RETURNED: Step.DISCUSS,
    MatterState.DISCUSSED: Step.DISCUSS,
    MatterState.FILED: Step.REVIEW,
    MatterState.PASSED: Step.VOTE,
    MatterState.IMPLEMENTING: Step.SUPERVISE,
}


class Action(StrEnum):
    """Everything that can happen to a matter."""

    SUGGEST = "suggest"
    PROPOSE = "propose"
    PROPOSE_AND_DISCUSS = "propose_and_discuss"
    REPROPOSE = "repropose"
    DISCUSS = "discuss"
    DROP = "drop"
    FILE = "file"
    RETURN = "return"
    WITHDRAW = "withdraw"
    FLAG_BREACH = "flag_breach"
    RECORD_VOTE = "record_vote"
    START_IMPLEMENTATION = "start_implementation"
    COMPLETE = "complete"
    REFUSE_COMPLETION = "refuse_completion"

    @property
    def label(self) -> str:
        """The Chinese name (message id)."""
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.SUGGEST: N_("登记建议，立项"),
    Action.PROPOSE: N_("党支部提议"),
    Action.PROPOSE_AND_DISCUSS: N_("提议并商议（一肩挑）"),
    Action.REPROPOSE: N_("重新提议"),
    Action.DISCUSS: N_("联席会议商议，提交审议"),
    Action.DROP: N_("联席会议商议，终止事项"),
    Action.FILE: N_("审议通过，予以备案"),
    Action.RETURN: N_("审议退回"),
    Action.WITHDRAW: N_("撤回事项"),
    Action.FLAG_BREACH: N_("指出程序违规，退回"),
    Action.RECORD_VOTE: N_("记录票决结果"),
    Action.START_IMPLEMENTATION: N_("开始实施"),
    Action.COMPLETE: N_("监督验收，事项完成"),
    Action.REFUSE_COMPLETION: N_("验收不通过，退回整改"),
}

_PROPOSAL_FIELDS = ("category", "title", "summary", "amount_fen")
_MEETING_FIELDS = ("meeting_date", "expected", "present", "minutes")


@dataclass(frozen=True)
class Transition:
    """One row of the transition table.

    ``to_state`` None means the target depends on a field (breach step, vote verdict).
    ``also_requires``: roles the actor must hold *in addition* to one of ``roles``.
    ``setting``: a township setting that must be on.
    """

    action: Action
    from_states: frozenset[MatterState]
    roles: frozenset[Role]
    to_state: MatterState | None
    step: Step | None
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    also_requires: frozenset[Role] = frozenset()
    setting: str | None = None


def _t(action: Action, states: set[MatterState], roles: set[Role], to: MatterState | None,
       step: Step | None, required: tuple[str, ...] = (), optional: tuple[str, ...] = (),
       also_requires: frozenset[Role] = frozenset(), setting: str | None = None) -> Transition:
    return Transition(action, frozenset(states), frozenset(roles), to, step, required, optional,
                      also_requires, setting)


S = MatterState
TRANSITIONS: tuple[Transition, ...] = (
    _t(Action.SUGGEST, {S.NEW},
       {Role.CLERK, Role.PARTY_SECRETARY, Role.COMMITTEE_DIRECTOR, Role.TOWNSHIP_REVIEWER},
       S.SUGGESTED, Step.SUGGEST, ("title", "text")),
    _t(Action.PROPOSE, {S.SUGGESTED}, {Role.PARTY_SECRETARY}, S.PROPOSED, Step.PROPOSE,
       _PROPOSAL_FIELDS, ("category_reason",)),
    _t(Action.PROPOSE_AND_DISCUSS, {S.SUGGESTED}, {Role.PARTY_SECRETARY}, S.DISCUSSED,
       Step.DISCUSS, (*_PROPOSAL_FIELDS, *_MEETING_FIELDS), ("category_reason",),
       also_requires=frozenset({Role.COMMITTEE_DIRECTOR}), setting="merge_propose_discuss"),
    _t(Action.REPROPOSE, {S.NEW}, {Role.PARTY_SECRETARY}, S.PROPOSED, Step.PROPOSE,
       (*_PROPOSAL_FIELDS, "origin_state"), ("category_reason",)),
    _t(Action.DISCUSS, {S.PROPOSED, S.RETURNED}, {Role.CLERK, Role.COMMITTEE_DIRECTOR},
       S.DISCUSSED, Step.DISCUSS, (*_MEETING_FIELDS, "plan"), ("amount_fen",)),
    _t(Action.DROP, {S.PROPOSED, S.RETURNED}, {Role.CLERK, Role.COMMITTEE_DIRECTOR},
       S.DROPPED, Step.DISCUSS, (*_MEETING_FIELDS, "reason")),
    _t(Action.FILE, {S.DISCUSSED}, {Role.TOWNSHIP_REVIEWER}, S.FILED, Step.REVIEW,
       ("filing_no",)),
    _t(Action.RETURN, {S.DISCUSSED}, {Role.TOWNSHIP_REVIEWER}, S.RETURNED, Step.REVIEW,
       ("reason",)),
    _t(Action.WITHDRAW, {S.SUGGESTED, S.PROPOSED, S.RETURNED, S.DISCUSSED, S.FILED},
       {Role.PARTY_SECRETARY}, S.WITHDRAWN, None, ("reason",)),
    _t(Action.FLAG_BREACH,
       {S.PROPOSED, S.RETURNED, S.DISCUSSED, S.FILED, S.PASSED, S.IMPLEMENTING},
       {Role.SUPERVISOR, Role.SUPERVISOR_CHAIR}, None, Step.SUPERVISE,
       ("breach_step", "reason")),
    _t(Action.RECORD_VOTE, {S.FILED}, {Role.ASSEMBLY}, None, Step.VOTE, ("verdict",)),
    _t(Action.START_IMPLEMENTATION, {S.PASSED}, {Role.CLERK, Role.COMMITTEE_DIRECTOR},
       S.IMPLEMENTING, Step.SUPERVISE, (), ("implementer", "planned_end", "arrangement")),
    _t(Action.COMPLETE, {S.IMPLEMENTING}, {Role.SUPERVISOR_CHAIR}, S.COMPLETED,
       Step.SUPERVISE, ("report",)),
    # The committee finds the work not done as agreed: it stays in implementation, with the
    # reasons on record, until the village committee has put it right.
    _t(Action.REFUSE_COMPLETION, {S.IMPLEMENTING}, {Role.SUPERVISOR_CHAIR}, S.IMPLEMENTING,
       Step.SUPERVISE, ("reason",)),
)
del S

TRANSITIONS_BY_ACTION: dict[Action, Transition] = {t.action: t for t in TRANSITIONS}

#: Actions that may happen beside the main line (a withdrawal, a breach, a refused sign-off):
#: never "the next step" a page announces.
SIDE_ACTIONS: frozenset[Action] = frozenset({Action.WITHDRAW, Action.FLAG_BREACH,
                                             Action.REFUSE_COMPLETION})


@dataclass(frozen=True)
class ProcedureSettings:
    """The township settings the procedure engine consults."""

    merge_propose_discuss: bool = False


@dataclass(frozen=True)
class Decision:
    """What transition() decided: the action, its step and role, and the state change."""

    action: Action
    step: Step
    from_state: MatterState
    to_state: MatterState
    role: Role
    fields: Mapping[str, object] = field(default_factory=dict)


def allowed_actions(state: MatterState, roles: frozenset[Role],
                    settings: ProcedureSettings) -> list[Action]:
    """The actions an actor with ``roles`` may take on a matter in ``state`` (for showing forms)."""
    return [t.action for t in TRANSITIONS if _permits(t, state, roles, settings)]


def next_actions(state: MatterState,
                 settings: ProcedureSettings) -> list[tuple[Action, frozenset[Role]]]:
    """What moves a matter in ``state`` forward, and who may do it (for telling a person who is
    not the next actor who is). The roles come from the transition table, as in transition()."""
    return [(t.action, t.roles | t.also_requires) for t in TRANSITIONS
            if state in t.from_states and t.action not in SIDE_ACTIONS
            and (t.setting is None or bool(getattr(settings, t.setting)))]


def _permits(t: Transition, state: MatterState, roles: frozenset[Role],
             settings: ProcedureSettings) -> bool:
    return (state in t.from_states and bool(t.roles & roles) and t.also_requires <= roles
            and (t.setting is None or bool(getattr(settings, t.setting))))


def transition(state: MatterState, action: Action, roles: frozenset[Role],
               fields: Mapping[str, object], settings: ProcedureSettings) -> Decision:
    """Decide whether an actor holding ``roles`` may take ``action`` on a matter in ``state``.

    Returns the decision or raises, checking in this order: the matter is open
    (``procedure.closed``), the action is the next step (``procedure.step_order``), the actor's
    role (``procedure.role``), the township setting, then the required fields and their rules.
    """
    t = TRANSITIONS_BY_ACTION[action]
    if state.closed:
        raise MatterClosed("procedure.closed", N_("该事项%(state)s，不能再办理“%(action)s”"),
                           state=Msg(state.label), action=Msg(action.label))
    if state not in t.from_states:
        awaiting = state.awaiting
        raise StepOutOfOrder(
            "procedure.step_order",
            N_("该事项当前处于“%(state)s”，应办理的步骤是“%(step)s”，不能办理“%(action)s”"),
            state=Msg(state.label), step=Msg(awaiting.label if awaiting else state.label),
            action=Msg(action.label))
    if not t.roles & roles:
        raise RoleNotAllowed("procedure.role", N_("“%(action)s”只能由%(roles)s办理"),
                             action=Msg(action.label), roles=_role_names(t.roles))
    if t.setting is not None and not getattr(settings, t.setting):
        raise SettingDisabled("procedure.merge_propose_discuss",
                              N_("本乡镇未开启“一肩挑”提议与商议合并办理"))
    if not t.also_requires <= roles:
        raise RoleNotAllowed("procedure.merge_propose_discuss",
                             N_("提议与商议合并办理须由兼任村委会主任的党支部书记办理"))
    cleaned = clean_fields(t, fields)
    _check_fields(t, state, cleaned)
    role = next(r for r in Role if r in t.roles & roles)
    return Decision(action, _step_of(t, state), state, _target(t, state, cleaned), role, cleaned)


def _role_names(roles: frozenset[Role]) -> MsgList:
    return MsgList(r.label for r in sorted(roles))


def _step_of(t: Transition, state: MatterState) -> Step:
    if t.step is not None:
        return t.step
    awaiting = state.awaiting
    assert awaiting is not None  # closed states were refused before
    return awaiting


def _target(t: Transition, state: MatterState, fields: Mapping[str, object]) -> MatterState:
    if t.to_state is not None:
        return t.to_state
    if t.action is Action.FLAG_BREACH:
        return STATE_AWAITING[Step(str(fields["breach_step"]))]
    if t.action is Action.RECORD_VOTE:
        return MatterState.PASSED if fields["verdict"] == "passed" else MatterState.REJECTED
    raise AssertionError(f"no target rule for {t.action}")  # pragma: no cover


def clean_fields(t: Transition, raw: Mapping[str, object]) -> dict[str, object]:
    """The fields of ``t`` from ``raw`` in their proper types: text normalised and bounded
    (:func:`clean_text`), integers and dates parsed. Unknown keys are dropped; a missing
    required field is refused."""
    cleaned: dict[str, object] = {}
    for name in (*t.required, *t.optional):
        required = name in t.required
        value = raw.get(name)
        if name in TEXT_FIELDS:
            max_length, multiline = TEXT_FIELDS[name]
            value = clean_text(value, FIELD_LABELS[name], max_length=max_length,
                               required=required, multiline=multiline)
        elif _blank(value):
            if required:
                raise MissingField("procedure.required_fields",
                                   N_("“%(action)s”须填写：%(field)s"),
                                   action=Msg(t.action.label), field=Msg(FIELD_LABELS[name]))
            value = None
        elif name in INT_FIELDS:
            value = _as_int(value, name)
        elif name in DATE_FIELDS:
            value = _as_date(value, name)
        if value is not None:
            cleaned[name] = value
    return cleaned


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_fields(t: Transition, state: MatterState, fields: Mapping[str, object]) -> None:
    if "category" in fields:
        cat = category(int(str(fields["category"])))
        if cat.needs_reason and "category_reason" not in fields:
            raise MissingField("procedure.category_10_reason",
                               N_("第十类事项须书面说明其属于必须票决事项的理由"))
    if "amount_fen" in fields and int(str(fields["amount_fen"])) < 0:
        raise InvalidField("input.invalid", N_("涉及金额不能为负数"))
    if "amount_fen" in fields and int(str(fields["amount_fen"])) > MAX_AMOUNT_FEN:
        raise InvalidField("input.invalid", N_("涉及金额超出合理范围"))
    if "expected" in fields:
        expected = int(str(fields["expected"]))
        present = int(str(fields["present"]))
        if expected < 1 or present < 1 or present > expected or expected > 1000:
            raise InvalidField("input.invalid",
                               N_("应到人数须在1至1000之间，实到人数须在1至应到人数之间"))
    if t.action is Action.FLAG_BREACH:
        _check_breach_step(state, fields["breach_step"])
    if t.action is Action.RECORD_VOTE and fields["verdict"] not in ("passed", "rejected"):
        raise InvalidField("input.invalid", N_("票决结果只能是通过或未通过"))
    if t.action is Action.REPROPOSE and fields["origin_state"] != MatterState.REJECTED:
        raise InvalidField("procedure.repropose_rejected_only",
                           N_("只有未通过的事项可以重新提议"))


def _check_breach_step(state: MatterState, value: object) -> None:
    try:
        step = Step(str(value))
    except ValueError:
        raise InvalidField("input.invalid", N_("请选择发生违规的步骤")) from None
    last = LAST_STEP_DONE[state]
    if step is Step.SUGGEST or step.number > last.number:
        raise InvalidField("procedure.breach_step",
                           N_("只能退回到已经办理过的第2至第%(last)s步"), last=last.number)


def _as_int(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        # isascii(): "²".isdigit() is true but int("²") fails (a 500 once)
        if digits.isascii() and digits.isdigit() and len(text) < 20:
            return int(text)
    raise InvalidField("input.invalid", N_("%(field)s必须是整数"), field=Msg(FIELD_LABELS[name]))


def _as_date(value: object, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidField("input.invalid", N_("%(field)s格式不正确，应为年-月-日"),
                       field=Msg(FIELD_LABELS[name]))


#: Free-text fields: (maximum length in characters, multi-line allowed).
TEXT_FIELDS: dict[str, tuple[int, bool]] = {
    "title": (100, False),
    "text": (5000, True),
    "summary": (5000, True),
    "category_reason": (2000, True),
    "minutes": (20000, True),
    "plan": (10000, True),
    "reason": (2000, True),
    "filing_no": (60, False),
    "report": (5000, True),
    "implementer": (200, False),
    "arrangement": (5000, True),
    "breach_step": (20, False),
    "verdict": (20, False),
    "origin_state": (20, False),
}
INT_FIELDS = frozenset({"category", "amount_fen", "expected", "present"})
DATE_FIELDS = frozenset({"meeting_date", "planned_end"})
#: 100 billion yuan: far above any village matter, well inside JSON's exact integers.
MAX_AMOUNT_FEN = 10**13


FIELD_LABELS: dict[str, str] = {
    "title": N_("事项名称"),
    "text": N_("建议内容"),
    "category": N_("事项类别"),
    "category_reason": N_("属于必须票决事项的理由"),
    "summary": N_("方案摘要"),
    "amount_fen": N_("涉及金额"),
    "meeting_date": N_("会议日期"),
    "expected": N_("应到人数"),
    "present": N_("实到人数"),
    "minutes": N_("会议纪要"),
    "plan": N_("商定方案"),
    "reason": N_("理由"),
    "filing_no": N_("备案号"),
    "breach_step": N_("违规步骤"),
    "verdict": N_("票决结果"),
    "report": N_("验收意见"),
    "implementer": N_("实施单位或负责人"),
    "planned_end": N_("计划完成日期"),
    "arrangement": N_("实施安排"),
    "origin_state": N_("原事项状态"),
}
