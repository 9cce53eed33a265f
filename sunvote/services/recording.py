"""The hall's recording (issue 19): take each chunk the hall page uploads and sign its SHA-256
into the village's ledger (a hash chain per meeting, gaps recorded as gaps), end the recording
with its meeting, and delete its files after the township's retention (the hashes stay).
The rules are domain/recording.py's; docs/recording.md tells the whole story."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from sunvote.domain.assembly import MeetingState
from sunvote.domain.errors import N_, NotFound, NotPermitted
from sunvote.domain.recording import (
    GENESIS,
    RECORDERS,
    ChainTail,
    ChunkOffer,
    RecordingUse,
    chunk_refusal,
    gap_before,
    is_retry,
    purge_due,
    purge_refusal,
    recording_access_refusal,
    refusal_to_record,
    sha256_hex,
)
from sunvote.domain.roles import Role
from sunvote.extensions import db
from sunvote.models import Attachment, Blob, Meeting, Person, Recording, RecordingChunk, Village
from sunvote.models.base import utcnow
from sunvote.services import ledger
from sunvote.services.access import roles_in_village
from sunvote.services.settings import township_settings
from sunvote.services.unit_of_work import KeepAndRefuse, lock_village, use_case


@dataclass(frozen=True)
class ChunkTaken:
    """What the hall page is told: the chunk's number, the next one wanted, the SHA-256 the
    next chunk must name as ``prev``, the ledger record (None for a retry already taken)."""

    seq: int
    next_seq: int
    last_sha256: str
    ledger_seq: int | None
    gap: bool = False


def _locked(meeting_id: int) -> tuple[Meeting, Village]:
    """The meeting, read after its village is locked (appends to one village serialise)."""
    village_id = db.session.execute(select(Meeting.village_id).where(
        Meeting.id == meeting_id)).scalar_one_or_none()
    if village_id is None:
        raise NotFound("input.invalid", N_("没有这次会议"))
    village = lock_village(village_id)
    meeting = db.session.execute(select(Meeting).where(Meeting.id == meeting_id)
                                 .execution_options(populate_existing=True)).scalar_one()
    return meeting, village


def recorder_role(roles: frozenset[Role]) -> Role:
    """The role in which a hall device records (the first of RECORDERS it holds)."""
    for preferred in (Role.COMMITTEE_DIRECTOR, Role.COMMITTEE_MEMBER, Role.CLERK):
        if preferred in roles:
            return preferred
    raise AssertionError(roles)  # pragma: no cover


def recording_of(meeting: Meeting) -> Recording | None:
    return db.session.execute(select(Recording).where(
        Recording.meeting_id == meeting.id)).scalar_one_or_none()


def _tail(recording: Recording) -> ChainTail:
    meeting = recording.meeting
    return ChainTail(recording.next_seq, recording.last_sha256, recording.last_at,
                     recording.ended_at is not None, recording.bytes,
                     meeting.opened_at if meeting is not None else None)


def _actor(actor: Person, role: Role, now: dt.datetime) -> dict[str, object]:
    return {"person": actor.id, "name": actor.name, "role": role.value, "at": ledger.iso(now)}


@use_case
def take_chunk(actor_id: int, meeting_id: int, *, seq: int, prev: str, sha256: str,
               content_type: str, first: bool, data: bytes,
               now: dt.datetime | None = None) -> ChunkTaken:
    """Take chunk ``seq`` of the meeting's recording from the hall device of ``actor_id``:
    store its bytes and append ``recording.chunk`` (after a ``recording.gap`` if the chunks
    stopped coming) in one transaction. A chunk already taken with the same bytes is answered
    as taken. A refusal by domain.recording.chunk_refusal is raised; those of RECORDED_RULES
    are also written to the ledger as ``recording.refused`` (refusal_to_record)."""
    now = now or utcnow()
    meeting, village = _locked(meeting_id)
    roles = roles_in_village(actor_id, village, now)
    denied = recording_access_refusal(roles, RecordingUse.RECORD, meeting_open=True)
    if denied is not None:
        raise denied
    role = recorder_role(roles & RECORDERS)
    actor = db.session.get(Person, actor_id)
    assert actor is not None
    recording = recording_of(meeting)
    if recording is None:
        recording = Recording(meeting_id=meeting.id, village_id=village.id, started_at=now,
                              next_seq=0, last_sha256=GENESIS, bytes=0, refusals_recorded=0,
                              refused_keys="",
                              ended_at=meeting.closed_at if meeting.closed_at else None)
        db.session.add(recording)
        db.session.flush()
    offer = ChunkOffer(seq=seq, prev=prev, sha256=sha256, actual_sha256=sha256_hex(data),
                       size=len(data), content_type=content_type, first=first)
    tail = _tail(recording)
    if 0 <= seq < tail.next_seq:
        stored = db.session.execute(select(RecordingChunk.sha256).where(
            RecordingChunk.recording_id == recording.id,
            RecordingChunk.seq == seq)).scalar_one_or_none()
        if is_retry(stored, offer):
            return ChunkTaken(seq, tail.next_seq, tail.last_sha256, None)
    refusal = chunk_refusal(meeting.state == MeetingState.OPEN, tail, offer, now)
    if refusal is not None:
        key = f"{refusal.rule} {seq} {offer.actual_sha256}"
        keys = recording.refused_keys.split("\n") if recording.refused_keys else []
        if refusal_to_record(refusal, recording.refusals_recorded, key in keys):
            ledger.append(village, "recording.refused", {
                "meeting": meeting.number, "seq": max(0, min(seq, 2**31 - 1)),
                "sha256": offer.actual_sha256, "bytes": offer.size, "rule": refusal.rule,
                **_actor(actor, role, now)})
            recording.refusals_recorded += 1
            recording.refused_keys = "\n".join([*keys, key])
            raise KeepAndRefuse(refusal)
        raise refusal
    gap = gap_before(tail, offer, now)
    if gap:
        assert tail.last_at is not None
        ledger.append(village, "recording.gap", {
            "meeting": meeting.number, "seq": seq, "since": ledger.iso(tail.last_at),
            "lost": first, "at": ledger.iso(now)})
    if db.session.get(Blob, offer.actual_sha256) is None:
        db.session.add(Blob(sha256=offer.actual_sha256, size=offer.size, data=data))
    appended = ledger.append(village, "recording.chunk", {
        "meeting": meeting.number, "seq": seq, "sha256": offer.actual_sha256, "prev": prev,
        "bytes": offer.size, "type": content_type.split(";", 1)[0].strip().lower(),
        "first": first, **_actor(actor, role, now)})
    db.session.add(RecordingChunk(
        recording_id=recording.id, seq=seq, sha256=offer.actual_sha256, size=offer.size,
        content_type=content_type[:100], first=first, received_at=now,
        ledger_seq=appended.seq))
    recording.next_seq = seq + 1
    recording.last_sha256 = offer.actual_sha256
    recording.last_at = now
    recording.bytes += offer.size
    db.session.flush()
    return ChunkTaken(seq, seq + 1, offer.actual_sha256, appended.seq, gap)


def end_recording(meeting: Meeting, village: Village, now: dt.datetime) -> None:
    """The meeting closes (in services.assembly.close_meeting's transaction): its recording, if
    the hall recorded, ends with ``recording.end`` (its chunk count and the chain's head)."""
    recording = recording_of(meeting)
    if recording is None or recording.ended_at is not None:
        return
    recording.ended_at = now
    ledger.append(village, "recording.end", {
        "meeting": meeting.number, "chunks": recording.next_seq,
        "sha256": recording.last_sha256, "bytes": recording.bytes, "at": ledger.iso(now)})


# --- Retention ---------------------------------------------------------------------------------


def retention_days(village: Village) -> int:
    """The township's recording_retention_days."""
    return int(township_settings(village.township_id)["recording_retention_days"])  # type: ignore[call-overload]


@use_case
def purge(actor_id: int | None, meeting_id: int, now: dt.datetime | None = None) -> int:
    """Delete a recording's files after the township's retention (``actor_id`` None: the
    `sunvote recordings purge` command); its chunk rows and ledger records stay, and
    ``recording.purge`` records the deletion. Returns the bytes freed."""
    now = now or utcnow()
    meeting, village = _locked(meeting_id)
    if actor_id is None:
        actor_fields: dict[str, object] = {"person": 0, "name": "", "role": "system",
                                           "at": ledger.iso(now)}
    else:
        roles = roles_in_village(actor_id, village, now)
        denied = recording_access_refusal(roles, RecordingUse.PURGE,
                                          meeting_open=meeting.state == MeetingState.OPEN)
        if denied is not None:
            raise denied
        actor = db.session.get(Person, actor_id)
        assert actor is not None
        held = next(r for r in (Role.TOWNSHIP_ADMIN, Role.DISTRICT_ADMIN) if r in roles)
        actor_fields = _actor(actor, held, now)
    recording = recording_of(meeting)
    if recording is None:
        raise NotFound("input.invalid", N_("这次会议没有录像"))
    days = retention_days(village)
    refusal = purge_refusal(meeting.closed_at, days, now, recording.purged_at is not None)
    if refusal is not None:
        raise refusal
    hashes = list(db.session.execute(select(RecordingChunk.sha256).where(
        RecordingChunk.recording_id == recording.id)).scalars())
    # a file attached elsewhere with the very same bytes keeps its blob
    kept = set(db.session.execute(select(Attachment.sha256).where(
        Attachment.sha256.in_(hashes))).scalars()) if hashes else set()
    doomed = [h for h in hashes if h not in kept]
    if doomed:
        db.session.execute(delete(Blob).where(Blob.sha256.in_(doomed)))
    recording.purged_at = now
    ledger.append(village, "recording.purge", {
        "meeting": meeting.number, "chunks": recording.next_seq, "bytes": recording.bytes,
        "retention_days": days, **actor_fields})
    return recording.bytes


def due_for_purge(now: dt.datetime) -> list[int]:
    """The meetings (ids) whose recording's retention has passed and whose files remain."""
    rows = db.session.execute(
        select(Recording.meeting_id, Meeting.closed_at, Village.township_id)
        .join(Meeting, Meeting.id == Recording.meeting_id)
        .join(Village, Village.id == Recording.village_id)
        .where(Recording.purged_at.is_(None), Meeting.closed_at.is_not(None))).all()
    days: dict[int, int] = {}
    due = []
    for meeting_id, closed_at, township_id in rows:
        if township_id not in days:
            days[township_id] = int(township_settings(township_id)[  # type: ignore[call-overload]
                "recording_retention_days"])
        if purge_due(closed_at, days[township_id], now):
            due.append(meeting_id)
    return due


# --- Reads ---------------------------------------------------------------------------------------


def tail_of(meeting: Meeting) -> dict[str, object]:
    """Where the hall page's uploads stand: the next chunk wanted, the last chunk's SHA-256 and
    whether the recording has ended (static/js/recording.js starts from here, and resumes from
    here after a refusal)."""
    recording = recording_of(meeting)
    if recording is None:
        return {"next_seq": 0, "last_sha256": GENESIS, "ended": False}
    return {"next_seq": recording.next_seq, "last_sha256": recording.last_sha256,
            "ended": recording.ended_at is not None}


def chunks(recording: Recording) -> Sequence[RecordingChunk]:
    return list(db.session.execute(select(RecordingChunk).where(
        RecordingChunk.recording_id == recording.id).order_by(RecordingChunk.seq)).scalars())


def runs(recording: Recording) -> list[list[RecordingChunk]]:
    """The recording's runs: each begins with a chunk the recorder started (``first``) and is
    one playable file; a run with no first chunk (never, from our page) starts at chunk 0."""
    found: list[list[RecordingChunk]] = []
    for chunk in chunks(recording):
        if chunk.first or not found:
            found.append([])
        found[-1].append(chunk)
    return found


def chunk_bytes(sha256s: Sequence[str]) -> Iterator[bytes]:
    """The chunks' bytes in order, one blob read at a time (a long run is never all in
    memory)."""
    for sha in sha256s:
        data = db.session.execute(select(Blob.data).where(Blob.sha256 == sha)).scalar_one_or_none()
        if data is None:
            raise NotPermitted("recording.purged",
                               N_("录像已按保存期限删除，账本中只保留各段的指纹"))
        yield data


def stored_bytes(village: Village) -> int:
    """The bytes of the village's recordings still kept."""
    return int(db.session.execute(select(func.coalesce(func.sum(Recording.bytes), 0)).where(
        Recording.village_id == village.id, Recording.purged_at.is_(None))).scalar_one())
