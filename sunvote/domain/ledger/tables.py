"""The tables against the log: what the ledger's records say about ballots, attendance, polls,
meetings, matters and their steps, and every place where a database row says otherwise.

Pages and results are read from tables (``ballot``, ``poll``, ``matter`` …), not from the log; a
perfectly verified log proves nothing about a table edited behind the application's back. This
module holds the one comparison of each kind of row with its records (rule
``ledger.table_mismatch``): the receipt page compares one ballot row with the record it proves,
the server-side check (``services/verification.py``) streams the whole log through
:class:`LogFacts` and compares every row of each table with :func:`compare_tables`.

Pure: the service turns rows into the plain values below; nothing here knows SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sunvote.domain.errors import N_
from sunvote.domain.ledger.records import Record

#: The rule every difference between a table and the log reports.
RULE = "ledger.table_mismatch"
#: ``sunvote ledger check`` exits with this when the log verifies but a table disagrees with it
#: (the verifier's own codes 2–6 come first: a broken log is reported as such).
EXIT_TABLES = 7

#: Ballot record types: a named ballot (voter and choice public) and a secret one (no identity).
BALLOT_TYPES = frozenset({"ballot.cast", "ballot.secret"})

#: Labels of the ballot fields a receipt page compares (message ids, translated at display).
BALLOT_FIELD_LABELS: dict[str, str] = {
    "ballot": N_("回执码"),
    "record": N_("账本记录序号"),
    "poll": N_("表决"),
    "choice": N_("表决意见"),
    "voter": N_("投票人"),
    "channel": N_("方式"),
}


@dataclass(frozen=True)
class BallotFact:
    """What one ballot record says. ``member``, ``channel`` and ``at`` are None for a secret
    ballot (its record carries no identity and no time)."""

    seq: int
    ballot: str
    meeting: int
    poll: int
    choice: str
    secret: bool
    member: int | None = None
    member_name: str | None = None
    channel: str | None = None
    at: str | None = None


@dataclass(frozen=True)
class BallotRow:
    """A ``ballot`` row as the pages read it: meeting and poll by their numbers."""

    id: int
    code: str
    meeting: int
    poll: int
    choice: str
    voter: int | None
    channel: str | None  # None for a secret ballot (its row keeps no channel)
    ledger_seq: int | None
    poll_closed: bool


def ballot_fact(record: Record) -> BallotFact | None:
    """The ballot a record states, or None when the record is not a ballot."""
    if record.type not in BALLOT_TYPES:
        return None
    body = record.body
    if record.type == "ballot.secret":
        return BallotFact(record.seq, body["ballot"], body["meeting"], body["poll"],
                          body["choice"], secret=True)
    return BallotFact(record.seq, body["ballot"], body["meeting"], body["poll"], body["choice"],
                      secret=False, member=body["member"], member_name=body["member_name"],
                      channel=body["channel"], at=body["at"])


def ballot_differences(row: BallotRow, fact: BallotFact | None) -> tuple[str, ...]:
    """The fields (keys of :data:`BALLOT_FIELD_LABELS`) in which a ballot row and the record it
    points at disagree; empty when they agree. ``fact`` None: the log has no such ballot."""
    if fact is None:
        return ("record",)
    differences = []
    if fact.ballot != row.code:
        differences.append("ballot")
    if row.ledger_seq != fact.seq:
        differences.append("record")
    if (row.meeting, row.poll) != (fact.meeting, fact.poll):
        differences.append("poll")
    if row.choice != fact.choice:
        differences.append("choice")
    if row.voter != fact.member:
        differences.append("voter")
    if not fact.secret and row.channel != fact.channel:
        differences.append("channel")
    return tuple(differences)


@dataclass(frozen=True)
class Mismatch:
    """A table row that disagrees with the log: the table, the row (its key), the record index
    (None when no record is involved: a row with no record at all) and what differs."""

    table: str
    row: str
    seq: int | None
    reason: str

    def describe(self) -> str:
        """``ledger.table_mismatch: table ballot row 17 / record 42: choice …``."""
        where = f"table {self.table} row {self.row}"
        if self.seq is not None:
            where += f" / record {self.seq}"
        return f"{RULE}: {where}: {self.reason}"


@dataclass(frozen=True)
class AttendanceRow:
    """An ``attendance`` row: member ``person`` present at meeting number ``meeting``."""

    id: int
    meeting: int
    person: int
    channel: str


@dataclass(frozen=True)
class ParticipationRow:
    """A ``participation`` row: member ``person`` took part in poll ``poll`` of meeting
    ``meeting`` by ``channel``; ``pending`` while its paper (or PIN-less hall-device) batch awaits
    a supervisor's confirmation, when the log has no record of it yet."""

    id: int
    meeting: int
    poll: int
    person: int
    channel: str
    pending: bool


@dataclass(frozen=True)
class RecusalRow:
    """A ``recusal`` row: member ``person`` declared recusal in poll ``poll`` of ``meeting``."""

    id: int
    meeting: int
    poll: int
    person: int


@dataclass(frozen=True)
class PollRow:
    """A ``poll`` row with its meeting's number, its matter's number and the tally columns."""

    id: int
    meeting: int
    number: int
    matter: str
    mode: str
    state: str
    present: int
    members: int
    yes: int | None
    no: int | None
    abstain: int | None
    recused: int | None
    verdict: str | None


@dataclass(frozen=True)
class MeetingRow:
    """A ``meeting`` row: its number and state."""

    id: int
    number: int
    state: str


@dataclass(frozen=True)
class MatterRow:
    """A ``matter`` row: its number and state."""

    id: int
    number: str
    state: str


@dataclass(frozen=True)
class StepRow:
    """A ``step_record`` row (the public timeline): matter number, seq, action, states, actor."""

    id: int
    matter: str
    seq: int
    step: str
    action: str
    from_state: str
    to_state: str
    actor: int


@dataclass
class LogFacts:
    """What the log says, built record by record (:meth:`feed`) so the log is read once, in
    order, with memory proportional to the rows compared (not to the records' bytes)."""

    ballots: dict[str, BallotFact] = field(default_factory=dict)
    #: (meeting, member) → (seq of the latest check-in, channel), for members present now (a
    #: ``meeting.leave`` removes them)
    attendance: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)
    #: (meeting, poll, member) → (seq, channel) of its ballot.cast or poll.participation
    participations: dict[tuple[int, int, int], tuple[int, str]] = field(default_factory=dict)
    #: (meeting, poll, member) → seq of its poll.recuse
    recusals: dict[tuple[int, int, int], int] = field(default_factory=dict)
    #: (meeting, poll) → poll.open body (and its seq)
    polls_opened: dict[tuple[int, int], tuple[int, Mapping[str, Any]]] = field(
        default_factory=dict)
    #: (meeting, poll) → poll.tally body (and its seq)
    tallies: dict[tuple[int, int], tuple[int, Mapping[str, Any]]] = field(default_factory=dict)
    #: (meeting, poll) → seq of its poll.void
    voided: dict[tuple[int, int], int] = field(default_factory=dict)
    #: meeting → (seq, state) of its latest meeting.convene / open / close
    meetings: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: matter → (seq, state) of its latest matter.step
    matters: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: (matter, step_seq) → (seq, step, action, from, to, person)
    steps: dict[tuple[str, int], tuple[int, str, str, str, str, int]] = field(
        default_factory=dict)

    def feed(self, record: Record) -> None:
        """Take one record into account (records must come in log order)."""
        body, seq, type_ = record.body, record.seq, record.type
        if type_ in BALLOT_TYPES:
            fact = ballot_fact(record)
            assert fact is not None
            self.ballots[fact.ballot] = fact
        if type_ in ("ballot.cast", "poll.participation"):
            self.participations[(body["meeting"], body["poll"], body["member"])] = (
                seq, body["channel"])
        elif type_ == "poll.recuse":
            self.recusals[(body["meeting"], body["poll"], body["member"])] = seq
        if type_ == "meeting.attend":
            self.attendance[(body["meeting"], body["member"])] = (seq, body["channel"])
        elif type_ == "meeting.leave":  # the member is no longer present: no row
            self.attendance.pop((body["meeting"], body["member"]), None)
        elif type_ == "poll.open":
            self.polls_opened[(body["meeting"], body["poll"])] = (seq, body)
        elif type_ == "poll.tally":
            self.tallies[(body["meeting"], body["poll"])] = (seq, body)
        elif type_ == "poll.void":
            self.voided[(body["meeting"], body["poll"])] = seq
        elif type_ in _MEETING_STATES:
            self.meetings[body["meeting"]] = (seq, _MEETING_STATES[type_])
        elif type_ == "matter.step":
            self.matters[body["matter"]] = (seq, body["to"])
            self.steps[(body["matter"], body["step_seq"])] = (
                seq, body["step"], body["action"], body["from"], body["to"], body["person"])


_MEETING_STATES = {"meeting.convene": "convened", "meeting.open": "open",
                   "meeting.close": "closed"}


def compare_tables(facts: LogFacts, *, ballots: Iterable[BallotRow],
                   attendance: Iterable[AttendanceRow], polls: Iterable[PollRow],
                   meetings: Iterable[MeetingRow], matters: Iterable[MatterRow],
                   steps: Iterable[StepRow], participations: Iterable[ParticipationRow],
                   recusals: Iterable[RecusalRow]) -> list[Mismatch]:
    """Every difference between the tables' rows and the log's facts, both ways: a row the log
    does not state, a row that says otherwise, and a fact with no row."""
    found: list[Mismatch] = []
    found += _compare_ballots(facts, ballots)
    found += _compare_attendance(facts, attendance)
    found += _compare_polls(facts, polls)
    found += _compare_meetings(facts, meetings)
    found += _compare_matters(facts, matters)
    found += _compare_steps(facts, steps)
    found += _compare_participations(facts, participations)
    found += _compare_recusals(facts, recusals)
    return found


def _compare_participations(facts: LogFacts,
                            rows: Iterable[ParticipationRow]) -> list[Mismatch]:
    """Who took part in which poll, and how: the rows pages read to say "已投票" and to refuse a
    second ballot, against the ``ballot.cast`` / ``poll.participation`` records."""
    found = []
    seen: set[tuple[int, int, int]] = set()
    for row in rows:
        key = (row.meeting, row.poll, row.person)
        where = f"{row.id} (meeting {row.meeting}, poll {row.poll}, member {row.person})"
        stated = facts.participations.get(key)
        if stated is None:
            if not row.pending:
                found.append(Mismatch("participation", where, None,
                                      "no ballot.cast or poll.participation record"))
            continue
        seen.add(key)
        if stated[1] != row.channel:
            found.append(Mismatch("participation", where, stated[0],
                                  f"channel {row.channel}, the record says {stated[1]}"))
    for (meeting, poll, member), (seq, _channel) in facts.participations.items():
        if (meeting, poll, member) not in seen:
            found.append(Mismatch("participation",
                                  f"(meeting {meeting}, poll {poll}, member {member})", seq,
                                  "took part by the log, no row in the table"))
    return found


def _compare_recusals(facts: LogFacts, rows: Iterable[RecusalRow]) -> list[Mismatch]:
    """Declared recusals (they change the tally's base) against the ``poll.recuse`` records."""
    found = []
    seen: set[tuple[int, int, int]] = set()
    for row in rows:
        key = (row.meeting, row.poll, row.person)
        seen.add(key)
        if key not in facts.recusals:
            found.append(Mismatch(
                "recusal", f"{row.id} (meeting {row.meeting}, poll {row.poll}, "
                f"member {row.person})", None, "no poll.recuse record"))
    for (meeting, poll, member), seq in facts.recusals.items():
        if (meeting, poll, member) not in seen:
            found.append(Mismatch("recusal", f"(meeting {meeting}, poll {poll}, member {member})",
                                  seq, "recused by the log, no row in the table"))
    return found


def _compare_ballots(facts: LogFacts, rows: Iterable[BallotRow]) -> list[Mismatch]:
    found = []
    seen: set[str] = set()
    for row in rows:
        seen.add(row.code)
        fact = facts.ballots.get(row.code)
        key = f"{row.id} (code {row.code})"
        if fact is None:
            if row.ledger_seq is not None or row.poll_closed:
                found.append(Mismatch("ballot", key, row.ledger_seq,
                                      "no ballot record with this code in the log"))
            continue
        differences = ballot_differences(row, fact)
        if differences:
            detail = "; ".join(_ballot_detail(name, row, fact) for name in differences)
            found.append(Mismatch("ballot", key, fact.seq, detail))
    for code, fact in facts.ballots.items():
        if code not in seen:
            found.append(Mismatch("ballot", f"(code {code})", fact.seq,
                                  "the log's ballot has no row in the table"))
    return found


def _ballot_detail(name: str, row: BallotRow, fact: BallotFact) -> str:
    if name == "ballot":
        return f"the row's ledger_seq points at ballot {fact.ballot}"
    if name == "record":
        return f"ledger_seq {row.ledger_seq}, the log has this ballot at {fact.seq}"
    if name == "poll":
        return (f"poll {row.meeting}/{row.poll}, the record says "
                f"{fact.meeting}/{fact.poll}")
    if name == "choice":
        return f"choice {row.choice}, the record says {fact.choice}"
    if name == "voter":
        return f"voter {row.voter}, the record says {fact.member}"
    return f"channel {row.channel}, the record says {fact.channel}"


def _compare_attendance(facts: LogFacts, rows: Iterable[AttendanceRow]) -> list[Mismatch]:
    found = []
    seen: set[tuple[int, int]] = set()
    for row in rows:
        key = (row.meeting, row.person)
        seen.add(key)
        where = f"{row.id} (meeting {row.meeting}, member {row.person})"
        stated = facts.attendance.get(key)
        if stated is None:
            found.append(Mismatch("attendance", where, None, "no meeting.attend record"))
        elif stated[1] != row.channel:
            found.append(Mismatch("attendance", where, stated[0],
                                  f"channel {row.channel}, the record says {stated[1]}"))
    for (meeting, member), (seq, _channel) in facts.attendance.items():
        if (meeting, member) not in seen:
            found.append(Mismatch("attendance", f"(meeting {meeting}, member {member})", seq,
                                  "checked in by the log, no row in the table"))
    return found


#: poll row column → poll.open body key, and poll row column → poll.tally body key.
_POLL_OPEN_COLUMNS = {"matter": "matter", "mode": "mode", "present": "present",
                      "members": "members"}
_POLL_TALLY_COLUMNS = {"yes": "yes", "no": "no", "abstain": "abstain", "recused": "recused",
                       "verdict": "verdict"}


def _compare_polls(facts: LogFacts, rows: Iterable[PollRow]) -> list[Mismatch]:
    found = []
    seen: set[tuple[int, int]] = set()
    for row in rows:
        key = (row.meeting, row.number)
        seen.add(key)
        where = f"{row.id} (meeting {row.meeting}, poll {row.number})"
        opened = facts.polls_opened.get(key)
        if opened is None:
            found.append(Mismatch("poll", where, None, "no poll.open record"))
            continue
        found += _columns("poll", where, row, opened, _POLL_OPEN_COLUMNS)
        tally = facts.tallies.get(key)
        voided = facts.voided.get(key)
        if voided is not None:
            if row.state != "void" or tally is not None:
                found.append(Mismatch("poll", where, voided,
                                      f"state {row.state}, the log has its poll.void"))
            continue
        if tally is None:
            # suspended: a second open poll on one matter, parked by migration 20261205_0017
            if row.state not in ("open", "suspended") or any(getattr(row, c) is not None
                                          for c in _POLL_TALLY_COLUMNS):
                found.append(Mismatch("poll", where, opened[0],
                                      f"state {row.state} with a tally, the log has no "
                                      "poll.tally"))
            continue
        if row.state != "closed":
            found.append(Mismatch("poll", where, tally[0],
                                  f"state {row.state}, the log has its poll.tally"))
        found += _columns("poll", where, row, tally, _POLL_TALLY_COLUMNS)
    for (meeting, poll), (seq, _body) in facts.polls_opened.items():
        if (meeting, poll) not in seen:
            found.append(Mismatch("poll", f"(meeting {meeting}, poll {poll})", seq,
                                  "opened in the log, no row in the table"))
    return found


def _columns(table: str, where: str, row: object, stated: tuple[int, Mapping[str, Any]],
             columns: Mapping[str, str]) -> list[Mismatch]:
    seq, body = stated
    differences = [f"{column} {getattr(row, column)!r}, the record says {body[key]!r}"
                   for column, key in columns.items() if getattr(row, column) != body[key]]
    return [Mismatch(table, where, seq, "; ".join(differences))] if differences else []


def _compare_meetings(facts: LogFacts, rows: Iterable[MeetingRow]) -> list[Mismatch]:
    found = []
    seen: set[int] = set()
    for row in rows:
        seen.add(row.number)
        where = f"{row.id} (meeting {row.number})"
        stated = facts.meetings.get(row.number)
        if stated is None:
            found.append(Mismatch("meeting", where, None, "no meeting.convene record"))
        elif stated[1] != row.state:
            found.append(Mismatch("meeting", where, stated[0],
                                  f"state {row.state}, the log says {stated[1]}"))
    for number, (seq, _state) in facts.meetings.items():
        if number not in seen:
            found.append(Mismatch("meeting", f"(meeting {number})", seq,
                                  "convened in the log, no row in the table"))
    return found


def _compare_matters(facts: LogFacts, rows: Iterable[MatterRow]) -> list[Mismatch]:
    found = []
    seen: set[str] = set()
    for row in rows:
        seen.add(row.number)
        where = f"{row.id} (matter {row.number})"
        stated = facts.matters.get(row.number)
        if stated is None:
            found.append(Mismatch("matter", where, None, "no matter.step record"))
        elif stated[1] != row.state:
            found.append(Mismatch("matter", where, stated[0],
                                  f"state {row.state}, the log's latest step leads to "
                                  f"{stated[1]}"))
    for number, (seq, _state) in facts.matters.items():
        if number not in seen:
            found.append(Mismatch("matter", f"(matter {number})", seq,
                                  "in the log, no row in the table"))
    return found


def _compare_steps(facts: LogFacts, rows: Iterable[StepRow]) -> list[Mismatch]:
    found = []
    seen: set[tuple[str, int]] = set()
    for row in rows:
        key = (row.matter, row.seq)
        seen.add(key)
        where = f"{row.id} (matter {row.matter}, step {row.seq})"
        stated = facts.steps.get(key)
        if stated is None:
            found.append(Mismatch("step_record", where, None, "no matter.step record"))
            continue
        seq, step, action, from_, to, person = stated
        said = (row.step, row.action, row.from_state, row.to_state, row.actor)
        if said != (step, action, from_, to, person):
            found.append(Mismatch("step_record", where, seq,
                                  f"step/action/from/to/actor {'/'.join(map(str, said))}, the "
                                  f"record says {step}/{action}/{from_}/{to}/{person}"))
    for (matter, step_seq), stated in facts.steps.items():
        if (matter, step_seq) not in seen:
            found.append(Mismatch("step_record", f"(matter {matter}, step {step_seq})",
                                  stated[0], "in the log, no row in the table"))
    return found
