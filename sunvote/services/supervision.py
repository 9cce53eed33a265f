"""Step 6 use cases: publish a vote's result (inside the tally's transaction), villagers'
objections and the supervisory committee's replies, implementation updates and their
confirmation, the checks before implementation starts and before sign-off, and ratings.

Each public function is one use case with its ledger record inside it (docs/supervision.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from sunvote.domain import supervision as rules
from sunvote.domain.errors import (
    N_,
    Conflict,
    InvalidField,
    NotFound,
    NotPermitted,
    RateLimited,
)
from sunvote.domain.procedure import Action, MatterState
from sunvote.domain.roles import Role
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import (
    Household,
    ImplementationUpdate,
    Matter,
    Meeting,
    Objection,
    PaperBatch,
    Person,
    Poll,
    Rating,
    Village,
)
from sunvote.models.base import utcnow
from sunvote.services import accounts, ledger, matters, notice_events
from sunvote.services.access import roles_in_village
from sunvote.services.files import Upload, store_upload
from sunvote.services.settings import township_settings
from sunvote.services.suggestions import source_key
from sunvote.services.unit_of_work import lock_village, use_case


def _matter(matter_id: int) -> tuple[Matter, Village]:
    matter = db.session.get(Matter, matter_id)
    if matter is None:
        raise NotFound("input.invalid", N_("没有这个事项"))
    village = lock_village(matter.village_id)
    db.session.refresh(matter)
    return matter, village


def _actor(actor_id: int, village: Village, allowed: frozenset[Role], rule: str, msgid: str,
           now: dt.datetime) -> tuple[Person, Role]:
    roles = roles_in_village(actor_id, village, now) & allowed
    if not roles:
        raise NotPermitted(rule, msgid)
    person = db.session.get(Person, actor_id)
    assert person is not None
    for preferred in (Role.SUPERVISOR_CHAIR, Role.SUPERVISOR, Role.COMMITTEE_DIRECTOR,
                      Role.COMMITTEE_MEMBER, Role.CLERK):
        if preferred in roles:
            return person, preferred
    raise AssertionError(roles)  # pragma: no cover


def _household(village: Village, number: object, name: object) -> Household:
    """A villager names their household number and a member of it, as the register has them."""
    text_number = clean_text(number, N_("户号"), max_length=30) or ""
    text_name = clean_text(name, N_("姓名"), max_length=60) or ""
    household = db.session.execute(select(Household).where(
        Household.village_id == village.id, Household.number == text_number)
    ).scalar_one_or_none()
    if household is not None and (household.head_name == text_name or db.session.execute(
            select(Person.id).where(Person.household_id == household.id,
                                    Person.name == text_name)).first() is not None):
        return household
    raise InvalidField("notice.objector", N_("户号和姓名与本村登记的不符，请核对后再填"))


# --- Publishing a result (inside close_poll's transaction) --------------------------------------


def publish_result(matter: Matter, village: Village, meeting: int, poll: int, verdict: str,
                   now: dt.datetime) -> None:
    """The vote's result is published the moment its tally is signed; a passed one opens the
    notice period (the township's public_notice_days)."""
    passed = verdict == "passed"
    days = int(str(township_settings(village.township_id)["public_notice_days"])) if passed else 0
    now = now.replace(microsecond=0)  # the ledger's times are whole seconds; so is the period
    ends = rules.notice_end(now, days) if passed else None
    matter.notice_starts_at, matter.notice_ends_at = now, ends
    ledger.append(village, "notice.publish", {
        "matter": matter.number, "meeting": meeting, "poll": poll, "verdict": verdict,
        "days": days, "ends_at": ledger.iso(ends) if ends is not None else None,
        "at": ledger.iso(now)})


# --- Objections ---------------------------------------------------------------------------------


@use_case
def file_objection(matter_id: int, household_number: object, name: object, text: object,
                   address: str, now: dt.datetime | None = None) -> Objection:
    """A villager objects to a passed result during its notice period (no account: household
    number and a member's name as registered; a few per source address per hour)."""
    now = now or utcnow()
    matter, village = _matter(matter_id)
    if matter.state != MatterState.PASSED.value:
        raise Conflict("notice.objection_window", N_("只能对公示中的表决结果提出异议"))
    rules.check_objection_window(now, matter.notice_starts_at, matter.notice_ends_at)
    key = source_key(address or "-", current_app.config["SECRET_KEY"])
    recent = db.session.execute(select(func.count()).select_from(Objection).where(
        Objection.source_key == key, Objection.filed_at > now - dt.timedelta(hours=1))
    ).scalar_one()
    if recent >= rules.OBJECTIONS_PER_HOUR:
        raise RateLimited("notice.objector",
                                      N_("提交太频繁：同一来源每小时最多提出%(n)s条异议"),
                                      n=rules.OBJECTIONS_PER_HOUR)
    household = _household(village, household_number, name)
    body = clean_text(text, N_("异议内容"), max_length=2000, multiline=True) or ""
    days = int(str(township_settings(village.township_id)["objection_reply_days"]))
    number = (db.session.execute(select(func.max(Objection.number)).where(
        Objection.matter_id == matter.id)).scalar_one() or 0) + 1
    objection = Objection(matter_id=matter.id, number=number,
                          name=clean_text(name, N_("姓名"), max_length=60) or "",
                          household_id=household.id, text=body, filed_at=now,
                          reply_due_at=rules.reply_due(now, days), source_key=key)
    db.session.add(objection)
    ledger.append(village, "objection.file", {
        "matter": matter.number, "objection": number, "text": body,
        "reply_due": ledger.iso(objection.reply_due_at), "at": ledger.iso(now)})
    db.session.flush()
    notice_events.objection_received(objection, matter, village, now)
    return objection


@use_case
def reply_objection(actor_id: int, objection_id: int, outcome: object, reply: object,
                    now: dt.datetime | None = None) -> Objection:
    """A supervisory committee member answers an objection in writing. Upheld: the vote was
    flawed, so the matter goes back to a new vote (a recorded procedural breach)."""
    now = now or utcnow()
    objection = db.session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("input.invalid", N_("没有这条异议"))
    matter, village = _matter(objection.matter_id)
    db.session.refresh(objection)
    person, role = _actor(actor_id, village, rules.SUPERVISORS, "objection.reply",
                          N_("异议由村务监督委员会成员答复"), now)
    if objection.replied_at is not None:
        raise Conflict("objection.reply", N_("这条异议已经答复过"))
    accounts.check_checker_login(actor_id, vote_runners(matter))
    try:
        chosen = rules.Outcome(str(outcome))
    except ValueError:
        raise InvalidField("objection.reply", N_("请选择异议是否成立")) from None
    text = clean_text(reply, N_("答复内容"), max_length=2000, multiline=True) or ""
    objection.outcome, objection.reply = chosen.value, text
    objection.replied_by_id, objection.replied_at = actor_id, now
    ledger.append(village, "objection.reply", {
        "matter": matter.number, "objection": objection.number, "outcome": chosen.value,
        "reply": text, "person": person.id, "name": person.name, "role": role.value,
        "at": ledger.iso(now)})
    if chosen is rules.Outcome.UPHELD:
        matters.act(matter.id, Action.FLAG_BREACH, actor_id, {
            "breach_step": "vote", "reason": f"异议{objection.number}成立：{text}"[:1000]},
            now=now)
    db.session.flush()
    return objection


# --- Implementation -----------------------------------------------------------------------------


@use_case
def record_update(actor_id: int, matter_id: int, milestone: object, progress: object,
                  spent_yuan: object, note: object, uploads: Sequence[Upload] = (),
                  now: dt.datetime | None = None) -> ImplementationUpdate:
    """The village committee records progress on an implementing matter: a milestone, percent
    done, money spent so far, evidence files (stored; their hashes go into the ledger)."""
    now = now or utcnow()
    matter, village = _matter(matter_id)
    person, role = _actor(actor_id, village, rules.IMPLEMENTERS, "procedure.role",
                          N_("实施进度由村委会成员或村务工作者记录"), now)
    if matter.state != MatterState.IMPLEMENTING.value:
        raise Conflict("procedure.step_order", N_("只有实施中的事项可以记录实施进度"))
    title = clean_text(milestone, N_("节点名称"), max_length=200) or ""
    done = rules.check_progress(progress)
    spent = _fen(spent_yuan)
    remark = clean_text(note, N_("说明"), max_length=2000, required=False, multiline=True) or ""
    evidence = []
    for upload in uploads:
        name, content_type, digest = store_upload(upload)
        evidence.append({"name": name, "sha256": digest, "size": len(upload.data),
                         "type": content_type})
    number = (db.session.execute(select(func.max(ImplementationUpdate.number)).where(
        ImplementationUpdate.matter_id == matter.id)).scalar_one() or 0) + 1
    update = ImplementationUpdate(matter_id=matter.id, number=number, milestone=title,
                                  progress=done, spent_fen=spent, note=remark,
                                  evidence=evidence, recorded_by_id=actor_id, recorded_at=now)
    db.session.add(update)
    ledger.append(village, "implementation.update", {
        "matter": matter.number, "update": number, "milestone": title, "progress": done,
        "spent_fen": spent, "planned_fen": matter.amount_fen, "note": remark,
        "evidence": evidence, "person": person.id, "name": person.name, "role": role.value,
        "at": ledger.iso(now)})
    db.session.flush()
    return update


def _fen(yuan: object) -> int:
    """Money typed in yuan (up to two decimals) as fen; never negative."""
    text = str(yuan or "0").strip().replace(",", "")
    whole, _dot, cents = text.partition(".")
    # isascii(): "²".isdigit() is true, but int("²") fails
    if not text.isascii() or not whole.isdigit() or len(whole) > 12 or (
            cents and (not cents.isdigit() or len(cents) > 2)):
        raise InvalidField("implementation.progress",
                           N_("支出金额须为不小于0的数字（元，最多两位小数）"))
    return int(whole) * 100 + int((cents or "0").ljust(2, "0"))


@use_case
def confirm_update(actor_id: int, update_id: int,
                   now: dt.datetime | None = None) -> ImplementationUpdate:
    """A supervisory committee member, not the one who recorded it, confirms an update."""
    now = now or utcnow()
    update = db.session.get(ImplementationUpdate, update_id)
    if update is None:
        raise NotFound("input.invalid", N_("没有这条实施进度"))
    matter, village = _matter(update.matter_id)
    db.session.refresh(update)
    person, role = _actor(actor_id, village, rules.SUPERVISORS, "implementation.confirm",
                          N_("实施进度由村务监督委员会成员确认"), now)
    if actor_id == update.recorded_by_id:
        raise NotPermitted("implementation.confirm", N_("记录实施进度的人不能自己确认"))
    accounts.check_checker_login(actor_id, {update.recorded_by_id})
    if update.confirmed_at is not None:
        raise Conflict("implementation.confirm", N_("这条实施进度已经确认过"))
    update.confirmed_by_id, update.confirmed_at = actor_id, now
    ledger.append(village, "implementation.confirm", {
        "matter": matter.number, "update": update.number, "person": person.id,
        "name": person.name, "role": role.value, "at": ledger.iso(now)})
    db.session.flush()
    return update


def vote_runners(matter: Matter) -> set[int]:
    """Who opened the polls on ``matter``: the people an objection to its vote checks."""
    return set(db.session.execute(select(Poll.opened_by_id).where(
        Poll.matter_id == matter.id)).scalars())


# --- Satisfaction -------------------------------------------------------------------------------


@use_case
def rate(matter_id: int, household_number: object, name: object, score: object,
         address: str, now: dt.datetime | None = None) -> Rating:
    """A household rates a completed matter, once (a few ratings per source address per
    hour)."""
    now = now or utcnow()
    matter, village = _matter(matter_id)
    if matter.state != MatterState.COMPLETED.value:
        raise Conflict("rating.completed_only", N_("事项验收完成后才能评价"))
    value = rules.check_score(score)
    key = source_key(address or "-", current_app.config["SECRET_KEY"])
    recent = db.session.execute(select(func.count()).select_from(Rating).where(
        Rating.source_key == key, Rating.rated_at > now - dt.timedelta(hours=1))).scalar_one()
    if recent >= rules.RATINGS_PER_HOUR:
        raise RateLimited("rating.household",
                          N_("提交太频繁：同一来源每小时最多评价%(n)s次"),
                          n=rules.RATINGS_PER_HOUR)
    try:
        household = _household(village, household_number, name)
    except InvalidField as error:
        raise InvalidField("rating.household", error.msgid) from None
    if db.session.execute(select(Rating.id).where(
            Rating.matter_id == matter.id, Rating.household_id == household.id)).first():
        raise Conflict("rating.household", N_("本户已经评价过这个事项，每户只能评价一次"))
    rating = Rating(matter_id=matter.id, household_id=household.id, score=value, rated_at=now,
                    source_key=key)
    db.session.add(rating)
    db.session.flush()  # the unique constraint speaks before anything is signed
    ledger.append(village, "rating.add", {"matter": matter.number, "score": value,
                                          "at": ledger.iso(now)})
    return rating


# --- The committee's workspace (read only) ------------------------------------------------------


@dataclass(frozen=True)
class SignOff:
    """An implementing matter and whether it can be signed off now."""

    matter: Matter
    updates: int
    unconfirmed: int
    progress: int | None

    @property
    def ready(self) -> bool:
        """Every update confirmed and the last at 100 % (the sign-off rule, as the procedure's
        complete asks it; who signs is checked on the matter page)."""
        return rules.completion_refusal(self.unconfirmed, self.progress) is None


@dataclass(frozen=True)
class Workspace:
    """What waits for the supervisory committee in one village."""

    paper: list[tuple[PaperBatch, Poll]]
    objections: list[Objection]
    updates: list[ImplementationUpdate]
    signoff: list[SignOff]
    watching: list[Matter]


def workspace(village: Village) -> Workspace:
    """Everything the committee has to do or watch, in a fixed number of queries."""
    paper = [(batch, poll) for batch, poll in db.session.execute(
        select(PaperBatch, Poll).join(Poll, Poll.id == PaperBatch.poll_id)
        .join(Meeting, Meeting.id == Poll.meeting_id)
        .where(Meeting.village_id == village.id, PaperBatch.confirmed_at.is_(None))
        .options(selectinload(Poll.matter), selectinload(Poll.meeting))
        .order_by(PaperBatch.id)).all()]
    objections = list(db.session.execute(
        select(Objection).join(Matter, Matter.id == Objection.matter_id)
        .where(Matter.village_id == village.id, Objection.replied_at.is_(None))
        .options(selectinload(Objection.matter))
        .order_by(Objection.reply_due_at)).scalars())
    updates = list(db.session.execute(
        select(ImplementationUpdate).join(Matter, Matter.id == ImplementationUpdate.matter_id)
        .where(Matter.village_id == village.id, ImplementationUpdate.confirmed_at.is_(None))
        .options(selectinload(ImplementationUpdate.recorded_by),
                 selectinload(ImplementationUpdate.matter))
        .order_by(ImplementationUpdate.id)).scalars())
    implementing = list(db.session.execute(select(Matter).where(
        Matter.village_id == village.id, Matter.state == MatterState.IMPLEMENTING.value)
        .order_by(Matter.number)).scalars())
    rows = db.session.execute(
        select(ImplementationUpdate.matter_id, ImplementationUpdate.number,
               ImplementationUpdate.progress, ImplementationUpdate.confirmed_at)
        .where(ImplementationUpdate.matter_id.in_([m.id for m in implementing]))
        .order_by(ImplementationUpdate.matter_id, ImplementationUpdate.number)).all()
    by_matter: dict[int, list[tuple[int, bool]]] = {}
    for matter_id, _number, progress, confirmed_at in rows:
        by_matter.setdefault(matter_id, []).append((progress, confirmed_at is not None))
    signoff = [SignOff(m, len(by_matter.get(m.id, [])),
                       sum(1 for _p, ok in by_matter.get(m.id, []) if not ok),
                       by_matter[m.id][-1][0] if by_matter.get(m.id) else None)
               for m in implementing]
    closed = [s.value for s in MatterState if s.closed]
    watching = list(db.session.execute(select(Matter).where(
        Matter.village_id == village.id, Matter.state.not_in(closed))
        .order_by(Matter.number)).scalars())
    return Workspace(paper, objections, updates, signoff, watching)


def matter_supervision(matter: Matter) -> tuple[list[Objection], list[ImplementationUpdate]]:
    """A matter's objections and implementation updates, oldest first (for its pages)."""
    objections = list(db.session.execute(select(Objection).where(
        Objection.matter_id == matter.id).options(selectinload(Objection.replied_by))
        .order_by(Objection.number)).scalars())
    updates = list(db.session.execute(select(ImplementationUpdate).where(
        ImplementationUpdate.matter_id == matter.id).options(
        selectinload(ImplementationUpdate.recorded_by),
        selectinload(ImplementationUpdate.confirmed_by))
        .order_by(ImplementationUpdate.number)).scalars())
    return objections, updates
