"""Suggestions (step 1 intake): from the public QR form, or recorded by the clerk from paper;
numbered per village; answered by a matter or declined with a reason; followed by their
suggester with a private code (docs/public-board.md, "Following a suggestion")."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from sunvote.domain import suggestions as rules
from sunvote.domain.errors import N_, InvalidField, NotFound, RateLimited, RoleNotAllowed
from sunvote.domain.roles import Role
from sunvote.domain.text import clean_text, whole_number
from sunvote.extensions import db
from sunvote.models import Matter, Person, Suggestion, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger, notice_events
from sunvote.services.access import require_village_access
from sunvote.services.unit_of_work import lock_village, use_case

CHANNELS = ("qr", "paper", "box", "township")
CLERK_CHANNELS = ("paper", "box", "township")


def source_key(address: str, secret: str) -> str:
    """A keyed hash of the submitter's network address: enough to limit abuse, not to identify."""
    return hashlib.sha256(f"{secret}:{address}".encode()).hexdigest()


def _clean(text: object, name: object, contact: object) -> tuple[str, str | None, str | None]:
    body = clean_text(text, N_("建议内容"), max_length=2000, multiline=True)
    assert body is not None
    who = clean_text(name, N_("姓名"), max_length=30, required=False)
    reach = clean_text(contact, N_("联系方式"), max_length=40, required=False)
    return body, who, reach


@dataclass(frozen=True)
class Submitted:
    """A public suggestion as written, and its private follow code (known only here: the
    table keeps its hash)."""

    suggestion: Suggestion
    code: str


def _next_number(village: Village) -> int:
    """The village's next suggestion number (the caller holds the village lock)."""
    last = db.session.execute(select(func.max(Suggestion.number)).where(
        Suggestion.village_id == village.id)).scalar_one()
    return (last or 0) + 1


@use_case
def submit_public_suggestion(village_id: int, text: object, name: object, contact: object,
                             party_member: bool, show_name: bool, address: str,
                             now: dt.datetime | None = None) -> Submitted:
    """A villager's suggestion from the public form; no account. At most
    SUNVOTE_SUGGESTIONS_PER_HOUR per source address per hour. The answer carries the private
    code with which the suggester follows it; only the code's hash is stored."""
    now = now or utcnow()
    village = lock_village(village_id)
    body, who, reach = _clean(text, name, contact)
    key = source_key(address, current_app.config["SECRET_KEY"])
    recent = db.session.execute(
        select(func.count()).select_from(Suggestion).where(
            Suggestion.source_key == key, Suggestion.created_at > now - dt.timedelta(hours=1))
    ).scalar_one()
    if recent >= current_app.config["SUGGESTIONS_PER_HOUR"]:
        raise RateLimited("suggestion.rate_limit",
                          N_("提交太频繁：同一来源每小时最多提交%(n)s条建议，请稍后再试"),
                          n=current_app.config["SUGGESTIONS_PER_HOUR"])
    code = rules.new_code(secrets.choice)
    suggestion = Suggestion(village_id=village.id, number=_next_number(village), channel="qr",
                            text=body, suggester_name=who, contact=reach,
                            party_member=party_member, show_name=bool(show_name and who),
                            source_key=key, follow_hash=rules.code_hash(code), created_at=now)
    db.session.add(suggestion)
    db.session.flush()
    _record(village, suggestion, now)
    return Submitted(suggestion, code)


@use_case
def record_suggestion(village_id: int, actor_id: int, channel: str, text: object, name: object,
                      party_member: bool, now: dt.datetime | None = None) -> Suggestion:
    """The clerk records a suggestion received on paper, in the suggestion box, or assigned by
    the township."""
    now = now or utcnow()
    village = lock_village(village_id)
    roles = require_village_access(actor_id, village, now)
    if not roles & {Role.CLERK, Role.COMMITTEE_DIRECTOR, Role.PARTY_SECRETARY,
                    Role.TOWNSHIP_REVIEWER}:
        raise RoleNotAllowed("procedure.role", N_("只有村务工作者、村干部或乡镇人员可以登记建议"))
    if channel not in CLERK_CHANNELS:
        raise InvalidField("input.invalid", N_("建议来源不正确"))
    body, who, _ = _clean(text, name, None)
    suggestion = Suggestion(village_id=village.id, number=_next_number(village), channel=channel,
                            text=body, suggester_name=who, party_member=party_member,
                            recorded_by_id=actor_id, created_at=now)
    db.session.add(suggestion)
    db.session.flush()
    _record(village, suggestion, now)
    return suggestion


def _record(village: Village, suggestion: Suggestion, now: dt.datetime) -> None:
    # The suggester's name enters the public log only if they chose to show it; contact details
    # and the hashed address never do.
    ledger.append(village, "suggestion.add", {
        "id": suggestion.id, "channel": suggestion.channel, "text": suggestion.text,
        "name": suggestion.suggester_name if suggestion.show_name else None,
        "party_member": suggestion.party_member, "recorded_by": suggestion.recorded_by_id,
        "at": ledger.iso(now)})


def status(suggestion: Suggestion) -> rules.SuggestionStatus:
    """Where ``suggestion`` stands."""
    return rules.status_of(suggestion.matter_id is not None, suggestion.declined_at is not None)


@use_case
def decline_suggestion(village_id: int, actor_id: int, number: object, reason: object,
                       now: dt.datetime | None = None) -> Suggestion:
    """The clerk, committee director or party secretary answers a suggestion: not taken up,
    with the reason the suggester and the public read. Refused for another role, an empty or
    too long reason, an unknown number, or a suggestion already answered."""
    now = now or utcnow()
    village = lock_village(village_id)
    roles = require_village_access(actor_id, village, now)
    refusal = rules.decline_refusal(roles, rules.SuggestionStatus.RECEIVED)
    if refusal is not None:
        raise refusal
    text = rules.check_reason(reason)
    suggestion = suggestion_by_number(village, number)
    refusal = rules.decline_refusal(roles, status(suggestion))
    if refusal is not None:
        raise refusal
    actor = db.session.get(Person, actor_id)
    assert actor is not None
    role = next(r for r in (Role.CLERK, Role.COMMITTEE_DIRECTOR, Role.PARTY_SECRETARY)
                if r in roles)
    suggestion.decline_reason = text
    suggestion.declined_at = now
    suggestion.declined_by_id = actor_id
    ledger.append(village, "suggestion.decline", {
        "id": suggestion.id, "reason": text, "person": actor_id, "name": actor.name,
        "role": role.value, "at": ledger.iso(now)})
    notice_events.suggestion_declined(suggestion, village, now)
    return suggestion


def suggestion_by_number(village: Village, number: object) -> Suggestion:
    """The village's suggestion ``number`` (a whole number, as typed or from the URL), or a
    404 naming it."""
    value = whole_number(number) if isinstance(number, str) else (
        number if isinstance(number, int) and not isinstance(number, bool) else None)
    found = None if value is None else db.session.execute(
        select(Suggestion).where(Suggestion.village_id == village.id,
                                 Suggestion.number == value)).scalar_one_or_none()
    if found is None:
        raise NotFound("suggestion.unknown", N_("本村没有编号为%(number)s的建议"),
                       number=str(number)[:20])
    return found


def pending_suggestions(village: Village) -> list[Suggestion]:
    """Suggestions neither merged into a matter nor declined, oldest first."""
    return list(db.session.execute(
        select(Suggestion).where(Suggestion.village_id == village.id,
                                 Suggestion.matter_id.is_(None),
                                 Suggestion.declined_at.is_(None)).order_by(Suggestion.number)
    ).scalars())


def answered_suggestions(village: Village, limit: int = 20) -> list[Suggestion]:
    """The latest suggestions taken into a matter or declined, newest first (with their
    matters)."""
    return list(db.session.execute(
        select(Suggestion).options(selectinload(Suggestion.matter))
        .where(Suggestion.village_id == village.id,
               (Suggestion.matter_id.is_not(None)) | (Suggestion.declined_at.is_not(None)))
        .order_by(Suggestion.number.desc()).limit(limit)
    ).scalars())


def numbers_in(matter: Matter) -> list[int]:
    """The numbers of the suggestions taken into ``matter`` (one query)."""
    return list(db.session.execute(select(Suggestion.number).where(
        Suggestion.matter_id == matter.id).order_by(Suggestion.number)).scalars())


def public_page(village: Village, page: int, per_page: int) -> tuple[list[Suggestion], int]:
    """One page of the village's suggestions, newest first, with their matters; and how many
    there are in all."""
    total = db.session.execute(select(func.count()).select_from(Suggestion).where(
        Suggestion.village_id == village.id)).scalar_one()
    items = list(db.session.execute(
        select(Suggestion).options(selectinload(Suggestion.matter))
        .where(Suggestion.village_id == village.id).order_by(Suggestion.number.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).scalars())
    return items, total
