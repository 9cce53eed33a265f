"""Offline, streaming verifier of a village ledger export (docs/ledger-format.md).

Each record type has one handler in ``_HANDLERS`` that checks its rules against the state kept
so far (role terms, settings, matters, suggestions, the assembly's meetings and polls) and then
applies its effect: e.g. ``role.appoint`` creates or amends a term, ``role.end`` shortens one,
``register.import`` needs an importing role on the China-time date of its ``at``,
``setting.snapshot`` (record 1 only) sets the settings the log began with, ``poll.open``
checks the quorum and ``poll.tally`` is recounted with :func:`sunvote.domain.assembly.count`;
``device.enrol`` and ``device.revoke`` keep each member's current cloud-voting device, whose
signature every cloud check-in, ballot and participation must carry (``device.py``);
step 6 (supervision) keeps each matter's notice period, objections and implementation updates:
``notice.publish`` follows its ``record_vote``, ``objection.file`` falls in the notice period,
an upheld ``objection.reply`` is followed by the matter's ``flag_breach`` back to the vote,
``start_implementation`` waits for the notice's end and every reply, and ``complete`` for every
``implementation.update`` confirmed and the last at 100 %.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sunvote.domain.administration import (
    REGISTER_KEEPERS,
    TOWNSHIP_ADMINS,
    checker_login_refusal,
    login_issuer_refusal,
    register_keeper_refusal,
)
from sunvote.domain.assembly import (
    ATTEND_PROOFS,
    BALLOT_ID_LENGTH,
    BALLOT_PROOFS,
    MEETING_RUNNERS,
    PAPER_CONFIRMERS,
    AttendProof,
    BallotProof,
    Channel,
    Choice,
    MeetingAction,
    MeetingState,
    PollState,
    VoteMode,
    Voter,
    attendance_proof_refusal,
    ballot_id_refusal,
    ballot_proof_refusal,
    ballot_refusal,
    count,
    leave_refusal,
    meeting_transition,
    meeting_transition_refusal,
    poll_opening_refusal,
    poll_tally_refusal,
    poll_void_refusal,
    quorum_needed,
    recusal_refusal,
    secret_ballot_linkable,
)
from sunvote.domain.errors import DomainError, SettingDisabled, SettingOutOfBounds
from sunvote.domain.ledger.canonical import canonical_json
from sunvote.domain.ledger.checkpoint import (
    CheckpointError,
    CosignatureError,
    CosignatureVerifier,
    open_checkpoint,
)
from sunvote.domain.ledger.device import (
    DeviceKey,
    DeviceKeyError,
    DeviceSignatureError,
    StatementError,
    parse_device_key,
    parse_signature,
    parse_statement,
)
from sunvote.domain.ledger.export import ExportError, read_meta
from sunvote.domain.ledger.merkle import (
    HASH_SIZE,
    append_leaf,
    border_root,
    leaf_hash,
    root_from_border,
)
from sunvote.domain.ledger.note import (
    KeyFormatError,
    NoteError,
    NoteSignature,
    Verifier,
    decode_base64_strict,
    parse_note_unverified,
)
from sunvote.domain.ledger.origin import legacy_origin, origin_names_village
from sunvote.domain.ledger.records import Record, RecordFormatError, b64, parse_record
from sunvote.domain.procedure import (
    FIELD_LABELS,
    TRANSITIONS_BY_ACTION,
    Action,
    MatterState,
    ProcedureSettings,
    Step,
    transition,
)
from sunvote.domain.roles import ASSEMBLY_ROLES, Role, Scope
from sunvote.domain.settings import (
    SETTINGS,
    SETTINGS_BY_KEY,
    PassRule,
    decode_setting,
    encode_setting,
)
from sunvote.domain.suggestions import DECLINERS, SuggestionStatus, open_refusal, status_of
from sunvote.domain.supervision import (
    IMPLEMENTERS,
    SCORES,
    SUPERVISORS,
    Outcome,
    objection_window_refusal,
    reply_due,
)

Kind = Literal["format", "signature", "chain", "semantics", "witness"]

#: Exit codes of docs/ledger-format.md; when several kinds fail, the smallest code wins.
EXIT_OK = 0
EXIT_USAGE = 1
EXIT_CODES: dict[str, int] = {"format": 2, "signature": 3, "chain": 4, "semantics": 5,
                              "witness": 6}
KINDS: tuple[Kind, ...] = ("format", "signature", "chain", "semantics", "witness")

#: A records line longer than this (base64 characters) is refused without being held in memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
#: Records per batch sent to a worker process (jobs > 1); at most jobs + 1 batches are in flight.
DEFAULT_CHUNK_SIZE = 500
#: Channels of ``suggestion.add`` (docs/ledger-format.md).
CHANNELS = frozenset({"qr", "paper", "box", "township"})
#: The counts of a ``register.import`` that add up to its ``rows``.
IMPORT_COUNTS: tuple[str, ...] = ("created", "changed", "unchanged", "rejected")
#: The ``role`` of an assembly record whose actor is the member it is about (self check-in,
#: own ballot or recusal); not a :class:`Role`: the member need hold no term, only be on the
#: meeting's frozen roster.
MEMBER_SELF = "member"
#: Channels of ``meeting.attend``; of ``ballot.cast``, ``poll.participation`` and
#: ``ballot.secret``; those a member uses themself; those a meeting runner enters.
ATTEND_CHANNELS = frozenset({Channel.HALL.value, Channel.CLOUD.value})
BALLOT_CHANNELS = frozenset(c.value for c in Channel)
SELF_CHANNELS = frozenset({Channel.HALL.value, Channel.DEVICE.value, Channel.CLOUD.value})
ENTERED_CHANNELS = frozenset({Channel.PAPER.value, Channel.HALL.value, Channel.DEVICE.value})
VERDICTS = ("passed", "rejected")
#: Actions whose fields carry a matter's category (the latest one decides the pass rule).
PROPOSING_ACTIONS = frozenset({Action.PROPOSE, Action.PROPOSE_AND_DISCUSS, Action.REPROPOSE})
#: Actions whose fields carry a matter's amount (``amount_fen``; a discuss may revise it).
AMOUNT_ACTIONS = PROPOSING_ACTIONS | {Action.DISCUSS}
#: The supervisory committee's answers to an objection.
OUTCOMES = frozenset(o.value for o in Outcome)
#: Records that begin something else: one of them inside a poll's closing sequence (after its
#: poll.close, before its notice.publish) abandons the unfinished sequence.
_ABANDONING = frozenset({"meeting.convene", "meeting.open", "meeting.close", "poll.open",
                         "poll.close", "poll.void"})

_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MATTER_NUMBER = re.compile(r"[0-9]{4}-[0-9]{3,}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
#: A quorum in the settings' text form (``2/3``, ``3/4``, ``1``); bounded before Fraction().
_FRACTION = re.compile(r"[0-9]{1,9}(/[0-9]{1,9})?")
#: What a fraction setting's text may look like before it reaches Fraction() (which would
#: expand an exponent such as ``1e-999999999`` without bound); anything else is invalid.
_SETTING_FRACTION = re.compile(r"[+-]?[0-9]{1,40}(/[0-9]{1,40}|\.[0-9]{0,40})?")
_ATTACHMENT_KEYS = frozenset({"name", "sha256", "size", "type"})
#: The ``device`` object of a cloud record (docs/cloud-voting.md).
_DEVICE_KEYS = frozenset({"key", "statement", "sig"})
#: Statement values that the record does not carry, checked by their form: the presence code
#: of a check-in (six digits, read off the hall screen) and an enrolment's challenge.
_PRESENCE_CODE = (re.compile(r"[0-9]{6}"), "six digits")
_CHALLENGE = (re.compile(r".+"), "a non-empty string")
_FIELD_NAMES = {label: name for name, label in FIELD_LABELS.items()}


def _china() -> dt.tzinfo:
    """Asia/Shanghai from the system or tzdata; offline fallback: UTC+8 (no DST since 1991)."""
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # pragma: no cover - depends on the platform's tz database
        return dt.timezone(dt.timedelta(hours=8), "CST")


CHINA = _china()


# =========================================================================== report


@dataclass(frozen=True)
class Failure:
    """One failure: the record index (None for the export or checkpoint), type, kind, reason."""

    index: int | None
    type: str | None
    kind: Kind
    reason: str

    @property
    def where(self) -> str:
        """``record 17 (matter.step)`` or ``export``."""
        if self.index is None:
            return "export"
        return f"record {self.index}" + (f" ({self.type})" if self.type else "")

    def describe(self) -> str:
        """One human-readable line: ``record 17 (matter.step): semantics: …``."""
        return f"{self.where}: {self.kind}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"index": self.index, "type": self.type, "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True)
class Report:
    """The outcome of verifying one export. Check it with :meth:`raise_for_failures`."""

    origin: str
    records: int
    root: bytes
    checkpoint_size: int | None
    checkpoint_root: bytes | None
    cosignatures: tuple[tuple[str, int], ...]
    trusted_key_source: Literal["given", "export"]
    trusted_witness_source: Literal["given", "export"]
    log_keys: tuple[str, ...]
    failures: tuple[Failure, ...]
    findings: tuple[Finding, ...] = ()  # privacy findings: reported, never a failure

    @property
    def ok(self) -> bool:
        """True when there is no failure at all."""
        return not self.failures

    @property
    def exit_code(self) -> int:
        """0 when verified, else the smallest exit code among the failures' kinds."""
        return exit_code_for(self.failures)

    def counts(self) -> dict[str, int]:
        """The number of failures of each kind (every kind present, zeros included)."""
        counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        for f in self.failures:
            counts[f.kind] += 1
        return counts

    def raise_for_failures(self) -> Report:
        """Raise :class:`VerificationFailed` unless the export verified; return self otherwise."""
        if self.failures:
            raise VerificationFailed(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report (what ``--json`` prints)."""
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "origin": self.origin,
            "records": self.records,
            "root": b64(self.root),
            "checkpoint": None if self.checkpoint_size is None or self.checkpoint_root is None
            else {"size": self.checkpoint_size, "root": b64(self.checkpoint_root)},
            "cosignatures": [{"name": name, "timestamp": ts, "time": utc_time(ts)}
                             for name, ts in self.cosignatures],
            "trusted_key_source": self.trusted_key_source,
            "trusted_witness_source": self.trusted_witness_source,
            "log_keys": list(self.log_keys),
            "counts": self.counts(),
            "failures": [f.to_dict() for f in self.failures],
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Finding:
    """A privacy finding that does not fail verification (the records are authentic, and a
    published record cannot be withdrawn), named by its rule code: e.g. ``ballot.secret_linkable``
    on a secret poll whose ``ballot.secret`` records carry their channel."""

    index: int
    type: str
    rule: str
    reason: str

    def describe(self) -> str:
        """One human-readable line: ``record 17 (poll.tally): ballot.secret_linkable: …``."""
        return f"record {self.index} ({self.type}): {self.rule}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"index": self.index, "type": self.type, "rule": self.rule,
                "reason": self.reason}


class VerificationFailed(Exception):
    """The export did not verify; ``report`` holds every failure."""

    def __init__(self, report: Report) -> None:
        """Keep the report; the message names the first failure and the count."""
        first = report.failures[0].describe() if report.failures else "no failure"
        super().__init__(f"{len(report.failures)} verification failure(s); first: {first}")
        self.report = report


def utc_time(timestamp: int) -> str:
    """A POSIX timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` (or the number if out of range)."""
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


# =========================================================================== preparing

Candidate = tuple[str, int, bytes]
"""``(key name, key ID, Ed25519 public key)``: a log key the workers check signatures against."""


@functools.lru_cache(maxsize=256)
def _public_key(raw: bytes) -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


def signature_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under ``public_key``."""
    key = _public_key(public_key)
    if key is None or len(signature) != 64:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


class ParsedRecord(NamedTuple):
    """The parts of a well-formed record that the sequential checks read (small to pickle)."""

    seq: int
    log: str
    prev: bytes
    type: str
    body: Mapping[str, Any]
    signatures: tuple[NoteSignature, ...]
    message: bytes  # the signed note text: what every signature line covers

    @classmethod
    def of(cls, record: Record) -> ParsedRecord:
        """Keep what the checks need from a parsed record (not its raw bytes twice over)."""
        return cls(record.seq, record.log, record.prev, record.type, record.body,
                   record.note.signatures, record.note.signed_bytes)

    def __reduce__(self) -> tuple[Any, ...]:
        """Unpickle with ``tuple.__new__`` (C) rather than the named tuple's ``__new__``."""
        return tuple.__new__, (ParsedRecord, tuple(self))


class Prepared(NamedTuple):
    """What can be checked about one records line without knowing the lines before it.

    ``line`` is the line index; ``leaf`` the leaf hash of the bytes that enter the tree (the
    decoded record, or a stand-in for a line that cannot be decoded); ``problems`` are format
    failures, in order; ``record`` is the parsed record (None if malformed); ``verified``
    holds ``(signature line position, candidate number, valid)`` for every signature line by a
    candidate key. (Named tuples: they cross from worker processes cheaply.)
    """

    line: int
    leaf: bytes
    record: ParsedRecord | None
    type_hint: str | None
    problems: tuple[str, ...] = ()
    verified: tuple[tuple[int, int, bool], ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        """Unpickle with ``tuple.__new__`` (C) rather than the named tuple's ``__new__``."""
        return tuple.__new__, (Prepared, tuple(self))


def prepare_line(index: int, line: bytes, problem: str | None = None,
                 candidates: Sequence[Candidate] = ()) -> Prepared:
    """Decode (strict base64), hash and parse one records line; check the signatures by
    ``candidates``. Pure: the same answer in any process, so workers can run it."""
    problems: list[str] = [] if problem is None else [problem]
    try:
        raw = decode_base64_strict(line.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        problems.append("records line is not canonical standard base64")
        lenient = _lenient_base64(line)
        if lenient is None:  # keep the count and the later checks going with a stand-in leaf
            return Prepared(index, leaf_hash(line), None, None, tuple(problems))
        raw = lenient
    return prepare_record(index, raw, tuple(problems), candidates)


def prepare_record(index: int, raw: bytes, problems: tuple[str, ...] = (),
                   candidates: Sequence[Candidate] = ()) -> Prepared:
    """Hash and parse one record's bytes and check the signatures by ``candidates`` (pure)."""
    leaf = leaf_hash(raw)
    try:
        record = parse_record(raw)
    except RecordFormatError as exc:
        return Prepared(index, leaf, None, _guess_type(raw),
                        (*problems, f"malformed record: {exc}"))
    parsed = ParsedRecord.of(record)
    verified: list[tuple[int, int, bool]] = []
    for position, sig in enumerate(parsed.signatures):
        for number, (name, key_id, public_key) in enumerate(candidates):
            if (sig.name, sig.key_id) == (name, key_id):
                verified.append((position, number,
                                 signature_valid(public_key, parsed.message, sig.signature)))
    return Prepared(index, leaf, parsed, record.type, problems, tuple(verified))


def prepare_chunk(items: Sequence[tuple[int, bytes, str | None]],
                  candidates: Sequence[Candidate]) -> list[Prepared]:
    """:func:`prepare_line` for a batch of lines (what a worker process runs)."""
    return [prepare_line(index, line, problem, candidates) for index, line, problem in items]


Line = tuple[int, bytes, str | None]
"""``(index, line without newline, reading problem or None)``."""


def prepare_lines(lines: Iterable[Line], *, jobs: int = 1,
                  candidates: Sequence[Candidate] = (),
                  chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Prepared]:
    """Prepare every line, in order: inline for ``jobs=1``, else in ``jobs`` worker processes.

    Workers get chunks of ``chunk_size`` lines (or about 4 MB); at most ``jobs + 1`` chunks are
    in flight, so memory is bounded whatever the log's length.
    """
    if jobs <= 1:
        for index, line, problem in lines:
            yield prepare_line(index, line, problem, candidates)
        return
    pending: deque[Future[list[Prepared]]] = deque()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        try:
            for chunk in _chunks(lines, chunk_size):
                while len(pending) > jobs:
                    yield from pending.popleft().result()
                pending.append(pool.submit(prepare_chunk, chunk, tuple(candidates)))
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _chunks(lines: Iterable[Line], size: int, max_bytes: int = 4 << 20) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    total = 0
    for item in lines:
        chunk.append(item)
        total += len(item[1])
        if len(chunk) >= size or total >= max_bytes:
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk


# =========================================================================== log verifier


@dataclass
class _Matter:
    state: MatterState
    steps: int
    category: int | None = None  # from the latest propose / propose_and_discuss / repropose
    amount_fen: int | None = None  # from the latest of those, or a discuss that revised it


class _Notice(NamedTuple):
    """A matter's published result: passed (with a notice period) or not, when it was
    published and when its notice period ends (None when rejected, or if ``at`` is bad)."""

    passed: bool
    start: dt.datetime | None
    end: dt.datetime | None


@dataclass
class _Supervision:
    """Step 6 of one matter: its latest published result, its objections (the highest number
    and those not answered) and its implementation updates (the highest number, who recorded
    each one not yet confirmed, the progress of the latest)."""

    notice: _Notice | None = None
    objections: int = 0
    unanswered: set[int] = field(default_factory=set)
    updates: int = 0
    unconfirmed: dict[int, int] = field(default_factory=dict)  # update -> who recorded it
    recorders: set[int] = field(default_factory=set)  # who recorded any update
    progress: int | None = None


@dataclass(frozen=True)
class _Upheld:
    """An upheld objection.reply: the matter's flag_breach back to the vote must come next."""

    index: int
    matter: str
    objection: int
    person: int


@dataclass
class _Poll:
    """An open poll (and, after poll.close, the poll whose closing sequence runs)."""

    number: int
    matter: str
    secret: bool
    present: int  # as poll.open stated them: the tally is recounted with these
    members: int
    rule: PassRule
    recusal_counts_present: bool
    # Members present when the poll opened: only they vote or recuse on it (the tally's base is
    # the number present at opening, so a latecomer's ballot could not be counted against it).
    eligible: frozenset[int] = frozenset()
    # Members of ``eligible`` who left (meeting.leave) since it opened: they vote on it no more,
    # even once back (their new check-in is after its opening). A paper ballot handed in
    # before they left may still be confirmed.
    left: set[int] = field(default_factory=set)
    recused: set[int] = field(default_factory=set)
    voted: set[int] = field(default_factory=set)  # members with a ballot.cast/participation
    records: int = 0  # ballot.cast (named) or poll.participation (secret) records
    channels: Counter[str] = field(default_factory=Counter)  # of those records
    choices: Counter[Choice] = field(default_factory=Counter)  # ballot.cast / ballot.secret
    secret_channels: Counter[str] = field(default_factory=Counter)  # of the ballot.secret
    linkable: str | None = None  # the rule code, if its ballot.secret records say too much
    paper: int = 0  # paper ballots (or paper participations) so far
    confirmed: int = 0  # paper ballots confirmed by paper.confirm so far


@dataclass
class _Meeting:
    """A convened meeting that has not closed (dropped at meeting.close)."""

    agenda: tuple[str, ...]
    starts_on: dt.date | None  # China date of starts_at
    state: MeetingState = MeetingState.CONVENED  # by domain.assembly.MEETING_TRANSITIONS
    roster: dict[int, str] = field(default_factory=dict)  # frozen at meeting.open
    present: dict[int, str] = field(default_factory=dict)  # member -> channel
    left: set[int] = field(default_factory=set)  # members who left (meeting.leave) at least once
    polls: int = 0
    polled: set[str] = field(default_factory=set)  # matters polled in this meeting
    poll: _Poll | None = None  # the open poll


@dataclass
class _Closing:
    """A closed poll whose records must follow in order: ``expected`` ballot.secret records
    (secret poll), its poll.tally, the matter.step record_vote of its matter, then the
    notice.publish of that matter (the result published, step 6)."""

    meeting: int
    poll: _Poll
    closer: int
    declared: int  # poll.close's ballots
    expected: int  # ballot.secret records still to come
    stage: Literal["secret", "tally", "vote", "notice"]
    verdict: str | None = None  # the tally's verdict, for record_vote


#: Suggestion ids below this are kept as bits (at most 2 × 16 MB, whatever the log says);
#: others, in a dict.
DENSE_SUGGESTION_IDS = 1 << 27


class _SuggestionIds:
    """The suggestion ids added so far and whether each was merged, used as a dict would be:
    ``sid in ids``, ``ids[sid]`` (merged?), ``ids[sid] = merged``.

    Ids are database ids, dense from 1: positive ids below :data:`DENSE_SUGGESTION_IDS` are one
    bit in each of two bitmaps that grow to the largest id seen (a million suggestions take
    250 KB; a dict of them took about 80 MB, most of the verifier's memory). Other ids (zero,
    negative, huge: a format failure or a strange log) go to a dict, so the answers stay exact.
    """

    __slots__ = ("_added", "_merged", "_other")

    def __init__(self) -> None:
        """No ids yet."""
        self._added = bytearray()
        self._merged = bytearray()
        self._other: dict[int, bool] = {}

    def __contains__(self, sid: int) -> bool:
        """Whether ``sid`` was added."""
        if 0 < sid < DENSE_SUGGESTION_IDS:
            byte = sid >> 3
            return byte < len(self._added) and bool(self._added[byte] >> (sid & 7) & 1)
        return sid in self._other

    def __getitem__(self, sid: int) -> bool:
        """Whether the added suggestion ``sid`` was merged (KeyError if it was not added)."""
        if 0 < sid < DENSE_SUGGESTION_IDS:
            if sid not in self:
                raise KeyError(sid)
            return bool(self._merged[sid >> 3] >> (sid & 7) & 1)
        return self._other[sid]

    def __setitem__(self, sid: int, merged: bool) -> None:
        """Add ``sid`` (if new) and set whether it is merged."""
        if not 0 < sid < DENSE_SUGGESTION_IDS:
            self._other[sid] = merged
            return
        byte, bit = sid >> 3, 1 << (sid & 7)
        if byte >= len(self._added):  # grow by doubling, never past the dense range
            size = min(max(byte + 1, 2 * len(self._added)), DENSE_SUGGESTION_IDS >> 3)
            self._added.extend(bytes(size - len(self._added)))
            self._merged.extend(bytes(size - len(self._merged)))
        self._added[byte] |= bit
        if merged:
            self._merged[byte] |= bit
        else:
            self._merged[byte] &= ~bit & 0xFF


@dataclass
class _Rotation:
    index: int
    old: Verifier
    new: Verifier
    signed: bool  # both signatures verified


@dataclass
class _Device:
    """An enrolled device key: whose, the record that enrolled it, and how it stopped being
    the member's device (``replaced at record N`` / ``revoked at record N``), if it did."""

    member: int
    enrolled: int
    ended: str | None = None


@dataclass
class _Failures:
    """Failures in three groups: before the records, per record, after the records."""

    head: list[Failure] = field(default_factory=list)
    records: list[Failure] = field(default_factory=list)
    tail: list[Failure] = field(default_factory=list)


class LogVerifier:
    """Checks one village log, fed one record at a time; memory does not grow with the log.

    It keeps only the Merkle right border, the key chain, the role terms (and which of them a
    ``role.end`` has ended), the settings in force, each matter's state, step count and
    category, the suggestion ids (two bits per id up to the largest: :class:`_SuggestionIds`),
    the meetings not yet closed (agenda, frozen roster, who is present, the open poll), the
    open polls of each matter, the closing sequence of the last closed poll, and the ballot
    ids (which grow with the log: 16–64 bytes per ballot); in step 6, per matter its amount,
    notice period, open objections and unconfirmed updates. Feed it lines (:meth:`feed_line`),
    record bytes (:meth:`feed`) or :class:`Prepared` lines made elsewhere, e.g. in worker
    processes (:meth:`consume`); then call :meth:`finish`.
    """

    def __init__(self, origin: str, trusted_log_vkeys: Sequence[str], *,
                 trusted_key_source: Literal["given", "export"] = "given",
                 listed_log_vkeys: Sequence[str] | None = None) -> None:
        """``trusted_log_vkeys``: the keys trusted as log keys (``--key``, else ``log.vkey``);
        ``listed_log_vkeys``: the export's ``log.vkey`` lines, compared with the key chain."""
        self.origin = origin
        self._failures = _Failures()
        self._findings: list[Finding] = []
        self._source: Literal["given", "export"] = trusted_key_source
        self._trusted: list[Verifier] = []
        for line in trusted_log_vkeys:
            key = self._parse_vkey(line)
            if key is None:
                self._failures.head.append(Failure(
                    None, None, "signature", f"trusted log key {line[:80]!r} is malformed"))
            elif key.name != origin:
                self._failures.head.append(Failure(
                    None, None, "signature",
                    f"trusted log key {key.vkey} is not named after the origin {origin!r}"))
            else:
                self._trusted.append(key)
        self._listed = None if listed_log_vkeys is None else tuple(listed_log_vkeys)
        # Keys worth checking signatures against in advance (a hint only: a worker's answer is
        # used only when its key is the very key the sequential checks need).
        hinted = [*self._trusted, *(k for k in map(self._parse_vkey, self._listed or ())
                                    if k is not None and k.name == origin)]
        self._candidates: tuple[Candidate, ...] = tuple(dict.fromkeys(
            (k.name, k.key_id, k.public_key) for k in hinted))
        # Merkle tree
        self._size = 0
        self._border: list[bytes] = []
        self._diverged: int | None = None  # first record whose prev did not match
        # keys
        self._key: Verifier | None = None
        self._chain: list[Verifier] = []
        self._known: dict[tuple[str, int], Verifier] = {}
        self._revoked: set[tuple[str, int]] = set()
        self._rotations: list[_Rotation] = []
        # village state
        self._township: str | None = None
        # person -> [(role, starts_on, ends_on or None)]; a term is keyed by its person, role
        # and starts_on. ``_ended``: the terms a role.end has ended (no role.appoint re-opens
        # them).
        self._terms: dict[int, list[tuple[Role, dt.date, dt.date | None]]] = {}
        self._ended: set[tuple[int, Role, dt.date]] = set()
        self._settings: dict[str, object] = {s.key: s.default for s in SETTINGS}
        self._snapshot: int | None = None  # the index of the first setting.snapshot
        self._matters: dict[str, _Matter] = {}
        self._suggestions = _SuggestionIds()
        self._declined: set[int] = set()  # suggestions not taken up (few: a set will do)
        # the assembly: the last meeting number convened, the meetings not yet closed, the
        # closing sequence under way, the closing the current record fits (set per record by
        # _sequence), and every ballot id seen.
        self._last_meeting = 0
        self._meetings: dict[int, _Meeting] = {}
        self._closing: _Closing | None = None
        # Matter -> its open polls (meeting, poll), first opened first: one open poll per matter.
        self._open_polls: dict[str, list[tuple[int, int]]] = {}
        self._fit: _Closing | None = None
        self._ballots: set[str] = set()
        # presence and ballot proofs (issue 13): the first meeting.attend / ballot.cast /
        # poll.participation record carrying ``proof``; from it on every such record must.
        self._proofs_from: int | None = None
        # cloud voting: each member's current device key (text), and every key ever enrolled
        # (like the ballot ids, this grows with the log: one entry per enrolment).
        self._devices: dict[int, str] = {}
        self._device_keys: dict[str, _Device] = {}
        # step 6 (supervision): per matter, its notice period, objections and implementation
        # updates; and an upheld objection whose flag_breach must come next.
        self._supervision: dict[str, _Supervision] = {}
        self._upheld: _Upheld | None = None
        # accounts: who issued each person's login or last reset it (account.issue/reset);
        # per matter, who opened its polls (whom an objection to the vote checks).
        self._issuers: dict[int, int] = {}
        self._vote_runners: dict[str, set[int]] = {}

    # ------------------------------------------------------------------ feeding

    @property
    def size(self) -> int:
        """The number of records fed so far."""
        return self._size

    @property
    def root(self) -> bytes:
        """The RFC 6962 root of the records fed so far."""
        return root_from_border(self._border)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Keys for :func:`prepare_lines` to check signatures against early: the trusted keys
        and those the export lists (a hint only; see :meth:`_signature_ok`)."""
        return self._candidates

    def feed_line(self, index: int, line: bytes, problem: str | None = None) -> None:
        """Feed one line of the ``records`` file (without its newline): strict base64.

        ``problem`` is a reading problem to report as a format failure (e.g. a cut-off last
        line); the line is still checked as far as it goes.
        """
        self.consume(prepare_line(index, line, problem))

    def feed(self, index: int, raw: bytes) -> None:
        """Feed record ``index`` (its exact bytes). Records must be fed in line order."""
        self.consume(prepare_record(index, raw))

    def consume(self, prepared: Prepared) -> None:
        """Run the sequential checks on one prepared line (lines must come in order)."""
        index = prepared.line
        if index != self._size:
            raise ValueError(f"records must be fed in order: got {index}, expected {self._size}")
        if len(prepared.leaf) != HASH_SIZE:
            raise ValueError("a prepared line's leaf must be a 32-byte hash")
        # The unchecked helpers: every hash in the border was made here or by leaf_hash.
        prev = border_root(self._border)
        append_leaf(self._size, self._border, prepared.leaf)
        self._size += 1
        for problem in prepared.problems:
            self._fail(index, prepared.type_hint, "format", problem)
        record = prepared.record
        if record is None:
            return
        # chain
        if record.seq != index:
            self._fail(index, record.type, "chain", f"seq is {record.seq}, expected {index}")
        if record.log != self.origin:
            self._fail(index, record.type, "chain",
                       f"log is {record.log!r}, not the export's origin {self.origin!r}")
        if record.prev != prev:
            since = ("" if self._diverged is None
                     else f"; the history already differs from record {self._diverged} on")
            self._fail(index, record.type, "chain",
                       f"prev {b64(record.prev)} is not the root of the {index} records before "
                       f"it ({b64(prev)}){since}")
            if self._diverged is None:
                self._diverged = index
        # keys and signatures (the key in force is the one before this record's own change)
        new_key: Verifier | None = None
        if record.type == "log.init":
            self._log_init(index, record)
        elif index == 0:
            self._fail(index, record.type, "semantics", "record 0 must be log.init")
            self._fallback_key()
        elif record.type == "key.rotate":
            new_key = self._rotation_key(index, record)
        sigs_ok = self._check_signatures(prepared, record, new_key)
        if new_key is not None:
            self._rotate(index, new_key, sigs_ok)
        # type rules
        handler = _HANDLERS.get(record.type)
        if handler is not None:
            self._fit = self._sequence(index, record)
            handler(self, index, record)

    # ------------------------------------------------------------------ failures

    def _fail(self, index: int, type_: str | None, kind: Kind, reason: str) -> None:
        self._failures.records.append(Failure(index, type_, kind, reason))

    # ------------------------------------------------------------------ keys

    @staticmethod
    def _parse_vkey(text: object) -> Verifier | None:
        if not isinstance(text, str):
            return None
        try:
            return Verifier.from_vkey(text)
        except (KeyFormatError, ValueError):
            return None

    def _fallback_key(self) -> None:
        """Without a valid log.init, check signatures against the first trusted key."""
        if self._key is None and self._trusted:
            self._set_initial_key(self._trusted[0])

    def _set_initial_key(self, key: Verifier) -> None:
        self._key = key
        self._chain = [key]
        self._known[(key.name, key.key_id)] = key

    def _log_init(self, index: int, record: ParsedRecord) -> None:
        body = record.body
        if index != 0:
            self._fail(index, record.type, "semantics",
                       "log.init may only be record 0 (the log has already begun)")
            return
        if not origin_names_village(self.origin, str(body["township"]), str(body["village"])):
            expected = f"<installation>/{body['township']}/{body['village']}"
            self._fail(index, record.type, "semantics",
                       f"log.init names village {body['village']!r} of township "
                       f"{body['township']!r}, i.e. origin {expected!r} (or "
                       f"{legacy_origin(str(body['township']), str(body['village']))!r} for "
                       f"a log begun before origins were unique), not {self.origin!r}")
        self._township = body["township"]
        key = self._parse_vkey(body["key"])
        if key is None:
            self._fail(index, record.type, "semantics",
                       f"log.init key {str(body['key'])[:80]!r} is not a valid verifier key")
            self._fallback_key()
        elif key.name != self.origin:
            self._fail(index, record.type, "semantics",
                       f"log.init key is named {key.name!r}, not the origin {self.origin!r}")
            self._fallback_key()
        else:
            self._set_initial_key(key)

    def _rotation_key(self, index: int, record: ParsedRecord) -> Verifier | None:
        """Validate a key.rotate's keys; return the new key if the rotation can take effect."""
        body = record.body
        old = self._parse_vkey(body["old"])
        new = self._parse_vkey(body["new"])
        if old is None or self._key is None or old != self._key:
            in_force = self._key.vkey if self._key is not None else "none"
            self._fail(index, record.type, "signature",
                       f"key.rotate names old key {str(body['old'])[:80]!r}, but the log key "
                       f"in force is {in_force}")
        if new is None:
            self._fail(index, record.type, "signature",
                       f"key.rotate new key {str(body['new'])[:80]!r} is not a valid verifier key")
            return None
        if new.name != self.origin:
            self._fail(index, record.type, "signature",
                       f"key.rotate new key is named {new.name!r}, not the origin")
            return None
        if new in self._chain:
            self._fail(index, record.type, "semantics",
                       f"key.rotate new key {new.vkey} was already used by this log")
        return new

    def _rotate(self, index: int, new: Verifier, signed: bool) -> None:
        old = self._key
        if old is not None:
            self._rotations.append(_Rotation(index, old, new, signed))
        self._key = new
        self._chain.append(new)
        self._known[(new.name, new.key_id)] = new

    def _signature_ok(self, prepared: Prepared, record: ParsedRecord, position: int,
                      key: Verifier) -> bool:
        """Whether signature line ``position`` verifies under ``key`` (a worker's answer when
        it checked the same key, else checked here: the same pure function either way)."""
        for pos, number, valid in prepared.verified:
            if pos == position and self._candidates[number][2] == key.public_key:
                return valid
        return signature_valid(key.public_key, record.message,
                               record.signatures[position].signature)

    def _check_signatures(self, prepared: Prepared, record: ParsedRecord,
                          new_key: Verifier | None) -> bool:
        """Check the record's signature lines; return whether the log key(s) verified."""
        index, t = prepared.line, record.type
        sigs = record.signatures
        key = self._key
        first = sigs[0]
        ok = True
        if key is None:
            self._fail(index, t, "signature", "no log key is in force to check it")
            ok = False
        elif (first.name, first.key_id) != (key.name, key.key_id):
            self._fail(index, t, "signature",
                       f"first signature is by {_sig_name(first)}, not by the log key in force "
                       f"{key.name}+{key.key_id:08x}")
            ok = False
        elif not self._signature_ok(prepared, record, 0, key):
            self._fail(index, t, "signature",
                       f"the log key's signature ({key.name}+{key.key_id:08x}) does not verify")
            ok = False
        if new_key is not None:
            second = sigs[1] if len(sigs) > 1 else None
            if second is None or (second.name, second.key_id) != (new_key.name, new_key.key_id):
                self._fail(index, t, "signature",
                           "key.rotate must carry the new key's signature on its second line "
                           f"({new_key.name}+{new_key.key_id:08x})")
                ok = False
            elif not self._signature_ok(prepared, record, 1, new_key):
                self._fail(index, t, "signature",
                           "the new key's signature on key.rotate does not verify")
                ok = False
        for position, sig in enumerate(sigs):
            pair = (sig.name, sig.key_id)
            if pair in self._revoked:
                self._fail(index, t, "signature",
                           f"signature line {position + 1} is by the revoked key {_sig_name(sig)}")
            if position == 0 or (new_key is not None and position == 1):
                continue
            known = self._known.get(pair)
            if known is not None and not self._signature_ok(prepared, record, position, known):
                # A former log key signing again must at least verify.
                self._fail(index, t, "signature",
                           f"signature line {position + 1} by {_sig_name(sig)} does not verify")
        return ok

    # ------------------------------------------------------------------ finishing

    def finish(self, checkpoint: bytes, *, witness_vkeys: Sequence[str] = (),
               trusted_witness_source: Literal["given", "export"] = "export",
               require_cosignature: bool = False, witness_threshold: int = 0) -> Report:
        """Check the signed checkpoint, the trust in the key chain and the cosignatures: at
        least ``witness_threshold`` distinct known witnesses (1 with ``require_cosignature``)."""
        tail = self._failures.tail
        root = self.root
        if self._size == 0:
            tail.append(Failure(None, None, "semantics",
                                "the export has no records: a log begins with log.init"))
            self._fallback_key()
        self._check_trust(tail)
        checkpoint_size, checkpoint_root = self._check_checkpoint(checkpoint, root, tail)
        required = max(witness_threshold, 1 if require_cosignature else 0)
        cosignatures = self._check_witnesses(checkpoint, witness_vkeys, required, tail)
        records = sorted(self._failures.records,
                         key=lambda f: (f.index if f.index is not None else -1,
                                        EXIT_CODES[f.kind]))
        return Report(
            origin=self.origin, records=self._size, root=root,
            checkpoint_size=checkpoint_size, checkpoint_root=checkpoint_root,
            cosignatures=tuple(cosignatures), trusted_key_source=self._source,
            trusted_witness_source=trusted_witness_source,
            log_keys=tuple(k.vkey for k in self._chain),
            failures=(*self._failures.head, *records, *tail), findings=tuple(self._findings))

    def _check_trust(self, tail: list[Failure]) -> None:
        chain = [k.vkey for k in self._chain]
        if self._listed is not None and list(self._listed) != chain:
            tail.append(Failure(None, None, "signature",
                                f"log.vkey lists {len(self._listed)} key(s) that are not the "
                                f"log's key chain ({len(chain)} key(s): log.init then each "
                                "key.rotate, oldest first)"))
        if self._key is None:
            return
        trusted = set(self._trusted)
        for rotation in self._rotations:
            if rotation.old in trusted and rotation.signed:
                trusted.add(rotation.new)
        if self._key not in trusted:
            source = "--key" if self._source == "given" else "log.vkey"
            tail.append(Failure(None, None, "signature",
                                f"the log key in force at the end ({self._key.vkey}) is neither "
                                f"a trusted key ({source}) nor reached from one by a validly "
                                "signed key.rotate"))

    def _check_checkpoint(self, checkpoint: bytes, root: bytes,
                          tail: list[Failure]) -> tuple[int | None, bytes | None]:
        try:
            parsed = parse_note_unverified(checkpoint)
        except NoteError as exc:
            tail.append(Failure(None, None, "chain", f"checkpoint is not a signed note: {exc}"))
            return None, None
        for position, sig in enumerate(parsed.signatures):
            if (sig.name, sig.key_id) in self._revoked:
                tail.append(Failure(None, None, "signature",
                                    f"checkpoint signature line {position + 1} is by the revoked "
                                    f"key {_sig_name(sig)}"))
        if self._key is None:
            tail.append(Failure(None, None, "chain", "no log key to check the checkpoint with"))
            return None, None
        try:
            opened = open_checkpoint(checkpoint, self._key, self.origin)
        except (NoteError, CheckpointError) as exc:
            tail.append(Failure(None, None, "chain",
                                f"checkpoint does not verify under the log key in force "
                                f"({self._key.name}+{self._key.key_id:08x}): {exc}"))
            return None, None
        if opened.size != self._size or opened.root != root:
            tail.append(Failure(None, None, "chain",
                                f"checkpoint is for {opened.size} records with root "
                                f"{b64(opened.root)}; the export has {self._size} records with "
                                f"root {b64(root)}"))
        return opened.size, opened.root

    def _check_witnesses(self, checkpoint: bytes, witness_vkeys: Sequence[str],
                         required: int, tail: list[Failure]) -> list[tuple[str, int]]:
        witnesses: list[CosignatureVerifier] = []
        for line in witness_vkeys:
            try:
                witness = CosignatureVerifier.from_vkey(line)
                if witness not in witnesses:  # a key given twice counts once
                    witnesses.append(witness)
            except (KeyFormatError, CosignatureError, ValueError):
                tail.append(Failure(None, None, "witness",
                                    f"witness key {line[:80]!r} is malformed"))
        found: list[tuple[str, int]] = []
        try:
            parsed = parse_note_unverified(checkpoint)
        except NoteError:
            parsed = None  # already reported as a chain failure
        if parsed is not None:
            for witness in witnesses:
                stamps: list[int] = []
                for sig in parsed.signatures:
                    if (sig.name, sig.key_id) != (witness.name, witness.key_id):
                        continue
                    if witness.signature_valid(parsed.signed_bytes, sig.signature):
                        stamps.append(int.from_bytes(sig.signature[:8], "big"))
                    else:
                        tail.append(Failure(None, None, "witness",
                                            f"cosignature by {witness.name} does not verify"))
                if stamps:
                    found.append((witness.name, max(stamps)))
        if required == 1 and not found:
            why = "" if witnesses else " (no witness key given or in witness.vkey)"
            tail.append(Failure(None, None, "witness",
                                "the checkpoint has no valid cosignature from a known witness"
                                + why))
        elif len(found) < required:
            tail.append(Failure(None, None, "witness",
                                f"the checkpoint has valid cosignatures from {len(found)} of the "
                                f"{len(witnesses)} known witnesses; the threshold is {required}"))
        return found

    # ------------------------------------------------------------------ type rules

    def _at(self, index: int, record: ParsedRecord) -> dt.date | None:
        """The China-time date of the record's ``at``; None (and a failure) if malformed."""
        at = record.body["at"]
        moment = _parse_at(at)
        if moment is None:
            self._fail(index, record.type, "format",
                       f"at {str(at)[:40]!r} is not a UTC time YYYY-MM-DDTHH:MM:SSZ")
            return None
        return moment.astimezone(CHINA).date()

    def _roles_on(self, person: int, day: dt.date) -> frozenset[Role]:
        return frozenset(role for role, start, end in self._terms.get(person, ())
                         if start <= day and (end is None or day <= end))

    def _key_rotate(self, index: int, record: ParsedRecord) -> None:
        self._at(index, record)

    def _key_revoke(self, index: int, record: ParsedRecord) -> None:
        self._at(index, record)
        key = self._parse_vkey(record.body["key"])
        if key is None or key not in self._chain or key == self._key:
            self._fail(index, record.type, "semantics",
                       f"key.revoke names {str(record.body['key'])[:80]!r}, which is not a "
                       "former log key of this log")
            return
        pair = (key.name, key.key_id)
        if pair in self._revoked:
            self._fail(index, record.type, "semantics", f"key {key.vkey} is already revoked")
        self._revoked.add(pair)

    def _log_init_rules(self, index: int, record: ParsedRecord) -> None:
        self._at(index, record)

    def _role_appoint(self, index: int, record: ParsedRecord) -> None:
        body = record.body
        t = record.type
        self._at(index, record)
        ok = True
        person = body["person"]
        if person < 1:
            self._fail(index, t, "format", f"person {person} is not a positive id")
            ok = False
        try:
            role = Role(body["role"])
        except ValueError:
            self._fail(index, t, "format", f"unknown role {str(body['role'])[:40]!r}")
            return
        try:
            scope = Scope(body["scope"])
        except ValueError:
            self._fail(index, t, "format", f"unknown scope {str(body['scope'])[:40]!r}")
            scope = None
        starts_on = _parse_date(body["starts_on"])
        ends_on = None if body["ends_on"] is None else _parse_date(body["ends_on"])
        if starts_on is None:
            self._fail(index, t, "format", "starts_on is not a date YYYY-MM-DD")
            ok = False
        if body["ends_on"] is not None and ends_on is None:
            self._fail(index, t, "format", "ends_on is not a date YYYY-MM-DD (or null)")
            ok = False
        if role is Role.ASSEMBLY:
            self._fail(index, t, "semantics", "the assembly is not a role a person can hold")
            return
        if scope is not None and scope is not role.scope:
            self._fail(index, t, "semantics",
                       f"role {role.value} is held in scope {role.scope.value}, not {scope.value}")
        if starts_on is not None and ends_on is not None and ends_on < starts_on:
            self._fail(index, t, "semantics", f"term ends ({ends_on}) before it starts "
                       f"({starts_on})")
            ok = False
        if not ok or starts_on is None:
            return
        # A later record for the same person, role and start date amends that term (e.g. ends
        # it), except that a term ended by role.end may not be re-opened or extended: that
        # takes a new appointment (another start date).
        if (person, role, starts_on) in self._ended:
            current = self._term_end(person, role, starts_on)
            if ends_on is None or (current is not None and ends_on > current):
                self._fail(index, t, "semantics",
                           f"a role.appoint may not re-open an ended term: the term of person "
                           f"{person} as {role.value} from {starts_on} was ended by role.end on "
                           f"{current}; ends_on {ends_on or 'null'} would extend it")
                return
        terms = [term for term in self._terms.get(person, ())
                 if not (term[0] is role and term[1] == starts_on)]
        # Two terms of one person in one role may not overlap (the service refuses it too).
        for other_role, other_start, other_end in terms:
            if other_role is role and (ends_on is None or other_start <= ends_on) and (
                    other_end is None or starts_on <= other_end):
                self._fail(index, t, "semantics",
                           f"person {person} already holds {role.value} from {other_start} to "
                           f"{other_end or 'open-ended'}: terms in one role may not overlap")
                return
        terms.append((role, starts_on, ends_on))
        self._terms[person] = terms

    def _term_end(self, person: int, role: Role, starts_on: dt.date) -> dt.date | None:
        """The end of the term (person, role, starts_on); callers know the term exists."""
        return next(end for r, start, end in self._terms.get(person, ())
                    if r is role and start == starts_on)

    def _role_end(self, index: int, record: ParsedRecord) -> None:
        """A term ended early. It must exist (an earlier role.appoint), may only be shortened
        (never past its end so far, never before it starts), not further back than the day
        before ``at`` (China time), and needs a reason. Afterwards the term ends on ``ends_on``;
        a record that would extend or empty the term, or names none, changes nothing."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        ok = True
        person = body["person"]
        if person < 1:
            self._fail(index, t, "format", f"person {person} is not a positive id")
            ok = False
        role = _enum(Role, body["role"])
        if role is None:
            self._fail(index, t, "format", f"unknown role {str(body['role'])[:40]!r}")
            ok = False
        scope = _enum(Scope, body["scope"])
        if scope is None:
            self._fail(index, t, "format", f"unknown scope {str(body['scope'])[:40]!r}")
        starts_on = _parse_date(body["starts_on"])
        ends_on = _parse_date(body["ends_on"])
        if starts_on is None:
            self._fail(index, t, "format", "starts_on is not a date YYYY-MM-DD")
        if ends_on is None:
            self._fail(index, t, "format", "ends_on is not a date YYYY-MM-DD")
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "role.end needs a reason (it is empty)")
        if role is Role.ASSEMBLY:
            self._fail(index, t, "semantics", "the assembly is not a role a person can hold")
            return
        if role is not None and scope is not None and scope is not role.scope:
            self._fail(index, t, "semantics",
                       f"role {role.value} is held in scope {role.scope.value}, not {scope.value}")
        if not ok or role is None or starts_on is None or ends_on is None:
            return
        effective = True
        if ends_on < starts_on:
            self._fail(index, t, "semantics",
                       f"term ends ({ends_on}) before it starts ({starts_on})")
            effective = False
        if not any(r is role and start == starts_on for r, start, _ in self._terms.get(person, ())):
            self._fail(index, t, "semantics",
                       f"no such term: no earlier role.appoint of person {person} as "
                       f"{role.value} starting {starts_on}")
            return
        current = self._term_end(person, role, starts_on)
        if current is not None and ends_on > current:
            self._fail(index, t, "semantics",
                       f"role.end may only shorten a term: it ends on {current}, not later; "
                       f"ends_on {ends_on} would extend it (that takes a new role.appoint)")
            effective = False
        if day is not None and ends_on < day - dt.timedelta(days=1):
            self._fail(index, t, "semantics",
                       f"retroactive removal: ends_on {ends_on} is before the day before the "
                       f"record ({day}, China time); earlier records were judged under the "
                       "old term")
        if effective:
            self._terms[person] = [(r, start, ends_on if r is role and start == starts_on
                                    else end) for r, start, end in self._terms[person]]
            self._ended.add((person, role, starts_on))

    def _register_import(self, index: int, record: ParsedRecord) -> None:
        """A register import: the file's hash and consistent counts (no personal data), by a
        person holding an importing role on the China date of ``at``."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if not _SHA256_HEX.fullmatch(body["file_sha256"]):
            self._fail(index, t, "format", "file_sha256 is not 64 lowercase hex digits")
        negative = [key for key in ("rows", *IMPORT_COUNTS) if body[key] < 0]
        if negative:
            self._fail(index, t, "format", f"{', '.join(negative)} must not be negative")
        else:
            total = sum(body[key] for key in IMPORT_COUNTS)
            if total != body["rows"]:
                self._fail(index, t, "semantics",
                           f"created + changed + unchanged + rejected is {total}, not rows "
                           f"({body['rows']})")
        person = body["person"]
        if person < 1:
            self._fail(index, t, "format", f"person {person} is not a positive id")
        elif day is not None:
            roles = self._roles_on(person, day)
            refusal = register_keeper_refusal(roles)  # the app's own rule
            if refusal is not None:
                self._fail(index, t, "semantics",
                           f"{refusal.rule}: person {person} holds {_names(roles)} on {day} "
                           f"(China time); an import needs one of {_names(REGISTER_KEEPERS)}")

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

    def _attachments_ok(self, index: int, t: str, attachments: list[Any],
                        what: str = "attachment") -> bool:
        """Format: each item is ``{name (not empty), sha256 (64 lowercase hex), size
        (integer ≥ 0), type}`` (a step's attachments, an update's evidence)."""
        for position, item in enumerate(attachments):
            if not (isinstance(item, dict) and set(item) == _ATTACHMENT_KEYS
                    and isinstance(item["name"], str) and item["name"]
                    and isinstance(item["sha256"], str) and _SHA256_HEX.fullmatch(item["sha256"])
                    and type(item["size"]) is int and item["size"] >= 0
                    and isinstance(item["type"], str)):
                self._fail(index, t, "format",
                           f"{what} {position + 1} is not {{name, sha256 (64 lowercase hex), "
                           "size (non-negative integer), type}")
                return False
        return True

    # ------------------------------------------------------------------ the assembly

    def _sequence(self, index: int, record: ParsedRecord) -> _Closing | None:
        """Where the record stands in a poll's closing sequence: poll.close, then (secret) the
        declared number of ballot.secret records, then its poll.tally, then the matter.step
        record_vote of its matter, then that matter's notice.publish, nothing else between.
        Returns the closing the record continues (None if it continues none) and reports every
        record out of place once. A record of another kind inside the sequence is reported and
        otherwise checked as usual; the sequence then goes on with the next record that fits
        it, unless the intruder begins something else (:data:`_ABANDONING`), which abandons
        it. (Also checks that an upheld objection's flag_breach comes next:
        :meth:`_after_upheld`.)"""
        t = record.type
        body = record.body
        self._after_upheld(index, record)
        vote = t == "matter.step" and body["action"] == Action.RECORD_VOTE.value
        closing = self._closing
        if closing is None:
            if t == "ballot.secret":
                self._fail(index, t, "semantics",
                           "a ballot.secret may only come directly after its poll's poll.close "
                           "or another ballot.secret of that poll")
            elif t == "poll.tally":
                self._fail(index, t, "semantics",
                           "a poll.tally may only come directly after its poll's poll.close "
                           "(named poll) or its last ballot.secret (secret poll)")
            elif vote:
                self._fail(index, t, "semantics",
                           "record_vote may only come directly after the poll.tally of a poll "
                           "on the matter (the assembly's vote is recorded by its tally)")
            elif t == "notice.publish":
                self._fail(index, t, "semantics",
                           "a notice.publish may only come directly after the record_vote of "
                           "its matter (a result is published with its tally)")
            return None
        ours = (t in ("ballot.secret", "poll.tally") and body["meeting"] == closing.meeting
                and body["poll"] == closing.poll.number)
        if ours and (closing.stage == "secret"
                     or (closing.stage == "tally" and t == "poll.tally")):
            return closing
        if vote and closing.stage == "vote" and body["matter"] == closing.poll.matter:
            closing.stage = "notice"
            return closing
        if (t == "notice.publish" and closing.stage == "notice"
                and body["matter"] == closing.poll.matter):
            self._closing = None
            return closing
        where = f"meeting {closing.meeting} poll {closing.poll.number}"
        if ours and t == "ballot.secret" and closing.stage == "tally":
            self._fail(index, t, "semantics",
                       f"one ballot.secret more than the {closing.declared} that the poll.close "
                       f"of {where} declared (not counted)")
            return None
        if closing.stage == "secret":
            awaited = (f"ballot.secret {closing.declared - closing.expected + 1} of "
                       f"{closing.declared}")
        elif closing.stage == "tally":
            awaited = "its poll.tally"
        elif closing.stage == "vote":
            awaited = f"the matter.step record_vote of matter {closing.poll.matter}"
        else:
            awaited = f"the notice.publish of matter {closing.poll.matter}"
        abandon = t in _ABANDONING
        self._fail(index, t, "semantics",
                   f"{where} was closed: {awaited} must come next, not this {t}"
                   + ("; the unfinished closing sequence is abandoned" if abandon else ""))
        if abandon:
            self._closing = None
        return None

    def _positive(self, index: int, t: str, body: Mapping[str, Any],
                  *keys: str) -> bool:
        """Format: the integer ids and numbers ``keys`` are at least 1."""
        bad = [key for key in keys if body[key] < 1]
        for key in bad:
            self._fail(index, t, "format", f"{key} {body[key]} is not a positive number")
        return not bad

    def _actor(self, index: int, t: str, body: Mapping[str, Any], day: dt.date | None,
               allowed: frozenset[Role], what: str, member: int | None = None) -> None:
        """The actor's ``role``: one of ``allowed``, held on ``day`` (China time); or, where
        ``member`` is given, ``member``: that member acting themself (``person == member``)."""
        person, text = body["person"], body["role"]
        if person < 1:
            self._fail(index, t, "format", f"person {person} is not a positive id")
            return
        if text == MEMBER_SELF and member is not None:
            if person != member:
                self._fail(index, t, "semantics",
                           f"person {person} acts as the member themself, but the record is "
                           f"about member {member} (no proxies)")
            return
        role = _enum(Role, text)
        if role is None:
            if text == MEMBER_SELF:
                self._fail(index, t, "semantics",
                           f"a member acting themself may not {what}; needs one of "
                           f"{_names(allowed)}")
            else:
                self._fail(index, t, "format", f"unknown role {str(text)[:40]!r}")
            return
        if role not in allowed:
            self._fail(index, t, "semantics",
                       f"role {role.value} may not {what}; needs one of {_names(allowed)}"
                       + (" or the member themself (role member)" if member is not None
                          else ""))
        elif day is not None and role not in self._roles_on(person, day):
            self._fail(index, t, "semantics",
                       f"person {person} does not hold the role {role.value} on {day} "
                       f"(China time); holds: {_names(self._roles_on(person, day))}")

    def _meeting_of(self, index: int, t: str, number: int,
                    action: MeetingAction) -> _Meeting | None:
        """The meeting ``number``, convened and not closed, in a state where ``action`` may
        happen (domain.assembly.MEETING_TRANSITIONS, the table the service follows); None and a
        failure
        with the rule code otherwise."""
        meeting = self._meetings.get(number)
        if meeting is None:
            state = ("is closed" if 1 <= number <= self._last_meeting
                     else "was never convened")
            self._fail(index, t, "semantics", f"assembly.meeting_state: meeting {number} {state}")
            return None
        refusal = meeting_transition_refusal(meeting.state, action)
        if refusal is not None:
            now = ("is already open" if meeting.state is MeetingState.OPEN
                   else "is convened but not open")
            self._fail(index, t, "semantics", f"{refusal.rule}: meeting {number} {now}")
            return None
        return meeting

    def _open_poll(self, index: int, t: str,
                   body: Mapping[str, Any]) -> tuple[_Meeting, _Poll] | None:
        """The meeting's open poll the record names; None and a failure otherwise."""
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.VOTE)
        if meeting is None:
            return None
        poll = meeting.poll
        if poll is None or poll.number != body["poll"]:
            now = "no poll is open" if poll is None else f"poll {poll.number} is"
            self._fail(index, t, "semantics",
                       f"poll {body['poll']} of meeting {body['meeting']} is not open ({now})")
            return None
        return meeting, poll

    def _ballot_id(self, index: int, t: str, ballot: str) -> None:
        refusal = ballot_id_refusal(ballot)  # the app's own rule: random, unique in the log
        if refusal is not None:
            self._fail(index, t, "format",
                       f"{refusal.rule}: ballot id {ballot[:70]!r} is not {BALLOT_ID_LENGTH} "
                       "characters A–Z, a–z, 0–9, _ or -")
        elif ballot in self._ballots:
            self._fail(index, t, "semantics", f"ballot id {ballot} was already used in this log")
        else:
            self._ballots.add(ballot)

    def _int_setting(self, key: str, default: int) -> int:
        value = self._settings[key]
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def _quorum(self) -> Fraction:
        value = self._settings["quorum"]
        return value if isinstance(value, Fraction) else Fraction(2, 3)

    def _rule_for(self, number: str) -> tuple[PassRule, int | None]:
        """The pass rule in force for the matter (its category's override, else the
        township's) and the category."""
        matter = self._matters.get(number)
        category = matter.category if matter is not None else None
        override = self._settings.get(f"pass_rule.category_{category}")
        rule = override if isinstance(override, PassRule) else self._settings["pass_rule"]
        return (rule if isinstance(rule, PassRule) else PassRule.MAJORITY_OF_PRESENT), category

    def _assembly_on(self, day: dt.date) -> dict[int, tuple[str, ...]]:
        """Who is a member of the assembly on ``day``, with the assembly roles they hold."""
        members: dict[int, tuple[str, ...]] = {}
        for person in sorted(self._terms):
            roles = self._roles_on(person, day) & ASSEMBLY_ROLES
            if roles:
                members[person] = tuple(sorted(r.value for r in roles))
        return members

    def _meeting_convene(self, index: int, record: ParsedRecord) -> None:
        """A meeting is convened: the next number, by a meeting runner, on matters awaiting
        the vote, with the township's notice period."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        number = body["meeting"]
        if not self._positive(index, t, body, "meeting"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "convene a meeting")
        starts = _parse_at(body["starts_at"])
        if starts is None:
            self._fail(index, t, "format",
                       f"starts_at {str(body['starts_at'])[:40]!r} is not a UTC time "
                       "YYYY-MM-DDTHH:MM:SSZ")
        agenda: list[Any] = body["agenda"]
        matters = [m for m in agenda if isinstance(m, str) and _MATTER_NUMBER.fullmatch(m)]
        if len(matters) != len(agenda):
            self._fail(index, t, "format", "agenda must be a list of matter numbers YYYY-NNN")
        if not agenda:
            self._fail(index, t, "semantics", "the agenda is empty")
        twice = sorted(m for m, n in Counter(matters).items() if n > 1)
        if twice:
            self._fail(index, t, "semantics",
                       f"the agenda lists matter {', '.join(twice[:5])} more than once")
        for item in dict.fromkeys(matters):
            matter = self._matters.get(item)
            if matter is None:
                self._fail(index, t, "semantics",
                           f"agenda matter {item} is not a matter of this log")
            elif matter.state is not MatterState.FILED:
                self._fail(index, t, "semantics",
                           f"agenda matter {item} is {matter.state.value}, not filed (awaiting "
                           "the vote)")
        notice = self._int_setting("meeting_notice_days", 3)
        if body["notice_days"] != notice:
            self._fail(index, t, "semantics",
                       f"notice_days is {body['notice_days']}, but the township's "
                       f"meeting_notice_days in force is {notice}")
        starts_on = starts.astimezone(CHINA).date() if starts is not None else None
        if starts_on is not None and day is not None and (starts_on - day).days < notice:
            self._fail(index, t, "semantics",
                       f"notice too short: the meeting starts on {starts_on}, "
                       f"{(starts_on - day).days} day(s) after the notice on {day} (China "
                       f"time); meeting_notice_days is {notice}")
        if number != self._last_meeting + 1:
            self._fail(index, t, "semantics",
                       f"meeting number is {number}, expected {self._last_meeting + 1}")
        if number not in self._meetings:  # a number in use keeps its meeting
            self._meetings[number] = _Meeting(tuple(dict.fromkeys(matters)), starts_on)
        self._last_meeting = max(self._last_meeting, number)

    def _meeting_open(self, index: int, record: ParsedRecord) -> None:
        """The meeting opens on or after its day; ``members`` freezes the roster, which must be
        exactly the assembly's members on that day."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, MEETING_RUNNERS, "open a meeting")
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.OPEN)
        roster = self._roster(index, t, body["members"], day)
        if meeting is None:
            return
        if day is not None and meeting.starts_on is not None and day < meeting.starts_on:
            self._fail(index, t, "semantics",
                       f"meeting {body['meeting']} opens on {day} (China time), before the day "
                       f"it was convened for ({meeting.starts_on})")
        meeting.state = meeting_transition(meeting.state, MeetingAction.OPEN)
        meeting.roster = roster

    def _roster(self, index: int, t: str, members: list[Any],
                day: dt.date | None) -> dict[int, str]:
        """Check a meeting.open's roster snapshot; return it (person -> name)."""
        expected = self._assembly_on(day) if day is not None else None
        shaped = all(isinstance(m, dict) and set(m) == {"person", "name", "roles"}
                     and type(m["person"]) is int and m["person"] >= 1
                     and isinstance(m["name"], str) and isinstance(m["roles"], list)
                     and all(isinstance(r, str) for r in m["roles"]) for m in members)
        if not shaped:
            self._fail(index, t, "format",
                       "members must be a list of {person (positive id), name, roles (list of "
                       "role names)}")
            return dict.fromkeys(expected or (), "")
        persons = [m["person"] for m in members]
        if any(a >= b for a, b in pairwise(persons)):
            self._fail(index, t, "format",
                       "members must be sorted by person id, each person once")
        recorded: dict[int, tuple[str, ...]] = {}
        for m in members:
            roles: list[str] = m["roles"]
            unknown = [r for r in roles if _enum(Role, r) is None]
            if unknown:
                self._fail(index, t, "format",
                           f"member {m['person']} has unknown role {unknown[0][:40]!r}")
            if any(a >= b for a, b in pairwise(roles)):
                self._fail(index, t, "format",
                           f"the roles of member {m['person']} must be sorted, each once")
            recorded[m["person"]] = tuple(sorted(set(roles)))
        if expected is not None and recorded != expected:
            problems = [f"person {p} ({', '.join(expected[p])}) is missing"
                        for p in sorted(expected.keys() - recorded.keys())]
            problems += [f"person {p} holds no assembly role"
                         for p in sorted(recorded.keys() - expected.keys())]
            problems += [f"person {p} is listed as {', '.join(recorded[p]) or 'no role'} but "
                         f"holds {', '.join(expected[p])}"
                         for p in sorted(recorded.keys() & expected.keys())
                         if recorded[p] != expected[p]]
            more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
            self._fail(index, t, "semantics",
                       f"the roster is not the assembly on {day} (China time; committee "
                       f"director and members, representatives): {'; '.join(problems[:5])}"
                       f"{more}")
        return {m["person"]: m["name"] for m in members}

    def _meeting_attend(self, index: int, record: ParsedRecord) -> None:
        """A member on the roster checks in (or switches channel) at an open meeting."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member, channel = body["member"], body["channel"]
        if channel not in ATTEND_CHANNELS:
            self._fail(index, t, "format", f"unknown attendance channel {str(channel)[:20]!r}")
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "mark attendance", member)
        if channel == Channel.CLOUD.value and body["role"] != MEMBER_SELF:
            self._fail(index, t, "semantics",
                       "a cloud check-in is the member's own (role member), not marked by "
                       "someone else")
        self._cloud_proof(index, record, {"t": "attend", "meeting": body["meeting"],
                                          "member": member}, {"code": _PRESENCE_CODE})
        self._proof(index, t, body, AttendProof, attendance_proof_refusal, ATTEND_PROOFS)
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.CHECK_IN)
        if meeting is None:
            return
        if member not in meeting.roster:
            self._fail(index, t, "semantics",
                       f"person {member} is not on the roster of meeting {body['meeting']}")
            return
        if meeting.present.get(member) == channel:
            self._fail(index, t, "semantics",
                       f"member {member} is already present ({channel}): one attendance")
            return
        meeting.present[member] = channel

    def _meeting_leave(self, index: int, record: ParsedRecord) -> None:
        """A present member leaves an open meeting (domain.assembly.leave_refusal), by their own
        word
        or a runner's: no longer present, so later polls count them absent; the open poll
        takes no more ballots from them."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member = body["member"]
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "record a member leaving", member)
        meeting = self._meetings.get(body["meeting"])
        is_open = meeting is not None and meeting.state is MeetingState.OPEN
        refusal = leave_refusal(is_open,
                                meeting is not None and member in meeting.roster,
                                meeting is not None and member in meeting.present)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"{refusal.rule}: member {member} cannot leave meeting "
                       f"{body['meeting']}: " + (
                           "it is not open" if meeting is None or not is_open else
                           "not on its roster" if member not in meeting.roster else
                           "not present (no check-in since the last leave)"))
            return
        assert meeting is not None
        del meeting.present[member]
        meeting.left.add(member)
        if meeting.poll is not None and member in meeting.poll.eligible:
            meeting.poll.left.add(member)

    def _proof(self, index: int, t: str, body: Mapping[str, Any],
               kinds: type[AttendProof] | type[BallotProof],
               refusal: Callable[[str, bool, str | None], DomainError | None],
               table: Mapping[tuple[str, bool], frozenset[Any]]) -> str | None:
        """The ``proof`` of a check-in or a ballot: one of ``kinds`` that fits its channel and
        who acted (``refusal``, the service's own rule). Logs written before proofs existed
        carry none (legacy: the clerk's word, read as before); once a record of the log
        carries one, every later check-in and ballot must. Returns the proof (or None)."""
        proof = body.get("proof")
        if proof is None:
            if self._proofs_from is not None:
                rule = "assembly.presence" if t == "meeting.attend" else "assembly.ballot_proof"
                self._fail(index, t, "semantics",
                           f"{rule}: no proof, while every check-in and ballot since record "
                           f"{self._proofs_from} carries one (how the member proved it)")
            return None
        if self._proofs_from is None:
            self._proofs_from = index
        if proof not in {k.value for k in kinds}:
            self._fail(index, t, "format", f"unknown proof {str(proof)[:20]!r}")
            return None
        by_member = body["role"] == MEMBER_SELF
        refused = refusal(str(body["channel"]), by_member, proof)
        if refused is not None:
            allowed = sorted(str(p) for p in table.get((str(body["channel"]), by_member), ()))
            who = "the member themself" if by_member else f"a {str(body['role'])[:30]}"
            self._fail(index, t, "semantics",
                       f"{refused.rule}: proof {proof!r} does not fit a "
                       f"{str(body['channel'])[:20]} record by {who} (allowed: "
                       f"{', '.join(allowed) or 'none'})")
        return str(proof)

    def _poll_open(self, index: int, record: ParsedRecord) -> None:
        """A poll opens on an agenda matter awaiting the vote, with the quorum present and the
        settings in force stated; one poll at a time."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        mode = _enum(VoteMode, body["mode"])
        if mode is None:
            self._fail(index, t, "format", f"unknown mode {str(body['mode'])[:20]!r}")
        rule = _enum(PassRule, body["rule"])
        if rule is None:
            self._fail(index, t, "format", f"unknown pass rule {str(body['rule'])[:40]!r}")
        quorum = _fraction(body["quorum"])
        if quorum is None:
            self._fail(index, t, "format",
                       f"quorum {str(body['quorum'])[:20]!r} is not a fraction in its text "
                       "form (e.g. 2/3)")
        for key in ("present", "members"):
            if body[key] < 0:
                self._fail(index, t, "format", f"{key} must not be negative")
        if not self._positive(index, t, body, "poll"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "open a poll")
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.OPEN_POLL)
        if meeting is None:
            return
        number, matter = body["poll"], body["matter"]
        self._vote_runners.setdefault(str(matter), set()).add(body["person"])
        if meeting.poll is not None:
            self._fail(index, t, "semantics",
                       f"poll {meeting.poll.number} of meeting {body['meeting']} is still open: "
                       "one poll at a time (this one does not open)")
            return
        if number != meeting.polls + 1:
            self._fail(index, t, "semantics",
                       f"poll number is {number}, expected {meeting.polls + 1}")
        if matter not in meeting.agenda:
            self._fail(index, t, "semantics",
                       f"matter {str(matter)[:40]} is not on the agenda of meeting "
                       f"{body['meeting']}")
        elif matter in meeting.polled:
            self._fail(index, t, "semantics",
                       f"meeting {body['meeting']} already held a poll on matter {matter}")
        state = self._matters.get(matter)
        elsewhere = self._open_polls.get(matter)
        refusal = poll_opening_refusal(matter, state is None or state.state is MatterState.FILED,
                                       elsewhere[0][0] if elsewhere else None)
        if refusal is not None:
            reason = (f"poll {elsewhere[0][1]} of meeting {elsewhere[0][0]} on matter {matter} "
                      "is still open: one open poll per matter" if elsewhere
                      else f"matter {matter} is {state.state.value if state else '?'}, not filed "
                      "(awaiting the vote)")
            self._fail(index, t, "semantics", f"{reason} [{refusal.rule}]")
        present, members = len(meeting.present), len(meeting.roster)
        if body["present"] != present:
            self._fail(index, t, "semantics",
                       f"present is {body['present']}, but {present} members are present")
        if body["members"] != members:
            self._fail(index, t, "semantics",
                       f"members is {body['members']}, but the roster has {members}")
        in_force = self._quorum()
        if quorum is not None and quorum != in_force:
            self._fail(index, t, "semantics",
                       f"quorum is {quorum}, but the township's quorum in force is {in_force}")
        rule_in_force, category = self._rule_for(matter)
        if rule is not None and rule is not rule_in_force:
            self._fail(index, t, "semantics",
                       f"rule is {rule.value}, but the pass rule in force for matter {matter} "
                       f"(category {category}) is {rule_in_force.value}")
        counts_present = bool(self._settings["recusal_counts_present"])
        if body["recusal_counts_present"] is not counts_present:
            self._fail(index, t, "semantics",
                       f"recusal_counts_present is {str(body['recusal_counts_present']).lower()}, "
                       f"but the township's setting in force is {str(counts_present).lower()}")
        needed = quorum_needed(members, in_force)
        if present < needed:
            self._fail(index, t, "semantics",
                       f"no quorum: {present} of {members} members present, {needed} needed "
                       f"({in_force} of the members)")
        meeting.polls = max(meeting.polls, number)
        meeting.polled.add(matter)
        self._open_polls.setdefault(matter, []).append((body["meeting"], number))
        meeting.poll = _Poll(number, matter, mode is VoteMode.SECRET,
                             body["present"] if body["present"] >= 0 else present,
                             body["members"] if body["members"] >= 0 else members,
                             rule or rule_in_force, body["recusal_counts_present"],
                             frozenset(meeting.present))

    def _member_may_vote(self, index: int, t: str, meeting: _Meeting, poll: _Poll,
                         member: int, number: int, handed_in: bool = False) -> bool:
        """Whether ``member`` is on the roster; reports a ballot the app's own rule refuses
        (domain.assembly.ballot_refusal, with its rule code): a member absent (or who left since the
        poll opened), late, recused or who has voted. A ballot ``handed_in`` earlier (paper, or
        the hall device without PIN: appended at its confirmation) needs the member present at
        the poll's opening only: they may have left since."""
        if member not in meeting.roster:
            self._fail(index, t, "semantics",
                       f"assembly.not_member: person {member} is not on the roster of meeting "
                       f"{number}")
            return False
        at_open = member in poll.eligible and (handed_in or member not in poll.left)
        refusal = ballot_refusal(PollState.OPEN, Voter(
            member=True, present=at_open if handed_in else member in meeting.present,
            present_at_open=at_open, recused=member in poll.recused,
            voted=member in poll.voted))
        if refusal is None:
            return True
        why = {
            "assembly.recused": f"member {member} declared recusal on poll {poll.number} and "
                                "may not vote",
            "assembly.not_present": self._absent(meeting, member),
            "assembly.late": (f"member {member} left after poll {poll.number} opened: they "
                              "vote on it no more" if member in poll.left else
                              f"member {member} checked in after poll {poll.number} opened: "
                              "only members present at its opening vote on it"),
            "assembly.one_ballot": f"member {member} already has a ballot in poll "
                                   f"{poll.number} (one ballot per member per poll, whatever "
                                   "the channel)",
        }
        self._fail(index, t, "semantics", f"{refusal.rule}: {why.get(refusal.rule, '')}")
        return True

    @staticmethod
    def _absent(meeting: _Meeting, member: int) -> str:
        if member in meeting.left:
            return f"member {member} left the meeting (meeting.leave)"
        return f"member {member} is not present (no check-in)"

    def _poll_recuse(self, index: int, record: ParsedRecord) -> None:
        """A present member who has not voted declares recusal on the open poll."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member = body["member"]
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "a recusal needs a reason (it is empty)")
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "record a recusal", member)
        found = self._open_poll(index, t, body)
        if found is None:
            return
        meeting, poll = found
        refusal = recusal_refusal(PollState.OPEN, Voter(  # the app's own rule
            member=member in meeting.roster, present=member in meeting.present,
            present_at_open=member in poll.eligible and member not in poll.left,
            recused=member in poll.recused, voted=member in poll.voted))
        if refusal is None:
            poll.recused.add(member)
            return
        why = {
            "assembly.not_member": f"person {member} is not on the roster of meeting "
                                   f"{body['meeting']}",
            "assembly.not_present": self._absent(meeting, member),
            "assembly.late": (f"member {member} left after poll {poll.number} opened: they "
                              "vote on it no more" if member in poll.left else
                              f"member {member} checked in after poll {poll.number} opened: "
                              "only members present at its opening vote on it"),
            "assembly.recusal_after_vote": (
                f"member {member} already voted in poll {poll.number}: recusal comes before "
                "voting" if member in poll.voted else
                f"member {member} already declared recusal on poll {poll.number}"),
        }
        self._fail(index, t, "semantics", f"{refusal.rule}: {why.get(refusal.rule, '')}")

    def _ballot_cast(self, index: int, record: ParsedRecord) -> None:
        self._ballot(index, record, secret=False)

    def _poll_participation(self, index: int, record: ParsedRecord) -> None:
        self._ballot(index, record, secret=True)

    def _ballot(self, index: int, record: ParsedRecord, *, secret: bool) -> None:
        """A named ballot (ballot.cast) or a secret poll's participation: in the open poll of
        that mode, by a present member on the roster who has not recused or voted; the
        member votes themself (hall, device, cloud) or a meeting runner enters it (paper,
        hall, device); paper ones only as far as paper.confirm covers them. Counted unless
        the poll is not open or of the other mode."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member, channel = body["member"], body["channel"]
        choice: Choice | None = None
        if channel not in BALLOT_CHANNELS:
            self._fail(index, t, "format", f"unknown ballot channel {str(channel)[:20]!r}")
        if not secret:
            choice = _enum(Choice, body["choice"])
            if choice is None:
                self._fail(index, t, "format", f"unknown choice {str(body['choice'])[:20]!r}")
            self._ballot_id(index, t, body["ballot"])
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "enter a ballot", member)
        if body["role"] == MEMBER_SELF and channel not in SELF_CHANNELS:
            self._fail(index, t, "semantics",
                       f"a {channel} ballot is entered by someone running the meeting, not by "
                       "the member")
        elif body["role"] != MEMBER_SELF and channel not in ENTERED_CHANNELS:
            self._fail(index, t, "semantics",
                       f"a {channel} ballot is cast by the member themself (role member)")
        signed: dict[str, object] = {"meeting": body["meeting"], "poll": body["poll"],
                                     "member": member}
        if secret:
            signed["t"] = "participation"
        else:
            signed.update(t="ballot", choice=body["choice"], ballot=body["ballot"])
        self._cloud_proof(index, record, signed)
        proof = self._proof(index, t, body, BallotProof, ballot_proof_refusal, BALLOT_PROOFS)
        found = self._open_poll(index, t, body)
        if found is None:
            return
        meeting, poll = found
        if poll.secret is not secret:
            self._fail(index, t, "semantics",
                       f"poll {poll.number} of meeting {body['meeting']} is "
                       + ("named: it takes ballot.cast, not poll.participation" if poll.secret
                          is False else
                          "secret: it takes poll.participation and ballot.secret, not "
                          "ballot.cast"))
            return
        handed_in = (channel == Channel.PAPER.value
                     or proof in (BallotProof.CONFIRMED.value, BallotProof.PAPER.value))
        self._member_may_vote(index, t, meeting, poll, member, body["meeting"], handed_in)
        untallied = self._untallied(body["meeting"], poll)
        if untallied is not None:
            self._fail(index, t, "semantics",
                       f"a ballot in meeting {body['meeting']} poll {poll.number}, which cannot "
                       f"be tallied: {untallied}")
        if channel == Channel.PAPER.value or proof == BallotProof.CONFIRMED.value:
            poll.paper += 1
            if poll.paper > poll.confirmed:
                what = "paper" if channel == Channel.PAPER.value else "unproven hall-device"
                self._fail(index, t, "semantics",
                           f"{what} ballot {poll.paper} of poll {poll.number} is not covered by "
                           f"an earlier paper.confirm ({poll.confirmed} confirmed)")
        poll.voted.add(member)
        poll.records += 1
        poll.channels[channel] += 1
        if choice is not None:
            poll.choices[choice] += 1

    def _paper_confirm(self, index: int, record: ParsedRecord) -> None:
        """A supervisor, not the person who entered them, confirms paper ballots of the open
        poll against the signed sheet (its SHA-256)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if body["count"] < 1:
            self._fail(index, t, "format", f"count {body['count']} must be at least 1")
        if not _SHA256_HEX.fullmatch(body["sheet_sha256"]):
            self._fail(index, t, "format", "sheet_sha256 is not 64 lowercase hex digits")
        self._positive(index, t, body, "entered_by")
        self._actor(index, t, body, day, PAPER_CONFIRMERS, "confirm paper ballots")
        if body["person"] == body["entered_by"]:
            self._fail(index, t, "semantics",
                       f"person {body['person']} confirms paper ballots they entered "
                       "themself: the confirmer must be someone else")
        self._checker_login(index, t, body["person"], {body["entered_by"]},
                            "the paper ballots they entered")
        found = self._open_poll(index, t, body)
        if found is not None and body["count"] >= 1:
            found[1].confirmed += body["count"]

    def _poll_close(self, index: int, record: ParsedRecord) -> None:
        """The open poll closes with the number of its ballots (named) or participations
        (secret); its closing sequence begins (see :meth:`_sequence`)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if body["ballots"] < 0:
            self._fail(index, t, "format", "ballots must not be negative")
        self._actor(index, t, body, day, MEETING_RUNNERS, "close a poll")
        found = self._open_poll(index, t, body)
        if found is None:
            return
        meeting, poll = found
        refusal = self._untallied(body["meeting"], poll)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"meeting {body['meeting']} poll {poll.number} cannot be tallied: "
                       f"{refusal}; it can only be voided")
        self._poll_ended(body["meeting"], poll)
        if body["ballots"] != poll.records:
            kind = "poll.participation" if poll.secret else "ballot.cast"
            self._fail(index, t, "semantics",
                       f"ballots is {body['ballots']}, but poll {poll.number} has "
                       f"{poll.records} {kind} record(s)")
        meeting.poll = None
        declared = max(body["ballots"], 0)
        expected = declared if poll.secret else 0
        self._closing = _Closing(body["meeting"], poll, body["person"], declared, expected,
                                 "secret" if expected else "tally")

    def _tally_facts(self, meeting: int, poll: _Poll) -> tuple[bool, tuple[int, int] | None]:
        """For the open ``poll`` of ``meeting``: whether its matter awaits the vote, and the
        (meeting, poll) of another poll on the matter opened before it and still open."""
        matter = self._matters.get(poll.matter)
        polls = self._open_polls.get(poll.matter, [])
        earlier = polls[0] if polls and polls[0] != (meeting, poll.number) else None
        return matter is None or matter.state is MatterState.FILED, earlier

    def _untallied(self, meeting: int, poll: _Poll) -> str | None:
        """Why the open ``poll`` of ``meeting`` cannot be tallied
        (domain.assembly.poll_tally_refusal,
        its rule code in brackets), or None."""
        awaiting, earlier = self._tally_facts(meeting, poll)
        refusal = poll_tally_refusal(poll.matter, awaiting, earlier is not None)
        if refusal is None:
            return None
        if earlier is not None:
            why = (f"poll {earlier[1]} of meeting {earlier[0]} on matter {poll.matter} opened "
                   "before it and is still open")
        else:
            matter = self._matters.get(poll.matter)
            why = (f"matter {poll.matter} is {matter.state.value if matter else '?'}, no longer "
                   "awaiting the vote")
        return f"{why} [{refusal.rule}]"

    def _poll_ended(self, meeting: int, poll: _Poll) -> None:
        """The poll is no longer open (poll.close or poll.void)."""
        polls = self._open_polls.get(poll.matter)
        if polls is not None and (meeting, poll.number) in polls:
            polls.remove((meeting, poll.number))
            if not polls:
                del self._open_polls[poll.matter]

    def _poll_void(self, index: int, record: ParsedRecord) -> None:
        """A poll that cannot be tallied ends without a count, its ballots not counted; one that
        could be tallied must not be voided (domain.assembly.poll_void_refusal). It ends either
        way."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "reason is blank")
        self._actor(index, t, body, day, MEETING_RUNNERS, "void a poll")
        found = self._open_poll(index, t, body)
        if found is None:
            return
        meeting, poll = found
        if body["matter"] != poll.matter:
            self._fail(index, t, "semantics",
                       f"matter is {str(body['matter'])[:40]}, but meeting {body['meeting']} "
                       f"poll {poll.number} is on {poll.matter}")
        awaiting, earlier = self._tally_facts(body["meeting"], poll)
        refusal = poll_void_refusal(poll.matter, awaiting, earlier is not None)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"meeting {body['meeting']} poll {poll.number} could be tallied (matter "
                       f"{poll.matter} awaits the vote and no earlier poll on it is open): it "
                       f"must be closed and counted, not voided [{refusal.rule}]")
        meeting.poll = None
        self._poll_ended(body["meeting"], poll)

    def _ballot_secret(self, index: int, record: ParsedRecord) -> None:
        """A secret ballot in its place in the closing sequence (see :meth:`_sequence`)."""
        body = record.body
        t = record.type
        choice = _enum(Choice, body["choice"])
        if choice is None:
            self._fail(index, t, "format", f"unknown choice {str(body['choice'])[:20]!r}")
        # Logs written before 2026-12 carry the channel (reported at the tally).
        channel = body.get("channel")
        if channel is not None and channel not in BALLOT_CHANNELS:
            self._fail(index, t, "format", f"unknown ballot channel {str(channel)[:20]!r}")
        self._ballot_id(index, t, body["ballot"])
        closing = self._fit
        if closing is None:
            return
        closing.expected -= 1
        if closing.expected == 0:
            closing.stage = "tally"
        linkable = secret_ballot_linkable(body)
        if linkable is not None:
            closing.poll.linkable = linkable.rule
        if channel is not None:
            closing.poll.secret_channels[channel] += 1
        if choice is not None:
            closing.poll.choices[choice] += 1

    def _poll_tally(self, index: int, record: ParsedRecord) -> None:
        """The tally in its place: every number equal to domain.assembly.count() of the poll's
        ballots
        with poll.open's present, members, rule and recusal policy, and the rule's verdict."""
        body = record.body
        t = record.type
        self._at(index, record)
        verdict = body["verdict"]
        if verdict not in VERDICTS:
            self._fail(index, t, "format", f"verdict {str(verdict)[:20]!r} is not passed or "
                       "rejected")
        if _enum(PassRule, body["rule"]) is None:
            self._fail(index, t, "format", f"unknown pass rule {str(body['rule'])[:40]!r}")
        numbers = ("yes", "no", "abstain", "recused", "present", "members", "base", "needed")
        negative = [key for key in numbers if body[key] < 0]
        if negative:
            self._fail(index, t, "format", f"{', '.join(negative)} must not be negative")
        closing = self._fit
        if closing is None:
            return
        poll = closing.poll
        where = f"meeting {closing.meeting} poll {poll.number}"
        if closing.stage == "secret":
            self._fail(index, t, "semantics",
                       f"the poll.close of {where} declared {closing.declared} secret ballots, "
                       f"but only {closing.declared - closing.expected} came before the tally")
        closing.stage = "vote"
        if body["matter"] != poll.matter:
            self._fail(index, t, "semantics",
                       f"matter is {str(body['matter'])[:40]}, but {where} was on {poll.matter}")
        if poll.secret and poll.secret_channels and poll.secret_channels != poll.channels:
            self._fail(index, t, "semantics",
                       f"the secret ballots by channel ({_counts(poll.secret_channels)}) are not "
                       f"the participations by channel ({_counts(poll.channels)})")
        if poll.linkable is not None:
            alone = sorted(c for c, n in poll.channels.items() if n == 1)
            self._findings.append(Finding(
                index, t, poll.linkable,
                f"the ballot.secret records of {where} carry their channel "
                f"({_counts(poll.secret_channels)}), published for good: "
                + (f"the one member who took part by {', '.join(alone)} (named by "
                   "poll.participation) can be linked to their choice" if alone else
                   "a member alone on a channel could be linked to their choice; here no "
                   "channel had a single ballot, but choices per channel can be read off")))
        yes, no, abstain = (poll.choices[Choice.YES], poll.choices[Choice.NO],
                            poll.choices[Choice.ABSTAIN])
        recused = len(poll.recused)
        recount: dict[str, object] = {
            "yes": yes, "no": no, "abstain": abstain, "recused": recused,
            "present": poll.present, "members": poll.members, "rule": poll.rule.value,
            "recusal_counts_present": poll.recusal_counts_present}
        tally = None
        if yes + no + abstain + recused > poll.present:
            self._fail(index, t, "semantics",
                       f"{where} cannot be counted: {yes + no + abstain} ballot(s) and "
                       f"{recused} recusal(s) are more than the {poll.present} members present "
                       "at its opening")
        elif poll.present > poll.members:
            self._fail(index, t, "semantics",
                       f"{where} cannot be counted: {poll.present} present of {poll.members} "
                       "members")
        else:
            try:
                tally = count([*[Choice.YES] * yes, *[Choice.NO] * no,
                               *[Choice.ABSTAIN] * abstain],
                              present=poll.present, members=poll.members, recused=recused,
                              rule=poll.rule, recusal_counts_present=poll.recusal_counts_present)
            except DomainError as exc:  # pragma: no cover - the conditions above exclude it
                self._fail(index, t, "semantics", f"{where} cannot be counted [{exc.rule}]")
        if tally is not None:
            recount["base"] = tally.base
            recount["needed"] = tally.needed
        wrong = [f"{key} {_text(body[key])} (recount {_text(value)})"
                 for key, value in recount.items() if not _same_json(body[key], value)]
        if wrong:
            self._fail(index, t, "semantics",
                       f"the tally is not the recount of {where}'s ballots: {'; '.join(wrong)}")
        if tally is not None and verdict in VERDICTS and verdict != tally.verdict:
            self._fail(index, t, "semantics",
                       f"verdict is {verdict}, but {tally.yes} yes under {tally.rule.value} "
                       f"(base {tally.base}, {tally.needed} needed) means {tally.verdict}")
        closing.verdict = (verdict if verdict in VERDICTS
                           else tally.verdict if tally is not None else None)

    def _meeting_close(self, index: int, record: ParsedRecord) -> None:
        """An open meeting without an open poll closes; its state is dropped."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, MEETING_RUNNERS, "close a meeting")
        meeting = self._meeting_of(index, t, body["meeting"], MeetingAction.CLOSE)
        if meeting is None:
            return
        if meeting.poll is not None:
            self._fail(index, t, "semantics",
                       f"poll {meeting.poll.number} of meeting {body['meeting']} is still open "
                       "(the meeting stays open)")
            return
        del self._meetings[body["meeting"]]

    def _meeting_request(self, index: int, record: ParsedRecord) -> None:
        """A representative (held on the day) asks for a meeting, with a reason."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "a meeting request needs a reason (it is empty)")
        self._actor(index, t, body, day, frozenset({Role.REPRESENTATIVE}), "request a meeting")

    # ------------------------------------------------------------------ cloud voting

    def _device_enrol(self, index: int, record: ParsedRecord) -> None:
        """A runner enrols a phone for a member of the assembly: the key parses, the phone
        proved possession (an ``enrol`` statement it signed), ``replaces`` names the member's
        current device, and no key is enrolled twice. Taken as written (one wrong enrolment is
        one failure): the key becomes the member's device whenever it parses."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member, text = body["member"], body["key"]
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "enrol a device")
        if day is not None and not self._roles_on(member, day) & ASSEMBLY_ROLES:
            self._fail(index, t, "semantics",
                       f"person {member} is not a member of the assembly on {day} (China "
                       f"time): holds none of {_names(ASSEMBLY_ROLES)}")
        try:
            key = parse_device_key(text)
        except DeviceKeyError as exc:
            self._fail(index, t, "format", f"key: {exc}")
            return
        self._device_signature(index, t, key, body["statement"], body["sig"],
                               "the phone's proof of possession")
        self._device_statement(index, t, body["statement"],
                               {"t": "enrol", "log": record.log, "member": member, "key": text},
                               {"challenge": _CHALLENGE})
        current = self._devices.get(member)
        if body["replaces"] != current:
            now = "none" if current is None else f"{_fingerprint(current)} ({current})"
            self._fail(index, t, "semantics",
                       f"replaces {str(body['replaces'])[:100]!r}, but member {member}'s current "
                       f"device is {now}")
        earlier = self._device_keys.get(text)
        if earlier is not None:
            self._fail(index, t, "semantics",
                       f"device {key.fingerprint} was already enrolled at record "
                       f"{earlier.enrolled} (for member {earlier.member}): a key is enrolled "
                       "once")
        if current is not None and current != text:
            self._device_keys[current].ended = f"replaced at record {index}"
        self._devices[member] = text
        self._device_keys[text] = _Device(member, index)

    def _device_revoke(self, index: int, record: ParsedRecord) -> None:
        """A runner revokes a member's current device (a lost phone), with a reason; the member
        has no device afterwards (also when the record named another key)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        member, text = body["member"], body["key"]
        if not body["reason"].strip():
            self._fail(index, t, "semantics", "a revocation needs a reason (it is empty)")
        if not self._positive(index, t, body, "member"):
            return
        self._actor(index, t, body, day, MEETING_RUNNERS, "revoke a device")
        current = self._devices.pop(member, None)
        if current != text:
            now = "none" if current is None else f"{_fingerprint(current)} ({current})"
            self._fail(index, t, "semantics",
                       f"key {str(text)[:100]!r} is not member {member}'s current device "
                       f"(current: {now})")
        for revoked in {current, text} - {None}:
            device = self._device_keys.get(str(revoked))
            if device is not None and device.member == member and device.ended is None:
                device.ended = f"revoked at record {index}"

    def _cloud_proof(self, index: int, record: ParsedRecord, signed: Mapping[str, object],
                     forms: Mapping[str, tuple[re.Pattern[str], str]] | None = None) -> None:
        """The optional ``device`` of a meeting.attend, ballot.cast or poll.participation:
        present exactly when ``channel`` is ``cloud``; by the member's current device; its
        signature verifies; its statement says ``signed`` (and the record's log), and the
        values the record does not carry have their ``forms``."""
        body = record.body
        t = record.type
        channel, device = body["channel"], body.get("device")
        if channel != Channel.CLOUD.value:
            if device is not None:
                self._fail(index, t, "format",
                           f"a {str(channel)[:20]} record carries no device (only a cloud one "
                           "does)")
            return
        if device is None:
            self._fail(index, t, "signature",
                       "a cloud record needs the member's device signature (no device)")
            return
        if set(device) != _DEVICE_KEYS or not all(isinstance(v, str) for v in device.values()):
            self._fail(index, t, "format",
                       "device must have exactly key, statement and sig, all strings")
            return
        try:
            key = parse_device_key(device["key"])
        except DeviceKeyError as exc:
            self._fail(index, t, "format", f"device.key: {exc}")
            return
        member = body["member"]
        current = self._devices.get(member)
        if current != key.text:
            known = self._device_keys.get(key.text)
            if known is None:
                why = "it was never enrolled in this log"
            elif known.member != member:
                why = f"it is member {known.member}'s device"
            else:
                why = f"it was {known.ended}" if known.ended else "it is not the current one"
            # like a record signed by a revoked log key: a signature, but not by a key that
            # may sign this record
            self._fail(index, t, "signature",
                       f"device {key.fingerprint} is not member {member}'s enrolled device: "
                       f"{why} (current: "
                       f"{'none' if current is None else _fingerprint(current)})")
        self._device_signature(index, t, key, device["statement"], device["sig"],
                               "the device signature")
        self._device_statement(index, t, device["statement"], {**signed, "log": record.log},
                               forms or {})

    def _device_signature(self, index: int, t: str, key: DeviceKey, statement: str, sig: str,
                          what: str) -> None:
        """Signature: ``sig`` is ``key``'s signature over the statement's UTF-8 bytes."""
        try:
            key.verify(statement.encode("utf-8"), parse_signature(sig))
        except DeviceSignatureError as exc:
            self._fail(index, t, "signature",
                       f"{what} by device {key.fingerprint} is invalid: {exc}")
        except UnicodeEncodeError:
            self._fail(index, t, "signature", f"{what}: the statement is not UTF-8 text")

    def _device_statement(self, index: int, t: str, text: str, signed: Mapping[str, object],
                          forms: Mapping[str, tuple[re.Pattern[str], str]]) -> None:
        """Semantics: ``text`` is a strict statement (canonical, flat, version 1, its type's
        keys) that says exactly ``signed``, and whose other values have their ``forms`` (a
        pattern and its description)."""
        try:
            statement = parse_statement(text)
        except StatementError as exc:
            self._fail(index, t, "semantics", f"the device statement is not valid: {exc}")
            return
        wrong = [f"{key} {_json(statement.get(key))} ≠ {_json(value)}"
                 for key, value in signed.items() if statement.get(key) != value]
        if wrong:
            self._fail(index, t, "semantics",
                       "the device statement does not say what the record says (statement ≠ "
                       "record): " + "; ".join(wrong))
            return
        for key, (form, what) in forms.items():
            value = statement.get(key)
            if not isinstance(value, str) or not form.fullmatch(value):
                self._fail(index, t, "semantics",
                           f"the device statement's {key} {_json(value)} is not {what}")

    # ------------------------------------------------------------------ step 6, supervision

    def _matter_of(self, index: int, t: str, number: str) -> _Matter | None:
        """The matter ``number`` of this log; None and a failure if there is none."""
        matter = self._matters.get(number)
        if matter is None:
            self._fail(index, t, "semantics",
                       f"matter {str(number)[:40]} is not a matter of this log")
        return matter

    def _after_upheld(self, index: int, record: ParsedRecord) -> None:
        """After an upheld objection.reply the next record is its matter's matter.step
        flag_breach back to the vote (``breach_step`` ``vote``), by the person who upheld it
        (the services write both in one transaction)."""
        upheld = self._upheld
        if upheld is None:
            return
        self._upheld = None
        t, body = record.type, record.body
        what = (f"objection {upheld.objection} of matter {upheld.matter} was upheld at record "
                f"{upheld.index}")
        if not (t == "matter.step" and body["action"] == Action.FLAG_BREACH.value
                and body["matter"] == upheld.matter):
            self._fail(index, t, "semantics",
                       f"{what}: the matter.step flag_breach of matter {upheld.matter} back to "
                       f"the vote must come next, not this {t}")
            return
        breach = body["fields"].get("breach_step")
        if breach != Step.VOTE.value:
            self._fail(index, t, "semantics",
                       f"{what}: its flag_breach must send the matter back to the vote "
                       f"(breach_step vote), not {_json(breach)}")
        if body["person"] != upheld.person:
            self._fail(index, t, "semantics",
                       f"{what} by person {upheld.person}, but the flag_breach after it is by "
                       f"person {body['person']}")

    def _supervise_step(self, index: int, record: ParsedRecord, number: str,
                        state: MatterState, action: Action) -> None:
        """Step 6's rules beyond the transition table, for a matter in the state the action
        starts from: start_implementation not before the notice period ends and with every
        objection answered; complete with at least one implementation update, all confirmed,
        the last at 100 %."""
        t = record.type
        supervision = self._supervision.get(number, _Supervision())
        if action is Action.START_IMPLEMENTATION and state is MatterState.PASSED:
            notice = supervision.notice
            moment = _parse_at(record.body["at"])
            if notice is None or not notice.passed:
                self._fail(index, t, "semantics",
                           f"matter {number}'s passed result was not published with a notice "
                           "period (no notice.publish): implementation cannot start")
            elif notice.end is not None and moment is not None and moment < notice.end:
                self._fail(index, t, "semantics",
                           f"implementation starts at {record.body['at']}, during the notice "
                           f"period of matter {number}, which ends at {_utc(notice.end)}")
            if supervision.unanswered:
                self._fail(index, t, "semantics",
                           f"objection {_numbers(supervision.unanswered)} of matter {number} "
                           "not answered: implementation cannot start before every objection "
                           "is answered")
        elif action is Action.COMPLETE and state is MatterState.IMPLEMENTING:
            self._checker_login(index, t, record.body["person"], supervision.recorders,
                                f"the implementation of matter {number}, which they recorded")
            if supervision.updates == 0:
                self._fail(index, t, "semantics",
                           f"matter {number} has no implementation.update: nothing to sign off")
                return
            if supervision.unconfirmed:
                self._fail(index, t, "semantics",
                           f"implementation update {_numbers(supervision.unconfirmed)} of "
                           f"matter {number} not confirmed by the supervisory committee: "
                           "sign-off needs every update confirmed")
            if supervision.progress != 100:
                self._fail(index, t, "semantics",
                           f"the last implementation update of matter {number} is at "
                           f"{supervision.progress} %, not 100 %: sign-off needs the work done")

    def _notice_publish(self, index: int, record: ParsedRecord) -> None:
        """The vote's result, published in its place: directly after its record_vote (see
        :meth:`_sequence`), naming the tally's meeting, poll and verdict; a passed one with
        ``days`` the township's public_notice_days in force and ``ends_at`` = ``at`` + days,
        a rejected one with days 0 and ends_at null. Effect (in place only): the matter's
        notice period, [``at``, ``at`` + public_notice_days) for a passed result (by the
        tally's verdict), none for a rejected one."""
        body = record.body
        t = record.type
        self._at(index, record)
        at = _parse_at(body["at"])
        verdict, days, ends_text = body["verdict"], body["days"], body["ends_at"]
        if verdict not in VERDICTS:
            self._fail(index, t, "format",
                       f"verdict {str(verdict)[:20]!r} is not passed or rejected")
        ends = None if ends_text is None else _parse_at(ends_text)
        if ends_text is not None and ends is None:
            self._fail(index, t, "format",
                       f"ends_at {str(ends_text)[:40]!r} is not a UTC time YYYY-MM-DDTHH:MM:SSZ "
                       "(or null)")
        positive = self._positive(index, t, body, "meeting", "poll")
        closing = self._fit
        if closing is None:  # out of place: reported by _sequence; nothing more is checked
            return
        where = f"meeting {closing.meeting} poll {closing.poll.number}"
        if positive and (body["meeting"], body["poll"]) != (closing.meeting, closing.poll.number):
            self._fail(index, t, "semantics",
                       f"notice.publish names meeting {body['meeting']} poll {body['poll']}, "
                       f"but the result it publishes is that of {where}")
        if verdict in VERDICTS and closing.verdict is not None and verdict != closing.verdict:
            self._fail(index, t, "semantics",
                       f"verdict is {verdict}, but the poll.tally of {where} says "
                       f"{closing.verdict}")
        in_force = self._int_setting("public_notice_days", 5)
        if verdict == "passed":
            if days != in_force:
                self._fail(index, t, "semantics",
                           f"days is {days}, but the township's public_notice_days in force is "
                           f"{in_force}")
            if ends_text is None:
                self._fail(index, t, "semantics",
                           "a passed result's notice needs its ends_at (it is null)")
            elif at is not None and ends is not None and ends != at + dt.timedelta(
                    days=in_force):
                self._fail(index, t, "semantics",
                           f"ends_at is {ends_text}, but a notice published at {body['at']} for "
                           f"{in_force} days (public_notice_days) ends at "
                           f"{_utc(at + dt.timedelta(days=in_force))}")
        elif verdict == "rejected" and (days != 0 or ends_text is not None):
            self._fail(index, t, "semantics",
                       f"a rejected result has no notice period: days must be 0 and ends_at "
                       f"null, not {days} and {_json(ends_text)}")
        passed = (closing.verdict or verdict) == "passed"
        end = at + dt.timedelta(days=in_force) if passed and at is not None else None
        supervision = self._supervision.setdefault(closing.poll.matter, _Supervision())
        supervision.notice = _Notice(passed, at, end)

    def _objection_file(self, index: int, record: ParsedRecord) -> None:
        """A villager's objection to a passed result, during its notice period [notice ``at``,
        ``ends_at``), numbered 1, 2, … per matter, with ``reply_due`` = ``at`` + the township's
        objection_reply_days and a text. Effect: the objection is open (unanswered)."""
        body = record.body
        t = record.type
        self._at(index, record)
        at = _parse_at(body["at"])
        due = _parse_at(body["reply_due"])
        if due is None:
            self._fail(index, t, "format",
                       f"reply_due {str(body['reply_due'])[:40]!r} is not a UTC time "
                       "YYYY-MM-DDTHH:MM:SSZ")
        if not body["text"].strip():
            self._fail(index, t, "semantics", "an objection needs a text (it is empty)")
        if not self._positive(index, t, body, "objection"):
            return
        number, objection = body["matter"], body["objection"]
        matter = self._matter_of(index, t, number)
        if matter is None:
            return
        supervision = self._supervision.setdefault(number, _Supervision())
        notice = supervision.notice
        if matter.state is not MatterState.PASSED:
            self._fail(index, t, "semantics",
                       f"matter {number} is {matter.state.value}, not passed: objections are "
                       "taken during a passed result's notice period")
        elif notice is None or not notice.passed:
            self._fail(index, t, "semantics",
                       f"notice.objection_window: matter {number}'s passed result was not "
                       "published with a notice period (no notice.publish)")
        elif (at is not None and notice.start is not None and notice.end is not None
              and (refusal := objection_window_refusal(at, notice.start, notice.end))):
            self._fail(index, t, "semantics",
                       f"{refusal.rule}: objection at {body['at']} is outside the notice period "
                       f"of matter {number} (from {_utc(notice.start)} until before "
                       f"{_utc(notice.end)})")
        if objection != supervision.objections + 1:
            self._fail(index, t, "semantics",
                       f"objection number is {objection}, but matter {number} has "
                       f"{supervision.objections} earlier objection(s): expected "
                       f"{supervision.objections + 1}")
        reply_days = self._int_setting("objection_reply_days", 7)
        if at is not None and due is not None and due != reply_due(at, reply_days):
            self._fail(index, t, "semantics",
                       f"reply_due is {body['reply_due']}, but objection_reply_days in force is "
                       f"{reply_days}: due at {_utc(reply_due(at, reply_days))}")
        if objection > supervision.objections:
            supervision.objections = objection
            supervision.unanswered.add(objection)

    def _objection_reply(self, index: int, record: ParsedRecord) -> None:
        """A supervisory committee member (held on the day) answers an open objection of the
        matter, ``dismissed`` or ``upheld``, with a reply; an upheld one is followed by the
        matter's flag_breach back to the vote (:meth:`_after_upheld`). Effect: answered."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        outcome = body["outcome"]
        if outcome not in OUTCOMES:
            self._fail(index, t, "semantics",
                       f"outcome {str(outcome)[:20]!r} is not dismissed or upheld")
        elif outcome == Outcome.UPHELD.value:
            self._upheld = _Upheld(index, body["matter"], body["objection"], body["person"])
        if not body["reply"].strip():
            self._fail(index, t, "semantics", "a reply needs a text (it is empty)")
        self._actor(index, t, body, day, SUPERVISORS, "answer an objection")
        self._checker_login(index, t, body["person"],
                            self._vote_runners.get(str(body["matter"]), set()),
                            "the vote they ran (opened a poll of)")
        if not self._positive(index, t, body, "objection"):
            return
        number, objection = body["matter"], body["objection"]
        if self._matter_of(index, t, number) is None:
            return
        supervision = self._supervision.setdefault(number, _Supervision())
        if objection > supervision.objections:
            self._fail(index, t, "semantics",
                       f"matter {number} has no objection {objection} ({supervision.objections} "
                       "filed)")
        elif objection not in supervision.unanswered:
            self._fail(index, t, "semantics",
                       f"objection {objection} of matter {number} was already answered")
        else:
            supervision.unanswered.discard(objection)

    def _implementation_update(self, index: int, record: ParsedRecord) -> None:
        """Implementation progress on an implementing matter, by the village committee or its
        clerk (IMPLEMENTERS, held on the day), numbered 1, 2, … per matter: progress 0–100,
        spent_fen ≥ 0, planned_fen the matter's amount, evidence files by SHA-256. Effect: the
        update awaits its confirmation; its progress is the matter's latest."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._attachments_ok(index, t, body["evidence"], "evidence")
        self._actor(index, t, body, day, IMPLEMENTERS, "record implementation progress")
        progress, spent = body["progress"], body["spent_fen"]
        if not 0 <= progress <= 100:
            self._fail(index, t, "semantics", f"progress {progress} is not a percentage 0–100")
        if spent < 0:
            self._fail(index, t, "semantics", f"spent_fen {spent} is negative")
        if not self._positive(index, t, body, "update"):
            return
        number, update = body["matter"], body["update"]
        matter = self._matter_of(index, t, number)
        if matter is None:
            return
        if matter.state is not MatterState.IMPLEMENTING:
            self._fail(index, t, "semantics",
                       f"matter {number} is {matter.state.value}, not implementing")
        if body["planned_fen"] != matter.amount_fen:
            self._fail(index, t, "semantics",
                       f"planned_fen is {_json(body['planned_fen'])}, but matter {number}'s "
                       f"amount (amount_fen of its latest proposal or discussion) is "
                       f"{_json(matter.amount_fen)}")
        supervision = self._supervision.setdefault(number, _Supervision())
        if update != supervision.updates + 1:
            self._fail(index, t, "semantics",
                       f"update number is {update}, but matter {number} has "
                       f"{supervision.updates} earlier update(s): expected "
                       f"{supervision.updates + 1}")
        if update > supervision.updates:
            supervision.updates = update
            supervision.unconfirmed[update] = body["person"]
            supervision.recorders.add(body["person"])
            supervision.progress = progress

    def _implementation_confirm(self, index: int, record: ParsedRecord) -> None:
        """A supervisory committee member (held on the day) confirms an unconfirmed update of
        the matter that someone else recorded. Effect: the update is confirmed (also when
        the confirmer recorded it: that is reported)."""
        body = record.body
        t = record.type
        day = self._at(index, record)
        self._actor(index, t, body, day, SUPERVISORS, "confirm implementation progress")
        if not self._positive(index, t, body, "update"):
            return
        number, update = body["matter"], body["update"]
        if self._matter_of(index, t, number) is None:
            return
        supervision = self._supervision.setdefault(number, _Supervision())
        if update > supervision.updates:
            self._fail(index, t, "semantics",
                       f"matter {number} has no implementation update {update} "
                       f"({supervision.updates} recorded)")
        elif update not in supervision.unconfirmed:
            self._fail(index, t, "semantics",
                       f"implementation update {update} of matter {number} was already "
                       "confirmed")
        else:
            recorder = supervision.unconfirmed.pop(update)
            self._checker_login(index, t, body["person"], {recorder},
                                f"implementation update {update}, which they recorded")
            if recorder == body["person"]:
                self._fail(index, t, "semantics",
                           f"person {recorder} confirms implementation update {update}, which "
                           "they recorded themself: the confirmer must be someone else")

    def _rating_add(self, index: int, record: ParsedRecord) -> None:
        """A rating 1–5 of a completed matter. (One per household is not checked: the
        household is not in the log.)"""
        body = record.body
        t = record.type
        self._at(index, record)
        if body["score"] not in SCORES:
            self._fail(index, t, "semantics", f"score {body['score']} is not 1–5")
        matter = self._matter_of(index, t, body["matter"])
        if matter is not None and matter.state is not MatterState.COMPLETED:
            self._fail(index, t, "semantics",
                       f"matter {body['matter']} is {matter.state.value}, not completed: only "
                       "completed matters are rated")

    # ------------------------------------------------------------------ accounts

    def _holder(self, index: int, record: ParsedRecord) -> bool:
        """Format of an account record's holder: a positive id, roles a list of known role
        values."""
        body, t = record.body, record.type
        ok = self._positive(index, t, body, "holder")
        roles = body["holder_roles"]
        if not all(isinstance(r, str) and _enum(Role, r) is not None for r in roles):
            self._fail(index, t, "format",
                       f"holder_roles {_json(roles)[:80]} is not a list of role names")
        return ok

    def _account_event(self, index: int, record: ParsedRecord) -> None:
        """A login issued, reset, disabled or enabled, by a register keeper or the township
        (or district) admin, held on the day; a supervisory committee member's or party
        secretary's login issued or reset only by the township (admin.login_issuer). Effect of
        issue and reset: the actor is who issued the login (admin.checker_login)."""
        body, t = record.body, record.type
        day = self._at(index, record)
        if not self._holder(index, record):
            return
        holder, person = body["holder"], body["person"]
        managing = t in ("account.issue", "account.reset")
        allowed = (REGISTER_KEEPERS | TOWNSHIP_ADMINS) if managing else TOWNSHIP_ADMINS
        what = "issue or reset a login" if managing else "disable or enable a login"
        if body["role"] == Role.DISTRICT_ADMIN.value:
            # District roles are in no village log: the role cannot be checked here.
            if person < 1:
                self._fail(index, t, "format", f"person {person} is not a positive id")
                return
        else:
            self._actor(index, t, body, day, allowed, what)
        role = _enum(Role, body["role"])
        if not managing or day is None or role is None or person < 1:
            return
        refusal = login_issuer_refusal(person, holder, {role}, self._roles_on(holder, day))
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"person {person} ({role.value}) {t.split('.')[1]}s the login of person "
                       f"{holder}, who holds {_names(self._roles_on(holder, day))} on {day}: "
                       f"only the township admin may {_rule_text(refusal)}")
        self._issuers[holder] = person

    def _account_password(self, index: int, record: ParsedRecord) -> None:
        """The holder changed their own password: always allowed. It does not change who
        issued the login (whoever knew the temporary password could have made the change)."""
        self._at(index, record)
        self._holder(index, record)

    def _checker_login(self, index: int, t: str, checker: object, checked: set[int],
                       what: str) -> None:
        """admin.checker_login: a confirmation by a login that one of ``checked`` issued or
        last reset (account.issue / account.reset earlier in this log)."""
        if not isinstance(checker, int):
            return
        issuer = self._issuers.get(checker)
        refusal = checker_login_refusal(checker, issuer, checked)
        if refusal is not None:
            self._fail(index, t, "semantics",
                       f"person {checker} confirms {what}, but their login was issued or last "
                       f"reset by person {issuer}, whose work this is: the person being checked "
                       f"may hold the confirmer's password {_rule_text(refusal)}")


def _rule_text(refusal: DomainError) -> str:
    return f"[{refusal.rule}]"


_HANDLERS: dict[str, Callable[[LogVerifier, int, ParsedRecord], None]] = {
    "log.init": LogVerifier._log_init_rules,
    "key.rotate": LogVerifier._key_rotate,
    "key.revoke": LogVerifier._key_revoke,
    "role.appoint": LogVerifier._role_appoint,
    "role.end": LogVerifier._role_end,
    "register.import": LogVerifier._register_import,
    "setting.change": LogVerifier._setting_change,
    "setting.snapshot": LogVerifier._setting_snapshot,
    "suggestion.add": LogVerifier._suggestion_add,
    "suggestion.decline": LogVerifier._suggestion_decline,
    "matter.step": LogVerifier._matter_step,
    "meeting.convene": LogVerifier._meeting_convene,
    "meeting.open": LogVerifier._meeting_open,
    "meeting.attend": LogVerifier._meeting_attend,
    "meeting.leave": LogVerifier._meeting_leave,
    "poll.open": LogVerifier._poll_open,
    "poll.recuse": LogVerifier._poll_recuse,
    "ballot.cast": LogVerifier._ballot_cast,
    "poll.participation": LogVerifier._poll_participation,
    "paper.confirm": LogVerifier._paper_confirm,
    "poll.close": LogVerifier._poll_close,
    "ballot.secret": LogVerifier._ballot_secret,
    "poll.tally": LogVerifier._poll_tally,
    "poll.void": LogVerifier._poll_void,
    "meeting.close": LogVerifier._meeting_close,
    "meeting.request": LogVerifier._meeting_request,
    "device.enrol": LogVerifier._device_enrol,
    "device.revoke": LogVerifier._device_revoke,
    "notice.publish": LogVerifier._notice_publish,
    "objection.file": LogVerifier._objection_file,
    "objection.reply": LogVerifier._objection_reply,
    "implementation.update": LogVerifier._implementation_update,
    "implementation.confirm": LogVerifier._implementation_confirm,
    "rating.add": LogVerifier._rating_add,
    "account.issue": LogVerifier._account_event,
    "account.reset": LogVerifier._account_event,
    "account.disable": LogVerifier._account_event,
    "account.enable": LogVerifier._account_event,
    "account.password": LogVerifier._account_password,
}


# =========================================================================== helpers


def _sig_name(sig: NoteSignature) -> str:
    return f"{sig.name}+{sig.key_id:08x}"


def _names(roles: Iterable[Role]) -> str:
    names = sorted(r.value for r in roles)
    return ", ".join(names) if names else "no role"


_E = TypeVar("_E", Action, MatterState, Role, Scope, Step, Choice, PassRule, VoteMode)


def _enum(cls: type[_E], value: object) -> _E | None:
    if not isinstance(value, str):
        return None
    try:
        return cls(value)
    except ValueError:
        return None


def _parse_at(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not _AT.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _parse_date(value: object) -> dt.date | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _same_json(a: object, b: object) -> bool:
    """Equality of JSON values that keeps types apart (``1``, ``1.0`` and ``true`` differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _json_safe(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def _fraction(text: str) -> Fraction | None:
    """A fraction in the settings' text form (``str(Fraction)``: ``2/3``, ``1``), else None."""
    if not _FRACTION.fullmatch(text):
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if str(value) == text else None


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


def _fingerprint(key_text: str) -> str:
    """A device key's short id, as DeviceKey.fingerprint (key texts in state always parse)."""
    return parse_device_key(key_text).fingerprint


def _json(value: object) -> str:
    """A JSON value as the record or statement shows it, cut short for a failure's reason."""
    try:
        text = canonical_json(value).decode("utf-8")
    except ValueError:
        text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _utc(moment: dt.datetime) -> str:
    """A time as the ledger writes it: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _numbers(numbers: Iterable[int]) -> str:
    """``1, 3`` (sorted)."""
    return ", ".join(str(n) for n in sorted(numbers))


def _counts(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()) if n) or "none"


def _text(value: object) -> str:
    """A JSON value as the record shows it (``true``, not ``True``)."""
    return canonical_json(value).decode("utf-8") if isinstance(value, bool) else str(value)


def _lenient_base64(line: bytes) -> bytes | None:
    """What a lenient decoder would read from a bad line (to keep the tree meaningful)."""
    try:
        return base64.b64decode(line, validate=False)
    except (binascii.Error, ValueError):
        return None


def _guess_type(raw: bytes) -> str | None:
    """The ``type`` of a malformed record, if it can still be read (for the failure line)."""
    match = re.search(rb'"type":"([a-z.]{1,40})"', raw[:100_000])
    return match.group(1).decode("ascii") if match else None


def _refusal(exc: DomainError, number: str, state: MatterState, action: Action, person: int,
             day: dt.date, roles: frozenset[Role]) -> str:
    """An English reason for a refusal by the procedure engine (the rule code included)."""
    rule = exc.rule
    if rule == "procedure.closed":
        text = f"matter {number} is {state.value} (closed); {action.value} is not possible"
    elif rule == "procedure.step_order":
        awaiting = state.awaiting
        text = (f"matter {number} is {state.value}"
                + (f" and awaits {awaiting.value}" if awaiting else "")
                + f"; {action.value} is out of order")
    elif rule == "procedure.role":
        allowed = TRANSITIONS_BY_ACTION[action].roles
        text = (f"person {person} holds {_names(roles)} on {day} (China time); "
                f"{action.value} needs one of {_names(allowed)}")
    elif rule == "procedure.merge_propose_discuss":
        if isinstance(exc, SettingDisabled):
            text = ("propose_and_discuss (一肩挑) is used but the township setting "
                    "merge_propose_discuss is off")
        else:
            text = (f"propose_and_discuss needs a party secretary who is also committee "
                    f"director; person {person} holds {_names(roles)}")
    else:
        label = exc.params.get("field")
        field_name = _FIELD_NAMES.get(str(label), str(label)) if label is not None else None
        text = (f"the fields of {action.value} are refused"
                + (f" (field {field_name})" if field_name else "")
                + f": {exc.render(_identity)}")
    return f"{text} [{rule}]"


def _identity(text: str) -> str:
    return text


# =========================================================================== export


def read_record_lines(path: Path) -> Iterator[Line]:
    """Yield ``(index, line without newline, problem)`` from an export's ``records`` file.

    Streams with bounded memory: of a line longer than :data:`MAX_LINE_BYTES` only the start is
    kept (with a problem); a last line without its newline comes with a problem too. Raises
    :class:`ExportError` if the file cannot be opened or read.
    """
    try:
        handle = (path / "records").open("rb")
    except OSError as exc:
        raise ExportError(f"cannot read records: {exc}") from None
    with handle:
        index = 0
        while True:
            try:
                line = handle.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                if line.endswith(b"\n"):
                    yield index, line[:-1], None
                elif len(line) > MAX_LINE_BYTES:
                    rest = line
                    while rest and not rest.endswith(b"\n"):
                        rest = handle.readline(1 << 20)
                    yield index, line[:MAX_LINE_BYTES], (
                        f"records line is longer than {MAX_LINE_BYTES} bytes; only its start "
                        "was checked")
                else:
                    yield index, line, "the last records line has no newline (cut off?)"
            except OSError as exc:
                raise ExportError(f"cannot read records: {exc}") from None
            index += 1


Progress = Callable[[int, int, int], None]
"""``progress(records done, bytes read, total bytes)``."""


def verify_export(path: Path | str, *, log_vkeys_override: Sequence[str] | None = None,
                  witness_vkeys_override: Sequence[str] | None = None,
                  require_cosignature: bool = False, witness_threshold: int = 0,
                  jobs: int = 1, progress: Progress | None = None,
                  chunk_size: int = DEFAULT_CHUNK_SIZE) -> Report:
    """Verify the export directory ``path`` and return the report of every failure.

    ``log_vkeys_override`` (``--key``) replaces ``log.vkey`` as the trusted log keys;
    ``witness_vkeys_override`` (``--witness-key``) replaces ``witness.vkey``;
    ``witness_threshold`` (``--witness-threshold``) is how many distinct known witnesses must
    have cosigned the checkpoint (``require_cosignature`` is a threshold of 1). With ``jobs > 1``,
    worker processes decode, hash and parse the records and check their Ed25519 signatures,
    ``chunk_size`` lines per task, while this process runs the sequential checks; the report
    is identical to ``jobs=1``. Raises :class:`ExportError` when the export cannot be read and
    :class:`KeyFormatError` for a malformed override key (both are exit code 1). Verification
    failures are in the report, never raised here: use :meth:`Report.raise_for_failures`.
    """
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    path = Path(path)
    for vkey in log_vkeys_override or ():
        Verifier.from_vkey(vkey)
    try:
        for vkey in witness_vkeys_override or ():
            CosignatureVerifier.from_vkey(vkey)
    except CosignatureError as exc:
        raise KeyFormatError(str(exc)) from None
    meta = read_meta(path)
    try:
        total = (path / "records").stat().st_size
    except OSError as exc:
        raise ExportError(f"cannot read records: {exc}") from None
    given = bool(log_vkeys_override)
    verifier = LogVerifier(
        meta.origin, list(log_vkeys_override or ()) if given else list(meta.log_vkeys),
        trusted_key_source="given" if given else "export", listed_log_vkeys=meta.log_vkeys)
    counted = _Counter()
    lines = counted.count(read_record_lines(path))
    for prepared in prepare_lines(lines, jobs=jobs, candidates=verifier.candidates,
                                  chunk_size=chunk_size):
        verifier.consume(prepared)
        if progress is not None and prepared.line % 1024 == 1023:
            progress(prepared.line + 1, min(counted.bytes, total), total)
    if progress is not None:
        progress(verifier.size, total, total)
    witnessed = bool(witness_vkeys_override)
    return verifier.finish(
        meta.checkpoint,
        witness_vkeys=list(witness_vkeys_override or ()) if witnessed
        else list(meta.witness_vkeys),
        trusted_witness_source="given" if witnessed else "export",
        require_cosignature=require_cosignature, witness_threshold=witness_threshold)


class _Counter:
    """Counts the bytes of the lines that pass through (for the progress bar)."""

    def __init__(self) -> None:
        self.bytes = 0

    def count(self, lines: Iterable[Line]) -> Iterator[Line]:
        for item in lines:
            self.bytes += len(item[1]) + 1
            yield item


def exit_code_for(failures: Iterable[Failure]) -> int:
    """The exit code for a set of failures (smallest code among their kinds; 0 if none)."""
    return min((EXIT_CODES[f.kind] for f in failures), default=EXIT_OK)


def summarise(counts: Mapping[str, int]) -> str:
    """``signature 1, chain 2`` (kinds with failures only)."""
    return ", ".join(f"{kind} {n}" for kind, n in counts.items() if n) or "none"
