"""The open data API's reads: villages, matters with their steps, poll results and checkpoints,
as JSON-ready dicts, one page at a time.

Only what is public already: what the public pages show and what the public ledger export holds
(step fields, the acting official's name and role, file names and SHA-256). Never ID or phone
numbers, suggesters' names or contacts, named ballots' voters, or anything of the register.
Each page is a fixed number of queries, whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from sunvote.domain.ledger.origin import legacy_origin
from sunvote.domain.ledger.records import b64
from sunvote.domain.pagination import PageRequest, check_page_exists, pages
from sunvote.extensions import db
from sunvote.models import (
    Attachment,
    LedgerCosigned,
    LedgerHead,
    LedgerKey,
    Matter,
    Meeting,
    Person,
    Poll,
    StepRecord,
    Township,
    Village,
)
from sunvote.services.witness import configured_witness

JSON = dict[str, Any]


def _page(query: Any, request: PageRequest) -> tuple[list[Any], JSON]:
    """The rows of ``query`` on the requested page, and the page's description."""
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())
                               ).scalar_one()
    check_page_exists(request, total)
    rows = list(db.session.execute(query.limit(request.per_page).offset(request.offset)).all())
    return rows, {"page": request.page, "per_page": request.per_page, "total": total,
                  "pages": pages(total, request.per_page)}


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _village_json(village: Village, township: Township) -> JSON:
    return {"code": village.code, "name": village.name,
            "township": {"code": township.code, "name": township.name},
            "origin": village.ledger_origin or legacy_origin(township.code, village.code)}


def villages(request: PageRequest) -> JSON:
    """Every village, by township and code, with its number of matters."""
    counts = (select(Matter.village_id, func.count().label("n"))
              .group_by(Matter.village_id).subquery())
    rows, page = _page(
        select(Village, Township, func.coalesce(counts.c.n, 0))
        .join(Township, Township.id == Village.township_id)
        .outerjoin(counts, counts.c.village_id == Village.id)
        .order_by(Township.code, Village.code), request)
    return {"items": [_village_json(v, t) | {"matters": n} for v, t, n in rows], **page}


def village(village: Village) -> JSON:
    """One village with its matters' count."""
    n = db.session.execute(select(func.count()).select_from(Matter).where(
        Matter.village_id == village.id)).scalar_one()
    return _village_json(village, village.township) | {"matters": n}


def _steps(matter_ids: list[int]) -> dict[int, list[JSON]]:
    """The step records of these matters with their attachments (two queries)."""
    records = db.session.execute(
        select(StepRecord, Person.name).join(Person, Person.id == StepRecord.actor_id)
        .where(StepRecord.matter_id.in_(matter_ids))
        .order_by(StepRecord.matter_id, StepRecord.seq)).all()
    files: dict[int, list[JSON]] = defaultdict(list)
    for a in db.session.execute(select(Attachment).where(
            Attachment.step_record_id.in_([r.id for r, _ in records]))
            .order_by(Attachment.id)).scalars():
        files[a.step_record_id].append({"filename": a.filename, "sha256": a.sha256,
                                        "size": a.size, "content_type": a.content_type})
    out: dict[int, list[JSON]] = defaultdict(list)
    for r, name in records:
        out[r.matter_id].append({
            "seq": r.seq, "step": r.step, "action": r.action, "from": r.from_state,
            "to": r.to_state, "actor": name, "role": r.actor_role, "at": _iso(r.acted_at),
            "fields": {k: v for k, v in (r.data or {}).items() if k != "suggestion_ids"},
            "attachments": files.get(r.id, [])})
    return out


def _matter_json(m: Matter, steps: list[JSON]) -> JSON:
    return {"number": m.number, "title": m.title, "category": m.category, "state": m.state,
            "summary": m.summary, "amount_fen": m.amount_fen, "filing_no": m.filing_no,
            "created_at": _iso(m.created_at), "updated_at": _iso(m.updated_at),
            "notice_starts_at": _iso(m.notice_starts_at), "notice_ends_at": _iso(m.notice_ends_at),
            "steps": steps}


def matters(village: Village, request: PageRequest) -> JSON:
    """The village's matters, newest number first, each with its steps."""
    rows, page = _page(select(Matter).where(Matter.village_id == village.id)
                       .order_by(Matter.number.desc()), request)
    found = [m for (m,) in rows]
    steps = _steps([m.id for m in found]) if found else {}
    return {"village": village.code,
            "items": [_matter_json(m, steps.get(m.id, [])) for m in found], **page}


def matter(matter: Matter) -> JSON:
    """One matter with its steps."""
    return _matter_json(matter, _steps([matter.id]).get(matter.id, []))


def polls(village: Village, request: PageRequest) -> JSON:
    """The village's polls, newest first: counts and verdict once closed (who voted how is on
    the public board for named polls, not here)."""
    rows, page = _page(
        select(Poll, Meeting.number, Matter.number, Matter.title)
        .join(Meeting, Meeting.id == Poll.meeting_id).join(Matter, Matter.id == Poll.matter_id)
        .where(Meeting.village_id == village.id)
        .order_by(Meeting.number.desc(), Poll.number.desc()), request)
    items = []
    for poll, meeting_no, matter_no, title in rows:
        closed = poll.closed_at is not None
        items.append({
            "meeting": meeting_no, "poll": poll.number, "matter": matter_no, "title": title,
            "mode": poll.mode, "state": poll.state, "members": poll.members,
            "present": poll.present, "quorum": poll.quorum, "rule": poll.rule,
            "recusal_counts_present": poll.recusal_counts_present,
            "opened_at": _iso(poll.opened_at), "closed_at": _iso(poll.closed_at),
            "yes": poll.yes if closed else None, "no": poll.no if closed else None,
            "abstain": poll.abstain if closed else None,
            "recused": poll.recused if closed else None,
            "verdict": poll.verdict if closed else None})
    return {"village": village.code, "items": items, **page}


def _checkpoints(village_ids: list[int]) -> dict[int, JSON]:
    """Each village's newest signed checkpoint, its log key, and the newest cosignature of each
    witness (three queries)."""
    heads = {h.village_id: h for h in db.session.execute(
        select(LedgerHead).where(LedgerHead.village_id.in_(village_ids))).scalars()}
    keys = {k.village_id: k.vkey for k in db.session.execute(
        select(LedgerKey).where(LedgerKey.village_id.in_(village_ids),
                                LedgerKey.retired_at.is_(None),
                                LedgerKey.revoked_at.is_(None))).scalars()}
    newest = (select(LedgerCosigned.village_id, LedgerCosigned.witness,
                     func.max(LedgerCosigned.size).label("size"))
              .where(LedgerCosigned.village_id.in_(village_ids))
              .group_by(LedgerCosigned.village_id, LedgerCosigned.witness).subquery())
    cosigned: dict[int, list[JSON]] = defaultdict(list)
    for row in db.session.execute(
            select(LedgerCosigned).join(newest, (newest.c.village_id == LedgerCosigned.village_id)
                                        & (newest.c.witness == LedgerCosigned.witness)
                                        & (newest.c.size == LedgerCosigned.size))
            .order_by(LedgerCosigned.village_id, LedgerCosigned.witness)).scalars():
        cosigned[row.village_id].append({
            "witness": row.witness, "size": row.size, "cosigned_at": _iso(row.cosigned_at),
            "note": row.note.decode("utf-8")})
    out = {}
    for vid in village_ids:
        head = heads.get(vid)
        out[vid] = {
            "log_key": keys.get(vid),
            "size": head.size if head else 0,
            "root": b64(head.root) if head else None,
            "checkpoint": head.checkpoint.decode("utf-8") if head else None,
            "signed_at": _iso(head.updated_at) if head else None,
            "cosignatures": cosigned.get(vid, [])}
    return out


def checkpoint(village: Village) -> JSON:
    """The village's newest checkpoint and cosignatures, and the township witness's key."""
    _, witness_key = configured_witness(village.township)
    return {"village": village.code, "origin": village.origin, "township_witness": witness_key,
            **_checkpoints([village.id])[village.id]}


def checkpoints(request: PageRequest) -> JSON:
    """Every village's newest checkpoint and cosignatures, a page of villages at a time."""
    rows, page = _page(select(Village, Township)
                       .join(Township, Township.id == Village.township_id)
                       .order_by(Township.code, Village.code), request)
    found = _checkpoints([v.id for v, _ in rows])
    return {"items": [{"village": v.code,
                       "origin": v.ledger_origin or legacy_origin(t.code, v.code),
                       **found[v.id]} for v, t in rows], **page}
