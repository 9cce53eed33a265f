"""Offline checks of matters and what feeds them: settings, suggestions and each
matter.step by the procedure engine (the twin of services/matters.py, services/settings.py
and services/suggestions.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

from sunvote.domain.errors import DomainError, SettingOutOfBounds
from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.ledger.verifier.reading import (
    _MATTER_NUMBER,
    ParsedRecord,
    _enum,
    _json_safe,
    _same_json,
)
from sunvote.domain.ledger.verifier.report import _names, _refusal, _rule_text
from sunvote.domain.ledger.verifier.state import VerifierState, _Matter
from sunvote.domain.procedure import (
    TRANSITIONS_BY_ACTION,
    Action,
    MatterState,
    ProcedureSettings,
    Step,
    transition,
)
from sunvote.domain.roles import Role
from sunvote.domain.settings import SETTINGS_BY_KEY, decode_setting, encode_setting
from sunvote.domain.suggestions import DECLINERS, SuggestionStatus, open_refusal, status_of

#: Channels of ``suggestion.add`` (docs/ledger-format.md).
CHANNELS = frozenset({"qr", "paper", "box", "township"})

#: Actions whose fields carry a matter's category (the latest one decides the pass rule).
PROPOSING_ACTIONS = frozenset({Action.PROPOSE, Action.PROPOSE_AND_DISCUSS, Action.REPROPOSE})

#: Actions whose fields carry a matter's amount (``amount_fen``; a discuss may revise it).
AMOUNT_ACTIONS = PROPOSING_ACTIONS | {Action.DISCUSS}

#: What a fraction setting's text may look like before it reaches Fraction() (which would
#: expand an exponent such as ``1e-999999999`` without bound); anything else is invalid.
_SETTING_FRACTION = re.compile(r"[+-]?[0-9]{1,40}(/[0-9]{1,40}|\.[0-9]{0,40})?")


def _decode_setting_text(key: str, text: str) -> tuple[bool, object, str | None]:
    """A setting's text form in a record, decoded: ``(decoded, value, problem)``. ``problem``
    says what is wrong, or is None: the key is unknown, or the text does not decode or is out
    of bounds (then ``decoded`` is False), or it decodes but is not its value's text form
    (``decoded`` True: ``value`` is what it decodes to)."""
    spec = SETTINGS_BY_KEY.get(key)
    if spec is None:
        return False, None, f"unknown setting {key[:60]!r}"
    if spec.kind == "fraction" and not _SETTING_FRACTION.fullmatch(text):
        return False, None, (f"setting {key} value {text[:40]!r} is invalid or outside its "
                             "bounds [input.invalid]")
    try:
        value = decode_setting(key, text)
    except SettingOutOfBounds as exc:
        return False, None, (f"setting {key} value {text[:40]!r} is invalid or outside its "
                             f"bounds [{exc.rule}]")
    if encode_setting(value) != text:
        return True, value, (f"setting {key} value {text[:40]!r} is not in its text form "
                             f"({encode_setting(value)!r})")
    return True, value, None


class MatterChecks(VerifierState):
    """Record types of matters: settings in force (``setting.change``, ``setting.snapshot``
    as record 1 only), suggestions (added, declined, merged by ``suggest``) and every
    ``matter.step`` judged by the procedure engine (domain.procedure.transition)."""

    def _setting_change(self, index: int, record: ParsedRecord) -> None:
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._same_township(index, record)
        if day is not None and Role.TOWNSHIP_ADMIN not in self._roles_on(body["person"], day):
            self._fail(index, t, "semantics",
                       f"person {body['person']} is not a township admin on {day} (China time)")
        key = body["key"]
        decoded, value, problem = _decode_setting_text(key, body["value"])
        if problem is not None:
            self._fail(index, t, "semantics", problem)
        if decoded:  # a value not in its text form is reported but still takes effect
            self._settings[key] = value

    def _setting_snapshot(self, index: int, record: ParsedRecord) -> None:
        """The township settings in force when the log began, those that differ from the
        built-in defaults (written by the system with the village, so no actor): only as
        record 1, directly after log.init, at most once; for this log's township; every key a
        setting, every value a string in its setting's text form. Valid values become the
        settings in force (as by setting.change), invalid ones are skipped; a misplaced
        snapshot changes nothing."""
        body = record.body
        t = record.type
        self._at(index, record)
        placed = index == 1  # so at most one: the first snapshot elsewhere is reported
        if not placed:
            where = (f"a second one (record {self._snapshot} was the first)"
                     if self._snapshot is not None else f"this is record {index}")
            self._fail(index, t, "semantics",
                       "setting.snapshot only directly after log.init (as record 1, at most "
                       f"once); {where}: it changes no setting")
        if self._snapshot is None:
            self._snapshot = index
        self._same_township(index, record)
        values: dict[str, object] = {}
        for key, text in sorted(body["values"].items()):
            if not isinstance(text, str):
                self._fail(index, t, "format",
                           f"setting.snapshot value of {key[:60]!r} is not a string (the "
                           "settings' text form)")
                continue
            decoded, value, problem = _decode_setting_text(key, text)
            if problem is not None:
                self._fail(index, t, "semantics", f"setting.snapshot: {problem}")
            elif decoded:
                values[key] = value
        if placed:
            self._settings.update(values)

    def _same_township(self, index: int, record: ParsedRecord) -> None:
        """A setting record (change or snapshot) is for the township of log.init."""
        township = record.body["township"]
        if self._township is not None and township != self._township:
            self._fail(index, record.type, "semantics",
                       f"{record.type} is for township {township[:60]!r}, not this log's "
                       f"{self._township!r}")

    def _suggestion_add(self, index: int, record: ParsedRecord) -> None:
        body = record.body
        t = record.type
        self._at(index, record)
        sid = body["id"]
        if body["channel"] not in CHANNELS:
            self._fail(index, t, "format", f"unknown channel {str(body['channel'])[:20]!r}")
        if sid < 1:
            self._fail(index, t, "format", f"suggestion id {sid} is not positive")
        if body["recorded_by"] is not None and body["recorded_by"] < 1:
            self._fail(index, t, "format", "recorded_by is not a positive person id")
        if not body["text"].strip():
            self._fail(index, t, "semantics", "suggestion text is empty")
        if sid in self._suggestions:
            self._fail(index, t, "semantics", f"suggestion {sid} was already added")
            return
        self._suggestions[sid] = False

    def _suggestion_decline(self, index: int, record: ParsedRecord) -> None:
        """A suggestion not taken up: added before, neither merged nor declined yet
        (``suggestion.answered``), by a role of DECLINERS held that day, with a reason."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, DECLINERS, "decline a suggestion")
        if not str(body["reason"]).strip():
            self._fail(index, t, "semantics", "the reason for not taking it up is empty")
        sid = body["id"]
        if sid not in self._suggestions:
            self._fail(index, t, "semantics",
                       f"suggestion {sid} was never added (no earlier suggestion.add)")
            return
        refusal = open_refusal(status_of(self._suggestions[sid], sid in self._declined))
        if refusal is not None:
            self._fail(index, t, "semantics", f"suggestion {sid}: {_rule_text(refusal)}")
            return
        self._declined.add(sid)

    def _matter_step(self, index: int, record: ParsedRecord) -> None:
        body = record.body
        t = record.type
        day = self._at(index, record)
        number = body["matter"]
        action = _enum(Action, body["action"])
        claimed_from = _enum(MatterState, body["from"])
        claimed_to = _enum(MatterState, body["to"])
        claimed_role = _enum(Role, body["role"])
        syntax_ok = day is not None
        for name, value, parsed in (("action", body["action"], action),
                                    ("from", body["from"], claimed_from),
                                    ("to", body["to"], claimed_to),
                                    ("role", body["role"], claimed_role)):
            if parsed is None:
                self._fail(index, t, "format", f"unknown {name} {str(value)[:40]!r}")
                syntax_ok = False
        if _enum(Step, body["step"]) is None:
            self._fail(index, t, "format", f"unknown step {str(body['step'])[:40]!r}")
            syntax_ok = False
        if not _MATTER_NUMBER.fullmatch(number):
            self._fail(index, t, "format", f"matter number {number[:40]!r} is not YYYY-NNN")
            syntax_ok = False
        if not self._attachments_ok(index, t, body["attachments"]):
            syntax_ok = False
        suggestion_ids = body["suggestions"]
        if not all(type(s) is int for s in suggestion_ids):
            self._fail(index, t, "format", "suggestions must be a list of integer ids")
            syntax_ok = False
            suggestion_ids = []
        if body["person"] < 1:
            self._fail(index, t, "format", f"person {body['person']} is not a positive id")
            syntax_ok = False

        matter = self._matters.get(number)
        state = matter.state if matter is not None else MatterState.NEW
        done = matter.steps if matter is not None else 0
        if body["step_seq"] != done + 1:
            self._fail(index, t, "semantics",
                       f"step_seq is {body['step_seq']}, but matter {number} has {done} "
                       f"earlier step(s): expected {done + 1}")
        if claimed_from is not None and claimed_from is not state:
            self._fail(index, t, "semantics",
                       f"from is {claimed_from.value}, but matter {number} is {state.value}")

        verdict: MatterState | None = None
        if syntax_ok and action is not None and day is not None and claimed_role is not None:
            if action is Action.RECORD_VOTE:
                verdict = self._record_vote(index, record, number, state, day, claimed_role)
            else:
                verdict = self._engine(index, record, number, state, action, day, claimed_role)
            self._links(index, record, action, suggestion_ids)
            self._supervise_step(index, record, number, state, action)
        # Follow the engine's verdict when it has one, else the record's claim, so one bad
        # record yields its own failures and not a cascade.
        new_state = verdict or claimed_to or state
        steps = body["step_seq"] if body["step_seq"] > done else done + 1
        category = matter.category if matter is not None else None
        amount = matter.amount_fen if matter is not None else None
        proposed = body["fields"].get("category")
        if action in PROPOSING_ACTIONS and type(proposed) is int:
            category = proposed
        planned = body["fields"].get("amount_fen")
        if action in AMOUNT_ACTIONS and type(planned) is int:
            amount = planned
        self._matters[number] = _Matter(new_state, steps, category, amount)
        for sid in suggestion_ids:
            if sid in self._suggestions:
                self._suggestions[sid] = True

    def _record_vote(self, index: int, record: ParsedRecord, number: str, state: MatterState,
                     day: dt.date, claimed_role: Role) -> MatterState | None:
        """A record_vote in its place (right after its poll.tally): by the person who closed
        the poll, in the role assembly (granted here only), with the tally's verdict; then the
        engine as for any step. Anywhere else it was reported by :meth:`_sequence`."""
        closing = self._fit
        if closing is None:
            return None
        body = record.body
        t = record.type
        if body["person"] != closing.closer:
            self._fail(index, t, "semantics",
                       f"record_vote is by person {body['person']}, but meeting "
                       f"{closing.meeting} poll {closing.poll.number} was closed by person "
                       f"{closing.closer}")
        verdict = body["fields"].get("verdict")
        if closing.verdict is not None and verdict != closing.verdict:
            self._fail(index, t, "semantics",
                       f"record_vote's verdict is {str(verdict)[:20]!r}, but the poll.tally "
                       f"before it says {closing.verdict}")
        return self._engine(index, record, number, state, Action.RECORD_VOTE, day, claimed_role,
                            extra=frozenset({Role.ASSEMBLY}))

    def _engine(self, index: int, record: ParsedRecord, number: str, state: MatterState,
                action: Action, day: dt.date, claimed_role: Role,
                extra: frozenset[Role] = frozenset()) -> MatterState | None:
        """Run the procedure engine on the step; report every disagreement. ``extra``: roles
        the actor acts in without holding them (assembly, for record_vote after its tally)."""
        body = record.body
        t = record.type
        person = body["person"]
        roles = self._roles_on(person, day) | extra
        if claimed_role not in roles:
            self._fail(index, t, "semantics",
                       f"person {person} does not hold the role {claimed_role.value} on {day} "
                       f"(China time); holds: {_names(roles)}")
        elif claimed_role not in TRANSITIONS_BY_ACTION[action].roles:
            self._fail(index, t, "semantics",
                       f"role {claimed_role.value} may not take {action.value}")
        settings = ProcedureSettings(
            merge_propose_discuss=bool(self._settings["merge_propose_discuss"]))
        try:
            decision = transition(state, action, roles, body["fields"], settings)
        except DomainError as exc:
            self._fail(index, t, "semantics",
                       _refusal(exc, number, state, action, person, day, roles))
            return None
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:  # hostile input
            self._fail(index, t, "semantics",
                       f"the procedure engine cannot evaluate this step ({exc!r:.200})")
            return None
        if body["step"] != decision.step.value:
            self._fail(index, t, "semantics",
                       f"step is {body['step']}, but {action.value} is step "
                       f"{decision.step.value}")
        if body["to"] != decision.to_state.value:
            self._fail(index, t, "semantics",
                       f"to is {body['to']}, but the procedure moves matter {number} from "
                       f"{state.value} to {decision.to_state.value}")
        expected = {k: _json_safe(v) for k, v in decision.fields.items()}
        if not _same_json(expected, body["fields"]):
            self._fail(index, t, "semantics",
                       "fields are not exactly the step's cleaned fields (expected "
                       f"{canonical_json(expected).decode('utf-8')[:200]})")
        return decision.to_state

    def _links(self, index: int, record: ParsedRecord, action: Action,
               suggestion_ids: Sequence[int]) -> None:
        """Merged suggestions (for suggest) and the rejected origin (for repropose)."""
        t = record.type
        if action is Action.SUGGEST:
            seen: set[int] = set()
            for sid in suggestion_ids:
                if sid in seen:
                    self._fail(index, t, "semantics", f"suggestion {sid} is listed twice")
                elif sid not in self._suggestions:
                    self._fail(index, t, "semantics",
                               f"suggestion {sid} was never added (no earlier suggestion.add)")
                elif self._suggestions[sid]:
                    self._fail(index, t, "semantics",
                               f"suggestion {sid} was already merged into another matter")
                elif sid in self._declined:
                    refusal = open_refusal(SuggestionStatus.DECLINED)
                    assert refusal is not None
                    self._fail(index, t, "semantics",
                               f"suggestion {sid}: {_rule_text(refusal)}")
                seen.add(sid)
        elif suggestion_ids:
            self._fail(index, t, "semantics",
                       f"only suggest merges suggestions, not {action.value}")
        origin = record.body["origin"]
        if action is Action.REPROPOSE:
            origin_matter = None if origin is None else self._matters.get(origin)
            if origin_matter is None:
                self._fail(index, t, "semantics",
                           f"repropose names origin {origin!r}, which is not a matter of this log")
            elif origin_matter.state is not MatterState.REJECTED:
                self._fail(index, t, "semantics",
                           f"origin matter {origin} is {origin_matter.state.value}, not rejected")
        elif origin is not None:
            self._fail(index, t, "semantics", f"origin must be null for {action.value}")


#: The record types checked here, and their handlers.
MATTERS_HANDLERS: dict[str, Callable[[MatterChecks, int, ParsedRecord], None]] = {
    "setting.change": MatterChecks._setting_change,
    "setting.snapshot": MatterChecks._setting_snapshot,
    "suggestion.add": MatterChecks._suggestion_add,
    "suggestion.decline": MatterChecks._suggestion_decline,
    "matter.step": MatterChecks._matter_step,
}
