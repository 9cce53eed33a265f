"""Matter use cases: open a matter from suggestions (step 1), take a step, re-propose."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from sunvote.domain.errors import N_, Conflict, InvalidField, NotFound
from sunvote.domain.procedure import Action, Decision, MatterState, ProcedureSettings, transition
from sunvote.domain.roles import Role
from sunvote.domain.suggestions import open_refusal, status_of
from sunvote.extensions import db
from sunvote.models import Matter, Person, StepRecord, Suggestion, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger, notice_events, supervision_checks
from sunvote.services.access import local_date, require_village_access
from sunvote.services.files import Upload, attach
from sunvote.services.settings import township_settings
from sunvote.services.unit_of_work import lock_village, use_case


def procedure_settings(village: Village) -> ProcedureSettings:
    """The township settings the procedure engine needs for a village."""
    settings = township_settings(village.township_id)
    return ProcedureSettings(merge_propose_discuss=settings.merge_propose_discuss)


@use_case
def open_matter(village_id: int, actor_id: int, fields: Mapping[str, object],
                suggestion_ids: Sequence[int] = (), uploads: Sequence[Upload] = (),
                now: dt.datetime | None = None) -> Matter:
    """Step 1: open a matter from zero or more pending suggestions of the village (merged into
    it), with a title and the suggestion text as recorded by the clerk."""
    now = now or utcnow()
    village = lock_village(village_id)
    roles = require_village_access(actor_id, village, now)
    decision = transition(MatterState.NEW, Action.SUGGEST, roles, fields,
                          procedure_settings(village))
    suggestions = _pending_suggestions(village, suggestion_ids)
    matter = Matter(village=village, number=_next_number(village, now),
                    title=str(decision.fields["title"]), state=decision.to_state.value,
                    created_at=now, updated_at=now)
    db.session.add(matter)
    for suggestion in suggestions:
        suggestion.matter = matter
    extra = {"suggestion_ids": [s.id for s in suggestions]}
    _record(matter, decision, actor_id, now, uploads, extra)
    db.session.flush()
    notice_events.suggestions_taken_up(suggestions, matter, village, now)
    return matter


@use_case
def act(matter_id: int, action: Action, actor_id: int, fields: Mapping[str, object],
        uploads: Sequence[Upload] = (), expected_version: int | None = None,
        now: dt.datetime | None = None) -> Matter:
    """Take ``action`` on a matter as ``actor_id``. The procedure engine decides; the matter's
    new state, its step record and the attached files are written together or not at all.

    ``expected_version`` is the matter version the actor's form was made from: a form made
    before someone else changed the matter (or replayed later) is refused.
    """
    now = now or utcnow()
    matter = _load_for_update(matter_id)
    roles = require_village_access(actor_id, matter.village, now)
    if expected_version is not None and expected_version != matter.version:
        raise Conflict("procedure.concurrent_change",
                       N_("事项已被他人同时修改，请刷新后重试"))
    decision = transition(MatterState(matter.state), action, roles, fields,
                          procedure_settings(matter.village))
    if action is Action.START_IMPLEMENTATION:  # step 6's rules beyond the transition table
        supervision_checks.check_before_start(matter, now)
    elif action is Action.COMPLETE:
        supervision_checks.check_before_completion(matter, actor_id)
    _apply(matter, decision)
    matter.state = decision.to_state.value
    matter.updated_at = now
    record = _record(matter, decision, actor_id, now, uploads, {})
    db.session.flush()
    if decision.to_state is MatterState.DISCUSSED:  # sent to the township's review (step 4)
        notice_events.review_requested(matter, record.seq, matter.village, now)
    return matter


def record_vote(matter: Matter, actor_id: int, verdict: str, now: dt.datetime) -> StepRecord:
    """Step 5's result, inside the assembly's close-poll use case: the assembly (not a person's
    role) decides; ``actor_id`` closed the poll. Passed → supervision; rejected → closed."""
    decision = transition(MatterState(matter.state), Action.RECORD_VOTE,
                          frozenset({Role.ASSEMBLY}), {"verdict": verdict},
                          procedure_settings(matter.village))
    matter.state = decision.to_state.value
    matter.updated_at = now
    record = _record(matter, decision, actor_id, now, (), {})
    db.session.flush()
    return record


@use_case
def repropose(origin_id: int, actor_id: int, fields: Mapping[str, object],
              uploads: Sequence[Upload] = (), now: dt.datetime | None = None) -> Matter:
    """A matter that failed the vote is proposed again as a new matter linked to it, starting
    at step 2 (the proposal)."""
    now = now or utcnow()
    origin = _load_for_update(origin_id)
    roles = require_village_access(actor_id, origin.village, now)
    decision = transition(MatterState.NEW, Action.REPROPOSE, roles,
                          {**fields, "origin_state": origin.state},
                          procedure_settings(origin.village))
    matter = Matter(village=origin.village, number=_next_number(origin.village, now),
                    title=str(decision.fields["title"]), state=decision.to_state.value,
                    origin_matter_id=origin.id, created_at=now, updated_at=now)
    db.session.add(matter)
    _apply(matter, decision)
    _record(matter, decision, actor_id, now, uploads, {"origin_matter": origin.number})
    db.session.flush()
    return matter


def _load_for_update(matter_id: int) -> Matter:
    matter = db.session.get(Matter, matter_id)
    if matter is None:
        raise NotFound("input.invalid", N_("没有这个事项"))
    lock_village(matter.village_id)
    db.session.refresh(matter)  # read it again under the village lock
    return matter


def _pending_suggestions(village: Village, ids: Sequence[int]) -> list[Suggestion]:
    if not ids:
        return []
    found = list(db.session.execute(
        select(Suggestion).where(Suggestion.id.in_(ids), Suggestion.village_id == village.id)
    ).scalars())
    if len(found) != len(set(ids)):
        raise InvalidField("input.invalid", N_("所选建议不属于本村或不存在"))
    for suggestion in found:
        # A suggestion is answered once: by a matter, or declined with a reason.
        refusal = open_refusal(status_of(suggestion.matter_id is not None,
                                         suggestion.declined_at is not None))
        if refusal is not None:
            raise refusal
    return found


def _next_number(village: Village, now: dt.datetime) -> str:
    """Matters are numbered per village and year: 2026-001, 2026-002, … (the caller holds the
    village lock, so two matters cannot get the same number)."""
    year = local_date(now).year
    count = db.session.execute(
        select(func.count()).select_from(Matter).where(
            Matter.village_id == village.id, Matter.number.like(f"{year}-%"))
    ).scalar_one()
    return f"{year}-{count + 1:03d}"


def _apply(matter: Matter, decision: Decision) -> None:
    """Copy what a step fixes onto the matter: the proposal's category, title, plan summary and
    amount; the joint meeting's agreed plan and revised amount; the township's filing number."""
    f = decision.fields
    if decision.action in (Action.PROPOSE, Action.PROPOSE_AND_DISCUSS, Action.REPROPOSE):
        matter.category = int(str(f["category"]))
        matter.category_reason = _opt_str(f.get("category_reason"))
        matter.title = str(f["title"])
        matter.summary = str(f["summary"])
        matter.amount_fen = int(str(f["amount_fen"]))
    if decision.action is Action.DISCUSS:
        matter.summary = str(f["plan"])
        if "amount_fen" in f:
            matter.amount_fen = int(str(f["amount_fen"]))
    if decision.action is Action.FILE:
        matter.filing_no = str(f["filing_no"])


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _record(matter: Matter, decision: Decision, actor_id: int, now: dt.datetime,
            uploads: Sequence[Upload], extra: dict[str, Any]) -> StepRecord:
    data = {k: _json_safe(v) for k, v in decision.fields.items()} | extra
    record = StepRecord(seq=len(matter.steps) + 1, step=decision.step.value,
                        action=decision.action.value, from_state=decision.from_state.value,
                        to_state=decision.to_state.value, actor_id=actor_id,
                        actor_role=decision.role.value, acted_at=now, data=data)
    matter.steps.append(record)
    attachments = attach(record, list(uploads))
    actor = db.session.get(Person, actor_id)
    assert actor is not None
    ledger.append(matter.village, "matter.step", {
        "matter": matter.number, "step_seq": record.seq, "step": record.step,
        "action": record.action, "from": record.from_state, "to": record.to_state,
        "person": actor.id, "name": actor.name, "role": record.actor_role,
        "fields": {k: _json_safe(v) for k, v in decision.fields.items()},
        "attachments": [{"name": a.filename, "sha256": a.sha256, "size": a.size,
                         "type": a.content_type} for a in attachments],
        "suggestions": list(extra.get("suggestion_ids", [])),
        "origin": extra.get("origin_matter"), "at": ledger.iso(now)})
    return record


def _json_safe(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def matter_by_number(village: Village, number: str) -> Matter:
    """The matter ``number`` of ``village``, or NotFound."""
    matter = db.session.execute(
        select(Matter).where(Matter.village_id == village.id, Matter.number == number)
    ).scalar_one_or_none()
    if matter is None:
        raise NotFound("input.invalid", N_("本村没有编号为%(number)s的事项"), number=number[:20])
    return matter
