"""The procedure engine: every (state, action, role) combination, field rules, and a random walk."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sunvote.domain.errors import (
    InvalidField,
    MatterClosed,
    MissingField,
    RoleNotAllowed,
    SettingDisabled,
    StepOutOfOrder,
)
from sunvote.domain.procedure import (
    Action,
    MatterState,
    ProcedureSettings,
    Step,
    allowed_actions,
    transition,
)
from sunvote.domain.roles import Role

S, A, R = MatterState, Action, Role

# Written out by hand from docs/procedure.md (not derived from the engine's table), so the test
# checks the table rather than repeating it. (state, action) → roles that may take it.
EXPECTED: dict[tuple[MatterState, Action], set[Role]] = {
    (S.NEW, A.SUGGEST): {R.CLERK, R.PARTY_SECRETARY, R.COMMITTEE_DIRECTOR, R.TOWNSHIP_REVIEWER},
    (S.NEW, A.REPROPOSE): {R.PARTY_SECRETARY},
    (S.SUGGESTED, A.PROPOSE): {R.PARTY_SECRETARY},
    (S.SUGGESTED, A.PROPOSE_AND_DISCUSS): {R.PARTY_SECRETARY},  # + director role + setting
    (S.SUGGESTED, A.WITHDRAW): {R.PARTY_SECRETARY},
    (S.PROPOSED, A.DISCUSS): {R.CLERK, R.COMMITTEE_DIRECTOR},
    (S.PROPOSED, A.DROP): {R.CLERK, R.COMMITTEE_DIRECTOR},
    (S.PROPOSED, A.WITHDRAW): {R.PARTY_SECRETARY},
    (S.PROPOSED, A.FLAG_BREACH): {R.SUPERVISOR, R.SUPERVISOR_CHAIR},
    (S.RETURNED, A.DISCUSS): {R.CLERK, R.COMMITTEE_DIRECTOR},
    (S.RETURNED, A.DROP): {R.CLERK, R.COMMITTEE_DIRECTOR},
    (S.RETURNED, A.WITHDRAW): {R.PARTY_SECRETARY},
    (S.RETURNED, A.FLAG_BREACH): {R.SUPERVISOR, R.SUPERVISOR_CHAIR},
    (S.DISCUSSED, A.FILE): {R.TOWNSHIP_REVIEWER},
    (S.DISCUSSED, A.RETURN): {R.TOWNSHIP_REVIEWER},
    (S.DISCUSSED, A.WITHDRAW): {R.PARTY_SECRETARY},
    (S.DISCUSSED, A.FLAG_BREACH): {R.SUPERVISOR, R.SUPERVISOR_CHAIR},
    (S.FILED, A.RECORD_VOTE): {R.ASSEMBLY},
    (S.FILED, A.WITHDRAW): {R.PARTY_SECRETARY},
    (S.FILED, A.FLAG_BREACH): {R.SUPERVISOR, R.SUPERVISOR_CHAIR},
    (S.PASSED, A.START_IMPLEMENTATION): {R.CLERK, R.COMMITTEE_DIRECTOR},
    (S.PASSED, A.FLAG_BREACH): {R.SUPERVISOR, R.SUPERVISOR_CHAIR},
    (S.IMPLEMENTING, A.COMPLETE): {R.SUPERVISOR_CHAIR},
    (S.IMPLEMENTING, A.REFUSE_COMPLETION): {R.SUPERVISOR_CHAIR},
    (S.IMPLEMENTING, A.FLAG_BREACH): {R.SUPERVISOR, R.SUPERVISOR_CHAIR},
}
CLOSED = {S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.DROPPED}
EXPECTED_TARGET = {
    A.SUGGEST: S.SUGGESTED, A.REPROPOSE: S.PROPOSED, A.PROPOSE: S.PROPOSED,
    A.PROPOSE_AND_DISCUSS: S.DISCUSSED, A.DISCUSS: S.DISCUSSED, A.DROP: S.DROPPED,
    A.FILE: S.FILED, A.RETURN: S.RETURNED, A.WITHDRAW: S.WITHDRAWN,
    A.START_IMPLEMENTATION: S.IMPLEMENTING, A.COMPLETE: S.COMPLETED,
    A.REFUSE_COMPLETION: S.IMPLEMENTING,
}

MEETING = {"meeting_date": "2026-11-01", "expected": 9, "present": 7, "minutes": "纪要"}
PROPOSAL = {"category": 2, "title": "道路硬化", "summary": "方案", "amount_fen": 100}
GOOD_FIELDS: dict[Action, dict[str, object]] = {
    A.SUGGEST: {"title": "道路", "text": "建议硬化道路"},
    A.REPROPOSE: {**PROPOSAL, "origin_state": "rejected"},
    A.PROPOSE: PROPOSAL,
    A.PROPOSE_AND_DISCUSS: {**PROPOSAL, **MEETING},
    A.DISCUSS: {**MEETING, "plan": "商定方案"},
    A.DROP: {**MEETING, "reason": "不再需要"},
    A.FILE: {"filing_no": "备2026-1"},
    A.RETURN: {"reason": "预算不清"},
    A.WITHDRAW: {"reason": "情况变化"},
    A.FLAG_BREACH: {"breach_step": "propose", "reason": "未按规定提议"},
    A.RECORD_VOTE: {"verdict": "passed"},
    A.START_IMPLEMENTATION: {},
    A.COMPLETE: {"report": "验收合格"},
    A.REFUSE_COMPLETION: {"reason": "排水沟未按方案修建"},
}
ON = ProcedureSettings(merge_propose_discuss=True)
OFF = ProcedureSettings()
ALL_ROLES = list(Role)


@pytest.mark.parametrize(("state", "action", "role"),
                         list(itertools.product(list(MatterState), list(Action), ALL_ROLES)))
def test_each_state_action_role_is_allowed_exactly_as_the_procedure_says(
        state: MatterState, action: Action, role: Role) -> None:
    roles = frozenset({role})
    # The merged step also needs the director role; give it so only the table decides.
    if action is A.PROPOSE_AND_DISCUSS:
        roles |= {R.COMMITTEE_DIRECTOR}
    allowed_roles = EXPECTED.get((state, action))
    fields = GOOD_FIELDS[action]
    if state in CLOSED:
        with pytest.raises(MatterClosed) as info:
            transition(state, action, roles, fields, ON)
        assert info.value.rule == "procedure.closed"
    elif allowed_roles is None:
        with pytest.raises(StepOutOfOrder) as info:
            transition(state, action, roles, fields, ON)
        assert info.value.rule == "procedure.step_order"
    elif not roles & allowed_roles:
        with pytest.raises(RoleNotAllowed) as info:
            transition(state, action, roles, fields, ON)
        assert info.value.rule == "procedure.role"
    else:
        decision = transition(state, action, roles, fields, ON)
        assert decision.from_state is state
        assert decision.role in allowed_roles
        if action in EXPECTED_TARGET:
            assert decision.to_state is EXPECTED_TARGET[action]
        assert action in allowed_actions(state, roles, ON)


def test_no_action_is_listed_as_allowed_that_the_procedure_forbids() -> None:
    for state, role in itertools.product(list(MatterState), ALL_ROLES):
        for action in allowed_actions(state, frozenset({role}), ON):
            assert role in EXPECTED[(state, action)]


def test_merged_proposal_needs_the_township_setting() -> None:
    roles = frozenset({R.PARTY_SECRETARY, R.COMMITTEE_DIRECTOR})
    with pytest.raises(SettingDisabled) as info:
        transition(S.SUGGESTED, A.PROPOSE_AND_DISCUSS, roles, GOOD_FIELDS[A.PROPOSE_AND_DISCUSS],
                   OFF)
    assert info.value.rule == "procedure.merge_propose_discuss"
    assert A.PROPOSE_AND_DISCUSS not in allowed_actions(S.SUGGESTED, roles, OFF)


def test_merged_proposal_needs_a_secretary_who_is_also_director() -> None:
    with pytest.raises(RoleNotAllowed) as info:
        transition(S.SUGGESTED, A.PROPOSE_AND_DISCUSS, frozenset({R.PARTY_SECRETARY}),
                   GOOD_FIELDS[A.PROPOSE_AND_DISCUSS], ON)
    assert info.value.rule == "procedure.merge_propose_discuss"


@pytest.mark.parametrize("action", [a for a in Action if a not in (A.START_IMPLEMENTATION,)])
def test_each_required_field_missing_is_refused_by_name(action: Action) -> None:
    state, roles = _any_allowed(action)
    for name in [k for k in GOOD_FIELDS[action] if k != "origin_state"]:
        fields = {k: v for k, v in GOOD_FIELDS[action].items() if k != name}
        if name == "category_reason":
            continue
        with pytest.raises(MissingField) as info:
            transition(state, action, roles, fields, ON)
        assert info.value.rule == "procedure.required_fields"


def _any_allowed(action: Action) -> tuple[MatterState, frozenset[Role]]:
    for (state, a), roles in EXPECTED.items():
        if a is action:
            return state, frozenset(roles) | {R.COMMITTEE_DIRECTOR}
    raise AssertionError(action)


def test_category_ten_needs_a_written_reason() -> None:
    roles = frozenset({R.PARTY_SECRETARY})
    with pytest.raises(MissingField) as info:
        transition(S.SUGGESTED, A.PROPOSE, roles, {**PROPOSAL, "category": 10}, OFF)
    assert info.value.rule == "procedure.category_10_reason"
    decision = transition(S.SUGGESTED, A.PROPOSE, roles,
                          {**PROPOSAL, "category": "10", "category_reason": "涉及全体村民"}, OFF)
    assert decision.fields["category"] == 10


@pytest.mark.parametrize("bad", [0, 11, -1, "abc", "1.5", True, 2.0, None])
def test_categories_outside_one_to_ten_are_refused(bad: object) -> None:
    with pytest.raises((InvalidField, MissingField)):
        transition(S.SUGGESTED, A.PROPOSE, frozenset({R.PARTY_SECRETARY}),
                   {**PROPOSAL, "category": bad}, OFF)


@pytest.mark.parametrize(("expected", "present"), [(0, 0), (5, 6), (5, 0), (1001, 5), ("x", 1)])
def test_meeting_attendance_must_make_sense(expected: object, present: object) -> None:
    with pytest.raises(InvalidField):
        transition(S.PROPOSED, A.DISCUSS, frozenset({R.CLERK}),
                   {**GOOD_FIELDS[A.DISCUSS], "expected": expected, "present": present}, OFF)


@pytest.mark.parametrize("date", ["2026-13-01", "yesterday", "2026/11/01", 20261101])
def test_meeting_date_must_be_a_date(date: object) -> None:
    with pytest.raises(InvalidField):
        transition(S.PROPOSED, A.DISCUSS, frozenset({R.CLERK}),
                   {**GOOD_FIELDS[A.DISCUSS], "meeting_date": date}, OFF)


def test_negative_or_absurd_amounts_are_refused() -> None:
    for amount in (-1, 10**14, "12.5"):
        with pytest.raises(InvalidField):
            transition(S.SUGGESTED, A.PROPOSE, frozenset({R.PARTY_SECRETARY}),
                       {**PROPOSAL, "amount_fen": amount}, OFF)


def test_text_with_control_characters_or_too_long_is_refused() -> None:
    roles = frozenset({R.TOWNSHIP_REVIEWER})
    for bad in ("备\x00案", "备\x1b[31m", "x" * 61):
        with pytest.raises(InvalidField) as info:
            transition(S.DISCUSSED, A.FILE, roles, {"filing_no": bad}, OFF)
        assert info.value.rule == "input.invalid"
    with pytest.raises(InvalidField):
        transition(S.DISCUSSED, A.FILE, roles, {"filing_no": ["not", "text"]}, OFF)


def test_text_is_normalised_and_trimmed() -> None:
    decision = transition(S.DISCUSSED, A.RETURN, frozenset({R.TOWNSHIP_REVIEWER}),
                          {"reason": "  预算\r\n不清\t。 "}, OFF)
    assert decision.fields["reason"] == "预算\n不清\t。"


@pytest.mark.parametrize(("state", "step", "ok"), [
    (S.PROPOSED, "propose", True), (S.PROPOSED, "discuss", False),
    (S.DISCUSSED, "discuss", True), (S.DISCUSSED, "review", False),
    (S.FILED, "review", True), (S.FILED, "vote", False),
    (S.PASSED, "vote", True), (S.IMPLEMENTING, "supervise", True),
    (S.FILED, "suggest", False), (S.FILED, "nonsense", False),
])
def test_a_breach_can_only_send_a_matter_back_to_a_step_it_has_passed(
        state: MatterState, step: str, ok: bool) -> None:
    roles = frozenset({R.SUPERVISOR})
    fields = {"breach_step": step, "reason": "程序不合规"}
    if ok:
        decision = transition(state, A.FLAG_BREACH, roles, fields, OFF)
        assert decision.to_state.awaiting is Step(step)
    else:
        with pytest.raises(InvalidField):
            transition(state, A.FLAG_BREACH, roles, fields, OFF)


def test_vote_verdict_decides_passed_or_rejected() -> None:
    roles = frozenset({R.ASSEMBLY})
    assert transition(S.FILED, A.RECORD_VOTE, roles, {"verdict": "passed"}, OFF).to_state \
        is S.PASSED
    assert transition(S.FILED, A.RECORD_VOTE, roles, {"verdict": "rejected"}, OFF).to_state \
        is S.REJECTED
    with pytest.raises(InvalidField):
        transition(S.FILED, A.RECORD_VOTE, roles, {"verdict": "maybe"}, OFF)


def test_only_rejected_matters_can_be_reproposed() -> None:
    with pytest.raises(InvalidField) as info:
        transition(S.NEW, A.REPROPOSE, frozenset({R.PARTY_SECRETARY}),
                   {**PROPOSAL, "origin_state": "withdrawn"}, OFF)
    assert info.value.rule == "procedure.repropose_rejected_only"


def test_refusal_messages_translate_their_parameters() -> None:
    with pytest.raises(StepOutOfOrder) as info:
        transition(S.SUGGESTED, A.FILE, frozenset({R.TOWNSHIP_REVIEWER}), {}, OFF)
    seen: list[str] = []

    def fake_gettext(msgid: str) -> str:
        seen.append(msgid)
        return msgid

    text = info.value.render(fake_gettext)
    assert "待提议" in text and "村党支部提议" in text and "审议通过，予以备案" in text
    assert "待提议" in seen  # parameters went through gettext too


# --- a random walk through the procedure ---------------------------------------------------

ROLE_SETS = st.sampled_from([frozenset({r}) for r in Role]
                            + [frozenset({R.PARTY_SECRETARY, R.COMMITTEE_DIRECTOR})])


class MatterMachine(RuleBasedStateMachine):
    """Random actions by random roles on one matter; the engine must keep the procedure."""

    def __init__(self) -> None:
        super().__init__()
        self.state = S.NEW
        self.history: list[tuple[Action, MatterState, MatterState]] = []
        self.settings = ON

    @rule(action=st.sampled_from(list(Action)), roles=ROLE_SETS, breach=st.sampled_from(
        ["propose", "discuss", "review", "vote", "supervise"]), verdict=st.sampled_from(
        ["passed", "rejected"]))
    def act(self, action: Action, roles: frozenset[Role], breach: str, verdict: str) -> None:
        if action is A.REPROPOSE:
            return  # creates another matter; covered above
        fields = {**GOOD_FIELDS[action], "breach_step": breach, "verdict": verdict}
        before = self.state
        try:
            decision = transition(self.state, action, roles, fields, self.settings)
        except (MatterClosed, StepOutOfOrder, RoleNotAllowed, InvalidField, SettingDisabled):
            assert self.state is before
            return
        assert decision.from_state is before
        self.state = decision.to_state
        self.history.append((action, before, decision.to_state))

    @precondition(lambda self: not self.history)
    @rule()
    def start_from_a_suggestion(self) -> None:
        decision = transition(S.NEW, A.SUGGEST, frozenset({R.CLERK}), GOOD_FIELDS[A.SUGGEST], ON)
        self.state = decision.to_state
        self.history.append((A.SUGGEST, S.NEW, decision.to_state))

    @invariant()
    def history_chains_and_replays_to_the_state(self) -> None:
        state = S.NEW
        for _, before, after in self.history:
            assert before is state
            state = after
        assert state is self.state

    @invariant()
    def no_vote_without_a_filed_review_since_the_last_return_or_breach(self) -> None:
        filed = False
        for action, _, after in self.history:
            if action is A.FILE:
                filed = True
            if action in (A.RETURN, A.FLAG_BREACH) and after not in (S.FILED, S.PASSED):
                filed = False
            if action is A.RECORD_VOTE:
                assert filed

    @invariant()
    def closed_matters_stay_closed(self) -> None:
        for i, (_, before, _) in enumerate(self.history):
            assert before not in CLOSED, f"acted on a closed matter at {i}"

    @invariant()
    def steps_are_never_skipped(self) -> None:
        order = {S.NEW: 0, S.SUGGESTED: 1, S.PROPOSED: 2, S.RETURNED: 3, S.DISCUSSED: 3,
                 S.FILED: 4, S.PASSED: 5, S.IMPLEMENTING: 6, S.COMPLETED: 6}
        for action, before, after in self.history:
            if after in order and before in order and action is not A.PROPOSE_AND_DISCUSS:
                assert order[after] <= order[before] + 1, (action, before, after)


MatterMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40,
                                           deadline=None)
test_random_walks_keep_the_procedure = MatterMachine.TestCase


def test_states_have_labels_and_closed_flags() -> None:
    for state in MatterState:
        assert state.label
        assert state.closed == (state in CLOSED)
    assert [s.number for s in Step] == [1, 2, 3, 4, 5, 6]
