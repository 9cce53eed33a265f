"""The notices no request causes (issue 18): a scan, run every hour or so (`sunvote notices
scan`, docs/operations.md), writes those whose time has come: an objection's answer due within a
day or overdue (supervisory committee), a notice period ended so implementation may start (the
village committee director), and red warnings (the township's and district's administrators).

Each is written once: its idempotency key names the object and the event
(``objection-due:12``), and a scan writes no event whose notices are already in the outbox, so a
second scan writes nothing new. One transaction per village (:func:`scan_village`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from sunvote.domain.errors import render
from sunvote.domain.notices import (
    NoticeEvent,
    notice_ended_text,
    objection_due_text,
    red_warning_text,
)
from sunvote.domain.oversight import Colour, OversightWarning
from sunvote.domain.procedure import MatterState
from sunvote.domain.roles import SUPERVISOR_ROLES, Role
from sunvote.extensions import db
from sunvote.models import Matter, Notice, Objection, Person, Township, Village
from sunvote.models.base import utcnow
from sunvote.services import oversight
from sunvote.services.notice_events import (
    matter_path,
    oversight_path,
    supervision_path,
    township_role_holders,
    village_role_holders,
)
from sunvote.services.notices import WrittenNotice, write_notices
from sunvote.services.unit_of_work import lock_village, use_case

#: An objection's answer counts as due this long before its deadline.
DUE_SOON = dt.timedelta(days=1)

#: Who is told of a red warning.
OVERSEERS = frozenset({Role.TOWNSHIP_ADMIN, Role.DISTRICT_ADMIN})


@dataclass(frozen=True)
class ScanResult:
    """What one scan did: the villages scanned and the notices written."""

    villages: int
    notices: int


def written(key: str) -> bool:
    """Whether the event named ``key`` already has notices in the outbox (each notice's key is
    the event's key followed by ``:`` and its recipient and channel)."""
    return db.session.execute(select(Notice.id).where(
        Notice.key.startswith(f"{key}:", autoescape=True)).limit(1)).first() is not None


def scan(now: dt.datetime | None = None) -> ScanResult:
    """Scan every village (each in its own transaction). The red warnings are those of the
    district's dashboard (services/oversight.build), computed once for all villages."""
    now = now or utcnow()
    board = oversight.build(select(Village.id), now)
    reds = {v.id: [w for w in v.warnings if w.colour is Colour.RED] for v in board.villages}
    ids = list(db.session.execute(select(Village.id).order_by(Village.id)).scalars())
    total = sum(len(scan_village(vid, now, reds.get(vid, []))) for vid in ids)
    return ScanResult(len(ids), total)


@use_case
def scan_village(village_id: int, now: dt.datetime,
                 red_warnings: Sequence[OversightWarning] = ()) -> list[WrittenNotice]:
    """Write the time-based notices of one village that are due at ``now`` and not yet
    written, in one transaction."""
    village = lock_village(village_id)
    return [*_objections_due(village, now), *_notices_ended(village, now),
            *_red_warnings(village, red_warnings, now)]


def _once(event: NoticeEvent, key: str, people: Sequence[Person], text: str, link: str,
          village: Village, now: dt.datetime) -> list[WrittenNotice]:
    if written(key):
        return []
    return write_notices(event, people, text, link, key=key, now=now, village=village)


def _objections_due(village: Village, now: dt.datetime) -> list[WrittenNotice]:
    """Unanswered objections due within a day (one notice) or overdue (one more)."""
    rows = db.session.execute(
        select(Objection, Matter.number).join(Matter, Matter.id == Objection.matter_id)
        .where(Matter.village_id == village.id, Objection.replied_at.is_(None),
               Objection.reply_due_at <= now + DUE_SOON)
        .order_by(Objection.id)).all()
    if not rows:
        return []
    supervisors = village_role_holders(village, SUPERVISOR_ROLES, now)
    notices: list[WrittenNotice] = []
    for objection, matter in rows:
        due = _aware(objection.reply_due_at)
        overdue = now > due
        key = f"objection-{'overdue' if overdue else 'due'}:{objection.id}"
        notices += _once(NoticeEvent.OBJECTION_DUE, key, supervisors,
                         objection_due_text(village.name, matter, objection.number, due,
                                            overdue),
                         supervision_path(village), village, now)
    return notices


def _notices_ended(village: Village, now: dt.datetime) -> list[WrittenNotice]:
    """Passed matters whose notice period is over and whose implementation has not started:
    the committee director may start it."""
    rows = list(db.session.execute(select(Matter).where(
        Matter.village_id == village.id, Matter.state == MatterState.PASSED.value,
        Matter.notice_ends_at.is_not(None), Matter.notice_ends_at <= now)
        .order_by(Matter.id)).scalars())
    if not rows:
        return []
    directors = village_role_holders(village, {Role.COMMITTEE_DIRECTOR}, now)
    notices: list[WrittenNotice] = []
    for matter in rows:
        assert matter.notice_ends_at is not None
        # a matter sent back to a new vote gets a notice period of its own
        key = f"notice-ended:{matter.id}:{int(_aware(matter.notice_ends_at).timestamp())}"
        notices += _once(NoticeEvent.NOTICE_ENDED, key, directors,
                         notice_ended_text(village.name, matter.number, matter.title),
                         matter_path(village, matter.number), village, now)
    return notices


def _red_warnings(village: Village, warnings: Sequence[OversightWarning],
                  now: dt.datetime) -> list[WrittenNotice]:
    """Each red warning of the village, once: to the administrators of its township and of the
    district, linking to the village's warnings on the township's dashboard."""
    if not warnings:
        return []
    overseers = township_role_holders(village.township_id, OVERSEERS, now)
    township = db.session.get(Township, village.township_id)
    assert township is not None
    notices: list[WrittenNotice] = []
    for warning in warnings:
        text = render(warning.msgid, warning.params, lambda s: s)
        notices += _once(NoticeEvent.RED_WARNING, red_warning_key(village, warning), overseers,
                         red_warning_text(village.name, text),
                         oversight_path(township.code, village), village, now)
    return notices


def red_warning_key(village: Village, warning: OversightWarning) -> str:
    """A red warning's key: its rule, what it points at and what it says, so that the same
    warning is told once and a new one (another poll, another failure) again."""
    what = json.dumps([warning.target.kind.value, warning.target.ref, warning.msgid,
                       {k: str(v) for k, v in warning.params.items()}], sort_keys=True,
                      ensure_ascii=False)
    return f"red:{village.id}:{warning.rule}:{hashlib.sha256(what.encode()).hexdigest()[:16]}"


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
