"""Read-only queries of the public pages: the village's matters grouped by where they stand, and
one matter with everything the public may see, its files, ballots by receipt code. A page's
queries do not grow with the number of matters, polls or objections shown.

Never loaded here for display: ID and phone numbers, suggesters' contacts, objectors' names and
households, who rated what (docs/public-board.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from sunvote.domain.assembly import PollState, VoteMode
from sunvote.domain.ledger.note import Verifier
from sunvote.domain.ledger.proofs import parse_receipt, verify_receipt
from sunvote.domain.ledger.records import RecordFormatError, b64, parse_record
from sunvote.domain.ledger.tables import BallotFact, BallotRow, ballot_differences, ballot_fact
from sunvote.domain.matter_filter import STATE_GROUPS, MatterFilter, state_group
from sunvote.domain.procedure import Action, MatterState, Step
from sunvote.extensions import db
from sunvote.models import (
    Attachment,
    Ballot,
    Blob,
    ImplementationUpdate,
    LedgerCosigned,
    LedgerHead,
    LedgerRecord,
    Matter,
    Meeting,
    Objection,
    Person,
    Poll,
    Rating,
    StepRecord,
    Township,
    Village,
)
from sunvote.services import ledger
from sunvote.services.matter_filter import MatterPage, find_matters

#: The board's groups, in the order shown: the filter's state choices (domain/matter_filter).
GROUPS = STATE_GROUPS


def step_classes(state: MatterState, last_step: Step | None) -> list[str]:
    """How each of the six steps is drawn: done, current (awaiting), ended (where a closed
    matter stopped) or todo. A completed matter has all six done."""
    if state is MatterState.COMPLETED:
        return ["done"] * len(Step)
    awaiting = state.awaiting
    classes = []
    for s in Step:
        if awaiting is not None:
            classes.append("done" if s.number < awaiting.number
                           else "current" if s is awaiting else "todo")
        elif last_step is not None:
            classes.append("done" if s.number < last_step.number
                           else "ended" if s is last_step else "todo")
        else:
            classes.append("todo")
    return classes


def _closed_at_step(state: MatterState) -> Step | None:
    """The step where a closed matter stopped, when its state alone tells."""
    return {MatterState.REJECTED: Step.VOTE, MatterState.DROPPED: Step.DISCUSS}.get(state)


@dataclass(frozen=True)
class BoardItem:
    """One matter on the village board with its six steps' classes."""

    matter: Matter
    steps: list[str]


@dataclass(frozen=True)
class Board:
    """A page of the village board: the matters the filter lets through, grouped as shown."""

    page: MatterPage
    groups: list[tuple[str, str, list[BoardItem]]]


def village_board(village: Village, f: MatterFilter, now: dt.datetime) -> Board:
    """The page of the village's matters that ``f`` asks for, grouped as on the board (four
    queries, whatever their number). A passed matter leaves "公示中" when its notice period
    ends (matter_filter.state_group, the same split the query makes)."""
    page = find_matters(select(Village.id).where(Village.id == village.id), f, GROUPS, now=now)
    withdrawn = [m.id for m in page.items if m.state == MatterState.WITHDRAWN.value]
    stopped: dict[int, Step] = {}
    if withdrawn:  # a withdrawal is recorded at the step the matter was waiting for
        stopped = {mid: Step(step) for mid, step in db.session.execute(
            select(StepRecord.matter_id, StepRecord.step).where(
                StepRecord.matter_id.in_(withdrawn),
                StepRecord.action == Action.WITHDRAW.value))}
    grouped: dict[str, list[BoardItem]] = {g.key: [] for g in GROUPS}
    for m in page.items:
        state = MatterState(m.state)
        last = stopped.get(m.id) or _closed_at_step(state)
        grouped[state_group(state, m.notice_ends_at, now).key].append(
            BoardItem(m, step_classes(state, last)))
    return Board(page, [(g.key, g.label, grouped[g.key]) for g in GROUPS])


# --- One matter ----------------------------------------------------------------------------------


@dataclass
class PollResult:
    """A closed poll on the matter: its counts, rule, named ballots, and the tally's record."""

    poll: Poll
    ballots: list[Ballot] = field(default_factory=list)  # named polls only
    tally_seq: int | None = None
    needed: int | None = None


@dataclass
class LedgerStatus:
    """The village ledger's latest checkpoint and whether the township witness cosigned it."""

    head: LedgerHead | None
    cosigned: LedgerCosigned | None
    log_key: str

    @property
    def root(self) -> str:
        """The latest root hash, base64 (as in the checkpoint)."""
        return b64(self.head.root) if self.head is not None else ""

    @property
    def cosigned_latest(self) -> bool:
        return (self.head is not None and self.cosigned is not None
                and self.cosigned.size == self.head.size)


@dataclass
class MatterView:
    """Everything the public page of one matter shows."""

    matter: Matter
    records: list[StepRecord]
    polls: list[PollResult]
    objections: list[Objection]
    updates: list[ImplementationUpdate]
    ratings: int
    average: float | None
    ledger: LedgerStatus
    steps: list[str]

    @property
    def state(self) -> MatterState:
        return MatterState(self.matter.state)

    @property
    def report(self) -> str | None:
        """The supervisory committee's completion report (the sign-off's text)."""
        for r in reversed(self.records):
            if r.action == Action.COMPLETE.value:
                return str((r.data or {}).get("report") or "") or None
        return None

    @property
    def spent_fen(self) -> int | None:
        return self.updates[-1].spent_fen if self.updates else None

    @property
    def progress(self) -> int:
        return self.updates[-1].progress if self.updates else 0

    @property
    def last_poll(self) -> PollResult | None:
        return self.polls[-1] if self.polls else None


def ledger_status(village: Village) -> LedgerStatus:
    head = ledger.head(village.id)
    cosigned = db.session.execute(
        select(LedgerCosigned).where(LedgerCosigned.village_id == village.id)
        .order_by(LedgerCosigned.size.desc()).limit(1)).scalars().first()
    return LedgerStatus(head, cosigned, ledger.active_key(village.id).vkey)


def matter_view(village: Village, matter: Matter) -> MatterView:
    """Load one matter's public page in a fixed number of queries."""
    records = list(db.session.execute(
        select(StepRecord).where(StepRecord.matter_id == matter.id)
        .options(selectinload(StepRecord.attachments), selectinload(StepRecord.actor))
        .order_by(StepRecord.seq)).scalars())
    polls = [PollResult(p) for p in db.session.execute(
        select(Poll).where(Poll.matter_id == matter.id, Poll.state == PollState.CLOSED)
        .options(selectinload(Poll.meeting)).order_by(Poll.closed_at, Poll.id)).scalars()]
    _load_ballots_and_tallies(village, polls)
    objections = list(db.session.execute(
        select(Objection).where(Objection.matter_id == matter.id)
        .options(selectinload(Objection.replied_by)).order_by(Objection.number)).scalars())
    updates = list(db.session.execute(
        select(ImplementationUpdate).where(ImplementationUpdate.matter_id == matter.id)
        .options(selectinload(ImplementationUpdate.confirmed_by))
        .order_by(ImplementationUpdate.number)).scalars())
    count, average = db.session.execute(
        select(func.count(Rating.id), func.avg(Rating.score)).where(
            Rating.matter_id == matter.id)).one()
    state = MatterState(matter.state)
    last = Step(records[-1].step) if records and state.closed else None
    return MatterView(matter, records, polls, objections, updates, int(count),
                      float(average) if average is not None else None, ledger_status(village),
                      step_classes(state, last))


def _load_ballots_and_tallies(village: Village, polls: list[PollResult]) -> None:
    """Named polls' ballots with their voters (one query), and each tally's ledger record: the
    first ``poll.tally`` after the poll's last ballot record (secret ballots are appended right
    before their tally), matched by meeting and poll number."""
    if not polls:
        return
    by_id = {p.poll.id: p for p in polls}
    for ballot in db.session.execute(
            select(Ballot).where(Ballot.poll_id.in_(list(by_id)))
            .options(selectinload(Ballot.voter)).order_by(Ballot.id)).scalars():
        result = by_id[ballot.poll_id]
        if result.poll.mode == VoteMode.NAMED and ballot.voter is not None:
            result.ballots.append(ballot)
    last_seq = dict(db.session.execute(
        select(Ballot.poll_id, func.max(Ballot.ledger_seq)).where(
            Ballot.poll_id.in_(list(by_id))).group_by(Ballot.poll_id)).all())
    start = min((last_seq.get(p.poll.id) or 0) for p in polls)
    wanted: dict[tuple[int, int], PollResult | None] = {
        (p.poll.meeting.number, p.poll.number): p for p in polls}
    rows = db.session.execute(
        select(LedgerRecord.seq, LedgerRecord.data).where(
            LedgerRecord.village_id == village.id, LedgerRecord.type == "poll.tally",
            LedgerRecord.seq > start).order_by(LedgerRecord.seq))
    for seq, data in rows:
        body: dict[str, Any] = dict(parse_record(data).body)
        found = wanted.pop((int(body.get("meeting", 0)), int(body.get("poll", 0))), None)
        if found is not None:
            found.tally_seq, found.needed = seq, body.get("needed")
        if not wanted:
            break


#: Steps whose files are listed (name, size, SHA-256) but not downloadable by the public: step 1's
#: files are scans of paper suggestions, which may carry a suggester's name and contact.
PRIVATE_FILE_STEPS: frozenset[str] = frozenset({Step.SUGGEST.value})


def public_file(matter: Matter, sha256: str) -> tuple[str, str] | None:
    """(filename, content type) of a file downloadable from the matter's public page — a step
    record's attachment (not step 1's) or an implementation update's evidence — or None."""
    attachment = db.session.execute(
        select(Attachment).join(StepRecord).where(
            StepRecord.matter_id == matter.id, Attachment.sha256 == sha256,
            StepRecord.step.not_in(PRIVATE_FILE_STEPS)).limit(1)
    ).scalar_one_or_none()
    if attachment is not None:
        return attachment.filename, attachment.content_type
    for evidence in db.session.execute(
            select(ImplementationUpdate.evidence).where(
                ImplementationUpdate.matter_id == matter.id)).scalars():
        for item in evidence or []:
            if item.get("sha256") == sha256:
                return str(item["name"]), str(item["type"])
    return None


def countdown(until: dt.datetime, now: dt.datetime) -> tuple[int, int] | None:
    """Whole days and hours left until ``until``, or None once it has passed."""
    if now >= until:
        return None
    left = until - now
    return left.days, left.seconds // 3600


@dataclass(frozen=True)
class ReceiptCheck:
    """A receipt code checked against the ledger. ``record`` is what the record at the ballot
    row's ``ledger_seq`` says (read from the bytes whose inclusion was proven), None when that
    record is not a ballot; ``included``: its inclusion proof held; ``proven``: it held and the
    record is the ballot asked for. ``differences``: fields where the ``ballot`` table says
    otherwise than the record (tables.ballot_differences)."""

    included: bool
    record: BallotFact | None
    seq: int
    differences: tuple[str, ...]
    poll: Poll | None

    @property
    def proven(self) -> bool:
        """The record at ``seq`` is in the log and is the ballot asked for."""
        return self.included and self.record is not None and "ballot" not in self.differences

    @property
    def at(self) -> dt.datetime | None:
        """When the record says a named ballot was cast (secret ballot records carry no time)."""
        if self.record is None or self.record.at is None:
            return None
        return dt.datetime.fromisoformat(self.record.at)


def check_receipt(village: Village, found: Ballot) -> ReceiptCheck:
    """Prove ``found`` (a ballot row with a ``ledger_seq``) from the ledger: build its receipt,
    verify the inclusion proof with the leaf hash recomputed from the record bytes, read the
    ballot the record states, and compare the row with it."""
    assert found.ledger_seq is not None
    receipt = parse_receipt(ledger.receipt(village.id, found.ledger_seq))
    key = Verifier.from_vkey(ledger.active_key(village.id).vkey)
    try:
        verify_receipt(receipt, key, origin=village.origin)
        included = True
    except ValueError:  # the proof and format errors are ValueErrors: "not proven"
        included = False
    try:
        record = ballot_fact(parse_record(receipt.record))
    except RecordFormatError:
        record = None
    poll = db.session.get(Poll, found.poll_id)
    assert poll is not None
    row = BallotRow(found.id, found.code, poll.meeting.number, poll.number, found.choice,
                    found.voter_id, found.channel, found.ledger_seq,
                    poll.state == PollState.CLOSED)
    stated: Poll | None = poll
    if record is not None and (record.meeting, record.poll) != (row.meeting, row.poll):
        stated = db.session.execute(
            select(Poll).join(Meeting, Meeting.id == Poll.meeting_id)
            .where(Meeting.village_id == village.id, Meeting.number == record.meeting,
                   Poll.number == record.poll)).scalar_one_or_none()
    return ReceiptCheck(included, record, found.ledger_seq, ballot_differences(row, record),
                        stated)


# --- The pages' other reads ---------------------------------------------------------------------


def townships() -> list[Township]:
    """Every township, by code (the public index)."""
    return list(db.session.execute(select(Township).order_by(Township.code)).scalars())


def names(person_ids: set[int]) -> dict[int, str]:
    """The names of these people (the village's officers), in one query. Names only: ID and
    phone numbers never reach a public page."""
    return dict(db.session.execute(select(Person.id, Person.name).where(
        Person.id.in_(person_ids))).all())


def file_bytes(sha256: str) -> bytes | None:
    """A stored file's bytes by its SHA-256, or None."""
    blob = db.session.get(Blob, sha256)
    return None if blob is None else blob.data


def ballot(village: Village, code: str) -> Ballot | None:
    """The village's ballot with this receipt code, or None."""
    return db.session.execute(
        select(Ballot).join(Poll, Poll.id == Ballot.poll_id).join(
            Meeting, Meeting.id == Poll.meeting_id)
        .where(Ballot.code == code, Meeting.village_id == village.id)).scalar_one_or_none()
