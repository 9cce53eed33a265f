"""Suggestions (step 1 intake): from the public QR form, or recorded by the clerk from paper."""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import current_app
from sqlalchemy import func, select

from sunvote.domain.errors import N_, InvalidField, RateLimited, RoleNotAllowed
from sunvote.domain.roles import Role
from sunvote.domain.text import clean_text
from sunvote.extensions import db
from sunvote.models import Suggestion, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger
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


@use_case
def submit_public_suggestion(village_id: int, text: object, name: object, contact: object,
                             party_member: bool, show_name: bool, address: str,
                             now: dt.datetime | None = None) -> Suggestion:
    """A villager's suggestion from the public form; no account. At most
    SUNVOTE_SUGGESTIONS_PER_HOUR per source address per hour."""
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
    suggestion = Suggestion(village_id=village.id, channel="qr", text=body, suggester_name=who,
                            contact=reach, party_member=party_member,
                            show_name=bool(show_name and who), source_key=key, created_at=now)
    db.session.add(suggestion)
    db.session.flush()
    _record(village, suggestion, now)
    return suggestion


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
    suggestion = Suggestion(village_id=village.id, channel=channel, text=body, suggester_name=who,
                            party_member=party_member, recorded_by_id=actor_id, created_at=now)
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


def pending_suggestions(village: Village) -> list[Suggestion]:
    """Suggestions not yet merged into a matter, oldest first."""
    return list(db.session.execute(
        select(Suggestion).where(Suggestion.village_id == village.id,
                                 Suggestion.matter_id.is_(None)).order_by(Suggestion.id)
    ).scalars())
